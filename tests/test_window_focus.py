"""Where the keys go after a dialog: the window has them again, even when another window took the focus
while the dialog was open (as where no window manager hands it back)."""
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from tests.test_window_job import window  # noqa: F401


def test_the_labelling_keys_work_again_once_a_dialog_closes(window, qtbot):
    QTest.keyClick(window, Qt.Key_C)  # the category picker
    picker = window.category_control.picker
    qtbot.waitUntil(picker.isVisible)
    elsewhere = QWidget()  # the focus went elsewhere meanwhile
    qtbot.addWidget(elsewhere)
    elsewhere.show()
    elsewhere.activateWindow()
    assert QTest.qWaitForWindowActive(elsewhere)
    picker.reject()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    before = window.images.currentRow()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_D)
    assert window.images.currentRow() == before + 1
