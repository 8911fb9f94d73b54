"""Watch mode in the window: "tell me when you see my keys" typed in the question box starts a
watch the status line names; the sighting is shown and announced; Esc with no answer playing
ends a watch, and says so."""
from __future__ import annotations

import os


# PySide6 and pytest-qt are required (the window and its tests): missing, they fail.
import PySide6  # noqa: E402,F401
import pytestqt  # noqa: E402,F401

from assistant import config as cfg  # noqa: E402
from tests.support.window import FakeFactory  # noqa: E402
from tests.support.fakes import ScriptedFinder  # noqa: E402
from ui.window.app import App  # noqa: E402


def open_app(qtbot, tmp_path, finder):
    app = App(cfg.Config(), pipeline_factory=FakeFactory(finder=finder), global_shortcut=False,
              first_run=False, history_dir=tmp_path / "data")
    qtbot.addWidget(app.window)
    app.start()
    qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
    return app


def ask(qtbot, window, text, n):
    window.question.setText(text)
    window.ask_typed()
    qtbot.waitUntil(lambda: len(window.conversation.turns) == n
                    and window.conversation.turns[-1].finished, timeout=10000)


def test_watch_mode_in_the_window(qtbot, tmp_path):
    finder = ScriptedFinder(min_mean=0)
    app = open_app(qtbot, tmp_path, finder)
    w = app.window
    try:
        ask(qtbot, w, "Tell me when you see my keys", 1)
        assert w.conversation.turns[0].answer.startswith("I'll tell you when I see keys.")
        qtbot.waitUntil(lambda: w.status.text() == "Watching for keys", timeout=10000)
        if os.environ.get("GLIMPSE_SCREENSHOTS"):
            w.grab().save(os.path.join(os.environ["GLIMPSE_SCREENSHOTS"], "watching.png"))
        finder.gate.set()  # the keys come into view
        qtbot.waitUntil(lambda: any(n.startswith("I see keys") for n in
                                    w.conversation.general), timeout=10000)
        assert w.live.text().startswith("I see keys")  # announced to the screen reader
        qtbot.waitUntil(lambda: w.status.text() == "Ready", timeout=10000)
        # A second watch, ended by Esc with no answer playing.
        finder.gate.clear()
        ask(qtbot, w, "watch for a bicycle", 2)
        qtbot.waitUntil(lambda: w.status.text() == "Watching for bicycle", timeout=10000)
        w.stop()
        qtbot.waitUntil(lambda: w.live.text() == "Stopped watching for a bicycle.",
                        timeout=10000)
        qtbot.waitUntil(lambda: w.status.text() == "Ready", timeout=10000)
    finally:
        app.close()
