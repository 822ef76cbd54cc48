"""The layering of ../shared/DESIGN.md, for every module: converters imports neither torch nor Qt nor the layers
above it; detectors imports no Qt and nothing of the app; the app's core imports no Qt (only
`annotator.gui` does). Each layer's modules are all imported in a fresh interpreter, which then says
what else got loaded."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def modules_of(package: str, leave_out: tuple[str, ...] = ()) -> list[str]:
    """Every module of `package`, found on disk (a new file is checked without being listed here)."""
    found = [package]
    for info in pkgutil.walk_packages([str(ROOT / package.replace(".", "/"))], prefix=f"{package}."):
        if not info.name.endswith(".__main__") and not info.name.startswith(leave_out):
            found.append(info.name)
    return sorted(found)


LAYERS = {
    "converters": (modules_of("converters"), ["torch", "PySide6", "annotator", "detectors"]),
    "detectors": (modules_of("detectors"), ["PySide6", "annotator"]),
    "annotator core": (modules_of("annotator", leave_out=("annotator.gui",)), ["PySide6"]),
}


def test_every_module_is_in_a_layer():
    listed = {m for modules, _ in LAYERS.values() for m in modules}
    assert len(listed) >= 60 and "detectors.mask_backends.grabcut" in listed and "annotator.store" in listed
    assert "annotator.gui.window" not in listed  # the only layer that may import Qt


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_imports_only_point_down(layer):
    modules, forbidden = LAYERS[layer]
    code = (f"import sys\nfor m in {modules!r}: __import__(m)\n"
            f"print(','.join(sorted(m for m in {forbidden!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{layer} loads {result.stdout.strip()}"


def test_the_kinds_are_described_without_torch_as_the_registry_builds_them():
    """The command line's help and the window's lists name the kinds without loading torch; the registry
    must say the same of each."""
    code = ("import sys\nimport annotator.cli, annotator.model_commands, annotator.runs, detectors.catalogue\n"
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr
    from detectors.catalogue import CATALOGUE, Role
    from detectors.kinds import KINDS
    from detectors.mask_backends import BACKENDS

    assert set(KINDS) == set(CATALOGUE)
    for name, kind in KINDS.items():
        assert (kind.title, kind.role) == (CATALOGUE[name].title, CATALOGUE[name].role)
    assert all(BACKENDS[b].weights for f in CATALOGUE.values() if f.role is Role.MASKS for b in f.backends)
