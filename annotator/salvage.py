"""`annotator salvage`: what can be read of a damaged project, copied into a new one.

A damaged page, a dropped table, JSON that no longer parses or an object whose category is gone should
cost the rows it touches, not the project. The damaged file is only read; the new one is made with the
same image folder through the ordinary import, so it is a sound project of today's schema. Rows are read
in id order around damaged pages; a row with one unreadable field keeps the rest (the field is left
empty and counted), and an object whose category is gone keeps a category named after the old id. The
time per object, ranks and reviewed suggestions are history, not labels, and are not copied.
"""
from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from converters import Annotation, Category, Dataset, ImageRecord, ImageStatus, Review, Shape, Source
from converters.errors import UserError, shown
from converters.images import contained, read_image_size

from .store import _ANN_FIELDS, EMPTY, Project, _annotation, _check_is_project_file, _image, is_damage

FIRST_ID = -(2**63)
LAST_ID = 2**63 - 1
BATCH = 1000
#: What reading a damaged file raises: SQLite's errors, and Python's when damaged text is in the message.
UNREADABLE = (sqlite3.DatabaseError, UnicodeDecodeError)


@dataclass
class Salvaged:
    images: int = 0
    categories: int = 0
    labels: int = 0
    suggestions: int = 0
    lost: Counter = field(default_factory=Counter)  # what -> rows that could not be read at all
    emptied: Counter = field(default_factory=Counter)  # field -> rows kept without it

    def summary(self, new: Path) -> str:
        kept = (f"salvaged into {new}: {self.images} images, {self.categories} categories, {self.labels} objects, "
                f"{self.suggestions} pending suggestions")
        lost = ", ".join(f"{n} {what}" for what, n in sorted(self.lost.items()))
        emptied = ", ".join(f"{field} of {n}" for field, n in sorted(self.emptied.items()))
        emptied = f"; left empty: {emptied}" if emptied else ""
        return kept + (f"; lost: {lost}" if lost else "; nothing lost") + emptied


def salvage(damaged: Path, new: Path, images: Path | None = None) -> Salvaged:
    """Copy what `damaged` still holds into the new project `new`. `images`: the image folder, when the
    damaged file no longer says where it is."""
    _check_is_project_file(damaged)
    if new.exists():
        raise UserError("a file already exists here: salvage makes a new project", new)
    result = Salvaged()
    with contextlib.closing(_open(damaged)) as conn:
        root = images or _image_root(conn, damaged)
        if root is None:
            raise UserError("the project no longer says where its images are: give the folder with --images",
                            damaged)
        dataset = Dataset(categories=_categories(conn, result), images=_images(conn, result, root))
        labels = [*_objects(conn, "annotations", result), *_objects(conn, "suggestions", result)]
    named = {c.id for c in dataset.categories}
    for gone in sorted({a.category_id for a in labels} - named):
        dataset.categories.append(Category(id=gone, name=f"category {gone} (salvaged)"))
    placed = {im.id for im in dataset.images}
    dataset.annotations = [a for a in labels if a.image_id in placed]
    if len(labels) > len(dataset.annotations):
        result.lost["objects on images that are gone"] += len(labels) - len(dataset.annotations)
    with Project.create(new, root) as project:
        imported = project.import_dataset(dataset, root, skip_duplicates=False)
    result.images, result.categories = len(dataset.images), len(dataset.categories)
    result.labels, result.suggestions = imported.annotations_added, imported.suggestions_added
    return result


def _open(path: Path) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    for mode in ("", "&immutable=1"):  # the second where the write-ahead log's shared memory cannot be made
        conn = _reading(uri + mode)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return conn
        except UNREADABLE as e:
            conn.close()
            why = e
    raise UserError(f"its list of tables is damaged ({shown(str(why), 80)}): nothing in it can be found", path)


def _reading(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True)
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")  # damaged text is still a row
    return conn


def _image_root(conn: sqlite3.Connection, damaged: Path) -> Path | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'image_root'").fetchone()
    except UNREADABLE:
        return None
    if row is None:
        return None
    stored = Path(row[0])
    return stored if stored.is_absolute() else (damaged.parent / stored).resolve()


def rows(conn: sqlite3.Connection, table: str, columns: str, where: str = "") -> Iterator[tuple]:
    """The rows of `table` that can be read, in id order. A damaged page fails every read that touches
    it: after a failed batch the rows are read one at a time up to the page, and past it the next
    readable id is found by doubling steps and halving back, so only the page's own rows are missed."""
    sql = f"SELECT id, {columns} FROM {table} WHERE id >= ? {where} ORDER BY id LIMIT ?"
    start, size = FIRST_ID, BATCH
    while start <= LAST_ID:
        try:
            batch = conn.execute(sql, (start, size)).fetchall()
        except UNREADABLE as e:
            if not is_damage(e) or "no such" in str(e):
                return  # the table itself is gone
            if size > 1:
                size = 1
            else:
                start, size = _past_damage(lambda k: _readable(conn, sql, k), start), BATCH
            continue
        yield from batch
        if len(batch) < size:
            return
        start = batch[-1][0] + 1


def _readable(conn: sqlite3.Connection, sql: str, start: int) -> bool:
    try:
        conn.execute(sql, (start, 1)).fetchall()
        return True
    except UNREADABLE:
        return False


def _past_damage(readable: Callable[[int], bool], bad: int) -> int:
    """The least id after `bad` from which reading works again (LAST_ID + 1 when none does)."""
    step, good = 1, None
    while bad + step <= LAST_ID:
        if readable(bad + step):
            good = bad + step
            break
        bad, step = bad + step, step * 2
    if good is None:
        return LAST_ID + 1
    while good - bad > 1:
        middle = (bad + good) // 2
        if readable(middle):
            good = middle
        else:
            bad = middle
    return good


def _count_table(conn: sqlite3.Connection, table: str, result: Salvaged) -> None:
    try:
        conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
    except UNREADABLE as e:
        if "no such" in str(e):
            result.lost[f"table {table} (missing)"] += 1


def _categories(conn: sqlite3.Connection, result: Salvaged) -> list[Category]:
    _count_table(conn, "categories", result)
    found = []
    for cid, name, color, supercategory in rows(conn, "categories", "name, color, supercategory"):
        if not isinstance(name, str) or not name.strip():
            result.lost["categories without a name"] += 1
            continue
        found.append(Category(id=cid, name=name, color=color if isinstance(color, str) else None,
                              supercategory=supercategory if isinstance(supercategory, str) else None))
    return found


def _images(conn: sqlite3.Connection, result: Salvaged, root: Path) -> list[ImageRecord]:
    _count_table(conn, "images", result)
    found = []
    for row in rows(conn, "images", "path, width, height, status, attributes"):
        row = _known(row, {4: _STATUSES}, result, "image status")
        record = _tolerant(_image, row, {5: EMPTY}, result, "images")
        if record is None:
            continue
        if not (isinstance(record.file_name, str) and record.file_name):
            result.lost["images without a name or a size"] += 1
            continue
        if not _sized(record.width, record.height):
            try:  # the size from the photo itself
                record.width, record.height = read_image_size(root / contained(record.file_name))
                result.emptied["image sizes (read from the photo again)"] += 1
            except (UserError, OSError, TypeError, ValueError):
                result.lost["images without a name or a size"] += 1
                continue
        found.append(record)
    return found


def _sized(width: object, height: object) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height))


#: Annotation row positions (after the id) of fields that can be left empty, and their empty value.
_OPTIONAL = {7: None, 8: None, 9: None, 15: EMPTY, 18: None, 19: None}
_NAMES = dict(zip(range(1, 20), [c.strip() for c in _ANN_FIELDS.split(",")], strict=False))


def _objects(conn: sqlite3.Connection, table: str, result: Salvaged) -> list[Annotation]:
    _count_table(conn, table, result)
    where = "AND review = 'pending'" if table == "suggestions" else ""
    found = []
    for row in rows(conn, table, _ANN_FIELDS, where):
        row = _known(row, {12: _ORIGINS, 14: _REVIEWED[table], 17: _SHAPES}, result, "source, review or shape")
        label = _tolerant(_annotation, row, _OPTIONAL, result, "objects" if table == "annotations" else table)
        if label is not None:
            found.append(label)
    return found


_STATUSES = [s.value for s in ImageStatus]  # the first of each list stands in for a value no writer stores
_ORIGINS = ["imported", *(s.value for s in Source)]
_REVIEWED = {"annotations": ["accepted", *(r.value for r in Review)], "suggestions": ["pending"]}
_SHAPES = [s.value for s in Shape]


def _known(row: tuple, allowed: dict[int, list[str]], result: Salvaged, what: str) -> tuple:
    fixed = list(row)
    for position, values in allowed.items():
        if fixed[position] not in values:
            fixed[position] = values[0]
            result.emptied[f"{what} (set to a default)"] += 1
    return tuple(fixed)


def _tolerant(parse: Callable, row: tuple, optional: dict[int, object], result: Salvaged, what: str):
    """`parse(row)`; failing that, the row with each optional field that does not parse left empty."""
    try:
        return parse(row)
    except Exception as e:
        if not _unreadable(e):
            raise
    fixed = list(row)
    for position, empty in optional.items():
        if fixed[position] is not None and fixed[position] != empty and not _parses(fixed[position]):
            fixed[position] = empty
            result.emptied[_NAMES.get(position, "attributes") if what != "images" else "image attributes"] += 1
    try:
        return parse(tuple(fixed))
    except Exception as e:
        if not _unreadable(e):
            raise
        result.lost[what] += 1
        return None


def _unreadable(e: Exception) -> bool:
    return is_damage(e) or isinstance(e, UserError)  # points stored out of order, say


def _parses(value: object) -> bool:
    try:
        orjson.loads(value)  # type: ignore[arg-type]
        return True
    except (orjson.JSONDecodeError, TypeError):
        return False
