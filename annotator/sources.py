"""Where a command's labels come from: a project, or a dataset in any format the converters read; and
what reading them had to say."""
from __future__ import annotations

import argparse
from pathlib import Path

from converters import Dataset
from converters.formats import read_dataset
from converters.report import Report

from .progress import TerminalProgress
from .store import Project, is_project


def load_source(args: argparse.Namespace, extremes: bool, quiet: bool = False) -> tuple[Dataset, Path]:
    """The dataset to convert and the folder its image names are relative to; `quiet`: nothing said
    (the output is one JSON object)."""
    if is_project(args.src):
        with Project.open(args.src, read_only=True) as project, TerminalProgress("reading project") as progress:
            return project.to_dataset(progress), project.image_root
    report = Report()
    loaded = read_dataset(args.src, args.src_fmt, args.images, report, args.gt, extremes)
    if not quiet:
        say_format(args.src, loaded.format, loaded.why)
        print_report(report)
    return loaded.dataset, loaded.image_root


def say_format(src: Path, fmt: str, why: str) -> None:
    print(f"reading {src} as {fmt} ({why})")


def print_report(report: Report) -> None:
    for line in report.lines():
        print(f"note: {line}")
