"""A local PostgreSQL server in one folder, for a small team to try team projects (`annotator team server
DIR`) and for the tests: the Debian package's programs (`postgresql`), found on the PATH or in
/usr/lib/postgresql/VERSION/bin. The folder holds the data (`data/`), the log (`server.log`) and the
socket; the server listens on 127.0.0.1 and trusts local connections only, as the person who started
it; `listen` opens it to other machines too, which give a password (a person's, from `annotator team
person --password`): the trust stays for this machine alone. PostgreSQL refuses to run as root, so
under root (a CI container) it runs as the `postgres` system user the package made."""
from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from converters import UserError
from converters.atomic import atomic_write

#: Where a server listens by default: this machine alone, whose connections it trusts.
THIS_MACHINE = "127.0.0.1"
#: The role and the database a new server gets; team projects live in databases of their own beside it.
OWNER = "annotator"
DEB_BIN = Path("/usr/lib/postgresql")


def programs() -> Path:
    """The folder holding initdb and pg_ctl: the PATH's, else the newest Debian package's."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted((p for p in DEB_BIN.glob("*/bin") if (p / "pg_ctl").is_file()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not versions:
        raise UserError("PostgreSQL's programs (initdb, pg_ctl) are not installed: on Debian or Ubuntu, "
                        "sudo apt-get install postgresql")
    return versions[-1]


@dataclass(frozen=True)
class Server:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = OWNER) -> str:
        return f"postgresql://{OWNER}@{THIS_MACHINE}:{self.port}/{database}"


#: pg_hba.conf's lines for connections from other machines: a password, checked with SCRAM.
OTHER_MACHINES = ("host all all 0.0.0.0/0 scram-sha-256", "host all all ::/0 scram-sha-256")


def start(folder: str | os.PathLike, port: int | None = None, listen: str = THIS_MACHINE) -> Server:
    """Start the server in `folder` (made and initialised the first time) on `port` (a free one by
    default), and wait until it takes connections. `listen`: the addresses it listens on, as PostgreSQL's
    listen_addresses ("*": every one of this machine's); beyond 127.0.0.1, others come with a password."""
    if not re.fullmatch(r"[\w.:*-]+(,[\w.:*-]+)*", listen):
        raise UserError(f"--listen takes addresses separated by commas (or *), not {listen!r}")
    folder = Path(folder).resolve()
    server = Server(folder, port or free_port())
    bin_dir = programs()
    folder.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    if user is not None:
        shutil.chown(folder, user.pw_uid, user.pw_gid)
        if subprocess.run(["runuser", "-u", user.pw_name, "--", "test", "-w", str(folder)], check=False).returncode:
            raise UserError(f"the server runs as the {user.pw_name} user (PostgreSQL refuses root), who cannot reach "
                            "this folder: choose one under a folder anyone may enter (/tmp, /srv)", folder)
    if not (server.data / "PG_VERSION").is_file():
        _run([bin_dir / "initdb", "-D", server.data, "-U", OWNER, "--auth=trust", "-E", "UTF8",
              "--locale=C"], user, "initdb failed")
    _allow_other_machines(server.data / "pg_hba.conf", listen != THIS_MACHINE)
    options = f"-p {server.port} -k {folder} -c listen_addresses={listen}"
    log = folder / "server.log"
    try:
        _run([bin_dir / "pg_ctl", "-D", server.data, "-l", log, "-o", options, "-w", "-t", "60", "start"], user,
             "the server did not start")
    except UserError:  # pg_ctl says "Examine the log output": the log says why
        why = _why(log)
        taken = f": is port {server.port} taken? --port chooses another" if "TCP/IP" in why else ""
        raise UserError(f"the server did not start: {why}{taken} (its log: {log})") from None
    _create_database(server, OWNER)
    return server


def _allow_other_machines(hba: Path, allow: bool) -> None:
    """pg_hba.conf with or without the password lines for other machines (initdb's trust lines, for this
    machine, stay first: PostgreSQL takes the first line that matches)."""
    lines = [line for line in hba.read_text().splitlines() if line not in OTHER_MACHINES]
    owner = hba.stat()
    with atomic_write(hba) as f:
        f.write("\n".join(lines + (list(OTHER_MACHINES) if allow else [])) + "\n")
    if (owner.st_uid, owner.st_gid) != (os.geteuid(), os.getegid()):  # root writing the postgres user's file
        os.chown(hba, owner.st_uid, owner.st_gid)


def stop(server: Server) -> None:
    _run([programs() / "pg_ctl", "-D", server.data, "-m", "fast", "-w", "stop"], _run_as(), "the server did not stop")


def create_database(server: Server, name: str) -> str:
    """A new empty database on `server` (a team project), and its URL."""
    _create_database(server, name)
    return server.url(name)


def _create_database(server: Server, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((THIS_MACHINE, 0))
        return s.getsockname()[1]


def _run_as() -> pwd.struct_passwd | None:
    """The system user the server runs as when we are root; None: ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise UserError("PostgreSQL does not run as root, and there is no 'postgres' user to run it as: "
                        "start the server as an ordinary user") from None


def _why(log: Path) -> str:
    """The server log's last fatal error (without its time stamp), else its last line."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.is_file() else []
    fatal = [line for line in lines if "FATAL:" in line]
    last = (fatal or lines or ["no log"])[-1]
    return last[last.index("FATAL:"):] if "FATAL:" in last else last


def _run(command: list, user: pwd.struct_passwd | None, what: str) -> None:
    args = [str(a) for a in command]
    if user is not None:
        args = ["runuser", "-u", user.pw_name, "--", *args]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise UserError(f"{what}: {said[-1] if said else f'exit code {done.returncode}'}")
