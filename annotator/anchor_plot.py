"""`annotator anchors --plot`: the boxes' widths and heights on log axes, a colour per category, each
anchor as a cross with the region of box shapes it matches at IoU >= 0.5 outlined around it, and beside
them histograms of the widths and heights. Drawn with OpenCV, as the run curves are."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from detectors.anchor_boxes import wh_iou
from detectors.charts import COLOURS, FONT, write_png

from .anchors import Boxes


def anchor_plot(boxes: Boxes, levels: list[np.ndarray], path: Path) -> None:
    anchors = np.vstack(levels)
    scatter = _scatter(boxes, anchors, 620, 520)
    histograms = np.vstack([_histogram(boxes.scaled[:, k], name, 420, 260) for k, name in
                            enumerate(("width", "height"))])
    write_png(path, np.hstack([scatter, histograms]))


def _scatter(boxes: Boxes, anchors: np.ndarray, width: int, height: int) -> np.ndarray:
    image = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 60, 16, 34, 46
    pw, ph = width - left - right, height - top - bottom
    both = np.vstack([boxes.scaled, anchors])
    low, high = max(float(both.min()) / 1.5, 0.5), float(both.max()) * 1.5
    span = math.log(high) - math.log(low)

    def at(w: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (left + (np.log(w) - math.log(low)) / span * pw).round().astype(int), \
            (top + ph - (np.log(h) - math.log(low)) / span * ph).round().astype(int)
    cv2.putText(image, f"boxes at img-size {boxes.img_size}, {len(anchors)} anchors (IoU >= 0.5 outlined)",
                (left, 22), FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(image, (left, top), (left + pw, top + ph), (0, 0, 0), 1)
    for value in _log_ticks(low, high):
        x, y = at(np.array([value]), np.array([value]))
        cv2.line(image, (int(x[0]), top + ph), (int(x[0]), top + ph + 4), (0, 0, 0), 1)
        cv2.putText(image, f"{value:g}", (int(x[0]) - 10, top + ph + 18), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.line(image, (left - 4, int(y[0])), (left, int(y[0])), (0, 0, 0), 1)
        cv2.putText(image, f"{value:g}", (6, int(y[0]) + 4), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "width px (log)", (left + pw // 2 - 50, height - 8), FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "height px (log)", (left + 6, top + 14), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    gx, gy = np.meshgrid(np.arange(pw), np.arange(ph))  # the box shape at every pixel of the plot
    grid = np.stack([np.exp(math.log(low) + gx.ravel() / pw * span),
                     np.exp(math.log(low) + (ph - 1 - gy.ravel()) / ph * span)], axis=1)
    matched = wh_iou(grid, anchors) >= 0.5
    for k in range(len(anchors)):
        region = matched[:, k].reshape(ph, pw).astype(np.uint8)
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(image[top:top + ph, left:left + pw], contours, -1, (150, 150, 150), 1, cv2.LINE_AA)
    names = sorted(set(boxes.categories))
    cats = np.array(boxes.categories)
    for k, name in enumerate(names):
        colour = COLOURS[k % len(COLOURS)]
        xs, ys = at(boxes.scaled[cats == name, 0], boxes.scaled[cats == name, 1])
        for x, y in zip(xs, ys, strict=True):
            cv2.circle(image, (int(x), int(y)), 2, colour, -1, cv2.LINE_AA)
        cv2.circle(image, (left + pw - 120, top + 16 + 16 * k), 4, colour, -1, cv2.LINE_AA)
        cv2.putText(image, name[:18], (left + pw - 110, top + 20 + 16 * k), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    xs, ys = at(anchors[:, 0], anchors[:, 1])
    for x, y in zip(xs, ys, strict=True):
        cv2.drawMarker(image, (int(x), int(y)), (0, 0, 0), cv2.MARKER_CROSS, 14, 2)
    return image


def _histogram(values: np.ndarray, name: str, width: int, height: int) -> np.ndarray:
    image = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 50, 12, 30, 40
    pw, ph = width - left - right, height - top - bottom
    low, high = max(float(values.min()) / 1.2, 0.5), float(values.max()) * 1.2
    edges = np.geomspace(low, high, 25)
    counts, _ = np.histogram(values, edges)
    cv2.putText(image, f"box {name}s (px, log bins)", (left, 20), FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(image, (left, top), (left + pw, top + ph), (0, 0, 0), 1)
    peak = max(int(counts.max()), 1)
    bar = pw / len(counts)
    for k, count in enumerate(counts):
        x0, x1 = int(left + k * bar) + 1, int(left + (k + 1) * bar) - 1
        cv2.rectangle(image, (x0, top + ph - int(count / peak * ph)), (x1, top + ph), COLOURS[0], -1)
    cv2.putText(image, f"{peak}", (8, top + 10), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "0", (30, top + ph), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for value in _log_ticks(low, high):
        x = int(left + (math.log(value) - math.log(low)) / (math.log(high) - math.log(low)) * pw)
        cv2.putText(image, f"{value:g}", (x - 10, top + ph + 18), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return image


def _log_ticks(low: float, high: float) -> list[float]:
    """1, 2, 5 times the powers of ten between low and high."""
    ticks = []
    for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        ticks += [m * 10 ** power for m in (1, 2, 5) if low <= m * 10 ** power <= high]
    return ticks
