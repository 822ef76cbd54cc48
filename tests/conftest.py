import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
