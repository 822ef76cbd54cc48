"""Every reader fed files with one field changed to something hostile (NaN, 1e308, a huge integer, a
wrong type, a lone surrogate, a path up and out): only our own one-line error may escape, and a file
that is refused leaves nothing written. benchmarks/fuzz_readers.py runs the same for minutes."""
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mutations import mutate, outcome, read_and_write, seeds


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    return seeds(tmp_path_factory.mktemp("seeds"))


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo", "labelme", "cvat"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_a_mutated_file_is_read_or_refused_in_one_line_and_nothing_half_written(valid, tmp_path_factory, fmt, seed):
    folder = tmp_path_factory.mktemp("fuzz")
    target = folder / ("in.json" if fmt == "coco" else "in")
    what = mutate(fmt, valid[fmt], target, random.Random(seed))
    out = folder / "out"
    result = outcome(lambda: read_and_write(fmt, target, out))
    assert result in ("ok", "refused"), f"{what}: {result}"
    if result == "refused":  # outputs appear whole or not at all: no temporary file or folder is left
        left = [p for p in out.rglob(".*") if p.name != ".annotator-export"] if out.exists() else []
        assert left == [], what
