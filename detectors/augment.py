"""Augmentations for training a detector from scratch on a few hundred photos, as the detectors that do
that well train (YOLO's recipe: mosaic and copy-paste, scale and colour jitter, flips). Each works on a
`Piece`: a photo's pixels (RGB, uint8) and its objects in those pixels.

- `mosaic`: four photos, each shrunk, around a random centre of one square canvas: four times the
  objects per sample, at smaller scales, against other photos' backgrounds;
- `paste`: objects cut out of other photos along their masks, pasted where nothing is, at another scale
  (Ghiasi et al., "Simple Copy-Paste"): more objects, on more backgrounds;
- `flip`, `colour`: the mirror image (left and right swap roles) and brightness and contrast.

An object cut by a canvas's edge keeps its clipped box, but its extreme points are no longer known (the
true one may lie outside); one left with under `KEPT_SHARE` of its box is dropped.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from converters.masks import extreme_points_from_mask

KEPT_SHARE = 0.25  # of an object's box that must stay on a mosaic's canvas for it to be kept
MOSAIC_SIDE = (0.35, 0.75)  # each photo's longer side in a mosaic, as a share of the canvas
PASTE_SCALE = (0.5, 1.5)  # a pasted object's size against its own
PASTE_TRIES = 10  # places tried for a pasted object before giving it up


@dataclasses.dataclass
class Piece:
    image: np.ndarray  # H x W x 3 RGB uint8
    boxes: np.ndarray  # K x 4 float32: x0, y0, x1, y1
    labels: np.ndarray  # K int64
    extremes: np.ndarray  # K x 4 x 2 float32: top, left, bottom, right
    known: np.ndarray  # K bool: the extreme points are the object's

    def kept(self, keep: np.ndarray) -> Piece:
        return Piece(self.image, self.boxes[keep], self.labels[keep], self.extremes[keep], self.known[keep])


@dataclasses.dataclass(frozen=True)
class Cutout:
    """An object to paste: its pixels and mask (uint8 0/1) in its box, and its class."""
    pixels: np.ndarray
    mask: np.ndarray
    label: int


def flip(piece: Piece) -> Piece:
    width = piece.image.shape[1]
    boxes = piece.boxes.copy()
    boxes[:, 0], boxes[:, 2] = width - piece.boxes[:, 2], width - piece.boxes[:, 0]
    points = piece.extremes.copy()
    points[:, :, 0] = width - piece.extremes[:, :, 0]
    points = points[:, [0, 3, 2, 1]]  # left and right swap roles
    return Piece(np.ascontiguousarray(piece.image[:, ::-1]), boxes, piece.labels, points, piece.known)


def colour(piece: Piece, rng: np.random.Generator) -> Piece:
    contrast, brightness = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
    image = np.clip(piece.image.astype(np.float32) * contrast + brightness, 0, 255).astype(np.uint8)
    return dataclasses.replace(piece, image=image)


def scaled(piece: Piece, factor: float) -> Piece:
    image = cv2.resize(piece.image, None, fx=factor, fy=factor,
                       interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    return Piece(image, piece.boxes * factor, piece.labels, piece.extremes * factor, piece.known)


def mosaic(pieces: list[Piece], side: int, fill: np.ndarray, rng: np.random.Generator) -> Piece:
    """Four pieces around a random centre of a side x side canvas (`fill` elsewhere), each scaled so its
    longer side is a MOSAIC_SIDE share of the canvas: the first to the top left of the centre, then top
    right, bottom left, bottom right."""
    canvas = np.empty((side, side, 3), np.uint8)
    canvas[:] = fill
    cx, cy = (int(rng.uniform(0.3, 0.7) * side) for _ in range(2))
    parts = []
    for k, piece in enumerate(pieces):
        piece = scaled(piece, rng.uniform(*MOSAIC_SIDE) * side / max(piece.image.shape[:2]))
        h, w = piece.image.shape[:2]
        x = cx - w if k in (0, 2) else cx
        y = cy - h if k in (0, 1) else cy
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, side), min(y + h, side)
        canvas[y0:y1, x0:x1] = piece.image[y0 - y:y1 - y, x0 - x:x1 - x]
        parts.append(_clipped(Piece(piece.image, piece.boxes + [x, y, x, y], piece.labels,
                                    piece.extremes + [x, y], piece.known), (x0, y0, x1, y1)))
    return Piece(canvas, *(np.concatenate([getattr(p, f) for p in parts])
                           for f in ("boxes", "labels", "extremes", "known")))


def _clipped(piece: Piece, window: tuple[int, int, int, int]) -> Piece:
    """The objects as the window (x0, y0, x1, y1) of the canvas shows them."""
    x0, y0, x1, y1 = window
    boxes = piece.boxes.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(x0, x1)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(y0, y1)
    area = (piece.boxes[:, 2] - piece.boxes[:, 0]) * (piece.boxes[:, 3] - piece.boxes[:, 1])
    left = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = (left >= KEPT_SHARE * area) & (boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 2)
    cut = (np.abs(boxes - piece.boxes) > 1e-3).any(axis=1)
    extremes = np.stack([piece.extremes[..., 0].clip(x0, x1), piece.extremes[..., 1].clip(y0, y1)], axis=-1)
    return Piece(piece.image, boxes, piece.labels, extremes, piece.known & ~cut).kept(keep)


def paste(piece: Piece, cutouts: list[Cutout], rng: np.random.Generator) -> Piece:
    """The cutouts pasted on the piece, each at PASTE_SCALE of its size, where it overlaps no object's box
    (PASTE_TRIES places tried); its box and extreme points from its mask, as a person's clicks give them."""
    image = piece.image.copy()
    boxes, labels, extremes, known = list(piece.boxes), list(piece.labels), list(piece.extremes), list(piece.known)
    height, width = image.shape[:2]
    for cutout in cutouts:
        factor = rng.uniform(*PASTE_SCALE)
        h, w = cutout.mask.shape
        factor = min(factor, 0.5 * width / w, 0.5 * height / h)
        size = (max(2, round(w * factor)), max(2, round(h * factor)))
        mask = cv2.resize(cutout.mask, size, interpolation=cv2.INTER_NEAREST)
        if mask.sum() < 16:
            continue
        pixels = cv2.resize(cutout.pixels, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
        for _ in range(PASTE_TRIES):
            x, y = int(rng.integers(0, width - size[0] + 1)), int(rng.integers(0, height - size[1] + 1))
            if not any(x < b[2] and b[0] < x + size[0] and y < b[3] and b[1] < y + size[1] for b in boxes):
                break
        else:
            continue
        alpha = cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0)[:, :, None]
        region = image[y:y + size[1], x:x + size[0]].astype(np.float32)
        image[y:y + size[1], x:x + size[0]] = (alpha * pixels + (1 - alpha) * region).astype(np.uint8)
        points = extreme_points_from_mask(mask)
        assert points is not None  # the mask has pixels
        top, left, bottom, right = (np.array(p, np.float32) + [x, y] for p in
                                    (points.top, points.left, points.bottom, points.right))
        boxes.append(np.array([left[0], top[1], right[0], bottom[1]], np.float32))
        labels.append(cutout.label)
        extremes.append(np.stack([top, left, bottom, right]))
        known.append(True)
    if len(boxes) == len(piece.boxes):
        return piece
    return Piece(image, np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64),
                 np.array(extremes, np.float32).reshape(-1, 4, 2), np.array(known, bool))
