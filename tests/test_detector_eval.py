"""`annotator eval`'s numbers from a detector whose answers the test chooses: pycocotools' AP, and how
far the extreme points lie from the true ones against the sides' midpoints."""
import cv2
import numpy as np
import pytest
import torch

from converters import Annotation, Category, Dataset, ExtremePoints, ImageRecord, UserError
from detectors.detections import Detections
from detectors.detector_eval import evaluate_detector


class Answering:
    """Stands for a trained detector: always finds `detections`."""

    def __init__(self, classes, detections):
        self.classes, self.detections = classes, detections

    def __call__(self, image):
        return self.detections


def test_a_perfect_box_scores_ap_1_and_its_extreme_points_are_measured_along_the_sides(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((100, 200, 3), np.uint8))
    truth = ExtremePoints(top=(30, 10), left=(10, 60), bottom=(80, 90), right=(110, 20))  # box 10,10 - 110,90
    dataset = Dataset(images=[ImageRecord(1, "a.png", 200, 100)], categories=[Category(7, "nut")],
                      annotations=[Annotation.from_extreme(1, 1, 7, truth)])
    found = torch.tensor([[[40.0, 10], [10, 60], [80, 90], [110, 20]]])  # the top point 10 px (10% of 100) off
    detector = Answering(["nut"], Detections(torch.tensor([[10.0, 10, 110, 90]]), torch.tensor([0.9]),
                                             torch.tensor([0]), found))
    scores = evaluate_detector(detector, dataset, tmp_path)
    assert scores["ap50"] == pytest.approx(1.0) and scores["ap"] == pytest.approx(1.0)
    assert scores["extreme_error"] == pytest.approx(0.10 / 4)
    # midpoints (60, 50): top 30/100, left 10/80, bottom 20/100, right 30/80
    assert scores["midpoint_error"] == pytest.approx((0.30 + 0.125 + 0.20 + 0.375) / 4)


def test_extreme_points_are_not_measured_on_a_detection_that_misses_the_object(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((100, 200, 3), np.uint8))
    truth = ExtremePoints(top=(30, 10), left=(10, 60), bottom=(80, 90), right=(110, 20))
    dataset = Dataset(images=[ImageRecord(1, "a.png", 200, 100)], categories=[Category(7, "nut")],
                      annotations=[Annotation.from_extreme(1, 1, 7, truth)])
    elsewhere = torch.tensor([[150.0, 10, 190, 50]])
    detector = Answering(["nut"], Detections(elsewhere, torch.tensor([0.9]), torch.tensor([0]),
                                             torch.tensor([[[170.0, 10], [150, 30], [170, 50], [190, 30]]])))
    scores = evaluate_detector(detector, dataset, tmp_path)
    assert scores["ap50"] == 0 and scores["extreme_error"] is None


def disc_photo(tmp_path) -> tuple[Dataset, Detections]:
    """A bright disc whose true mask is the disc, and a detection with its exact extreme points."""
    photo = np.full((100, 200, 3), 30, np.uint8)
    cv2.circle(photo, (60, 50), 30, (210, 190, 60), -1)
    cv2.imwrite(str(tmp_path / "a.png"), photo)
    disc = np.zeros((100, 200), np.uint8)
    cv2.circle(disc, (60, 50), 30, 1, -1)
    from converters.masks import mask_to_polygons

    truth = Annotation.from_extreme(1, 1, 7, ExtremePoints((60, 20), (30, 50), (60, 80), (90, 50))).with_mask(
        polygons=mask_to_polygons(disc))
    dataset = Dataset(images=[ImageRecord(1, "a.png", 200, 100)], categories=[Category(7, "nut")], annotations=[truth])
    found = Detections(torch.tensor([[30.0, 20, 91, 81]]), torch.tensor([0.9]), torch.tensor([0]),
                       torch.tensor([[[60.0, 20], [30, 50], [60, 81], [91, 50]]]))
    return dataset, found


def test_mask_ap_scores_the_backends_masks_made_from_the_detections_extreme_points(tmp_path):
    dataset, found = disc_photo(tmp_path)
    octagon = evaluate_detector(Answering(["nut"], found), dataset, tmp_path, masks="octagon")
    grabcut = evaluate_detector(Answering(["nut"], found), dataset, tmp_path, masks="grabcut")
    assert octagon["ap50"] == grabcut["ap50"] == pytest.approx(1.0)  # the boxes do not depend on the masks
    assert grabcut["segm_ap"] > octagon["segm_ap"] and grabcut["segm_ap"] >= 0.9
    assert "segm_ap" not in evaluate_detector(Answering(["nut"], found), dataset, tmp_path)


def test_mask_ap_needs_every_true_object_to_have_a_mask(tmp_path):
    dataset, found = disc_photo(tmp_path)
    dataset.annotations[0] = dataset.annotations[0].with_mask()
    with pytest.raises(UserError, match="object 1 on image 1 has no mask"):
        evaluate_detector(Answering(["nut"], found), dataset, tmp_path, masks="octagon")


def test_the_suggestion_threshold_is_where_precision_and_recall_together_are_best():
    from detectors.detector_eval import suggestion_threshold

    # scores best first: right, right, wrong, right, wrong, wrong; 4 true objects
    calls = [(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.3, False), (0.2, False)]
    chosen = suggestion_threshold(calls, 4)
    # at 0.6: 3 right of 4 suggested, 3 of 4 objects: F1 0.75, better than at 0.8 (2/2, 2/4: 0.667)
    assert chosen == {"suggest_score": 0.6, "suggest_precision": 0.75, "suggest_recall": 0.75}
    assert suggestion_threshold([], 4)["suggest_score"] is None
    tied = suggestion_threshold([(0.5, True), (0.5, False), (0.4, True)], 2)  # a threshold takes a whole score
    assert tied["suggest_score"] == 0.4


def test_a_trained_detector_suggests_from_the_score_its_held_out_images_were_best_at(tmp_path):
    from detectors.kinds.sapd import SAPD_KIND
    from detectors.train import Schedule, train
    from tests.test_detector_train import photos

    out = tmp_path / "run"
    config = {"depth": 18, "img_size": 64, "channels": 16, "classes": ["small", "large"]}
    held = {"val_ap50": 0.5, "val_ap": 0.2, "val_suggest_score": 0.42}
    train(SAPD_KIND, photos(tmp_path), out, config, Schedule(epochs=1, batch=2),
          validate=lambda model, config: held, log=lambda line: None)
    assert SAPD_KIND.load(out).min_score == 0.42
