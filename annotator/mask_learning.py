"""The mask network learning from the person as they label: every `LEARN_EVERY` new objects with a mask,
DEXTR light trains for a few minutes in the window's training process, from the last model it learnt,
on every mask the person has made so far but the newest quarter; then GrabCut steered by it makes those
newest masks from their clicks, and so does GrabCut alone. The steered GrabCut becomes the mask backend
only when it did better there, by `MARGIN`: a person never gets worse masks for the learning, and is
told why it switched or not.

Qt-free: the window asks `worth_learning` after its changes, starts `learning_request` in its training
process, and reads the run's kept epoch with `judged` when it ends."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from detectors.mask_backends import STEERED

from .runs import Run, new_run
from .training import AUTO, TrainingRequest

#: A learning run starts once this many new objects with a mask were made since the last one started.
LEARN_EVERY = 20
#: How long a learning run trains: about what the next LEARN_EVERY objects take a person (with a
#: correction or two, 8-10 s each), so a run ends about when the next is due.
LEARN_MINUTES = 3.0
#: The share of the newest masks held back to judge the network and GrabCut on.
NEWEST_SHARE = 0.25
#: The network replaces GrabCut only when its mean IoU on the newest masks is at least this much higher:
#: GrabCut's own score moves about 0.002 from run to run.
MARGIN = 0.005
#: Fewer objects than this teach the network nothing worth a run.
FIRST_AT = 20
KIND = "dextr"
#: What a learnt network makes the masks as: GrabCut steered by it. On fruits_nuts the network alone did as
#: well as GrabCut on the objects after its run (within 0.01 either way), steering GrabCut 0.003-0.02 better.
BACKEND = STEERED


def worth_learning(masks_now: int, masks_at_last_start: int) -> bool:
    """Whether enough new masks came since the last learning run started (or since none did)."""
    return masks_now >= FIRST_AT and masks_now - masks_at_last_start >= LEARN_EVERY


def due_learning(project: Path, runs: list[Run], masks_now: int) -> TrainingRequest | None:
    """The learning run to start now (in a new run directory), from the newest learnt model; None when
    too few masks came since the last one began. `runs`: the project's, newest first."""
    learnt = [r for r in runs if r.learnt_from is not None]
    if not worth_learning(masks_now, (learnt[0].learnt_from or 0) if learnt else 0):
        return None
    last = next((r.path for r in learnt if r.has_model), None)
    return learning_request(project, new_run(project, KIND), last)


def learning_request(project: Path, out: Path, last: Path | None, minutes: float | None = None,
                     device: str = AUTO, seed: int = 0) -> TrainingRequest:
    """DEXTR light from the last model it learnt (`last`, or from scratch), on the project's masks, for
    `minutes` (LEARN_MINUTES), on the GPU when there is one (the training process looks: the window
    does not load torch for it)."""
    return TrainingRequest(kind=KIND, out=out, data=project, init=last, minutes=minutes or LEARN_MINUTES,
                           device=device, hold_out=NEWEST_SHARE, learning=True, seed=seed)


@dataclasses.dataclass(frozen=True)
class Verdict:
    use: bool  # the run's model makes the masks from now on (else GrabCut does)
    text: str  # why, for the status bar


def judged(run: Run) -> Verdict:
    """Whether a finished learning run's kept model, steering GrabCut, beat GrabCut alone on the newest
    masks, by `MARGIN`."""
    learnt, grabcut = run.scores.get("steered_iou"), run.scores.get("grabcut_iou")
    if not run.has_model or learnt is None or grabcut is None:
        return Verdict(False, f"the mask network's run {run.path.name} has no score on your newest masks: "
                              "GrabCut stays")
    on = f"on the newest {NEWEST_SHARE:.0%} of your masks, which it did not learn from"
    if learnt >= grabcut + MARGIN:
        return Verdict(True, f"masks now come from GrabCut steered by the network learnt from your labels "
                             f"({run.path.name}): mean IoU "
                             f"{learnt:.3f} against GrabCut's {grabcut:.3f} {on}")
    return Verdict(False, f"GrabCut stays the mask backend: steered by the network learnt from your labels it "
                          f"scored {learnt:.3f} "
                          f"against GrabCut's {grabcut:.3f} {on}; it learns again after {LEARN_EVERY} more objects")
