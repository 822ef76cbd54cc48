"""The one training loop chooses the precision and every kind's step runs its network in it and its
loss in float32 (`kinds.base.TrainingStep`), so a new kind gets mixed precision right by writing
`outputs` and `loss`."""
from __future__ import annotations

import pytest
import torch

from detectors.device import in_float32
from detectors.kinds import KINDS
from tests.test_detector_train import DETECTORS, photos


def dextr_case():
    kind = KINDS["dextr"]
    config = {**kind.new_config(18), "crop": 64}
    samples = kind.synthetic(4)
    return kind, config, samples


def floats(outputs) -> set[torch.dtype]:
    from tests.test_cuda import tensors

    return {t.dtype for t in tensors(outputs) if t.is_floating_point()}


@pytest.mark.parametrize("kind, config", [*DETECTORS, pytest.param(None, None, id="dextr")])
def test_the_network_runs_in_the_loops_precision_and_the_loss_in_float32(tmp_path, kind, config):
    if kind is None:
        kind, config, samples = dextr_case()
    else:
        config, samples = {**kind.new_config(18), **config}, photos(tmp_path)
    data, collate = kind.training_data(samples, config)
    model = kind.build(config).train()
    step = kind.training_step(model, config, 0)
    step.precision = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    seen: dict[str, set[torch.dtype]] = {}
    network, loss = step.outputs, step.loss
    step.outputs = lambda batch, share: (out := network(batch, share), seen.update(net=floats(out)))[0]
    step.loss = lambda out, batch, share: (seen.update(loss=floats(out)), loss(out, batch, share))[1]
    batch = kind.to_device((collate or torch.utils.data.default_collate)([data[0], data[1]]), "cpu",
                           torch.contiguous_format)
    parts = step(batch, 0.5)
    assert torch.bfloat16 in seen["net"]  # the precision the loop gave was used
    assert seen["loss"] == {torch.float32}
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in parts.values())
    sum(parts.values()).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_in_float32_casts_floats_inside_dataclasses_lists_and_tuples_and_keeps_the_rest():
    from detectors.sapd import LevelOutputs

    half = torch.ones(2, dtype=torch.bfloat16)
    cast = in_float32(([LevelOutputs(half, half, half)], (half, torch.ones(2, dtype=torch.long)), "name"))
    assert floats(cast) == {torch.float32}
    assert cast[1][1].dtype == torch.long and cast[2] == "name"
    assert isinstance(cast[0][0], LevelOutputs)
