"""The image list as a model and a view: Qt asks for the rows on screen only, so a project of 100,000
images opens, filters and marks an image done without building 100,000 widgets."""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QTreeView

from converters import ImageRecord

from ..imagelist import image_text, image_tip, review_text


class ImageListModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[ImageRecord] = []
        self.pending: dict[int, int] = {}
        self.ranks: dict[int, float] = {}  # shown beside the names in rank order
        self.holders: dict[int, str] = {}  # image id -> the other person labelling it (a team project)
        self.reviews: dict[int, tuple] = {}  # image id -> a reviewer's verdict (`Project.reviews`)
        self._rows: dict[int, int] = {}  # image id -> row

    def reset(self, records: list[ImageRecord], pending: dict[int, int], ranks: dict[int, float] | None = None) -> None:
        self.beginResetModel()
        self.records, self.pending, self.ranks = records, pending, ranks or {}
        self._rows = {im.id: row for row, im in enumerate(records)}
        self.endResetModel()

    def update(self, record: ImageRecord, pending: dict[int, int]) -> None:
        """One image changed (status, mark, suggestions): only its row is redrawn."""
        self.pending = pending
        row = self._rows.get(record.id)
        if row is not None:
            self.records[row] = record
            self.dataChanged.emit(self.index(row), self.index(row))

    def hold(self, holders: dict[int, str], reviews: dict[int, tuple]) -> None:
        """Who else labels which image now, and the reviewers' verdicts: the rows either changed for are
        redrawn."""
        changed = _differing(holders, self.holders) | _differing(reviews, self.reviews)
        self.holders, self.reviews = holders, reviews
        for image_id in changed:
            row = self._rows.get(image_id)
            if row is not None:
                self.dataChanged.emit(self.index(row), self.index(row))

    def row_of(self, image_id: int) -> int | None:
        return self._rows.get(image_id)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt)
        return 0 if parent.isValid() else len(self.records)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if role in (Qt.DisplayRole, Qt.ToolTipRole) and 0 <= index.row() < len(self.records):
            record = self.records[index.row()]
            say = image_text if role == Qt.DisplayRole else image_tip  # the tip: a long skip reason in full
            return say(record, self.pending.get(record.id, 0), self.ranks.get(record.id),
                       self.holders.get(record.id, ""), review_text(record, self.reviews.get(record.id)))
        return None


class ImageList(QTreeView):
    """The list the window shows, with the row-based calls the window and the tests use. A flat tree
    view, not a QListView: with uniform rows it lays out only what is on screen, where QListView asks
    the model for its row count once per row after every change (0.4 s at 100,000 images)."""

    currentRowChanged = Signal(int)  # noqa: N815 (Qt's naming, as QListWidget has it)

    def __init__(self) -> None:
        super().__init__(uniformRowHeights=True, rootIsDecorated=False, headerHidden=True, itemsExpandable=False)
        self.list_model = ImageListModel()
        self.setModel(self.list_model)
        self.selectionModel().currentRowChanged.connect(lambda now, _before: self.currentRowChanged.emit(now.row()))

    @property
    def records(self) -> list[ImageRecord]:
        return self.list_model.records

    def count(self) -> int:
        return len(self.list_model.records)

    def currentRow(self) -> int:  # noqa: N802 (Qt)
        return self.currentIndex().row()

    def setCurrentRow(self, row: int) -> None:  # noqa: N802 (Qt)
        self.setCurrentIndex(self.list_model.index(row))

    def text(self, row: int) -> str:
        return self.list_model.data(self.list_model.index(row))


def _differing(new: dict, old: dict) -> set:
    """The keys whose values the two dictionaries do not share."""
    return {k for k in new.keys() | old.keys() if new.get(k) != old.get(k)}
