"""The `annotator` command. Every user mistake ends as one line naming the file and place, exit code 2."""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from converters.errors import Cancelled, UserError, disk_full, package_version
from converters.fileformat import OUTLINE_TOLERANCE_PX, Content
from converters.formats import FORMATS, WRITABLE, read_dataset, write_dataset
from converters.report import Report

from .anchor_command import add_anchor_command
from .database import first_line, is_database_url, shown_url
from .effort import described
from .export import check_output, for_export
from .folders import DEFAULT_PROJECT_NAME, init_project, project_for
from .model_commands import add_model_commands
from .progress import TerminalProgress
from .sources import load_source, print_report, say_format
from .store import Project, damaged, is_damage, is_project, project_location
from .team_command import add_team_command
from .team_roots import remember_root

#: The most --tolerance takes: a polygon further than this from its mask is no longer its outline.
MAX_TOLERANCE_PX = 50.0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(training=argv[:1] == ["train"])
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        if has_display():  # plain `annotator`: the start page
            missing = _missing_qt_libraries()
            if missing:
                print(f"annotator: error: {missing}", file=sys.stderr)
                return 2
            from .gui.app import run_start_page

            return run_start_page()
        parser.print_help()
        return 0
    try:
        args.run(args)
    except UserError as e:
        _say_error(str(e))
        return 2
    except (OSError, sqlite3.DatabaseError) as e:
        line = disk_full(e)
        if line is None and isinstance(e, sqlite3.DatabaseError) and is_damage(e):  # a damaged page, met mid-read
            line = damaged(getattr(args, "project", None) or getattr(args, "src", None), str(e))
        if line is None:
            raise
        _say_error(str(line))
        return 2
    except (Cancelled, KeyboardInterrupt):
        print("annotator: cancelled; nothing was written", file=sys.stderr)
        return 130
    except Exception as e:
        if not type(e).__module__.startswith("psycopg"):  # a team database's server went away mid-command
            raise
        _say_error(f"the team database failed, and the command's transaction was rolled back: {first_line(e)}")
        return 2
    return 0


def _say_error(text: str) -> None:
    """The one line, whatever it quotes: a name from a hostile file may hold a lone surrogate, which no
    terminal encoding takes."""
    print(f"annotator: error: {text}".encode("utf-8", "backslashreplace").decode("utf-8"), file=sys.stderr)


