"""The project store: one SQLite file holding images, categories, labels and model suggestions.

Every edit is one transaction in WAL mode, so killing the process at any moment loses at most the edit
in flight. Model suggestions live in their own table and never overwrite a person's labels: accepting
one copies it into the labels. Image paths are relative to the image root, which is itself stored
relative to the project file, so a project folder can be moved as a whole.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import sqlite3
import stat
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from converters import Annotation, Category, Dataset, ExtremePoints, ImageRecord, ImageStatus, Review, Shape, Source
from converters.errors import UserError, nothing_at
from converters.geometry import Box, Correction
from converters.progress import Progress, bulk, no_progress, tracked
from converters.report import Report

from .changes import OUTSIDE, Change, ChangeLog, Part, Subscriber
from .claims import LEASE_S, this_person
from .database import (
    Database,
    NotAllowed,
    PostgresDatabase,
    SqliteDatabase,
    connect,
    database_name,
    is_database_url,
    shown_url,
)
from .effort import Origin, summary
from .palette import default_color
from .schema import MIGRATIONS, SCHEMA_VERSION, expected_columns
from .team_roles import ROLES, group
from .team_roots import remembered_root, team_folder

SQLITE_MAGIC = b"SQLite format 3\x00"
SKIP_REASON = "skip_reason"  # an image attribute: why the person skipped it
SKIPPED_DUPLICATES = "{n} annotations already in the project: skipped"
MISSING_ON_IMPORT = "{n} images listed in the file are missing under the image folder (kept, marked missing)"

#: Where `modified` (the time of the last write, never compared) is among `_ANN_FIELDS`.
_MODIFIED = 15
_ANN_FIELDS = ("image_id, category_id, x, y, w, h, extreme, polygons, rle, area, iscrowd, source, score, "
               "review, attributes, modified, shape, points, corrections")


@dataclass
class ImportResult:
    images_added: int = 0
    annotations_added: int = 0
    suggestions_added: int = 0
    categories_added: int = 0
    report: Report = field(default_factory=Report)


@dataclass
class RemovedCategory:
    """A deleted category and what went with it: enough to put it all back."""

    category: Category
    position: int
    moved_to: int | None
    rows: dict[str, tuple[list[str], list[tuple]]] = field(default_factory=dict)  # table -> (columns, rows) deleted
    moved: dict[str, list[int]] = field(default_factory=dict)  # table -> ids moved to `moved_to`


class Project:
    """An open project file. Use `Project.create`, `Project.open` or `Project.open_or_create`."""

    def __init__(self, path: Path, db: Database, where: str | Path | None = None, image_root: Path | None = None):
        self.path = path  # the file; a team project's local stand-in (its runs go beside it), beside no file
        self.where = where or path  # what messages name: the file, or the team database's URL
        self.location: str | Path = path  # what opens it again (a team database's full URL)
        self._db = db
        self._image_root = image_root  # a team project's: this person's copy of the images
        self._written: dict[int, tuple] = {}  # label id -> its row as this connection last wrote it
        self.person = this_person()  # who makes and changes labels through this connection
        self._lock: int | None = None  # a descriptor of the project file, flocked
        self.team_role = "owner"  # a team project's person's (team_roles.ROLES); a file's person owns it
        # One image's labels and pending suggestions as last read: the window reads them after every
        # click, and at a thousand objects a read costs 24 ms. Any write here, or a commit by another
        # connection (data_version), empties it.
        self._read: dict[tuple[str, int], list[Annotation]] = {}
        self._read_version = -1
        self._subscribers: list[Subscriber] = []
        self._changing = ChangeLog()  # what the transaction in progress writes
        self._outside_version = db.data_version()

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, image_root: str | os.PathLike) -> Project:
        """A new project file. It is made under a temporary name and linked into place, so another
        process sees it whole or not at all, and two processes creating it at once cannot both win."""
        path = Path(path)
        if path.exists():
            raise UserError("a file already exists here", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _check_writable(path)
        new = path.with_name(f".{path.name}.{os.getpid()}.new")
        try:
            with cls(new, SqliteDatabase(_connect(new))) as project:
                project._migrate(0)
                with project._transaction() as c:
                    c.execute("INSERT INTO meta (key, value) VALUES ('image_root', ?)",
                              (_stored_root(path, Path(image_root)),))
            put_in_place(new, path)
        except FileExistsError:
            raise UserError("a file already exists here", path) from None
        finally:
            remove_sqlite_file(new)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | os.PathLike, read_only: bool = False, image_root: Path | None = None) -> Project:
        """`read_only` for commands that only read: they work on a project in a folder nobody may
        write to. Any other command is told at once that the folder is read-only. A PostgreSQL URL opens
        a team project, whose images are under `image_root` (by default where the push found them)."""
        if is_database_url(path):
            return cls._open_team(str(path), read_only, image_root)
        path = Path(path)
        _check_is_project_file(path)
        if not read_only:
            _check_writable(path)
        try:
            conn = _connect(path, read_only)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app = conn.execute("SELECT value FROM meta WHERE key = 'application'").fetchone() if version else None
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:  # the latter: damaged text in the schema
            if not is_damage(e):
                raise UserError(f"cannot open the project: {e}", path) from None
            raise damaged(path, str(e)) from None
        if version == 0 or app is None or app[0] != "annotator":
            conn.close()
            raise UserError("an SQLite file, but not an annotator project", path)
        if version > SCHEMA_VERSION:
            conn.close()
            raise UserError(f"made by a newer annotator (schema {version}; this one reads up to {SCHEMA_VERSION})",
                            path)
        if version < SCHEMA_VERSION and read_only:
            conn.close()
            raise UserError(f"made by an older annotator (schema {version}): open it once with a command that "
                            "writes (or the window), in a folder it may write to, to bring it up to date", path)
        project = cls(path, SqliteDatabase(conn))
        project._migrate(version)
        project._check_tables()
        return project

    @classmethod
    def _open_team(cls, url: str, read_only: bool, image_root: Path | None) -> Project:
        where = shown_url(url)
        db = PostgresDatabase(connect(url), url)
        try:
            version = db.schema_version()
            app = db.execute("SELECT value FROM meta WHERE key = 'application'").fetchone() if version else None
            if version == 0 or app is None or app[0] != "annotator":
                raise UserError("holds no annotator project: `annotator team push PROJECT URL` puts one there", where)
            if version > SCHEMA_VERSION:
                raise UserError(f"holds a project of a newer annotator (schema {version}; this one reads up to "
                                f"{SCHEMA_VERSION})", where)
            if version < SCHEMA_VERSION and read_only:
                raise UserError(f"holds a project of an older annotator (schema {version}): open it once with a "
                                "command that writes, to bring it up to date", where)
        except BaseException:
            db.close()
            raise
        if image_root is None:
            image_root = remembered_root(url)  # this person's copy of the images, if they said where
        project = cls(team_folder(url), db, where, image_root.resolve() if image_root is not None else None)
        project.location = url
        login, owns = db.execute("SELECT current_user, pg_has_role(current_user, d.datdba, 'member') OR "
                                 "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
                                 "FROM pg_database d WHERE d.datname = current_database()").fetchone()
        if not owns:  # a person's login role: the labels' policies compare `made_by` with it
            project.person = login
            groups = {group(database_name(url), role): role for role in ROLES}
            held = {groups[name] for (name,) in db.execute(
                "SELECT rolname FROM pg_roles WHERE rolname IN (?, ?, ?) AND pg_has_role(current_user, oid, 'member')",
                tuple(groups)).fetchall()}
            project.team_role = next((role for role in reversed(ROLES) if role in held), "annotator")
        project._migrate(version)
        project._check_tables()
        return project

    def check_owner(self, what: str) -> None:
        """Refuse at once, in one line, what only a team project's owner may do (pre-labelling, ranking,
        training), rather than after the work when the first write is refused."""
        if self.team_role != "owner":
            raise NotAllowed(f"{what} is the team project's owner's to do, and your team role is {self.team_role}",
                             self.where)

    @property
    def is_team(self) -> bool:
        """Whether the project is a team database rather than a file."""
        return self.where != self.path

    def _check_tables(self) -> None:
        """A table or column the schema has and the file lacks (an old tool, a hand edit) is damage, said
        at once rather than as a traceback at the first read of it."""
        with self._reading("its tables"):
            found = self._db.columns()
        for table, columns in expected_columns(tuple(MIGRATIONS)).items():
            if table not in found:
                raise damaged(self.where, f"table {table} is missing")
            lacking = [c for c in columns if c not in found[table]]
            if lacking:
                raise damaged(self.where, f"table {table} lacks column {lacking[0]}")

    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Rows that cannot be read (a damaged page, JSON that does not parse, a value no writer stores)
        are one line naming the project and what was read, pointing at `annotator salvage`."""
        try:
            yield
        except Exception as e:
            if not is_damage(e):
                raise
            raise damaged(self.where, f"{what}: {e}") from None

    @classmethod
    def open_or_create(cls, path: str | os.PathLike, image_root: str | os.PathLike) -> Project:
        if is_database_url(path):  # made by `annotator team push`
            return cls.open(path)
        path = Path(path)
        if not path.exists():
            try:
                return cls.create(path, image_root)
            except UserError:
                if not path.exists():
                    raise
        return cls.open(path)  # another process made it meanwhile

    def close(self) -> None:
        self._db.close()
        self._subscribers.clear()
        if self._lock is not None:
            holder = _holder_file(self.path)
            with contextlib.suppress(OSError):
                if stat.S_ISREG(holder.lstat().st_mode):  # ours; a link or anything else is left alone
                    holder.unlink()  # before the lock goes, so a new holder's name stays
            os.close(self._lock)  # closing the file releases the lock
            self._lock = None

    def lock_for_labelling(self, holder: str = "a labelling window") -> None:
        """Take the project for one labelling window or one command that labels or imports at length
        (`holder` says which, in the words the refused one is told). A second one on the same project,
        in this process or another, is refused, naming the first; the lock goes with the process, so a
        killed app never leaves the project locked.

        The lock is on the project file itself (flock, apart from SQLite's own byte-range locks), so a
        project opened through a symbolic or a hard link is the same project. Who holds it is written
        beside the file's real path, in PROJECT.lock, never through a link: a link there is left alone."""
        if self.is_team:  # several people at once: each window claims the image it shows instead (`claim`)
            return
        lock = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            held_by = _holder(self.path) or "another labelling window or command"
            raise UserError(f"is in use by {held_by}: close it, or let it finish, and try again", self.where) from None
        self._lock = lock
        _holder(self.path, f"{holder} (process {os.getpid()})")

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _migrate(self, version: int) -> None:
        try:
            self._db.migrate(version)
        except Exception as e:  # each step is one transaction: the project is as it was after the last one
            raise UserError(f"cannot upgrade the project to schema {self._db.schema_version() + 1}: {e}",
                            self.where) from None

    @contextlib.contextmanager
    def _transaction(self, labels: bool = False) -> Iterator[Database]:
        """One edit, all or nothing. It empties the read cache, before and after (an import reads what
        an image holds while it writes), except for an edit of single labels (`labels`), which brings the
        cached lists up to date itself (`_relabel`). Another process's long write (a large import) that
        outlasts the busy timeout is one line, not a traceback: nothing was changed, and the caller says so."""
        try:
            self._db.begin()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            raise UserError("is busy: another program is writing it (an import?), and nothing was changed: try "
                            "again in a moment", self.where) from None
        if not labels:
            self._read.clear()
        try:
            yield self._db
            self._db.commit()
            if not labels:
                self._read.clear()
        except BaseException:
            if self._db.in_transaction:  # SQLite ends it itself on some errors (a full disk)
                try:
                    self._db.rollback()
                except sqlite3.Error:  # the disk failed it too: the log's uncommitted part is ignored on the next open
                    pass
            self._read.clear()
            self._changing.take()  # what it noted did not happen
            raise
        change = self._changing.take()
        if change is not None:
            self._tell(change)

    # -- telling what changed ------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with each committed change, this connection's after its transaction and
        another's when `check_outside` finds it. Returns the call that unsubscribes."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:  # closing the project unsubscribed everyone
                self._subscribers.remove(subscriber)
        return unsubscribe

    def check_outside(self) -> bool:
        """Whether another connection (the command line, a worker) committed since the last check; if
        so, subscribers are told that anything may have changed. Cheap: it reads no table. A closed
        project has nothing to tell (a window may ask once more as it goes)."""
        if not self._subscribers:
            return False
        version = self.data_version()
        if version == self._outside_version:
            return False
        self._outside_version = version
        self._tell(OUTSIDE)
        return True

    def _changed(self, parts: Iterable[Part], image_ids: Iterable[int] | None = ()) -> None:
        """Noted inside a transaction; told once it commits. `image_ids` None: any image."""
        self._changing.add(parts, image_ids)

    def _tell(self, change: Change) -> None:
        for subscriber in list(self._subscribers):
            subscriber(change)

    def _relabel(self, gone: int | None = None, stored: Annotation | None = None) -> None:
        """The cached labels after one label went (`gone`) or was stored (`stored`), without reading
        the image's thousand others again."""
        for (table, image_id), anns in self._read.items():
            if table != "annotations":
                continue
            kept = [a for a in anns if a.id not in (gone, stored.id if stored else None)]
            if stored is not None and stored.image_id == image_id:
                kept = sorted([*kept, stored], key=lambda a: a.id)
            self._read[table, image_id] = kept

    def _cached(self, table: str, image_id: int, read) -> list[Annotation]:
        version = self.data_version()
        if version != self._read_version or len(self._read) > 8:
            self._read.clear()
            self._read_version = version
        if (table, image_id) not in self._read:
            with self._reading(f"{'objects' if table == 'annotations' else 'suggestions'} of image {image_id}"):
                rows = read()
                known = {i for (i,) in self._db.execute("SELECT id FROM categories")}
            self._check_placed(rows, known)
            self._read[table, image_id] = rows
        return list(self._read[table, image_id])

    def data_version(self) -> int:
        """A number that changes when another connection (the command line, a worker) commits: how the
        window learns of changes it did not make, without reading the tables."""
        return self._db.data_version()

    @property
    def schema_version(self) -> int:
        return self._db.schema_version()

    # -- images --------------------------------------------------------------------------------
    @property
    def image_root(self) -> Path:
        if self._image_root is not None:
            return self._image_root
        stored = self._meta("image_root")
        return (self.path.parent / stored).resolve() if not Path(stored).is_absolute() else Path(stored)

    def _meta(self, key: str) -> str:
        return self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def add_images(self, images: Iterable[tuple[str, int, int]]) -> int:
        """Add (relative path, width, height) rows; paths already in the project are left alone."""
        with self._transaction() as c:
            added = c.executemany("INSERT INTO images (path, width, height) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                  ((_posix(p), w, h) for p, w, h in images))
            self._changed([Part.IMAGES], None)
            return added

    def images(self, status: ImageStatus | None = None) -> list[ImageRecord]:
        sql = "SELECT id, path, width, height, status, attributes FROM images"
        with self._reading("images"):
            rows = (self._db.execute(sql + " WHERE status = ? ORDER BY id", (ImageStatus(status).value,))
                    if status else self._db.execute(sql + " ORDER BY id"))
            return [_image(r) for r in rows]

    def image(self, image_id: int) -> ImageRecord:
        row = self._db.execute("SELECT id, path, width, height, status, attributes FROM images WHERE id = ?",
                                 (image_id,)).fetchone()
        if row is None:
            raise UserError(f"no image with id {image_id}", self.where)
        with self._reading(f"image {image_id}"):
            return _image(row)

    def content_hash(self, image_id: int, digest: str) -> str:
        """The image's content hash as the project keeps it: `digest` if it had none yet (the first copy
        looked at is the one the team labels), else the one kept, for the caller to compare."""
        with self._transaction(labels=True) as c:
            c.execute("UPDATE images SET content_hash = ? WHERE id = ? AND content_hash IS NULL", (digest, image_id))
            row = c.execute("SELECT content_hash FROM images WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            raise UserError(f"no image with id {image_id}", self.where)
        return row[0]

    def image_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def set_status(self, image_id: int, status: ImageStatus, reason: str | None = None) -> None:
        """A skipped image keeps the person's reason (attribute `skip_reason`); any other status drops it."""
        with self._transaction(labels=True) as c:  # no label changes: the cached ones stay
            row = c.execute("SELECT attributes FROM images WHERE id = ?", (image_id,)).fetchone()
            if row is None:
                raise UserError(f"no image with id {image_id}", self.where)
            attributes = orjson.loads(row[0])
            attributes.pop(SKIP_REASON, None)
            if ImageStatus(status) is ImageStatus.SKIPPED and reason:
                attributes[SKIP_REASON] = reason
            done = ImageStatus(status) is ImageStatus.DONE
            c.execute("UPDATE images SET status = ?, attributes = ?, done_by = CASE WHEN ? THEN ? ELSE done_by END "
                      "WHERE id = ?", (ImageStatus(status).value, _json(attributes), done, self.person, image_id))
            self._changed([Part.IMAGES], [image_id])

    def review(self, image_id: int, accept: bool, comment: str = "") -> None:
        """A reviewer's verdict on an image: accepted, or sent back with a comment to the person who marked
        it done, the image in progress again (it returns to their unfinished images)."""
        with self._transaction(labels=True) as c:
            row = c.execute("SELECT done_by FROM images WHERE id = ?", (image_id,)).fetchone()
            if row is None:
                raise UserError(f"no image with id {image_id}", self.where)
            c.execute(f"INSERT INTO reviews (image_id, verdict, reviewer, comment, annotator, at) "
                      f"VALUES (?, ?, ?, ?, ?, {c.now}) ON CONFLICT (image_id) DO UPDATE SET "
                      "verdict = excluded.verdict, reviewer = excluded.reviewer, comment = excluded.comment, "
                      "annotator = excluded.annotator, at = excluded.at",
                      (image_id, "accepted" if accept else "sent back", self.person, comment.strip(), row[0]))
            if not accept:
                c.execute("UPDATE images SET status = ? WHERE id = ?", (ImageStatus.IN_PROGRESS.value, image_id))
            self._changed([Part.IMAGES], [image_id])

    def reviews(self) -> dict[int, tuple[str, str, str, str | None]]:
        """Image id -> (verdict, reviewer, comment, the person it went back to)."""
        return {i: (v, r, c, a) for i, v, r, c, a in self._db.execute(
            "SELECT image_id, verdict, reviewer, comment, annotator FROM reviews")}

    def mark_unreadable(self, image_id: int, unreadable: bool = True) -> None:
        """Note (or clear) that an image's file could not be decoded, so lists can show it."""
        with self._transaction() as c:
            row = c.execute("SELECT attributes FROM images WHERE id = ?", (image_id,)).fetchone()
            if row is None:
                raise UserError(f"no image with id {image_id}", self.where)
            attributes = orjson.loads(row[0])
            if unreadable:
                attributes["unreadable"] = True
            else:
                attributes.pop("unreadable", None)
            c.execute("UPDATE images SET attributes = ? WHERE id = ?", (_json(attributes), image_id))
            self._changed([Part.IMAGES], [image_id])

    def missing_images(self) -> list[str]:
        """Relative paths of images no longer found under the image root; the project keeps working."""
        root = self.image_root
        return [p for (p,) in self._db.execute("SELECT path FROM images ORDER BY id")
                if not (root / p).is_file()]

    # -- categories ----------------------------------------------------------------------------
    def categories(self) -> list[Category]:
        with self._reading("categories"):
            rows = self._db.execute("SELECT id, name, color, supercategory FROM categories ORDER BY position, id")
            return [Category(id=i, name=n, color=c, supercategory=s) for i, n, c, s in rows]

    def add_category(self, name: str, color: str | None = None, supercategory: str | None = None) -> Category:
        """The category called `name`, created (at the end of the order) if the project lacks it."""
        with self._transaction() as c:
            return self._ensure_category(c, name, color, supercategory)

    def _ensure_category(self, c: Database, name: str, color: str | None,
                         supercategory: str | None) -> Category:
        name = name.strip()
        if not name:
            raise UserError("a category name cannot be empty", self.where)
        row = c.execute("SELECT id, name, color, supercategory FROM categories WHERE name = ?", (name,)).fetchone()
        if row:
            return Category(*row[:2], color=row[2], supercategory=row[3])
        position = c.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM categories").fetchone()[0]
        color = color or default_color(position)
        new = c.insert("INSERT INTO categories (name, color, position, supercategory) VALUES (?, ?, ?, ?)",
                       (name, color, position, supercategory))
        self._changed([Part.CATEGORIES])
        return Category(id=new, name=name, color=color, supercategory=supercategory)

    def update_category(self, category: Category) -> Category:
        """Rename or recolour a category (matched by id); names stay unique."""
        name = category.name.strip()
        if not name:
            raise UserError("a category name cannot be empty", self.where)
        with self._transaction() as c:
            clash = c.execute("SELECT 1 FROM categories WHERE name = ? AND id != ?", (name, category.id)).fetchone()
            if clash:
                raise UserError(f"there is already a category called {name!r}", self.where)
            cur = c.execute("UPDATE categories SET name = ?, color = ?, supercategory = ? WHERE id = ?",
                            (name, category.color, category.supercategory, category.id))
            if cur.rowcount == 0:
                raise UserError(f"no category with id {category.id}", self.where)
            self._changed([Part.CATEGORIES])
        return dataclasses.replace(category, name=name)

    def order_categories(self, ids: list[int]) -> None:
        """Put the categories in this order (the digit keys follow it); `ids` must name each once."""
        with self._transaction() as c:
            known = {i for (i,) in c.execute("SELECT id FROM categories")}
            if sorted(ids) != sorted(known):
                raise UserError("the new order must name every category once", self.where)
            c.executemany("UPDATE categories SET position = ? WHERE id = ?", [(k, i) for k, i in enumerate(ids)])
            self._changed([Part.CATEGORIES])

    def category_use(self, category_id: int) -> tuple[int, int]:
        """(labels, suggestions) of this category."""
        return tuple(self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE category_id = ?",
                                        (category_id,)).fetchone()[0] for table in ("annotations", "suggestions"))

    def delete_category(self, category_id: int, move_to: int | None = None) -> RemovedCategory:
        """Delete a category with its labels and suggestions, or first move them to `move_to`. The result
        holds all that went, so `restore_category` can put it back exactly (an undo)."""
        with self._transaction() as c:
            row = c.execute("SELECT id, name, color, supercategory, position FROM categories WHERE id = ?",
                            (category_id,)).fetchone()
            if row is None:
                raise UserError(f"no category with id {category_id}", self.where)
            if move_to == category_id or (move_to is not None and not c.execute(
                    "SELECT 1 FROM categories WHERE id = ?", (move_to,)).fetchone()):
                raise UserError("move the objects to another category that exists", self.where)
            removed = RemovedCategory(Category(*row[:4]), row[4], move_to)
            for table in ("suggestions", "annotations"):  # suggestions first: they may name a label
                if move_to is None:
                    cur = c.execute(f"SELECT * FROM {table} WHERE category_id = ?", (category_id,))
                    removed.rows[table] = ([d[0] for d in cur.description], cur.fetchall())
                    c.execute(f"DELETE FROM {table} WHERE category_id = ?", (category_id,))
                else:
                    removed.moved[table] = [i for (i,) in c.execute(
                        f"SELECT id FROM {table} WHERE category_id = ?", (category_id,))]
                    c.execute(f"UPDATE {table} SET category_id = ? WHERE category_id = ?", (move_to, category_id))
            c.execute("DELETE FROM categories WHERE id = ?", (category_id,))
            self._changed([Part.CATEGORIES, Part.LABELS, Part.SUGGESTIONS], None)
            return removed

    def restore_category(self, removed: RemovedCategory) -> None:
        with self._transaction() as c:
            cat = removed.category
            c.execute("INSERT INTO categories (id, name, color, supercategory, position) VALUES (?, ?, ?, ?, ?)",
                      (cat.id, cat.name, cat.color, cat.supercategory, removed.position))
            for table in ("annotations", "suggestions"):
                for i in removed.moved.get(table, []):
                    c.execute(f"UPDATE {table} SET category_id = ? WHERE id = ?", (cat.id, i))
                if table in removed.rows:
                    self._restore_rows(c, table, *removed.rows[table])
            self._changed([Part.CATEGORIES, Part.LABELS, Part.SUGGESTIONS], None)

    @staticmethod
    def _restore_rows(c: Database, table: str, columns: list[str], rows: list[tuple]) -> None:
        c.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)

    # -- labels --------------------------------------------------------------------------------
    def annotations(self, image_id: int) -> list[Annotation]:
        return self._cached("annotations", image_id, lambda: [_annotation(r) for r in self._db.execute(
            f"SELECT id, {_ANN_FIELDS} FROM annotations WHERE image_id = ? ORDER BY id", (image_id,))])

    def annotation(self, annotation_id: int) -> Annotation:
        row = self._db.execute(f"SELECT id, {_ANN_FIELDS} FROM annotations WHERE id = ?",
                                 (annotation_id,)).fetchone()
        if row is None:
            raise UserError(f"no annotation with id {annotation_id}", self.where)
        with self._reading(f"object {annotation_id}"):
            return _annotation(row)

    def add_annotation(self, ann: Annotation) -> Annotation:
        """Store a new label (its `id` is ignored) and return it with the id it got."""
        with self._transaction(labels=True) as c:
            stored = self._insert(c, "annotations", ann)
            _forget_effort(c, stored.id)
            self._relabel(stored=stored)
            self._changed([Part.LABELS], [stored.image_id])
        return stored

    def add_annotations(self, anns: Iterable[Annotation]) -> int:
        """Store many new labels in one transaction (all or none); returns how many."""
        image_ids: set[int] = set()
        count = 0
        with self._transaction() as c:
            first = None
            for ann in anns:
                stored_id = self._insert(c, "annotations", ann).id
                first = stored_id if first is None else first
                image_ids.add(ann.image_id)
                count += 1
            if first is not None:
                _forget_effort(c, first)
            self._changed([Part.LABELS], image_ids)
        return count

    def update_annotation(self, ann: Annotation, expected: Annotation | None = None) -> Annotation:
        """Replace a stored label (matched by id). With `expected`, the label as the editor saw it: if the
        store holds anything else (another person changed it meanwhile), the edit is refused (`Conflict`)
        rather than overwriting theirs."""
        with self._transaction(labels=True) as c:
            if expected is not None:
                self._check_unchanged(c, expected)
            stored = self._update(c, ann)
            self._relabel(stored=stored)
        return stored

    def update_annotations(self, anns: Iterable[Annotation]) -> list[Annotation]:
        """Replace stored labels (matched by id) in one transaction: all or none."""
        with self._transaction(labels=True) as c:
            stored = [self._update(c, ann) for ann in anns]
            for ann in stored:
                self._relabel(stored=ann)
        return stored

    def _gone(self, c: Database, label_id: int) -> UserError:
        """Why a label could not be changed: another person's under a team role that changes only one's own
        (the row is there to read), or deleted meanwhile."""
        row = c.execute("SELECT made_by FROM annotations WHERE id = ?", (label_id,)).fetchone()
        if row is not None:
            return NotAllowed(f"object {label_id} is {row[0] or 'someone else'}'s: your team role changes only your "
                              "own labels", self.where)
        return Conflict(f"object {label_id} was deleted by someone else meanwhile: your edit was not saved",
                        self.where)

    def _check_unchanged(self, c: Database, expected: Annotation) -> None:
        """Optimistic concurrency: the stored row, but for its time stamp, is `expected`, or what this
        connection wrote there last (the mask a backend made meanwhile is the person's own). A project
        file this connection holds (`lock_for_labelling`) has no other writer of labels: no look needed."""
        if self._lock is not None:
            return
        row = c.execute(f"SELECT {_ANN_FIELDS} FROM annotations WHERE id = ?{c.for_update}",
                        (expected.id,)).fetchone()
        if row is None:
            raise self._gone(c, expected.id)
        if _content(row) not in (_content(_row(self._with_area(c, expected))), self._written.get(expected.id)):
            self._read.clear()  # what the person sees next is what the other left
            raise Conflict(f"object {expected.id} was changed by someone else meanwhile: your edit was not "
                           "saved, and it is shown as they left it", self.where)

    def _update(self, c: Database, ann: Annotation) -> Annotation:
        stored = self._with_area(c, ann)
        values = _row(stored)
        self._written[ann.id] = _content(values)
        cur = c.execute(f"UPDATE annotations SET ({_ANN_FIELDS}) = ({', '.join('?' * len(values))}), changed_by = ? "
                        "WHERE id = ?", (*values, self.person, ann.id))
        if cur.rowcount == 0:
            raise self._gone(c, ann.id)
        self._changed([Part.LABELS], [stored.image_id])
        return stored

    def delete_annotation(self, annotation_id: int, expected: Annotation | None = None) -> None:
        """With `expected`, as in `update_annotation`: refused if another person changed it meanwhile."""
        with self._transaction(labels=True) as c:
            if expected is not None:
                self._check_unchanged(c, expected)
            gone = c.execute("DELETE FROM annotations WHERE id = ? RETURNING image_id", (annotation_id,)).fetchall()
            if not gone and c.execute("SELECT 1 FROM annotations WHERE id = ?", (annotation_id,)).fetchone():
                raise self._gone(c, annotation_id)
            self._changed([Part.LABELS], [image_id for (image_id,) in gone])
            self._relabel(gone=annotation_id)

    def restore_annotation(self, ann: Annotation) -> Annotation:
        """Put back a label that was deleted, under its old id, so that later edits naming it (an undo
        history) still find it."""
        with self._transaction(labels=True) as c:
            stored = self._insert(c, "annotations", ann, {"id": ann.id})
            self._relabel(stored=stored)
            self._changed([Part.LABELS], [stored.image_id])
        return stored

    def _insert(self, c: Database, table: str, ann: Annotation, extra: dict | None = None) -> Annotation:
        stored = self._with_area(c, ann)
        row = _row(stored)
        if table == "annotations":
            extra = {**(extra or {}), "made_by": self.person, "changed_by": self.person}
        names = _ANN_FIELDS + "".join(f", {k}" for k in (extra or {}))
        values = (*row, *(extra or {}).values())
        stored.id = c.insert(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(values))})", values)
        if table == "annotations":
            self._written[stored.id] = _content(row)
        return stored

    def _with_area(self, c: Database, ann: Annotation) -> Annotation:
        if ann.area is not None:
            return dataclasses.replace(ann)
        row = c.execute("SELECT width, height FROM images WHERE id = ?", (ann.image_id,)).fetchone()
        if row is None:
            raise UserError(f"no image with id {ann.image_id}", self.where)
        return dataclasses.replace(ann, area=ann.compute_area(row[1], row[0]))

    # -- model suggestions ---------------------------------------------------------------------
    def add_suggestions(self, anns: Iterable[Annotation], model: str | None = None) -> list[Annotation]:
        """Store model output as pending suggestions, apart from the labels it never overwrites."""
        with self._transaction() as c:
            stored = [self._insert(c, "suggestions", dataclasses.replace(a, source=Source.MODEL, review=Review.PENDING),
                                   {"model": model}) for a in anns]
            self._changed([Part.SUGGESTIONS], {a.image_id for a in stored})
            return stored

    def prelabelled(self, model: str) -> dict[int, float]:
        """Image id -> the minimum score `model` pre-labelled it at (with or without finding anything)."""
        rows = self._db.execute("SELECT image_id, min_score FROM prelabelled WHERE model = ?", (model,))
        return dict(rows.fetchall())

    def replace_suggestions(self, image_id: int, model: str, anns: Iterable[Annotation],
                            min_score: float) -> list[Annotation]:
        """`model`'s new suggestions on an image, in place of its pending ones there (what a person has
        accepted or rejected stays), and the image marked pre-labelled by it at `min_score`; one
        transaction."""
        with self._transaction() as c:
            c.execute("DELETE FROM suggestions WHERE image_id = ? AND model = ? AND review = 'pending'",
                      (image_id, model))
            stored = [self._insert(c, "suggestions", dataclasses.replace(a, source=Source.MODEL, review=Review.PENDING),
                                   {"model": model}) for a in anns]
            c.execute("INSERT INTO prelabelled (model, image_id, min_score) VALUES (?, ?, ?) "
                      "ON CONFLICT (model, image_id) DO UPDATE SET min_score = excluded.min_score",
                      (model, image_id, min_score))
            self._changed([Part.SUGGESTIONS], [image_id])
            return stored

    def pending_suggestion_counts(self) -> dict[int, int]:
        """Image id -> how many pending suggestions it has (images without any are left out)."""
        rows = self._db.execute("SELECT image_id, COUNT(*) FROM suggestions WHERE review = 'pending' "
                                  "GROUP BY image_id")
        return dict(rows.fetchall())

    def suggestions(self, image_id: int, review: Review | None = Review.PENDING) -> list[Annotation]:
        sql = f"SELECT id, {_ANN_FIELDS} FROM suggestions WHERE image_id = ?"
        args: tuple = (image_id,)
        if review is not None:
            sql += " AND review = ?"
            args += (Review(review).value,)
        read = lambda: [_annotation(r) for r in self._db.execute(sql + " ORDER BY id", args)]  # noqa: E731
        return self._cached(f"suggestions {review}", image_id, read)

    def pending_by_model(self) -> dict[str, int]:
        """Model -> its pending suggestions, for clearing one model's ("" for suggestions of no model)."""
        rows = self._db.execute("SELECT COALESCE(model, ''), COUNT(*) FROM suggestions WHERE review = 'pending' "
                                  "GROUP BY model ORDER BY model")
        return dict(rows.fetchall())

    def remove_pending(self, model: str) -> tuple[list[str], list[tuple]]:
        """Delete one model's pending suggestions, so that a later run of it suggests on those images
        again; returns the rows (columns, rows) for `restore_suggestions`."""
        with self._transaction() as c:
            where = "review = 'pending' AND COALESCE(model, '') = ?"
            cur = c.execute(f"SELECT * FROM suggestions WHERE {where}", (model,))
            columns, rows = [d[0] for d in cur.description], cur.fetchall()
            c.execute(f"DELETE FROM suggestions WHERE {where}", (model,))
            c.execute("DELETE FROM prelabelled WHERE model = ?", (model,))  # a later run suggests there again
            self._changed([Part.SUGGESTIONS], None)
            return columns, rows

    def restore_suggestions(self, columns: list[str], rows: list[tuple]) -> None:
        with self._transaction() as c:
            self._restore_rows(c, "suggestions", columns, rows)
            self._changed([Part.SUGGESTIONS], None)

    def accept_suggestion(self, suggestion_id: int, label_id: int | None = None) -> Annotation:
        """Copy a pending suggestion into the labels (as an accepted model label) and mark it accepted.
        `label_id` gives the label a known id (a redo gives back the id the first accept gave)."""
        with self._transaction() as c:
            row = c.execute(f"SELECT id, {_ANN_FIELDS} FROM suggestions WHERE id = ? AND review = 'pending'",
                            (suggestion_id,)).fetchone()
            if row is None:
                raise UserError(f"no pending suggestion with id {suggestion_id}", self.where)
            suggestion = _annotation(row)
            label = self._insert(c, "annotations", dataclasses.replace(suggestion, review=Review.ACCEPTED),
                                 {"id": label_id} if label_id is not None else None)
            if label_id is None:
                _forget_effort(c, label.id)
            c.execute("UPDATE suggestions SET review = 'accepted', annotation_id = ? WHERE id = ?",
                      (label.id, suggestion_id))
            self._changed([Part.LABELS, Part.SUGGESTIONS], [suggestion.image_id])
            return label

    def reject_suggestion(self, suggestion_id: int) -> None:
        with self._transaction() as c:
            rejected = c.execute("UPDATE suggestions SET review = 'rejected' WHERE id = ? AND review = 'pending' "
                                 "RETURNING image_id", (suggestion_id,)).fetchall()
            if not rejected:
                raise UserError(f"no pending suggestion with id {suggestion_id}", self.where)
            self._changed([Part.SUGGESTIONS], [rejected[0][0]])

    def reopen_suggestion(self, suggestion_id: int) -> None:
        """Make an accepted or rejected suggestion pending again; an accepted one's label goes."""
        with self._transaction() as c:
            row = c.execute("SELECT annotation_id, image_id FROM suggestions WHERE id = ? AND review != 'pending'",
                            (suggestion_id,)).fetchone()
            if row is None:
                raise UserError(f"no accepted or rejected suggestion with id {suggestion_id}", self.where)
            if row[0] is not None:
                c.execute("DELETE FROM annotations WHERE id = ?", (row[0],))
            self._changed([Part.LABELS, Part.SUGGESTIONS], [row[1]])
            c.execute("UPDATE suggestions SET review = 'pending', annotation_id = NULL WHERE id = ?",
                      (suggestion_id,))

    # -- who labels which image (team projects) ------------------------------------------------------
    def claim(self, image_id: int, holder: str, seconds: float = LEASE_S) -> str | None:
        """Take (or renew) the image for `holder` for `seconds`; None if it is theirs now, else who holds
        it. Claims that ran out are dropped first: a window that died lets go by itself."""
        with self._transaction(labels=True) as c:
            c.execute(f"DELETE FROM claims WHERE until < {c.now}")
            row = c.execute("SELECT holder FROM claims WHERE image_id = ?", (image_id,)).fetchone()
            if row is not None and row[0] != holder:
                return row[0]
            c.execute(f"INSERT INTO claims (image_id, holder, until) VALUES (?, ?, {c.now} + ?) "
                      "ON CONFLICT (image_id) DO UPDATE SET holder = excluded.holder, until = excluded.until",
                      (image_id, holder, seconds))
            if row is None:  # new: the others' image lists show who works here
                self._changed([Part.IMAGES], [image_id])
        return None

    def release(self, image_id: int, holder: str) -> None:
        with self._transaction(labels=True) as c:
            if c.execute("DELETE FROM claims WHERE image_id = ? AND holder = ?", (image_id, holder)).rowcount:
                self._changed([Part.IMAGES], [image_id])

    def claims(self) -> dict[int, str]:
        """Image id -> who holds it now."""
        return dict(self._db.execute(f"SELECT image_id, holder FROM claims WHERE until >= {self._db.now}").fetchall())

    # -- the order worth labelling in -------------------------------------------------------------
    def set_ranks(self, values: dict[int, float], measure: str, model: str) -> None:
        """Replace the images' ranks (higher: label sooner) with one ranking's, in one transaction."""
        with self._transaction() as c:
            c.execute("DELETE FROM ranks")
            c.executemany("INSERT INTO ranks (image_id, value) VALUES (?, ?)", values.items())
            c.execute("INSERT INTO meta (key, value) VALUES ('ranked_by', ?) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                      (orjson.dumps({"measure": measure, "model": model}).decode(),))
            self._changed([Part.IMAGES], values.keys())

    def ranks(self) -> dict[int, float]:
        return dict(self._db.execute("SELECT image_id, value FROM ranks").fetchall())

    def ranked_by(self) -> dict[str, str] | None:
        """The measure and model of the ranks stored, or None before any ranking."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'ranked_by'").fetchone()
        return orjson.loads(row[0]) if row else None

    # -- a person's time -------------------------------------------------------------------------
    def record_effort(self, label_id: int, seconds: float, origin: Origin | None = None) -> None:
        """Add a person's seconds to a label; `origin` for a label just made or accepted. Without one
        it is an edit: an accepted suggestion becomes an edited one, and a label with no record (an
        imported one) stays without."""
        with self._transaction(labels=True) as c:  # no label changes: the read cache stays
            if origin is not None:
                c.execute("INSERT INTO effort (label_id, origin, seconds) VALUES (?, ?, ?) ON CONFLICT (label_id) "
                          "DO UPDATE SET origin = excluded.origin, seconds = effort.seconds + excluded.seconds",
                          (label_id, Origin(origin).value, seconds))
            else:
                c.execute("UPDATE effort SET seconds = seconds + ?, origin = CASE origin WHEN 'accepted' "
                          "THEN 'edited' ELSE origin END WHERE label_id = ?", (seconds, label_id))

    def effort(self, label_id: int) -> tuple[Origin, float] | None:
        row = self._db.execute("SELECT origin, seconds FROM effort WHERE label_id = ?", (label_id,)).fetchone()
        return (Origin(row[0]), row[1]) if row else None

    def effort_summary(self) -> dict[str, dict[str, float | int]]:
        """Per origin, the labels there are now and their median seconds."""
        by_origin: dict[Origin, list[float]] = {}
        for origin, seconds in self._db.execute(
                "SELECT e.origin, e.seconds FROM effort e JOIN annotations a ON a.id = e.label_id"):
            by_origin.setdefault(Origin(origin), []).append(seconds)
        return summary(by_origin)

    # -- whole datasets ------------------------------------------------------------------------
    def to_dataset(self, progress: Progress = no_progress) -> Dataset:
        """The labels (not the pending or rejected suggestions) as the shared dataset model."""
        with self._reading("objects"):
            total = self._db.execute("SELECT COUNT(*) FROM annotations").fetchone()[0]
            rows = self._db.execute(f"SELECT id, {_ANN_FIELDS} FROM annotations ORDER BY image_id, id")
            with bulk():
                annotations = [_annotation(r) for r in tracked(rows, total, progress, every=20000)]
        categories, images = self.categories(), self.images()
        self._check_placed(annotations, {c.id for c in categories}, {im.id for im in images})
        return Dataset(images=images, categories=categories, annotations=annotations)

    def _check_placed(self, objects: list[Annotation], categories: set[int], images: set[int] | None = None) -> None:
        """Objects whose category (or image) is gone, which the foreign keys forbid every writer: damage."""
        for a in objects:
            if a.category_id not in categories:
                raise damaged(self.where, f"object {a.id} has category {a.category_id}, which does not exist")
            if images is not None and a.image_id not in images:
                raise damaged(self.where, f"object {a.id} is on image {a.image_id}, which does not exist")

    def import_dataset(self, dataset: Dataset, images_dir: str | os.PathLike,
                       progress: Progress = no_progress, skip_duplicates: bool = True) -> ImportResult:
        """Merge a dataset in one transaction: categories by name, images by path, labels as imported.

        Pending annotations (model output, such as a COCO results file) become suggestions, apart from the
        labels. Ones identical to what the image already has are skipped, so importing twice is harmless
        (`skip_duplicates`; a salvage into a new project copies every object).
        """
        result = ImportResult()
        root = self.image_root
        images_dir = Path(images_dir).resolve()
        with self._transaction() as c:
            self._changed(Part, None)
            categories = {}
            for cat in dataset.categories:
                known = c.execute("SELECT 1 FROM categories WHERE name = ?", (cat.name.strip(),)).fetchone()
                categories[cat.id] = self._ensure_category(c, cat.name, cat.color, cat.supercategory).id
                result.categories_added += known is None
            image_ids = {}
            for im in dataset.images:
                path = _posix(os.path.relpath(images_dir / im.file_name, root))
                result.images_added += c.execute(
                    "INSERT INTO images (path, width, height, status, attributes) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING", (path, im.width, im.height, ImageStatus(im.status).value,
                                               _json(im.attributes))).rowcount
                image_ids[im.id] = c.execute("SELECT id FROM images WHERE path = ?", (path,)).fetchone()[0]
                if not (images_dir / im.file_name).is_file():
                    result.report.add(MISSING_ON_IMPORT)
            existing: dict[tuple[str, int], _Present] = {}
            for ann in tracked(dataset.annotations, len(dataset.annotations), progress):
                image_id = image_ids[ann.image_id]
                table = "suggestions" if ann.review == Review.PENDING else "annotations"
                if (table, image_id) not in existing:
                    present = self.suggestions(image_id, None) if table == "suggestions" else self.annotations(image_id)
                    existing[table, image_id] = _Present(present)
                moved = dataclasses.replace(ann, image_id=image_id, category_id=categories[ann.category_id])
                if skip_duplicates and existing[table, image_id].holds(moved):
                    result.report.add(SKIPPED_DUPLICATES)
                    continue
                existing[table, image_id].add(moved)
                self._insert(c, table, moved)
                if table == "suggestions":
                    result.suggestions_added += 1
                else:
                    result.annotations_added += 1
        return result

    def mask_count(self) -> int:
        """How many labels have a mask: the window's learning counts them as they come."""
        with self._reading("its counts"):
            return self._db.execute(
                "SELECT COUNT(*) FROM annotations WHERE polygons IS NOT NULL OR rle IS NOT NULL").fetchone()[0]

    def stats(self) -> dict[str, Any]:
        """Images by status, labels per category, the share with masks, pending suggestions, and the images
        missing on disk (their count and the first few paths)."""
        with self._reading("its counts"):
            return self._stats()

    def _stats(self) -> dict[str, Any]:
        c = self._db
        by_status = {s.value: 0 for s in ImageStatus}
        by_status.update(dict(c.execute("SELECT status, COUNT(*) FROM images GROUP BY status")))
        per_category = dict(c.execute(
            "SELECT cat.name, COUNT(a.id) FROM categories cat LEFT JOIN annotations a ON a.category_id = cat.id "
            "GROUP BY cat.id ORDER BY cat.position, cat.id"))
        total, masked = c.execute(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN polygons IS NOT NULL OR rle IS NOT NULL THEN 1 ELSE 0 END), "
            "0) AS INTEGER) FROM annotations").fetchone()
        pending = c.execute("SELECT COUNT(*) FROM suggestions WHERE review = 'pending'").fetchone()[0]
        missing = self.missing_images()
        return {
            "images": sum(by_status.values()),
            "images_by_status": by_status,
            "missing_images": len(missing),
            "missing_examples": missing[:5],
            "objects": total,
            "objects_per_category": per_category,
            "with_mask": masked,
            "share_with_mask": masked / total if total else 0.0,
            "pending_suggestions": pending,
            "effort": self.effort_summary(),
            "people": self.people(),
        }

    def people(self) -> dict[str, dict[str, float | int]]:
        """Per person who made labels (as `person` names them; "" for labels from before names were kept):
        the labels they made, and the median seconds of those timed."""
        made = dict(self._db.execute("SELECT COALESCE(made_by, ''), COUNT(*) FROM annotations GROUP BY made_by"))
        timed: dict[str, list[float]] = {}
        for person, seconds in self._db.execute("SELECT COALESCE(a.made_by, ''), e.seconds FROM effort e "
                                                "JOIN annotations a ON a.id = e.label_id"):
            timed.setdefault(person, []).append(seconds)
        return {person: {"objects": count, "timed": len(timed.get(person, [])),
                         "median_seconds": statistics.median(timed[person]) if timed.get(person) else 0.0}
                for person, count in sorted(made.items())}


