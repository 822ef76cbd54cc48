"""Pre-labelling gives each suggestion the mask a mask backend makes from its extreme points, so that
accepting it gives the object's mask, which no backend then makes again."""
import cv2
import numpy as np
import pytest
import torch

from annotator.masking import needs_mask
from annotator.prelabel import MaskChoice, prelabel
from annotator.store import Project
from converters import Annotation
from converters.masks import mask_iou, polygons_to_mask
from detectors.detections import Detections

#: A bright disc on a dark photo: its extreme points, as a detector that found it would give them.
CENTRE, RADIUS = (60, 50), 25
FOUND = torch.tensor([[[60.0, 25.0], [35.0, 50.0], [60.0, 75.0], [85.0, 50.0]]])


class FindsTheDisc:
    classes = ["disc"]
    size = 50  # the long side its network sees
    min_score = None  # measured none

    def __init__(self):
        self.seen: list[tuple[tuple[int, ...], tuple[int, int] | None]] = []

    def __call__(self, image: np.ndarray, score_threshold: float = 0.05,
                 original: tuple[int, int] | None = None) -> Detections:
        self.seen.append((image.shape, original))
        return Detections(torch.tensor([[35.0, 25.0, 85.0, 75.0]]), torch.tensor([0.9]), torch.tensor([0]), FOUND)


def project_with_the_disc(tmp_path) -> tuple[Project, np.ndarray]:
    disc = np.zeros((100, 120), np.uint8)
    cv2.circle(disc, CENTRE, RADIUS, 1, -1)
    rng = np.random.default_rng(0)
    photo = np.where(disc[..., None] > 0, 200, 30).astype(np.uint8) + rng.integers(0, 20, (100, 120, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "disc.png"), photo)
    project = Project.create(tmp_path / "p.sqlite", tmp_path)
    project.add_images([("disc.png", 120, 100)])
    return project, disc.astype(bool)


def test_a_suggestion_comes_with_the_chosen_backends_mask_and_keeps_it_when_accepted(tmp_path):
    project, disc = project_with_the_disc(tmp_path)
    with project:
        result = prelabel(project, FindsTheDisc(), "m", masks=MaskChoice("grabcut"))
        [suggestion] = project.suggestions(1)
        assert result.suggestions == 1 and suggestion.attributes["mask_method"] == "grabcut"
        mask = polygons_to_mask(suggestion.polygons, 100, 120).astype(bool)
        octagon = polygons_to_mask([suggestion.extreme.octagon()], 100, 120).astype(bool)
        assert mask_iou(mask, disc) > 0.9 and mask_iou(mask, disc) > mask_iou(octagon, disc)
        label = project.accept_suggestion(suggestion.id)
        assert label.polygons == suggestion.polygons and not needs_mask(label, "grabcut")


def test_without_a_backend_chosen_a_suggestion_gets_the_octagon_which_the_windows_backend_replaces(tmp_path):
    project, _ = project_with_the_disc(tmp_path)
    with project:
        prelabel(project, FindsTheDisc(), "m")
        [suggestion] = project.suggestions(1)
        assert suggestion.attributes["mask_method"] == "octagon"
        assert suggestion.polygons == [suggestion.extreme.octagon()]
        assert needs_mask(project.accept_suggestion(suggestion.id), "grabcut")


def test_with_octagons_the_detector_sees_a_shrunk_decode_and_the_suggestions_stay_in_the_photos_pixels(tmp_path):
    project, _ = project_with_the_disc(tmp_path)
    finds = FindsTheDisc()
    with project:
        prelabel(project, finds, "m")
        assert finds.seen == [((50, 60, 3), (120, 100))]  # 120 px // 2 still covers the 50 the network sees
        prelabel(project, grabcut := FindsTheDisc(), "m2", masks=MaskChoice("grabcut"))
        assert grabcut.seen == [((100, 120, 3), (120, 100))]  # GrabCut follows every pixel of the photo


