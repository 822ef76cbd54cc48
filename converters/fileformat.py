"""What a format module declares, so that detection, reading, writing and the report of what a format
cannot hold go through one registry (`converters.formats.FORMATS`) instead of a branch per format.

A format is one module that ends with a `FileFormat`, plus its line in the registry. Its reader and
writer take the same arguments as every other format's, whichever of them it uses.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from .model import Dataset
from .progress import Progress, no_progress
from .report import Report


class Content(StrEnum):
    """What a format may hold beyond boxes, each a loss the report names when the target lacks it."""

    POLYLINES = "polylines"
    POINT_SETS = "point sets"
    CROWD = "crowd regions"
    MASKS = "masks"
    EXTREME_POINTS = "extreme points"
    ATTRIBUTES = "attributes"


@dataclass(frozen=True)
class ReadOptions:
    """What a person may add to the source when reading it.

    `images`: the folder the image names are relative to, for formats that do not say it themselves
    (a YOLO data file names its image folders, so YOLO reads none). `gt`: the COCO file whose ids a
    results file uses."""

    images: Path | None = None
    gt: Path | None = None


#: A traced mask's outline steps along pixel edges: within a pixel of it, a few dozen vertices say the
#: same shape as hundreds.
OUTLINE_TOLERANCE_PX = 1.0


@dataclass(frozen=True)
class WriteOptions:
    """`image_root`: where the images are, for the formats that link them in beside their labels.
    `rle`: masks as RLE where the format can hold either. `progress`: called per image or object.
    `boxes`: boxes only where a format would write a mask's outline instead (YOLO). `tolerance`: an
    outline written as a polygon lies within this many pixels of the mask (YOLO; 0 keeps every vertex
    of the pixel edges)."""

    image_root: Path | None = None
    rle: bool = False
    progress: Progress = no_progress
    boxes: bool = False
    tolerance: float = OUTLINE_TOLERANCE_PX


class Read(NamedTuple):
    dataset: Dataset
    image_root: Path  # the folder the dataset's file names are relative to


Reader = Callable[[Path, ReadOptions, Report], Read]
Writer = Callable[[Dataset, Path, WriteOptions, Report], None]


@dataclass(frozen=True)
class FileFormat:
    """One format. `recognise` looks only at the files' heads and says why they are this format (None:
    they are not); the registry asks the formats in its order, the most particular first. What a
    format does not hold is reported before its writer runs (`converters.formats.write_dataset`), and
    objects it has no place for at all (polylines, crowd regions) are taken out; the writer leaves the
    other fields it lacks unwritten. A format without a writer is read only. `suffix`: the writer
    writes one file, named with this suffix (".json"); None: it writes a folder."""

    name: str  # the command line's and the settings' word: `--from coco`
    title: str  # the window's and the report's word: "COCO"
    holds: frozenset[Content]
    recognise: Callable[[Path], str | None]
    read: Reader
    write: Writer | None = None
    suffix: str | None = None
