"""One person labelling one project: the current image and category, the clicks in progress, and every
edit as an undoable command. The window only turns mouse and keys into these calls and draws what the
store holds; this is all tested without a window."""
from __future__ import annotations

import dataclasses

from converters import Annotation, ExtremePoints, ImageStatus, Source, UserError
from converters.geometry import ROLES

from .clicking import ExtremeClicks
from .commands import AcceptSuggestion, AddLabel, Batch, DeleteLabel, RejectSuggestion, ReplaceLabel, UndoStack
from .masking import with_octagon
from .store import Project


class LabellingSession:
    def __init__(self, project: Project):
        self.project = project
        self.history = UndoStack(project)
        categories = project.categories()
        self.category_id: int | None = categories[0].id if categories else None
        self.image_id: int | None = None
        self.clicks: ExtremeClicks | None = None
        self.selected: tuple[str, int] | None = None  # ("label" or "suggestion", id)

    def open_image(self, image_id: int) -> None:
        image = self.project.image(image_id)
        self.image_id = image_id
        self.clicks = ExtremeClicks((image.width, image.height))
        self.selected = None

    def mark_done(self) -> None:
        """Space: the current image is finished (again: back to in progress)."""
        image = self.project.image(self._current())
        done = image.status is ImageStatus.DONE
        self.project.set_status(image.id, ImageStatus.IN_PROGRESS if done else ImageStatus.DONE)

    def next_unfinished(self) -> int | None:
        """N: the first image after the current one (wrapping round) that is not done or skipped."""
        ids = [im.id for im in self.project.images() if im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED)]
        later = [i for i in ids if self.image_id is None or i > self.image_id]
        return (later or ids or [None])[0]

    def choose_category(self, category_id: int) -> Annotation | None:
        """A digit key: the category for the next object, and for the selected label if there is one
        (an undoable change); returns that label."""
        self.category_id = category_id
        if self.selected is None or self.selected[0] != "label":
            return None
        label = self.project.annotation(self.selected[1])
        return None if label.category_id == category_id else self.set_category(label.id, category_id)

    def select_next(self) -> tuple[str, int] | None:
        """Tab: cycle through the image's labels, then its pending suggestions."""
        image_id = self._current()
        objects = [("label", a.id) for a in self.project.annotations(image_id)]
        objects += [("suggestion", a.id) for a in self.project.suggestions(image_id)]
        if not objects:
            self.selected = None
        else:
            at = objects.index(self.selected) + 1 if self.selected in objects else 0
            self.selected = objects[at % len(objects)]
        return self.selected

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
        """One extreme click; the fourth stores the object (box exact, octagon mask) and returns it."""
        image_id = self._current()
        if self.category_id is None:
            raise UserError("add a category first")
        extreme = self.clicks.add(x, y)
        if extreme is None:
            return None
        label = with_octagon(Annotation.from_extreme(0, image_id, self.category_id, extreme, source=Source.HUMAN),
                             extreme)
        return self.history.push(AddLabel(label, text="add object")).label

    def move_point(self, label_id: int, role: str, x: float, y: float) -> Annotation:
        """Drag one extreme point: the box follows exactly, and the placeholder mask with it."""
        before = self.project.annotation(label_id)
        after = _moved(before, role, x, y)
        return self.history.push(ReplaceLabel(before, after, text=f"move {role} point")).after

    def move_suggestion_point(self, suggestion_id: int, role: str, x: float, y: float) -> Annotation:
        """Dragging a suggestion's point is an edit, and an edit accepts it: one undo takes both back."""
        [suggestion] = [s for s in self.project.suggestions(self._current()) if s.id == suggestion_id] or [None]
        if suggestion is None:
            raise UserError(f"no pending suggestion with id {suggestion_id} on this image")
        _moved(suggestion, role, x, y)  # refused here, before anything is stored, if the points break
        command = AcceptSuggestion(suggestion_id, text=f"move {role} point",
                                   edit=lambda label: _moved(label, role, x, y))
        return self.history.push(command).label

    def set_category(self, label_id: int, category_id: int) -> Annotation:
        before = self.project.annotation(label_id)
        after = dataclasses.replace(before, category_id=category_id)
        return self.history.push(ReplaceLabel(before, after, text="change category")).after

    def delete(self, label_id: int) -> None:
        self.history.push(DeleteLabel(self.project.annotation(label_id)))

    def accept(self, suggestion_id: int) -> Annotation:
        return self.history.push(AcceptSuggestion(suggestion_id)).label

    def accept_all(self, min_score: float) -> list[Annotation]:
        """Accept every pending suggestion on the image scoring at least `min_score`, undone as one."""
        chosen = [s for s in self.project.suggestions(self._current()) if (s.score or 0.0) >= min_score]
        if not chosen:
            raise UserError(f"no pending suggestion scores {min_score:g} or more")
        batch = self.history.push(Batch([AcceptSuggestion(s.id) for s in chosen],
                                        text=f"accept {len(chosen)} suggestions"))
        return [command.label for command in batch.commands]

    def reject(self, suggestion_id: int) -> None:
        self.history.push(RejectSuggestion(suggestion_id))

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