def _parser(training: bool = False) -> argparse.ArgumentParser:
    """`training`: with the train command's arguments, which read the model kinds (and so load torch)."""
    p = argparse.ArgumentParser(
        prog="annotator",
        description="Label objects by clicking their four extreme points; convert and inspect datasets. "
                    "`annotator` alone opens the start page (recent projects, open a folder of images).",
    )
    p.add_argument("--version", action="version", version=f"annotator {package_version()}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    s = sub.add_parser("init", help="create (or update) a project for a folder of images",
                       description="Create a project for IMAGE_DIR, or add new images and labels to it.")
    s.add_argument("image_dir", metavar="IMAGE_DIR", type=Path, help="folder of images (searched recursively)")
    s.add_argument("--project", type=project_location,
                   help=f"project file (default: IMAGE_DIR/{DEFAULT_PROJECT_NAME}), or a team database's URL: a new "
                        "team project there, or new images for one")
    s.add_argument("--labels", default="", help="comma-separated category names, e.g. date,fig,hazelnut")
    s.set_defaults(run=cmd_init)

    s = sub.add_parser("open", help="open the labelling window on a folder of images or a project",
                       description="Open the labelling window. A folder of images gets its project created or "
                                   f"updated first (FOLDER/{DEFAULT_PROJECT_NAME}), as `init` does.")
    s.add_argument("target", metavar="FOLDER|PROJECT", type=project_location,
                   help="folder of images, a project file, or a team project's URL")
    s.add_argument("--images", type=Path, help="a team project: your copy of its images (remembered for the URL)")
    s.set_defaults(run=cmd_open)

    s = sub.add_parser("import", help="import labels from a dataset into a project",
                       description="Merge labels into a project (created if missing). Categories match by name, "
                                   "images by path; labels already present are skipped.")
    s.add_argument("--from", dest="src_fmt", choices=sorted(FORMATS), help="format of FILE (default: detected)")
    s.add_argument("file", metavar="FILE", type=Path, help="labels file or dataset folder")
    s.add_argument("--gt", type=Path, help="coco-results: the COCO file whose image and category ids FILE uses")
    s.add_argument("--images", type=Path, help="folder the image names are relative to "
                                               "(default: the dataset's own folder)")
    s.add_argument("--project", type=project_location, required=True,
                   help="project file to import into (made if missing), or a team project's URL")
    s.set_defaults(run=cmd_import)

    s = sub.add_parser("convert", help="write a project or dataset in another format",
                       description="Convert SRC (a project file, or a dataset in any supported format) to another "
                                   "format. What the target cannot hold is reported, one line per kind; the "
                                   "output is written whole or not at all.")
    s.add_argument("src", metavar="SRC", type=project_location,
                   help="project file, a team project's URL, labels file or dataset folder")
    s.add_argument("--to", dest="fmt", choices=WRITABLE, required=True, help="output format")
    s.add_argument("-o", "--output", type=Path, required=True,
                   help="output file (coco) or folder (voc, yolo, labelme, cvat; new, empty or an earlier export)")
    s.add_argument("--from", dest="src_fmt", choices=sorted(FORMATS), help="format of SRC (default: detected)")
    s.add_argument("--gt", type=Path, help="coco-results: the COCO file whose image and category ids SRC uses")
    s.add_argument("--images", type=Path, help="folder SRC's image names are relative to")
    s.add_argument("--rle", action="store_true", help="coco: write masks as RLE instead of polygons")
    s.add_argument("--boxes", action="store_true", help="yolo: box lines only, no polygons (a detection dataset)")
    s.add_argument("--tolerance", type=float, default=OUTLINE_TOLERANCE_PX, metavar="PX",
                   help=f"yolo: each polygon within PX pixels of its mask, with as few vertices as that allows "
                        f"(default {OUTLINE_TOLERANCE_PX:g}; 0: every vertex of the pixel edges)")
    s.add_argument("--strict", action="store_true", help="fail instead of dropping what the target cannot hold")
    s.add_argument("--with-skipped", action="store_true",
                   help="a project's skipped images too (left out by default: exported without their objects, "
                        "they would teach a detector that they hold none)")
    s.add_argument("--done-only", action="store_true",
                   help="a project's images marked done only (a half-labelled image would teach a detector that "
                        "its unlabelled objects are background)")
    s.set_defaults(run=cmd_convert)

    add_model_commands(sub, training)

    add_anchor_command(sub)

    add_team_command(sub)

    s = sub.add_parser("stats", help="count images by status and objects by category, and the time per object",
                       description="Images by status, objects per category, the share with masks, and the "
                                   "median seconds a person spent per object by how it came to be: clicked, a "
                                   "suggestion accepted as it was, or a suggestion edited. Pauses of over a "
                                   "minute are not counted.")
    s.add_argument("project", metavar="PROJECT", type=project_location, help="project file, or a team project's URL")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(run=cmd_stats)

    s = sub.add_parser("salvage", help="copy what can be read of a damaged project into a new one",
                       description="Read a damaged project (a damaged page, a missing table, unreadable fields, "
                                   "objects whose category is gone) and copy its images, categories, objects and "
                                   "pending suggestions into a new project with the same image folder. The "
                                   "damaged file is only read. Says what was lost and what was left empty.")
    s.add_argument("damaged", metavar="PROJECT", type=Path, help="the damaged project file")
    s.add_argument("new", metavar="NEW", type=Path, help="the new project file (must not exist yet)")
    s.add_argument("--images", type=Path, help="the image folder, when the damaged project no longer says")
    s.set_defaults(run=cmd_salvage)
    return p


def cmd_salvage(args: argparse.Namespace) -> None:
    from .salvage import salvage

    if args.images is not None and not args.images.is_dir():
        raise UserError("no such folder (--images)", args.images)
    print(salvage(args.damaged, args.new, args.images).summary(args.new))


def cmd_init(args: argparse.Namespace) -> None:
    labels = [n.strip() for n in args.labels.split(",") if n.strip()]
    with TerminalProgress("reading image sizes") as progress:
        result = init_project(args.image_dir, args.project, labels, progress)
    print(f"{'created' if result.created else 'updated'} {shown_url(str(result.path))}: {result.added} new images "
          f"({result.found} found), categories: {', '.join(result.categories) or 'none yet'}")
    print_report(result.report)


