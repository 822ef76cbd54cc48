"""Training that cannot fail silently: numeric options refused before anything is written, steps whose
loss is not finite or jumps skipped, a diverging run sent back to its last good epoch at half the rate
and ended with one line when that keeps happening, never a checkpoint of NaNs, and the best held-out
epoch kept as the model while the last one is what a resume goes on from."""
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from annotator.cli import main
from converters import UserError
from detectors import guard
from detectors.kinds.sapd import SAPD_KIND
from detectors.train import RESUME_STATE, Schedule, train
from tests.test_detector_train import labelled_photos, photos

CONFIG = {"depth": 18, "img_size": 64, "channels": 16, "classes": ["small", "large"]}


@pytest.mark.parametrize("options, said", [
    (["--epochs", "0"], "--epochs must be a whole number from 1"),
    (["--epochs", "-1"], "--epochs must be a whole number from 1"),
    (["--minutes", "0"], "--minutes must be a number above 0"),
    (["--minutes", "-1"], "--minutes must be a number above 0"),
    (["--minutes", "inf"], "--minutes must be a number above 0 to 10080, not inf"),
    (["--minutes", "nan"], "not nan"),
    (["--lr", "1e30"], "--lr must be a number above 0 to 1, not 1e+30"),
    (["--lr", "-1"], "--lr must be a number above 0"),
    (["--lr", "nan"], "--lr must be"),
    (["--batch", "0"], "--batch must be a whole number from 1"),
    (["--workers", "-1"], "--workers must be a whole number from 0"),
    (["--device", "bogus"], "--device must be cpu, cuda or cuda:N, not 'bogus'"),
    (["--hold-out", "1.5"], "--hold-out is a share of the images"),
])
def test_a_number_out_of_range_is_refused_in_one_line_before_anything_is_written(tmp_path, capsys, options, said):
    labels = labelled_photos(tmp_path, 4)
    run = tmp_path / "run"
    assert main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(run), "--img-size", "64",
                 *options]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1
    assert not run.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the refusal is for one without")
def test_cuda_without_a_gpu_is_refused(tmp_path, capsys):
    labels = labelled_photos(tmp_path, 4)
    assert main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(tmp_path / "run"),
                 "--device", "cuda"]) == 2
    assert "has no CUDA GPU" in capsys.readouterr().err


def test_out_onto_a_file_is_refused(tmp_path, capsys):
    labels = labelled_photos(tmp_path, 4)
    (tmp_path / "file").write_text("mine")
    assert main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(tmp_path / "file")]) == 2
    assert "is a file, not a run directory" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.parametrize("options, said", [
    (["--arch", "sapd", "--img-size", "2048"], "a step of 4 samples at 2048 px needs about 23.4 GB and cpu has 8.0 GB "
                                               "free: lower --img-size or --batch"),
    (["--arch", "dextr", "--backbone", "resnet101", "--crop", "1024"], "lower --crop or --batch"),
])
def test_a_step_larger_than_the_free_memory_is_refused_before_it_starts(tmp_path, capsys, monkeypatch, options,
                                                                         said):
    """Once it started, the kernel killed the run minutes later without a word."""
    monkeypatch.setattr("detectors.memory.available_bytes", lambda device: 8 * 2**30)
    labels = labelled_photos(tmp_path, 4)
    assert main(["train", "--data", str(labels), "--out", str(tmp_path / "run"), *options]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_the_default_step_fits_a_small_laptop():
    from annotator.training import TrainingRequest
    from detectors.kinds import KINDS
    from detectors.memory import training_bytes

    for kind in KINDS.values():
        config = kind.new_config(TrainingRequest(kind.name, Path("run")).depth)
        assert training_bytes(config, kind.defaults.batch) < 2 * 2**30, kind.name


def test_a_run_beside_the_photos_is_never_taken_for_photos(tmp_path):
    from converters.images import image_names

    labels = labelled_photos(tmp_path, 4)
    run = labels.parent / "runs" / "first"
    assert main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(run), "--img-size", "64",
                 "--epochs", "1", "--channels", "16"]) == 0
    assert (run / "metrics.png").exists()
    assert not [name for name in image_names(labels.parent) if name.startswith("runs/")]


def poisoned(monkeypatch, when):
    """SAPD's loss with its class term made `when(call)` (a number to multiply by, or NaN) on each call."""
    import detectors.kinds.sapd as sapd_kind

    calls = [0]
    real = sapd_kind.sapd_loss

    def loss(*args, **kwargs):
        parts = real(*args, **kwargs)
        calls[0] += 1
        factor = when(calls[0])
        return {**parts, "cls": parts["cls"] * factor} if factor != 1 else parts
    monkeypatch.setattr(sapd_kind, "sapd_loss", loss)
    return calls


