"""Edits as command objects, each done and undone through the project store, and the undo stack.

Commands live in the Qt-free core so undo and redo are tested without a window. Every `do` and `undo`
is one store transaction: the store, not the window, holds every label. A label keeps its id across
undo and redo, so commands further along the history still name the right one.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from converters import Annotation, Category, ImageStatus

from .store import Project, RemovedCategory


class Command(Protocol):
    text: str  # what the edit was, for the Edit menu: "Undo add fig"

    def do(self, project: Project) -> None: ...

    def undo(self, project: Project) -> None: ...


@dataclass
class AddLabel:
    label: Annotation  # after the first `do`, as stored (with its id)
    text: str = "add object"
    _stored: bool = False

    def do(self, project: Project) -> None:
        if self._stored:
            project.restore_annotation(self.label)
        else:
            self.label = project.add_annotation(self.label)
            self._stored = True

    def undo(self, project: Project) -> None:
        project.delete_annotation(self.label.id, expected=self.label)


@dataclass
class ReplaceLabel:
    """Any change to one label: a dragged point, a new category, a new mask."""

    before: Annotation
    after: Annotation
    text: str = "edit object"

    def do(self, project: Project) -> None:
        self.after = project.update_annotation(self.after, expected=self.before)

    def undo(self, project: Project) -> None:
        self.before = project.update_annotation(self.before, expected=self.after)


@dataclass
class DeleteLabel:
    label: Annotation
    text: str = "delete object"

    def do(self, project: Project) -> None:
        project.delete_annotation(self.label.id, expected=self.label)

    def undo(self, project: Project) -> None:
        project.restore_annotation(self.label)


@dataclass
class AcceptSuggestion:
    """Accept a suggestion; with `edit`, a person's change to it, which accepts it too. Undo makes it
    pending again."""

    suggestion_id: int
    text: str = "accept suggestion"
    edit: Callable[[Annotation], Annotation] | None = None
    label: Annotation | None = None  # the label the accept made

    def do(self, project: Project) -> None:
        self.label = project.accept_suggestion(self.suggestion_id, self.label.id if self.label else None)
        if self.edit is not None:
            self.label = project.update_annotation(self.edit(self.label))

    def undo(self, project: Project) -> None:
        project.reopen_suggestion(self.suggestion_id)


@dataclass
class RejectSuggestion:
    suggestion_id: int
    text: str = "reject suggestion"

    def do(self, project: Project) -> None:
        project.reject_suggestion(self.suggestion_id)

    def undo(self, project: Project) -> None:
        project.reopen_suggestion(self.suggestion_id)


@dataclass
class SetStatus:
    """An image's status (and a skip's reason), from `before` to `after`: each a (status, reason) pair."""

    image_id: int
    before: tuple[ImageStatus, str | None]
    after: tuple[ImageStatus, str | None]
    text: str = "change image status"

    def do(self, project: Project) -> None:
        project.set_status(self.image_id, *self.after)

    def undo(self, project: Project) -> None:
        project.set_status(self.image_id, *self.before)


@dataclass
class AddCategory:
    name: str
    text: str = "add category"
    category: Category | None = None  # after the first `do`, as stored
    _removed: RemovedCategory | None = None

    def do(self, project: Project) -> None:
        if self._removed is not None:
            project.restore_category(self._removed)
        else:
            self.category = project.add_category(self.name)

    def undo(self, project: Project) -> None:
        self._removed = project.delete_category(self.category.id)


@dataclass
class EditCategory:
    """A new name or colour."""

    before: Category
    after: Category
    text: str = "edit category"

    def do(self, project: Project) -> None:
        self.after = project.update_category(self.after)

    def undo(self, project: Project) -> None:
        project.update_category(self.before)


@dataclass
class OrderCategories:
    before: list[int]
    after: list[int]
    text: str = "reorder categories"

    def do(self, project: Project) -> None:
        project.order_categories(self.after)

    def undo(self, project: Project) -> None:
        project.order_categories(self.before)


@dataclass
class DeleteCategory:
    """Delete a category with its objects, or after moving them to `move_to`."""

    category_id: int
    move_to: int | None = None
    text: str = "delete category"
    _removed: RemovedCategory | None = None

    def do(self, project: Project) -> None:
        self._removed = project.delete_category(self.category_id, self.move_to)

    def undo(self, project: Project) -> None:
        project.restore_category(self._removed)


@dataclass
class ClearSuggestions:
    """Delete one model's pending suggestions (a later run of it suggests there again)."""

    model: str
    text: str = "clear suggestions"
    _rows: tuple[list[str], list[tuple]] | None = None

    def do(self, project: Project) -> None:
        self._rows = project.remove_pending(self.model)

    def undo(self, project: Project) -> None:
        project.restore_suggestions(*self._rows)


@dataclass
class Batch:
    """Several edits that one undo takes back together, such as accepting every suggestion above a score."""

    commands: list[Command]
    text: str

    def do(self, project: Project) -> None:
        for command in self.commands:
            command.do(project)

    def undo(self, project: Project) -> None:
        for command in reversed(self.commands):
            command.undo(project)


@dataclass
class UndoStack:
    """Done commands to undo, undone ones to redo; a new edit drops the redo side. `listeners` are
    called after every change (the window redraws from the store then)."""

    project: Project
    done: list[Command] = field(default_factory=list)
    undone: list[Command] = field(default_factory=list)
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def push(self, command: Command) -> Command:
        command.do(self.project)  # a refused edit raises here and leaves the history as it was
        self.done.append(command)
        self.undone.clear()
        self._changed()
        return command

    def undo(self) -> Command | None:
        return self._move(self.done, self.undone, lambda command: command.undo(self.project))

    def redo(self) -> Command | None:
        return self._move(self.undone, self.done, lambda command: command.do(self.project))

    def _move(self, source: list[Command], target: list[Command],
              apply: Callable[[Command], None]) -> Command | None:
        if not source:
            return None
        command = source[-1]
        apply(command)  # a failure leaves the command where it was
        target.append(source.pop())
        self._changed()
        return command

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

