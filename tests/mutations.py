"""Broken and hostile files made from valid ones, one field at a time: what the readers' fuzz test
(tests/test_fuzz_readers.py) and the longer fuzz run (benchmarks/fuzz_readers.py) feed every reader."""
from __future__ import annotations

import json
import random
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from converters.errors import UserError
from converters.formats import FORMATS, WRITABLE, read_dataset, write_dataset

SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "sample"

#: What a hostile or careless file puts where a value belongs.
VALUES: list[Any] = [
    float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 1e9, -1e9, 0, -1, 2 ** 64, 10 ** 400, 1.5, True,
    None, "", "abc", "1e400", "-5", "\ud800", "é", "../../x", "/etc/hostname", [], {}, [[1, 2]], {"a": 1},
    [1e9, -1e9, 1e9, 1e9, -1e9, 1e9], list(range(6)), "0" * 5000,
]
#: The same, as the text an XML or YOLO file holds.
TEXTS = ["nan", "inf", "-inf", "1e308", "-1e9", "1e400", "0", "-1", "abc", "", "1" * 5000, "\u00e9", "1.5", "2",
         "../../x", "/etc/hostname", "0x10", " ", "1,2", "99999999999999999999"]


def seeds(folder: Path) -> dict[str, Path]:
    """A valid dataset of the bundled sample in every format, written by our own writers."""
    dataset = read_dataset(SAMPLE / "labels.json").dataset
    made = {}
    for fmt in WRITABLE:
        made[fmt] = folder / f"{fmt}{FORMATS[fmt].suffix or ''}"
        write_dataset(dataset, made[fmt], fmt, image_root=SAMPLE / "images")
    return made


def label_files(fmt: str, seed: Path) -> list[Path]:
    """The files of a seed dataset that a mutation may change."""
    if seed.is_file():
        return [seed]
    patterns = {"voc": "Annotations/*.xml", "yolo": "**/*.txt", "labelme": "*.json", "cvat": "*.xml"}[fmt]
    files = sorted(seed.glob(patterns))
    return files + ([seed / "data.yaml"] if fmt == "yolo" else [])


def mutate(fmt: str, seed: Path, target: Path, rng: random.Random) -> str:
    """Copy `seed` to `target` with one field of one file changed; says what was changed."""
    if seed.is_file():
        shutil.copy(seed, target)
    else:
        shutil.copytree(seed, target, symlinks=True)
    files = label_files(fmt, target)
    path = rng.choice(files)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        changed, what = _mutate_json(json.loads(text), rng)
        path.write_text(json.dumps(changed, allow_nan=True), encoding="utf-8", errors="surrogatepass")
    elif path.suffix == ".xml":
        changed_xml, what = _mutate_xml(text, rng)
        path.write_text(changed_xml, encoding="utf-8", errors="surrogatepass")
    else:
        lines = text.splitlines() or [""]
        k = rng.randrange(len(lines))
        tokens = lines[k].split() or [""]
        j = rng.randrange(len(tokens))
        tokens[j] = rng.choice(TEXTS)
        lines[k] = " ".join(tokens)
        what = f"{path.name} line {k + 1} token {j + 1} = {tokens[j][:20]!r}"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return what


def _mutate_json(data: Any, rng: random.Random) -> tuple[Any, str]:
    places = list(_places(data, ""))
    place, setter = rng.choice(places)
    value = rng.choice(VALUES)
    setter(value)
    return data, f"{place} = {repr(value)[:30]}"


def _places(node: Any, where: str):
    """(place, setter) for every value in a JSON tree, the containers themselves included."""
    if isinstance(node, dict):
        for key in list(node):
            yield f"{where}.{key}", (lambda v, n=node, k=key: n.__setitem__(k, v))
            yield from _places(node[key], f"{where}.{key}")
    elif isinstance(node, list):
        for i in range(min(len(node), 12)):
            yield f"{where}[{i}]", (lambda v, n=node, k=i: n.__setitem__(k, v))
            yield from _places(node[i], f"{where}[{i}]")


def _mutate_xml(text: str, rng: random.Random) -> tuple[str, str]:
    root = ET.fromstring(text)
    elements = list(root.iter())
    element = rng.choice(elements)
    value = rng.choice(TEXTS)
    if element.attrib and rng.random() < 0.6:
        key = rng.choice(sorted(element.attrib))
        element.set(key, value)
        return ET.tostring(root, encoding="unicode"), f"<{element.tag} {key}={value[:20]!r}>"
    element.text = value
    return ET.tostring(root, encoding="unicode"), f"<{element.tag}>{value[:20]!r}"


def read_and_write(fmt: str, src: Path, out: Path) -> None:
    """What a person does with the file: read it, then export it to COCO with masks (rasterised) and to
    the folder format it came in."""
    loaded = read_dataset(src, fmt, SAMPLE / "images" if fmt in ("coco", "voc", "cvat") else None)
    write_dataset(loaded.dataset, out / "out.json", "coco", rle=True)
    write_dataset(loaded.dataset, out / "again", fmt if fmt != "coco" else "yolo", image_root=loaded.image_root)


def outcome(run: Callable[[], None]) -> str:
    """'ok', 'refused' (our one-line error) or the name of anything else that escaped."""
    try:
        run()
    except UserError:
        return "refused"
    except Exception as e:  # the fuzz counts these: every one is a defect
        return type(e).__name__
    return "ok"
