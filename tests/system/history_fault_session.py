"""The Glimpse window saving history while the disk is full or the data folder is read-only.

Run by tests/system/test_fault_history_disk.py inside a private mount namespace
(`unshare -m`), so the mounts below vanish with the process and nothing outside changes:

- `--fault full`: a 1 MiB tmpfs becomes the data folder; turn 1 is saved, then a filler file
  takes every free byte, turn 2 runs on the full disk, the filler is removed, turn 3 runs.
- `--fault readonly`: the data folder (already holding a store) is bind-mounted read-only
  before the window opens, and turn 1 runs.

The window is real (offscreen Qt) with the pipeline on fakes injected through
`ui.bootstrap.bootstrap`. What it showed is written as JSON to OUT (outside the data folder).

    python -m tests.system.history_fault_session --fault full --data DIR OUT.json
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

STEP_TIMEOUT_MS = 20000


def fill(folder: Path) -> Path:
    """Take every free byte of the file system under `folder`."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass  # ENOSPC: the disk is full now
    finally:
        os.close(fd)
    return filler


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--fault", choices=("full", "readonly"), required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    data = Path(args.data)
    if args.fault == "full":
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(data)], check=True)
    else:
        subprocess.run(["mount", "--bind", str(data), str(data)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(data)], check=True)
    os.environ["GLIMPSE_DATA_DIR"] = str(data)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.config import Config
    from tests.support.window import FakeFactory
    from ui.window.app import App

    qapp = QApplication(sys.argv[:1])
    app = App(Config(), pipeline_factory=FakeFactory(), global_shortcut=False, first_run=False)
    result: dict = {"notices": [], "ended": [], "saved_after": None, "integrity": None}
    app.bridge.notice.connect(lambda message, _speak: result["notices"].append(message))
    app.bridge.turn_ended.connect(
        lambda turn_id, question, answer, cancelled: result["ended"].append(
            {"turn": turn_id, "question": question, "answer": answer, "cancelled": cancelled}))

    def wait(predicate) -> None:
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: predicate() and loop.quit())
        timer.start(10)
        QTimer.singleShot(STEP_TIMEOUT_MS, loop.quit)
        loop.exec()
        if not predicate():
            raise TimeoutError("the window did not get there in time")

    def ask(text: str) -> None:
        n = len(result["ended"])
        app.window.question.setText(text)
        app.window.ask_typed()
        wait(lambda: len(result["ended"]) == n + 1)
        if app.bridge.recorder is not None:
            app.bridge.recorder.wait_idle(5)
        app.bridge.drain()  # the writer's notices reach the window

    app.start()
    wait(lambda: app.bridge.state == "running")
    if args.fault == "full":
        ask("before the disk fills")
        filler = fill(data)
        ask("on a full disk")
        filler.unlink()
        ask("after space is freed")
    else:
        ask("on a read-only folder")
    app.close()
    db_path = data / "history.sqlite3"
    if db_path.exists() and args.fault == "full":  # read-only: the test checks it outside
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        result["integrity"] = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = db.execute("SELECT question FROM turns ORDER BY seq")
        result["saved_after"] = [r[0] for r in rows]
        db.close()
    result["conversation"] = [t.question for t in app.window.conversation.turns]
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
