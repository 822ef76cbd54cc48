"""`annotator masks` and `annotator eval-masks`, on tiny datasets made here; the app's mask rules (no
backend replaces a mask a person drew; a late mask is dropped if the label changed); its settings."""
import json
import os

import cv2
import numpy as np
import pytest

from annotator.cli import main
from annotator.masking import MASK_METHOD, MadeMask, apply_made_mask, make_mask, needs_mask, with_octagon
from annotator.session import LabellingSession
from annotator.settings import Settings, load_settings, save_settings
from annotator.store import Project
from converters import Annotation, Correction, ExtremePoints, Shape, UserError
from converters.masks import (
    extreme_points_from_mask,
    mask_iou,
    mask_to_polygons,
    polygons_to_mask,
    without_small_holes,
)
from tests.samples import blob, object_photo, write_json

H, W = 120, 240
FIRST, SECOND = (10, 10, 100, 100), (130, 20, 230, 110)



@pytest.fixture
def photo(tmp_path):
    truth = [blob(H, W, FIRST), blob(H, W, SECOND)]
    folder = tmp_path / "images"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), cv2.cvtColor(object_photo(truth[0] | truth[1]), cv2.COLOR_RGB2BGR))
    return folder, truth


def coco(truth, clicked_only: bool) -> dict:
    """Object 1 clicked (extreme points, no mask) when `clicked_only`; object 2 with a drawn polygon."""
    anns = []
    for k, t in enumerate(truth, 1):
        extreme = extreme_points_from_mask(t)
        segmentation = [] if clicked_only and k == 1 else mask_to_polygons(t)
        anns.append({"id": k, "image_id": 1, "category_id": 1, "bbox": extreme.box.to_list(), "iscrowd": 0,
                     "segmentation": segmentation, "extreme_points": extreme.to_coco()})
    return {"images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
            "categories": [{"id": 1, "name": "blob"}], "annotations": anns}


def test_masks_fills_clicked_objects_of_a_coco_file_and_keeps_drawn_ones(photo, tmp_path, capsys):
    folder, truth = photo
    src = write_json(tmp_path / "labels.json", coco(truth, clicked_only=True))
    out = tmp_path / "out.json"
    assert main(["masks", str(src), "--images", str(folder), "--method", "grabcut", "-o", str(out)]) == 0
    assert "made 1 masks; kept 1" in capsys.readouterr().out
    first, second = json.loads(out.read_text())["annotations"]
    assert first["attributes"][MASK_METHOD] == "grabcut"
    assert mask_iou(polygons_to_mask(first["segmentation"], H, W).astype(bool), truth[0]) > 0.9
    assert second["segmentation"] == coco(truth, True)["annotations"][1]["segmentation"]
    assert "attributes" not in second
    assert json.loads(src.read_text()) == coco(truth, clicked_only=True)  # the source is untouched


