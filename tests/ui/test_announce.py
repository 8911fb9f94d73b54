"""Announcements and the answer voice, on fakes (offscreen Qt). What Orca makes of them is
tests/ui/test_orca.py's business, what the accessibility bus carries test_announce_atspi.py's;
here: who gets which message, on which one channel, and what is never announced."""
from __future__ import annotations

import time

import pytest

import PySide6  # noqa: F401 - required: a broken install fails here, never skips
import pytestqt  # noqa: F401 - required: a broken install fails here, never skips

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QAccessible  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402

from assistant.config import Config  # noqa: E402
from tests.support.fakes import speech  # noqa: E402
from tests.support.window import FakeFactory  # noqa: E402
from ui.window.announce import Announcer, ReadableText, settle_answer_voice  # noqa: E402
from ui.window.app import App  # noqa: E402
from ui.window.reader import listens_for_announcements  # noqa: E402


class Reader:
    """Stands in for ui.window.reader.ReaderWatch: what the running reader listens for."""

    def __init__(self, announcements: bool) -> None:
        self.announcements = announcements


@pytest.fixture
def make_announcer(qtbot):
    windows = []  # kept alive for the test: the announcer's objects are the window's children

    def make(reader=None) -> Announcer:
        window = QWidget()
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return Announcer(window, ReadableText("Last message", "The latest message."), reader)

    return make


@pytest.mark.parametrize("events,heard", (
    ([(":1.5", "Object:Announcement:")], True),  # Orca 48
    ([(":1.5", "Object:Announcement:Polite")], True),
    ([(":1.5", "Object:StateChanged:Showing"), (":1.5", "Window:Activate:")], False),  # Orca 43
    ([(":1.9", "Object:"), (":1.9", "")], False),  # a catch-all inspector, not a reader
    ([], False)))
def test_a_reader_that_registered_for_announcements_is_told_apart(events, heard):
    assert listens_for_announcements(events) is heard


def test_a_reader_that_hears_announcements_gets_no_notification(make_announcer):
    announcer = make_announcer(Reader(True))
    announcer.say("Mode: Read text.")
    announcer.say("EXIT")
    assert announcer.channels == ["announcement", "announcement"]
    assert not any(spot.isVisible() for spot in announcer.spots)  # nothing else to read twice
    assert announcer.field.text() == "EXIT"


@pytest.mark.parametrize("reader", (Reader(False), None), ids=("no-announcements", "unknown"))
def test_other_readers_get_one_notification_inside_a_status_bar(make_announcer, reader):
    """Orca 43 says a notification inside a status bar without the word "notification"."""
    announcer = make_announcer(reader)
    announcer.say("EXIT")
    assert announcer.channels == ["notification"]
    shown = [spot for spot in announcer.spots if spot.isVisible()]
    assert len(shown) == 1
    interface = QAccessible.queryAccessibleInterface(shown[0])
    assert interface.role() == QAccessible.Role.Notification
    assert interface.text(QAccessible.Text.Name) == "EXIT"
    assert interface.parent().role() == QAccessible.Role.StatusBar


def test_the_channel_follows_the_reader_as_it_changes(make_announcer):
    reader = Reader(False)
    announcer = make_announcer(reader)
    announcer.say("one")
    reader.announcements = True  # a newer reader started (the watch follows the registry)
    announcer.say("two")
    reader.announcements = False
    announcer.say("three")
    assert announcer.channels == ["notification", "announcement", "notification"]


@pytest.mark.parametrize("chosen,running,settled", (
    ("auto", True, "screen_reader"), ("auto", False, "glimpse"),
    ("glimpse", True, "glimpse"), ("both", False, "both"),
    ("screen_reader", False, "screen_reader")))
def test_auto_voice_is_settled_by_the_screen_reader(chosen, running, settled):
    config = Config().with_value("ui.answer_voice", chosen)
    assert settle_answer_voice(config, reader_running=running).ui.answer_voice == settled


def test_each_recent_message_keeps_its_own_notification(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    field = ReadableText("Last message", "The latest message.")
    announcer = Announcer(window, field)
    for i in range(Announcer.SPOTS):
        announcer.say(f"message {i}")
    assert field.text() == f"message {Announcer.SPOTS - 1}"
    assert [spot.message for spot in announcer.spots] == [f"message {i}"
                                                          for i in range(Announcer.SPOTS)]
    interface = QAccessible.queryAccessibleInterface(announcer.spots[0])
    assert interface.role() == QAccessible.Role.Notification
    assert interface.text(QAccessible.Text.Name) == "message 0"
    announcer.say("shown only", to_screen_reader=False)
    assert field.text() == "shown only" and announcer.history[-1][1] == "message 3"


def _turn(qtbot, voice: str):
    factory = FakeFactory(tokens=["A cat ", "on a ", "mat."])
    config = Config().with_value("ui.answer_voice", voice).with_value(
        "ui.announce_ready", False)
    app = App(config, pipeline_factory=factory, global_shortcut=False, first_run=False)
    qtbot.addWidget(app.window)
    app.start()
    w = app.window
    qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
    assert app.bridge.pipeline.wait_ready(10)
    factory.parts["mic"].play(speech(1.0))
    t0 = time.monotonic()
    qtbot.mousePress(w.talk, Qt.LeftButton)
    qtbot.waitUntil(lambda: time.monotonic() - t0 > 0.5, timeout=5000)
    qtbot.mouseRelease(w.talk, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(w.conversation.turns) and w.conversation.turns[-1].finished,
                    timeout=10000)
    qtbot.waitUntil(lambda: w.live.text() == "A cat on a mat.", timeout=5000)
    return app, factory


def test_screen_reader_voice_announces_answers_and_keeps_glimpse_quiet(qtbot):
    app, factory = _turn(qtbot, "screen_reader")
    try:
        announced = [text for _, text in app.window.announcer.history]
        assert announced == ["A cat on a mat."]  # no partial transcript, no token
        assert factory.parts["tts"].texts == []
    finally:
        app.close()


def test_glimpse_voice_speaks_answers_and_the_screen_reader_does_not_repeat_them(qtbot):
    app, factory = _turn(qtbot, "glimpse")
    try:
        assert [text for _, text in app.window.announcer.history] == []
        qtbot.waitUntil(lambda: "".join(factory.parts["tts"].texts).strip() != "", timeout=5000)
        assert "cat" in "".join(factory.parts["tts"].texts)
        app.window.set_mode("read")  # mode changes reach the screen reader whatever the voice
        assert app.window.announcer.history[-1][1] == "Mode: Read text."
    finally:
        app.close()
