"""Images decoded ahead in a background thread, so the next image is ready when the person gets there."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtGui import QImage, QImageReader


def displayed(path: str) -> QImage:
    """The photo as it is displayed: turned as its EXIF orientation says, as every reader of ours reads it
    (the images' sizes, OpenCV's decoding for masks and models, the exports)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    return reader.read()


class ImagePrefetcher:
    """Decodes images by path in one worker thread (Qt releases the GIL while it decodes) and keeps
    the few most recently asked for; `get` waits only for an image that is not ready yet."""

    def __init__(self, keep: int = 3):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self._keep = keep
        self._futures: dict[str, Future] = {}

    def prefetch(self, path: str) -> None:
        if path not in self._futures:
            self._futures[path] = self._pool.submit(displayed, path)
        self._futures[path] = self._futures.pop(path)  # most recent last
        while len(self._futures) > self._keep:
            self._futures.pop(next(iter(self._futures))).cancel()

    def get(self, path: str) -> QImage:
        self.prefetch(path)
        return self._futures[path].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
