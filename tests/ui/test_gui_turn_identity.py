"""Turn identity survives a pipeline rebuild: saving Settings between turns loses no turn."""
from __future__ import annotations

import json

import pytest

import PySide6  # noqa: F401 - required: a broken install fails here, never skips
import pytestqt  # noqa: F401 - required: a broken install fails here, never skips

from assistant import config as cfg  # noqa: E402
from tests.support.window import FakeFactory  # noqa: E402
from ui.window.app import App  # noqa: E402


@pytest.fixture
def app(qtbot, tmp_path):
    factory = FakeFactory()
    app = App(cfg.Config(), pipeline_factory=factory, global_shortcut=False, first_run=False,
              config_path=tmp_path / "config.toml", history_dir=tmp_path / "data")
    qtbot.addWidget(app.window)
    app.start()
    yield app
    app.close()


def finished_turns(w, n):
    return len(w.conversation.turns) == n and all(t.finished for t in w.conversation.turns)


def test_saving_settings_between_turns_keeps_every_turn(qtbot, app, tmp_path):
    w = app.window
    qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
    w.describe_now()  # "Describe now" in Ask mode: one describe turn
    qtbot.waitUntil(lambda: finished_turns(w, 1), timeout=10000)
    first_answer = w.conversation.turns[0].answer
    assert first_answer
    old = app.bridge.pipeline
    dialog = app.open_settings()
    dialog.set_raw("ui.font_scale", "1.25")
    assert dialog.save()
    qtbot.waitUntil(lambda: app.bridge.state == "running" and app.bridge.pipeline is not old,
                    timeout=10000)
    w.question.setText("Is anyone there?")
    w.ask_typed()
    qtbot.waitUntil(lambda: finished_turns(w, 2), timeout=10000)
    first, second = w.conversation.turns
    assert (first.id, second.id) == (1, 2)
    assert first.answer == first_answer and first.mode == "describe"
    assert second.question == "Is anyone there?" and second.answer
    w.view.render_now()
    text = w.view.toPlainText()
    assert "Turn 1 · Describe scene" in text and "Turn 2 · Ask" in text
    assert text.count(first_answer) >= 1
    exported = json.loads(w.export_conversation(str(tmp_path / "c.json")).read_text())
    assert [(t["turn"], t["answer"]) for t in exported["turns"]] == [
        (1, first_answer), (2, second.answer)]
    md = w.export_conversation(str(tmp_path / "c.md")).read_text()
    assert "## Turn 1 (Describe scene" in md and "**You:** Is anyone there?" in md
