"""Datasets that look like real labelling jobs, made from the real photos in ../shared, for the tests and
the benchmarks (`benchmarks/detector_seeds.py`): fruits_nuts alone is one easy scene type, 14 photos of
one table.

A scene is a real photo (the chess board, the sharks, the blueberries) cropped, scaled and flipped as a
background, with one to three objects pasted on it from their masks at another scale: the dates, figs
and hazelnuts of fruits_nuts, cut out along their polygons, and circuit boards drawn here (a fourth
class with straight sides, like the boards of the issue that asked for this). Objects range from 16 px
to half the photo, may overlap (the one below loses what is covered), and unlabelled clutter (patches
of the other photos, in blobs) sits between them. The training scenes take their objects and
backgrounds from other photos than the held-out ones: fruits_nuts' last 4 images by id (the split every
fruits_nuts benchmark uses), the last 3 chess photos and the sharks' valid and test photos are held out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from converters.masks import extreme_points_from_mask, mask_to_polygons, polygons_to_mask

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FRUITS = SHARED / "data" / "fruits_nuts"
HELD_OUT_FRUITS = 4  # fruits_nuts' last images by id, as benchmarks/fruits_split.py holds them out
CLASSES = ("date", "fig", "hazelnut", "board")
SIZE = (640, 480)  # width, height of a scene
SMALLEST, LARGEST = 16, 300  # an object's longer side in pixels, drawn log-uniformly between them


@dataclass(frozen=True)
class Cutout:
    """An object cut out of a photo along its mask: RGB pixels, the mask (0/1) and its class."""
    pixels: np.ndarray
    mask: np.ndarray
    name: str


def fruit_cutouts(part: str) -> list[Cutout]:
    """fruits_nuts' objects cut out along their polygons; `part`: "train" or "held"."""
    data = json.loads((FRUITS / "trainval.json").read_text())
    ids = sorted(im["id"] for im in data["images"])
    keep = set(ids[-HELD_OUT_FRUITS:]) if part == "held" else set(ids[:-HELD_OUT_FRUITS])
    names = {c["id"]: c["name"] for c in data["categories"]}
    images = {im["id"]: im for im in data["images"] if im["id"] in keep}
    out = []
    for ann in data["annotations"]:
        record = images.get(ann["image_id"])
        if record is None or ann.get("iscrowd"):
            continue
        photo = cv2.cvtColor(cv2.imread(str(FRUITS / "images" / record["file_name"])), cv2.COLOR_BGR2RGB)
        mask = polygons_to_mask(ann["segmentation"], record["height"], record["width"])
        ys, xs = np.nonzero(mask)
        if len(xs) < 50:
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        out.append(Cutout(photo[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1].astype(np.uint8), names[ann["category_id"]]))
    return out


def background_photos(part: str) -> list[np.ndarray]:
    """Real photos without any of the classes on them, RGB; `part`: "train" or "held"."""
    chess = sorted((SHARED / "fixtures" / "roboflow" / "chess").glob("*.jpg"))
    sharks = SHARED / "fixtures" / "roboflow" / "sharks-tiny-yolov9"
    berries = SHARED / "fixtures" / "pycococreator" / "example_data" / "images" / "100.jpg"
    if part == "held":
        paths = chess[-3:] + sorted((sharks / "valid" / "images").glob("*.jpg")) + \
            sorted((sharks / "test" / "images").glob("*.jpg"))
    else:
        paths = chess[:-3] + sorted((sharks / "train" / "images").glob("*.jpg")) + [berries]
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]


