import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def config_dir(tmp_path_factory, monkeypatch):
    """Each test keeps its own config folder (recent projects), never the user's."""
    monkeypatch.setenv("ANNOTATOR_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pytest_collection_modifyitems(config, items):
    """Tests marked shared_data skip, saying why, when ../shared is not beside the project."""
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(reason=f"needs ../shared beside the project ({SHARED} is absent)")
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shared() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the session's team-project tests, in a folder of its own (not under
    pytest's root-only one: under root the server runs as the postgres user)."""
    from annotator import pg_server as servers

    folder = Path(tempfile.mkdtemp(prefix="annotator-pg-"))
    started = servers.start(folder)
    yield started
    servers.stop(started)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def own_server(monkeypatch):
    """A server of the test's own, to stop and start again (`pg_server.start(own_server.folder,
    own_server.port)`); a lost connection is tried again at once rather than after RETRY_S."""
    from annotator import database, pg_server
    from converters import UserError

    monkeypatch.setattr(database, "RETRY_S", 0.0)
    folder = Path(tempfile.mkdtemp(prefix="annotator-pg-"))
    started = pg_server.start(folder)
    yield started
    with contextlib.suppress(UserError):
        pg_server.stop(started)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(pg_server) -> str:
    """The URL of a new empty database on the session's server."""
    from annotator import pg_server as servers

    return servers.create_database(pg_server, f"t{uuid.uuid4().hex[:12]}")
