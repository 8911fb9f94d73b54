"""A window that sends a message one way at a time, for tests/ui/orca_channels.py (run on its
private display and buses). It reads commands (JSON lines) from COMMANDS, carries out each new
one and appends {"done": n} to REPORT; its first report line is {"window": X window id}.

    python -m tests.ui.orca_channels_window COMMANDS REPORT

Commands: {"op": "announce", "text", "assertive"}; {"op": "notify", "text", "spot": 0-3,
"statusbar": bool, "name_event": bool}; {"op": "field", "text"}; {"op": "focus", "what":
"field" | "button"}; {"op": "space", "how": "none" | "drop" (Space repeats dropped in Qt ahead of
the accessibility bridge) | "off_at_press" (Space's X auto-repeat switched off when it goes
down)}, each for one hold; {"op": "repeat", "on": bool} (Space's X auto-repeat).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer
    from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QAccessibleEvent
    from PySide6.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget

    from ui.window.announce import MessageBar, NotificationSpot, ReadableText, install
    from ui.window.keys.repeat import SPACE, KeyRepeat

    commands, report = Path(sys.argv[1]), Path(sys.argv[2])
    install()
    app = QApplication(sys.argv[:1])
    window = QWidget()
    window.setWindowTitle("Channels")
    layout = QVBoxLayout(window)
    button = QPushButton("Big button")
    field = ReadableText("Last message", "The latest message.")
    layout.addWidget(button)
    layout.addWidget(field)
    plain = [NotificationSpot(window) for _ in range(4)]
    barred = [NotificationSpot(MessageBar(window)) for _ in range(4)]
    repeat = KeyRepeat()

    class Drop(QObject):
        """For one hold: Space repeats dropped at the window, ahead of the bridge (the first
        press goes on); or, with `off_at_press`, nothing dropped and Space's X auto-repeat
        switched off at the first press."""

        def __init__(self, off_at_press: bool) -> None:
            super().__init__()
            self.down, self.off_at_press = False, off_at_press

        def eventFilter(self, _obj, event) -> bool:  # noqa: N802 - Qt API
            if event.type() not in (QEvent.KeyPress, QEvent.KeyRelease) \
                    or event.key() != Qt.Key_Space or not event.spontaneous():
                return False
            if self.off_at_press:
                if event.type() == QEvent.KeyPress and not self.down:
                    repeat.hold_off(SPACE)
                self.down = True
                return False
            if event.type() == QEvent.KeyRelease:
                return True  # the release of a repeat, or the real one: nothing to echo
            first = not self.down and not event.isAutoRepeat()
            self.down = True
            return not first

    state: dict = {"done": 0, "drop": None}

    def run(command: dict) -> None:
        op, text = command["op"], command.get("text", "")
        if op == "announce":
            event = QAccessibleAnnouncementEvent(field, text)
            if command.get("assertive"):
                event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
            QAccessible.updateAccessibility(event)
        elif op == "notify":
            spot = (barred if command.get("statusbar") else plain)[command.get("spot", 0)]
            spot.hide()
            spot.message = text
            if command.get("name_event"):
                QAccessible.updateAccessibility(QAccessibleEvent(spot, QAccessible.NameChanged))
            spot.show()
        elif op == "field":
            field.setText(text)
        elif op == "focus":
            (field if command["what"] == "field" else button).setFocus()
        elif op == "space":
            if state["drop"] is not None:
                app.removeEventFilter(state["drop"])
                state["drop"] = None
            if command["how"] in ("drop", "off_at_press"):
                state["drop"] = Drop(command["how"] == "off_at_press")
                app.installEventFilter(state["drop"])  # the newest: ahead of the bridge
        elif op == "repeat":
            if command["on"]:
                repeat.let_go(SPACE)
            else:
                repeat.hold_off(SPACE)

    def poll() -> None:
        if not commands.exists():
            return
        for line in commands.read_text().splitlines()[state["done"]:]:
            run(json.loads(line))
            state["done"] += 1
            with report.open("a") as out:
                out.write(json.dumps({"done": state["done"]}) + "\n")

    window.resize(600, 400)
    window.show()
    with report.open("a") as out:
        out.write(json.dumps({"window": int(window.winId())}) + "\n")
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(poll)
    timer.start()
    app.exec()
    repeat.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
