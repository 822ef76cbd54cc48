"""What the image list shows: search, filters, counts and marks."""
import pytest

from annotator.imagelist import Counts, image_text, shown_images
from converters import ImageRecord, ImageStatus

IMAGES = [ImageRecord(1, "farm/Cow.jpg", 10, 10, ImageStatus.DONE), ImageRecord(2, "farm/horse.jpg", 10, 10),
          ImageRecord(3, "city/car.jpg", 10, 10, ImageStatus.SKIPPED, {"skip_reason": "blurred"}),
          ImageRecord(4, "city/bus.jpg", 10, 10, ImageStatus.IN_PROGRESS)]
PENDING = {2: 3}


@pytest.mark.parametrize("search, kind, expected", [
    ("", "all", [1, 2, 3, 4]), ("FARM", "all", [1, 2]), ("cow", "all", [1]), ("", "to do", [2, 4]),
    ("", "not started", [2]), ("", "in progress", [4]), ("", "skipped", [3]),
    ("", "done", [1]), ("", "with suggestions", [2]), ("city", "with suggestions", []),
])
def test_search_and_filter(search, kind, expected):
    assert [im.id for im in shown_images(IMAGES, PENDING, search, kind)] == expected


def test_counts_and_marks():
    kept = Counts.of(IMAGES, PENDING)
    assert kept.text() == "1 of 4 done, 1 skipped, 1 with suggestions"
    done = ImageRecord(2, "farm/horse.jpg", 10, 10, ImageStatus.DONE)
    kept.changed(IMAGES[1], done, 3, 0)  # one image marked done, its suggestions reviewed
    assert kept.text() == "2 of 4 done, 1 skipped, 0 with suggestions" == Counts.of(
        [IMAGES[0], done, *IMAGES[2:]], {}).text()
    assert image_text(IMAGES[0], 0) == "✓ farm/Cow.jpg"
    assert image_text(IMAGES[1], 3) == "· farm/horse.jpg  (3 suggested)"
    assert image_text(IMAGES[1], 0, 2.345) == "· farm/horse.jpg  rank 2.35"
    assert image_text(IMAGES[2], 0) == "⊘ city/car.jpg  (skipped: blurred)"
    assert image_text(IMAGES[3], 0) == "◐ city/bus.jpg"


def test_in_rank_order_the_highest_come_first_and_the_unranked_last():
    ranks = {2: 0.5, 4: 3.0}
    assert [im.id for im in shown_images(IMAGES, PENDING, "", "all", ranks)] == [4, 2, 1, 3]
    assert [im.id for im in shown_images(IMAGES, PENDING, "", "to do", ranks)] == [4, 2]


def test_next_unfinished_follows_the_order_shown_and_wraps_round():
    from annotator.imagelist import next_unfinished, ranked

    order = ranked(IMAGES, {2: 0.5, 4: 3.0})  # 4, 2, then 1 (done) and 3 (skipped)
    assert next_unfinished(order, None) == 4  # the most uncertain first
    assert next_unfinished(order, 4) == 2
    assert next_unfinished(order, 2) == 4  # round again: 1 is done and 3 skipped
    assert next_unfinished([IMAGES[0], IMAGES[2]], 1) is None
