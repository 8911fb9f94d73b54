"""The window keeps history: the previous session's turns on start, Clear history, off = no file."""
from __future__ import annotations


import PySide6  # noqa: F401 - required: a broken install fails here, never skips
import pytestqt  # noqa: F401 - required: a broken install fails here, never skips

from assistant import config as cfg  # noqa: E402
from assistant.history import HistoryStore, store_path  # noqa: E402
from tests.support.window import FakeFactory  # noqa: E402
from ui.window.app import App  # noqa: E402


def open_app(qtbot, data, config=None):
    app = App(config or cfg.Config(), pipeline_factory=FakeFactory(), global_shortcut=False,
              first_run=False, history_dir=data)
    qtbot.addWidget(app.window)
    app.start()
    qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
    return app


def ask(qtbot, app, text, n):
    w = app.window
    w.question.setText(text)
    w.ask_typed()
    qtbot.waitUntil(lambda: len(w.conversation.turns) == n and w.conversation.turns[-1].finished,
                    timeout=10000)


def test_previous_session_is_shown_and_numbering_continues(qtbot, tmp_path):
    data = tmp_path / "data"
    app = open_app(qtbot, data)
    ask(qtbot, app, "what is on the taxi?", 1)
    ask(qtbot, app, "and behind it?", 2)
    answers = [t.answer for t in app.window.conversation.turns]
    app.close()

    again = open_app(qtbot, data)
    w = again.window
    shown = [(t.id, t.question, t.answer, t.finished) for t in w.conversation.turns]
    assert shown == [(1, "what is on the taxi?", answers[0], True),
                     (2, "and behind it?", answers[1], True)]
    assert w.conversation.turns[0].thumbnail is not None  # the saved JPEG thumbnail
    w.view.render_now()
    assert "from your previous session" in w.view.toPlainText()
    ask(qtbot, again, "anything new?", 3)
    assert w.conversation.turns[-1].id == 3
    again.close()
    store = HistoryStore(store_path(data))
    assert [r.turn_id for r in store.turns()] == [1, 2, 3]


def test_clear_history_deletes_saved_turns_and_the_shown_ones(qtbot, tmp_path):
    data = tmp_path / "data"
    app = open_app(qtbot, data)
    ask(qtbot, app, "what is on the taxi?", 1)
    app.bridge.recorder.wait_idle(5)
    app.window.clear_history(confirm=False)
    assert app.window.conversation.turns == []
    assert "History cleared." in app.window.live.text()
    assert list(data.iterdir()) == []  # the files are gone while the window stays open
    ask(qtbot, app, "and now?", 1)  # the next turn starts a fresh store
    assert app.bridge.recorder.wait_idle(5)
    app.close()
    assert [r.question for r in HistoryStore(store_path(data)).turns()] == ["and now?"]
    again = open_app(qtbot, data)
    assert [t.question for t in again.window.conversation.turns] == ["and now?"]
    again.close()


def test_show_on_start_off_opens_an_empty_conversation(qtbot, tmp_path):
    data = tmp_path / "data"
    app = open_app(qtbot, data)
    ask(qtbot, app, "what is on the taxi?", 1)
    app.close()
    config = cfg.Config().with_value("history.show_on_start", False)
    again = open_app(qtbot, data, config)
    assert again.window.conversation.turns == []
    again.close()


def test_history_off_keeps_nothing_on_disk(qtbot, tmp_path):
    data = tmp_path / "data"
    app = open_app(qtbot, data, cfg.Config().with_value("history.enabled", False))
    ask(qtbot, app, "what is on the taxi?", 1)
    app.close()
    assert not data.exists()


def test_settings_turn_history_off_and_no_later_turn_is_kept(qtbot, tmp_path):
    data = tmp_path / "data"
    app = App(cfg.Config(), pipeline_factory=FakeFactory(), global_shortcut=False,
              first_run=False, history_dir=data, config_path=tmp_path / "config.toml")
    qtbot.addWidget(app.window)
    app.start()
    qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
    ask(qtbot, app, "kept", 1)
    old = app.bridge.pipeline
    dialog = app.open_settings()
    dialog.set_raw("history.enabled", False)
    dialog.set_raw("history.keep_days", "7")
    assert dialog.save()
    assert cfg.load(tmp_path / "config.toml", environ={}).history.keep_days == 7
    qtbot.waitUntil(lambda: app.bridge.state == "running" and app.bridge.pipeline is not old,
                    timeout=10000)
    ask(qtbot, app, "not kept", 2)
    app.close()
    assert [r.question for r in HistoryStore(store_path(data)).turns()] == ["kept"]


def test_privacy_notes_say_where_history_is(qtbot, tmp_path, monkeypatch):
    from ui.window.dialogs.first_run import FirstRunDialog, Hardware
    from ui.privacy import first_run_notice

    monkeypatch.setenv("GLIMPSE_DATA_DIR", str(tmp_path / "mine"))
    where = str(tmp_path / "mine" / "history.sqlite3")
    assert where in first_run_notice(tmp_path / "cfg")
    dialog = FirstRunDialog(cfg.Config(), tmp_path / "config.toml",
                            hardware=Hardware(ram_gb=8.0, vram_gb=None))
    qtbot.addWidget(dialog)
    from PySide6.QtWidgets import QLabel
    assert any(where in label.text() for label in dialog.findChildren(QLabel))
