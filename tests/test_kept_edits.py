"""The record of edits a team project's window kept while its server was away: a dead window's is read
once, a living one's is left alone, and a damaged one is said rather than dropped."""
from __future__ import annotations

import subprocess
import sys

from annotator.kept_edits import KeptEdit, KeptEdits, left_by_windows_gone


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_dead_windows_edits_are_read_once_in_order_and_a_living_ones_stay(tmp_path):
    KeptEdits(tmp_path).write([KeptEdit("a brush stroke", "a.png", 5.0)])  # this process: a living window
    KeptEdits(tmp_path, dead_pid()).write([KeptEdit("mark done (or not done)", "c.png", 9.0),
                                           KeptEdit("move the top point of label 3", "b.png", 1.0)])
    gone = left_by_windows_gone(tmp_path)
    assert [(e.what, e.image) for e in gone] == [("move the top point of label 3", "b.png"),
                                                 ("mark done (or not done)", "c.png")]
    assert left_by_windows_gone(tmp_path) == []  # said once
    assert len(list(tmp_path.glob("kept-*.json"))) == 1


def test_a_record_written_empty_is_removed_and_a_damaged_one_is_said(tmp_path):
    mine = KeptEdits(tmp_path)
    mine.write([KeptEdit("a brush stroke", "a.png", 5.0)])
    mine.write([])
    assert not mine.path.exists()
    (tmp_path / f"kept-{dead_pid()}.json").write_text("[{not json")
    [said] = left_by_windows_gone(tmp_path)
    assert said.what.startswith("edits in a record that cannot be read")
    assert not list(tmp_path.glob("kept-*.json"))
