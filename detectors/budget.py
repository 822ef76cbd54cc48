"""How far a training run is, from 0 to 1: by steps (epochs x steps per epoch) or by the clock (a
budget in minutes, for the quick retrain between labelling rounds). The rate schedule and the phases
read it the same way either way, so a run in minutes is the same schedule squeezed into the time."""
from __future__ import annotations

import time

from .distributed import Group, agree


class Budget:
    def __init__(self, epochs: int | None, minutes: float | None, steps_per_epoch: int, group: Group, device: str,
                 steps: int = 0, seconds: float = 0.0):
        """`steps` and `seconds`: what a resumed run had already done."""
        if (epochs is None) == (minutes is None):
            raise ValueError("give either epochs or minutes")
        self.total_steps = epochs * steps_per_epoch if epochs is not None else None
        self.total_seconds = minutes * 60 if minutes is not None else None
        self.steps = steps
        self.group, self.device = group, device
        self._started = time.monotonic() - seconds

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._started

    def share(self) -> float:
        """Done so far; in several processes, the first process's reading, so all stop on the same step."""
        if self.total_steps:
            return self.steps / self.total_steps
        return agree(self.seconds / self.total_seconds, self.group, self.device)
