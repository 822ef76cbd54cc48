"""One person labelling one project: the current image and category, the clicks in progress, and every
edit as an undoable command. The window only turns mouse and keys into these calls and draws what the
store holds; this is all tested without a window."""
from __future__ import annotations

import dataclasses

from converters import Annotation, ExtremePoints, Source, UserError
from converters.geometry import ROLES

from .clicking import ExtremeClicks
from .commands import AcceptSuggestion, AddLabel, DeleteLabel, RejectSuggestion, ReplaceLabel, UndoStack
from .store import Project


def placeholder_mask(extreme: ExtremePoints) -> list[list[float]]:
    """The mask drawn at once, until a mask backend answers: ExtremeNet's octagon."""
    return [extreme.octagon()]


class LabellingSession:
    def __init__(self, project: Project):
        self.project = project
        self.history = UndoStack(project)
        categories = project.categories()
        self.category_id: int | None = categories[0].id if categories else None
        self.image_id: int | None = None
        self.clicks: ExtremeClicks | None = None

    def open_image(self, image_id: int) -> None:
        image = self.project.image(image_id)
        self.image_id = image_id
        self.clicks = ExtremeClicks((image.width, image.height))

    def click(self, x: float, y: float) -> Annotation | None:
        """One extreme click; the fourth stores the object (box exact, octagon mask) and returns it."""
        if self.clicks is None or self.image_id is None:
            raise UserError("open an image first")
        if self.category_id is None:
            raise UserError("add a category first")
        extreme = self.clicks.add(x, y)
        if extreme is None:
            return None
        label = Annotation.from_extreme(0, self.image_id, self.category_id, extreme, source=Source.HUMAN,
                                        polygons=placeholder_mask(extreme))
        return self.history.push(AddLabel(label, text="add object")).label

    def move_point(self, label_id: int, role: str, x: float, y: float) -> Annotation:
        """Drag one extreme point: the box follows exactly, and the placeholder mask with it."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        before = self.project.annotation(label_id)
        if before.extreme is None:
            raise UserError("this object has no extreme points to move")
        extreme = ExtremePoints(**{**before.extreme.as_dict(), role: (float(x), float(y))})
        after = before.with_extreme(extreme).with_mask(polygons=placeholder_mask(extreme))
        return self.history.push(ReplaceLabel(before, dataclasses.replace(after, source=Source.HUMAN),
                                              text=f"move {role} point")).after

    def set_category(self, label_id: int, category_id: int) -> Annotation:
        before = self.project.annotation(label_id)
        after = dataclasses.replace(before, category_id=category_id)
        return self.history.push(ReplaceLabel(before, after, text="change category")).after

    def delete(self, label_id: int) -> None:
        self.history.push(DeleteLabel(self.project.annotation(label_id)))

    def accept(self, suggestion_id: int) -> Annotation:
        return self.history.push(AcceptSuggestion(suggestion_id)).label

    def reject(self, suggestion_id: int) -> None:
        self.history.push(RejectSuggestion(suggestion_id))

    def undo(self) -> str | None:
        command = self.history.undo()
        return command.text if command else None

    def redo(self) -> str | None:
        command = self.history.redo()
        return command.text if command else None
