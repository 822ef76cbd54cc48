"""The GPU code paths: AMP training steps, channels-last, half-precision inference agreeing with the
CPU's float32, and a run trained and used on the GPU. They need CUDA and skip, saying so, without it;
`benchmarks/gpu.sh` runs them on a lent GPU machine (no Qt there, so nothing here imports it), and
CUDA_TESTS_ON=cpu rehearses them on the CPU (bfloat16 for float16, no gradient scaling)."""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
import torch

from converters import ExtremePoints
from detectors.kinds import KINDS
from tests.test_detector_train import DETECTORS, labelled_photos, photos

DEVICE = torch.device(os.environ.get("CUDA_TESTS_ON", "cuda"))
HALF = torch.float16 if DEVICE.type == "cuda" else torch.bfloat16
#: The largest difference from float32, as a share of the output's range: float16 keeps 11 bits, bfloat16 8.
TOLERANCE = 0.02 if HALF is torch.float16 else 0.05
pytestmark = [pytest.mark.cuda, pytest.mark.skipif(DEVICE.type == "cuda" and not torch.cuda.is_available(),
                                                   reason="needs a CUDA GPU (CUDA_TESTS_ON=cpu rehearses them)")]


def tensors(outputs) -> list[torch.Tensor]:
    """Every tensor in a network's outputs (tensors, dataclasses of them, lists and tuples of those)."""
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if dataclasses.is_dataclass(outputs):
        outputs = [getattr(outputs, f.name) for f in dataclasses.fields(outputs)]
    if isinstance(outputs, (list, tuple)):
        return [t for part in outputs for t in tensors(part)]
    return []


@pytest.mark.parametrize("kind, config", DETECTORS)
def test_an_amp_training_step_on_the_gpu_gives_finite_losses_and_gradients(tmp_path, kind, config):
    config = {**kind.new_config(18), **config}
    data, collate = kind.training_data(photos(tmp_path), config)
    model = kind.build(config).to(DEVICE, memory_format=torch.channels_last).train()
    step = kind.training_step(model, config, 0)
    step.precision = lambda: torch.autocast(DEVICE.type, dtype=HALF)
    batch = kind.to_device(collate([data[0], data[1]]), str(DEVICE), torch.channels_last)
    scaler = torch.amp.GradScaler("cuda", enabled=DEVICE.type == "cuda")
    parts = step(batch, 0.5)
    scaler.scale(sum(parts.values())).backward()
    assert all(torch.isfinite(v).item() for v in parts.values())
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum().item() > 0 for g in grads)


@pytest.mark.parametrize("kind, config", [*DETECTORS, pytest.param(KINDS["dextr"], KINDS["dextr"].new_config(18),
                                                                   id="dextr")])
def test_half_precision_outputs_on_the_gpu_agree_with_float32_on_the_cpu(kind, config):
    config = {**kind.new_config(18), **config}
    torch.manual_seed(0)
    model = kind.build(config).eval()
    x = torch.rand(1, model.conv1.in_channels if hasattr(model, "conv1") else 3, 64, 64)
    with torch.inference_mode():
        reference = model(x)
        on_gpu = model.to(DEVICE, memory_format=torch.channels_last)
        with torch.autocast(DEVICE.type, dtype=HALF):
            fast = on_gpu(x.to(DEVICE, memory_format=torch.channels_last))
    pairs = list(zip(tensors(reference), tensors(fast), strict=True))
    assert pairs
    for ref, got in pairs:
        scale = ref.abs().max().clamp(min=1e-3)
        assert (got.float().cpu() - ref).abs().max() / scale < TOLERANCE


def test_dextr_masks_on_the_gpu_match_the_cpus():
    kind = KINDS["dextr"]
    config = kind.new_config(18)
    torch.manual_seed(0)
    model = kind.build(config)
    image = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    image[80:220, 120:300] = 240
    clicks = [ExtremePoints((210, 80), (120, 150), (200, 219), (299, 140))]
    on_cpu = kind.predictor(kind.build(config), config, "cpu")
    on_cpu.model.load_state_dict(model.state_dict())
    [cpu_mask] = on_cpu(image, clicks)
    [gpu_mask] = kind.predictor(model, config, str(DEVICE))(image, clicks)
    assert gpu_mask.shape == cpu_mask.shape == image.shape[:2]
    union = np.count_nonzero(cpu_mask | gpu_mask)
    assert union == 0 or np.count_nonzero(cpu_mask & gpu_mask) / union > 0.95


def test_a_detector_trained_on_the_gpu_with_amp_prelabels_there(tmp_path, capsys):
    from annotator.cli import main
    labels = labelled_photos(tmp_path, 4)
    run = tmp_path / "run"
    assert main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(run), "--epochs", "2",
                 "--img-size", "64", "--batch", "2", "--device", str(DEVICE), "--amp"]) == 0
    assert f"on {DEVICE}" in capsys.readouterr().out
    history = json.loads((run / "metrics.json").read_text())
    assert [m["epoch"] for m in history] == [1, 2] and all(np.isfinite(m["loss"]) for m in history)
    assert main(["eval", "--model", str(run), "--data", str(labels), "--device", str(DEVICE), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["images"] == 4 and 0 <= scores["ap50"] <= 1
