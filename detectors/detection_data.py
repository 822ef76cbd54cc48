"""The detector's training samples: a photo scaled to the training size with jitter, flipped, its
colours jittered, padded to a square; its boxes, classes and extreme points moved the same way."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from converters import Dataset, Shape
from converters.images import ImageFolder

from .detections import Instances
from .images import read_rgb

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255  # torchvision's ImageNet statistics
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255
SCALE_JITTER = (0.8, 1.2)


@dataclasses.dataclass
class Photo:
    path: Path
    boxes: np.ndarray  # K x 4, x0 y0 x1 y1
    labels: np.ndarray  # K, 0-based class indices
    extremes: np.ndarray  # K x 4 x 2: top, left, bottom, right
    known: np.ndarray = None  # type: ignore[assignment]  # K bool: extreme points known (default all)

    def __post_init__(self) -> None:
        if self.known is None:
            self.known = np.ones(len(self.boxes), bool)


def load_photos(dataset: Dataset, image_root: Path) -> tuple[list[Photo], list[str]]:
    """Every image with its regions (crowds left out), and the class names in index order. A region
    without extreme points (box only: VOC, YOLO) trains its box and centre; its extreme points are marked
    unknown, so that no detector learns its sides' midpoints as where an object's extreme points are."""
    names = [c.name for c in dataset.categories]
    index = {c.id: k for k, c in enumerate(dataset.categories)}
    folder = ImageFolder(image_root)
    by_image = dataset.annotations_by_image()
    photos = []
    for record in dataset.images:
        anns = [a for a in by_image.get(record.id, []) if a.shape is Shape.REGION and not a.iscrowd]
        path = folder.require(record.file_name)
        boxes = np.array([[a.box.x, a.box.y, a.box.x + a.box.w, a.box.y + a.box.h] for a in anns], np.float32)
        extremes = np.array([_extremes(a) for a in anns], np.float32)
        photos.append(Photo(path, boxes.reshape(-1, 4), np.array([index[a.category_id] for a in anns], np.int64),
                            extremes.reshape(-1, 4, 2), np.array([a.extreme is not None for a in anns], bool)))
    return photos, names


def _extremes(ann) -> list[list[float]]:
    """The extreme points, or for a box-only object its sides' midpoints: a place holder, marked unknown."""
    if ann.extreme is not None:
        return [list(p) for p in (ann.extreme.top, ann.extreme.left, ann.extreme.bottom, ann.extreme.right)]
    b = ann.box
    return [[b.x + b.w / 2, b.y], [b.x, b.y + b.h / 2], [b.x + b.w / 2, b.y + b.h], [b.x + b.w, b.y + b.h / 2]]


def prepare(image: np.ndarray, size: int, canvas: int | None = None) -> tuple[torch.Tensor, float]:
    """An RGB photo as the network's input: longer side scaled to `size`, normalised, placed at the top
    left of a canvas x canvas square (default: size), padded or cut. Returns the tensor and the scale."""
    canvas = canvas or size
    scale = size / max(image.shape[:2])
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)[:canvas, :canvas]
    out = np.zeros((canvas, canvas, 3), np.float32)
    out[:resized.shape[0], :resized.shape[1]] = (resized.astype(np.float32) - MEAN) / STD
    return torch.from_numpy(out.transpose(2, 0, 1).copy()), scale


class DetectionSamples(TorchDataset):
    def __init__(self, photos: list[Photo], size: int, train: bool = True):
        self.photos = photos
        self.size = size
        self.train = train
        self._cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, Instances]:
        photo = self.photos[k]
        if k not in self._cache:  # each worker keeps the photos it has decoded
            self._cache[k] = read_rgb(photo.path)
        image = self._cache[k]
        boxes, extremes = photo.boxes.copy(), photo.extremes.copy()
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
        size = self.size
        if self.train:
            jitter = rng.uniform(*SCALE_JITTER)
            size = int(self.size * jitter)
            if rng.random() < 0.5:
                image, boxes, extremes = _flip(image, boxes, extremes)
            image = _colour_jitter(image, rng)
        tensor, scale = prepare(image, size, self.size)
        boxes, extremes = boxes * scale, extremes * scale
        keep = (boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 2) & \
            (boxes[:, 0] < self.size) & (boxes[:, 1] < self.size)
        boxes = np.minimum(boxes[keep], self.size)
        extremes = np.minimum(extremes[keep], self.size)
        return tensor, Instances(torch.from_numpy(boxes), torch.from_numpy(photo.labels[keep]),
                                 torch.from_numpy(extremes), torch.from_numpy(photo.known[keep]))


def _flip(image: np.ndarray, boxes: np.ndarray, extremes: np.ndarray):
    width = image.shape[1]
    flipped = boxes.copy()
    flipped[:, 0], flipped[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    points = extremes.copy()
    points[:, :, 0] = width - extremes[:, :, 0]
    points = points[:, [0, 3, 2, 1]]  # left and right swap roles
    return np.ascontiguousarray(image[:, ::-1]), flipped, points


def _colour_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    contrast, brightness = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
    return np.clip(image.astype(np.float32) * contrast + brightness, 0, 255).astype(np.uint8)


def collate(batch: list[tuple[torch.Tensor, Instances]]) -> tuple[torch.Tensor, list[Instances]]:
    return torch.stack([image for image, _ in batch]), [target for _, target in batch]
