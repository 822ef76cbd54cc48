"""The mask from four extreme clicks without a network: Papadopoulos et al.'s extreme-clicking GrabCut.

Plain GrabCut from a box knows only that the object is inside it. Four clicks say more: the outline
passes through them, so the edge-following paths between them give a first outline; the skeleton of
the region it encloses is surely object, and so are the clicks. GrabCut then runs on a crop around
the box, not the whole image: its colour models need only the box and a margin of background, and a
crop is what keeps it interactive on a large photo.

Beyond the paper, the first outline shrunk by a few pixels is also clamped to foreground: on
fruits_nuts GrabCut otherwise cuts highlights and dark folds out of the object (mean IoU 0.907 -> 0.919
together with wider discs at the clicks; `annotator eval-masks` measures it). Each click is sure
foreground only within a small core (CLICK_CORE), so it adds no spike at a corner or a straight side.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from converters import Correction, ExtremePoints

from .boundary import STEP_COST, edge_strength, outline

#: Background kept around the box, as a share of its longer side (and at least MIN_MARGIN pixels).
MARGIN = 0.3
MIN_MARGIN = 8
#: The crop is shrunk so that its longer side is at most this many pixels; the mask is scaled back.
#: 200 lost the object's own resolution on fruits_nuts (crops of 150-300 px): mean IoU 0.914 at 200,
#: 0.921 at 250, 0.922 at 300; in the window on a 24-megapixel photo a correction's mask took 80 ms
#: (p95 92) at 200, 88 ms (p95 115) at 250 and 119 ms (p95 265) at 300 (`grabcut_resolution.py`,
#: `gui_latency.py`).
WORK_SIZE = 250
#: At most this many rounds of GrabCut (colour models, then the cut); it stops sooner once a round
#: changes fewer than CONVERGED of the crop's pixels. Each round's cut is most of the time, and on a
#: 24-megapixel photo the second round usually changes a few pixels in 40,000.
ITERATIONS = 4
CONVERGED = 0.001
#: As a share of the crop's longer side: how far inside the first outline is clamped to foreground (with
#: the skeleton), and the radius of a correction point's disc.
SURE_SHARE = 0.03
#: A click is sure foreground within this share of SURE_SHARE's radius. A whole disc at a click on a
#: straight side or a corner reached past the object and GrabCut grew a triangular spike there; the
#: rest of the disc, kept where it lay inside the first outline, still spilled along a turned
#: rectangle's side below its corner (where the outline cut the corner: 44 px within 15 px of the
#: click), and without it the means moved by under 0.001 (2 corrections, working size 250: fruits_nuts
#: 0.945 -> 0.944, 52 boards 0.943 -> 0.943, 60 held-out scene objects 0.943 -> 0.944).
CLICK_CORE = 0.5
#: Where a network steers GrabCut (`prior`), its chance of object above which a pixel is surely object (and
#: below one minus which surely not). On fruits_nuts, over the objects after each learning run, a sure
#: background too gave 0.905-0.953 against 0.904-0.951 without it; over three seeds' runs (315 objects),
#: steered GrabCut alone: 0.8 0.924, 0.9 0.932, 0.97 0.938, 0.99 0.940, 0.999 0.938.
SURE_PRIOR = 0.99
RNG_SEED = 0


def grabcut_mask(image: np.ndarray, extreme: ExtremePoints, corrections: Sequence[Correction] = (),
                 prior: np.ndarray | None = None) -> np.ndarray:
    """A boolean mask of the image's size; empty when GrabCut finds no object (the caller falls back).
    Correction points are hard seeds: a disc clamped to foreground or background, the background ones
    laid last, so a person's "not this" wins over the outline's guess. `prior`: a network's chance of
    object per pixel (the image's size), which then takes the first outline's place: over a half it is
    probably object, over SURE_PRIOR surely, under 1 - SURE_PRIOR surely not (GrabCut's colour model
    would otherwise take a neighbour of the object's colour back), and GrabCut moves the edges between
    to the image's."""
    height, width = image.shape[:2]
    box = extreme.box.pixels(width, height)
    x0, y0, x1, y1 = box
    margin = max(MIN_MARGIN, int(round(MARGIN * max(x1 - x0, y1 - y0))))
    cx0, cy0 = max(0, x0 - margin), max(0, y0 - margin)
    cx1, cy1 = min(width, x1 + margin), min(height, y1 + margin)
    crop = _colour(image[cy0:cy1, cx0:cx1])
    scale = min(1.0, WORK_SIZE / max(crop.shape[:2]))
    if scale < 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    work_h, work_w = crop.shape[:2]

    def to_work(col: float, row: float) -> tuple[int, int]:
        return (min(work_h - 1, int((row - cy0) * scale)), min(work_w - 1, int((col - cx0) * scale)))

    clicks = [to_work(*_click_pixel(p, box)) for p in (extreme.top, extreme.left, extreme.bottom, extreme.right)]
    inside_box = np.zeros((work_h, work_w), dtype=bool)
    (br0, bc0), (br1, bc1) = to_work(x0, y0), to_work(x1 - 1, y1 - 1)
    inside_box[br0:br1 + 1, bc0:bc1 + 1] = True

    sure = max(1, int(round(SURE_SHARE * max(work_h, work_w))))
    if prior is None:
        cost = 1 - edge_strength(crop) + STEP_COST
        region = np.zeros((work_h, work_w), dtype=np.uint8)
        cv2.fillPoly(region, [outline(cost, clicks)], 1)
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * sure + 1, 2 * sure + 1))
        surely = _skeleton(region) | cv2.erode(region, disc).astype(bool)
    else:
        steer = cv2.resize(np.ascontiguousarray(prior[cy0:cy1, cx0:cx1], dtype=np.float32), (work_w, work_h),
                           interpolation=cv2.INTER_LINEAR)
        region = (steer > 0.5).astype(np.uint8)
        surely = steer > SURE_PRIOR
    labels = np.where(inside_box, cv2.GC_PR_BGD, cv2.GC_BGD).astype(np.uint8)
    labels[region.astype(bool) & inside_box] = cv2.GC_PR_FGD
    labels[surely] = cv2.GC_FGD
    if prior is not None:
        labels[steer < 1 - SURE_PRIOR] = cv2.GC_BGD
    for row, col in clicks:
        cv2.circle(labels, (col, row), max(1, int(round(CLICK_CORE * sure))), cv2.GC_FGD, -1)
    for c in sorted(corrections, key=lambda c: not c.foreground):
        row, col = to_work(*_click_pixel((c.x, c.y), box))
        cv2.circle(labels, (col, row), sure, cv2.GC_FGD if c.foreground else cv2.GC_BGD, -1)
    labels[~inside_box] = cv2.GC_BGD

    if not np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        return np.zeros((height, width), dtype=bool)  # the object fills the image: no background to model
    work_mask = cut(crop, labels)
    work_mask = _parts_touching(work_mask, labels == cv2.GC_FGD)

    if scale < 1:
        work_mask = cv2.resize(work_mask.astype(np.float32), (cx1 - cx0, cy1 - cy0),
                               interpolation=cv2.INTER_LINEAR) > 0.5
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = work_mask[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] > 0
    return mask


