"""Small files written by the tests themselves (images, COCO files), covering what real files do."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from converters.masks import mask_to_rle


def image(path: Path, w: int = 40, h: int = 30) -> Path:
    """A plain grey image file of the given size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 128, np.uint8))
    return path


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def tricky_coco() -> dict:
    """Ids from 0, a category with id 0, compressed and uncompressed RLE, a crowd region, an empty
    segmentation (box only), extra fields, and polygons."""
    m = np.zeros((20, 30), np.uint8)
    m[3:9, 4:12] = 1
    rle = mask_to_rle(m)
    crowd = np.zeros((20, 30), np.uint8)
    crowd[10:18, 0:25] = 1
    counts = _uncompressed_counts(crowd)
    return {
        "info": {"description": "made in a test"},
        "licenses": [{"id": 3, "name": "CC0"}],
        "categories": [{"id": 0, "name": "things", "supercategory": "none"},
                       {"id": 7, "name": "cat", "supercategory": "animal"}],
        "images": [{"id": 0, "file_name": "a.png", "width": 30, "height": 20, "license": 3},
                   {"id": 5, "file_name": "sub/b.png", "width": 30, "height": 20}],
        "annotations": [
            {"id": 0, "image_id": 0, "category_id": 7, "bbox": [4, 3, 8, 6], "area": 48, "iscrowd": 0,
             "segmentation": rle},
            {"id": 1, "image_id": 0, "category_id": 0, "bbox": [0, 10, 25, 8], "area": 200, "iscrowd": 1,
             "segmentation": {"size": [20, 30], "counts": counts}},
            {"id": 2, "image_id": 5, "category_id": 7, "bbox": [1.5, 2.25, 10, 5], "area": 50, "iscrowd": 0,
             "segmentation": [], "occluded": True, "attributes": {"colour": "black"}},
            {"id": 3, "image_id": 5, "category_id": 7, "bbox": [10.2, 5.1, 9.6, 9.7], "area": 60, "iscrowd": 0,
             "segmentation": [[10.2, 5.1, 19.8, 5.1, 19.8, 14.8, 10.2, 14.8]]},
        ],
    }


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    flat = np.asfortranarray(mask).ravel(order="F")
    counts, value, run = [], 0, 0
    for v in flat:
        if v == value:
            run += 1
        else:
            counts.append(run)
            value, run = v, 1
    counts.append(run)
    return [int(c) for c in counts]


def object_photo(mask: np.ndarray, seed: int = 0) -> np.ndarray:
    """An RGB photo of one object: `mask` in a noisy warm colour on a noisy, striped cool background,
    blurred a little so that its edges are soft, as a camera's are."""
    rng = np.random.default_rng(seed)
    h, w = mask.shape
    stripes = (np.arange(w)[None, :] // 6 % 2 * 25).astype(np.float32)
    background = np.stack([np.full((h, w), 90.0), np.broadcast_to(120 + stripes, (h, w)), np.full((h, w), 150.0)],
                          axis=2)
    photo = np.where(mask[:, :, None], np.array([170.0, 70.0, 50.0]), background)
    photo += rng.normal(0, 12, photo.shape)
    return cv2.GaussianBlur(np.clip(photo, 0, 255).astype(np.uint8), (3, 3), 0)


def blob(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A filled ellipse with a notch, inside box (x0, y0, x1, y1): a non-convex object."""
    x0, y0, x1, y1 = box
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2), 20, 0, 360, 1, -1)
    cv2.circle(mask, (x1 - (x1 - x0) // 6, y0 + (y1 - y0) // 5), (x1 - x0) // 7, 0, -1)
    return mask.astype(bool)


def blob_photos(folder: Path, count: int = 2) -> Path:
    """`count` photos of one blob each in `folder`, and their COCO file with the blobs' outlines."""
    from converters.masks import extreme_points_from_mask, mask_to_polygons

    boxes = [(10, 10, 90, 100), (60, 20, 150, 110), (30, 30, 120, 90), (5, 40, 70, 115)]
    truth = [blob(120, 160, boxes[k % len(boxes)]) for k in range(count)]
    for k, t in enumerate(truth):
        cv2.imwrite(str(folder / f"{k}.png"), cv2.cvtColor(object_photo(t, seed=k), cv2.COLOR_RGB2BGR))
    coco = {"images": [{"id": k, "file_name": f"{k}.png", "width": 160, "height": 120} for k in range(count)],
            "categories": [{"id": 1, "name": "blob"}],
            "annotations": [{"id": k + 1, "image_id": k, "category_id": 1, "iscrowd": 0,
                             "bbox": extreme_points_from_mask(t).box.to_list(), "segmentation": mask_to_polygons(t)}
                            for k, t in enumerate(truth)]}
    return write_json(folder / "gt.json", coco)


SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "sample"


def sample_statuses(tmp_path: Path, *statuses) -> tuple[Path, list]:
    """The bundled sample imported into a new project file, its images given `statuses` in order (an
    ImageStatus, or a (status, reason) pair); the file and its images."""
    from annotator.cli import main
    from annotator.store import Project

    path = tmp_path / "p.sqlite"
    assert main(["import", "--from", "coco", str(SAMPLE / "labels.json"), "--images", str(SAMPLE / "images"),
                 "--project", str(path)]) == 0
    with Project.open(path) as p:
        images = p.images()
        for image, status in zip(images, statuses, strict=False):
            p.set_status(image.id, *(status if isinstance(status, tuple) else (status,)))
    return path, images
