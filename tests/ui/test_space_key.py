"""Space held in the window (ui.window.keys.space) with a screen reader's toolkit bridge in the
way: the filter takes key events at the window, where Qt's accessibility bridge takes them to
hand to the screen reader, and moves ahead of the bridge's filter, so the reader sees one
press of a held key, not every auto-repeat (offscreen Qt; the bridge is stood in for by a
filter installed after ours, as Qt's is)."""
from __future__ import annotations

import PySide6  # noqa: F401 - required: a broken install fails here, never skips
import pytestqt  # noqa: F401 - required: a broken install fails here, never skips

from PySide6.QtCore import QEvent, QObject, Qt  # noqa: E402
from PySide6.QtGui import QKeyEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QPushButton  # noqa: E402

from ui.window.keys.space import SpaceKey  # noqa: E402


class BridgeFilter(QObject):
    """Where Qt's AT-SPI bridge sits: an application filter that sees key events at the window
    and hands each to the screen reader (which echoes it)."""

    def __init__(self) -> None:
        super().__init__()
        self.presses = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.KeyPress and event.key() == Qt.Key_Space:
            self.presses += 1
        return False


def test_a_held_space_reaches_the_bridge_once(qtbot):
    window = QPushButton("Talk")
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.setFocus()
    said = []
    space = SpaceKey(window, lambda: said.append("press"), lambda _c: said.append("release"))
    bridge = BridgeFilter()
    app = QApplication.instance()
    app.installEventFilter(bridge)  # after ours: it runs first, as the bridge's does
    try:
        target = window.windowHandle()

        def key(kind, repeat=False) -> None:
            QApplication.sendEvent(target, QKeyEvent(kind, Qt.Key_Space, Qt.NoModifier, " ",
                                                     repeat))

        key(QEvent.KeyPress)
        qtbot.waitUntil(lambda: said == ["press"], timeout=5000)
        # On the next pass of the event loop the filter moves to the front.
        qtbot.waitUntil(lambda: not space._fronting, timeout=5000)
        for _ in range(5):  # repeats, as plain X sends them (release + press) and flagged
            key(QEvent.KeyRelease)
            key(QEvent.KeyPress)
        key(QEvent.KeyPress, repeat=True)
        key(QEvent.KeyRelease)
        qtbot.waitUntil(lambda: said == ["press", "release"], timeout=5000)
        assert bridge.presses == 1
    finally:
        space.remove()
        app.removeEventFilter(bridge)
