"""Time what a person feels in the window, on 24-megapixel images (6000x4000).

- 4th click to box painted: from the fourth click's mouse event until the view has repainted with the
  new object stored and drawn (a synchronous repaint), each run undone before the next.
- 4th click to mask painted: from the same event until the background worker's mask (the default
  backend, grabcut) is stored and painted; the next object is clicked only then, as a person looks at
  one object before clicking the next.
- the same two with a training run going: Model > Train's process (`annotator.training_process`, at its
  lower priority), started beside the window and measured once it is stepping.
- correction click to mask painted: then a Shift+click (a foreground correction point) inside the box,
  until the mask the backend made again from the clicks and the point is stored and painted.
- image switch: from choosing the next image in the list until it is shown, fitted and painted; once
  after a second spent on the image (the window decodes the neighbours in the background meanwhile)
  and once straight on (the next image still decoding).
- a crowded image: the same image with 40 and with 1,000 objects already on it (each with a mask,
  box and four points): the 4th click until Qt has painted what changed (the event loop run, as a
  person sees it), selecting an object with Ctrl+click likewise, and a full redraw: masks hidden and
  shown again (M twice) and the whole view repainted.

Runs with Qt's offscreen platform (no screen needed), so painting is Qt's raster engine, as on a
laptop without GPU compositing. Prints median and 95th percentile of each.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_latency.py [--runs 30] [--only clicks] [--photo [JPG]]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from annotator.gui.window import MainWindow  # noqa: E402
from annotator.store import Project  # noqa: E402
from annotator.training import TrainingRequest  # noqa: E402
from annotator.training_process import command  # noqa: E402
from converters import Annotation, ExtremePoints, Source  # noqa: E402
from converters.formats import read_dataset  # noqa: E402
from converters.images import read_image_size  # noqa: E402
from converters.masks import extreme_points_from_polygons  # noqa: E402

WIDTH, HEIGHT = 6000, 4000
FRUITS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fruits_nuts"


def make_images(folder: Path, n: int) -> list[str]:
    rng = np.random.default_rng(0)
    names = []
    for i in range(n):  # a textured photo-like image, so JPEG decoding costs what a real one does
        small = rng.integers(0, 255, (HEIGHT // 50, WIDTH // 50, 3), np.uint8)
        image = cv2.resize(small, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
        names.append(f"big_{i}.jpg")
        cv2.imwrite(str(folder / names[-1]), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return names


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def walk(n: int, steps: int) -> list[int]:
    """Rows 1, 2, ..., n-1, n-2, ..., 0, 1, ...: forward to the end, then back."""
    rows, row, step = [], 0, 1
    for _ in range(steps):
        if not 0 <= row + step < n:
            step = -step
        row += step
        rows.append(row)
    return rows


def switch_to(window: MainWindow, row: int) -> float:
    """Milliseconds from choosing image `row` until it is painted."""
    start = time.perf_counter()
    window.images.setCurrentRow(row)
    window.canvas.viewport().repaint()
    return (time.perf_counter() - start) * 1000


def crowd(project: Project, image_id: int, n: int) -> None:
    """`n` objects in a grid over the image, each with its octagon as a drawn mask (no backend redoes it)."""
    side = int(np.ceil(np.sqrt(n)))
    w, h = WIDTH / side, HEIGHT / side
    objects = []
    for k in range(n):
        x, y = (k % side) * w, (k // side) * h
        e = ExtremePoints((x + w / 2, y + 5), (x + 5, y + h / 2), (x + w / 2, y + h - 5), (x + w - 5, y + h / 2))
        objects.append(Annotation.from_extreme(0, image_id, 1, e, polygons=[e.octagon()], source=Source.IMPORTED))
    project.add_annotations(objects)


def crowded(app: QApplication, window: MainWindow, runs: int) -> dict[str, list[float]]:
    """Click to box, Ctrl+click selection and a full redraw on the current (crowded) image."""
    viewport = window.canvas.viewport()
    image_id = window.session.image_id
    first = window.project.annotations(image_id)[0].box
    cx, cy = first.x + first.w / 2, first.y + first.h / 2  # a small object inside the first, clear of its points
    clicks = [(cx, cy - first.h / 4), (cx - first.w / 4, cy), (cx + 3, cy + first.h / 4), (cx + first.w / 4, cy + 3)]
    times: dict[str, list[float]] = {"click": [], "select": [], "redraw": []}
    for k in range(runs):
        for x, y in clicks[:3]:
            QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier, window.canvas.mapFromScene(QPointF(x, y)))
        app.processEvents()
        start = time.perf_counter()
        QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier, window.canvas.mapFromScene(QPointF(*clicks[3])))
        app.processEvents()  # Qt paints what changed
        times["click"].append((time.perf_counter() - start) * 1000)
        window.session.undo()
        window.refresh()
        target = window.project.annotations(image_id)[(k * 37) % 40].box  # a different object each time
        app.processEvents()
        start = time.perf_counter()
        QTest.mouseClick(viewport, Qt.LeftButton, Qt.ControlModifier,
                         window.canvas.mapFromScene(QPointF(target.x + target.w / 2, target.y + target.h / 2)))
        app.processEvents()
        times["select"].append((time.perf_counter() - start) * 1000)
        assert window.session.selected is not None
        start = time.perf_counter()
        QTest.keyClick(window, Qt.Key_M)
        QTest.keyClick(window, Qt.Key_M)
        viewport.repaint()
        times["redraw"].append((time.perf_counter() - start) * 1000)
        app.processEvents()
    return times


#: The synthetic image's object: four clicks (top, left, bottom, right) and a correction point inside.
CLICKS = [(3000, 1000), (2000, 2000), (3100, 3000), (4000, 1900)]
INSIDE = (3000, 2100)
Target = tuple[list[tuple[float, float]], tuple[float, float]]


def photo_images(folder: Path, photo: Path, coco: Path, n: int) -> tuple[list[str], list[Target]]:
    """A real photo scaled to WIDTH px wide, and its ground-truth objects' extreme points scaled alike."""
    dataset = read_dataset(coco, "coco", photo.parent, extremes=False).dataset
    [image] = [im for im in dataset.images if im.file_name == photo.name]
    pixels = cv2.imread(str(photo))
    scale = WIDTH / pixels.shape[1]
    big = cv2.resize(pixels, (WIDTH, round(pixels.shape[0] * scale)), interpolation=cv2.INTER_CUBIC)
    names = [f"photo_{i}.jpg" for i in range(n)]
    for name in names:
        cv2.imwrite(str(folder / name), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    targets = []
    for ann in dataset.annotations:
        e = extreme_points_from_polygons(ann.polygons) if ann.image_id == image.id else None
        if e is not None:
            b = e.box
            targets.append(([(x * scale, y * scale) for x, y in (e.top, e.left, e.bottom, e.right)],
                            ((b.x + b.w / 2) * scale, (b.y + b.h / 2) * scale)))
    return names, targets


def clicking(app: QApplication, window: MainWindow, project: Project, runs: int,
             targets: list[Target]) -> tuple[list, list, list]:
    """4th click to box, and to the backend's mask, then a correction click to its mask again (ms),
    going round the targets."""
    viewport = window.canvas.viewport()
    backend = window.settings.mask_method
    click_ms, mask_ms, fix_ms = [], [], []
    for run in range(runs):
        clicks, inside = targets[run % len(targets)]
        for x, y in clicks[:3]:
            QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier, window.canvas.mapFromScene(QPointF(x, y)))
        start = time.perf_counter()
        QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier, window.canvas.mapFromScene(QPointF(*clicks[3])))
        viewport.repaint()
        click_ms.append((time.perf_counter() - start) * 1000)
        assert len(project.annotations(1)) == 1
        while window.fixing.masks.busy():  # a person looks at the object before the next: its mask arrives
            app.processEvents()
        app.processEvents()
        viewport.repaint()
        mask_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        QTest.mouseClick(viewport, Qt.LeftButton, Qt.ShiftModifier, window.canvas.mapFromScene(QPointF(*inside)))
        while window.fixing.masks.busy():
            app.processEvents()
        app.processEvents()
        viewport.repaint()
        fix_ms.append((time.perf_counter() - start) * 1000)
        [made] = project.annotations(1)
        assert made.corrections and made.attributes.get("mask_method") == backend, "the mask was not remade"
        while project.annotations(1):
            window.session.undo()
        window.refresh()
    return click_ms, mask_ms, fix_ms


