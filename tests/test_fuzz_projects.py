"""Project files and run directories damaged at random: bytes overwritten anywhere in a project, one
field of a run's config.json or metrics.json changed to something hostile. Every command says it in one
line or works; none prints a traceback, and salvage copies what it can."""
import json
import random
import shutil

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from annotator.cli import main
from annotator.store import Project
from converters import Annotation, Box
from tests.mutations import _mutate_json


@pytest.fixture(scope="module")
def sound_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sound")
    path = folder / "p.sqlite"
    with Project.create(path, folder) as p:
        p.add_images([(f"{k}.png", 100, 80) for k in range(20)])
        cats = [p.add_category(name) for name in ("date", "fig", "nut")]
        p.add_annotations(Annotation(0, 1 + k % 20, cats[k % 3].id, Box(k % 70, k % 50, 20, 15),
                                     polygons=[[k % 70, k % 50, k % 70 + 20, k % 50, k % 70, k % 50 + 15]],
                                     attributes={"k": k}) for k in range(400))
    return path


def said_in_one_line(capsys, code):
    out = capsys.readouterr()
    assert code in (0, 2), out.err
    assert "Traceback" not in out.err
    if code == 2:
        assert len(out.err.strip().splitlines()) == 1, out.err


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
@example(seed=160)  # an image row whose name reads as NULL: salvage once failed on it
def test_a_project_with_bytes_overwritten_anywhere_is_read_refused_or_salvaged_in_one_line(
        sound_project, tmp_path_factory, capsys, seed):
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("damaged")
    path = folder / "p.sqlite"
    shutil.copy(sound_project, path)
    data = bytearray(path.read_bytes())
    start = rng.randrange(100, len(data))  # past the header's magic: a file that is not SQLite is another test
    for k in range(start, min(len(data), start + rng.choice([1, 8, 64, 4096]))):
        data[k] = rng.randrange(256)
    path.write_bytes(bytes(data))
    for command in (["stats", str(path)], ["convert", str(path), "--to", "coco", "-o", str(folder / "o.json")],
                    ["salvage", str(path), str(folder / "new.sqlite"), "--images", str(folder)]):
        said_in_one_line(capsys, main(command))


@pytest.fixture(scope="module")
def sound_run(tmp_path_factory):
    from tests.test_detector_train import labelled_photos

    folder = tmp_path_factory.mktemp("run")
    labels = labelled_photos(folder, 4)
    run = folder / "run"
    assert main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(run), "--epochs", "1",
                 "--img-size", "64", "--batch", "2", "--channels", "16"]) == 0
    return run, labels


def hostile_copy(run, folder, name, seed):
    copy = folder / "run"
    shutil.copytree(run, copy)
    changed, _ = _mutate_json(json.loads((copy / name).read_text()), random.Random(seed))
    (copy / name).write_text(json.dumps(changed, allow_nan=True), encoding="utf-8", errors="surrogatepass")
    return copy


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_a_model_whose_config_has_one_field_made_hostile_is_used_or_refused_in_one_line(
        sound_run, tmp_path_factory, capsys, seed):
    run, labels = sound_run
    copy = hostile_copy(run, tmp_path_factory.mktemp("hostile"), "config.json", seed)
    capsys.readouterr()
    said_in_one_line(capsys, main(["eval", "--model", str(copy), "--data", str(labels), "--json"]))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_a_run_whose_metrics_have_one_field_made_hostile_resumes_or_is_refused_in_one_line(
        sound_run, tmp_path_factory, capsys, seed):
    run, labels = sound_run
    copy = hostile_copy(run, tmp_path_factory.mktemp("hostile"), "metrics.json", seed)
    capsys.readouterr()
    said_in_one_line(capsys, main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(copy),
                                   "--epochs", "2", "--img-size", "64", "--batch", "2", "--channels", "16",
                                   "--resume"]))
