"""Image sizes from file headers, without decoding pixels."""
import cv2
import numpy as np
import pytest

from converters import UserError
from converters.images import read_image_size


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".webp"])
@pytest.mark.parametrize("width, height", [(1, 1), (800, 600), (37, 1023)])
def test_size_from_the_header_of_each_format(tmp_path, suffix, width, height):
    path = tmp_path / f"im{suffix}"
    cv2.imwrite(str(path), np.zeros((height, width, 3), np.uint8))
    assert read_image_size(path) == (width, height)


def test_a_jpeg_whose_frame_header_lies_past_a_large_exif_block(tmp_path):
    ok, jpeg = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))
    data = jpeg.tobytes()
    app1 = b"\xff\xe1" + (2 + 60000).to_bytes(2, "big") + b"\0" * 60000  # two such blocks: 120 KB
    path = tmp_path / "exif.jpg"
    path.write_bytes(data[:2] + app1 + app1 + data[2:])
    assert read_image_size(path) == (64, 48)


def test_a_file_that_is_not_an_image_is_one_clear_error(tmp_path):
    (tmp_path / "notes.jpg").write_text("shopping list")
    with pytest.raises(UserError, match="cannot read an image size from this file"):
        read_image_size(tmp_path / "notes.jpg")
    with pytest.raises(UserError, match="image file not found"):
        read_image_size(tmp_path / "gone.jpg")
