"""Announcements that reach the screen readers people actually run, once, and text they can read.

A message (an answer, an error, a mode change, a notice) is shown in the **Last message** field
(read-only text, readable with focus and the caret at any time) and goes to the screen reader on
exactly one channel, the one that reader speaks:

- Qt's **announcement event** (Qt >= 6.8: AT-SPI `object:announcement`), when a client of the
  accessibility bus listens for it (`ui.window.reader`): Orca 45.2 and later. Orca 48 speaks it
  once, with the message alone, focused or in the background.
- otherwise a **notification object**: a one-pixel child, role Notification, shown with the
  message as its name, inside a one-pixel container whose role is StatusBar. Orca 43 (Debian 12)
  ignores announcement events but speaks a notification as soon as it is shown, and a
  notification inside a status bar without the word "notification" before it.

Sending both made Orca 48 say every message twice ("notification", the message, the message).
Its name change is sent before it is shown: Orca 48 caches names, and a reused notification
object was read with the name it had the time before. Each message keeps its own object until
`SPOTS` newer ones were shown: a reader reads the name when it gets to the event, which may be
after the next message. All measured with each Orca's debug log: docs/accessibility.md.

Threads: GUI thread only. Partial transcripts and answer tokens are never announced: callers
announce finished answers only.
"""
from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAccessible, QAccessibleEvent, QFocusEvent, QFontMetrics
from PySide6.QtWidgets import QAccessibleWidget, QLineEdit, QPlainTextEdit, QWidget

from assistant.config import Config
from ui.window.reader import ReaderWatch

log = logging.getLogger(__name__)

try:  # Qt >= 6.8
    from PySide6.QtGui import QAccessibleAnnouncementEvent
except ImportError:  # pragma: no cover - older Qt: the notification object carries the text
    QAccessibleAnnouncementEvent = None  # type: ignore[assignment,misc]

#: The voices an answer can be spoken in (`ui.answer_voice` once "auto" is settled).
VOICES = ("glimpse", "screen_reader", "both")


class NotificationSpot(QWidget):
    """A one-pixel widget whose accessible role is Notification and whose name is `message`."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.message = ""
        self.setGeometry(0, 0, 1, 1)
        self.setFocusPolicy(Qt.NoFocus)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.hide()


class MessageBar(QWidget):
    """The one-pixel container of the notification objects; its accessible role is StatusBar."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setGeometry(0, 0, 1, 1)
        self.setFocusPolicy(Qt.NoFocus)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setAccessibleName("Messages")
        # Shown once, here, also under a window that is already shown; never again per message
        # (that would show its notification a second time, and Orca would say it twice).
        self.show()


class _MessageBarAccessible(QAccessibleWidget):
    def __init__(self, widget: MessageBar) -> None:
        super().__init__(widget, QAccessible.Role.StatusBar)


class _NotificationAccessible(QAccessibleWidget):
    def __init__(self, widget: NotificationSpot) -> None:
        super().__init__(widget, QAccessible.Role.Notification)

    def text(self, kind: QAccessible.Text) -> str:
        if kind == QAccessible.Text.Name:
            return self.widget().message  # type: ignore[attr-defined]
        return super().text(kind)


def _factory(_class_name: str, obj: QObject) -> QAccessibleWidget | None:
    if isinstance(obj, NotificationSpot):
        return _NotificationAccessible(obj)
    if isinstance(obj, MessageBar):
        return _MessageBarAccessible(obj)
    return None


_installed = False


def install() -> None:
    """Register the accessibles of NotificationSpot and MessageBar with Qt (once per process)."""
    global _installed
    if not _installed:
        QAccessible.installFactory(_factory)
        _installed = True


