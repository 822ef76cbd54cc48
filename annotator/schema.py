"""The project file's SQLite schema and its migrations.

JSON columns are BLOBs of UTF-8 JSON (no text decoding when a million rows are read); `extreme` holds the
8 numbers of the top, left, bottom and right points; `points` the flat x, y list of a polyline or point
set (`shape`).

`PRAGMA user_version` holds the schema version. Migration N brings a file from version N to N + 1;
each runs inside one transaction, so a failed upgrade leaves the file as it was.
"""
from __future__ import annotations

import functools
import sqlite3

_ANNOTATION_COLUMNS = """
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    extreme BLOB,
    polygons BLOB,
    rle BLOB,
    area REAL NOT NULL,
    iscrowd INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL CHECK (source IN ('human', 'model', 'imported')),
    score REAL,
    review TEXT NOT NULL CHECK (review IN ('pending', 'accepted', 'rejected')),
    attributes BLOB NOT NULL DEFAULT X'7B7D',
    modified REAL NOT NULL
"""

MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema.
    f"""
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        width INTEGER NOT NULL CHECK (width > 0),
        height INTEGER NOT NULL CHECK (height > 0),
        status TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'in-progress', 'done', 'skipped')),
        attributes BLOB NOT NULL DEFAULT X'7B7D'
    );
    CREATE TABLE categories (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        color TEXT NOT NULL,
        position INTEGER NOT NULL,
        supercategory TEXT
    );
    CREATE TABLE annotations (id INTEGER PRIMARY KEY, {_ANNOTATION_COLUMNS});
    CREATE INDEX annotations_by_image ON annotations (image_id);
    CREATE TABLE suggestions (
        id INTEGER PRIMARY KEY, {_ANNOTATION_COLUMNS},
        model TEXT,
        annotation_id INTEGER REFERENCES annotations(id) ON DELETE SET NULL
    );
    CREATE INDEX suggestions_by_image ON suggestions (image_id);
    INSERT INTO meta (key, value) VALUES ('application', 'annotator');
    """,
    # 1 -> 2: polylines and point sets from LabelMe and CVAT, beside regions.
    "".join(
        f"""
    ALTER TABLE {table} ADD COLUMN shape TEXT NOT NULL DEFAULT 'region'
        CHECK (shape IN ('region', 'polyline', 'points'));
    ALTER TABLE {table} ADD COLUMN points BLOB;
    """ for table in ("annotations", "suggestions")),
    # 2 -> 3: correction points a person adds to a mask, as flat x, y, foreground (1 or 0) triples.
    "".join(f"ALTER TABLE {table} ADD COLUMN corrections BLOB;" for table in ("annotations", "suggestions")),
    # 3 -> 4: how each label came to be and the seconds a person spent on it (`annotator.effort`), keyed by
    # the label's id without a foreign key, so that a label deleted and brought back by undo keeps its row;
    # and the images' order of worth from `annotator rank` (higher first), by one measure and model.
    """
    CREATE TABLE effort (
        label_id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL CHECK (origin IN ('clicked', 'accepted', 'edited')),
        seconds REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE ranks (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        value REAL NOT NULL
    );
    """,
    # 4 -> 5: the images each model has pre-labelled, and the minimum score it suggested at, also where it
    # found nothing: a stopped run resumes past them, and a run at a lower score does them again. A file from
    # before takes its rows from the suggestions (the lowest score suggested stands in for the minimum).
    """
    CREATE TABLE prelabelled (
        model TEXT NOT NULL,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        min_score REAL NOT NULL,
        PRIMARY KEY (model, image_id)
    );
    INSERT INTO prelabelled (model, image_id, min_score)
        SELECT model, image_id, MIN(COALESCE(score, 0)) FROM suggestions WHERE model IS NOT NULL
        GROUP BY model, image_id;
    """,
    # 5 -> 6: who is labelling which image of a team project: a claim lasts until `until` (seconds since
    # 1970 by the database's clock), renewed while the window shows the image, so a window that dies lets
    # go of it by itself (`Project.claim`).
    """
    CREATE TABLE claims (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        holder TEXT NOT NULL,
        until REAL NOT NULL
    );
    """,
    # 6 -> 7: who made each label and who changed it last (`Project.person`); labels from before say nobody.
    "ALTER TABLE annotations ADD COLUMN made_by TEXT; ALTER TABLE annotations ADD COLUMN changed_by TEXT;",
    # 7 -> 8: each image's content hash, as the first window to open it read it: every person's copy of
    # the images is checked against it (`Project.content_hash`).
    "ALTER TABLE images ADD COLUMN content_hash TEXT;",
    # 8 -> 9: review: who marked each image done last, and a reviewer's verdict on it (accepted, or sent back
    # to that person with a comment, the image in progress again) (`Project.review`).
    """
    ALTER TABLE images ADD COLUMN done_by TEXT;
    CREATE TABLE reviews (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'sent back')),
        reviewer TEXT NOT NULL,
        comment TEXT NOT NULL DEFAULT '',
        annotator TEXT,
        at REAL NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


@functools.cache
def expected_columns(migrations: tuple[str, ...]) -> dict[str, list[str]]:
    """Table -> its columns, as `migrations` make them: what an opened project must have."""
    conn = sqlite3.connect(":memory:")
    try:
        for script in migrations:
            conn.executescript(script)
        return columns_of(conn)
    finally:
        conn.close()


def columns_of(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: [row[1] for row in conn.execute(f"PRAGMA table_info('{t}')")] for t in tables}
