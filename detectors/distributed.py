"""Training on several processes, started by `torchrun` (one machine or several): the environment
torchrun sets says how many processes there are and which one this is. Without it, training runs in
one process and nothing here does anything, so the trainers have one code path.

Gradients are averaged by DistributedDataParallel; each process reads its own share of the images;
only the first process writes checkpoints, logs and draws progress. A time budget is read from the
first process's clock so that all processes stop after the same step."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler


@dataclasses.dataclass(frozen=True)
class Group:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def launched() -> Group:
    """What torchrun asked of this process, from its environment, before any process group exists
    (the command line reads it to print once)."""
    return Group(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
                 int(os.environ.get("LOCAL_RANK", "0")))


def join(device: str) -> tuple[Group, str]:
    """The process group torchrun asked for (gloo on CPU, NCCL on GPU) and this process's device: with
    several GPUs on a machine, each process takes the one its local rank names."""
    asked = launched()
    if not asked.distributed:
        return Group(), device
    on_gpu = device.startswith("cuda")
    if on_gpu:
        device = f"cuda:{asked.local_rank}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if on_gpu else "gloo")
    return Group(dist.get_rank(), dist.get_world_size(), asked.local_rank), device


def leave(group: Group) -> None:
    if group.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap(module: nn.Module, group: Group, device: str) -> nn.Module:
    """The module itself in one process; DistributedDataParallel over it in several."""
    if not group.distributed:
        return module
    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def loader(dataset: Dataset, batch: int, group: Group, workers: int, seed: int,
           collate_fn: Callable | None = None) -> DataLoader:
    """Batches of `batch` per process, shuffled anew each epoch; in several processes each reads its
    own share of the data (call `new_epoch` before each pass)."""
    share = len(dataset) // group.size
    shuffler = DistributedSampler(dataset, group.size, group.rank, shuffle=True, seed=seed,
                                  drop_last=True) if group.distributed else None
    return DataLoader(dataset, batch_size=max(1, min(batch, share)), shuffle=shuffler is None, sampler=shuffler,
                      drop_last=True, num_workers=workers, collate_fn=collate_fn, persistent_workers=workers > 0)


def new_epoch(data: DataLoader, epoch: int) -> None:
    if isinstance(data.sampler, DistributedSampler):
        data.sampler.set_epoch(epoch)


def agree(value: float, group: Group, device: str) -> float:
    """The first process's value, in every process."""
    if not group.distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, src=0)
    return float(tensor.item())


def mean_of(value: float, group: Group, device: str) -> float:
    """The mean of every process's value (NaN if any is), so that all decide alike on a step."""
    if not group.distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / group.size
