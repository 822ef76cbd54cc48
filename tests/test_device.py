"""Which precision and memory layout a network infers in, where."""
import torch

from detectors.device import PRECISION_VARIABLE, fast_layout, inference_precision, native_bf16, reduced_dtype


def test_a_gpu_infers_in_float16_channels_last():
    assert reduced_dtype(torch.device("cuda")) is torch.float16
    assert fast_layout(torch.device("cuda")) is torch.channels_last


def test_a_cpu_infers_in_bfloat16_only_where_it_has_it_in_hardware():
    cpu = torch.device("cpu")
    assert reduced_dtype(cpu) is (torch.bfloat16 if native_bf16() else None)
    with inference_precision(cpu):
        out = torch.nn.Linear(4, 4)(torch.ones(1, 4))
    assert out.dtype is (torch.bfloat16 if native_bf16() else torch.float32)


def test_full_precision_when_the_person_asks_for_it(monkeypatch):
    monkeypatch.setenv(PRECISION_VARIABLE, "full")
    for device in (torch.device("cpu"), torch.device("cuda")):
        assert reduced_dtype(device) is None and fast_layout(device) is torch.contiguous_format
    with inference_precision(torch.device("cpu")):
        assert torch.nn.Linear(4, 4)(torch.ones(1, 4)).dtype is torch.float32
