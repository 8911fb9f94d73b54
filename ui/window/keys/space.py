"""Space held in the window is push-to-talk: an application-wide key filter.

Auto-repeat: a held key repeats. Qt flags repeats where the X server says so (XKB detectable
auto-repeat); plain X11 (Xvfb, some remote desktops) sends unflagged release+press pairs within
a millisecond instead. So a release only counts when no press follows within
`RELEASE_DEBOUNCE_MS`; the PushToTalkUp command is made at the real release, so the pipeline's
timeline still starts there.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QWidget,
)

from assistant import events as ev

RELEASE_DEBOUNCE_MS = 15
# With a screen reader on, Qt hands every key event to it over D-Bus before the window sees it,
# so the two halves of a repeat arrive as far apart as that round trip (tens of ms on a busy
# machine). The release still carries the moment the key really came up.
SCREEN_READER_DEBOUNCE_MS = 120


class SpaceKey(QObject):
    """Calls `press()` when Space goes down and `release(command)` when it really comes up,
    while `window` is active and the focus is not in a text field. GUI thread only."""

    def __init__(self, window: QWidget, press: Callable[[], None],
                 release: Callable[[ev.PushToTalkUp], None], *,
                 debounce_ms: int = RELEASE_DEBOUNCE_MS) -> None:
        super().__init__(window)
        self.window = window
        self.press = press
        self.release = release
        self.down = False
        self._pending: ev.PushToTalkUp | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._released)
        QApplication.instance().installEventFilter(self)

    def remove(self) -> None:
        QApplication.instance().removeEventFilter(self)

    @property
    def release_pending(self) -> bool:
        """A release was seen and waits out the debounce (a press now means a repeat)."""
        return self._timer.isActive()

    def _released(self) -> None:
        command, self._pending = self._pending, None
        self.down = False
        self.release(command or ev.PushToTalkUp())

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind not in (QEvent.KeyPress, QEvent.KeyRelease, QEvent.ShortcutOverride):
            return False
        if event.key() != Qt.Key_Space or not self.window.isActiveWindow():
            return False
        focus = QApplication.focusWidget()
        if obj is not focus and not (focus is None and obj is self.window.windowHandle()):
            return False
        if focus is not None and (focus.window() is not self.window
                                  or isinstance(focus, (QLineEdit, QAbstractSpinBox))
                                  or (isinstance(focus, QComboBox) and focus.isEditable())):
            return False
        if event.modifiers() & ~Qt.KeypadModifier:
            # Ctrl+Alt+Space and the like: the global shortcut's business. A focused button
            # would otherwise "click" on it (Qt buttons ignore modifiers), starting a turn.
            return isinstance(focus, QAbstractButton)
        if kind == QEvent.ShortcutOverride:
            event.accept()  # keep Space for us, not for a button's own handling
            return True
        if event.isAutoRepeat():
            return True  # a flagged repeat: only the first press counts
        if kind == QEvent.KeyPress and self._timer.isActive():
            self._timer.stop()  # an unflagged repeat (release+press pair): still held
            self._pending = None
        elif kind == QEvent.KeyPress and not self.down:
            self.down = True
            self.press()
        elif kind == QEvent.KeyRelease and self.down and not self._timer.isActive():
            self._pending = ev.PushToTalkUp()
            self._timer.start()
        return True
