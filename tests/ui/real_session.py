"""The Glimpse window with the REAL pipeline on an X server (run by
tests/ui/test_gui_real_engines.py in a subprocess, with DISPLAY set to a private Xvfb and
PULSE_SERVER / XDG_RUNTIME_DIR set to the virtual audio server).

It loads the config the way `glimpse gui` does (GLIMPSE_CONFIG_DIR points at the test's own
folder), opens the window with the default pipeline factory (ui.bootstrap: PortAudio
microphone and speaker, the video-file camera, Whisper, the offline describer, Piper), waits
until every stage says it is ready, then holds Space with real X key events (XTest through
pynput's controller). It writes PRESSED once the window took the key; the test then plays the
spoken question into the virtual microphone and writes PLAYED when the clip has ended, and the
session lets go of Space. When the turn has ended it saves a screenshot and writes what the
window showed as JSON to OUT.

    python -m tests.ui.real_session OUT.json --pressed FILE --played FILE
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ui.window.app import clean_qt_environment

# Stages that load a model in setup() and say "ready" on the status line when done.
MODEL_STAGES = ("asr", "answer", "tts")
READY_TIMEOUT_S = 90.0
STEP_TIMEOUT_S = 60.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--pressed", required=True)
    parser.add_argument("--played", required=True)
    parser.add_argument("--screenshot", default="real-engines-turn")
    args = parser.parse_args()
    clean_qt_environment()

    from PySide6.QtWidgets import QApplication

    from assistant import config as config_mod
    from tests.support.rig.display import save_screenshot
    from ui.window.app import App

    qapp = QApplication(sys.argv[:1])
    config = config_mod.load()
    # The default pipeline factory: the real engines, built by ui.bootstrap.
    app = App(config, config_path=config_mod.config_path())
    w = app.window
    result: dict = {"platform": qapp.platformName(), "errors": [], "metrics": None}
    app.bridge.error.connect(
        lambda stage, message, action: result["errors"].append([stage, message, action]))

    def on_metrics(metrics) -> None:
        result["metrics"] = {name: getattr(metrics, name) for name in metrics.MARKS}
        result["metrics"]["cancelled"] = bool(metrics.cancelled)

    app.bridge.metrics.connect(on_metrics)

    def turn():
        return w.conversation.turns[-1] if w.conversation.turns else None

    def ready() -> bool:
        pipeline = app.bridge.pipeline
        if app.bridge.state != "running" or pipeline is None:
            return False
        if not all(stage.ready.is_set() for stage in pipeline.stages.all()):
            return False
        return (w.status.ready() and all(
            w.status.stages.get(stage, ("",))[0] == "ready" for stage in MODEL_STAGES)
                and w.preview.picture is not None)

    def error_dialog_shown() -> bool:
        return w.problems.visible() or w.problems.opened > 0

    def steps():
        app.start()
        w.move(0, 0)
        w.resize(1200, 760)
        t0 = time.monotonic()
        yield ready, READY_TIMEOUT_S
        result["ready_s"] = time.monotonic() - t0
        result["status_ready"] = w.status_text.text()
        result["status_details"] = w.status_text.toolTip()
        w.activateWindow()
        w.talk.setFocus()
        yield lambda: w.isActiveWindow() and QApplication.focusWidget() is w.talk, STEP_TIMEOUT_S
        from pynput.keyboard import Controller, Key

        kb = Controller()
        kb.press(Key.space)
        # The press went through the X server and the window's Space filter.
        yield lambda: w.talking and w.space.down and turn() is not None, STEP_TIMEOUT_S
        Path(args.pressed).write_text("pressed")
        yield lambda: Path(args.played).exists(), STEP_TIMEOUT_S
        result["held_through_clip"] = w.talking and w.space.down
        kb.release(Key.space)
        yield lambda: turn().finished and result["metrics"] is not None, STEP_TIMEOUT_S
        t = turn()
        result.update(turns=len(w.conversation.turns), question=t.question, answer=t.answer,
                      cancelled=t.cancelled, turn_errors=list(t.errors),
                      thumbnail=t.thumbnail is not None,
                      timeline=w.timeline.text(), status=w.status_text.text(),
                      talk_text=w.talk.text(), live=w.live.text(),
                      error_dialog=error_dialog_shown(),
                      modal=QApplication.activeModalWidget() is not None)
        w.view.render_now()
        yield lambda: True, STEP_TIMEOUT_S  # one event-loop pass, so the view is painted
        result["conversation_text"] = w.view.toPlainText()
        result["screenshot"] = str(save_screenshot(w, args.screenshot))

    script = steps()
    condition, limit = next(script)
    state = {"condition": condition, "deadline": time.monotonic() + limit}

    def advance() -> None:
        try:
            if state["condition"]():
                state["condition"], limit = next(script)
                state["deadline"] = time.monotonic() + limit
            elif time.monotonic() > state["deadline"]:
                result["error"] = ("timed out waiting for a step; status: "
                                   + w.status_text.text())
                qapp.quit()
        except StopIteration:
            qapp.quit()

    from PySide6.QtCore import QTimer

    driver = QTimer()
    driver.setInterval(10)
    driver.timeout.connect(advance)
    driver.start()
    qapp.exec()
    app.close()
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
