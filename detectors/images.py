"""Reading a photo as the models see it: RGB, 8 bits, height x width x 3."""
from __future__ import annotations

import os

import cv2
import numpy as np

from converters import UserError


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """The image at `path` as RGB; a missing or undecodable file is the user's error, naming it.

    Read through numpy, not cv2.imread, so that non-ASCII paths work on every platform."""
    try:
        data = np.fromfile(os.fspath(path), dtype=np.uint8)
    except OSError as e:
        raise UserError(f"cannot read the image: {e.strerror or e}", path) from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise UserError("not an image OpenCV can decode (corrupt or unsupported)", path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
