"""Moving a project between its SQLite file and a PostgreSQL database (`annotator team push` and
`pull`), every row of every table as it is: ids, labels, suggestions, the time per object, ranks and
what each model pre-labelled. A push fills an empty database in one transaction; a pull writes a new
project file under a temporary name and links it into place whole. The image root travels as an absolute
path, and a pull may give another (each person's copy of the images)."""
from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converters import UserError

from .database import connected, database_name, first_line, shown_url
from .pg_schema import IDENTITY_TABLES, TABLES, migrate, schema_version
from .schema import SCHEMA_VERSION, columns_of
from .store import Project, put_in_place, remove_sqlite_file
from .team_roles import set_up

#: meta rows a project makes for itself, not copied from the other store.
OWN_META = ("application", "image_root", "schema_version")


@dataclass
class Moved:
    rows: dict[str, int]  # table -> rows copied

    def summary(self) -> str:
        shown = ("images", "categories", "annotations", "suggestions")
        return ", ".join(f"{self.rows.get(t, 0)} {'labels' if t == 'annotations' else t}" for t in shown)


def holds_project(url: str) -> bool:
    """Whether the database at `url` (made if the server has none of that name and lets us) holds a
    project already, rather than nothing yet."""
    with connected(url, create=True) as conn:
        return schema_version(conn) != 0


def new_team_project(url: str, image_root: Path) -> None:
    """An empty project in the empty database at `url`, its images under `image_root`: a project file
    made aside and pushed, so a team project starts as any other does."""
    with tempfile.TemporaryDirectory() as folder:
        Project.create(Path(folder) / "new.sqlite", image_root).close()
        push(Path(folder) / "new.sqlite", url)


def push(project_path: Path, url: str) -> Moved:
    """Copy the project file at `project_path` into the empty database at `url` (made if the server
    lets us)."""
    try:
        opened = Project.open(project_path)  # an older file is brought up to date first
    except UserError:  # a read-only place: read as it is (an older schema is refused, saying so)
        opened = Project.open(project_path, read_only=True)
    with opened as project:
        root = project.image_root
    source = sqlite3.connect(f"{Path(project_path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    import psycopg
    from psycopg import sql

    moved = Moved({})
    try:
        source.execute("BEGIN")  # one consistent reading of every table
        names = columns_of(source)
        with connected(url, create=True) as conn:
            if schema_version(conn) != 0 or conn.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
            ).fetchone()[0]:
                raise UserError(f"already holds tables (a project?): push into an empty database: {shown_url(url)}")
            try:
                with conn.transaction():
                    migrate(conn, 0)
                    set_up(conn, database_name(url))
                    conn.execute("INSERT INTO meta (key, value) VALUES ('image_root', %s)", (str(root),))
                    for table in TABLES:
                        cols = names[table]
                        rows = source.execute(f"SELECT {', '.join(cols)} FROM {table}")
                        if table == "meta":
                            rows = (r for r in rows if r[0] not in OWN_META)
                        query = sql.SQL("COPY {} ({}) FROM STDIN").format(
                            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols)))
                        count = 0
                        with conn.cursor().copy(query) as copy:
                            for row in rows:
                                copy.write_row(row)
                                count += 1
                        moved.rows[table] = count
                    for table in IDENTITY_TABLES:  # new rows get ids after the copied ones
                        conn.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), "
                                             "COALESCE((SELECT max(id) FROM {}), 0) + 1, false)").format(
                            sql.Literal(table), sql.Identifier(table)))
            except psycopg.Error as e:
                raise UserError(f"the push failed and wrote nothing to {shown_url(url)}: {first_line(e)}",
                                project_path) from None
    finally:
        source.close()
    return moved


def pull(url: str, project_path: Path, image_root: Path | None = None) -> Moved:
    """Write the project in the database at `url` to a new project file at `project_path`, whose images
    are under `image_root` (by default the root the push gave)."""
    import psycopg

    project_path = Path(project_path)
    if project_path.exists():
        raise UserError("a file already exists here: pull into a new project file", project_path)
    moved = Moved({})
    with connected(url) as conn:
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                version = schema_version(conn)
                if version == 0:
                    raise UserError(f"holds no project: {shown_url(url)}")
                if version != SCHEMA_VERSION:
                    raise UserError(f"holds a project of schema {version}; this annotator reads {SCHEMA_VERSION}: "
                                    f"{shown_url(url)}")
                stored_root = conn.execute("SELECT value FROM meta WHERE key = 'image_root'").fetchone()
                root = image_root or Path(stored_root[0] if stored_root else ".")
                _write_pulled(conn, project_path, root, moved)
        except psycopg.Error as e:
            raise UserError(f"the pull failed, and wrote nothing: {first_line(e)}", project_path) from None
    return moved


def _write_pulled(conn: Any, project_path: Path, root: Path, moved: Moved) -> None:
    new = project_path.with_name(f".{project_path.name}.{os.getpid()}.pull")
    try:
        Project.create(new, root).close()
        target = sqlite3.connect(new, isolation_level=None)
        try:
            target.execute("PRAGMA foreign_keys = ON")
            target.execute("BEGIN")
            names = columns_of(target)
            for table in TABLES:
                cols = names[table]
                rows = conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
                if table == "meta":
                    rows = [r for r in rows if r[0] not in OWN_META]
                target.executemany(f"INSERT INTO {table} ({', '.join(cols)}) "
                                   f"VALUES ({', '.join('?' * len(cols))})", rows)
                moved.rows[table] = len(rows)
            target.execute("COMMIT")
        finally:
            target.close()
        put_in_place(new, project_path)
    except FileExistsError:
        raise UserError("a file already exists here: pull into a new project file", project_path) from None
    finally:
        remove_sqlite_file(new)
