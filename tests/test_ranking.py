"""`annotator rank`: the images not yet done ordered by how unsure a detector is, stored for the window."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from annotator.cli import main
from annotator.ranking import FLOOR, confidence, rank, uncertainty
from annotator.store import Project
from converters import Annotation, Box, ImageStatus


def test_uncertainty_is_one_at_the_threshold_and_falls_to_zero_at_both_ends():
    assert uncertainty(np.array([0.3]), 0.3) == pytest.approx(1.0)
    assert uncertainty(np.array([0.65]), 0.3) == pytest.approx(0.5)  # half way from 0.3 to 1
    assert uncertainty(np.array([0.15]), 0.3) == pytest.approx(0.5)
    assert uncertainty(np.array([1.0]), 0.3) == pytest.approx(0.0)
    assert uncertainty(np.array([FLOOR / 2] * 100), 0.3) == 0.0  # the background's faint scores do not count
    assert uncertainty(np.array([0.3, 0.3, 0.99]), 0.3) == pytest.approx(2 + 0.01 / 0.7)  # a sum over detections


def test_confidence_is_the_mean_score_of_what_would_be_suggested():
    assert confidence(np.array([0.9, 0.7, 0.1]), 0.3) == pytest.approx(0.8)
    assert confidence(np.array([0.1]), 0.3) == 0.0


class FakeDetector:
    """Scores by the image's grey level, so that each test image gets known detections."""

    def __init__(self, scores_by_grey, min_score=None):
        self.scores_by_grey = scores_by_grey
        self.min_score = min_score  # the suggestion threshold its training measured, if any
        self.seen = []

    def __call__(self, image, score_threshold):
        grey = int(image[0, 0, 0])
        self.seen.append(grey)
        scores = [s for s in self.scores_by_grey[grey] if s >= score_threshold]
        return SimpleNamespace(scores=torch.tensor(scores, dtype=torch.float32))


@pytest.fixture
def project(tmp_path):
    greys = {"a.png": 10, "b.png": 20, "c.png": 30, "done.png": 40}
    for name, grey in greys.items():
        cv2.imwrite(str(tmp_path / name), np.full((20, 20, 3), grey, np.uint8))
    p = Project.create(tmp_path / "p.sqlite", tmp_path)
    p.add_images([(name, 20, 20) for name in greys])
    p.set_status(4, ImageStatus.DONE)
    yield p
    p.close()


def test_the_most_uncertain_image_ranks_first_and_done_images_are_left_out(project):
    label = project.add_annotation(Annotation(0, 4, project.add_category("x").id, Box(1, 1, 5, 5)))
    detector = FakeDetector({10: [0.99, 0.98], 20: [0.3, 0.35, 0.25], 30: [0.6], 40: [0.3]})
    result = rank(project, detector, "uncertainty", threshold=0.3, model="run")
    assert project.annotations(4) == [label] and project.image(4).status is ImageStatus.DONE  # labels untouched
    assert [name for name, _ in result.ranked] == ["b.png", "c.png", "a.png"]
    assert sorted(detector.seen) == [10, 20, 30]  # the done image is not looked at
    ranks = project.ranks()
    assert set(ranks) == {1, 2, 3} and ranks[2] > ranks[3] > ranks[1]
    assert project.ranked_by() == {"measure": "uncertainty", "model": "run"}


def test_by_default_uncertainty_is_measured_around_the_models_own_suggestion_threshold(project):
    scores = {10: [0.3], 20: [0.6], 30: [0.9], 40: []}
    assert rank(project, FakeDetector(scores), "uncertainty").ranked[0][0] == "a.png"  # 0.3 without one
    assert rank(project, FakeDetector(scores, min_score=0.6), "uncertainty").ranked[0][0] == "b.png"


def test_by_score_the_surest_suggestions_come_first(project):
    detector = FakeDetector({10: [0.99, 0.98], 20: [0.3, 0.35, 0.25], 30: [0.6], 40: []})
    assert [n for n, _ in rank(project, detector, "score").ranked] == ["a.png", "c.png", "b.png"]


def test_a_new_ranking_replaces_the_last(project):
    rank(project, FakeDetector({10: [0.3], 20: [], 30: [], 40: []}), "uncertainty")
    project.set_status(1, ImageStatus.DONE)
    rank(project, None, "random", seed=3)
    assert set(project.ranks()) == {2, 3}


def test_random_order_is_the_same_for_the_same_seed(project):
    first = rank(project, None, "random", seed=1).ranked
    assert rank(project, None, "random", seed=1).ranked == first
    assert [v for _, v in rank(project, None, "random", seed=2).ranked] != [v for _, v in first]


def test_the_command_ranks_at_random_without_a_model_and_refuses_a_measure_that_needs_one(project, capsys):
    path = str(project.path)
    assert main(["rank", path, "--by", "random", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "ranked 3 images not yet done by random" in out and "a.png" in out
    assert main(["rank", path]) == 2
    assert "--by uncertainty needs the detector: --model RUN_DIR" in capsys.readouterr().err
    assert main(["rank", path, "--by", "random", "--threshold", "1.5"]) == 2
