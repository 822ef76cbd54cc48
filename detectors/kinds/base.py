"""What every model kind declares, and the parts most kinds share (reading our model directories,
starting from another run's weights)."""
from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset as TorchDataset

from converters import Dataset

from ..catalogue import CATALOGUE, Role
from ..checkpoints import CONFIG, load_matching, read_config
from ..configs import Key, checked_config, read_model
from ..device import fast_layout, in_float32


class TrainingStep(nn.Module):
    """A kind's network pass and loss as one module, so that DistributedDataParallel (which wraps it)
    sees every parameter the loss uses. The training loop chooses the precision (`precision`: a context
    the network runs in, autocast or none); every kind's loss then runs in float32 on `in_float32` of
    its outputs, as mixed precision asks. A kind writes `outputs` and `loss`."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.precision: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext

    def forward(self, batch: Any, share: float) -> dict[str, torch.Tensor]:
        """`share`: how far the run is, 0 to 1. The loss's parts, in float32."""
        with self.precision():
            outputs = self.outputs(batch, share)
        return self.loss(in_float32(outputs), batch, share)

    def outputs(self, batch: Any, share: float) -> Any:
        raise NotImplementedError

    def loss(self, outputs: Any, batch: Any, share: float) -> dict[str, torch.Tensor]:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class TrainingDefaults:
    """A new run's schedule when the person names none. `rates`: the starting rate per optimiser; the
    first optimiser is the default."""
    epochs: int
    batch: int
    rates: dict[str, float]
    clip: float | None = None  # gradient norm clipping

    @property
    def optimiser(self) -> str:
        return next(iter(self.rates))


@dataclasses.dataclass(frozen=True)
class Option:
    """A config key the person may set for a run (the command line shows it as `flag`). A switch has a
    `value` for when it is given and a `default` for when not, which holds even over `--init`'s config
    (a choice about the training, not the network it starts from)."""
    flag: str
    key: str
    help: str
    value: Any = None
    default: Any = None
    choices: tuple[str, ...] = ()  # a word from these instead of a number


Validator = Callable[[nn.Module, dict[str, Any]], dict[str, float]]


class ModelKind:
    name: str  # the config's "arch": its title and role are in detectors.catalogue, readable without torch
    keys: dict[str, Key]  # what config.json holds, checked on reading
    defaults: TrainingDefaults
    options: Sequence[Option] = ()

    @property
    def title(self) -> str:
        return CATALOGUE[self.name].title

    @property
    def role(self) -> Role:
        return CATALOGUE[self.name].role

    def new_config(self, depth: int) -> dict[str, Any]:
        raise NotImplementedError

    def build(self, config: dict[str, Any], backbone_weights: Path | None = None) -> nn.Module:
        raise NotImplementedError

    def training_set(self, dataset: Dataset, image_root: Path) -> tuple[list, dict[str, Any]]:
        """The samples to train on, and the config keys the data decides (a detector's classes)."""
        raise NotImplementedError

    def described(self, samples: list, config: dict[str, Any]) -> str:
        """What a run trains on, in words: "14 images, 3 classes"."""
        raise NotImplementedError

    def completed(self, config: dict[str, Any], dataset: Dataset | None) -> dict[str, Any]:
        """The config keys a kind derives from the data and the person's choices once both are known
        (RetinaNet's k-means anchors); `dataset`: the labels trained on, None for drawn samples alone."""
        return config

    def trained_config(self, config: dict[str, Any], model: nn.Module) -> dict[str, Any]:
        """The config as training has changed it, written with each checkpoint (RetinaNet's learned
        anchors)."""
        return config

    def synthetic(self, count: int) -> list | None:
        """Samples our code draws, for a run with few labels or none; None: this kind has none."""
        return None

    def training_data(self, samples: list, config: dict[str, Any]) -> tuple[TorchDataset, Callable | None]:
        """The dataset the loop batches, and its collate function (None: torch's)."""
        raise NotImplementedError

    def training_step(self, model: nn.Module, config: dict[str, Any], seed: int) -> TrainingStep:
        raise NotImplementedError

    def parameter_groups(self, model: nn.Module) -> list[tuple[list[nn.Parameter], float]]:
        """The trainable parameters, in groups with a factor on the run's learning rate: a kind whose few
        parameters live on another scale than the weights (RetinaNet's learned anchor shapes) gives them
        their own."""
        return [([p for p in model.parameters() if p.requires_grad], 1.0)]

    def to_device(self, batch: Any, device: str, memory_format: torch.memory_format) -> Any:
        raise NotImplementedError

    def rate(self, share: float) -> float:
        """The learning rate's factor at `share` of the run."""
        raise NotImplementedError

    def validator(self, dataset: Dataset, image_root: Path) -> Validator:
        """Scores the model being trained on held-out labels (keys val_*, into metrics.json)."""
        raise NotImplementedError

    def fitness(self, metrics: dict[str, Any]) -> float | None:
        """How good an epoch's model is by its held-out scores (higher is better), to keep the best
        epoch; None without them."""
        raise NotImplementedError

    def predictor(self, model: nn.Module, config: dict[str, Any], device: str):
        raise NotImplementedError

    def read(self, weights: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """The checked config and the weights of a model directory of this kind."""
        return read_model(weights, self)

    def config_of(self, weights: str | os.PathLike) -> dict[str, Any]:
        """The checked config alone: `--init` builds the network from it, and `start_from` reads the
        weights once."""
        return checked_config(read_config(weights), self, Path(weights) / CONFIG)

    def load(self, weights: str | os.PathLike, device: str = "cpu", config: dict[str, Any] | None = None):
        """The model directory's network, ready to predict; `config`: the checked config to build it with
        instead of the directory's (RetinaNet with other anchors)."""
        stored, state = self.read(weights)
        model = self.build(config or stored)
        load_matching(model, state, weights)
        return self.predictor(model.to(memory_format=fast_layout(torch.device(device))), config or stored, device)

    def start_from(self, model: nn.Module, weights: Path) -> None:
        """Training from a model of this kind instead of from scratch."""
        load_matching(model, self.read(weights)[1], weights)
