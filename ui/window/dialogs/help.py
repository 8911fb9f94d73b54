"""Help (F1): how to use Glimpse, every keyboard shortcut, and the global key's status."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextEdit, QVBoxLayout, QWidget

from ui.window.a11y import name
from ui.window.keys.shortcuts import SHORTCUTS

INTRO = ("Hold Space (or the Talk button) while you ask about what the camera sees, then let "
         "go: Glimpse answers in the conversation and aloud. Esc stops an answer. The mode "
         "decides what a question does: ask, describe the scene, or read text. Ask \"tell me "
         "when you see my keys\" and Glimpse keeps looking, between your questions, and says "
         "where they are when they come into view; Esc (with no answer playing) or saying "
         "\"stop\" ends the watch.")

ACCESS = ("Every control can be reached with Tab and has a name for screen readers. New "
          "answers, notices, errors and mode changes are announced through the screen reader "
          "(Orca speaks them as notifications); Settings, Speech, Answer voice chooses whether "
          "answers are spoken by Glimpse's voice, the screen reader's, or both. The Display "
          "page of Settings has a high-contrast theme and text size; states are always written "
          "out, never shown by colour alone.")


def help_html(global_note: str = "") -> str:
    # One shortcut a line (not a table): the caret, and a screen reader, read it line by line.
    rows = "".join(f"<p><b>{html.escape(s.keys)}</b>: {html.escape(s.action)}</p>"
                   for s in SHORTCUTS)
    note = f"<p>{html.escape(global_note)}</p>" if global_note else ""
    return (f"<h2>Using Glimpse</h2><p>{html.escape(INTRO)}</p>"
            f"<h2>Keyboard shortcuts</h2>{rows}{note}"
            f"<h2>Accessibility</h2><p>{html.escape(ACCESS)}</p>")


class HelpDialog(QDialog):
    def __init__(self, global_note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Glimpse help")
        name(self, "Glimpse help", "How to use Glimpse and all keyboard shortcuts.")
        layout = QVBoxLayout(self)
        self.text = QTextEdit()  # not a QTextBrowser: Qt exposes that as a label
        self.text.setReadOnly(True)
        self.text.setHtml(help_html(global_note))
        # A caret, so the arrow keys move through the text (and Orca reads each line) instead
        # of scrolling it silently.
        self.text.setTextInteractionFlags(Qt.TextSelectableByKeyboard | Qt.TextSelectableByMouse)
        self.text.setTabChangesFocus(True)
        name(self.text, "Help text", "Use the arrow keys to read line by line.")
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        name(buttons.button(QDialogButtonBox.Close), "Close help")
        layout.addWidget(buttons)
        self.resize(640, 560)
        self.text.setFocus()
