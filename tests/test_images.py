"""Image sizes from file headers, without decoding pixels."""
import os

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


def test_an_image_name_never_leads_out_of_the_image_folder(tmp_path):
    import cv2
    import numpy as np

    from converters.images import ImageFolder

    root, outside = tmp_path / "images", tmp_path / "secret"
    root.mkdir()
    outside.mkdir()
    for folder in (root, outside):
        cv2.imwrite(str(folder / "outside.png"), np.zeros((4, 4, 3), np.uint8))
    cv2.imwrite(str(outside / "only-there.png"), np.zeros((4, 4, 3), np.uint8))
    folder = ImageFolder(root)
    assert folder.find("../secret/outside.png") == root / "outside.png"  # the name, looked for inside
    assert folder.find(str(outside / "outside.png")) == root / "outside.png"
    assert folder.find("../secret/only-there.png") is None
    assert folder.find(str(outside / "only-there.png")) is None
    assert folder.find("C:\\\\data\\\\only-there.png") is None


def test_masks_on_a_project_never_reads_an_image_outside_its_folder(tmp_path, capsys):
    import cv2
    import numpy as np

    from annotator.cli import main
    from annotator.store import Project
    from converters import Annotation, ExtremePoints

    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "secret.png"), np.full((60, 60, 3), 200, np.uint8))
    with Project.create(tmp_path / "images" / "p.sqlite", tmp_path / "images") as project:
        project.add_images([("../secret.png", 60, 60)])
        [record] = project.images()
        category = project.add_category("thing")
        project.add_annotation(Annotation.from_extreme(0, record.id, category.id,
                                                       ExtremePoints((30, 10), (10, 30), (30, 50), (50, 30))))
    assert main(["masks", str(tmp_path / "images" / "p.sqlite"), "--method", "grabcut"]) == 0
    said = capsys.readouterr().out
    assert "made 0 masks" in said and "skipped 1 missing images, e.g. ../secret.png" in said


def test_a_named_pipe_and_a_name_that_is_not_utf8_are_skipped_and_reported(tmp_path, capsys):
    from annotator.cli import main

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    os.mkfifo(tmp_path / "x.jpg")  # reading it would wait for a writer for ever
    raw = os.fsencode(tmp_path) + b"/caf\xe9.png"  # Latin-1 bytes on a UTF-8 system
    with open(raw, "wb") as f:
        f.write((tmp_path / "a.png").read_bytes())
    assert main(["init", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    assert "1 new images" in said and "2 names that are no regular file, or not UTF-8, were skipped" in said


def test_a_photo_claiming_more_pixels_than_we_decode_is_refused_in_one_line_before_decoding(tmp_path):
    import struct

    from detectors.images import read_rgb

    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((8, 8, 3), np.uint8))
    data = bytearray((tmp_path / "small.png").read_bytes())
    data[16:24] = struct.pack(">II", 65000, 65000)  # the IHDR's width and height
    (tmp_path / "huge.png").write_bytes(bytes(data))
    with pytest.raises(UserError, match="is 65000 x 65000 pixels, more than annotator decodes"):
        read_rgb(tmp_path / "huge.png")


def with_orientation(jpeg: bytes, orientation: int, order: str = "MM") -> bytes:
    """The JPEG with an EXIF block holding only the orientation tag, as a camera writes it."""
    big = order == "MM"

    def n(value: int, size: int) -> bytes:
        return value.to_bytes(size, "big" if big else "little")
    tiff = order.encode() + n(42, 2) + n(8, 4) + n(1, 2) + n(0x0112, 2) + n(3, 2) + n(1, 4) + n(orientation, 2) \
        + b"\0\0" + n(0, 4)
    block = b"Exif\0\0" + tiff
    return jpeg[:2] + b"\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block + jpeg[2:]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_photo_is_sized_and_read_as_displayed_whatever_its_exif_orientation(tmp_path, orientation):
    """One rule for the whole tool, the browsers' and labelme's and CVAT's: the photo as displayed."""
    from detectors.images import read_rgb

    photo = np.zeros((30, 50, 3), np.uint8)
    photo[:10, :10] = 255  # a white corner, to see where it went
    ok, encoded = cv2.imencode(".jpg", photo)
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(with_orientation(encoded.tobytes(), orientation, "MM" if orientation % 2 else "II"))
    turned = orientation >= 5
    assert read_image_size(path) == ((30, 50) if turned else (50, 30))
    assert read_rgb(path).shape[:2] == ((50, 30) if turned else (30, 50))  # OpenCV turns it as well


def test_the_window_shows_a_turned_photo_as_displayed(tmp_path, qtbot):
    from annotator.gui.prefetch import displayed

    ok, encoded = cv2.imencode(".jpg", np.zeros((30, 50, 3), np.uint8))
    path = tmp_path / "turned.jpg"
    path.write_bytes(with_orientation(encoded.tobytes(), 6))
    image = displayed(str(path))
    assert (image.width(), image.height()) == read_image_size(path) == (30, 50)
