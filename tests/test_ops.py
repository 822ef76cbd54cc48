"""Plain-torch box operations against brute-force references written from their definitions."""
import math

import pytest
import torch

from detectors.ops import (
    batched_nms,
    batched_soft_nms,
    box_iou,
    iou_loss,
    nms,
    roi_align,
    sigmoid_focal_loss,
    soft_nms,
    suppress_ghosts,
)


def iou_by_hand(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def greedy_nms_by_hand(boxes, scores, threshold) -> list[int]:
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    keep: list[int] = []
    for i in order:
        if all(iou_by_hand(boxes[i], boxes[k]) <= threshold for k in keep):
            keep.append(i)
    return keep


def random_boxes(generator, n: int) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=generator) * 50
    wh = torch.rand(n, 2, generator=generator) * 30 + 1
    return torch.cat([xy, xy + wh], dim=1)


@pytest.mark.parametrize("seed", range(10))
def test_nms_keeps_what_greedy_suppression_by_hand_keeps(seed):
    g = torch.Generator().manual_seed(seed)
    boxes, scores = random_boxes(g, 40), torch.rand(40, generator=g)
    expected = greedy_nms_by_hand(boxes.tolist(), scores.tolist(), 0.5)
    assert nms(boxes, scores, 0.5).tolist() == expected
    assert nms(boxes, scores, 0.5, limit=3).tolist() == expected[:3]
    assert box_iou(boxes[:3], boxes[3:5])[2, 1].item() == pytest.approx(iou_by_hand(boxes[2].tolist(),
                                                                                     boxes[4].tolist()), abs=1e-6)


def test_nms_per_class_never_lets_one_class_suppress_another():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert sorted(batched_nms(boxes, scores, torch.tensor([0, 0, 1]), 0.5).tolist()) == [0, 2]
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).numel() == 0


def roi_align_by_hand(features, box, size, scale, ratio) -> torch.Tensor:
    """One box, loops over cells and samples; bilinear with zeros beyond one pixel outside."""
    c, h, w = features.shape
    x0, y0, x1, y1 = [v * scale - 0.5 for v in box]
    out = torch.zeros(c, size, size, dtype=torch.float64)

    def pixel(y: int, x: int) -> torch.Tensor:
        return features[:, min(max(y, 0), h - 1), min(max(x, 0), w - 1)].double()

    for i in range(size):
        for j in range(size):
            total = torch.zeros(c, dtype=torch.float64)
            for a in range(ratio):
                for b in range(ratio):
                    y = y0 + (y1 - y0) * (i * ratio + a + 0.5) / (size * ratio)
                    x = x0 + (x1 - x0) * (j * ratio + b + 0.5) / (size * ratio)
                    if not (-1 < y < h and -1 < x < w):
                        continue
                    y, x = min(max(y, 0), h - 1), min(max(x, 0), w - 1)
                    fy, fx = math.floor(y), math.floor(x)
                    dy, dx = y - fy, x - fx
                    total += (pixel(fy, fx) * (1 - dy) * (1 - dx) + pixel(fy, fx + 1) * (1 - dy) * dx
                              + pixel(fy + 1, fx) * dy * (1 - dx) + pixel(fy + 1, fx + 1) * dy * dx)
            out[:, i, j] = total / ratio ** 2
    return out


@pytest.mark.parametrize("seed", range(4))
def test_roi_align_matches_the_definition_sample_by_sample(seed):
    g = torch.Generator().manual_seed(seed)
    features = torch.rand(2, 3, 9, 11, generator=g, dtype=torch.float64)
    boxes = torch.tensor([[3.0, 2.0, 30.0, 25.0], [-6.0, 10.0, 50.0, 40.0], [10.0, 8.0, 12.0, 9.5]],
                         dtype=torch.float64)
    batch = torch.tensor([0, 1, 1])
    got = roi_align(features, boxes, batch, output_size=3, spatial_scale=0.25, sampling_ratio=2)
    for k in range(3):
        expected = roi_align_by_hand(features[batch[k]], boxes[k].tolist(), 3, 0.25, 2)
        assert torch.allclose(got[k], expected, atol=1e-9)


def test_roi_align_of_a_ramp_reads_the_cell_centres():
    ramp = torch.arange(16.0).repeat(16, 1)[None, None]  # value = x
    cells = roi_align(ramp, torch.tensor([[4.0, 4.0, 12.0, 12.0]]), torch.tensor([0]), 4, 1.0, 2)
    assert torch.allclose(cells[0, 0, 0], torch.tensor([4.5, 6.5, 8.5, 10.5]))


