"""Team projects under load: simulated annotators label one PostgreSQL project at once, each in a process
of its own, as windows would (claim an image, click objects, drag a point of each, mark it done, go on).

Prints, for the team database: edits per second in all, the time until another connection sees an edit
(a listener looking four times a second, as the window does: commit to seen, from the row's time
stamp), and lost updates (an edit a person was told was saved that the database does not hold as they
left it; goal 0). Then a contested round: every annotator drags the same object's point at once, each
from the object as it saw it: how many were saved, how many refused, and whether the object holds the
last saved one. Then the same one-person workload on a project file and on the team database.

    .venv/bin/python benchmarks/team.py [--annotators 10] [--seconds 20] [--images 4000] [--file-only]

`--file-only`: the one-person workload on a project file alone (no server), to run on older code
(`PYTHONPATH=OLD_CHECKOUT`) for a baseline: code without the edit check writes without it.
"""
from __future__ import annotations

import argparse
import inspect
import multiprocessing as mp
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from annotator.store import Project
from converters import Annotation, ExtremePoints, ImageStatus

#: The window's look for the others' commits.
LISTEN_S = 0.25


def points(rng: random.Random) -> ExtremePoints:
    x, y, w, h = rng.uniform(0, 700), rng.uniform(0, 500), rng.uniform(10, 90), rng.uniform(10, 90)
    return ExtremePoints((x + w * rng.random(), y), (x, y + h * rng.random()), (x + w * rng.random(), y + h),
                         (x + w, y + h * rng.random()))


def annotator(where: str, name: str, seconds: float, seed: int, out: mp.Queue) -> None:
    """One person: claim an image nobody holds and nobody finished, click 3 objects, drag a point of each,
    mark it done."""
    rng = random.Random(seed)
    edits, saved = 0, {}  # label id -> its extreme points as this person left them
    with Project.open(where) as project:
        category = project.categories()[0].id
        todo = [im.id for im in project.images()]
        rng.shuffle(todo)
        end = time.monotonic() + seconds
        for image_id in todo:
            if time.monotonic() >= end:
                break
            if project.claim(image_id, name) is not None:
                continue
            if project.image(image_id).status is ImageStatus.DONE:  # done by another meanwhile: N passes it
                project.release(image_id, name)
                continue
            for _ in range(3):
                label = project.add_annotation(Annotation.from_extreme(0, image_id, category, points(rng)))
                moved = label.with_extreme(points(rng))
                stored = project.update_annotation(moved, expected=label)
                saved[stored.id] = stored.extreme
                edits += 2
            project.set_status(image_id, ImageStatus.DONE)
            project.release(image_id, name)
            edits += 1
    out.put((edits, saved))


def listener(where: str, seconds: float, out: mp.Queue) -> None:
    """Another person's window: every LISTEN_S it looks for commits; the labels new since its last look
    were seen now, committed at their time stamp."""
    delays: list[float] = []
    with Project.open(where) as project:
        project.subscribe(lambda change: None)  # check_outside tells subscribers: one is needed
        seen = project._db.execute("SELECT COALESCE(MAX(modified), 0) FROM annotations").fetchone()[0]
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(LISTEN_S)
            if project.check_outside():
                now = time.time()
                stamps = [m for (m,) in project._db.execute("SELECT modified FROM annotations WHERE modified > ?",
                                                            (seen,))]
                delays += [now - m for m in stamps]
                seen = max(stamps, default=seen)
    out.put(delays)


def contested(where: str, label_id: int, start_at: float, seed: int, out: mp.Queue) -> None:
    """Drag the same object's point as everyone else, at the same moment, from the object as seen."""
    from annotator.store import Conflict

    rng = random.Random(seed)
    with Project.open(where) as project:
        seen = project.annotation(label_id)
        moved = seen.with_extreme(points(rng))
        time.sleep(max(0.0, start_at - time.time()))
        try:
            stored = project.update_annotation(moved, expected=seen)
            out.put(("saved", stored.extreme))
        except Conflict:
            out.put(("refused", None))


#: Whether this code checks an edit against the object as seen (`expected`); older code cannot.
CHECKS = "expected" in inspect.signature(Project.update_annotation).parameters


