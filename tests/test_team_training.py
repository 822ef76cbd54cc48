"""Training, pre-labelling and ranking on a team project, from the command line: the labels come from the
team database, the images from this person's copy of them, and what a run writes names the database
without its password."""
from __future__ import annotations

import json
import shutil

from annotator.cli import main
from annotator.store import Project
from annotator.team import push
from annotator.training import TrainingRequest
from converters import Annotation, ExtremePoints, ImageStatus
from tests.test_detector_train import photos

TRAIN = ["--arch", "sapd", "--epochs", "1", "--img-size", "64", "--batch", "2"]


def team_project(tmp_path, database: str) -> list:
    """Four photos in a project file, two of them labelled and marked done, pushed into `database`; the
    file's own folder is then emptied, so only a copy elsewhere holds the images."""
    made = tmp_path / "made"
    made.mkdir()
    data = photos(made)
    path = made / "p.sqlite"
    with Project.create(path, made) as project:
        project.add_images([(p.path.name, 128, 96) for p in data])
        small = project.add_category("small")
        for image_id, p in ((1, data[0]), (2, data[1])):
            top, left, bottom, right = (tuple(map(float, point)) for point in p.extremes[0])
            project.add_annotation(Annotation.from_extreme(0, image_id, small.id,
                                                           ExtremePoints(top, left, bottom, right)))
            project.set_status(image_id, ImageStatus.DONE)
    push(path, database)
    shutil.copytree(made, tmp_path / "copy", ignore=shutil.ignore_patterns("*.sqlite*"))
    shutil.rmtree(made)
    return data


def test_a_team_project_trains_on_its_done_images_from_this_persons_copy_and_keeps_no_password(
        tmp_path, database, capsys):
    team_project(tmp_path, database)
    with_password = database.replace("annotator@", "annotator:s3cret@")
    run = tmp_path / "run"
    assert main(["train", *TRAIN, "--data", with_password, "--images", str(tmp_path / "copy"),
                 "--out", str(run)]) == 0
    said = capsys.readouterr().out
    assert f"{database}: training on the 2 images marked done of 4" in said and "s3cret" not in said
    written = (run / "request.json").read_text()
    assert "s3cret" not in written and json.loads(written)["data"] == database
    assert TrainingRequest.of_run(run).data == database  # a resume reads the same database


def test_the_owner_pre_labels_and_ranks_a_team_project_and_an_annotator_is_refused_in_one_line(
        tmp_path, database, pg_server, capsys):
    team_project(tmp_path, database)
    run = tmp_path / "run"
    assert main(["train", *TRAIN, "--data", database, "--images", str(tmp_path / "copy"), "--out", str(run)]) == 0
    # the copy named once is this person's for the team project, as `annotator open URL --images` keeps it
    assert main(["prelabel", database, "--model", str(run), "--min-score", "0"]) == 0
    assert f"{database}: pre-labelled 2 images" in capsys.readouterr().out
    with Project.open(database) as project:
        assert sum(len(project.suggestions(im.id)) for im in project.images()) > 0
    assert main(["rank", database, "--by", "random"]) == 0
    assert f"{database}: ranked 2 images not yet done" in capsys.readouterr().out

    name = database.rsplit("/", 1)[1]
    assert main(["team", "person", database, f"{name}_bob", "--role", "annotator"]) == 0
    capsys.readouterr()
    bob = database.replace("annotator@", f"{name}_bob@")
    for command in (["prelabel", bob, "--model", str(run)], ["rank", bob, "--by", "random"],
                    ["train", *TRAIN, "--data", bob, "--out", str(tmp_path / "bobs")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "is the team project's owner's to do, and your team role is annotator" in err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bobs").exists()