def is_damage(e: BaseException) -> bool:
    """Whether an error reading a project means the file is damaged, rather than busy or out of disk."""
    if isinstance(e, sqlite3.OperationalError):
        return any(sign in str(e) for sign in ("no such", "Could not decode"))
    return isinstance(e, (sqlite3.DatabaseError, ValueError, KeyError, TypeError, IndexError))


class ProjectDamaged(UserError):
    """A project file that cannot be read as the schema says: the window shows it, commands end on it."""


class Conflict(UserError):
    """An edit of an object another person changed or deleted since the editor read it: refused."""


def damaged(path: Path | str | None, detail: str) -> ProjectDamaged:
    where = f"annotator salvage {path} NEW.sqlite" if path else "annotator salvage PROJECT NEW.sqlite"
    detail = "".join(c if c.isprintable() else " " for c in detail)[:300]  # damaged text may hold anything
    return ProjectDamaged(f"the project is damaged ({detail}); nothing was changed: `{where}` copies what can "
                     "be read into a new project", path)


def _forget_effort(c: Database, first_new_id: int) -> None:
    """SQLite may give a new label the id of a deleted one, whose effort row was kept for undo: rows at
    or above the first new id belong to no label that exists yet."""
    c.execute("DELETE FROM effort WHERE label_id >= ?", (first_new_id,))


