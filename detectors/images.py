"""Reading a photo as the models see it: RGB, 8 bits, height x width x 3."""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import cv2
import numpy as np

from converters import UserError
from converters.images import read_image_size

T = TypeVar("T")
#: Larger photos are refused before they are decoded: OpenCV stops at 2^30 pixels with an error of its
#: own, and a 30000 x 30000 photo decoded to 2.7 GB without a word.
MAX_PIXELS = 2**28


#: What a JPEG decoder can shrink by while decoding (it skips the fine DCT coefficients): 2, 4 or 8.
SHRINKS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
           8: cv2.IMREAD_REDUCED_COLOR_8}


def shrink_for(width: int, height: int, side: int) -> int:
    """The largest decoder shrink that keeps the photo's longer side at `side` pixels or more: a detector
    that sees 384 px needs no 12-megapixel decode (4000x3000 decodes about 4x faster at 1/8)."""
    return max(f for f in SHRINKS if max(width, height) // f >= side or f == 1)


def read_rgb(path: str | os.PathLike, shrink: int = 1) -> np.ndarray:
    """The image at `path` as RGB, `shrink` (SHRINKS) times smaller on each side, rounded up; a missing
    or undecodable file is the user's error, naming it.

    Read through numpy, not cv2.imread, so that non-ASCII paths work on every platform."""
    try:
        width, height = read_image_size(path)
    except UserError:
        width = height = 0  # a format whose header imagesize does not know: the decoder says
    if width * height > MAX_PIXELS:
        raise UserError(f"is {width} x {height} pixels, more than annotator decodes ({MAX_PIXELS / 1e6:.0f} "
                        "megapixels): scale it down first", path)
    try:
        data = np.fromfile(os.fspath(path), dtype=np.uint8)
    except OSError as e:
        raise UserError(f"cannot read the image: {e.strerror or e}", path) from None
    try:
        image = cv2.imdecode(data, SHRINKS[shrink]) if data.size else None
    except cv2.error as e:
        raise UserError(f"not an image OpenCV can decode ({str(e).strip().splitlines()[-1][:120]})", path) from None
    if image is None:
        raise UserError("not an image OpenCV can decode (corrupt or unsupported)", path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_ahead(jobs: Iterable[T], read: Callable[[T], np.ndarray] = read_rgb, depth: int = 2
               ) -> Iterator[np.ndarray]:
    """`read` of each job in order (by default a path's image), run in a thread up to `depth` jobs ahead
    of the caller: OpenCV decodes without the GIL, so the next photo is read while the network runs on
    this one (depth 0: each read when it is asked for). A read that fails raises in its turn."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
    waiting: deque[Future] = deque()
    try:
        for job in jobs:
            waiting.append(pool.submit(read, job))
            if len(waiting) > depth:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