def finite(run) -> bool:
    return all(torch.isfinite(t).all() for t in load_file(str(run / "model.safetensors")).values())


def test_a_step_whose_loss_is_not_finite_is_skipped_and_training_goes_on(tmp_path, monkeypatch):
    poisoned(monkeypatch, lambda call: math.nan if call == 3 else 1)
    out = tmp_path / "run"
    train(SAPD_KIND, photos(tmp_path), out, CONFIG, Schedule(epochs=3, batch=2), log=lambda line: None)
    history = json.loads((out / "metrics.json").read_text())
    assert [m["epoch"] for m in history] == [1, 2, 3]
    assert [m.get("skipped_steps", 0) for m in history] == [0, 1, 0]  # 2 steps an epoch: the third step
    assert all(math.isfinite(m["loss"]) for m in history) and finite(out)


def test_a_run_whose_every_step_was_refused_says_so_and_writes_no_model(tmp_path, monkeypatch, capsys):
    """It once ended with exit 0 and no model: too few steps for the guard to call it a divergence."""
    poisoned(monkeypatch, lambda call: math.nan)
    labels = labelled_photos(tmp_path, 4)
    run = tmp_path / "run"
    assert main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(run), "--epochs", "1",
                 "--img-size", "64", "--batch", "2"]) == 2
    assert "no epoch finished: every step was refused" in capsys.readouterr().err
    assert not (run / "model.safetensors").exists()


def test_bfloat16_trains_only_samples_large_enough_for_it(tmp_path):
    from detectors.device import native_bf16

    lines = []
    train(SAPD_KIND, photos(tmp_path), tmp_path / "run", CONFIG, Schedule(epochs=1, batch=2), amp=True,
          log=lines.append)
    assert ("training in float32: bfloat16 needs samples of 128 px or more" in lines) is native_bf16()


def test_a_run_that_keeps_diverging_goes_back_halves_the_rate_and_ends_in_one_line(tmp_path, monkeypatch):
    poisoned(monkeypatch, lambda call: math.nan if call > 4 else 1)  # from the third epoch on (2 steps each)
    out, lines = tmp_path / "run", []
    with pytest.raises(UserError, match=r"training diverged 4 times \(5 steps in a row were refused .*lower --lr"):
        train(SAPD_KIND, photos(tmp_path), out, CONFIG, Schedule(epochs=20, batch=2), log=lines.append)
    went_back = [line for line in lines if line.startswith("training diverged")]
    assert [line.split("at ")[-1] for line in went_back] == ["0.5 of the learning rate", "0.25 of the learning rate",
                                                            "0.125 of the learning rate"]
    assert json.loads((out / "config.json").read_text())["epoch"] == 2 and finite(out)
    assert [m["epoch"] for m in json.loads((out / "metrics.json").read_text())] == [1, 2]


def test_an_epoch_whose_loss_trebles_is_not_kept(tmp_path, monkeypatch):
    poisoned(monkeypatch, lambda call: 8 if call > 6 else 1)  # from the fourth epoch: eight times the loss
    lines = []
    with pytest.raises(UserError, match="the epoch's loss rose to"):
        train(SAPD_KIND, photos(tmp_path), tmp_path / "run", CONFIG, Schedule(epochs=20, batch=2), log=lines.append)
    assert any("the epoch's loss rose to" in line and "back to the end of epoch 3" in line for line in lines)


def test_the_guard_skips_a_spike_but_not_the_usual_ups_and_downs():
    g = guard.LossGuard()
    for loss in [2.0, 1.8, 2.2, 1.9, 2.1, 1.7, 2.0, 1.9, 2.3, 1.8]:
        assert g.refuses(loss) == ""
    assert g.refuses(3.5) == ""  # a hard batch
    assert "jumped to 40" in g.refuses(40.0)
    assert "gradient is inf" in g.refuses(2.0, math.inf)
    assert g.skipped == 2


def held_out_scores(values):
    """A validator that scores the epochs with `values` of AP50 in turn."""
    epochs = iter(values)

    def validate(model, config):
        ap50 = next(epochs)
        return {"val_ap50": ap50, "val_ap": ap50 / 2}
    return validate


