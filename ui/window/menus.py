"""The main window's menus, and the rule that its shortcuts work wherever the focus is.

Every action of the window is a menu item with its shortcut (the list Help shows is
`ui.window.keys.shortcuts.SHORTCUTS`). A text field takes some of those keys for its own
editing (a line edit: Ctrl+E, end of line; Ctrl+D, delete), so on the question box
`WindowShortcuts` lets the window's shortcuts through: Ctrl+E exports, Ctrl+D describes, while
the box keeps every key that is not one of the window's. GUI thread only.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from assistant import events as ev

MODES = (("ask", "Ask about the view"), ("describe", "Describe the scene"),
         ("read", "Read text"))


class WindowShortcuts(QObject):
    """Installed on a text field: a key that is one of `sequences` (the window's shortcuts, in
    QKeySequence's portable text) is not taken by the field."""

    def __init__(self, parent: QObject, sequences: set[str]) -> None:
        super().__init__(parent)
        self.sequences = sequences

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.ShortcutOverride:
            combo = QKeySequence(event.keyCombination()).toString(QKeySequence.PortableText)
            if combo in self.sequences:
                event.ignore()  # not the field's: the window's shortcut runs
                return True
        return False


def build_menus(w: Any) -> None:
    """The window's menus, its shortcuts, and the question box's filter for them (`w`: the
    MainWindow, which imports this module)."""
    sequences: set[str] = set()

    def action(menu, text, shortcut, slot, tip):
        act = QAction(text, w)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.WindowShortcut)
            sequences.add(act.shortcut().toString(QKeySequence.PortableText))
        act.setStatusTip(tip)
        act.setToolTip(tip)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    bar = w.menuBar()
    conv = bar.addMenu("&Conversation")
    action(conv, "&Stop", "Esc", w.stop, "Cancel the answer and silence speech")
    action(conv, "&Describe now", "Ctrl+D", w.describe_now, "Describe the picture now")
    action(conv, "&New picture", "Ctrl+N", lambda: w.bridge.submit(ev.NewFrame()),
           "The next question takes a fresh picture")
    action(conv, "Type a &question", "Ctrl+L", lambda: w.question.setFocus(
        Qt.ShortcutFocusReason), "Go to the question box")
    action(conv, "&Repeat last answer", "Ctrl+R", w.repeat_last, "Announce it again")
    conv.addSeparator()
    action(conv, "&Copy conversation", "Ctrl+Shift+C", w.copy_conversation, "Copy as text")
    action(conv, "&Export...", "Ctrl+E", lambda: w.export_conversation(), "Markdown or JSON")
    action(conv, "&Find in history...", "Ctrl+F", w.search_history,
           "Find an earlier turn by what was seen or said")
    w.clear_history_action = action(
        conv, "Clear &history...", "", w.clear_history,
        "Delete every saved turn from this computer, pictures included")
    conv.addSeparator()
    action(conv, "&Quit", "Ctrl+Q", w.close, "Quit Glimpse")
    mode_menu = bar.addMenu("&Mode")
    for i, (value, label) in enumerate(MODES, start=1):
        action(mode_menu, label, f"Ctrl+{i}", lambda _=False, v=value: w.set_mode(v), label)
    tools = bar.addMenu("&Glimpse")
    action(tools, "&Settings...", "Ctrl+,", w.settings_requested.emit, "All settings")
    action(tools, "&Models...", "Ctrl+M", w.models_requested.emit,
           "Installed models and downloads")
    action(tools, "&Try starting again", "", w.retry,
           "Start again with the current settings and every device")
    helpm = bar.addMenu("&Help")
    action(helpm, "&Help and shortcuts", "F1", w.help_requested.emit, "Help")
    w.shortcut_keys = WindowShortcuts(w, sequences)
    w.question.installEventFilter(w.shortcut_keys)
