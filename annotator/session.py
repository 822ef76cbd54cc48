"""One person labelling one project: the current image and category, the clicks in progress, and every
edit as an undoable command. The window only turns mouse and keys into these calls and draws what the
store holds; this is all tested without a window."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Collection

import numpy as np

from converters import Annotation, Category, Correction, ExtremePoints, ImageRecord, ImageStatus, Source, UserError
from converters.geometry import ROLES, Box
from converters.masks import polygons_contain, rle_to_mask

from .clicking import ExtremeClicks
from .commands import (
    AcceptSuggestion,
    AddCategory,
    AddLabel,
    Batch,
    ClearSuggestions,
    Command,
    DeleteCategory,
    DeleteLabel,
    EditCategory,
    OrderCategories,
    RejectSuggestion,
    ReplaceLabel,
    SetStatus,
    UndoStack,
)
from .effort import Origin, Stopwatch
from .imagelist import next_unfinished
from .mask_edit import (
    OUTLINE_TOLERANCE,
    keeping_points,
    outline,
    painted,
    pixel_mask,
    reshaped,
    with_drawn_mask,
)
from .masking import MASK_METHOD, with_corrections, with_octagon
from .store import SKIP_REASON, Project

#: The attribute names the window offers for every object (booleans); `crowd` is COCO's iscrowd.
CROWD = "crowd"
FLAGS = (CROWD, "occluded", "truncated", "difficult")


class LabellingSession:
    def __init__(self, project: Project, clock: Callable[[], float] = time.monotonic):
        """`clock`: the seconds a person spends on each object are read from it (`annotator.effort`)."""
        self.project = project
        self.stopwatch = Stopwatch(clock)
        self._click_seconds = 0.0  # on the object being clicked
        self.history = UndoStack(project)
        categories = project.categories()
        self.category_id: int | None = categories[0].id if categories else None
        self.image_id: int | None = None
        self.clicks: ExtremeClicks | None = None
        self.selected: tuple[str, int] | None = None  # ("label" or "suggestion", id)
        self._outline: tuple[Annotation, list[tuple[float, float]]] | None = None  # the last outline edited
        self._outline_tolerance = OUTLINE_TOLERANCE
        self._seen: dict[int, Annotation] = {}  # the open image's labels as the person last saw them (`saw`)

    def saw(self, labels: list[Annotation]) -> None:
        """The open image's labels as the window drew them last. An edit starts from what the person
        saw, so that one made on an object someone else changed meanwhile is refused (the store's
        optimistic check), not applied on top of theirs unseen."""
        self._seen = {a.id: a for a in labels}

    def label(self, label_id: int) -> Annotation:
        """A label as the person last saw it, else as stored."""
        return self._seen.get(label_id) or self.project.annotation(label_id)

    def open_image(self, image_id: int) -> None:
        image = self.project.image(image_id)
        self.image_id = image_id
        self.clicks = ExtremeClicks((image.width, image.height))
        self.selected = None
        self.stopwatch.lap(("image", image_id))  # Enter on a suggestion now counts from here

    def mark_done(self) -> None:
        """Space: the current image is finished (again: back to in progress)."""
        image = self.project.image(self._current())
        done = image.status is ImageStatus.DONE
        self._set_status(image, ImageStatus.IN_PROGRESS if done else ImageStatus.DONE, None,
                         "mark not done" if done else "mark done")

    def skip(self, reason: str | None = None) -> None:
        """Skip the current image, with an optional reason (again: no longer skipped)."""
        image = self.project.image(self._current())
        if image.status is ImageStatus.SKIPPED:
            self._set_status(image, self._worked_on(image.id), None, "unskip image")
        else:
            self._set_status(image, ImageStatus.SKIPPED, (reason or "").strip() or None, "skip image")

    def _worked_on(self, image_id: int) -> ImageStatus:
        return ImageStatus.IN_PROGRESS if self.project.annotations(image_id) else ImageStatus.TODO

    def _set_status(self, image: ImageRecord, status: ImageStatus, reason: str | None, text: str) -> None:
        self.history.push(SetStatus(image.id, (image.status, image.attributes.get(SKIP_REASON)), (status, reason),
                                    text=text))

    def _push_starting(self, first: Command, image_id: int) -> None:
        """`first`, a new object's edit. The first object on an image that is still to do also puts the
        image in progress, in the same undo step."""
        image = self.project.image(image_id)
        if image.status is not ImageStatus.TODO:
            self.history.push(first)
            return
        started = SetStatus(image_id, (image.status, None), (ImageStatus.IN_PROGRESS, None))
        self.history.push(Batch([first, started], text=first.text))

    # -- categories ----------------------------------------------------------------------------------
    def check_category(self) -> None:
        """After categories changed (here, by an undo, or in another process): keep the chosen one if it
        still exists, else take the first."""
        ids = [c.id for c in self.project.categories()]
        if self.category_id not in ids:
            self.category_id = ids[0] if ids else None

    def add_category(self, name: str) -> Category:
        name = name.strip()
        if any(c.name == name for c in self.project.categories()):
            raise UserError(f"there is already a category called {name!r}")
        category = self.history.push(AddCategory(name, text=f"add category {name}")).category
        self.category_id = category.id  # named to label with next, as labelme's new label is
        return category

    def _category(self, category_id: int) -> Category:
        [category] = [c for c in self.project.categories() if c.id == category_id] or [None]
        if category is None:
            raise UserError(f"no category with id {category_id}")
        return category

    def rename_category(self, category_id: int, name: str) -> Category:
        before = self._category(category_id)
        after = dataclasses.replace(before, name=name)
        return self.history.push(EditCategory(before, after, text=f"rename category {before.name}")).after

    def recolor_category(self, category_id: int, color: str) -> Category:
        before = self._category(category_id)
        after = dataclasses.replace(before, color=color)
        return self.history.push(EditCategory(before, after, text=f"recolour category {before.name}")).after

    def order_categories(self, ids: list[int]) -> None:
        before = [c.id for c in self.project.categories()]
        if ids != before:
            self.history.push(OrderCategories(before, list(ids)))

    def delete_category(self, category_id: int, move_to: int | None = None) -> None:
        """Delete a category and its objects, or move its objects to `move_to` first."""
        name = self._category(category_id).name
        text = f"delete category {name}" + (f" (objects moved to {self._category(move_to).name})" if move_to else "")
        self.history.push(DeleteCategory(category_id, move_to, text=text))
        self.selected = None if self.selected and not self.exists(self.selected) else self.selected
        self.check_category()

    def exists(self, selected: tuple[str, int]) -> bool:
        kind, object_id = selected
        anns = self.project.annotations(self._current()) if kind == "label" else self.project.suggestions(
            self._current())
        return any(a.id == object_id for a in anns)

    def next_unfinished(self, order: list[ImageRecord] | None = None, held: Collection[int] = ()) -> int | None:
        """N: the first image after the current one (wrapping round) that is not done or skipped, nor
        `held` by another person, in `order` (the window's: by name or by rank; default the project's)."""
        return next_unfinished(order if order is not None else self.project.images(), self.image_id, held)

    def choose_category(self, category_id: int) -> Annotation | None:
        """A digit key: the category for the next object, and for the selected label if there is one
        (an undoable change); returns that label."""
        self.category_id = category_id
        if self.selected is None or self.selected[0] != "label":
            return None
        label = self.label(self.selected[1])
        return None if label.category_id == category_id else self.set_category(label.id, category_id)

    def select_at(self, x: float, y: float, tolerance: float = 0.0) -> tuple[str, int] | None:
        """Select the topmost object at an image point: the smallest whose mask (or, without one, whose box
        grown by `tolerance`) holds it; the canvas draws smaller objects over larger ones. None drops
        the selection."""
        image_id = self._current()
        hits = []
        for kind, anns in (("label", self.project.annotations(image_id)),
                           ("suggestion", self.project.suggestions(image_id))):
            hits += [(a.box.area, kind, a.id) for a in anns if _holds(a, x, y, tolerance)]
        return self.select(min(hits)[1:] if hits else None)

    def select(self, selected: tuple[str, int] | None) -> tuple[str, int] | None:
        """Select an object (None: nothing): the first touch of it, from which its time counts."""
        self.selected = selected
        self.stopwatch.lap(selected)
        return selected

    def select_next(self) -> tuple[str, int] | None:
        """Tab: cycle through the image's labels, then its pending suggestions."""
        image_id = self._current()
        objects = [("label", a.id) for a in self.project.annotations(image_id)]
        objects += [("suggestion", a.id) for a in self.project.suggestions(image_id)]
        if not objects:
            return self.select(None)
        at = objects.index(self.selected) + 1 if self.selected in objects else 0
        return self.select(objects[at % len(objects)])

    def delete_selected(self) -> None:
        """Delete: remove the selected label, or reject the selected suggestion."""
        if self.selected is None:
            raise UserError("select an object first (Tab)")
        kind, object_id = self.selected
        if kind == "label":
            self.delete(object_id)
        else:
            self.reject(object_id)
        self.selected = None

    def accept_selected(self) -> Annotation:
        """Enter: accept the selected suggestion, or the image's first pending one."""
        if self.selected is not None and self.selected[0] == "suggestion":
            suggestion_id = self.selected[1]
        else:
            pending = self.project.suggestions(self._current())
            if not pending:
                raise UserError("no pending suggestion on this image")
            suggestion_id = pending[0].id
        label = self.accept(suggestion_id)
        self.selected = ("label", label.id)
        return label

    def _current(self) -> int:
        if self.image_id is None:
            raise UserError("open an image first")
        return self.image_id

    def click(self, x: float, y: float) -> Annotation | None:
        """One extreme click; the fourth stores the object (box exact, octagon mask), selects it and returns
        it. With a box-only object selected, the four clicks give that object its extreme points instead."""
        image_id = self._current()
        target = self.box_only_selected()
        if self.category_id is None and target is None:
            raise UserError("add a category first")
        starts, before = not self.clicks.points, list(self.clicks.points)
        extreme = self.clicks.add(x, y)
        lap = self.stopwatch.lap(("clicks", image_id))
        self._click_seconds = 0.0 if starts else self._click_seconds + lap
        if target is None:
            self.selected = None  # a new object is begun: the last one's category keys are done
        if extreme is None:
            return None
        if target is not None:
            after = dataclasses.replace(with_octagon(target, extreme), source=Source.HUMAN)
            first: Command = ReplaceLabel(target, after, text="give the box its extreme points")
        else:
            first = AddLabel(with_octagon(Annotation.from_extreme(0, image_id, self.category_id, extreme,
                                                                  source=Source.HUMAN), extreme))
        try:
            self._push_starting(first, image_id)
        except UserError:  # the project busy, say: the first three clicks stay, to click the fourth again
            self.clicks.points = before
            raise
        made = first.after if isinstance(first, ReplaceLabel) else first.label
        self.project.record_effort(made.id, self._click_seconds, None if target is not None else Origin.CLICKED)
        self.stopwatch.rename(("label", made.id))
        self.selected = ("label", made.id)
        return made

    def box_only_selected(self) -> Annotation | None:
        """The selected label when it is a box without extreme points (imported from VOC or YOLO, say)."""
        if self.selected is None or self.selected[0] != "label":
            return None
        label = self.label(self.selected[1])
        return label if label.extreme is None and label.points is None else None

    def resize_box(self, label_id: int, box: Box) -> Annotation:
        """Drag a box-only object's edge or corner. An object with extreme points follows its points."""
        before = self.label(label_id)
        if before.extreme is not None:
            raise UserError("this box follows its extreme points: drag those instead")
        image = self.project.image(before.image_id)
        x0, y0 = max(0.0, min(box.x, box.x + box.w)), max(0.0, min(box.y, box.y + box.h))
        x1 = min(float(image.width), max(box.x, box.x + box.w))
        y1 = min(float(image.height), max(box.y, box.y + box.h))
        if x1 - x0 < 1 or y1 - y0 < 1:
            raise UserError("a box needs at least one pixel of width and height")
        after = dataclasses.replace(before, box=Box(x0, y0, x1 - x0, y1 - y0), area=None, source=Source.HUMAN)
        return self._edit(before, after, "resize box")

    def set_attribute(self, label_id: int, name: str, value) -> Annotation:
        """An object's attribute (None removes it); `crowd` is the crowd flag every format knows."""
        before = self.label(label_id)
        if name == MASK_METHOD:
            raise UserError(f"{name} is kept by the mask backends")
        if name == CROWD:
            after = dataclasses.replace(before, iscrowd=bool(value))
        else:
            attributes = {k: v for k, v in before.attributes.items() if k != name}
            if value is not None:
                attributes[name] = value
            after = dataclasses.replace(before, attributes=attributes)
        return self._edit(before, after, f"set {name}")

    # -- fixing a mask: correction points, brush and eraser, the outline --------------------------------
    def selected_label(self, doing: str) -> Annotation:
        """The selected label, which `doing` needs."""
        if self.selected is None:
            raise UserError(f"select an object first (Ctrl+click) to {doing}")
        if self.selected[0] != "label":
            raise UserError(f"accept the suggestion first (Enter) to {doing}")
        return self.label(self.selected[1])

    def add_correction(self, x: float, y: float, foreground: bool) -> Annotation:
        """A correction point on the selected object: its mask must hold this point (`foreground`) or
        must not. The mask is remade from the clicks and every correction point. With nothing selected
        (back on an image), it corrects the smallest label whose box holds the point, and selects it."""
        point = Correction(float(x), float(y), foreground)
        if self.selected is None:
            holding = [(a.box.area, a.id) for a in self.project.annotations(self._current()) if point.inside(a.box)]
            if holding:
                self.select(("label", min(holding)[1]))
        before = self.selected_label("correct its mask")
        if before.extreme is None:
            raise UserError("this object has no extreme points to remake its mask from: click its four "
                            "extreme points first (or paint its mask with the brush, R)")
        if not point.inside(before.box):
            raise UserError("a correction point must lie inside the object's box: to make the object larger, "
                            "drag its extreme point")
        after = with_corrections(before, before.corrections + (point,))
        text = "add a foreground point" if foreground else "add a background point"
        return self._edit(before, after, text)

    def remake_mask(self) -> Annotation:
        """Replace the selected object's mask (drawn, imported or made) with the backend's, from its clicks
        and correction points: the one way, besides new clicks, to give up a drawn mask."""
        before = self.selected_label("remake its mask")
        if before.extreme is None:
            raise UserError("this object has no extreme points to make a mask from: click its four extreme points")
        return self._edit(before, with_corrections(before, before.corrections, remake=True), "remake mask")

    def paint(self, stroke: list[tuple[float, float]], radius: float, erase: bool = False) -> Annotation:
        """One brush (or eraser) stroke on the selected object's mask, one undo step. With nothing
        selected, the brush paints a new object of the current category. The eraser stops short of the
        clicked extreme points (`keeping_points`)."""
        image = self.project.image(self._current())
        if self.selected is None and not erase:
            if self.category_id is None:
                raise UserError("add a category first")
            mask = painted(np.zeros((image.height, image.width), bool), stroke, radius)
            new = with_drawn_mask(Annotation(0, image.id, self.category_id, Box(0, 0, 0, 0)), mask)
            first = AddLabel(new, text="paint a new object")
            self._push_starting(first, image.id)
            self.project.record_effort(first.label.id, self.stopwatch.lap(("brush", image.id)), Origin.CLICKED)
            self.stopwatch.rename(("label", first.label.id))
            self.selected = ("label", first.label.id)
            return first.label
        before = self.selected_label("erase from its mask" if erase else "paint its mask")
        was = pixel_mask(before, image.height, image.width)
        mask = painted(was, stroke, radius, erase)
        if erase:
            mask = keeping_points(mask, was, before.extreme)
        after = with_drawn_mask(before, mask)
        return self._edit(before, after, "erase" if erase else "paint")

    def outline(self) -> list[tuple[float, float]]:
        """The selected object's outer outline, as vertices to drag; the last edited one as it was left."""
        return self._outline_of(self._outlined())

    @property
    def outline_tolerance(self) -> float:
        """How far the outline may stray from the mask's edge, a share of the object's larger side."""
        return self._outline_tolerance

    @outline_tolerance.setter
    def outline_tolerance(self, tolerance: float) -> None:
        """A new tolerance simplifies the outline afresh from the mask as it is now."""
        self._outline_tolerance = tolerance
        self._outline = None

    def edit_outline(self, vertices: list[tuple[float, float]]) -> Annotation:
        """The outline dragged, a point added or removed: the mask follows, its holes and other parts kept."""
        before = self._outlined()
        mask = self._mask_of(before)
        mask = reshaped(mask, self._outline_of(before, mask), vertices)
        after = self._edit(before, with_drawn_mask(before, mask), "edit outline")
        self._outline = (after, list(vertices))
        return after

    def _outlined(self) -> Annotation:
        label = self.selected_label("edit its outline")
        if not label.has_mask:
            raise UserError("this object has no mask to outline: click its extreme points or paint it (R)")
        return label

    def _outline_of(self, label: Annotation, mask: np.ndarray | None = None) -> list[tuple[float, float]]:
        """The vertices as the last outline edit left them while the mask is still the one it made."""
        if self._outline is not None and self._outline[0] == label:
            return list(self._outline[1])
        return outline(mask if mask is not None else self._mask_of(label), self.outline_tolerance)

    def _mask_of(self, label: Annotation) -> np.ndarray:
        image = self.project.image(label.image_id)
        return pixel_mask(label, image.height, image.width)

    def move_point(self, label_id: int, role: str, x: float, y: float) -> Annotation:
        """Drag one extreme point: the box follows exactly, and the placeholder mask with it."""
        before = self.label(label_id)
        after = _moved(before, role, x, y)
        return self._edit(before, after, f"move {role} point")

    def move_suggestion_point(self, suggestion_id: int, role: str, x: float, y: float) -> Annotation:
        """Dragging a suggestion's point is an edit, and an edit accepts it: one undo takes both back."""
        [suggestion] = [s for s in self.project.suggestions(self._current()) if s.id == suggestion_id] or [None]
        if suggestion is None:
            raise UserError(f"no pending suggestion with id {suggestion_id} on this image")
        _moved(suggestion, role, x, y)  # refused here, before anything is stored, if the points break
        command = AcceptSuggestion(suggestion_id, text=f"move {role} point",
                                   edit=lambda label: _moved(label, role, x, y))
        return self._accepted([self.history.push(command).label], [suggestion_id], Origin.EDITED)[0]

    def set_category(self, label_id: int, category_id: int) -> Annotation:
        before = self.label(label_id)
        after = dataclasses.replace(before, category_id=category_id)
        return self._edit(before, after, "change category")

    def delete(self, label_id: int) -> None:
        self.history.push(DeleteLabel(self.label(label_id)))

    def accept(self, suggestion_id: int) -> Annotation:
        return self._accepted([self.history.push(AcceptSuggestion(suggestion_id)).label], [suggestion_id])[0]

    def accept_all(self, min_score: float) -> list[Annotation]:
        """Accept every pending suggestion on the image scoring at least `min_score`, undone as one."""
        chosen = [s for s in self.project.suggestions(self._current()) if (s.score or 0.0) >= min_score]
        if not chosen:
            raise UserError(f"no pending suggestion scores {min_score:g} or more")
        batch = self.history.push(Batch([AcceptSuggestion(s.id) for s in chosen],
                                        text=f"accept {len(chosen)} suggestions"))
        return self._accepted([command.label for command in batch.commands], [s.id for s in chosen])

    def _accepted(self, labels: list[Annotation], about: list[int],
                  origin: Origin = Origin.ACCEPTED) -> list[Annotation]:
        """Suggestions just accepted: the time since the last action, spent judging them (shared when
        many are accepted at once), and their origin."""
        key = ("suggestion", about[0]) if len(about) == 1 else ("suggestions", tuple(about))
        seconds = self.stopwatch.lap(key, ends=True) / len(labels)
        for label in labels:
            self.project.record_effort(label.id, seconds, origin)
        if len(labels) == 1:
            self.stopwatch.rename(("label", labels[0].id))
        return labels

    def _edit(self, before: Annotation, after: Annotation, text: str) -> Annotation:
        """One change to a label, as an undoable command; the time since the last action on it counts."""
        stored = self.history.push(ReplaceLabel(before, after, text=text)).after
        self.project.record_effort(stored.id, self.stopwatch.lap(("label", stored.id)))
        return stored

    def reject(self, suggestion_id: int) -> None:
        self.history.push(RejectSuggestion(suggestion_id))

    def reject_all(self) -> int:
        """Reject every pending suggestion on the image, undone as one."""
        pending = self.project.suggestions(self._current())
        if not pending:
            raise UserError("no pending suggestion on this image")
        self.history.push(Batch([RejectSuggestion(s.id) for s in pending], text=f"reject {len(pending)} suggestions"))
        self.selected = None if self.selected and self.selected[0] == "suggestion" else self.selected
        return len(pending)

    def clear_model(self, model: str) -> int:
        """Delete one model's pending suggestions in the whole project; a later run of it suggests again."""
        count = self.project.pending_by_model().get(model, 0)
        if not count:
            raise UserError("that model has no pending suggestions")
        self.history.push(ClearSuggestions(model, text=f"clear {count} suggestions"))
        self.selected = None if self.selected and self.selected[0] == "suggestion" else self.selected
        return count

    def undo(self) -> str | None:
        command = self.history.undo()
        return command.text if command else None

    def redo(self) -> str | None:
        command = self.history.redo()
        return command.text if command else None


