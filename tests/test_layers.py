"""The layering of DESIGN.md: converters imports neither torch nor Qt; the core imports no Qt."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("modules, forbidden", [
    (["converters", "converters.formats", "converters.coco", "converters.voc", "converters.yolo"],
     ["torch", "PySide6"]),
    (["annotator", "annotator.store", "annotator.cli", "annotator.session", "annotator.commands"], ["PySide6"]),
    (["detectors"], ["PySide6", "annotator"]),
])
def test_imports_only_point_down(modules, forbidden):
    code = (f"import sys\nfor m in {modules!r}: __import__(m)\n"
            f"print(','.join(sorted(m for m in {forbidden!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
