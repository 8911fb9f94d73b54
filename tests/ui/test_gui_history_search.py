"""Conversation > Find in history (Ctrl+F): the saved turns found by their real pictures (the
history's thumbnails, the real offline analyser) and by their words, shown with their pictures
and turn numbers, the count announced, the chosen turn readable in full."""
from __future__ import annotations

import os

import pytest

# PySide6 and pytest-qt are required (the window and its tests): missing, they fail.
import PySide6  # noqa: E402,F401
import pytestqt  # noqa: E402,F401

from assistant import config as cfg  # noqa: E402
from tests.support.history import save_turns  # noqa: E402
from tests.support.window import FakeFactory  # noqa: E402
from ui.window.app import App  # noqa: E402


@pytest.fixture
def app(qtbot, tmp_path):
    data = tmp_path / "data"
    save_turns(data, session="earlier")
    config = cfg.Config().with_value("models.cache_dir", str(tmp_path / "cache")).with_value(
        "finder.engine", "offline")
    app = App(config, pipeline_factory=FakeFactory(), global_shortcut=False, first_run=False,
              history_dir=data)
    qtbot.addWidget(app.window)
    app.start()
    qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
    yield app
    app.close()


def find(qtbot, dialog, text):
    before = dialog.status.text()
    dialog.query.setText(text)
    dialog.search()
    qtbot.waitUntil(lambda: dialog.go.isEnabled() and dialog.status.text() != before,
                    timeout=120000)


def test_find_in_history_shows_the_turn_with_its_picture(qtbot, app, tmp_path):
    w = app.window
    w.search_history()
    dialog = w.history_search
    assert dialog.isVisible() and dialog.query.accessibleName() == "Find in history"
    find(qtbot, dialog, "a cup")
    first = dialog.results.item(0)
    assert first.text().startswith("Turn 2, ") and "What is this?" in first.text()
    assert not first.icon().isNull()  # the turn's saved picture
    assert dialog.status.text().endswith("the best is turn 2.")
    assert "Glimpse: It looks like an espresso." in dialog.detail.toPlainText()
    shot = tmp_path / "history-search.png"
    assert dialog.grab().save(str(shot))
    if os.environ.get("GLIMPSE_SCREENSHOTS"):
        dialog.grab().save(os.path.join(os.environ["GLIMPSE_SCREENSHOTS"], shot.name))
    # By words alone: turn 5 has no picture, but its question asked for the keys.
    find(qtbot, dialog, "my keys")
    assert dialog.results.item(0).text().startswith("Turn 5, ")
    find(qtbot, dialog, "bicycle")
    assert dialog.results.count() == 0
    assert dialog.status.text() == "No saved turn matches bicycle."
