"""Another application's window, for tests that put Glimpse in the background: a plain Qt
window with a text field ("Notes"), run in a process of its own so a screen reader sees a second
application. Writes its X window id to READY once shown, and quits when QUIT exists.

    python -m tests.ui.other_app READY QUIT
"""
from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QPlainTextEdit

    ready, quit_file = Path(sys.argv[1]), Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Notes")
    notes = QPlainTextEdit()
    notes.setWindowTitle("Notes")
    notes.setAccessibleName("Notes text")
    notes.move(0, 0)
    notes.resize(600, 400)
    notes.show()

    def poll() -> None:
        if not ready.exists() and notes.isVisible():
            ready.write_text(str(int(notes.winId())))
        if quit_file.exists():
            app.quit()

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(poll)
    timer.start()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
