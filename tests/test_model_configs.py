"""Hostile model directories: every config.json value a model kind does not take is one line naming the
file and the key (never a traceback, never read as something else), and a damaged resume file is
refused the same way."""
import json

import pytest
import torch

from annotator.cli import main
from converters import UserError
from detectors.checkpoints import save_checkpoint
from detectors.configs import checked_config
from detectors.dextr import LIGHT, dextr_net
from detectors.kinds import load_detector
from detectors.kinds.dextr import DEXTR
from detectors.kinds.sapd import SAPD_KIND
from detectors.sapd import SAPD
from detectors.train import RESUME_STATE, Schedule, train
from tests.test_detector_train import photos

SAPD_CONFIG = {"arch": "sapd", "depth": 18, "img_size": 64, "channels": 32, "classes": ["small", "large"]}
NAN = float("nan")


@pytest.fixture(scope="module")
def dextr_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("dextr") / "run"
    save_checkpoint(run, LIGHT, dextr_net(LIGHT))
    return run


@pytest.fixture(scope="module")
def sapd_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("sapd") / "run"
    save_checkpoint(run, SAPD_CONFIG, SAPD(2, 18, 32))
    return run


def rewrite(run, tmp_path, **changes):
    """A copy of `run` whose config has `changes` (None drops the key)."""
    copy = tmp_path / "copy"
    copy.mkdir(exist_ok=True)
    (copy / "model.safetensors").write_bytes((run / "model.safetensors").read_bytes())
    config = json.loads((run / "config.json").read_text())
    config = {k: v for k, v in {**config, **changes}.items() if v is not None}
    (copy / "config.json").write_text(json.dumps(config))
    return copy


@pytest.mark.parametrize("changes, said", [
    ({"depth": 7}, "depth is 7: it must be one of 18, 34, 50, 101"),
    ({"depth": "18"}, "depth is '18': it must be one of"),
    ({"depth": True}, "depth is True"),
    ({"depth": None}, "has no 'depth'"),
    ({"crop": 0}, "crop is 0: it must be a whole number from 32 to 1024"),
    ({"crop": -256}, "crop is -256"),
    ({"crop": 2048}, "crop is 2048"),  # 11 GB for one crop of resnet101 at stride 8: killed, not an error
    ({"crop": NAN}, "crop is nan"),
    ({"crop": 256.5}, "crop is 256.5"),
    ({"output_stride": 3}, "output_stride is 3: it must be one of 8, 16"),
    ({"inputs": 6}, "inputs is 6: it must be one of 4, 5"),
    ({"arch": "sapd"}, "holds a 'sapd' model, not a DEXTR mask network"),
    ({"arch": None}, "holds a None model"),
])
def test_a_dextr_config_out_of_its_schema_is_one_line(dextr_run, tmp_path, capsys, changes, said):
    copy = rewrite(dextr_run, tmp_path, **changes)
    with pytest.raises(UserError, match="config.json") as caught:
        DEXTR.load(copy)
    assert said in str(caught.value)
    assert main(["eval-masks", str(tmp_path / "none.json"), "--method", "dextr", "--weights", str(copy)]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("changes, said", [
    ({"classes": "abc"}, "classes is 'abc': it must be a list of names"),
    ({"classes": []}, "classes is []"),
    ({"classes": ["a", "a"]}, "classes is ['a', 'a']"),
    ({"classes": ["a", 3]}, "classes is ['a', 3]"),
    ({"img_size": "big"}, "img_size is 'big': it must be a whole number from 64 to 2048"),
    ({"img_size": None}, "has no 'img_size'"),
    ({"channels": -1}, "channels is -1"),
    ({"depth": 7}, "depth is 7"),
])
def test_a_detector_config_out_of_its_schema_is_one_line(sapd_run, tmp_path, capsys, changes, said):
    copy = rewrite(sapd_run, tmp_path, **changes)
    with pytest.raises(UserError, match="config.json") as caught:
        load_detector(copy)
    assert said in str(caught.value)
    assert main(["eval", "--model", str(copy), "--data", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1


def test_older_configs_read_with_the_values_they_were_made_with():
    old = {"arch": "dextr", "depth": 101, "crop": 512}  # before output_stride and inputs were written
    read = checked_config(old, DEXTR, "x")
    assert (read["output_stride"], read["inputs"]) == (8, 4)
    before_channels = {k: v for k, v in SAPD_CONFIG.items() if k != "channels"}
    assert checked_config(before_channels, SAPD_KIND, "x")["channels"] == 256


def test_the_command_line_settings_are_checked_before_training(tmp_path, capsys):
    with pytest.raises(UserError, match="img_size is 8"):
        train(SAPD_KIND, photos(tmp_path), tmp_path / "run",
              {"depth": 18, "img_size": 8, "classes": ["small", "large"]}, Schedule(epochs=1))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 truncated", "pickle"])
def test_a_damaged_resume_file_is_refused_in_one_line(tmp_path, damage):
    data = photos(tmp_path)
    config = {"depth": 18, "img_size": 64, "channels": 32}
    out = tmp_path / "run"
    train(SAPD_KIND, data, out, {**config, "classes": ["small", "large"]}, Schedule(epochs=1, batch=2),
          log=lambda line: None)
    if damage == "pickle":
        torch.save({"optimiser": object()}, out / RESUME_STATE)  # not plain data: weights_only refuses it
    else:
        (out / RESUME_STATE).write_bytes(damage)
    with pytest.raises(UserError, match=f"{RESUME_STATE}: cannot be resumed from"):
        train(SAPD_KIND, data, out, {**config, "classes": ["small", "large"]}, Schedule(epochs=2, batch=2),
              resume=True, log=lambda line: None)


@pytest.mark.parametrize("damage", ["nested", "arch list", "arch object", "folder", "loop", "dev zero",
                                    "run is a file"])
def test_a_damaged_run_directory_is_one_line_for_every_command(tmp_path, capsys, damage):
    from annotator.cli import main
    from annotator.runs import read_run

    run = tmp_path / "run"
    run.mkdir()
    config = run / "config.json"
    if damage == "nested":
        config.write_text("[" * 100_000 + "]" * 100_000)
    elif damage.startswith("arch"):
        config.write_text(json.dumps({"arch": ["sapd"] if damage == "arch list" else {"a": 1}}))
    elif damage == "folder":
        config.mkdir()
    elif damage == "loop":
        config.symlink_to(config)
    elif damage == "dev zero":
        config.symlink_to("/dev/zero")
    else:
        run.rmdir()
        run.write_text("not a folder")
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"images": [], "categories": [], "annotations": []}))
    assert main(["eval", "--model", str(run), "--data", str(labels)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(run) in err
    if run.is_dir():
        assert read_run(run).problem  # the Models panel says what is wrong instead of hanging or failing
