"""The augmentations that let a detector learn from a few hundred photos: mosaics of four photos and
objects pasted from other photos by their masks, with every box, class and extreme point kept true."""
import numpy as np
import pytest
import torch

from detectors.augment import KEPT_SHARE, Cutout, Piece, mosaic, paste
from detectors.detection_data import DetectionSamples, Photo
from tests.samples import blob


def square_piece(colour: int, side: int = 100, box=(30, 20, 70, 60)) -> Piece:
    image = np.full((side, side, 3), 10, np.uint8)
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = colour
    extremes = np.array([[[(x0 + x1) / 2, y0], [x0, (y0 + y1) / 2], [(x0 + x1) / 2, y1], [x1, (y0 + y1) / 2]]],
                        np.float32)
    return Piece(image, np.array([box], np.float32), np.array([colour // 50]), extremes, np.array([True]))


@pytest.mark.parametrize("seed", range(5))
def test_a_mosaic_keeps_every_object_where_its_pixels_are_and_forgets_the_points_of_those_it_cuts(seed):
    rng = np.random.default_rng(seed)
    pieces = [square_piece(colour) for colour in (50, 100, 150, 200)]
    out = mosaic(pieces, 128, np.array([0, 0, 0], np.uint8), rng)
    assert out.image.shape == (128, 128, 3) and len(out.boxes) >= 1
    for box, label, points, known in zip(out.boxes, out.labels, out.extremes, out.known, strict=True):
        x0, y0, x1, y1 = np.round(box).astype(int)
        assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 128
        inside = out.image[y0 + 1:y1 - 1, x0 + 1:x1 - 1, 0]
        assert abs(float(np.median(inside)) - 50 * label) < 30  # the object's own colour lies in its box
        if known:
            assert points[0, 1] == pytest.approx(box[1]) and points[3, 0] == pytest.approx(box[2])
    whole = [k for k, known in enumerate(out.known) if known]
    cut = [k for k, known in enumerate(out.known) if not known]
    for k in cut:  # what is left of a cut object is at least KEPT_SHARE of it
        w, h = out.boxes[k, 2] - out.boxes[k, 0], out.boxes[k, 3] - out.boxes[k, 1]
        assert w * h > 0 and len(whole) + len(cut) <= 4
    assert KEPT_SHARE == 0.25


def test_a_pasted_object_lands_where_nothing_is_with_its_box_and_points_from_its_mask():
    rng = np.random.default_rng(0)
    piece = square_piece(100, side=200, box=(10, 10, 60, 60))
    disc = blob(40, 40, (0, 0, 40, 40)).astype(np.uint8)
    cutout = Cutout(np.full((40, 40, 3), 250, np.uint8), disc, 3)
    out = paste(piece, [cutout, cutout], rng)
    assert len(out.boxes) == 3 and out.labels.tolist()[1:] == [3, 3] and out.known.all()
    for box, points in zip(out.boxes[1:], out.extremes[1:], strict=True):
        x0, y0, x1, y1 = np.round(box).astype(int)
        assert not (x0 < 60 and 10 < x1 and y0 < 60 and 10 < y1)  # clear of the object already there
        assert (out.image[y0:y1, x0:x1, 0] > 200).mean() > 0.5  # the disc's bright pixels fill its box
        assert points[0, 1] == box[1] and points[1, 0] == box[0] and points[2, 1] == box[3] and points[3, 0] == box[2]


def test_augmented_samples_stay_inside_the_square_with_their_points_on_their_boxes(tmp_path):
    import cv2

    photos = []
    for k in range(4):
        image = np.full((120, 160, 3), 20 * k, np.uint8)
        mask = blob(120, 160, (30, 20, 90, 80))
        image[mask > 0] = 200
        cv2.imwrite(str(tmp_path / f"{k}.png"), image)
        outline = [[30.0, 20, 90, 20, 90, 80, 30, 80]]
        photos.append(Photo(tmp_path / f"{k}.png", np.array([[30.0, 20, 90, 80]], np.float32), np.array([k % 2]),
                            np.array([[[60, 20], [30, 50], [60, 80], [90, 50]]], np.float32), outlines=[outline]))
    samples = DetectionSamples(photos, 96, augment="paste")
    for _ in range(20):
        image, target = samples[0]
        assert image.shape == (3, 96, 96)
        assert target.boxes.dtype == target.extremes.dtype == torch.float32  # a mosaic made them float64
        boxes, points = target.boxes, target.extremes
        assert ((boxes >= 0) & (boxes <= 96)).all()
        known = target.known
        assert (points[known][:, :, 0] >= boxes[known][:, None, 0] - 1e-3).all()
        assert (points[known][:, :, 0] <= boxes[known][:, None, 2] + 1e-3).all()