class FindsMany:
    """A detector that sees the disc three times, under three classes, and 60 specks besides."""
    classes = ["disc", "coin", "moon"]
    size = 120
    min_score = 0.4  # what its training measured

    def __call__(self, image, score_threshold: float = 0.05, original=None) -> Detections:
        disc = [[35.0, 25.0, 85.0, 75.0], [36.0, 25.0, 85.0, 74.0], [35.0, 26.0, 84.0, 75.0]]
        specks = [[x, y, x + 4.0, y + 4.0] for x in range(0, 120, 12) for y in range(80, 98, 3)]
        boxes = torch.tensor(disc + specks)
        scores = torch.tensor([0.9, 0.6, 0.5] + [0.2 + 0.003 * k for k in range(len(specks))])
        labels = torch.tensor([0, 1, 2] + [0] * len(specks))
        extremes = torch.stack([torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 1]], 1),
                                torch.stack([boxes[:, 0], (boxes[:, 1] + boxes[:, 3]) / 2], 1),
                                torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], 1),
                                torch.stack([boxes[:, 2], (boxes[:, 1] + boxes[:, 3]) / 2], 1)], dim=1)
        keep = scores >= score_threshold
        return Detections(boxes[keep], scores[keep], labels[keep], extremes[keep])


def test_one_object_gets_one_suggestion_whatever_its_classes_and_an_image_no_more_than_the_cap(tmp_path):
    project, _ = project_with_the_disc(tmp_path)
    with project:
        result = prelabel(project, FindsMany(), "m", min_score=0.1, limit=20)
        suggestions = project.suggestions(1)
        assert result.suggestions == len(suggestions) == 20
        on_the_disc = [s for s in suggestions if s.box.w > 40]
        assert len(on_the_disc) == 1 and on_the_disc[0].score == pytest.approx(0.9)  # the best class of the three
        assert {c.name for c in project.categories()} == {"disc"}  # the other two were never suggested


def test_without_a_minimum_score_the_model_s_own_is_used(tmp_path):
    project, _ = project_with_the_disc(tmp_path)
    with project:
        result = prelabel(project, FindsMany(), "m")
        assert result.min_score == 0.4 and [s.score for s in project.suggestions(1)] == [pytest.approx(0.9)]


def test_a_lower_minimum_score_does_the_images_again_and_replaces_only_the_models_pending_suggestions(tmp_path):
    project, _ = project_with_the_disc(tmp_path)
    with project:
        prelabel(project, FindsMany(), "m", min_score=0.4)
        [disc] = project.suggestions(1)
        project.reject_suggestion(disc.id)  # the person said no to it
        again = prelabel(project, FindsMany(), "m", min_score=0.4)
        assert again.skipped == 1 and again.images == 0
        lower = prelabel(project, FindsMany(), "m", min_score=0.25)
        assert lower.again == 1 and lower.images == 1 and lower.known == 1  # the rejected disc is not back
        pending = project.suggestions(1)
        assert pending and all(s.score >= 0.25 and s.box.w < 10 for s in pending)
        lowest = prelabel(project, FindsMany(), "m", min_score=0.21)
        assert len(project.suggestions(1)) > len(pending) and lowest.again == 1  # replaced, not added twice
        assert len({(s.box.x, s.box.y) for s in project.suggestions(1)}) == len(project.suggestions(1))
        assert project.prelabelled("m") == {1: 0.21}


def test_an_object_the_person_labelled_is_not_suggested_again(tmp_path):
    from converters import ExtremePoints

    project, _ = project_with_the_disc(tmp_path)
    with project:
        category = project.add_category("disc")
        project.add_annotation(Annotation.from_extreme(0, 1, category.id, ExtremePoints((60, 25), (35, 50),
                                                                                          (60, 75), (85, 50))))
        result = prelabel(project, FindsMany(), "m", min_score=0.4)
        assert result.known == 1 and project.suggestions(1) == []