def one_person(where: str, seconds: float) -> float:
    """Edits per second of the annotators' workload, one person alone (no claims: a project file has one
    window at a time)."""
    rng = random.Random(0)
    edits = 0
    with Project.open(where) as project:
        project.lock_for_labelling("benchmarks/team.py")  # as a window holds a project file
        category = project.categories()[0].id
        started = time.monotonic()
        end = started + seconds
        for im in project.images():
            if time.monotonic() >= end:
                break
            for _ in range(3):
                label = project.add_annotation(Annotation.from_extreme(0, im.id, category, points(rng)))
                moved = label.with_extreme(points(rng))
                project.update_annotation(moved, expected=label) if CHECKS else project.update_annotation(moved)
                edits += 2
            project.set_status(im.id, ImageStatus.DONE)
            edits += 1
        return edits / (time.monotonic() - started)


def project_file(folder: Path, images: int) -> Path:
    path = folder / "team.sqlite"
    with Project.create(path, folder) as p:
        p.add_images((f"img_{i:05d}.jpg", 800, 600) for i in range(images))
        p.add_category("object")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--file-only", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="annotator-team-bench-"))
    alone = folder / "alone"
    alone.mkdir()
    alone_file = one_person(str(project_file(alone, args.images)), args.seconds / 2)
    print(f"{platform.machine()}, {mp.cpu_count()} cores; Python {platform.python_version()}; PostgreSQL on this "
          f"machine; {args.annotators} annotators for {args.seconds:g} s, {args.images} images")
    print()
    print("| what | result | goal |")
    print("| --- | ---: | --- |")
    print(f"| one person alone, edits per second: project file{'' if CHECKS else ' (code without the check)'} | "
          f"{alone_file:.0f} | |")
    if args.file_only:
        return
    from annotator import pg_server
    from annotator.team import push

    server = pg_server.start(tempfile.mkdtemp(prefix="annotator-team-server-"))  # a folder of its own: under
    # root the server runs as the postgres user, who may not enter this one
    try:
        path = project_file(folder, args.images)
        url = server.url("bench")
        push(path, url)
        fresh = folder / "fresh"
        fresh.mkdir()
        alone_url = server.url("alone")
        push(project_file(fresh, args.images), alone_url)
        alone_team = one_person(alone_url, args.seconds / 2)
        print(f"| one person alone, edits per second: team database | {alone_team:.0f} | |")
        queue: mp.Queue = mp.Queue()
        workers = [mp.Process(target=annotator, args=(url, f"person{k}@bench#{k}", args.seconds, k, queue))
                   for k in range(args.annotators)]
        watcher = mp.Process(target=listener, args=(url, args.seconds + 2, queue))
        watcher.start()
        time.sleep(1.0)
        started = time.monotonic()
        for w in workers:
            w.start()
        results = [queue.get() for _ in workers]
        elapsed = time.monotonic() - started
        delays = queue.get()
        for p in [*workers, watcher]:
            p.join()
        edits = sum(e for e, _ in results)
        believed = {i: ep for _, saved in results for i, ep in saved.items()}
        with Project.open(url) as team:
            held = {a.id: a.extreme for im in team.images() for a in team.annotations(im.id)}
        lost = sum(1 for i, ep in believed.items() if held.get(i) != ep)  # each person's own objects
        label_id = next(iter(believed))
        at = time.time() + 2.0
        racers = [mp.Process(target=contested, args=(url, label_id, at, 100 + k, queue))
                  for k in range(args.annotators)]
        for p in racers:
            p.start()
        outcomes = [queue.get() for _ in racers]
        for p in racers:
            p.join()
        saved_ones = [ep for what, ep in outcomes if what == "saved"]
        with Project.open(url) as team:
            final = team.annotation(label_id).extreme
        lost += len(saved_ones) - (final in saved_ones)  # told saved, then overwritten by another
    finally:
        pg_server.stop(server)
    p95 = statistics.quantiles(delays, n=20)[18] if len(delays) >= 20 else max(delays, default=float("nan"))
    print(f"| edits per second, {args.annotators} annotators at once | {edits / elapsed:.0f} | |")
    print(f"| edit to seen by another window (looking every {LISTEN_S:g} s), median | "
          f"{statistics.median(delays) * 1000:.0f} ms | |")
    print(f"| edit to seen by another window, p95 (of {len(delays)}) | {p95 * 1000:.0f} ms | < 1000 ms |")
    print(f"| lost updates (edits told saved that the database does not hold: {len(believed)} objects of "
          f"one person each, and the contested one) | {lost} | 0 |")
    print(f"| one object dragged by {args.annotators} at once: saved / refused | {len(saved_ones)} / "
          f"{len(outcomes) - len(saved_ones)} | one saved, the rest refused |")
    print(f"| that object holds the saved drag | {'yes' if final in saved_ones else 'no'} | yes |")


if __name__ == "__main__":
    main()
