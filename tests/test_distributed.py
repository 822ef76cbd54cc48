"""Training under torchrun: two CPU processes over gloo share the images, stop on the same step of a
time budget, and end with the same weights; the command line runs the same way."""
import json
import subprocess
import sys

import pytest

from tests.test_detector_train import labelled_photos

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]

# Each process records the weights it ended with, and the steps it took.
PROBE = """
import json, os, sys
from pathlib import Path
import detectors.kinds.sapd as sapd_kind
from detectors.kinds.sapd import SAPD_KIND
from detectors.train import Schedule, train
from converters.formats import read_dataset
from detectors.detection_data import load_photos

made = []
class Recorded(sapd_kind.SAPD):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        made.append(self)
sapd_kind.SAPD = Recorded

coco, out = Path(sys.argv[1]), Path(sys.argv[2])
loaded = read_dataset(coco, "coco", coco.parent, extremes=True)
found, classes = load_photos(loaded.dataset, loaded.image_root)
metrics = train(SAPD_KIND, found, out, {"depth": 18, "img_size": 64, "channels": 32, "classes": classes},
                Schedule(minutes=0.1, batch=2), log=lambda line: None)
sums = [float(p.detach().double().sum()) for p in made[0].parameters()]
(out / f"rank{os.environ['RANK']}.json").write_text(json.dumps({"steps": metrics["steps"], "sums": sums}))
"""


def test_two_processes_stop_together_on_a_time_budget_with_the_same_weights(tmp_path):
    labels = labelled_photos(tmp_path)
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    out = tmp_path / "run"
    done = subprocess.run([*TORCHRUN, str(probe), str(labels), str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = (json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1))
    assert first["steps"] == second["steps"] > 0
    assert first["sums"] == second["sums"]  # they read different images: only averaged gradients keep them equal
    assert json.loads((out / "metrics.json").read_text())[-1]["steps"] == first["steps"]


@pytest.mark.parametrize("arch, options", [("sapd", ["--channels", "32"]), ("extremenet", [])])
def test_torchrun_runs_the_train_command_on_each_process_s_share_of_the_images(tmp_path, arch, options):
    labels = labelled_photos(tmp_path)
    run = tmp_path / "run"
    done = subprocess.run([*TORCHRUN, "-m", "annotator", "train", "--arch", arch, "--data", str(labels),
                           "--out", str(run), "--epochs", "2", "--img-size", "64", "--batch", "2", *options],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count(f"training {arch}") == 1 and "2 processes" in done.stdout
    history = json.loads((run / "metrics.json").read_text())
    assert [m["steps"] for m in history] == [2, 4]  # 8 images, 4 per process, 2 per step
    assert (run / "model.safetensors").is_file()
