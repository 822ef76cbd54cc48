"""The mask backend in a background thread: the octagon is on screen at once, the real mask replaces it
when the backend answers, and the window never waits for it."""
from __future__ import annotations

import queue
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from converters import Annotation, Correction, ExtremePoints
from detectors.mask_backends import BACKENDS, Network

from ..masking import MadeMask, make_mask


class Answer(NamedTuple):
    label_id: int
    extreme: ExtremePoints  # the points the mask was asked for
    corrections: tuple[Correction, ...]
    backend: str  # the backend asked for
    made: MadeMask  # no polygons: the backend failed, and its note says how


def rgb_view(image: QImage) -> np.ndarray:
    """The image's pixels as an RGB array without copying them (a strided view of Qt's 32-bit pixels);
    `image` must outlive the view. Call it in the window's thread: PySide6 6.12 loses references to
    None when QImage methods run in another thread, until the interpreter aborts."""
    if image.format() not in (QImage.Format_RGB32, QImage.Format_ARGB32, QImage.Format_ARGB32_Premultiplied):
        image = image.convertToFormat(QImage.Format_RGB32)
    bgra = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return bgra[:, :image.width() * 4].reshape(image.height(), image.width(), 4)[:, :, 2::-1]


class MaskWorker(QObject):
    """Makes one object's mask at a time, in order. Each answer goes into a queue and `ready` tells the
    window's thread to `take` them: Python objects are not sent through a queued Qt signal, which
    PySide6 does not reference-count safely across threads (it crashed the latency benchmark)."""

    ready = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="masks")
        self._asked: set[tuple[int, ExtremePoints, tuple[Correction, ...], str]] = set()
        self._loaded: tuple[tuple[str, str], Network] | None = None  # touched by the worker thread only
        self._pending: list[Future] = []
        self._answers: queue.SimpleQueue[Answer] = queue.SimpleQueue()

    def _network(self, backend: str, weights: str) -> Network | None:
        """The weights of a backend that needs them, loaded in the worker on first use (torch is
        imported only then) and kept; None for a backend that needs none."""
        entry = BACKENDS[backend]
        if entry.load is None:
            return None
        if self._loaded is None or self._loaded[0] != (backend, weights):
            self._loaded = ((backend, weights), entry.load(weights))
        return self._loaded[1]

    def ask(self, image: QImage, pixels: np.ndarray, label_id: int, extreme: ExtremePoints,
            corrections: tuple[Correction, ...], backend: str, weights: str = "",
            before: Annotation | None = None) -> None:
        """Queue a mask for this label's points, once per label, points and backend (until `forget`).
        `pixels` is `rgb_view(image)`; the worker holds `image` so that they stay valid, and never
        calls Qt. `before`: the label whose mask the correction points correct."""
        key = (label_id, extreme, corrections, backend)
        if key in self._asked:
            return
        self._asked.add(key)
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._pool.submit(self._make, (image, pixels), key, weights, before))

    def busy(self) -> bool:
        """Whether a mask is still being made (its answer may also still wait in the event queue)."""
        return any(not f.done() for f in self._pending)

    def _make(self, image_and_pixels: tuple[QImage, np.ndarray], key: tuple, weights: str,
              before: Annotation | None) -> None:
        label_id, extreme, corrections, backend = key
        try:
            network = self._network(backend, weights)
            made: MadeMask = make_mask(image_and_pixels[1], extreme, backend, network, corrections, before)
        except Exception as e:  # the octagon stays; the person is told, and labelling goes on
            made = MadeMask([], backend, f"{backend} failed: {e}")
        self._answers.put(Answer(label_id, extreme, corrections, backend, made))
        self.ready.emit()

    def take(self) -> list[Answer]:
        """The answers so far, oldest first; called in the window's thread."""
        answers = []
        while not self._answers.empty():
            answers.append(self._answers.get_nowait())
        return answers

    def forget(self, answer: Answer) -> None:
        """Ask again when this label's octagon comes back (an undo, a redo); a backend that found
        nothing for these points is not asked twice."""
        self._asked.discard((answer.label_id, answer.extreme, answer.corrections, answer.backend))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
