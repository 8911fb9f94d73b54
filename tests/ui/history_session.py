"""A Glimpse window process for the kill tests (tests/ui/test_gui_history_kill.py).

It opens the real window (offscreen Qt) with the pipeline on fakes injected through
`ui.bootstrap.bootstrap` (a slow scripted answer, so a turn can be caught mid-answer), history
in GLIMPSE_DATA_DIR, and asks `--turns` typed questions one after the other. It prints one line
per step on stdout, flushed, for the test to follow: `STARTED n`, `TOKEN n`, `ENDED n`.
It never exits by itself: the test ends it with a signal. It runs the event loop as `glimpse
gui` does (`App.exec`), so SIGTERM closes it the way the product's window closes.

    python -m tests.ui.history_session --turns 3
"""
from __future__ import annotations

import argparse
import sys

from ui.window.app import clean_qt_environment


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    clean_qt_environment()

    from PySide6.QtWidgets import QApplication

    from assistant.config import Config
    from tests.support.window import FakeFactory
    from ui.window.app import App

    qapp = QApplication(sys.argv[:1])
    factory = FakeFactory()
    app = App(Config(), pipeline_factory=factory, global_shortcut=False, first_run=False)
    w = app.window
    asked = {"n": 0}

    def ask_next() -> None:
        if asked["n"] >= args.turns:
            return
        asked["n"] += 1
        if asked["n"] == args.turns:  # the last turn answers slowly: it is the one killed
            vlm = factory.parts["vlm"]
            vlm.tokens, vlm.token_s = [f"word{i} " for i in range(2000)], 0.02
        w.question.setText(f"question number {asked['n']}")
        w.ask_typed()

    def on_state(state: str, _detail: str) -> None:
        if state == "running" and asked["n"] == 0:
            ask_next()

    tokens_seen: set[int] = set()

    def on_token(turn_id: int, _text: str) -> None:
        if turn_id not in tokens_seen:
            tokens_seen.add(turn_id)
            say(f"TOKEN {turn_id}")

    def on_ended(turn_id: int, *_rest) -> None:
        say(f"ENDED {turn_id}")
        ask_next()

    app.bridge.state_changed.connect(on_state)
    app.bridge.turn_started.connect(lambda turn_id, _m: say(f"STARTED {turn_id}"))
    app.bridge.token.connect(on_token)
    app.bridge.turn_ended.connect(on_ended)
    app.start()
    say("WINDOW")
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
