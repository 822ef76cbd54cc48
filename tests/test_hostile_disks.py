"""Hostile places rather than hostile files: two processes creating one project at once, a project in
a folder nobody may write to, a disk that fills up half-way. Each command either works or says so in
one line, and nothing saved before is lost. The commands run as real processes: the file size limit
(RLIMIT_FSIZE) stands in for a full disk, and a folder is read-only by its permissions (root, which
may write anywhere, runs the command without the capabilities that override them)."""
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotator.store import Project

LABELS = "date,fig,hazelnut"
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "assets" / "sample"


def annotator(*args: str, limit: int | None = None, obeying_permissions: bool = False):
    """`annotator ARGS` in its own process, under the file size limit, or bound by file permissions."""
    def before() -> None:
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    prefix = []
    if obeying_permissions and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.fail("running as root, this test needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    return subprocess.run([*prefix, sys.executable, "-m", "annotator", *args], capture_output=True, text=True,
                          preexec_fn=before, cwd=REPO, timeout=120)


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def many_labels(folder: Path, copies: int = 20) -> Path:
    """The sample's labels, each object `copies` times (smaller each time), with extreme points
    instead of outlines."""
    data = json.loads((SAMPLE / "labels.json").read_text())
    anns = []
    for a in data["annotations"]:
        for k in range(copies):  # each 2 px smaller on a side: within a pixel it would be skipped as a copy
            i, j = k % 5, k // 5
            x, y, w, h = a["bbox"][0] + 2 * i, a["bbox"][1] + 2 * j, a["bbox"][2] - 4 * i, a["bbox"][3] - 4 * j
            anns.append({"id": len(anns) + 1, "image_id": a["image_id"], "category_id": a["category_id"],
                         "iscrowd": 0, "bbox": [x, y, w, h],
                         "extreme_points": [[x + w / 2, y], [x, y + h / 2], [x + w / 2, y + h], [x + w, y + h / 2]]})
    path = folder / "many.json"
    path.write_text(json.dumps({**data, "annotations": anns}))
    return path


def counts(path: Path) -> tuple[int, int]:
    with Project.open(path, read_only=True) as project:
        stats = project.stats()
    return stats["objects"], stats["with_mask"]


def test_two_processes_creating_the_same_project_at_once_both_succeed(tmp_path):
    start = time.time() + 2.5  # both past their imports, then at the same moment
    script = ("import sys, time; from pathlib import Path; from annotator.folders import init_project; "
              "time.sleep(max(0, float(sys.argv[1]) - time.time())); "
              "init_project(Path(sys.argv[2]), Path(sys.argv[3]), ['apple', 'pear'])")
    runs = []
    for k in range(3):
        for _ in range(2):
            runs.append(subprocess.Popen([sys.executable, "-c", script, str(start), str(SAMPLE / "images"),
                                          str(tmp_path / f"p{k}.sqlite")], cwd=REPO, stderr=subprocess.PIPE, text=True))
    for run in runs:
        assert run.wait(timeout=60) == 0, run.stderr.read()
    for k in range(3):
        with Project.open(tmp_path / f"p{k}.sqlite") as project:
            assert len(project.images()) == 4 and [c.name for c in project.categories()] == ["apple", "pear"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p0.sqlite", "p1.sqlite", "p2.sqlite"]  # no leftovers


def test_a_project_in_a_read_only_folder_is_read_and_not_written(tmp_path):
    project, out = tmp_path / "ro" / "p.sqlite", tmp_path / "out"
    out.mkdir()
    assert annotator("init", str(SAMPLE / "images"), "--project", str(project), "--labels", LABELS).returncode == 0
    assert annotator("import", "--from", "coco", str(SAMPLE / "labels.json"), "--images", str(SAMPLE / "images"),
                     "--project", str(project)).returncode == 0
    project.parent.chmod(0o555)
    project.chmod(0o444)
    before = project.read_bytes()
    stats = annotator("stats", str(project), "--json", obeying_permissions=True)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["objects"] == 39
    done = annotator("convert", str(project), "--to", "coco", "-o", str(out / "p.json"), obeying_permissions=True)
    assert done.returncode == 0, done.stderr
    assert len(json.loads((out / "p.json").read_text())["annotations"]) == 39
    said = one_line(annotator("masks", str(project), "--method", "octagon", obeying_permissions=True))
    assert f"{project}: is in a read-only place: this command writes to the project" in said
    said = one_line(annotator("import", "--from", "coco", str(SAMPLE / "labels.json"), "--images",
                              str(SAMPLE / "images"), "--project", str(project), obeying_permissions=True))
    assert "is in a read-only place" in said
    assert project.read_bytes() == before and sorted(p.name for p in project.parent.iterdir()) == ["p.sqlite"]
    project.parent.chmod(0o755)


def test_an_import_that_fills_the_disk_is_one_line_and_the_project_is_as_it_was(tmp_path):
    project = tmp_path / "p.sqlite"
    assert annotator("init", str(SAMPLE / "images"), "--project", str(project), "--labels", LABELS).returncode == 0
    before = counts(project)
    said = one_line(annotator("import", "--from", "coco", str(many_labels(tmp_path)), "--images",
                              str(SAMPLE / "images"), "--project", str(project), limit=64 * 1024))
    assert "the project could not be written" in said and "is the disk full?" in said
    assert counts(project) == before == (0, 0)
    with sqlite3.connect(project) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_masks_that_fill_the_disk_are_one_line_and_the_labels_stay(tmp_path):
    project = tmp_path / "p.sqlite"
    assert annotator("import", "--from", "coco", str(many_labels(tmp_path, 5)), "--images", str(SAMPLE / "images"),
                     "--project", str(project)).returncode == 0
    before = counts(project)
    said = one_line(annotator("masks", str(project), "--method", "octagon", limit=project.stat().st_size + 64 * 1024))
    assert "is the disk full?" in said
    objects, masked = counts(project)
    assert objects == before[0] == 195 and masked < objects  # the batches saved before the disk filled stay


def test_a_folder_export_that_fills_the_disk_is_one_line_and_leaves_nothing(tmp_path):
    project = tmp_path / "p.sqlite"
    assert annotator("import", "--from", "coco", str(SAMPLE / "labels.json"), "--images", str(SAMPLE / "images"),
                     "--project", str(project)).returncode == 0
    for fmt in ("yolo", "voc", "labelme", "cvat"):
        out = tmp_path / f"out-{fmt}"
        said = one_line(annotator("convert", str(project), "--to", fmt, "-o", str(out), limit=200))
        assert f"annotator: error: {out}: cannot write " in said and "File too large" in said
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("p.sqlite")) == []
