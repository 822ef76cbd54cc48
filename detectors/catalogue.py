"""What each model kind is, readable without torch: its name, title and role, and the backbones there
are. The command line's choices and help, the window's lists and the run records read these; the
registry (`detectors.kinds`) holds each kind's code under the same facts, and a test keeps them one."""
from __future__ import annotations

import dataclasses
import enum


class Role(enum.StrEnum):
    DETECTOR = "detector"  # an image in, Detections with extreme points out
    MASKS = "masks"  # an image and an object's clicks in, its mask out


@dataclasses.dataclass(frozen=True)
class KindFacts:
    name: str
    title: str  # as a sentence says it: "an ExtremeNet detector"
    role: Role
    #: A mask network: the mask backends (detectors.mask_backends) its models serve, the one a new model is
    #: offered as first.
    backends: tuple[str, ...] = ()


#: Every model kind, the window's default detector first.
CATALOGUE: dict[str, KindFacts] = {facts.name: facts for facts in (
    KindFacts("extremenet", "an ExtremeNet detector", Role.DETECTOR),
    KindFacts("sapd", "a SAPD detector", Role.DETECTOR),
    KindFacts("retinanet", "a RetinaNet detector", Role.DETECTOR),
    KindFacts("dextr", "a DEXTR mask network", Role.MASKS, backends=("dextr", "dextr-grabcut")),
)}

#: ResNet depth -> (block, blocks per stage)
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3)),
          101: ("bottleneck", (3, 4, 23, 3))}
BACKBONES = tuple(f"resnet{depth}" for depth in sorted(DEPTHS))


def kinds_with(role: Role) -> list[str]:
    return [name for name, facts in CATALOGUE.items() if facts.role is role]


def backend_of(kind: str) -> str | None:
    """The mask backend a kind's models serve; None for a detector (or a kind no longer known)."""
    facts = CATALOGUE.get(kind)
    return facts.backends[0] if facts is not None and facts.role is Role.MASKS else None


def kind_serving(backend: str) -> str | None:
    """The mask network kind whose models a backend needs, if any."""
    return next((name for name, facts in CATALOGUE.items() if backend in facts.backends), None)
