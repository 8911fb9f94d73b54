"""A real Glimpse window on an X server (run by tests/ui/test_gui_xvfb.py in a subprocess).

It drives one push-to-talk turn on fakes with a slow answer engine while `qapp.exec()` runs the
real event loop, measures the longest event-loop stall with a 5 ms timer, saves screenshots and
writes the figures as JSON to the path given. With --hold FILE it waits, after the turn, until
FILE exists (the AT-SPI reader runs meanwhile).

    python -m tests.ui.xvfb_session OUT.json [--hold FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ui.window.app import clean_qt_environment


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--hold", default="")
    parser.add_argument("--ready", default="")
    parser.add_argument("--announce", default="")
    args = parser.parse_args()
    clean_qt_environment()

    from PySide6.QtCore import QPoint, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from assistant.config import Config
    from tests.support.rig.display import save_screenshot
    from tests.support.fakes import speech
    from tests.support.window import FakeFactory
    from ui.window.app import App

    qapp = QApplication(sys.argv[:1])
    factory = FakeFactory(tokens=[f"word{i} " for i in range(30)], token_s=0.05, mic_speed=1.0)
    app = App(Config(), pipeline_factory=factory, global_shortcut=True, first_run=False)
    w = app.window
    result: dict = {"platform": qapp.platformName(), "screenshots": []}

    # The stall meter: a 5 ms timer; the longest gap between its ticks is the stall.
    gaps: list[float] = []
    last = [time.perf_counter()]
    measuring = [False]

    def tick() -> None:
        t = time.perf_counter()
        if measuring[0]:
            gaps.append((t - last[0]) * 1000)
        last[0] = t

    meter = QTimer()
    meter.setInterval(5)
    meter.timeout.connect(tick)
    meter.start()

    def turn() -> object:
        return w.conversation.turns[-1] if w.conversation.turns else None

    def shot(name: str, widget) -> None:
        result["screenshots"].append(str(save_screenshot(widget, name)))

    def steps():
        app.start()
        w.move(0, 0)
        w.resize(1200, 760)
        # Ready: every stage has finished its setup and "Glimpse is ready" has been announced
        # (a user asks after it; the turn's figures are the turn's own).
        yield lambda: w.status.ready() and w.preview.picture is not None
        shot("main-window", w)
        result["global_shortcut"] = app.global_note
        # Focus order, as Tab walks it from the Talk button.
        w.activateWindow()
        w.talk.setFocus()
        names, widget = [], w.talk
        for _ in range(len(w.focus_order)):
            names.append(widget.objectName())
            widget = widget.nextInFocusChain()
            while not (widget.focusPolicy() & Qt.TabFocus) or not widget.isVisible():
                widget = widget.nextInFocusChain()
        result["focus_order"] = names
        # One push-to-talk turn with a slow answer (30 tokens, 50 ms apart), measured.
        factory.parts["mic"].play(speech(1.5))
        measuring[0] = True
        last[0] = time.perf_counter()
        t_press = time.perf_counter()
        QTest.mousePress(w.talk, Qt.LeftButton, Qt.NoModifier, QPoint(20, 20))
        # Hold like a person asking a short question: until a partial transcript shows and at
        # least 1.2 s passed (a tap under audio.min_press_ms would be dropped as too short).
        yield lambda: (turn() is not None and bool(turn().question)
                       and time.perf_counter() - t_press > 1.2)
        result["partial_seen"] = bool(turn().partial)
        QTest.mouseRelease(w.talk, Qt.LeftButton, Qt.NoModifier, QPoint(20, 20))
        yield lambda: turn().finished
        measuring[0] = False
        result["turn_s"] = time.perf_counter() - t_press
        result["answer"] = turn().answer
        result["timeline"] = w.timeline.text()
        result["stall_ticks"] = len(gaps)
        result["stall_max_ms"] = max(gaps) if gaps else None
        result["stall_p99_ms"] = sorted(gaps)[int(len(gaps) * 0.99)] if gaps else None
        w.view.render_now()
        yield lambda: True
        shot("finished-turn", w)
        dialog = app.open_settings()
        dialog.move(80, 60)
        yield lambda: dialog.isVisible()
        yield lambda: True
        shot("settings-dialog", dialog)
        dialog.reject()
        help_dialog = app.open_help()
        yield lambda: help_dialog.isVisible()
        yield lambda: True
        shot("help-dialog", help_dialog)
        help_dialog.reject()
        from ui.window import theme

        theme.apply(qapp, "high-contrast", 1.25)
        yield lambda: True
        yield lambda: True
        shot("high-contrast", w)
        theme.apply(qapp, "system", 1.0)
        # Real X key events (XTest, through pynput's controller): Space held in the window,
        # then the global shortcut, each for a whole turn.
        from pynput.keyboard import Controller, Key

        kb = Controller()
        for label, keys in (("space_turn", (Key.space,)),
                            ("global_turn", (Key.ctrl, Key.alt, Key.space))):
            w.activateWindow()
            w.talk.setFocus()
            yield lambda: w.isActiveWindow()
            factory.parts["mic"].play(speech(1.5))
            before, t0 = len(w.conversation.turns), time.perf_counter()
            for k in keys:
                kb.press(k)
            yield lambda b=before, t=t0: (len(w.conversation.turns) > b
                                          and bool(turn().question)
                                          and time.perf_counter() - t > 1.2)
            for k in reversed(keys):
                kb.release(k)
            yield lambda: turn().finished
            result[label] = {"new_turns": len(w.conversation.turns) - before,
                             "question": turn().question, "answer": turn().answer,
                             "cancelled": turn().cancelled}
        w.activateWindow()
        w.talk.setFocus()
        if args.ready:
            Path(args.ready).write_text(str(os.getpid()))
        if args.announce:
            # The AT-SPI listener is up: announce the last answer again (Ctrl+R's action).
            deadline = time.monotonic() + 30
            yield lambda: Path(args.announce).exists() or time.monotonic() > deadline
            # It listens for announcement events: the window sends them once the accessibility
            # registry has told it so (ui.window.reader).
            yield lambda: app.reader.announcements or time.monotonic() > deadline
            w.repeat_last()
        if args.hold:
            deadline = time.monotonic() + 60
            yield lambda: Path(args.hold).exists() or time.monotonic() > deadline

    script = steps()
    condition = [next(script)]
    deadline = [time.monotonic() + 60]

    def advance() -> None:
        try:
            if condition[0]():
                condition[0] = next(script)
                deadline[0] = time.monotonic() + 60
            elif time.monotonic() > deadline[0]:
                result["error"] = "timed out waiting for a step"
                qapp.quit()
        except StopIteration:
            qapp.quit()

    driver = QTimer()
    driver.setInterval(10)
    driver.timeout.connect(advance)
    driver.start()
    qapp.exec()
    t_quit = time.perf_counter()
    app.close()
    result["quit_s"] = time.perf_counter() - t_quit
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