def board(rng: np.random.Generator, long_side: int) -> Cutout:
    """A circuit board: a coloured rectangle with chips, pads and traces, turned a little."""
    ratio = rng.uniform(1.2, 2.4)
    w, h = long_side, max(8, int(long_side / ratio))
    if rng.random() < 0.5:
        w, h = h, w
    colour = np.array([(30, 110, 50), (25, 60, 130), (150, 30, 30), (20, 20, 20)][rng.integers(4)], np.float32)
    pixels = np.empty((h, w, 3), np.float32)
    pixels[:] = colour * rng.uniform(0.8, 1.2)
    pixels += rng.normal(0, 6, pixels.shape)
    for _ in range(int(rng.integers(2, 9))):  # traces
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = (int(rng.integers(0, w)), y0) if rng.random() < 0.5 else (x0, int(rng.integers(0, h)))
        cv2.line(pixels, (x0, y0), (x1, y1), (190, 160, 60), max(1, long_side // 80))
    for _ in range(int(rng.integers(1, 6))):  # chips
        cw, ch = int(rng.integers(2, max(3, w // 3))), int(rng.integers(2, max(3, h // 3)))
        x, y = int(rng.integers(0, max(1, w - cw))), int(rng.integers(0, max(1, h - ch)))
        cv2.rectangle(pixels, (x, y), (x + cw, y + ch), (25, 25, 25), -1)
    for _ in range(int(rng.integers(0, 12))):  # pads
        cv2.circle(pixels, (int(rng.integers(0, w)), int(rng.integers(0, h))), max(1, long_side // 60),
                   (210, 190, 120), -1)
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    mask = np.ones((h, w), np.uint8)
    angle = rng.uniform(-12, 12)
    return _turned(Cutout(pixels, mask, "board"), angle)


def _turned(cutout: Cutout, angle: float) -> Cutout:
    """The cutout turned by `angle` degrees about its centre, on a canvas that holds it whole."""
    h, w = cutout.mask.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    new_w, new_h = int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos))
    turn[0, 2] += new_w / 2 - w / 2
    turn[1, 2] += new_h / 2 - h / 2
    pixels = cv2.warpAffine(cutout.pixels, turn, (new_w, new_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(cutout.mask, turn, (new_w, new_h), flags=cv2.INTER_NEAREST)
    return Cutout(pixels, mask, cutout.name)


def _scaled(cutout: Cutout, long_side: int, rng: np.random.Generator) -> Cutout:
    """The cutout with its longer side `long_side`, in a quarter turn and a mirror at random, its
    brightness and contrast jittered."""
    pixels, mask = cutout.pixels, cutout.mask
    turns = int(rng.integers(4))
    pixels, mask = np.rot90(pixels, turns), np.rot90(mask, turns)
    if rng.random() < 0.5:
        pixels, mask = pixels[:, ::-1], mask[:, ::-1]
    h, w = mask.shape
    scale = long_side / max(h, w)
    size = (max(2, round(w * scale)), max(2, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    pixels = cv2.resize(np.ascontiguousarray(pixels), size, interpolation=interpolation).astype(np.float32)
    mask = cv2.resize(np.ascontiguousarray(mask), size, interpolation=cv2.INTER_NEAREST)
    pixels = pixels * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)
    return Cutout(np.clip(pixels, 0, 255).astype(np.uint8), mask, cutout.name)


def _background(photos: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A random crop of a random photo, a third of it to all of it, scaled to SIZE, maybe mirrored."""
    photo = photos[int(rng.integers(len(photos)))]
    h, w = photo.shape[:2]
    share = rng.uniform(0.35, 1.0)
    ch, cw = max(8, int(h * share)), max(8, int(min(w, h * share * SIZE[0] / SIZE[1])))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = cv2.resize(photo[y:y + ch, x:x + cw], SIZE, interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(out[:, ::-1]) if rng.random() < 0.5 else out


def _paste(scene: np.ndarray, cutout: Cutout, x: int, y: int) -> np.ndarray:
    """Paste with a one-pixel soft edge, as a camera's edge is; returns the object's mask in the scene."""
    h, w = cutout.mask.shape
    alpha = cv2.GaussianBlur(cutout.mask.astype(np.float32), (3, 3), 0)[:, :, None]
    region = scene[y:y + h, x:x + w].astype(np.float32)
    scene[y:y + h, x:x + w] = (alpha * cutout.pixels + (1 - alpha) * region).astype(np.uint8)
    full = np.zeros(scene.shape[:2], np.uint8)
    full[y:y + h, x:x + w] = cutout.mask
    return full


def _clutter(scene: np.ndarray, photos: list[np.ndarray], rng: np.random.Generator) -> None:
    """An unlabelled blob of another photo's texture: things in a photo that are no class."""
    side = int(rng.integers(20, 140))
    patch = _background(photos, rng)[:side, :side]
    blob = np.zeros((side, side), np.uint8)
    cv2.ellipse(blob, (side // 2, side // 2), (side // 2 - 1, int(rng.integers(side // 5, side // 2))),
                float(rng.uniform(0, 180)), 0, 360, 1, -1)
    x, y = int(rng.integers(0, SIZE[0] - side)), int(rng.integers(0, SIZE[1] - side))
    _paste(scene, Cutout(patch, blob, ""), x, y)


def make_scenes(out: Path, part: str, count: int, seed: int, per_image: tuple[int, int] = (1, 3)) -> Path:
    """`count` scenes into OUT/PART/, and their COCO file OUT/PART.json (polygons, from the masks as the
    objects show after overlaps). Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    fruits, photos = fruit_cutouts(part), background_photos(part)
    by_class = {name: [c for c in fruits if c.name == name] for name in CLASSES[:3]}
    folder = out / part
    folder.mkdir(parents=True, exist_ok=True)
    coco: dict = {"images": [], "annotations": [],
                  "categories": [{"id": k, "name": name} for k, name in enumerate(CLASSES, 1)]}
    for image_id in range(1, count + 1):
        scene = _background(photos, rng)
        for _ in range(int(rng.integers(0, 4))):
            _clutter(scene, photos, rng)
        masks: list[tuple[np.ndarray, str]] = []
        for _ in range(int(rng.integers(per_image[0], per_image[1] + 1))):
            name = CLASSES[int(rng.integers(len(CLASSES)))]
            long_side = int(np.exp(rng.uniform(np.log(SMALLEST), np.log(LARGEST))))
            cutout = board(rng, long_side) if name == "board" else \
                _scaled(by_class[name][int(rng.integers(len(by_class[name])))], long_side, rng)
            h, w = cutout.mask.shape
            if w >= SIZE[0] or h >= SIZE[1]:
                continue
            x, y = int(rng.integers(0, SIZE[0] - w)), int(rng.integers(0, SIZE[1] - h))
            mask = _paste(scene, cutout, x, y)
            kept = []
            for earlier, earlier_name in masks:  # what the new object covers is no longer seen below it
                visible = earlier & (1 - mask)
                if visible.sum() >= 0.5 * earlier.sum():
                    kept.append((visible, earlier_name))
            masks = kept + [(mask, name)]
        scene = cv2.GaussianBlur(scene, (3, 3), 0.6)
        file_name = f"{part}-{image_id:04d}.jpg"
        cv2.imwrite(str(folder / file_name), cv2.cvtColor(scene, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        coco["images"].append({"id": image_id, "file_name": f"{part}/{file_name}", "width": SIZE[0],
                               "height": SIZE[1]})
        for mask, name in masks:
            polygons = [p for p in mask_to_polygons(mask) if len(p) >= 6]
            ys, xs = np.nonzero(mask)
            if not polygons or len(xs) == 0:
                continue
            x0, y0 = float(xs.min()), float(ys.min())
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": CLASSES.index(name) + 1,
                "bbox": [x0, y0, float(xs.max() + 1 - x0), float(ys.max() + 1 - y0)], "area": float(mask.sum()),
                "iscrowd": 0, "segmentation": [list(map(float, p)) for p in polygons],
                "extreme_points": extreme_points_from_mask(mask).to_coco()})
    path = out / f"{part}.json"
    path.write_text(json.dumps(coco))
    return path