class ReadableText(QPlainTextEdit):
    """A read-only text field screen readers read with focus and caret navigation.

    Labels keep their text where Orca does not look (it reads a label's text only as the name of
    something else), so values a user must be able to read are read-only text instead. Tab leaves
    the field; the arrow keys move the caret through the text, line by line.
    """

    def __init__(self, accessible_name: str, description: str, lines: int = 2,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setTextInteractionFlags(Qt.TextSelectableByKeyboard | Qt.TextSelectableByMouse)
        self.setTabChangesFocus(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setFrameShape(QPlainTextEdit.NoFrame)
        self.setLineWrapMode(QPlainTextEdit.WidgetWidth)
        self.setFixedHeight(QFontMetrics(self.font()).lineSpacing() * lines + 12)
        self.setAccessibleName(accessible_name)
        self.setAccessibleDescription(description)
        self.setToolTip(description)

    def text(self) -> str:
        return self.toPlainText()

    def setText(self, text: str) -> None:  # noqa: N802 - the QLabel spelling it replaces
        """Replace the text, unless it is unchanged (no needless events for screen readers)."""
        if self.toPlainText() != text:
            self.setPlainText(text)


class QuestionBox(QLineEdit):
    """A line edit whose focus reaches Orca before its caret does.

    Tabbing into a QLineEdit selects its text first and announces the focus after; Orca 43 takes
    the selection and caret events as the focus change, silently, and then ignores the focus
    event as old news, so the field is never spoken. Here the text is selected only after the
    focus has been announced (on the next pass of the event loop).
    """

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        if event.reason() in (Qt.TabFocusReason, Qt.BacktabFocusReason, Qt.ShortcutFocusReason):
            super().focusInEvent(QFocusEvent(QEvent.FocusIn, Qt.OtherFocusReason))
            if self.text():
                QTimer.singleShot(0, self.selectAll)
            return
        super().focusInEvent(event)


class Announcer:
    """Says messages to screen readers and shows them in the Last message field.

    `reader` tells whether the running screen reader listens for announcement events; without
    one (or before it has asked), messages go out as notifications.
    """

    #: Notification objects used in turn (see the module docstring).
    SPOTS = 4

    def __init__(self, window: QWidget, field: ReadableText,
                 reader: ReaderWatch | None = None) -> None:
        install()
        self.field = field
        self.reader = reader
        self.bar = MessageBar(window)
        self.spots = [NotificationSpot(self.bar) for _ in range(self.SPOTS)]
        self._next = 0
        self.history: list[tuple[float, str]] = []  # (wall clock, text) of each announcement
        self.channels: list[str] = []  # the channel of each, "announcement" or "notification"

    @property
    def channel(self) -> str:
        """The channel the next message goes out on: "announcement" or "notification"."""
        if QAccessibleAnnouncementEvent is not None and self.reader is not None \
                and self.reader.announcements:
            return "announcement"
        return "notification"

    def say(self, text: str, assertive: bool = False, to_screen_reader: bool = True) -> None:
        """Announce `text` once (unless told not to), then show it in the Last message field."""
        text = " ".join(text.split())
        if to_screen_reader and text:
            self._announce(text, assertive)
        # After the announcement: a screen reader takes events in order, and the field's
        # (delete, insert, caret) would come first, each a round trip for Orca 43.
        self.field.setText(text)

    def _announce(self, text: str, assertive: bool) -> None:
        channel = self.channel
        self.history.append((time.time(), text))
        self.channels.append(channel)
        if channel == "announcement":
            if QAccessible.isActive():
                event = QAccessibleAnnouncementEvent(self.field, text)
                if assertive:  # Orca 48 speaks both alike; other readers may interrupt
                    event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
                QAccessible.updateAccessibility(event)
            return
        spot = self.spots[self._next]
        self._next = (self._next + 1) % len(self.spots)
        spot.hide()
        spot.message = text
        if QAccessible.isActive():
            QAccessible.updateAccessibility(QAccessibleEvent(spot, QAccessible.NameChanged))
        spot.show()


def screen_reader_running(timeout_ms: int = 2000) -> bool:
    """Whether the desktop says a screen reader is on (AT-SPI `ScreenReaderEnabled`).

    GNOME and other desktops set it when the user turns the screen reader on. False when there is
    no session bus or no accessibility bus (then nothing could read Glimpse anyway).
    """
    from PySide6.QtDBus import QDBus, QDBusConnection, QDBusMessage

    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    call = QDBusMessage.createMethodCall("org.a11y.Bus", "/org/a11y/bus",
                                         "org.freedesktop.DBus.Properties", "Get")
    call.setArguments(["org.a11y.Status", "ScreenReaderEnabled"])
    reply = bus.call(call, QDBus.CallMode.Block, timeout_ms)
    if reply.type() != QDBusMessage.ReplyMessage or not reply.arguments():
        log.info("no answer about a screen reader: %s", reply.errorMessage())
        return False
    value = reply.arguments()[0]
    return bool(getattr(value, "variant", lambda: value)())


def settle_answer_voice(config: Config, reader_running: bool | None = None) -> Config:
    """Turn `ui.answer_voice = "auto"` into a voice: the screen reader's when one is running,
    Glimpse's own otherwise. Other values are the user's choice and stay."""
    if config.ui.answer_voice != "auto":
        return config
    running = screen_reader_running() if reader_running is None else reader_running
    return config.with_value("ui.answer_voice", "screen_reader" if running else "glimpse")
