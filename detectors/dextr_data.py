"""DEXTR's training samples: one object each, augmented as the paper does (flip, rotation +/-20 degrees,
scale 0.75-1.25), clicked by the simulated annotator with jitter, cut as the network's input; and
synthetic objects our own code draws, for training without labels or mixed with them."""
from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from converters import Dataset, Shape
from converters.images import ImageFolder
from converters.masks import rle_to_mask

from .dextr import CLICKS_ONLY, RELAX, box_in_crop, crop_input, crop_target, padded_crop
from .images import read_rgb
from .mask_backends.simulate import simulated_clicks

#: An object: an RGB image (shared between the objects of one photo) and the object's boolean mask.
Object = tuple[np.ndarray, np.ndarray]

ROTATION = 20.0
SCALES = (0.75, 1.25)
JITTER = 5.0


def load_objects(dataset: Dataset, image_root: Path, image_ids: Iterable[int] | None = None) -> list[Object]:
    """Every instance with a mask (crowds and box-only labels have no outline to learn)."""
    wanted = set(image_ids) if image_ids is not None else None
    folder = ImageFolder(image_root)
    by_image = dataset.annotations_by_image()
    objects: list[Object] = []
    for record in dataset.images:
        anns = [a for a in by_image.get(record.id, []) if a.shape is Shape.REGION and a.has_mask and not a.iscrowd]
        if not anns or (wanted is not None and record.id not in wanted):
            continue
        path = folder.require(record.file_name)
        image = read_rgb(path)
        for ann in anns:
            mask = rle_to_mask(ann.mask_rle(record.height, record.width)).astype(bool)
            if mask.any():
                objects.append((image, mask))
    return objects


def synthetic_objects(count: int, seed: int = 0, size: int = 240) -> list[Object]:
    """Photos our code draws: a random smooth blob (sometimes with a notch or a stalk) in a textured
    colour on a textured background, with neighbours touching it, blurred like a lens."""
    rng = np.random.default_rng(seed)
    return [_synthetic(rng, size) for _ in range(count)]


def _synthetic(rng: np.random.Generator, size: int) -> Object:
    def texture(colour: np.ndarray) -> np.ndarray:
        noise = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), rng.uniform(1, 4))
        return colour + 40 * noise[:, :, None] * rng.uniform(0.3, 1.0, 3)

    background = texture(rng.uniform(30, 225, 3))
    image = background.copy()
    masks = []
    for _ in range(int(rng.integers(1, 4))):
        mask = _blob(rng, size)
        image = np.where(mask[:, :, None], texture(rng.uniform(30, 225, 3)), image)
        masks.append(mask)
    target = masks[-1]  # drawn last, so whole: the others may hide behind it
    photo = cv2.GaussianBlur(np.clip(image, 0, 255).astype(np.uint8), (3, 3), 0)
    return photo, target


def _blob(rng: np.random.Generator, size: int) -> np.ndarray:
    angles = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    radius = np.ones_like(angles)
    for k in range(1, 5):
        radius += rng.uniform(0, 0.25 / k) * np.cos(k * angles + rng.uniform(0, 2 * math.pi))
    scale = rng.uniform(0.12, 0.3) * size
    stretch = rng.uniform(0.6, 1.4)
    centre = rng.uniform(0.3, 0.7, 2) * size
    points = np.stack([centre[0] + scale * stretch * radius * np.cos(angles),
                       centre[1] + scale / stretch * radius * np.sin(angles)], axis=1)
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    if rng.random() < 0.3:  # a stalk, as figs have
        end = centre + rng.uniform(-1, 1, 2) * scale * 1.6
        cv2.line(mask, tuple(int(v) for v in centre), tuple(int(v) for v in end), 1, int(rng.integers(2, 6)))
    return mask.astype(bool)


def augment(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Object:
    """Flip, rotate and scale the object with the photo around it. Only the region the crop can reach
    is warped, not the whole photo."""
    rows, cols = np.nonzero(mask)
    cx, cy = (cols.min() + cols.max() + 1) / 2, (rows.min() + rows.max() + 1) / 2
    reach = int(max(cols.max() - cols.min(), rows.max() - rows.min()) * 0.8 * SCALES[1]) + RELAX + 8
    x0, y0 = int(cx) - reach, int(cy) - reach
    region = padded_crop(image, x0, y0, x0 + 2 * reach, y0 + 2 * reach)
    region_mask = padded_crop(mask.astype(np.uint8), x0, y0, x0 + 2 * reach, y0 + 2 * reach)
    if rng.random() < 0.5:
        region, region_mask = region[:, ::-1], region_mask[:, ::-1]
    turn = cv2.getRotationMatrix2D((reach, reach), rng.uniform(-ROTATION, ROTATION), rng.uniform(*SCALES))
    side = (2 * reach, 2 * reach)
    warped = cv2.warpAffine(np.ascontiguousarray(region), turn, side, flags=cv2.INTER_LINEAR)
    warped_mask = cv2.warpAffine(np.ascontiguousarray(region_mask), turn, side, flags=cv2.INTER_NEAREST)
    return warped, warped_mask.astype(bool)


class ObjectCrops(TorchDataset):
    """One item per object: (input `inputs` x crop x crop, target 1 x crop x crop, the clicks' box in the
    crop as x, y, w, h), freshly augmented and clicked each time it is drawn. The correction points are
    the training loop's to add: they depend on what the network gets wrong."""

    def __init__(self, objects: list[Object], crop: int, train: bool = True, jitter: float = JITTER,
                 inputs: int = CLICKS_ONLY):
        self.objects = objects
        self.crop = crop
        self.train = train
        self.jitter = jitter
        self.inputs = inputs

    def __len__(self) -> int:
        return len(self.objects)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))  # each DataLoader worker its own
        image, mask = self.objects[k]
        if self.train:
            image, mask = augment(image, mask, rng)
            if not mask.any():
                image, mask = self.objects[k]
        clicks = simulated_clicks(mask, self.jitter if self.train else 0.0, rng)
        x = crop_input(image, clicks, self.crop, inputs=self.inputs).transpose(2, 0, 1)
        y = crop_target(mask, clicks, self.crop)[None]
        b = box_in_crop(clicks, self.crop)
        return (torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y),
                torch.tensor([b.x, b.y, b.w, b.h], dtype=torch.float32))
