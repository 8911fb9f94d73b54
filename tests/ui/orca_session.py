"""The Glimpse window with the real pipeline, watched by the real Orca (run by
tests/ui/test_orca.py in a subprocess, on the test's private X display, session bus, AT-SPI bus
and audio server).

It opens the window the way `glimpse gui` does (config from GLIMPSE_CONFIG_DIR, the default
pipeline factory) and does nothing else: the test drives it from outside with real key events
(xdotool). It reports what happened, as JSON lines appended to EVENTS:

- {"event": "ready", "window": X window id, "voice": the settled answer voice, "channel":
  the announcement channel chosen for the running screen reader} once every stage is ready
  and the accessibility registry has answered;
- {"event": "answer", "turn": id, "text": ..., "time": wall clock} for every finished answer;
- {"event": "announce", "text": ..., "time": ..., "channel": ...} for every announcement;
- {"event": "transcript", "turn": id, "text": ...} for every final transcript;
- {"event": "turn_started", "turn": id, "mode": ...} when a turn starts.

It quits when the file QUIT exists.

    python -m tests.ui.orca_session EVENTS --quit QUIT
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ui.window.app import clean_qt_environment

MODEL_STAGES = ("asr", "answer", "tts")
READY_TIMEOUT_S = 180.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("events")
    parser.add_argument("--quit", required=True)
    args = parser.parse_args()
    clean_qt_environment()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from assistant import config as config_mod
    from ui.window.app import App

    events = Path(args.events)

    def report(**fields) -> None:
        with events.open("a", encoding="utf-8") as out:
            out.write(json.dumps(fields) + "\n")

    qapp = QApplication(sys.argv[:1])
    app = App(config_mod.load(), config_path=config_mod.config_path())
    w = app.window
    app.bridge.answer.connect(lambda turn, _text, _source: report(
        event="answer", turn=turn, text=w.conversation.turn(turn).answer, time=time.time()))
    app.bridge.transcript.connect(lambda turn, text, partial: None if partial else report(
        event="transcript", turn=turn, text=text))
    app.bridge.turn_started.connect(lambda turn, mode: report(
        event="turn_started", turn=turn, mode=mode))
    app.bridge.error.connect(lambda stage, message, _action: report(
        event="error", stage=stage, text=message))
    state = {"ready": False, "deadline": time.monotonic() + READY_TIMEOUT_S, "announced": 0}

    def ready() -> bool:
        pipeline = app.bridge.pipeline
        if app.bridge.state != "running" or pipeline is None:
            return False
        if not all(stage.ready.is_set() for stage in pipeline.stages.all()):
            return False
        if not app.reader.known.is_set():
            return False
        return w.status.ready() and all(
            w.status.stages.get(stage, ("",))[0] == "ready" for stage in MODEL_STAGES)

    def poll() -> None:
        history = w.announcer.history
        channels = w.announcer.channels
        for index in range(state["announced"], len(history)):
            when, text = history[index]
            report(event="announce", text=text, time=when, channel=channels[index])
        state["announced"] = len(history)
        if Path(args.quit).exists():
            qapp.quit()
        elif not state["ready"] and ready():
            state["ready"] = True
            report(event="ready", window=int(w.winId()), voice=w.answer_voice,
                   channel=w.announcer.channel, status=w.status_text.text(),
                   global_key=app.global_note)
        elif not state["ready"] and time.monotonic() > state["deadline"]:
            report(event="timeout", status=w.status_text.text())
            qapp.quit()

    app.start()
    w.move(0, 0)
    w.resize(1200, 760)
    w.activateWindow()
    driver = QTimer()
    driver.setInterval(50)
    driver.timeout.connect(poll)
    driver.start()
    qapp.exec()
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