def test_the_best_held_out_epoch_is_the_model_and_the_last_is_what_resumes(tmp_path):
    data, out, lines = photos(tmp_path), tmp_path / "run", []
    kept = train(SAPD_KIND, data, out, CONFIG, Schedule(epochs=3, batch=2), validate=held_out_scores([0.2, 0.6, 0.4]),
                 log=lines.append)
    assert kept["epoch"] == 2 and kept["val_ap50"] == 0.6
    assert json.loads((out / "config.json").read_text())["epoch"] == 2
    assert lines[1].endswith("(kept)") and not lines[2].endswith("(kept)")
    state = torch.load(out / RESUME_STATE, weights_only=True)
    assert state["epoch"] == 3 and state["kept"] == 2
    weights = load_file(str(out / "model.safetensors"))
    assert not all(torch.equal(weights[k], v) for k, v in state["model"].items())  # epoch 2's, not the last
    resumed = []
    again = train(SAPD_KIND, data, out, CONFIG, Schedule(epochs=4, batch=2), resume=True,
                  validate=held_out_scores([0.7]), log=resumed.append)
    assert resumed[0].startswith("resuming after epoch 3") and again["epoch"] == 4
    assert json.loads((out / "config.json").read_text())["epoch"] == 4


def test_a_run_kept_at_an_earlier_epoch_is_listed_with_its_scores(tmp_path):
    from annotator.runs import read_run

    out = tmp_path / "run"
    train(SAPD_KIND, photos(tmp_path), out, CONFIG, Schedule(epochs=3, batch=2),
          validate=held_out_scores([0.2, 0.6, 0.4]), log=lambda line: None)
    run = read_run(out)
    assert run.kept == 2 and run.scores["ap50"] == 0.6
    assert "3 epochs (epoch 2 kept)" in run.described()


def test_a_run_that_fails_before_its_first_epoch_leaves_no_directory_behind(tmp_path, monkeypatch, capsys):
    import detectors.kinds.sapd as sapd_kind

    def broken(*args, **kwargs):
        raise MemoryError("as if the machine ran out")
    monkeypatch.setattr(sapd_kind, "sapd_loss", broken)
    labels = labelled_photos(tmp_path, 4)
    with pytest.raises(MemoryError):
        main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(tmp_path / "run"), "--img-size", "64",
              "--epochs", "1"])
    assert not (tmp_path / "run").exists()


def test_the_temporary_files_of_a_run_killed_while_writing_are_cleared_when_it_goes_on(tmp_path):
    out = tmp_path / "run"
    train(SAPD_KIND, photos(tmp_path), out, CONFIG, Schedule(epochs=1, batch=2), log=lambda line: None)
    (out / f".{RESUME_STATE}.abc123.tmp").write_bytes(b"x" * 1000)  # as a kill while the state was written
    (out / "notes.tmp").write_text("the person's")
    train(SAPD_KIND, photos(tmp_path), out, CONFIG, Schedule(epochs=2, batch=2), resume=True, log=lambda line: None)
    assert not (out / f".{RESUME_STATE}.abc123.tmp").exists() and (out / "notes.tmp").exists()


def test_the_resume_state_is_written_at_most_every_half_minute_and_always_at_the_end(tmp_path, monkeypatch):
    import detectors.train as loop

    saves = []
    real = loop.torch.save
    monkeypatch.setattr(loop.torch, "save", lambda obj, f: (saves.append(obj["epoch"]), real(obj, f)))
    out = tmp_path / "run"
    train(SAPD_KIND, photos(tmp_path), out, CONFIG, Schedule(epochs=4, batch=2), log=lambda line: None)
    assert saves == [4]  # four quick epochs: once, at the end
    assert torch.load(out / RESUME_STATE, weights_only=True)["epoch"] == 4
    assert [m["epoch"] for m in json.loads((out / "metrics.json").read_text())] == [1, 2, 3, 4]  # every epoch
    monkeypatch.setattr(loop, "SAVE_EVERY_S", 0.0)
    saves.clear()
    train(SAPD_KIND, photos(tmp_path), tmp_path / "again", CONFIG, Schedule(epochs=3, batch=2), log=lambda line: None)
    assert saves == [1, 2, 3]


@pytest.mark.parametrize("command, said", [
    (["eval-masks", "X", "--jitter", "-5"], "--jitter is a distance in pixels from 0 to 1000, not -5"),
    (["eval-masks", "X", "--jitter", "nan"], "--jitter is a distance in pixels from 0 to 1000, not nan"),
    (["eval-masks", "X", "--corrections", "-5"], "--corrections must be a whole number from 0 to 20, not -5"),
    (["eval-masks", "X", "--corrections", "1000"], "--corrections must be a whole number from 0 to 20, not 1000"),
    (["anchors", "X", "--threshold", "nan"], "--threshold is a ratio above 1"),
    (["train", "--arch", "dextr", "--synthetic", "10000000", "--out", "RUN"], "--synthetic must be a whole number"),
])
def test_the_other_commands_numbers_are_checked_before_work_starts(tmp_path, capsys, command, said):
    labels = labelled_photos(tmp_path, 4)
    args = [str(labels) if a == "X" else str(tmp_path / "run") if a == "RUN" else a for a in command]
    assert main(args) == 2
    assert said in capsys.readouterr().err
