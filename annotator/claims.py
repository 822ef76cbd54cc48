"""Who is labelling which image of a team project: each window claims the image it shows, under a name
of the person and the window (`new_holder`), for LEASE_S at a time, renewed while it stays there; the
others' image lists show the person (`person_of`), and N passes the image by. The claims are rows of
the project (`Project.claim`), timed by the database's clock, so a window that dies lets go by itself."""
from __future__ import annotations

import getpass
import socket
import uuid

#: How long a claim lasts unless renewed; a window renews it every third of that.
LEASE_S = 60.0
RENEW_S = LEASE_S / 3


def this_person() -> str:
    """Who labels here, as labels and claims name them: the login and the machine (a team's database roles
    are to name people in their place)."""
    try:
        person = getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (a container)
        person = "someone"
    return f"{person}@{socket.gethostname()}"


def new_holder(person: str) -> str:
    """A window's name in the claims: the person (`Project.person`: their database role in a team
    project), and a mark that tells two windows of one person apart."""
    return f"{person}#{uuid.uuid4().hex[:6]}"


def person_of(holder: str) -> str:
    return holder.split("#", 1)[0]