def progress_of(path: Path) -> tuple[int, int] | None:
    """(done, all) images of a project file, read without opening it for writing (the start page lists
    these); None when it cannot be read."""
    try:
        with contextlib.closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as conn:
            done, total = conn.execute("SELECT COALESCE(SUM(status = 'done'), 0), COUNT(*) FROM images").fetchone()
            return int(done), int(total)
    except sqlite3.Error:
        return None


def _connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        return _connect_read_only(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":  # setting it again would take a lock
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def put_in_place(new: Path, path: Path) -> None:
    """`new` named `path`, failing with FileExistsError if something is there: a hard link never
    replaces a project another process just made. Where links are not allowed (FAT, exFAT, some network
    shares), a rename after a last look."""
    try:
        os.link(new, path)
    except FileExistsError:
        raise
    except OSError:
        if path.exists():
            raise FileExistsError(path) from None
        os.rename(new, path)


def remove_sqlite_file(path: Path) -> None:
    """A file made under a temporary name, with what SQLite left beside it: gone."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A reading connection. In a folder where SQLite cannot make the write-ahead log's shared-memory
    file, nobody can write the project either, so it is read as immutable."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def _holder(project: Path, holder: str | None = None) -> str:
    """Who holds the project, from PROJECT.lock beside its real path; with `holder`, write it there. The
    file is opened without following a link, and one that is not a regular file is left alone."""
    path = _holder_file(project)
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_RDWR | os.O_CREAT if holder is not None else os.O_RDONLY)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError:  # a link (ELOOP), missing, not ours to write: the lock holds all the same
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        if holder is None:
            return os.read(fd, 200).decode("utf-8", "replace").strip()
        os.ftruncate(fd, 0)
        os.write(fd, holder.encode())
        return holder
    except OSError:
        return ""
    finally:
        os.close(fd)


def _holder_file(project: Path) -> Path:
    return project.resolve().with_name(project.resolve().name + ".lock")


def _check_writable(path: Path) -> None:
    """A writing command on a project (to be) in a place this user may not write: one line, before
    SQLite's "attempt to write a readonly database" half-way through."""
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError("is in a read-only place: this command writes to the project (reading commands such as "
                        "stats and convert work); copy it to a folder you may write to", path)


def project_location(text: str) -> str | Path:
    """A command's PROJECT argument: a team database's URL as it is, else a path (argparse's `type`)."""
    return text if is_database_url(text) else Path(text)


def is_project(location: str | os.PathLike) -> bool:
    """Whether `location` names a project (a team database's URL, or an SQLite file) rather than a dataset."""
    return is_database_url(location) or is_project_file(Path(location))


def is_project_file(path: Path) -> bool:
    """Whether `path` is an SQLite file, so a project rather than a dataset to read."""
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _check_is_project_file(path: Path) -> None:
    if not path.exists():
        raise nothing_at(path, "project file")
    if path.is_dir():
        raise UserError("is a folder, not a project file", path)
    if not is_project_file(path):
        raise UserError("not an annotator project (not an SQLite file)", path)


def _stored_root(project_path: Path, image_root: Path) -> str:
    """The image root relative to the project's folder when possible, so the pair can move together."""
    root = image_root.resolve()
    try:
        return _posix(os.path.relpath(root, project_path.resolve().parent))
    except ValueError:  # another drive on Windows
        return str(root)


def _posix(path: str | os.PathLike) -> str:
    return Path(path).as_posix()


def _image(row: tuple) -> ImageRecord:
    iid, path, width, height, status, attributes = row
    return ImageRecord(id=iid, file_name=path, width=width, height=height, status=ImageStatus(status),
                       attributes=orjson.loads(attributes))


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def _content(row: Sequence[Any]) -> tuple:
    """A label's stored fields but its time stamp: what two writes of the same label agree on."""
    return tuple(row[:_MODIFIED]) + tuple(row[_MODIFIED + 1:])


def _row(a: Annotation) -> tuple:
    return (
        a.image_id, a.category_id, a.box.x, a.box.y, a.box.w, a.box.h,
        _json([*a.extreme.top, *a.extreme.left, *a.extreme.bottom, *a.extreme.right]) if a.extreme else None,
        _json(a.polygons) if a.polygons else None,
        _json(a.rle) if a.rle is not None else None,
        a.area, int(a.iscrowd), Source(a.source).value, a.score, Review(a.review).value,
        _json(a.attributes) if a.attributes else EMPTY, time.time(), Shape(a.shape).value,
        _json(a.points) if a.points is not None else None,
        _json([v for c in a.corrections for v in (c.x, c.y, int(c.foreground))]) if a.corrections else None,
    )


def _annotation(row: tuple) -> Annotation:
    """A stored row back as an Annotation; the row's points were checked when they were stored."""
    (aid, image_id, category_id, x, y, w, h, extreme, polygons, rle, area, iscrowd, source, score, review,
     attributes, _modified, shape, points, corrections) = row
    if extreme:
        e = orjson.loads(extreme)
        extreme = ExtremePoints.checked_before((e[0], e[1]), (e[2], e[3]), (e[4], e[5]), (e[6], e[7]))
    return Annotation(  # positional, in field order: this runs a million times in an export
        aid, image_id, category_id, Box(x, y, w, h), extreme or None,
        orjson.loads(polygons) if polygons else None, orjson.loads(rle) if rle else None,
        bool(iscrowd), _SOURCES[source], score, _REVIEWS[review],
        orjson.loads(attributes) if attributes != EMPTY else {}, area, _SHAPES[shape],
        orjson.loads(points) if points is not None else None,
        _corrections(orjson.loads(corrections)) if corrections else (),
    )


def _corrections(flat: list) -> tuple[Correction, ...]:
    return tuple(Correction(flat[k], flat[k + 1], bool(flat[k + 2])) for k in range(0, len(flat), 3))


EMPTY = b"{}"
_SOURCES = {s.value: s for s in Source}
_REVIEWS = {r.value: r for r in Review}
_SHAPES = {s.value: s for s in Shape}


SAME_OBJECT_PX = 1.0


class _Present:
    """The objects an image holds, to tell an imported object that is already one of them, so that
    importing a file twice, or a project's own export in any format, adds nothing. Formats round a box to
    whole pixels (VOC), or give the outline's box in place of the stated one (LabelMe, CVAT), so an object
    of the same category and shape whose box sides all lie within SAME_OBJECT_PX is the same object."""

    def __init__(self, objects: Iterable[Annotation]):
        self._cells: dict[tuple, list[tuple[float, float, float, float]]] = {}
        for a in objects:
            self.add(a)

    @staticmethod
    def _cell(a: Annotation) -> tuple:
        return a.category_id, a.shape, int(a.box.x // SAME_OBJECT_PX), int(a.box.y // SAME_OBJECT_PX)

    def add(self, a: Annotation) -> None:
        self._cells.setdefault(self._cell(a), []).append(_sides(a.box))

    def holds(self, a: Annotation) -> bool:
        category, shape, cx, cy = self._cell(a)
        sides = _sides(a.box)
        return any(max(abs(p - q) for p, q in zip(sides, other, strict=True)) <= SAME_OBJECT_PX
                   for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                   for other in self._cells.get((category, shape, cx + dx, cy + dy), ()))


def _sides(box: Box) -> tuple[float, float, float, float]:
    return box.x, box.y, box.x + box.w, box.y + box.h
