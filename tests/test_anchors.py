"""`annotator anchors`: k-means with the IoU distance, the fit measures on hand-computed cases, the
genetic search, every output format read back, the statistics, and bad input in one line."""
import json

import numpy as np
import pytest

from annotator.anchors import boxes_of, read_anchors, statistics, written
from annotator.cli import main
from converters import Annotation, Box, Category, Dataset, ImageRecord, UserError
from detectors.anchor_boxes import by_level, evolve, fit, kmeans, ratio_metric, standard, wh_iou
from tests.samples import write_json


def test_iou_of_shapes_with_a_shared_centre():
    iou = wh_iou(np.array([[10.0, 10.0], [20.0, 5.0]]), np.array([[10.0, 10.0], [5.0, 20.0]]))
    assert iou[0, 0] == 1.0
    assert iou[0, 1] == pytest.approx(50 / (100 + 100 - 50))  # 5 x 10 in common
    assert iou[1, 1] == pytest.approx(25 / (100 + 100 - 25))  # 5 x 5 in common


def test_the_ratio_metric_is_the_worst_side_ratio():
    r = ratio_metric(np.array([[10.0, 40.0]]), np.array([[20.0, 20.0]]))
    assert r[0, 0] == pytest.approx(0.5)  # w: 10/20, h: 20/40: both 0.5
    assert ratio_metric(np.array([[10.0, 10.0]]), np.array([[50.0, 10.0]]))[0, 0] == pytest.approx(0.2)


def test_coverage_bpr_and_anchors_above_on_hand_computed_boxes():
    wh = np.array([[10.0, 10.0], [30.0, 10.0], [100.0, 100.0], [10.0, 100.0]])
    anchors = np.array([[10.0, 10.0], [100.0, 100.0]])
    f = fit(wh, anchors, threshold=4.0)
    # best IoU: 1, 1/3, 1, 0.1 (10 x 100 in a 100 x 100 anchor)
    assert f.mean_iou == pytest.approx((1 + 1 / 3 + 1 + 0.1) / 4)
    assert f.coverage == 0.5  # only the two exact ones reach 0.5
    # best r: 1, 1/3, 1, 0.1 -> above 1/4: three of four
    assert f.bpr == 0.75 and f.anchors_above == pytest.approx(3 / 4)
    assert f.fitness == pytest.approx((1 + 1 / 3 + 1) / 4)


def test_kmeans_finds_hand_made_clusters():
    rng = np.random.default_rng(1)
    centres = np.array([[12.0, 10.0], [40.0, 80.0], [150.0, 60.0]])
    wh = np.vstack([c * np.exp(rng.normal(0, 0.05, (200, 2))) for c in centres])
    found = kmeans(wh, 3, seed=0)
    assert np.allclose(found, centres[np.argsort(centres.prod(axis=1))], rtol=0.05)
    assert np.array_equal(kmeans(wh, 3, seed=0), found)  # the same seed, the same anchors


def test_kmeans_keeps_the_best_of_its_starts():
    """One k-means++ start can settle in a poor local optimum; the default keeps the best of twenty."""
    wh = np.exp(np.random.default_rng(3).normal(3, 0.8, (177, 2)))
    singles = [fit(wh, kmeans(wh, 9, seed=seed, restarts=1)).mean_iou for seed in range(20)]
    best = fit(wh, kmeans(wh, 9)).mean_iou
    assert best >= np.percentile(singles, 75) and best > min(singles) + 0.01


def test_kmeans_refuses_more_anchors_than_distinct_boxes():
    with pytest.raises(ValueError, match="3 anchors need at least 3 distinct box sizes; these boxes have 2"):
        kmeans(np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]]), 3)


def test_the_search_keeps_only_what_improves():
    rng = np.random.default_rng(0)
    wh = np.exp(rng.normal(3, 0.7, (2000, 2)))
    start = kmeans(wh, 6)
    evolved, improved = evolve(wh, start, generations=300)
    assert improved and fit(wh, evolved).fitness > fit(wh, start).fitness
    same = np.array([[20.0, 20.0]] * 50)  # every box the anchor's shape: nothing can beat fitness 1
    kept, improved = evolve(same, np.array([[20.0, 20.0]]), generations=50)
    assert not improved and np.array_equal(kept, [[20.0, 20.0]])


def test_anchors_split_by_size_over_levels():
    anchors = np.array([[9.0, 9.0], [1.0, 1.0], [4.0, 4.0], [16.0, 16.0], [2.0, 2.0]])
    assert [level[:, 0].tolist() for level in by_level(anchors, 2)] == [[1.0, 2.0, 4.0], [9.0, 16.0]]
    with pytest.raises(ValueError, match="--levels"):
        by_level(anchors, 6)


def test_standard_sets_scale_to_the_input_size():
    assert standard("yolov5", 640)[0][0].tolist() == [10, 13]
    assert standard("yolov5", 320)[2][2].tolist() == [186.5, 163]
    retinanet = standard("retinanet", 1333)
    assert len(retinanet) == 5 and all(len(level) == 9 for level in retinanet)
    assert retinanet[0][1] == pytest.approx([32, 32])  # scale 1, ratio 1:1 on P3
    assert retinanet[0][0] == pytest.approx([32 * 2 ** 0.5, 32 / 2 ** 0.5])  # ratio h / w 1:2


