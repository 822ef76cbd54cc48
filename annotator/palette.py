"""Default category colours: distinct hues that stay readable over photos."""
from __future__ import annotations

PALETTE = [
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
]


def default_color(position: int) -> str:
    return PALETTE[position % len(PALETTE)]