def box_mask(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Plain GrabCut in a box (x0, y0, x1, y1 pixels), for an object known by its box alone: the box's
    inside may be object, its outside is not. A boolean mask of the image's size (empty: nothing found)."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    if x1 - x0 < 4 or y1 - y0 < 4:
        return np.zeros((height, width), dtype=bool)
    margin = max(MIN_MARGIN, int(round(MARGIN * max(x1 - x0, y1 - y0))))
    cx0, cy0, cx1, cy1 = max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), min(height, y1 + margin)
    crop = _colour(image[cy0:cy1, cx0:cx1])
    scale = min(1.0, WORK_SIZE / max(crop.shape[:2]))
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    labels = np.full(crop.shape[:2], cv2.GC_BGD, np.uint8)
    inner = [int((x0 - cx0) * scale), int((y0 - cy0) * scale), int(np.ceil((x1 - cx0) * scale)),
             int(np.ceil((y1 - cy0) * scale))]
    labels[inner[1]:inner[3], inner[0]:inner[2]] = cv2.GC_PR_FGD
    if not (labels == cv2.GC_BGD).any():
        return np.zeros((height, width), dtype=bool)  # the box fills the image: no background to model
    work_mask = cut(crop, labels)
    if scale < 1:
        work_mask = cv2.resize(work_mask.astype(np.float32), (cx1 - cx0, cy1 - cy0),
                               interpolation=cv2.INTER_LINEAR) > 0.5
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = work_mask[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] > 0
    return mask


def cut(crop: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """GrabCut's rounds on `labels` (changed in place) until they settle; the foreground as 0/1. Its
    colour models start from k-means on OpenCV's global random numbers, which every earlier cut moved on:
    the same clicks then gave masks a few pixels apart (up to 11 on fruits_nuts), so an undone and
    redone correction, or a benchmark's second run, did not give the mask back. Seeded, they do."""
    cv2.setRNGSeed(RNG_SEED)
    background, foreground = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(crop, labels, None, background, foreground, 1, cv2.GC_INIT_WITH_MASK)
    foreground_now = (labels & 1).astype(np.uint8)  # GC_FGD and GC_PR_FGD are the odd labels
    for _ in range(ITERATIONS - 1):
        cv2.grabCut(crop, labels, None, background, foreground, 1, cv2.GC_EVAL)
        before, foreground_now = foreground_now, (labels & 1).astype(np.uint8)
        if np.count_nonzero(before != foreground_now) <= CONVERGED * labels.size:
            break
    return foreground_now


def _click_pixel(point: tuple[float, float], box: tuple[int, int, int, int]) -> tuple[int, int]:
    """The pixel (col, row) a click names, inside the box (a point on the box's far edge names the last
    pixel row or column)."""
    x0, y0, x1, y1 = box
    return min(x1 - 1, max(x0, int(np.floor(point[0])))), min(y1 - 1, max(y0, int(np.floor(point[1]))))


def _colour(image: np.ndarray) -> np.ndarray:
    """GrabCut wants three 8-bit channels."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(image[:, :, :3])


def _skeleton(region: np.ndarray) -> np.ndarray:
    """Morphological skeleton: what each erosion removes that an opening cannot bring back."""
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    skeleton = np.zeros(region.shape, dtype=bool)
    current = region.copy()
    while current.any():
        eroded = cv2.erode(current, kernel)
        skeleton |= (current - cv2.dilate(eroded, kernel)).astype(bool)
        current = eroded
    return skeleton


def _parts_touching(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Only the connected parts of the mask that contain a sure-foreground pixel: GrabCut's colour
    model also wakes up in stray background patches of similar colour."""
    count, parts = cv2.connectedComponents(mask, connectivity=8)
    if count <= 1:
        return mask
    keep = np.unique(parts[seeds & (parts > 0)])
    return np.isin(parts, keep).astype(np.uint8)
