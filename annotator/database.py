"""The connection under a project: its SQLite file, or a team database on PostgreSQL, behind one small
interface so that `store.Project` is written once. The store's SQL is the subset both speak, with `?`
for parameters (PostgreSQL's driver is given `%s`); what differs is here: how a new row's id comes
back, how a transaction starts, how the schema version is kept, and how a connection learns that
another one committed (SQLite's `data_version`; PostgreSQL's LISTEN/NOTIFY, each committing
transaction notifying the others)."""
from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from converters import UserError

from .pg_schema import columns as pg_columns
from .pg_schema import migrate as pg_migrate
from .pg_schema import schema_version as pg_schema_version
from .schema import MIGRATIONS, columns_of

#: The channel a team database's connections tell each other on, once per committed change.
CHANNEL = "annotator_changes"
AWAY = "the server cannot be reached: edits are not saved until it answers"


class Database:
    """What the store asks of a connection. `execute` returns a cursor (rows to iterate or fetch,
    `rowcount`, `description`). `now`: an SQL expression for the database's clock in seconds since 1970
    (one clock for every client of a team database). `for_update`: what ends a SELECT of rows the
    transaction is about to change, so that no other transaction changes them between the read and the
    write (PostgreSQL's row locks; SQLite's writing transaction already holds the whole file)."""

    now = ""
    for_update = ""

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> int:
        """Run `sql` once per row; the rows it changed."""
        raise NotImplementedError

    def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT of one row; the new row's id."""
        raise NotImplementedError

    def begin(self) -> None:
        """Start a writing transaction (SQLite takes its write lock at once)."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def data_version(self) -> int:
        """A number that changes when another connection commits."""
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    def migrate(self, version: int) -> None:
        """From `version` to the current schema, each step in a transaction of its own."""
        raise NotImplementedError

    def columns(self) -> dict[str, list[str]]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    now = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> int:
        return self.conn.executemany(sql, rows).rowcount

    def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        new = self.conn.execute(sql, tuple(params)).lastrowid
        assert new is not None
        return new

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def data_version(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, version: int) -> None:
        for target, script in enumerate(MIGRATIONS[version:], version + 1):
            try:
                self.conn.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {target}; COMMIT;")
            except sqlite3.Error:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def columns(self) -> dict[str, list[str]]:
        return columns_of(self.conn)

    def close(self) -> None:
        self.conn.close()


_PLACEHOLDER = re.compile(r"\?")


def _for_psycopg(sql: str) -> str:
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


class ServerAway(UserError):
    """The team database's server cannot be reached (a network drop, a restart): the edit in flight was
    not saved, and the connection is made again at the next call once the server answers."""


class NotAllowed(UserError):
    """What this person's team role may not do (PostgreSQL refused it: a grant, or the labels' policies)."""


#: After a failed attempt to reach the server again, how long calls are refused before the next attempt.
RETRY_S = 2.0


class PostgresDatabase(Database):
    """A psycopg connection in autocommit mode, whose transactions the store opens and ends itself. A lost
    connection is a `ServerAway` (one line, nothing half-written: the server rolls the transaction back)
    and is made again when the server answers; the commits missed meanwhile count as another's."""

    now = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"
    for_update = " FOR UPDATE"

    def __init__(self, conn: Any, url: str):
        self.conn, self.url = conn, url
        self._seen = 0  # other connections' commits heard of
        self._retry_at = 0.0
        self.conn.execute(f"LISTEN {CHANNEL}")

    def _live(self) -> Any:
        if not (self.conn.closed or self.conn.broken):
            return self.conn
        if time.monotonic() < self._retry_at:
            raise ServerAway(AWAY, shown_url(self.url))
        self._retry_at = time.monotonic() + RETRY_S
        try:
            conn = connect(self.url)
            conn.execute(f"LISTEN {CHANNEL}")
        except Exception as e:
            raise ServerAway(f"{AWAY} ({first_line(e)})", shown_url(self.url)) from None
        self.conn = conn
        self._seen += 1  # anything may have changed while it was away
        return conn

    @contextlib.contextmanager
    def _talking(self) -> Iterator[Any]:
        from psycopg.errors import InsufficientPrivilege

        conn = self._live()
        try:
            yield conn
        except InsufficientPrivilege as e:
            raise NotAllowed(f"your team role may not do this ({first_line(e)})", shown_url(self.url)) from None
        except Exception as e:
            if not (conn.closed or conn.broken):
                raise
            raise ServerAway(f"{AWAY} ({first_line(e)})", shown_url(self.url)) from None

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        with self._talking() as conn:
            return conn.execute(_for_psycopg(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> int:
        with self._talking() as conn:
            cursor = conn.cursor()
            cursor.executemany(_for_psycopg(sql), [tuple(r) for r in rows])
            return max(cursor.rowcount, 0)

    def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        with self._talking() as conn:
            return conn.execute(_for_psycopg(sql) + " RETURNING id", tuple(params)).fetchone()[0]

    def begin(self) -> None:
        with self._talking() as conn:
            conn.execute("BEGIN")

    def commit(self) -> None:
        with self._talking() as conn:
            conn.execute(f"NOTIFY {CHANNEL}")  # sent when it commits, to every listening connection
            conn.execute("COMMIT")

    def rollback(self) -> None:
        if not (self.conn.closed or self.conn.broken):  # a lost connection's transaction died with it
            self.conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return not (self.conn.closed or self.conn.broken) and \
            self.conn.info.transaction_status != TransactionStatus.IDLE

    def data_version(self) -> int:
        with self._talking() as conn:
            own = conn.info.backend_pid
            for note in conn.notifies(timeout=0):
                if note.pid != own:
                    self._seen += 1
        return self._seen

    def schema_version(self) -> int:
        return pg_schema_version(self.conn)

    def migrate(self, version: int) -> None:
        with self.conn.transaction():
            pg_migrate(self.conn, version)

    def columns(self) -> dict[str, list[str]]:
        return pg_columns(self.conn)

    def close(self) -> None:
        self.conn.close()


# -- team databases: reaching one ---------------------------------------------------------------------
def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def password(location: str) -> str | None:
    """The password a team database's URL holds (None: libpq's ~/.pgpass or PGPASSWORD gives one, or
    the server asks none); a file's path holds none."""
    return urlsplit(location).password if is_database_url(location) else None


def database_name(url: str) -> str:
    """The database a team project's URL names: the project's name, and its roles' prefix."""
    return urlsplit(str(url)).path.strip("/")


def is_database_url(text: str | os.PathLike) -> bool:
    return str(text).startswith(("postgresql://", "postgres://"))


@contextlib.contextmanager
def connected(url: str, create: bool = False) -> Iterator[Any]:
    conn = connect(url, create)
    try:
        yield conn
    finally:
        conn.close()


#: Said when the server asks for a password it did not get, or got wrong.
PASSWORD_HINT = (" (the password the project's owner gave you with `annotator team person`: in Open team "
                 "project's Password field, in the URL as NAME:PW@HOST, or in ~/.pgpass as a line "
                 "HOST:PORT:DATABASE:NAME:PW, mode 600)")


def connect(url: str, create: bool = False) -> Any:
    """A psycopg connection to `url` in autocommit mode (with `create`, the database is made first if
    the server has none of that name and lets us); any failure to reach it is one line naming the
    server."""
    import psycopg

    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=True)  # `conn.transaction()` makes each
    except psycopg.OperationalError as e:
        if create and "does not exist" in str(e):
            _create(url)
            conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
        else:
            said = first_line(e)
            hint = PASSWORD_HINT if "password" in said else ""
            raise UserError(f"cannot reach the team database {shown_url(url)}: {said}{hint}") from None
    except psycopg.ProgrammingError as e:  # a malformed URL
        raise UserError(f"not a PostgreSQL URL ({first_line(e)}): {shown_url(url)}") from None
    return conn


def _create(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_name(url)
    try:
        with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True,
                             connect_timeout=10) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as e:
        raise UserError(f"cannot make the database {name!r} on {shown_url(url)}: {first_line(e)}") from None


def first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