def _moved(ann: Annotation, role: str, x: float, y: float) -> Annotation:
    """`ann` with one extreme point moved by a person: the box follows, and the placeholder mask."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if ann.extreme is None:
        raise UserError("this object has no extreme points to move")
    extreme = ExtremePoints(**{**ann.extreme.as_dict(), role: (float(x), float(y))})
    return dataclasses.replace(with_octagon(ann, extreme), source=Source.HUMAN)


def _holds(ann: Annotation, x: float, y: float, tolerance: float) -> bool:
    b = ann.box
    if not (b.x - tolerance <= x <= b.x + b.w + tolerance and b.y - tolerance <= y <= b.y + b.h + tolerance):
        return False
    if ann.polygons:
        return polygons_contain(ann.polygons, x, y)
    if ann.rle is not None:  # a drawn mask: the pixel under the point
        return bool(rle_to_mask(ann.rle)[min(int(y), ann.rle["size"][0] - 1), min(int(x), ann.rle["size"][1] - 1)])
    return True


def parse_value(text: str):
    """An attribute value as a person types it: true/false, a whole or decimal number, else the text;
    nothing at all removes the attribute (None)."""
    text = text.strip()
    if not text:
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        return value if value == value and abs(value) != float("inf") else text  # NaN, inf stay text
    return text


def shown_value(value) -> str:
    """The text a person edits for a value: the inverse of `parse_value` for what it makes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return str(value)