@pytest.mark.parametrize("fmt", ["yolov5", "darknet", "mmdet", "json"])
def test_every_format_is_read_back(tmp_path, fmt):
    levels = [np.array([[10.0, 13.0], [16.0, 30.0]]), np.array([[33.0, 23.0], [30.0, 61.0]]),
              np.array([[116.0, 90.0], [156.0, 198.0]])]
    path = tmp_path / f"anchors.{fmt}"
    path.write_text(written(levels, fmt, 640))
    back = read_anchors(path)
    flat = np.vstack(back)
    assert np.array_equal(flat, np.vstack(levels))
    if fmt != "darknet":  # darknet's cfg holds one list; the [yolo] layers' masks pick from it
        assert [len(level) for level in back] == [2, 2, 2]


def test_a_file_without_anchors_is_refused_in_one_line(tmp_path):
    path = tmp_path / "nothing.yaml"
    path.write_text("depth_multiple: 0.33\n")
    with pytest.raises(UserError, match="nothing.yaml: holds no anchors in a format annotator reads"):
        read_anchors(path)


def dataset(boxes):
    """One 1000 x 500 image per box, each box (w, h) of category a or b by turn."""
    return Dataset(images=[ImageRecord(k + 1, f"{k}.png", 1000, 500) for k in range(len(boxes))],
                   categories=[Category(1, "a"), Category(2, "b")],
                   annotations=[Annotation(k + 1, k + 1, 1 + k % 2, Box(0, 0, w, h)) for k, (w, h) in enumerate(boxes)])


def test_statistics_per_category_with_coco_sizes_and_tiny_boxes():
    boxes = boxes_of(dataset([(2, 10), (20, 20), (50, 50), (100, 200)]), img_size=500)
    assert boxes.scaled[3].tolist() == [50, 100]  # the long side 1000 -> 500
    stats = statistics(boxes)
    everything = stats["all"]
    assert everything["boxes"] == 4 and everything["under_3px"] == 1 and everything["boxes_per_image"] == 1
    assert (everything["small"], everything["medium"], everything["large"]) == (0.5, 0.25, 0.25)
    assert stats["a"]["boxes"] == 2 and stats["b"]["width_px"]["max"] == 100
    assert stats["b"]["aspect_w_over_h"]["min"] == 0.5


def test_the_command_writes_yolov5_anchors_and_compares_with_the_standard_ones(tmp_path, tmp_path_factory, capsys):
    rng = np.random.default_rng(0)
    data = dataset([(float(w), float(h)) for w, h in np.exp(rng.normal(4, 0.5, (60, 2)))])
    coco = {"images": [{"id": im.id, "file_name": im.file_name, "width": 1000, "height": 500} for im in data.images],
            "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
            "annotations": [{"id": a.id, "image_id": a.image_id, "category_id": a.category_id, "iscrowd": 0,
                             "bbox": a.box.to_list(), "area": a.box.area} for a in data.annotations]}
    path = write_json(tmp_path / "coco.json", coco)
    out = tmp_path / "anchors.yaml"
    plot = tmp_path_factory.mktemp("plots") / "anchors.png"  # in the image folder it would be one more image
    assert main(["anchors", str(path), "--num", "6", "--levels", "2", "--compare", "yolov5", "-o", str(out),
                 "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "6 anchors by kmeans, at img-size 640" in printed and "| yolov5 |" in printed
    assert [len(level) for level in read_anchors(out)] == [3, 3]
    assert plot.stat().st_size > 10_000
    assert main(["anchors", str(path), "--json", "--compare", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"levels", "fit", "compared", "boxes"} and str(out) in result["compared"]


@pytest.mark.parametrize("args, expected", [
    (["--num", "99"], "--num 99: 99 anchors need at least 99 distinct box sizes; these boxes have 3"),
    (["--img-size", "0"], "--img-size must be positive, not 0"),
    (["--levels", "0"], "--levels must be from 1 to the number of anchors (2), not 0"),
    (["--restarts", "0"], "--restarts must be from 1 to 1000, not 0"),
])
def test_bad_input_gets_one_line(tmp_path, capsys, args, expected):
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
            "categories": [{"id": 1, "name": "a"}],
            "annotations": [{"id": k, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5 * k, 4 * k], "area": 1}
                            for k in (1, 2, 3)]}
    path = write_json(tmp_path / "coco.json", coco)
    assert main(["anchors", str(path), "--num", "2", *args]) == 2
    assert capsys.readouterr().err.strip() == f"annotator: error: {expected}"


def test_a_dataset_without_boxes_gets_one_line(tmp_path, capsys):
    path = write_json(tmp_path / "empty.json", {"images": [], "categories": [], "annotations": []})
    assert main(["anchors", str(path)]) == 2
    assert "has no boxes to fit anchors to" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["project", "input", "photo", "plot onto the project"])
def test_anchors_never_write_over_the_project_the_input_or_a_photo(tmp_path, capsys, target):
    """`anchors p.sqlite -o p.sqlite` left 159 bytes of YAML where the project was."""
    import cv2

    from annotator.store import Project

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((100, 100, 3), np.uint8))
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
            "categories": [{"id": 1, "name": "a"}],
            "annotations": [{"id": k, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5 * k, 4 * k], "area": 1}
                            for k in (1, 2, 3)]}
    path = write_json(tmp_path / "coco.json", coco)
    project = tmp_path / "p.sqlite"
    with Project.create(project, tmp_path):
        pass
    src, flag, out = {"project": (project, "-o", project), "input": (path, "-o", path),
                      "photo": (path, "-o", tmp_path / "a.png"),
                      "plot onto the project": (path, "--plot", project)}[target]
    before = out.read_bytes()
    assert main(["anchors", str(src), "--num", "2", flag, str(out)]) == 2
    assert "choose another output" in capsys.readouterr().err
    assert out.read_bytes() == before
