"""`annotator eval`: a detector's COCO box AP on a labelled COCO file, by pycocotools' own evaluation,
and its time per image (decoding included)."""
from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from converters import Dataset, Shape, UserError
from converters.images import ImageFolder
from converters.progress import Progress, no_progress
from detectors.images import read_rgb
from detectors.predictor import Predictor


def evaluate_detector(predictor: Predictor, dataset: Dataset, image_root: Path,
                      progress: Progress = no_progress) -> dict[str, float]:
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
    folder = ImageFolder(image_root)
    found, seconds = [], []
    progress(0, len(dataset.images))
    for done, record in enumerate(dataset.images, 1):
        path = folder.require(record.file_name)
        image = read_rgb(path)
        start = time.perf_counter()
        detections = predictor(image)
        seconds.append(time.perf_counter() - start)
        for box, score, label in zip(detections.boxes.tolist(), detections.scores.tolist(), detections.labels.tolist()):
            if label in class_to_category:
                found.append({"image_id": record.id, "category_id": class_to_category[label], "score": score,
                              "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
        progress(done, len(dataset.images))
    ap = _coco_ap(truth, found)
    return {**ap, "images": len(dataset.images), "ms_per_image": 1000 * float(np.median(seconds)) if seconds else 0.0}


def _coco_ap(truth: dict, found: list[dict]) -> dict[str, float]:
    if not found:
        return {"ap": 0.0, "ap50": 0.0, "ap75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its tables
        gt = COCO()
        gt.dataset = truth
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(found), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {"ap": float(evaluation.stats[0]), "ap50": float(evaluation.stats[1]), "ap75": float(evaluation.stats[2])}
