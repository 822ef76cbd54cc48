"""Default category colours: distinct hues that stay readable over photos."""
from __future__ import annotations

PALETTE = [
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
]


def default_color(position: int) -> str:
    return PALETTE[position % len(PALETTE)]


#: Candidates for the clicks in progress, tried in order: the first far from every category's colour wins,
#: so a click in progress never looks like a finished object.
CLICK_COLORS = ("#ffffff", "#00ffff", "#ff00ff", "#000000", "#ff8000")


def click_color(category_colors: list[str]) -> str:
    """The colour for clicks in progress: the candidate farthest from the categories' colours."""
    used = [_rgb(c) for c in category_colors if c]

    def distance(candidate: str) -> float:
        rgb = _rgb(candidate)
        return min((sum((a - b) ** 2 for a, b in zip(rgb, u, strict=True)) for u in used), default=float("inf"))

    return max(CLICK_COLORS, key=lambda c: (min(distance(c), 120 ** 2), -CLICK_COLORS.index(c)))


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
