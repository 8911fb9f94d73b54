"""The real window with the real pipeline, as a newcomer runs it (run by
tests/ui/test_gui_newcomer.py in a subprocess on a private X server).

The config is a fresh one, as `glimpse --offline` with a picture folder as the camera would give:
Whisper tiny.en from the offline pack, the offline describer, Piper's Joe voice; the audio is
whatever the environment gives (the virtual PulseAudio microphone and speaker, or no audio
server at all). The session waits until the status line says Ready, asks two typed questions,
presses Talk, saves Settings, chooses Try again, asks again, then continues without the devices
that do not work, and asks once more. It writes what the window showed and said (dialogs opened,
announcements with their times, the device bar, the status line, each turn) to OUT as JSON and
saves screenshots under --shots.

    python -m tests.ui.devices_session OUT.json --shots DIR --label no-audio
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ui.window.app import clean_qt_environment

READY_TIMEOUT_S = 240.0  # models load on a shared 2-core machine
STEP_TIMEOUT_S = 120.0
QUESTIONS = ("Where is the taxi?", "Is there a person?", "What is in front of me?")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--shots", required=True)
    parser.add_argument("--label", required=True)
    args = parser.parse_args()
    clean_qt_environment()

    from PySide6.QtWidgets import QApplication

    from assistant import config as config_mod
    from tests.support.window import DialogWatch, Steps, grab_window
    from ui.window.app import App

    qapp = QApplication(sys.argv[:1])
    dialogs = DialogWatch(qapp)
    config = config_mod.load()
    app = App(config, config_path=config_mod.config_path())  # the real pipeline (bootstrap)
    w = app.window
    shots = Path(args.shots)
    result: dict = {"platform": qapp.platformName(), "screenshots": [], "ready": [],
                    "rebuilds": 0}
    t0 = time.monotonic()

    # When "Glimpse is ready" is said: what the status line said then, and whether every
    # stage of the pipeline had finished its setup (a spy on the window's announcer).
    say = w.announcer.say

    def spy(text, *a, **kw):
        if text.startswith("Glimpse is ready"):
            pipeline = app.bridge.pipeline
            result["ready"].append({
                "at_s": round(time.monotonic() - t0, 3), "text": text,
                "status": w.status_text.text(), "status_ready": w.status.ready(),
                "stages_set_up": pipeline is not None and all(
                    s.ready.is_set() for s in pipeline.stages.all())})
        return say(text, *a, **kw)

    w.announcer.say = spy
    marks: dict[str, float] = {}

    def on_state(state: str, _detail: str) -> None:
        marks.setdefault(f"state_{state}", round(time.monotonic() - t0, 3))

    def on_status(stage: str, state: str, _detail: str) -> None:
        if stage == "pipeline" and state == "set-up":
            marks.setdefault("set_up", round(time.monotonic() - t0, 3))

    app.bridge.state_changed.connect(on_state)
    app.bridge.status.connect(on_status)

    def shot(name: str):
        """Steps: render, let the window paint, grab what the X server shows."""
        w.view.render_now()
        yield lambda: True, 1
        yield lambda: True, 1
        result["screenshots"].append(grab_window(w, shots / f"{args.label}-{name}.png"))

    def finished_turns() -> int:
        return sum(1 for t in w.conversation.turns if t.finished)

    def ask(text: str):
        before = finished_turns()
        w.question.setFocus()
        w.question.setText(text)
        w.ask_typed()
        return lambda: finished_turns() > before

    def rebuilt(old):
        return lambda: app.bridge.pipeline is not None and app.bridge.pipeline is not old \
            and w.status.set_up and (w.status.ready() or w.status.problem != "")

    def steps():
        app.start()
        w.move(0, 0)
        w.resize(1200, 760)
        yield lambda: w.status.ready() and w.preview.picture is not None, READY_TIMEOUT_S
        marks["status_ready"] = round(time.monotonic() - t0, 3)
        result["status_at_ready"] = w.status_text.text()
        yield from shot("ready")
        yield ask(QUESTIONS[0]), STEP_TIMEOUT_S
        result["focus_after_typed"] = w.focusWidget().objectName() if w.focusWidget() else ""
        before = finished_turns()
        w.describe_now()
        yield lambda: finished_turns() > before, STEP_TIMEOUT_S
        # Talk: with no microphone nothing starts; with one, a short press is too short.
        turns_before_talk = len(w.conversation.turns)
        w.press()
        result["talk_with_devices"] = {"talking": w.talking, "live": w.live.text()}
        if w.talking:
            w.release()
            yield lambda: w.conversation.current() is None, STEP_TIMEOUT_S
        result["turns_after_talk"] = len(w.conversation.turns) - turns_before_talk
        yield from shot("answered")
        # Settings saved (a harmless change), then Try again: each rebuilds the pipeline.
        old = app.bridge.pipeline
        dialog = app.open_settings()
        yield dialog.isVisible, STEP_TIMEOUT_S
        dialog.set_raw("scene.verbosity", "detailed")
        dialog.save()
        result["rebuilds"] += 1
        yield rebuilt(old), READY_TIMEOUT_S
        old = app.bridge.pipeline
        w.retry()
        result["rebuilds"] += 1
        yield rebuilt(old), READY_TIMEOUT_S
        yield ask(QUESTIONS[1]), STEP_TIMEOUT_S
        result["before_choices"] = snapshot()
        yield from shot("problem" if w.devices.missing else "after-rebuilds")
        # Continue without each device that does not work.
        for key in list(w.device_bar.shown):
            old = app.bridge.pipeline
            w.device_bar.withouts[key].click()
            result["rebuilds"] += 1
            yield rebuilt(old), READY_TIMEOUT_S
        yield ask(QUESTIONS[2]), STEP_TIMEOUT_S
        yield from shot("continued")
        result["after_choices"] = snapshot()

    def snapshot() -> dict:
        status = w.status_text
        return {
            "device_bar": list(w.device_bar.shown) if w.device_bar.isVisible() else [],
            "device_bar_text": w.device_bar.text.text(),
            "missing": sorted(w.devices.missing), "left_out": sorted(w.devices.left_out),
            "status": status.text(), "status_shown": status.toPlainText(),
            "status_details": status.toolTip(),
            "status_lines": status.document().lineCount(),
            "status_scrolls": status.verticalScrollBar().isVisible()
            or status.horizontalScrollBar().isVisible(),
            "status_height": status.height(),
            "talk": w.talk.text(),
            "turns": [{"id": t.id, "question": t.question, "answer": t.answer,
                       "errors": list(t.errors), "notes": list(t.notes)}
                      for t in w.conversation.turns],
            "conversation": w.view.toPlainText(),
            "dialogs": list(dialogs.shown), "problem_dialogs": w.problems.opened,
            "announcements": [text for _, text in w.announcer.history],
            "without": sorted(app.bridge.without),
        }

    ok = Steps(qapp, steps(), result).run()
    result["marks"] = marks
    result["final"] = snapshot()
    app.close()
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
