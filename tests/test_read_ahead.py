"""Photos decoded ahead of the network, in a thread: same images, same order, errors in their turn."""
import threading

import cv2
import numpy as np
import pytest

from converters import UserError
from detectors.images import read_ahead, read_rgb, shrink_for


def photos(tmp_path, n: int) -> list:
    paths = []
    for k in range(n):
        paths.append(tmp_path / f"{k}.png")
        cv2.imwrite(str(paths[-1]), np.full((4, 5, 3), (k, 2 * k, 3 * k), np.uint8))  # BGR on disk
    return paths


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
def test_the_images_come_in_the_order_of_the_paths_as_rgb(tmp_path, depth):
    images = list(read_ahead(photos(tmp_path, 4), depth=depth))
    assert [tuple(im[0, 0]) for im in images] == [(3 * k, 2 * k, k) for k in range(4)]


def test_a_broken_file_raises_when_its_turn_comes_after_the_ones_before(tmp_path):
    paths = photos(tmp_path, 3)
    paths[1].write_bytes(b"not a png")
    images = read_ahead(paths)
    assert tuple(next(images)[0, 0]) == (0, 0, 0)
    with pytest.raises(UserError, match="1.png"):
        next(images)


def test_stopping_early_leaves_no_reading_thread(tmp_path):
    images = read_ahead(photos(tmp_path, 6), depth=2)
    next(images)
    images.close()
    assert not any(t.name.startswith("read-ahead") for t in threading.enumerate())


def test_a_shrunk_decode_is_the_photo_smaller_by_the_factor_rounded_up(tmp_path):
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), np.full((601, 803, 3), 128, np.uint8))
    assert read_rgb(path, 4).shape == (151, 201, 3)
    assert [shrink_for(4000, 3000, 384), shrink_for(800, 600, 384), shrink_for(700, 500, 384)] == [8, 2, 1]
