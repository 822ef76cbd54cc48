"""The window on a project of 100,000 images: opening it, a search keystroke, Space (mark done) and
the next image, each until Qt has processed the change. The image files do not exist (the window shows
its placeholder), so this times the list and the store, not decoding.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/image_list_scale.py [--images 100000] [--runs 10]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from annotator.gui.window import MainWindow  # noqa: E402
from annotator.store import Project  # noqa: E402


def timed(app: QApplication, action) -> float:
    start = time.perf_counter()
    action()
    app.processEvents()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ANNOTATOR_CONFIG_DIR"] = tmp
        project = Project.create(Path(tmp) / "p.sqlite", tmp)
        project.add_images([(f"img_{i:06d}.jpg", 640, 480) for i in range(args.images)])
        project.add_category("object")
        window = None

        def open_window() -> None:
            nonlocal window
            window = MainWindow(project)
            window.show()

        rows = {"open the window": [timed(app, open_window)]}
        for run in range(args.runs):
            rows.setdefault("search keystroke (100 matches)", []).append(
                timed(app, lambda run=run: window.browser.search.setText(f"img_0{run % 10}99")))
            rows.setdefault("clear the search (all shown again)", []).append(timed(app, window.browser.search.clear))
            rows.setdefault("Space (mark done)", []).append(timed(app, window._mark_done))
            rows.setdefault("next image (D)", []).append(timed(app, lambda: window.browser.step(1)))
        window.close()
        project.close()
    print(f"{args.images} images; {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"Qt offscreen; median of {args.runs} runs (opening: once)")
    print("| what | median |")
    print("| --- | ---: |")
    for what, values in rows.items():
        print(f"| {what} | {statistics.median(values):.1f} ms |")


if __name__ == "__main__":
    main()
