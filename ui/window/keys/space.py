"""Space held in the window is push-to-talk: an application-wide key filter.

Auto-repeat: a held key repeats. Qt flags repeats where the X server says so (XKB detectable
auto-repeat); plain X11 (Xvfb, some remote desktops) sends unflagged release+press pairs within
a millisecond instead. So a release only counts when no press follows within
`RELEASE_DEBOUNCE_MS`; the PushToTalkUp command is made at the real release, so the pipeline's
timeline still starts there.

With a screen reader, every press it sees is echoed ("space"), auto-repeats included. Two
things keep it to one echo per question: given a `KeyRepeat`, the X server does not repeat Space
while the window is active (`ui.window.keys.repeat`, which says why it must be before the press);
and repeats that still come (no X server to ask) are dropped before Qt's accessibility bridge
hands them to a reader that takes keys from the toolkit (Orca 43). The bridge is an
application event filter that takes key events at the window (QWindow), before the focused
widget gets them, so this filter takes them there too; and Qt calls application filters newest
first, while the bridge installs its own anew whenever a reader registers for events, so this
one moves back to the front at every press.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QWidget,
)

from assistant import events as ev
from ui.window.keys.repeat import SPACE, KeyRepeat

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
                 debounce_ms: int = RELEASE_DEBOUNCE_MS, repeat: KeyRepeat | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.press = press
        self.release = release
        self.down = False
        self.repeat = repeat
        self.repeat_off = False  # the X server does not repeat Space now (we hold it off)
        self._removed = False
        self._fronting = False  # a move to the front of the event filters is on its way
        self._pending: ev.PushToTalkUp | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._released)
        app = QApplication.instance()
        app.installEventFilter(self)
        if repeat is not None:
            app.focusWindowChanged.connect(self._focus_window)
            self._focus_window(app.focusWindow())

    def remove(self) -> None:
        """Stop filtering and give Space its repeat back (idempotent: the window may close
        twice)."""
        if self._removed:
            return
        self._removed = True
        app = QApplication.instance()
        app.removeEventFilter(self)
        if self.repeat is not None:
            app.focusWindowChanged.disconnect(self._focus_window)
            self._hold_repeat(False)

    def _focus_window(self, window: QWindow | None) -> None:
        """The X server repeats Space everywhere but in this window (see the module docstring)."""
        self._hold_repeat(window is not None and window is self.window.windowHandle())

    def _hold_repeat(self, off: bool) -> None:
        if self.repeat is None or off == self.repeat_off:
            return
        if off:
            self.repeat_off = self.repeat.hold_off(SPACE)
        else:
            self.repeat.let_go(SPACE)
            self.repeat_off = False

    def _to_front(self) -> None:
        """Be the first of the application's event filters again (newest runs first)."""
        self._fronting = False
        if self._removed:
            return
        app = QApplication.instance()
        app.removeEventFilter(self)
        app.installEventFilter(self)

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
        # A key event reaches the window (QWindow) first, then the focused widget; Qt's
        # accessibility bridge takes it at the window, so repeats are dropped there too.
        if obj is not focus and obj is not self.window.windowHandle():
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
        if kind == QEvent.KeyPress and not self._fronting:
            # Not from inside the filter loop Qt is running: on the next pass of the event loop,
            # long before the key's next repeat. Again at every press: the bridge installs its
            # filter anew whenever a screen reader registers for more events.
            self._fronting = True
            QTimer.singleShot(0, self, self._to_front)
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
