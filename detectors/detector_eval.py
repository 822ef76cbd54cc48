"""`annotator eval`: a detector's COCO box AP on a labelled COCO file, by pycocotools' own evaluation,
its time per image (decoding included), and how close its extreme points come to the true ones. With
a mask backend, also the mask AP of the masks it makes from each detection's extreme points, as
pre-labelling makes them (ExtremeNet's pipeline: 18.9 mask AP with octagons, 34.6 with DEXTR)."""
from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import numpy as np
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from converters import Annotation, Dataset, Shape, UserError
from converters.images import ImageFolder
from converters.masks import mask_to_rle
from converters.progress import Progress, no_progress

from .detections import Detections
from .images import read_rgb
from .mask_backends import Network, masks_from_extremes
from .ops import box_iou
from .predictor import Predictor


def evaluate_detector(predictor: Predictor, dataset: Dataset, image_root: Path, progress: Progress = no_progress,
                      masks: str | None = None, network: Network | None = None) -> dict[str, float]:
    """`masks`: the mask backend (`network`: its weights, if it needs them) whose masks score segm_ap
    and segm_ap50; every true object then needs a mask."""
    names = {c.id: c.name for c in dataset.categories}
    unknown = sorted(set(names.values()) - set(predictor.classes))
    if unknown:
        raise UserError(f"the model does not know the categories {', '.join(unknown)} "
                        f"(it knows {', '.join(predictor.classes)})")
    class_to_category = {predictor.classes.index(name): cid for cid, name in names.items()}
    truth = {"images": [{"id": im.id, "width": im.width, "height": im.height} for im in dataset.images],
             "categories": [{"id": c.id, "name": c.name} for c in dataset.categories],
             "annotations": [{"id": k, "image_id": a.image_id, "category_id": a.category_id,
                              "bbox": a.box.to_list(), "area": a.box.area, "iscrowd": int(a.iscrowd)}
                             for k, a in enumerate(dataset.annotations, 1) if a.shape is Shape.REGION]}
    if masks is not None:
        _add_true_masks(truth, dataset)
    folder = ImageFolder(image_root)
    by_image = dataset.annotations_by_image()
    found, seconds, point_errors = [], [], []
    calls: list[tuple[float, bool]] = []  # each suggestion's score and whether it is right
    segments: list[dict] = []
    progress(0, len(dataset.images))
    for done, record in enumerate(dataset.images, 1):
        path = folder.require(record.file_name)
        image = read_rgb(path)
        start = time.perf_counter()
        detections = predictor(image)
        seconds.append(time.perf_counter() - start)
        for box, score, label in zip(detections.boxes.tolist(), detections.scores.tolist(), detections.labels.tolist(),
                                     strict=True):
            if label in class_to_category:
                found.append({"image_id": record.id, "category_id": class_to_category[label], "score": score,
                              "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
        point_errors += _extreme_errors(detections, by_image.get(record.id, []), class_to_category)
        calls += _suggestions_judged(detections.suggestible(0.0), by_image.get(record.id, []), class_to_category)
        if masks is not None:
            segments += _masks_found(image, record.id, detections, class_to_category, masks, network)
        progress(done, len(dataset.images))
    ap = _coco_ap(truth, found, "bbox")
    if masks is not None:
        ap.update({f"segm_{key}": value for key, value in _coco_ap(truth, segments, "segm").items()})
    errors = np.array(point_errors).reshape(-1, 2)
    objects = sum(1 for a in dataset.annotations if a.shape is Shape.REGION and not a.iscrowd)
    return {**ap, **suggestion_threshold(calls, objects), "images": len(dataset.images),
            "ms_per_image": 1000 * float(np.median(seconds)) if seconds else 0.0,
            "extreme_error": float(errors[:, 0].mean()) if len(errors) else None,
            "midpoint_error": float(errors[:, 1].mean()) if len(errors) else None}


def _extreme_errors(detections: Detections, truths: list[Annotation],
                    class_to_category: dict[int, int]) -> list[tuple[float, float]]:
    """For each true object with extreme points, the best-scoring detection of its category that
    overlaps it by IoU >= 0.5: how far its four extreme points lie from the true ones along the box
    sides, as a share of the side, and how far the sides' midpoints would lie (what a detector that
    learned nothing about extreme points gives), both averaged over the four points."""
    truths = [t for t in truths if t.extreme is not None and t.shape is Shape.REGION]
    if not truths:
        return []
    overlaps = box_iou(detections.boxes, torch.tensor([[t.box.x, t.box.y, t.box.x + t.box.w, t.box.y + t.box.h]
                                                       for t in truths])).tolist()  # detections x truths
    categories = [class_to_category.get(label) for label in detections.labels.tolist()]
    scores, boxes, extremes = detections.scores.tolist(), detections.boxes.tolist(), detections.extremes.tolist()
    out = []
    for j, truth in enumerate(truths):
        candidates = [k for k, category in enumerate(categories)
                      if category == truth.category_id and overlaps[k][j] >= 0.5]
        if not candidates:
            continue
        best = max(candidates, key=scores.__getitem__)
        (tx, _), (_, ly), (bx, _), (_, ry) = (truth.extreme.top, truth.extreme.left, truth.extreme.bottom,
                                              truth.extreme.right)
        top, left, bottom, right = extremes[best]
        x0, y0, x1, y1 = boxes[best]
        w, h = max(truth.box.w, 1e-6), max(truth.box.h, 1e-6)
        found = (abs(top[0] - tx) / w + abs(left[1] - ly) / h + abs(bottom[0] - bx) / w + abs(right[1] - ry) / h) / 4
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        midpoints = (abs(mx - tx) / w + abs(my - ly) / h + abs(mx - bx) / w + abs(my - ry) / h) / 4
        out.append((found, midpoints))
    return out


def _suggestions_judged(suggestions: Detections, truths: list[Annotation],
                        class_to_category: dict[int, int]) -> list[tuple[float, bool]]:
    """Each suggestion's score and whether a person would accept it as it is: it overlaps a true object
    of its category not yet taken by a better one by IoU >= 0.5 (as AP50 counts)."""
    truths = [t for t in truths if t.shape is Shape.REGION and not t.iscrowd]
    if not len(suggestions.scores):
        return []
    if not truths:
        return [(score, False) for score in suggestions.scores.tolist()]
    overlaps = box_iou(suggestions.boxes, torch.tensor([[t.box.x, t.box.y, t.box.x + t.box.w, t.box.y + t.box.h]
                                                        for t in truths])).tolist()
    taken: set[int] = set()
    out = []
    for k, (score, label) in enumerate(zip(suggestions.scores.tolist(), suggestions.labels.tolist(), strict=True)):
        category = class_to_category.get(label)
        free = [j for j, t in enumerate(truths)
                if j not in taken and t.category_id == category and overlaps[k][j] >= 0.5]
        best = max(free, key=lambda j: overlaps[k][j], default=None)
        if best is not None:
            taken.add(best)
        out.append((score, best is not None))
    return out


def suggestion_threshold(calls: list[tuple[float, bool]], objects: int) -> dict[str, float | None]:
    """The minimum score at which the suggestions' F1 (precision against recall of the true objects) is
    highest, and the precision and recall there: pre-labelling's default, so that a weak model's
    suggestions do not flood the image and a strong one's are not held back."""
    if not calls or not objects:
        return {"suggest_score": None, "suggest_precision": None, "suggest_recall": None}
    calls = sorted(calls, key=lambda c: -c[0])
    right = np.cumsum([c[1] for c in calls])
    precision = right / np.arange(1, len(calls) + 1)
    recall = right / objects
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    last_of_score = np.append(np.diff([c[0] for c in calls]) != 0, True)  # a threshold takes all of one score
    best = int(np.argmax(np.where(last_of_score, f1, -1)))
    return {"suggest_score": calls[best][0], "suggest_precision": float(precision[best]),
            "suggest_recall": float(recall[best])}


def _add_true_masks(truth: dict, dataset: Dataset) -> None:
    """Each true object's mask, as COCO RLE, into `truth`; one without a mask is refused, naming it."""
    sizes = {im.id: (im.height, im.width) for im in dataset.images}
    regions = [a for a in dataset.annotations if a.shape is Shape.REGION]
    for entry, ann in zip(truth["annotations"], regions, strict=True):
        rle = ann.mask_rle(*sizes[ann.image_id])
        if rle is None:
            raise UserError(f"object {ann.id} on image {ann.image_id} has no mask: mask AP needs every object's")
        entry["segmentation"] = rle


def _masks_found(image: np.ndarray, image_id: int, detections: Detections, class_to_category: dict[int, int],
                 backend: str, network: Network | None) -> list[dict]:
    """The backend's mask of every detection of a known category, from its extreme points, as results
    for pycocotools (a detection without width or height has no mask, and is left out)."""
    labels = detections.labels.tolist()
    kept = [(k, points) for k, points in enumerate(detections.extreme_points())
            if points is not None and labels[k] in class_to_category]
    made = masks_from_extremes(image, [points for _, points in kept], backend, network)
    return [{"image_id": image_id, "category_id": class_to_category[labels[k]],
             "score": float(detections.scores[k]), "segmentation": mask_to_rle(m.mask)}
            for (k, _), m in zip(kept, made, strict=True)]


def _coco_ap(truth: dict, found: list[dict], kind: str) -> dict[str, float]:
    """pycocotools' AP, AP50 and AP75 of `found` against `truth`, for boxes ("bbox") or masks ("segm")."""
    if not found:
        return {"ap": 0.0, "ap50": 0.0, "ap75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its tables
        gt = COCO()
        gt.dataset = truth
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(found), kind)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {"ap": float(evaluation.stats[0]), "ap50": float(evaluation.stats[1]), "ap75": float(evaluation.stats[2])}
