"""An Announcer with its ReaderWatch in a real window (xcb, accessibility on), driven by files,
for tests/ui/test_announce_atspi.py; run on the test's private display and buses.

    python -m tests.ui.announce_session FOLDER

In FOLDER it writes `ready` (its process id) once shown and the registry has answered; after
`go1` appears it announces the texts listed in it (JSON) and writes `said1`; after `go2` it waits
(30 s at most) until a client listens for announcement events, announces the texts of `go2` and
writes `said2`; after `go3` it waits until none listens and writes `result.json` ({"channels":
[...], "heard_after_go2": bool, "heard_after_go3": bool}), then quits.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

WAIT_S = 30.0


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

    from ui.window.announce import Announcer, ReadableText
    from ui.window.reader import ReaderWatch

    folder = Path(sys.argv[1])
    app = QApplication(sys.argv[:1])
    window = QWidget()
    window.setWindowTitle("Announcements")
    field = ReadableText("Last message", "The latest message.")
    QVBoxLayout(window).addWidget(field)
    watch = ReaderWatch().start()
    announcer = Announcer(window, field, watch)
    window.show()
    result: dict = {}

    def steps():
        yield lambda: watch.known.is_set()
        (folder / "ready").write_text(str(os.getpid()))
        yield lambda: (folder / "go1").exists()
        for text in json.loads((folder / "go1").read_text()):
            announcer.say(text)
        (folder / "said1").write_text("done")
        yield lambda: (folder / "go2").exists()
        deadline = time.monotonic() + WAIT_S
        yield lambda: watch.announcements or time.monotonic() > deadline
        result["heard_after_go2"] = watch.announcements
        for text in json.loads((folder / "go2").read_text()):
            announcer.say(text)
        (folder / "said2").write_text("done")
        yield lambda: (folder / "go3").exists()
        deadline = time.monotonic() + WAIT_S
        yield lambda: not watch.announcements or time.monotonic() > deadline
        result["heard_after_go3"] = watch.announcements
        result["channels"] = announcer.channels
        result["problem"] = watch.problem
        (folder / "result.json").write_text(json.dumps(result))
        app.quit()
        yield lambda: False

    script = steps()
    condition = [next(script)]
    deadline = [time.monotonic() + 120]

    def advance() -> None:
        if condition[0]():
            condition[0] = next(script)
        elif time.monotonic() > deadline[0]:
            (folder / "result.json").write_text(json.dumps({"error": "timed out", **result}))
            app.quit()

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(advance)
    timer.start()
    app.exec()
    watch.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
