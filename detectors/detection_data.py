"""The detector's training samples: a photo scaled to the training size with jitter, flipped, its
colours jittered, padded to a square, or with `augment` a mosaic of four (and objects pasted from other
photos: `augment`); its boxes, classes and extreme points moved the same way."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from converters import Annotation, Dataset, Shape
from converters.images import ImageFolder
from converters.masks import Polygons, extreme_points_from_mask, mask_to_polygons, polygons_to_mask, rle_to_mask

from .augment import Cutout, Piece, colour, flip, mosaic, paste
from .detections import GroundTruth
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
    outlines: list = None  # type: ignore[assignment]  # K: each object's polygons (Polygons), or None: no mask

    def __post_init__(self) -> None:
        if self.known is None:
            self.known = np.ones(len(self.boxes), bool)
        if self.outlines is None:
            self.outlines = [None] * len(self.boxes)


def load_photos(dataset: Dataset, image_root: Path) -> tuple[list[Photo], list[str]]:
    """Every image with its regions (crowds left out), and the class names in index order. A region
    without extreme points (box only: VOC, YOLO) trains its box and centre; its extreme points are marked
    unknown, so that no detector learns its sides' midpoints as where an object's extreme points are. A
    region with a mask can be pasted onto other photos (`augment.paste`)."""
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
                            extremes.reshape(-1, 4, 2), np.array([a.extreme is not None for a in anns], bool),
                            [_outline(a, record.height, record.width) for a in anns]))
    return photos, names


def guess_extremes(photos: list[Photo]) -> int:
    """Extreme points for the box-only objects, from a GrabCut mask in each box (ExtremeNet's rule on the
    mask, each point kept on its side of the box): for a detector whose boxes come from its extreme
    points alone (ExtremeNet, with `--box-points grabcut`). Where GrabCut finds nothing (a white piece on
    a white square), the sides' midpoints stand in: an object left without points is never learnt and
    costs a held-out miss (the chess photos: AP50 0.669 with 5 of 33 objects left out, 0.754 with the
    midpoints in their place; benchmarks/README.md). How many it guessed."""
    from .mask_backends.grabcut import box_mask

    guessed = 0
    for photo in photos:
        unknown = np.flatnonzero(~photo.known)
        if not len(unknown):
            continue
        image = read_rgb(photo.path)
        for k in unknown:
            x0, y0, x1, y1 = photo.boxes[k]
            pixels = (int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1)))
            points = extreme_points_from_mask(box_mask(image, pixels))
            if points is not None:  # else the midpoints `load_photos` placed stay
                (tx, _), (_, ly), (bx, _), (_, ry) = points.top, points.left, points.bottom, points.right
                photo.extremes[k] = [[np.clip(tx, x0, x1), y0], [x0, np.clip(ly, y0, y1)],
                                     [np.clip(bx, x0, x1), y1], [x1, np.clip(ry, y0, y1)]]
            photo.known[k] = True
            guessed += 1
    return guessed


def _outline(ann: Annotation, height: int, width: int) -> Polygons | None:
    if ann.polygons:
        return ann.polygons
    rle = ann.mask_rle(height, width)
    return mask_to_polygons(rle_to_mask(rle)) or None if rle is not None else None


def _extremes(ann: Annotation) -> list[list[float]]:
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


#: How a detector's samples are augmented (its config's `augment`): light (flip, colour, scale), mosaic
#: (and half the samples mosaics of four photos), paste (and objects pasted from other photos by their masks).
AUGMENTS = ("light", "mosaic", "paste")
MOSAIC_SHARE = 0.5
PASTED = (0, 3)  # objects pasted on a photo, at least and at most


class DetectionSamples(TorchDataset):
    def __init__(self, photos: list[Photo], size: int, train: bool = True, augment: str = "light"):
        self.photos = photos
        self.size = size
        self.train = train
        self.augment = augment
        self._cache: dict[int, tuple[np.ndarray, float]] = {}
        self._masked = [(k, j) for k, p in enumerate(photos) for j, outline in enumerate(p.outlines) if outline]

    def __len__(self) -> int:
        return len(self.photos)

    def _photo(self, k: int) -> tuple[np.ndarray, float]:
        """Photo k, no larger than twice the training size (a 12-megapixel photo is scaled on every step
        otherwise), and the factor it was shrunk by; each worker keeps the photos it has decoded."""
        if k not in self._cache:
            image = read_rgb(self.photos[k].path)
            factor = min(1.0, 2 * self.size / max(image.shape[:2]))
            if factor < 1:
                image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            self._cache[k] = image, factor
        return self._cache[k]

    def _piece(self, k: int) -> Piece:
        photo = self.photos[k]
        image, factor = self._photo(k)
        return Piece(image, photo.boxes * factor, photo.labels, photo.extremes * factor, photo.known)

    def _cutout(self, rng: np.random.Generator) -> Cutout:
        """A random object with a mask, cut out of its photo."""
        k, j = self._masked[int(rng.integers(len(self._masked)))]
        image, factor = self._photo(k)
        x0, y0, x1, y1 = np.clip(np.round(self.photos[k].boxes[j] * factor).astype(int), 0,
                                 [image.shape[1], image.shape[0]] * 2)
        outline = [(np.asarray(p, np.float64).reshape(-1, 2) * factor - [x0, y0]).ravel().tolist()
                   for p in self.photos[k].outlines[j]]
        mask = polygons_to_mask(outline, max(1, y1 - y0), max(1, x1 - x0)).astype(np.uint8)
        return Cutout(image[y0:y1, x0:x1], mask, int(self.photos[k].labels[j]))

    def _augmented(self, k: int, rng: np.random.Generator) -> Piece:
        piece = self._piece(k)
        if self.augment == "paste" and self._masked:
            piece = paste(piece, [self._cutout(rng) for _ in range(int(rng.integers(PASTED[0], PASTED[1] + 1)))],
                          rng)
        if rng.random() < 0.5:
            piece = flip(piece)
        return colour(piece, rng)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, GroundTruth]:
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
        size = self.size
        if not self.train:
            piece = self._piece(k)
        elif self.augment != "light" and rng.random() < MOSAIC_SHARE:
            others = rng.integers(len(self.photos), size=3).tolist()
            piece = mosaic([self._augmented(i, rng) for i in [k, *others]], self.size, MEAN.astype(np.uint8), rng)
        else:
            piece = self._augmented(k, rng)
            size = int(self.size * rng.uniform(*SCALE_JITTER))
        tensor, scale = prepare(piece.image, size, self.size)
        boxes, extremes = piece.boxes * scale, piece.extremes * scale
        keep = (boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 2) & \
            (boxes[:, 0] < self.size) & (boxes[:, 1] < self.size)
        # float32 whatever the augmentation did: a mosaic's offsets made them float64, and SAPD's and
        # RetinaNet's targets then failed against the network's float32 or bfloat16
        boxes = np.minimum(boxes[keep], self.size).astype(np.float32)
        extremes = np.minimum(extremes[keep], self.size).astype(np.float32)
        return tensor, GroundTruth(torch.from_numpy(boxes), torch.from_numpy(piece.labels[keep]),
                                 torch.from_numpy(extremes), torch.from_numpy(piece.known[keep]))


def collate(batch: list[tuple[torch.Tensor, GroundTruth]]) -> tuple[torch.Tensor, list[GroundTruth]]:
    return torch.stack([image for image, _ in batch]), [target for _, target in batch]
