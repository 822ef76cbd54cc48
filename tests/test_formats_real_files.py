"""VOC and YOLO files written by real exporters (../shared/fixtures)."""
import pytest

from converters import Report
from converters.formats import read_dataset, write_dataset
from converters.voc import UNLABELLED
from converters.yolo import RESOLVED
from tests.conftest import SHARED

pytestmark = pytest.mark.shared_data
FIXTURES = SHARED / "fixtures"


def test_roboflow_voc_chess_has_12_images_and_180_boxes():
    report = Report()
    loaded = read_dataset(FIXTURES / "roboflow/chess", report=report)
    assert loaded.format == "voc" and len(loaded.dataset.images) == 12 and len(loaded.dataset.annotations) == 180
    assert report.count(UNLABELLED) == 1  # 5c1.jpg has no XML
    assert {im.file_name for im in loaded.dataset.images} >= {"0AF.jpg", "1be.jpg"}  # case and extension mended


def test_roboflow_yolo_mixes_boxes_and_polygons_and_resolves_foreign_paths(tmp_path):
    report = Report()
    loaded = read_dataset(FIXTURES / "roboflow/sharks-tiny-yolov9", report=report)
    ds = loaded.dataset
    assert loaded.format == "yolo" and len(ds.images) == 10 and len(ds.annotations) == 60
    assert sum(a.polygons is not None for a in ds.annotations) == 17
    assert report.count(RESOLVED) == 3
    assert {im.attributes["subset"] for im in ds.images} == {"train", "val", "test"}
    write_dataset(ds, tmp_path / "coco.json", "coco")
    write_dataset(ds, tmp_path / "yolo", "yolo", image_root=loaded.image_root)
    again = read_dataset(tmp_path / "yolo").dataset
    def boxes(d):
        return sorted(v for a in d.annotations for v in a.box.to_list())

    assert boxes(again) == pytest.approx(boxes(ds), abs=1e-9)


def test_darknet_yolo_with_obj_data_and_train_txt():
    loaded = read_dataset(FIXTURES / "datumaro/yolo_dataset/strict")
    ds = loaded.dataset
    assert len(ds.categories) == 10 and [a.category_id for a in ds.annotations] == [2, 4]
    assert ds.annotations[0].box.to_list() == pytest.approx([0, 2, 4, 2], abs=1e-4)
