"""Pre-labelling gives each suggestion the mask a mask backend makes from its extreme points, so that
accepting it gives the object's mask, which no backend then makes again."""
import cv2
import numpy as np
import torch

from annotator.masking import needs_mask
from annotator.prelabel import MaskChoice, prelabel
from annotator.store import Project
from converters.masks import mask_iou, polygons_to_mask
from detectors.detections import Detections

#: A bright disc on a dark photo: its extreme points, as a detector that found it would give them.
CENTRE, RADIUS = (60, 50), 25
FOUND = torch.tensor([[[60.0, 25.0], [35.0, 50.0], [60.0, 75.0], [85.0, 50.0]]])


class FindsTheDisc:
    classes = ["disc"]
    size = 50  # the long side its network sees

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
