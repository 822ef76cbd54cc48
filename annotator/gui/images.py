"""The Images panel: the counts, the search, the filter, the order and the list of the project's images,
and what N and the arrows go to. It reads the images once and then only those the window's `changed`
names; which rows show and the counts are `annotator.imagelist`'s, Qt-free."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from converters import ImageRecord

from ..changes import Change, Part
from ..claims import person_of
from ..imagelist import FILTERS, ORDERS, Counts, ranked, shown_images
from ..store import Project
from .imagelistview import ImageList


class ImageBrowser(QObject):
    def __init__(self, parent: QObject, project: Project, holder: str = ""):
        """`holder`: this window's name in a team project's claims (the others' are shown)."""
        super().__init__(parent)
        self.project, self.holder = project, holder
        self.list = ImageList()
        self.list.setFocusPolicy(Qt.NoFocus)  # keys go to the window's shortcuts, not the list
        self.search = QLineEdit(placeholderText="search names")
        self.filter = QComboBox()
        self.filter.addItems(FILTERS)
        self.filter.setFocusPolicy(Qt.ClickFocus)
        self.order = QComboBox(toolTip="by rank: the order `annotator rank` (or Model > Rank) stored, the most "
                                       "uncertain first; N follows it")
        self.order.addItems(ORDERS)
        self.order.setFocusPolicy(Qt.ClickFocus)
        if project.ranked_by() is not None:  # ranked by `annotator rank`: that is the order asked for
            self.order.setCurrentText("by rank")
        self.counts_label = QLabel()
        self.panel = QWidget()
        column = QVBoxLayout(self.panel)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (self.counts_label, self.search, self.filter, self.order, self.list):
            column.addWidget(widget)
        self.current: int | None = None  # the image open in the window, kept as the current row
        self._every: list[ImageRecord] = []
        self._pending: dict[int, int] = {}
        self.read_all()
        for box in (self.search.textChanged, self.filter.currentTextChanged, self.order.currentTextChanged):
            box.connect(lambda _text: self.fill(recount=False))

    def read_all(self) -> None:
        """Every image from the store again (once at the start; then after an import or another process)."""
        self._every = self.project.images()
        self._index = {im.id: k for k, im in enumerate(self._every)}
        self._pending = self.project.pending_suggestion_counts()
        self.fill()

    def changed(self, change: Change) -> None:
        """The rows of the images an action touched, but the current one's (the window rereads it with its
        objects); all of them when any may have changed."""
        if change.images is None:
            self.read_all()
            return
        if Part.IMAGES in change.parts:
            self.read_holders()
        for image_id in change.images - {self.current}:
            self.reread(image_id, len(self.project.suggestions(image_id)) if Part.SUGGESTIONS in change.parts
                        else None)

    def fill(self, recount: bool = True) -> None:
        """Show the images the search and filter let through; keep the current image. A new search or
        filter changes no status (`recount` False): the images are counted again only if suggestions came."""
        pending = self.project.pending_suggestion_counts()  # a model may have added some meanwhile
        if recount or pending != self._pending:
            self._pending = pending
            self._counts = Counts.of(self._every, self._pending)
            self.counts_label.setText(self._counts.text())
        ranks = self.ranks()
        shown = shown_images(self._every, self._pending, self.search.text(), self.filter.currentText(), ranks)
        self.list.blockSignals(True)
        self.list.list_model.reset(shown, self._pending, ranks)
        self.read_holders()
        row = self.list.list_model.row_of(self.current)
        if row is not None:
            self.list.setCurrentRow(row)
        self.list.blockSignals(False)

    def read_holders(self) -> None:
        """Who else is labelling which image, and the reviewers' verdicts (a team project's; none in a
        project file)."""
        if self.project.is_team:
            self.list.list_model.hold({image_id: person_of(holder) for image_id, holder in
                                       self.project.claims().items() if holder != self.holder},
                                      self.project.reviews())

    def held(self) -> set[int]:
        """The images other people are labelling now: N passes them by."""
        return set(self.list.list_model.holders)

    def ranks(self) -> dict[int, float] | None:
        """The stored ranks when the list is in rank order."""
        return self.project.ranks() if self.order.currentText() == "by rank" else None

    def reread(self, image_id: int, pending: int | None = None) -> None:
        """One image may have changed in the store (status, mark, its pending suggestions, now `pending`):
        its row and the counts follow, and nothing is redrawn when nothing changed."""
        before, record = self._every[self._index[image_id]], self.project.image(image_id)
        pending_before = self._pending.get(image_id, 0)
        if pending is not None:
            self._pending[image_id] = pending
        if record == before and self._pending.get(image_id, 0) == pending_before:
            return
        self._every[self._index[image_id]] = record
        self._counts.changed(before, record, pending_before, self._pending.get(image_id, 0))
        self.list.list_model.update(record, self._pending)
        self.counts_label.setText(self._counts.text())

    def step(self, delta: int) -> None:
        self.list.setCurrentRow(min(max(self.list.currentRow() + delta, 0), self.list.count() - 1))

    def show(self, image_id: int) -> None:
        """Go to the image, showing every image if the search or filter hides it."""
        if self.list.list_model.row_of(image_id) is None:
            self.search.clear()
            self.filter.setCurrentText("all")
        self.list.setCurrentRow(self.list.list_model.row_of(image_id))

    def in_order(self) -> list[ImageRecord] | None:
        """The images in the order N follows, when the list is in rank order (None: the project's)."""
        ranks = self.ranks()
        return ranked(self._every, ranks) if ranks is not None else None
