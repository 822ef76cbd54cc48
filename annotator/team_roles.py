"""People and roles in a team project, with PostgreSQL's own roles and grants (no table of users of ours):
each team database gets three group roles, `DB_annotator`, `DB_reviewer` and `DB_owner`, and a person is
a login role in one of them (`annotator team person`).

- annotator: reads everything; adds labels and changes or deletes only their own (row-level security
  on the labels, by `made_by`); marks images; accepts or rejects suggestions; claims images;
- reviewer: as an annotator, and changes anyone's labels, and accepts an image or sends it back to its
  annotator with a comment (`Project.review`);
- owner: everything (categories, images, pre-labelling, ranks), as the role that pushed the project.

A label's `made_by` is the login role that made it (`Project.person`); the role that owns the database
(the one that pushed it, as on the trial server) is not held to the policies and names people by their
login on the machine instead."""
from __future__ import annotations

from typing import Any

from converters import UserError

ROLES = ("annotator", "reviewer", "owner")
#: Tables each role may write (beyond reading every table); the owner writes all.
WRITES = {
    "annotator": {"annotations": "INSERT, UPDATE, DELETE", "effort": "INSERT, UPDATE, DELETE",
                  "claims": "INSERT, UPDATE, DELETE", "images": "UPDATE", "suggestions": "UPDATE"},
}
WRITES["reviewer"] = {**WRITES["annotator"], "reviews": "INSERT, UPDATE, DELETE"}


def group(database: str, role: str) -> str:
    return f"{database}_{role}"


def set_up(conn: Any, database: str) -> None:
    """The three group roles of a team database, their grants and the labels' policies; inside the
    caller's transaction (a push's)."""
    from psycopg import sql

    for role in ROLES:
        name = group(database, role)
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database),
                                                                        sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}").format(sql.Identifier(name)))
        if role == "owner":
            conn.execute(sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(name)))
            continue
        for table, rights in WRITES[role].items():
            conn.execute(sql.SQL(f"GRANT {rights} ON {{}} TO {{}}").format(sql.Identifier(table), sql.Identifier(name)))
    reviewer, owner = (sql.Literal(group(database, r)) for r in ("reviewer", "owner"))
    anyone = sql.SQL("made_by = current_user OR pg_has_role(current_user, {}, 'member') OR "
                     "pg_has_role(current_user, {}, 'member')").format(reviewer, owner)
    conn.execute("ALTER TABLE annotations ENABLE ROW LEVEL SECURITY")
    conn.execute("CREATE POLICY everyone_reads ON annotations FOR SELECT USING (true)")
    conn.execute("CREATE POLICY one_adds_ones_own ON annotations FOR INSERT WITH CHECK (made_by = current_user)")
    conn.execute(sql.SQL("CREATE POLICY one_changes_ones_own ON annotations FOR UPDATE USING ({})").format(anyone))
    conn.execute(sql.SQL("CREATE POLICY one_deletes_ones_own ON annotations FOR DELETE USING ({})").format(anyone))


def add_person(conn: Any, database: str, name: str, role: str, password: str | None = None) -> None:
    """A login role `name` in the team's `role` (and in no other of its roles): made if missing."""
    from psycopg import sql

    if role not in ROLES:
        raise UserError(f"a team role is one of {', '.join(ROLES)}, not {role!r}")
    person = sql.Identifier(name)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(person))
        if password:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(person, sql.Literal(password)))
        for other in ROLES:
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group(database, other)), person))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group(database, role)), person))
