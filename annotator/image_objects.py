"""What the window shows of the open image, read from the store once per action: the panels that draw
it (the canvas, Objects, Attributes) and the mask worker are handed this, so none of them reads the store
and a new panel that shows the image's objects follows one signal (`MainWindow.shown`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from converters import Annotation

#: A label or a suggestion, as the selection and the panels name one: ("label" or "suggestion", its id).
Key = tuple[str, int]


@dataclass(frozen=True)
class ImageObjects:
    image_id: int | None
    labels: list[Annotation] = field(default_factory=list)
    suggestions: list[Annotation] = field(default_factory=list)  # pending: not accepted, not rejected
    names: dict[int, str] = field(default_factory=dict)  # category id: name
    colors: dict[int, str] = field(default_factory=dict)  # category id: "#rrggbb"
    selected: Key | None = None

    def rows(self) -> list[tuple[str, Annotation]]:
        """The labels, then the suggestions: the Objects panel's order, and the numbers it gives."""
        return [("label", a) for a in self.labels] + [("suggestion", a) for a in self.suggestions]

    def keys(self) -> set[Key]:
        return {(kind, a.id) for kind, a in self.rows()}

    def selected_label(self) -> Annotation | None:
        """The selected object when it is a label (a suggestion is accepted before it is edited)."""
        return next((a for a in self.labels if self.selected == ("label", a.id)), None)

    def selection_title(self) -> str:
        label = self.selected_label()
        if label is not None:
            return f"object {label.id}: {self.names.get(label.category_id, '?')}"
        return "a suggestion: accept it (Enter) to edit" if self.selected else ""