def cmd_open(args: argparse.Namespace) -> None:
    if not has_display():
        raise UserError("no display to open the window on: run it in a desktop session (or under xvfb-run)")
    missing = _missing_qt_libraries()
    if missing:
        raise UserError(missing)
    if is_database_url(args.target):
        if args.images is not None:
            if not args.images.is_dir():
                raise UserError("no such folder (--images)", args.images)
            remember_root(args.target, args.images)
        project_file: str | Path = args.target
    else:
        if args.images is not None:
            raise UserError("--images applies to a team project's URL; a project file keeps its image folder")
        with TerminalProgress("reading image sizes") as progress:
            project_file = project_for(args.target, progress)
    from .gui.app import run  # Qt is loaded only for the window

    with Project.open(project_file) as project:
        run(project)


def _missing_qt_libraries() -> str | None:
    """One line naming the system packages Qt's X11 plugin lacks, before Qt aborts with its own."""
    from .gui.qtlibs import missing_line, uses_xcb  # no Qt: it asks the linker about Qt's plugin

    return missing_line() if uses_xcb() else None


def has_display() -> bool:
    return not sys.platform.startswith("linux") or any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def cmd_import(args: argparse.Namespace) -> None:
    if args.images is not None and not args.images.is_dir():
        raise UserError("no such folder (--images)", args.images)
    report = Report()
    loaded = read_dataset(args.file, args.src_fmt, args.images, report, args.gt)
    say_format(args.file, loaded.format, loaded.why)
    with Project.open_or_create(args.project, loaded.image_root) as project, \
            TerminalProgress("importing") as progress:
        # An import is one transaction, minutes long for a large file: with the project open in a
        # window, the window's edits would wait on it and fail. One of them waits for the other instead.
        project.lock_for_labelling("annotator import")
        result = project.import_dataset(loaded.dataset, loaded.image_root, progress)
        where = project.where
    suggestions = f" and {result.suggestions_added} pending suggestions" if result.suggestions_added else ""
    print(f"imported {result.annotations_added} annotations{suggestions} on {len(loaded.dataset.images)} images "
          f"({result.images_added} new images, {result.categories_added} new categories) into {where}")
    print_report(report)
    print_report(result.report)


def cmd_convert(args: argparse.Namespace) -> None:
    if args.rle and args.fmt != "coco":
        raise UserError(f"--rle applies to --to coco only, not {args.fmt}")
    if args.boxes and args.fmt != "yolo":
        raise UserError(f"--boxes applies to --to yolo only, not {args.fmt}")
    if not 0 <= args.tolerance <= MAX_TOLERANCE_PX:  # nan is refused too
        raise UserError(f"--tolerance is pixels from 0 to {MAX_TOLERANCE_PX}, not {args.tolerance:g}")
    dataset, image_root = load_source(args, extremes=Content.EXTREME_POINTS in FORMATS[args.fmt].holds)
    check_output(args.output, args.src, image_root)
    report = Report(strict=args.strict)
    if is_project(args.src):
        dataset = for_export(dataset, args.fmt, report, args.with_skipped, args.done_only)
    elif args.with_skipped or args.done_only:
        raise UserError("--with-skipped and --done-only apply to a project, whose images have a status", args.src)
    with TerminalProgress(f"writing {args.output.name}") as progress:
        write_dataset(dataset, args.output, args.fmt, report, rle=args.rle, progress=progress, image_root=image_root,
                      boxes=args.boxes, tolerance=args.tolerance)
    print(f"wrote {args.output} ({args.fmt}): {len(dataset.images)} images, {len(dataset.annotations)} annotations")
    print_report(report)


def cmd_stats(args: argparse.Namespace) -> None:
    with Project.open(args.project, read_only=True) as project:
        stats = project.stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return
    status = ", ".join(f"{k} {v}" for k, v in stats["images_by_status"].items())
    print(f"images: {stats['images']} ({status}); missing on disk: {stats['missing_images']}")
    for path in stats["missing_examples"]:
        print(f"  missing: {path}")
    print(f"objects: {stats['objects']}, with masks: {stats['with_mask']} ({stats['share_with_mask']:.0%}); "
          f"pending suggestions: {stats['pending_suggestions']}")
    width = max((len(n) for n in stats["objects_per_category"]), default=0)
    for name, count in stats["objects_per_category"].items():
        print(f"  {name:<{width}}  {count}")
    print(described(stats["effort"]))
    named = {person: p for person, p in stats["people"].items() if person}
    for person, p in named.items() if len(named) > 1 else ():  # a team's: who made how many, how fast
        timed = f", median {p['median_seconds']:.1f} s ({p['timed']} timed)" if p["timed"] else ""
        print(f"  {person}: {p['objects']} objects{timed}")
