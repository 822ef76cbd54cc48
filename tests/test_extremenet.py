"""ExtremeNet: the network's outputs, its targets, its loss, and decoding (alone and as the kind's predictor)
that reads the targets back."""
import numpy as np
import pytest
import torch

from detectors.extremenet import STRIDE, ExtremeNet, ExtremeOutputs, decode, extreme_loss, extreme_targets
from detectors.kinds.extremenet import EXTREMENET

# two objects on a 128x128 image: (top, left, bottom, right) as (x, y)
EXTREMES = torch.tensor([[[40.0, 10.0], [12.0, 30.0], [30.0, 62.0], [70.0, 41.0]],
                         [[99.0, 70.0], [81.0, 90.0], [95.0, 121.0], [118.0, 99.0]]])
CLASSES = torch.tensor([0, 2])


def test_the_network_gives_five_heat_maps_per_class_and_four_offsets_at_stride_4():
    out = ExtremeNet(num_classes=3, depth=18).eval()(torch.rand(2, 3, 128, 128))
    assert out.heat.shape == (2, 5, 3, 32, 32) and out.offsets.shape == (2, 4, 2, 32, 32)
    assert 0.05 < out.heat.sigmoid().mean() < 0.2  # the bias's first guess, 0.1


def test_the_targets_peak_at_each_point_on_its_class_map_and_keep_where_in_the_cell_it_lies():
    t = extreme_targets(EXTREMES, CLASSES, (128, 128), num_classes=3)
    for n, cls in enumerate(CLASSES.tolist()):
        for j in range(4):
            x, y = t.cells[n, j].tolist()
            assert t.heat[j, cls, y, x] == 1
    assert t.heat[:, 1].max() == 0  # no object of class 1
    assert t.heat[4, 0, (10 + 62) // 2 // STRIDE, (12 + 70) // 2 // STRIDE] == 1  # the box centre
    assert torch.allclose(t.cells * STRIDE + t.offsets * STRIDE, EXTREMES)


def perfect_outputs() -> ExtremeOutputs:
    """What a network that learned EXTREMES on a 128 x 128 input would answer: its targets."""
    t = extreme_targets(EXTREMES, CLASSES, (128, 128), num_classes=3)
    offsets = torch.zeros(4, 2, 32, 32)
    for n in range(2):
        for j in range(4):
            x, y = t.cells[n, j].tolist()
            offsets[j, :, y, x] = t.offsets[n, j]
    return ExtremeOutputs(torch.logit(t.heat.clamp(1e-4, 1 - 1e-4))[None], offsets[None])


def best_two(found) -> tuple[list[int], torch.Tensor]:
    best = found.scores.argsort(descending=True)[:2]
    pairs = sorted(zip(found.labels[best].tolist(), found.extremes[best].tolist(), strict=True))
    return [c for c, _ in pairs], torch.tensor([e for _, e in pairs])


def test_decoding_the_targets_gives_back_the_objects():
    outputs = perfect_outputs()
    found = decode(outputs.heat[0], outputs.offsets[0])
    classes, extremes = best_two(found)
    assert classes == [0, 2] and torch.allclose(extremes, EXTREMES, atol=1e-4)
    assert torch.equal(found.boxes[:, 0], found.extremes[:, 1, 0]) and torch.equal(found.boxes[:, 3],
                                                                                    found.extremes[:, 2, 1])


def test_the_predictor_gives_the_objects_in_the_photos_pixels():
    class Answering(torch.nn.Module):
        def forward(self, images):
            assert images.shape == (1, 3, 128, 128)
            return perfect_outputs()

    predictor = EXTREMENET.predictor(Answering(), {"classes": ["a", "b", "c"], "img_size": 128}, "cpu")
    found = predictor(np.zeros((256, 256, 3), np.uint8))  # scaled by 1/2 to the network's 128
    classes, extremes = best_two(found)
    assert classes == [0, 2] and torch.allclose(extremes, EXTREMES * 2, atol=1e-3)
    assert (found.scores <= 1).all()  # a probability, whatever edge aggregation added to the maps
    above = float(found.scores.max()) + 1e-6
    assert predictor(np.zeros((256, 256, 3), np.uint8), score_threshold=above).scores.numel() == 0


def test_a_few_steps_on_one_image_bring_the_loss_down():
    torch.manual_seed(0)
    model = ExtremeNet(num_classes=3, depth=18)
    image = torch.rand(1, 3, 128, 128)
    targets = [extreme_targets(EXTREMES, CLASSES, (128, 128), num_classes=3)]
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        parts = extreme_loss(model(image), targets)
        loss = parts["heat"] + parts["offsets"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_a_box_only_object_teaches_its_centre_and_nothing_where_its_extreme_points_would_be():
    known = torch.tensor([True, False])
    t = extreme_targets(EXTREMES, CLASSES, (128, 128), num_classes=3, known=known)
    assert t.heat[:4, 2].max() == 0  # no extreme peak of the box-only object (class 2)
    assert t.heat[4, 2].max() == 1  # its centre is drawn
    (_, top), (left, _), (_, bottom), (right, _) = t.cells[1].tolist()
    assert t.ignored[0, 2, top, left:right + 1].all() and t.ignored[2, 2, bottom, left:right + 1].all()
    assert t.ignored[1, 2, top:bottom + 1, left].all() and t.ignored[3, 2, top:bottom + 1, right].all()
    assert not t.ignored[:, 0].any()  # the object with points: nothing ignored
    torch.manual_seed(0)
    outputs = ExtremeOutputs(torch.randn(1, 5, 3, 32, 32), torch.randn(1, 4, 2, 32, 32))
    base = extreme_loss(outputs, [t])
    moved = ExtremeOutputs(outputs.heat.clone(), outputs.offsets.clone())
    moved.heat[0, 0, 2, top, left:right + 1] += 5  # whatever it says along the box-only object's top side
    moved.offsets[0, :, :, bottom, left:right + 1] += 3  # and its offsets there
    again = extreme_loss(moved, [t])
    assert again["heat"].item() == base["heat"].item() and again["offsets"].item() == base["offsets"].item()


def test_each_heat_map_is_normalised_by_its_own_peaks_and_the_offsets_by_the_objects():
    """The reference sums five focal losses, each over its own map's peaks, and four offset losses,
    each over the objects."""
    from detectors.extreme_heatmaps import focal_loss

    t = extreme_targets(EXTREMES, CLASSES, (128, 128), num_classes=3)
    torch.manual_seed(0)
    outputs = ExtremeOutputs(torch.randn(1, 5, 3, 32, 32), torch.randn(1, 4, 2, 32, 32))
    parts = extreme_loss(outputs, [t])
    per_map = sum(focal_loss(outputs.heat[:, m], t.heat[None, m]) for m in range(5))
    assert parts["heat"].item() == pytest.approx(float(per_map), rel=1e-5)
    assert all((t.heat[m] == 1).sum() == 2 for m in range(5))  # two objects: two peaks on each map
    offsets = sum(torch.nn.functional.smooth_l1_loss(outputs.offsets[0, j, :, t.cells[n, j, 1], t.cells[n, j, 0]],
                                                     t.offsets[n, j], reduction="sum")
                  for n in range(2) for j in range(4)) / 2
    assert parts["offsets"].item() == pytest.approx(float(offsets), rel=1e-5)


def test_ghost_suppression_runs_per_class_after_soft_nms():
    """A large box over three of another class keeps its score; over three of its own class it is
    halved (after soft-NMS has decayed it a little). Soft-NMS runs first, so duplicates of an inner box
    are decayed before they count."""
    import math

    from detectors.extremenet import suppress

    def extremes_of(box):
        x0, y0, x1, y1 = box
        return [[(x0 + x1) / 2, y0], [x0, (y0 + y1) / 2], [(x0 + x1) / 2, y1], [x1, (y0 + y1) / 2]]

    def score_of_first(boxes, scores, classes):
        kept, new = suppress(torch.tensor([extremes_of(b) for b in boxes], dtype=torch.float32),
                             torch.tensor(scores), torch.tensor(classes))
        assert new.tolist() == sorted(new.tolist(), reverse=True)
        return dict(zip(kept.tolist(), new.tolist(), strict=True))[0]
    big, inner = [0, 0, 90, 30], [[0, 0, 30, 30], [30, 0, 60, 30], [60, 0, 90, 30]]  # each inner: IoU 1/3
    decay = math.exp(-(1 / 3) ** 2 / 0.5)  # soft-NMS's, per inner box kept before it
    assert score_of_first([big, *inner], [0.5, 0.6, 0.6, 0.6], [0, 1, 1, 1]) == pytest.approx(0.5)
    assert score_of_first([big, *inner], [0.5, 0.6, 0.6, 0.6], [0, 0, 0, 0]) == pytest.approx(0.5 * decay ** 3 / 2)
    # one inner box and two duplicates of it: 0.4 x 3 > 3 x 0.35 before soft-NMS, not after it
    assert score_of_first([big, inner[0], inner[0], inner[0]], [0.35, 0.4, 0.4, 0.4], [0, 0, 0, 0]) == \
        pytest.approx(0.35 * decay)


def test_a_box_only_object_grabcut_cannot_find_keeps_its_sides_midpoints_and_is_learnt(tmp_path):
    """Left without points, an object is never learnt and is a miss on every held-out photo like it."""
    import cv2

    from detectors.detection_data import Photo, guess_extremes

    cv2.imwrite(str(tmp_path / "flat.png"), np.full((80, 100, 3), 128, np.uint8))  # nothing to tell apart
    box = np.array([[20, 10, 60, 50]], np.float32)
    middles = np.array([[[40, 10], [20, 30], [40, 50], [60, 30]]], np.float32)
    photo = Photo(tmp_path / "flat.png", box, np.array([0]), middles.copy(), np.array([False]))
    assert guess_extremes([photo]) == 1
    assert photo.known.all() and np.array_equal(photo.extremes, middles)


def box_only_blobs(tmp_path):
    """Photos of one blob each, labelled with boxes only (as VOC and YOLO give them), and the blobs' true
    extreme points."""
    import json

    from converters.formats import read_dataset
    from converters.masks import extreme_points_from_polygons
    from tests.samples import blob_photos

    coco = json.loads(blob_photos(tmp_path, 4).read_text())
    truth = [extreme_points_from_polygons(a["segmentation"]) for a in coco["annotations"]]
    for a in coco["annotations"]:
        a["segmentation"] = []
    (tmp_path / "boxes.json").write_text(json.dumps(coco))
    loaded = read_dataset(tmp_path / "boxes.json", "coco", tmp_path, extremes=True)
    assert all(a.extreme is None for a in loaded.dataset.annotations)
    photos, keys = EXTREMENET.training_set(loaded.dataset, tmp_path)
    return photos, {**EXTREMENET.new_config(18), **keys}, truth


def test_box_only_objects_train_extremenet_with_their_sides_midpoints_by_default(tmp_path):
    """ExtremeNet's boxes come from its extreme points alone: left without points, a box-only object
    would be learnt nowhere and missed on every held-out photo."""
    photos, config, _ = box_only_blobs(tmp_path)
    assert EXTREMENET.described(photos, config) == "4 images, 1 classes, 4 box-only objects with extreme points " \
                                                  "from the sides' midpoints"
    EXTREMENET.training_data(photos, config)
    for photo in photos:
        x0, y0, x1, y1 = photo.boxes[0]
        middles = [[(x0 + x1) / 2, y0], [x0, (y0 + y1) / 2], [(x0 + x1) / 2, y1], [x1, (y0 + y1) / 2]]
        assert photo.known.all() and np.allclose(photo.extremes[0], middles)


def test_box_only_objects_get_extreme_points_from_grabcut_in_their_boxes_when_asked(tmp_path):
    """`--box-points grabcut`: points on the object, closer to its true extreme points than the midpoints."""
    photos, config, truth = box_only_blobs(tmp_path)
    config["box_points"] = "grabcut"
    assert EXTREMENET.described(photos, config).endswith(
        "4 box-only objects with extreme points from GrabCut in their boxes, else the sides' midpoints")
    EXTREMENET.training_data(photos, config)
    assert all(p.known.all() for p in photos)
    errors, midpoint_errors = [], []
    for photo, points in zip(photos, truth, strict=True):
        x0, y0, x1, y1 = photo.boxes[0]
        w, h = x1 - x0, y1 - y0
        true = [points.top[0] / w, points.left[1] / h, points.bottom[0] / w, points.right[1] / h]
        got = photo.extremes[0]
        errors += [abs(got[0, 0] / w - true[0]), abs(got[1, 1] / h - true[1]), abs(got[2, 0] / w - true[2]),
                   abs(got[3, 1] / h - true[3])]
        middle = [(x0 + x1) / 2 / w, (y0 + y1) / 2 / h] * 2
        midpoint_errors += [abs(m - t) for m, t in zip(middle, true, strict=True)]
    assert np.mean(errors) < 0.5 * np.mean(midpoint_errors)  # closer to the truth than the sides' middles
