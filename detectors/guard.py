"""Training that cannot fail silently. A run from the window once diverged at its third epoch (the loss
5.0, 4.1, 15.7) and went on for 35 more, writing every epoch over the last; a learning rate of 1e30
saved a model of NaNs without a word. The loop asks this guard about every step and every epoch:

- a step whose loss is not finite, or more than `SPIKE` times the recent median, is skipped (no update);
- `IN_A_ROW` such steps, weights that are no longer finite, or an epoch whose mean loss is `DIVERGED`
  times the best epoch's, mean the run has diverged: the loop goes back to the last epoch it saved and
  halves the learning rate, and after `RETRIES` of those it ends with one line that says what to do.

Nothing is ever written from a step the guard refused, and an epoch it refused is not counted."""
from __future__ import annotations

import copy
import math
import statistics
from collections import deque
from dataclasses import dataclass, field

import torch
from torch import nn

from converters import UserError

SPIKE = 10.0
IN_A_ROW = 5
DIVERGED = 3.0
RETRIES = 3
RECENT = 50  # steps the median is taken over
SETTLED = 10  # steps before a spike is judged against them


class Diverged(Exception):
    """The run has left the rails; the message says how."""


@dataclass
class LossGuard:
    rate_scale: float = 1.0  # the learning rate's factor after the halvings so far
    retries: int = 0
    best_epoch_loss: float = math.inf
    epochs_seen: int = 0
    skipped: int = 0  # steps skipped in the epoch in hand
    in_a_row: int = 0
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))

    def refuses(self, loss: float, gradient_norm: float = 0.0) -> str:
        """Why this step must not update the weights ("" if it may). Raises Diverged when refused steps
        come IN_A_ROW times."""
        why = ""
        if not math.isfinite(loss):
            why = f"the loss is {loss}"
        elif not math.isfinite(gradient_norm):
            why = f"the gradient is {gradient_norm}"
        elif len(self.recent) >= SETTLED and loss > SPIKE * statistics.median(self.recent):
            why = f"the loss jumped to {loss:.4g}, {loss / statistics.median(self.recent):.0f} times its recent median"
        if not why:
            self.recent.append(loss)
            self.in_a_row = 0
            return ""
        self.skipped += 1
        self.in_a_row += 1
        if self.in_a_row >= IN_A_ROW:
            raise Diverged(f"{IN_A_ROW} steps in a row were refused ({why})")
        return why

    def epoch_done(self, mean_loss: float, model: nn.Module) -> None:
        """Raises Diverged when the epoch must not be kept."""
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise Diverged("the weights are no longer finite numbers")
        if not math.isfinite(mean_loss):
            raise Diverged(f"the epoch's loss is {mean_loss}")
        if self.epochs_seen >= 2 and mean_loss > DIVERGED * self.best_epoch_loss:
            raise Diverged(f"the epoch's loss rose to {mean_loss:.4g}, {mean_loss / self.best_epoch_loss:.1f} "
                           f"times its best ({self.best_epoch_loss:.4g})")
        self.epochs_seen += 1
        self.best_epoch_loss = min(self.best_epoch_loss, mean_loss)

    def new_epoch(self) -> None:
        self.skipped = 0

    def went_back(self, why: str) -> None:
        """After going back to the last saved epoch: the rate halves; too many times and the run ends."""
        self.retries += 1
        self.rate_scale /= 2
        self.skipped = self.in_a_row = 0
        self.recent.clear()
        if self.retries > RETRIES:
            raise UserError(f"training diverged {self.retries} times ({why}), even at 1/{2 ** RETRIES} of the "
                            "learning rate: start again with a lower --lr, or check the labels")


@dataclass
class Snapshot:
    """The model and the optimiser as they were at the end of the last epoch kept, in memory."""
    weights: dict
    optimiser: dict

    @classmethod
    def of(cls, model: nn.Module, optimiser: torch.optim.Optimizer) -> Snapshot:
        return cls({k: v.detach().clone() for k, v in model.state_dict().items()},
                   copy.deepcopy(optimiser.state_dict()))

    def restore(self, model: nn.Module, optimiser: torch.optim.Optimizer) -> None:
        model.load_state_dict(self.weights)
        optimiser.load_state_dict(copy.deepcopy(self.optimiser))