def test_a_second_masks_run_resumes_from_its_output_and_makes_nothing_again(photo, tmp_path, capsys):
    folder, truth = photo
    src = write_json(tmp_path / "labels.json", coco(truth, clicked_only=True))
    out = tmp_path / "out.json"
    main(["masks", str(src), "--images", str(folder), "-o", str(out)])
    capsys.readouterr()
    assert main(["masks", str(src), "--images", str(folder), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"resuming from {out}" in said and "made 0 masks; kept 2" in said
    assert main(["masks", str(out), "--images", str(folder), "--method", "octagon"]) == 0  # in place, other backend
    assert "made 1 masks; kept 1" in capsys.readouterr().out
    assert json.loads(out.read_text())["annotations"][0]["attributes"][MASK_METHOD] == "octagon"


def test_masks_fills_a_project_and_never_touches_a_mask_a_person_drew(photo, tmp_path, capsys):
    folder, truth = photo
    path = tmp_path / "p.sqlite"
    with Project.create(path, folder) as project:
        project.add_images([("a.png", W, H)])
        category = project.add_category("blob")
        session = LabellingSession(project)
        session.open_image(1)
        e = extreme_points_from_mask(truth[0])
        for p in (e.top, e.left, e.bottom, e.right):
            clicked = session.click(*p)
        drawn = project.add_annotation(Annotation.from_extreme(0, 1, category.id, extreme_points_from_mask(truth[1]),
                                                               polygons=mask_to_polygons(truth[1])))
    assert clicked.attributes[MASK_METHOD] == "octagon"
    assert main(["masks", str(path)]) == 0
    assert "made 1 masks; kept 1" in capsys.readouterr().out
    with Project.open(path) as project:
        made, kept = project.annotation(clicked.id), project.annotation(drawn.id)
    assert made.attributes[MASK_METHOD] == "grabcut"
    assert mask_iou(polygons_to_mask(made.polygons, H, W).astype(bool), truth[0]) > 0.9
    assert kept.polygons == drawn.polygons and MASK_METHOD not in kept.attributes
    assert main(["masks", str(path)]) == 0
    assert "made 0 masks; kept 2" in capsys.readouterr().out


def test_masks_refuses_a_project_open_in_the_labelling_window(photo, tmp_path, capsys):
    folder, _ = photo
    path = tmp_path / "p.sqlite"
    with Project.create(path, folder) as window_side:
        window_side.lock_for_labelling()
        assert main(["masks", str(path)]) == 2
    assert f"is in use by a labelling window (process {os.getpid()})" in capsys.readouterr().err


def test_the_window_is_told_which_command_holds_the_project(photo, tmp_path):
    folder, _ = photo
    path = tmp_path / "p.sqlite"
    with Project.create(path, folder) as command_side, Project.open(path) as window_side:
        command_side.lock_for_labelling("annotator masks")
        with pytest.raises(UserError, match=r"is in use by annotator masks \(process \d+\)"):
            window_side.lock_for_labelling()


def test_eval_masks_prints_the_scores_as_one_json_object(photo, tmp_path, capsys):
    folder, truth = photo
    src = write_json(tmp_path / "gt.json", coco(truth, clicked_only=False))
    assert main(["eval-masks", str(src), "--images", str(folder), "--method", "grabcut", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert {"mean_iou", "iou_50", "iou_75", "iou_90", "ms_per_object", "n"} <= scores.keys()
    assert scores["n"] == 2 and scores["mean_iou"] > 0.9 and scores["iou_50"] == 1.0
    assert main(["eval-masks", str(src), "--images", str(folder), "--method", "octagon", "--jitter", "5"]) == 0
    assert "octagon: mean IoU" in capsys.readouterr().out


def test_eval_masks_names_a_missing_image_and_says_how_to_find_it(photo, tmp_path, capsys):
    _, truth = photo
    src = write_json(tmp_path / "gt.json", coco(truth, clicked_only=False))
    assert main(["eval-masks", str(src)]) == 2
    err = capsys.readouterr().err
    assert "'a.png' not found" in err and "--images" in err and len(err.strip().splitlines()) == 1


def test_which_objects_a_backend_may_mask():
    e = ExtremePoints(top=(5, 0), left=(0, 5), bottom=(5, 10), right=(10, 5))
    clicked = Annotation.from_extreme(1, 1, 1, e)
    drawn = Annotation.from_extreme(1, 1, 1, e, polygons=[[0, 0, 10, 0, 10, 10]])
    made = Annotation.from_extreme(1, 1, 1, e, polygons=[e.octagon()], attributes={MASK_METHOD: "octagon"})
    assert needs_mask(clicked, "grabcut") and needs_mask(made, "grabcut")
    assert not needs_mask(made, "octagon")
    assert not needs_mask(drawn, "grabcut")
    assert not needs_mask(Annotation.from_extreme(1, 1, 1, e, iscrowd=True), "grabcut")
    assert not needs_mask(Annotation.from_points(1, 1, 1, Shape.POINTS, [1.0, 2.0]), "grabcut")


def test_the_apps_mask_is_made_on_a_crop_in_image_coordinates():
    truth = np.zeros((600, 900), bool)
    truth[380:520, 610:800] = blob(140, 190, (0, 0, 190, 140))
    photo = object_photo(truth)
    made = make_mask(photo, extreme_points_from_mask(truth), "grabcut")
    assert made.backend == "grabcut" and not made.note
    assert mask_iou(polygons_to_mask(made.polygons, 600, 900).astype(bool), truth) > 0.95


def test_a_made_masks_pinholes_are_filled_and_its_real_holes_and_corrected_ones_kept(monkeypatch):
    """A pinhole can be written in a polygon only as a cut from the outline, which the window draws as a
    line across the object and COCO and YOLO store."""
    truth = np.zeros((300, 300), bool)
    truth[50:250, 50:250] = True
    truth[100:102, 100:103] = False  # a pinhole: 6 px of 40,000
    truth[150:200, 150:200] = False  # a real hole: 2,500 px
    truth[70:74, 200:204] = False  # a pinhole the person said is background

    def the_truth(crop, extremes, backend, network, corrections, before):
        from detectors.mask_backends import MaskResult

        return [MaskResult(cv2.resize(truth.astype(np.uint8), crop.shape[1::-1], interpolation=cv2.INTER_NEAREST)
                           .astype(bool), backend)]
    monkeypatch.setattr("annotator.masking.masks_from_extremes", the_truth)
    photo = np.zeros((300, 300, 3), np.uint8)
    made = make_mask(photo, extreme_points_from_mask(truth), "grabcut", corrections=(Correction(201, 71, False),))
    mask = polygons_to_mask(made.polygons, 300, 300).astype(bool)
    assert mask[101, 101]  # filled
    assert not mask[175, 175] and not mask[71, 201]  # kept
    assert without_small_holes(truth, 0.005).sum() == truth.sum() + 6 + 16  # no correction: both pinholes go


def test_a_made_mask_is_stored_only_if_the_label_still_waits_for_it(tmp_path):
    truth = blob(H, W, FIRST)
    e = extreme_points_from_mask(truth)
    made = MadeMask(mask_to_polygons(truth), "grabcut")
    with Project.create(tmp_path / "p.sqlite", tmp_path) as project:
        project.add_images([("a.png", W, H)])
        project.add_category("blob")
        waiting = project.add_annotation(with_octagon(Annotation.from_extreme(0, 1, 1, e), e))
        moved_e = ExtremePoints(**{**e.as_dict(), "top": (e.top[0], e.top[1] + 3)})
        moved = project.add_annotation(with_octagon(Annotation.from_extreme(0, 1, 1, moved_e), moved_e))
        drawn = project.add_annotation(Annotation.from_extreme(0, 1, 1, e, polygons=[e.octagon()]))
        assert apply_made_mask(project, waiting.id, e, (), made).attributes[MASK_METHOD] == "grabcut"
        assert apply_made_mask(project, moved.id, e, (), made) is None  # made for points it no longer has
        assert apply_made_mask(project, drawn.id, e, (), made) is None  # a person's mask stays
        assert apply_made_mask(project, 999, e, (), made) is None  # deleted meanwhile
        assert project.annotation(drawn.id).polygons == [e.octagon()]


def test_damaged_or_strange_settings_read_as_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_CONFIG_DIR", str(tmp_path))
    assert load_settings() == Settings()
    for text in ("{not json", "[1, 2]", '{"mask_method": "magic", "accept_score": 7}'):
        (tmp_path / "settings.json").write_text(text)
        assert load_settings() == Settings()
    save_settings(Settings(mask_method="octagon", accept_score=0.25))
    assert load_settings() == Settings(mask_method="octagon", accept_score=0.25)


def test_settings_keep_weights_per_backend_and_read_the_older_dextr_key(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_CONFIG_DIR", str(tmp_path))
    (tmp_path / "settings.json").write_text('{"mask_method": "dextr", "dextr_weights": "/models/dextr"}')
    assert load_settings() == Settings(mask_method="dextr", weights={"dextr": "/models/dextr"})
    (tmp_path / "settings.json").write_text('{"mask_method": "dextr", "weights": {"grabcut": "x", "dextr": 3}}')
    assert load_settings() == Settings()  # no backend takes grabcut weights, a number is no path: dextr has none
    save_settings(Settings(mask_method="dextr", weights={"dextr": "/models/run"}))
    assert load_settings().weights == {"dextr": "/models/run"}


def test_masks_with_dextr_loads_the_weights_it_is_given(photo, tmp_path, capsys):
    import torch

    from detectors.checkpoints import save_checkpoint
    from detectors.dextr import LIGHT, dextr_net

    folder, truth = photo
    src = write_json(tmp_path / "labels.json", coco(truth, clicked_only=True))
    assert main(["masks", str(src), "--images", str(folder), "--method", "dextr"]) == 2
    assert "--method dextr needs --weights" in capsys.readouterr().err
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "run", LIGHT, dextr_net(LIGHT))
    assert main(["masks", str(src), "--images", str(folder), "--method", "dextr", "--weights", str(tmp_path / "run"),
                 "-o", str(tmp_path / "out.json")]) == 0
    assert "made 1 masks" in capsys.readouterr().out  # an untrained network: the mask is there, by whichever backend
    assert main(["eval-masks", str(src), "--images", str(folder), "--weights", str(tmp_path / "run")]) == 2
    assert "--weights does not apply to --method grabcut: it needs none" in capsys.readouterr().err


def test_a_large_object_is_masked_at_a_few_hundred_pixels_and_scaled_back():
    truth = np.zeros((1500, 2000), bool)
    truth[200:1300, 300:1700] = blob(1100, 1400, (0, 0, 1400, 1100))
    made = make_mask(object_photo(truth), extreme_points_from_mask(truth), "grabcut")
    assert made.backend == "grabcut"
    assert mask_iou(polygons_to_mask(made.polygons, 1500, 2000).astype(bool), truth) > 0.95


@pytest.mark.parametrize("onto", ["project", "photo"])
def test_masks_never_writes_its_coco_output_over_a_project_or_a_photo(photo, tmp_path, capsys, onto):
    folder, truth = photo
    src = write_json(tmp_path / "labels.json", coco(truth, clicked_only=True))
    if onto == "project":
        with Project.create(tmp_path / "p.sqlite", folder):
            pass
    out = {"project": tmp_path / "p.sqlite", "photo": folder / "a.png"}[onto]
    before = out.read_bytes()
    assert main(["masks", str(src), "--images", str(folder), "--method", "octagon", "-o", str(out)]) == 2
    assert "choose another output" in capsys.readouterr().err and out.read_bytes() == before


def test_masks_over_a_coco_file_keeps_its_image_category_and_annotation_ids(photo, tmp_path, capsys):
    folder, truth = photo
    data = coco(truth, clicked_only=True)
    data["images"][0]["id"] = 70
    data["categories"][0]["id"] = 9
    for ann, new in zip(data["annotations"], (501, 33), strict=True):
        ann.update(id=new, image_id=70, category_id=9)
    src = write_json(tmp_path / "labels.json", data)
    assert main(["masks", str(src), "--images", str(folder), "--method", "octagon"]) == 0
    written = json.loads(src.read_text())
    assert [im["id"] for im in written["images"]] == [70] and [c["id"] for c in written["categories"]] == [9]
    assert [(a["id"], a["image_id"], a["category_id"]) for a in written["annotations"]] == [(501, 70, 9), (33, 70, 9)]