@contextlib.contextmanager
def training(folder: Path):
    """The window's training process at work beside the window (DEXTR on drawn objects: no data to
    prepare), from its first step until the block ends."""
    run = folder / "training-run"
    run.mkdir()
    TrainingRequest("dextr", run, synthetic=64, minutes=30).saved()
    with open(folder / "training.out", "w+") as out:
        process = subprocess.Popen(command(run), stdout=out, stderr=subprocess.DEVNULL)
        try:
            while '"progress"' not in (folder / "training.out").read_text():
                if process.poll() is not None:
                    raise SystemExit(f"the training process ended early: {(folder / 'training.out').read_text()}")
                time.sleep(0.5)
            yield
        finally:
            process.terminate()
            process.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--only", choices=("clicks",), help="only the clicks and masks on an empty image, alone")
    ap.add_argument("--photo", type=Path, nargs="?", const=FRUITS / "images" / "0.jpg",
                    help=f"a real photo scaled to {WIDTH} px wide instead of the synthetic texture, clicked on "
                         "its ground-truth objects (default: a fruits_nuts photo)")
    ap.add_argument("--coco", type=Path, default=FRUITS / "trainval.json", help="the photo's ground truth")
    args = ap.parse_args()
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["ANNOTATOR_CONFIG_DIR"] = str(folder)  # the default settings, not the user's
        if args.photo:  # more images than the window keeps decoded (3)
            names, targets = photo_images(folder, args.photo, args.coco, 8)
        else:
            names, targets = make_images(folder, 8), [(CLICKS, INSIDE)]
        project = Project.create(folder / "p.sqlite", folder)
        project.add_images([(n, *read_image_size(folder / n)) for n in names])
        project.add_category("object")
        window = MainWindow(project)
        window.resize(1600, 1000)
        window.show()
        app.processEvents()

        backend = window.settings.mask_method
        click_ms, mask_ms, fix_ms = clicking(app, window, project, args.runs, targets)
        busy_click_ms, busy_mask_ms, switch_ms, cold_ms, crowds = [], [], [], [], {}
        if args.only != "clicks":
            with training(folder):
                busy_click_ms, busy_mask_ms, _ = clicking(app, window, project, args.runs, targets)
            rows = walk(len(names), 2 * args.runs)  # always to a neighbour, as D and A go
            for row in rows[:args.runs]:
                time.sleep(1.0)  # the person labels for a while: the neighbours are decoded meanwhile
                switch_ms.append(switch_to(window, row))
            for row in rows[args.runs:]:  # straight on, with no time for the next image to be decoded
                cold_ms.append(switch_to(window, row))
            window.backend_box.setCurrentText("octagon")  # the crowd's masks stay as they are
            for n, row in ((40, 6), (1000, 7)):
                crowd(project, window.images.records[row].id, n)
                window.images.setCurrentRow(row)
                app.processEvents()
                crowds[n] = crowded(app, window, args.runs)
        window.close()
        project.close()

    what = f"{args.photo.name} at {WIDTH} px wide" if args.photo else f"{WIDTH}x{HEIGHT} synthetic images"
    print(f"{what}; {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, Qt offscreen; {args.runs} runs each")
    print("| what | median | p95 | goal |")
    print("| --- | ---: | ---: | ---: |")
    for what, values, goal in (("4th click to box painted", click_ms, "< 16 ms"),
                               ("4th click to box painted, a training run meanwhile", busy_click_ms, "< 16 ms"),
                               (f"4th click to the {backend} mask painted", mask_ms, ""),
                               (f"4th click to the {backend} mask painted, training meanwhile", busy_mask_ms, ""),
                               (f"correction click to the {backend} mask painted", fix_ms, "< 150 ms"),
                               ("image switch after 1 s on the image (prefetched)", switch_ms, "< 50 ms"),
                               ("image switch straight away (still decoding)", cold_ms, "")):
        if not values:
            continue
        median, p95 = percentiles(values)
        print(f"| {what} | {median:.1f} ms | {p95:.1f} ms | {goal} |")
    if not crowds:
        return
    print()
    print("| on an image with | 40 objects: median | p95 | 1,000 objects: median | p95 | 1,000 / 40 | goal |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, what, goal in (("click", "4th click to box painted", "< 16 ms"),
                            ("select", "Ctrl+click to the selection painted", "< 16 ms"),
                            ("redraw", "every object drawn again (M twice) and painted", "< 50 ms")):
        (m40, p40), (m1000, p1000) = percentiles(crowds[40][key]), percentiles(crowds[1000][key])
        print(f"| {what} | {m40:.1f} ms | {p40:.1f} ms | {m1000:.1f} ms | {p1000:.1f} ms | {m1000 / m40:.1f}x "
              f"| {goal} |")


if __name__ == "__main__":
    main()