def test_the_iou_loss_is_minus_log_iou_and_the_focal_loss_spares_easy_negatives():
    assert iou_loss(torch.tensor([2.0, 2, 2, 2]), torch.tensor([2.0, 2, 2, 2])).item() == pytest.approx(0, abs=1e-6)
    # a 4 x 4 box against a 2 x 4 box inside it: IoU 0.5
    assert iou_loss(torch.tensor([2.0, 2, 2, 2]), torch.tensor([0.0, 2, 2, 2])).item() == pytest.approx(math.log(2))
    easy = sigmoid_focal_loss(torch.tensor([-5.0]), torch.tensor([0.0])).item()
    hard = sigmoid_focal_loss(torch.tensor([5.0]), torch.tensor([0.0])).item()
    assert easy < 1e-4 < hard


def soft_nms_by_hand(boxes, scores, sigma, floor):
    scores, standing, kept = list(scores), list(range(len(scores))), []
    while standing:
        best = max(standing, key=lambda i: scores[i])
        standing.remove(best)
        kept.append((best, scores[best]))
        for i in standing:
            scores[i] *= math.exp(-iou_by_hand(boxes[best], boxes[i]) ** 2 / sigma)
        standing = [i for i in standing if scores[i] >= floor]
    return kept


@pytest.mark.parametrize("seed", range(10))
def test_soft_nms_decays_what_overlaps_the_best_as_gaussian_soft_nms_by_hand_does(seed):
    g = torch.Generator().manual_seed(seed)
    boxes, scores = random_boxes(g, 30), torch.rand(30, generator=g)
    expected = soft_nms_by_hand(boxes.tolist(), scores.tolist(), 0.5, 0.05)
    kept, new_scores = soft_nms(boxes, scores, 0.5, 0.05)
    assert kept.tolist() == [i for i, _ in expected]
    assert new_scores.tolist() == pytest.approx([s for _, s in expected], abs=1e-5)


def test_soft_nms_keeps_an_overlapping_box_with_less_and_leaves_other_classes_alone():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]])
    kept, scores = batched_soft_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 1]))
    assert kept.tolist() == [0, 2, 1]
    assert scores.tolist() == pytest.approx([0.9, 0.7, 0.8 * math.exp(-1 / 0.5)])


def test_a_box_holding_boxes_that_outscore_it_three_times_is_halved():
    big = [0.0, 0, 30, 10]
    three = [[0.0, 0, 10, 10], [10, 0, 20, 10], [20, 0, 30, 10]]
    same = torch.zeros(4, dtype=torch.long)
    scores = suppress_ghosts(torch.tensor([big, *three]), torch.tensor([0.3, 0.4, 0.4, 0.4]), same)
    assert scores.tolist() == pytest.approx([0.15, 0.4, 0.4, 0.4])
    one = suppress_ghosts(torch.tensor([big, three[0]]), torch.tensor([0.3, 0.4]), same[:2])
    assert one.tolist() == pytest.approx([0.3, 0.4])


def test_ghost_suppression_counts_the_box_itself_and_only_boxes_of_its_own_class():
    """The reference sums the scores of the boxes inside, itself among them, against 3 times its own."""
    big, inner = [0.0, 0, 30, 10], [[0.0, 0, 10, 10], [10, 0, 20, 10]]
    boxes = torch.tensor([big, *inner])
    # 0.3 + 0.35 + 0.35 = 1.0 > 0.9 with the box itself; 0.7 < 0.9 without it
    halved = suppress_ghosts(boxes, torch.tensor([0.3, 0.35, 0.35]), torch.tensor([0, 0, 0]))
    assert halved.tolist() == pytest.approx([0.15, 0.35, 0.35])
    other_class = suppress_ghosts(boxes, torch.tensor([0.3, 0.35, 0.35]), torch.tensor([0, 1, 1]))
    assert other_class.tolist() == pytest.approx([0.3, 0.35, 0.35])


def test_nms_per_class_keeps_boxes_of_other_classes_apart_below_zero_too():
    """The classes were moved apart by their index times the largest coordinate: boxes at negative
    coordinates (off the picture's top left) of two classes then overlapped and one suppressed the other."""
    boxes = torch.tensor([[-100.0, -100, 10, 10], [-99, -99, 10, 10], [-100, -100, 10, 10]])
    assert sorted(batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 1]), 0.5).tolist()) == [0, 2]
    kept, _ = batched_soft_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 1]), floor=0.5)
    assert sorted(kept.tolist()) == [0, 2]


def test_the_iou_loss_keeps_a_gradient_for_a_box_shrunk_to_nothing():
    predicted = torch.tensor([1e-6, 1e-6, 1e-6, 1e-6], requires_grad=True)
    loss = iou_loss(predicted, torch.tensor([4.0, 4, 4, 4]))
    loss.backward()
    assert math.isfinite(loss.item()) and (predicted.grad < 0).all()  # every side pushed to grow
