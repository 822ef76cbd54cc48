"""The `annotator team` commands: a local PostgreSQL server to try team projects on, and moving a
project to a team database and back (the work is in `pg_server` and `team`)."""
from __future__ import annotations

import argparse
import signal
import socket
from pathlib import Path

from converters import UserError

from . import pg_server
from .database import connected, database_name, is_database_url, shown_url
from .team import pull, push
from .team_roles import ROLES, add_person


def add_team_command(sub: argparse._SubParsersAction) -> None:
    team = sub.add_parser("team", help="team projects on PostgreSQL: a server to try them, push and pull",
                          description="A team project lives in a PostgreSQL database that several people's "
                                      "windows and commands use at once. `server` starts a local PostgreSQL "
                                      "to try it; `push` copies a project file into an empty database, `pull` "
                                      "copies one back into a new project file, every row as it is.")
    commands = team.add_subparsers(dest="team_command", required=True, metavar="COMMAND")
    s = commands.add_parser("server", help="start a local PostgreSQL server in a folder and wait (Ctrl+C stops it)",
                            description="Start PostgreSQL (the system's package: on Debian or Ubuntu, apt-get "
                                        "install postgresql) with its data in DIR (made the first time), listening "
                                        "on 127.0.0.1 and trusting connections from this machine; prints the URL to "
                                        "push projects to, and runs until Ctrl+C. With --listen, people on other "
                                        "machines connect too, with the password `team person --password` gave "
                                        "them.")
    s.add_argument("folder", metavar="DIR", type=Path, help="the server's folder (its data, log and socket)")
    s.add_argument("--port", type=int, default=5432, help="TCP port (default 5432)")
    s.add_argument("--listen", default=pg_server.THIS_MACHINE, metavar="ADDRESSES",
                   help="where it listens (default 127.0.0.1: this machine only); '*' or this machine's address on "
                        "the team's network lets others in, each with a password (SCRAM); this machine is still "
                        "trusted")
    s.set_defaults(run=cmd_server)
    s = commands.add_parser("push", help="copy a project file into an empty team database",
                            description="Copy every row of PROJECT (images, categories, labels, suggestions, the "
                                        "time per object, ranks) into the empty database at URL, made if the "
                                        "server lets you, in one transaction. The project file is only read.")
    s.add_argument("project", metavar="PROJECT", type=Path, help="project file")
    s.add_argument("url", metavar="URL", help="postgresql://USER@HOST[:PORT]/DATABASE")
    s.set_defaults(run=cmd_push)
    s = commands.add_parser("person", help="add a person to a team project, or change their role",
                            description="Make NAME a login role of the PostgreSQL server (if it is not one) in "
                                        "the team project's ROLE, and in no other of its roles: an annotator "
                                        "labels and changes only their own labels, a reviewer changes anyone's, "
                                        "an owner does everything (categories, images, pre-labelling). Run by the "
                                        "project's owner (the role that pushed it). The person then opens "
                                        "postgresql://NAME@HOST/DATABASE.")
    s.add_argument("url", metavar="URL", help="the team project's postgresql://OWNER@HOST[:PORT]/DATABASE")
    s.add_argument("name", metavar="NAME", help="the person's login role")
    s.add_argument("--role", choices=ROLES, default="annotator", help="default annotator")
    s.add_argument("--password", help="their password, for a server that asks for one (the trial server trusts "
                                      "this machine)")
    s.set_defaults(run=cmd_person)
    s = commands.add_parser("pull", help="copy a team database into a new project file",
                            description="Copy every row of the project at URL into a new project file, written "
                                        "whole or not at all.")
    s.add_argument("url", metavar="URL", help="postgresql://USER@HOST[:PORT]/DATABASE")
    s.add_argument("project", metavar="PROJECT", type=Path, help="the new project file (must not exist yet)")
    s.add_argument("--images", type=Path, help="your copy of the image folder (default: the pushed project's)")
    s.set_defaults(run=cmd_pull)


def _check_url(url: str) -> None:
    if not is_database_url(url):
        raise UserError(f"not a PostgreSQL URL (postgresql://USER@HOST/DATABASE): {url}")


def cmd_push(args: argparse.Namespace) -> None:
    _check_url(args.url)
    moved = push(args.project, args.url)
    print(f"pushed {args.project} to {shown_url(args.url)}: {moved.summary()}")


def cmd_pull(args: argparse.Namespace) -> None:
    _check_url(args.url)
    if args.images is not None and not args.images.is_dir():
        raise UserError("no such folder (--images)", args.images)
    moved = pull(args.url, args.project, args.images)
    print(f"pulled {shown_url(args.url)} into {args.project}: {moved.summary()}")


def cmd_person(args: argparse.Namespace) -> None:
    _check_url(args.url)
    with connected(args.url) as conn:
        add_person(conn, database_name(args.url), args.name, args.role, args.password)
    print(f"{args.name} is a{'n' if args.role[0] in 'aeiou' else ''} {args.role} of {shown_url(args.url)}")


def cmd_server(args: argparse.Namespace) -> None:
    server = pg_server.start(args.folder, args.port, args.listen)
    others = "" if args.listen == pg_server.THIS_MACHINE else \
        f"People on other machines connect to postgresql://NAME@{socket.gethostname()}:{server.port}/DATABASE with " \
        "the password `annotator team person URL NAME --password PW` gives them.\n"
    print(f"PostgreSQL runs in {server.folder} on port {server.port}. Push a project to a database of its own:\n"
          f"  annotator team push PROJECT {server.url('NAME')}\n{others}Ctrl+C stops the server.", flush=True)
    for stopping in (signal.SIGINT, signal.SIGTERM):  # Ctrl+C, or a `kill`, stops the server
        signal.signal(stopping, _interrupted)
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        pg_server.stop(server)
        print("stopped", flush=True)


def _interrupted(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt
