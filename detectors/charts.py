"""Line charts drawn with OpenCV into an image: a run's curves (`metrics.png`, also shown in the window's
Training panel) and the benchmarks' plots. No plotting library: the curves are a few lines each, and the
app must draw them on a machine with nothing but the app's own dependencies."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from converters.atomic import atomic_write

#: BGR colours, told apart by most colour-blind readers (Okabe and Ito's palette).
COLOURS = [(178, 114, 0), (0, 94, 213), (115, 158, 0), (167, 121, 204), (233, 180, 86), (66, 228, 240)]
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Series:
    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]  # None: no value at that x (a validation that found nothing)


def line_chart(series: list[Series], title: str, x_label: str, y_label: str, size: tuple[int, int] = (560, 360),
               y_range: tuple[float, float] | None = None) -> np.ndarray:
    """A BGR image: axes with ticks, one line and marker per series, a legend. `y_range` fixes the y axis
    (AP is 0 to 1); otherwise it spans the data."""
    width, height = size
    image = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 64, 16, 34, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [(x, y) for s in series for x, y in zip(s.xs, s.ys, strict=True) if y is not None and math.isfinite(y)]
    cv2.putText(image, title, (left, 22), FONT, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(image, (left, top), (left + plot_w, top + plot_h), (0, 0, 0), 1)
    cv2.putText(image, x_label, (left + plot_w // 2 - 4 * len(x_label), height - 10), FONT, 0.45, (0, 0, 0), 1,
                cv2.LINE_AA)
    _vertical_text(image, y_label, (4, top + plot_h // 2))
    if not points:
        cv2.putText(image, "no values yet", (left + 12, top + plot_h // 2), FONT, 0.5, (90, 90, 90), 1, cv2.LINE_AA)
        return image
    x0, x1 = _span([p[0] for p in points])
    y0, y1 = y_range or _span([p[1] for p in points])

    def at(x: float, y: float) -> tuple[int, int]:
        return (round(left + (x - x0) / (x1 - x0) * plot_w), round(top + plot_h - (y - y0) / (y1 - y0) * plot_h))
    for value in _ticks(x0, x1):
        px, py = at(value, y0)
        cv2.line(image, (px, py), (px, py + 4), (0, 0, 0), 1)
        cv2.putText(image, f"{value:g}", (px - 8, py + 18), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for value in _ticks(y0, y1):
        px, py = at(x0, value)
        cv2.line(image, (px, py), (px + plot_w, py), (225, 225, 225), 1)
        cv2.putText(image, f"{value:.3g}", (4 + 16, py + 4), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for k, s in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        drawn = [at(x, y) for x, y in zip(s.xs, s.ys, strict=True) if y is not None and math.isfinite(y)]
        if len(drawn) > 1:
            cv2.polylines(image, [np.array(drawn, np.int32)], False, colour, 2, cv2.LINE_AA)
        for point in drawn:
            cv2.circle(image, point, 3, colour, -1, cv2.LINE_AA)
        cv2.line(image, (left + 10, top + 14 + 16 * k), (left + 28, top + 14 + 16 * k), colour, 2)
        cv2.putText(image, s.name, (left + 34, top + 18 + 16 * k), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return image


def run_curves(history: list[dict], kept: int | None = None) -> np.ndarray:
    """A run's loss (above) and validation scores (below) per epoch: one above the other, to fit the
    window's narrow Training panel; `kept`: the epoch whose model the run keeps, named in the title."""
    epochs = [m.get("epoch", k + 1) for k, m in enumerate(history)]
    loss = line_chart([Series("loss", epochs, [m.get("loss") for m in history])], "training loss", "epoch", "loss")
    scores = sorted({key for m in history for key in m if key.startswith("val_") and key != "val_extreme_error"
                     and not key.startswith("val_suggest_")})  # a threshold and its precision: not curves
    title = "validation" + (f" (epoch {kept} kept)" if kept else "") if scores else "validation (no held-out images)"
    val = line_chart([Series(key.removeprefix("val_"), epochs, [m.get(key) for m in history]) for key in scores],
                     title, "epoch", "score", y_range=(0.0, 1.0))
    return np.vstack([loss, val])


def write_png(path: Path, image: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"could not encode {path.name}")
    with atomic_write(path, "wb") as f:
        f.write(encoded.tobytes())


def _span(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high - low < 1e-12:
        return low - 0.5, high + 0.5
    pad = 0.05 * (high - low)
    return low - pad, high + pad


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values between low and high, about `count` of them."""
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if m * step >= raw)
    first = math.ceil(low / step) * step
    return [round(first + k * step, 10) for k in range(int((high - first) / step) + 1)]


def _vertical_text(image: np.ndarray, text: str, centre: tuple[int, int]) -> None:
    (w, h), _ = cv2.getTextSize(text, FONT, 0.45, 1)
    strip = np.full((h + 6, w + 4, 3), 255, np.uint8)
    cv2.putText(strip, text, (2, h + 2), FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    strip = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
    y = max(0, centre[1] - strip.shape[0] // 2)
    y_end = min(image.shape[0], y + strip.shape[0])
    image[y:y_end, centre[0]:centre[0] + strip.shape[1]] = strip[:y_end - y]
