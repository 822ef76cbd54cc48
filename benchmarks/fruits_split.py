"""What the fruits_nuts benchmarks share: the 14 / 4 split by image id, and running `annotator`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fruits_nuts"


def annotator(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "annotator", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout


def split(out: Path, held: int = 4) -> tuple[Path, Path]:
    data = json.loads((DATA / "trainval.json").read_text())
    ids = sorted(im["id"] for im in data["images"])
    parts = {"train": set(ids[:-held]), "held": set(ids[-held:])}
    paths = []
    for name, keep in parts.items():
        part = {**data, "images": [im for im in data["images"] if im["id"] in keep],
                "annotations": [a for a in data["annotations"] if a["image_id"] in keep]}
        path = out / f"{name}.json"
        path.write_text(json.dumps(part))
        paths.append(path)
    return paths[0], paths[1]
