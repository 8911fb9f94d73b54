"""The window on fakes (offscreen Qt): a push-to-talk turn, Stop, errors, export."""
from __future__ import annotations

import json
import time

# Required dependencies: a broken install fails here instead of turning into skips.
import PySide6  # noqa: F401
import pytest
import pytestqt  # noqa: F401
import shiboken6  # noqa: E402
from PySide6.QtCore import QEvent, Qt  # noqa: E402
from PySide6.QtGui import QKeyEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from assistant.config import Config  # noqa: E402
from assistant.errors import ModelError  # noqa: E402
from tests.support.fakes import speech  # noqa: E402
from tests.support.window import FakeFactory  # noqa: E402
from ui.window.app import App  # noqa: E402


@pytest.fixture
def make_app(qtbot):
    apps = []

    def make(factory, config=None, first_run=False, **kw):
        app = App(config or Config(), pipeline_factory=factory, global_shortcut=False,
                  first_run=first_run, **kw)
        apps.append(app)
        qtbot.addWidget(app.window)
        app.start()
        return app

    yield make
    for app in apps:
        app.close()


def wait_running(qtbot, app):
    qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
    assert app.bridge.pipeline.wait_ready(10)


def held_long_enough(t0: float) -> bool:
    """A person holds the key for a while; taps under audio.min_press_ms (200 ms) are dropped."""
    return time.monotonic() - t0 > 0.5


def key(window, kind, autorepeat=False):
    event = QKeyEvent(kind, Qt.Key_Space, Qt.NoModifier, " ", autorepeat)
    QApplication.sendEvent(window.talk, event)


def test_push_to_talk_turn_with_button(qtbot, make_app):
    factory = FakeFactory()
    app = make_app(factory)
    w = app.window
    wait_running(qtbot, app)
    status_height = w.status_text.height()
    factory.parts["mic"].play(speech(1.0))
    # The meter's words for every level the window is given (the widget shows only the newest).
    heard: list[str] = []
    w.meter_text.textChanged.connect(lambda: heard.append(w.meter_text.text()))
    t0 = time.monotonic()
    qtbot.mousePress(w.talk, Qt.LeftButton)
    assert w.talking
    # Partial transcripts show while the key is held.
    qtbot.waitUntil(lambda: bool(w.conversation.turns) and w.conversation.turns[-1].partial
                    and bool(w.conversation.turns[-1].question), timeout=10000)
    assert "still listening" in (w.view.render_now() or w.view.toPlainText())
    qtbot.waitUntil(lambda: any("Mic: " in t and "silent" not in t for t in heard)
                    and held_long_enough(t0), timeout=5000)
    qtbot.mouseRelease(w.talk, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.conversation.turns[-1].finished, timeout=10000)
    turn = w.conversation.turns[-1]
    assert turn.question == "what do you see"
    assert turn.answer == "I see a cat on a mat. It is asleep."
    assert turn.thumbnail is not None and turn.thumbnail.width() == 160
    assert not turn.cancelled
    assert "from release" in w.timeline.text() and "first word" in w.timeline.text()
    qtbot.waitUntil(lambda: w.live.text() == turn.answer or "ready" in w.live.text().lower(),
                    timeout=2000)
    assert w.preview.picture is not None and not w.preview.picture.isNull()
    assert "%" in w.meter_text.text()
    assert not w.meter.isTextVisible()  # the level is read once, in words beside the bar
    assert w.status_text.text() == "Ready" and w.status_text.height() == status_height
    assert "Speech recognition: ready" in w.status_text.toolTip()
    w.view.render_now()
    assert "It is asleep." in w.view.toPlainText()


def test_a_too_short_tap_leaves_no_turn_behind(qtbot, make_app, tmp_path):
    """Released before audio.min_press_ms: the notice is shown and announced, and nothing of
    the tap stays in the conversation, its export or history; the next turn is turn 1."""
    factory = FakeFactory()
    app = make_app(factory, history_dir=tmp_path / "data")
    w = app.window
    wait_running(qtbot, app)
    w.press()
    w.release()
    # The notice comes first, then the end of the tap's turn.
    qtbot.waitUntil(lambda: "Too short" in w.live.text() and w.conversation.current() is None,
                    timeout=10000)
    assert any("Too short" in text for _, text in w.announcer.history)
    assert w.conversation.turns == [] and not w.talking
    w.view.render_now()
    assert "Turn" not in w.view.toPlainText()
    exported = json.loads(w.export_conversation(str(tmp_path / "c.json")).read_text())
    assert exported["turns"] == []
    assert app.bridge.recorder.wait_idle(5) and app.bridge.history.turns() == []
    w.question.setText("what is this")
    w.ask_typed()
    qtbot.waitUntil(lambda: bool(w.conversation.turns) and w.conversation.turns[-1].finished,
                    timeout=10000)
    assert [t.id for t in w.conversation.turns] == [1]
    assert app.bridge.recorder.wait_idle(5)
    assert [r.turn_id for r in app.bridge.history.turns()] == [1]


def test_space_held_is_push_to_talk_and_autorepeat_ignored(qtbot, make_app):
    factory = FakeFactory()
    app = make_app(factory)
    w = app.window
    wait_running(qtbot, app)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    w.talk.setFocus()
    factory.parts["mic"].play(speech(1.0))
    t0 = time.monotonic()
    key(w, QEvent.KeyPress)
    assert w.talking
    started = len(w.conversation.turns)
    for _ in range(5):  # a held key repeats: no new turns, no release
        key(w, QEvent.KeyRelease, autorepeat=True)
        key(w, QEvent.KeyPress, autorepeat=True)
    for _ in range(5):  # plain X11 repeats without the flag: release+press pairs
        key(w, QEvent.KeyRelease)
        # The release is held back by the debounce (its timer only fires from the event loop,
        # which does not run between these two calls), and the press that follows cancels it.
        assert w.talking and w.space.release_pending
        key(w, QEvent.KeyPress)
        assert w.talking and not w.space.release_pending
    assert w.talking
    qtbot.waitUntil(lambda: bool(w.conversation.turns) and bool(w.conversation.turns[-1].question)
                    and held_long_enough(t0), timeout=10000)
    key(w, QEvent.KeyRelease)
    qtbot.waitUntil(lambda: not w.talking, timeout=1000)  # after the 15 ms debounce
    qtbot.waitUntil(lambda: w.conversation.turns[-1].finished, timeout=10000)
    assert len(w.conversation.turns) == max(started, 1)
    assert w.conversation.turns[-1].answer.endswith("asleep.")


def test_stop_cancels_the_answer_and_keeps_finished_turns(qtbot, make_app, tmp_path):
    factory = FakeFactory(tokens=[f"word{i} " for i in range(300)], token_s=0.02)
    app = make_app(factory)
    w = app.window
    wait_running(qtbot, app)
    w.question.setText("what is this")
    w.ask_typed()
    qtbot.waitUntil(lambda: bool(w.conversation.turns) and "word3" in w.conversation.turns[-1].answer,
                    timeout=10000)
    w.stop()
    qtbot.waitUntil(lambda: w.conversation.turns[-1].finished, timeout=5000)
    first = w.conversation.turns[-1]
    assert first.cancelled
    assert factory.parts["vlm"].stopped.wait(5)
    # A failing next turn (the VLM raises) keeps the stopped turn and shows the error.
    factory.parts["vlm"].fail_times = 1
    w.question.setText("and now?")
    w.ask_typed()
    qtbot.waitUntil(lambda: len(w.conversation.turns) == 2 and w.conversation.turns[-1].finished,
                    timeout=10000)
    assert w.conversation.turns[0] is first and first.answer.startswith("word0")
    assert any("scripted VLM failure" in e for e in w.conversation.turns[-1].errors)
    assert "Problem with the answers" in w.live.text()
    # Export both ways.
    out = w.export_conversation(str(tmp_path / "c.json"))
    data = json.loads(out.read_text())
    assert [t["turn"] for t in data["turns"]] == [1, 2] and data["turns"][0]["cancelled"]
    md = w.export_conversation(str(tmp_path / "c.md")).read_text()
    assert "**You:** what is this" in md and "c_frames/turn-1.png" in md
    assert (tmp_path / "c_frames" / "turn-1.png").stat().st_size > 0


def test_mode_switch_and_describe(qtbot, make_app):
    factory = FakeFactory()
    app = make_app(factory)
    w = app.window
    wait_running(qtbot, app)
    w.set_mode("describe")
    assert w.mode.currentData() == "describe"
    qtbot.waitUntil(lambda: app.bridge.pipeline.mode.value == "describe", timeout=3000)
    w.describe_now()
    qtbot.waitUntil(lambda: bool(w.conversation.turns) and w.conversation.turns[-1].finished,
                    timeout=10000)
    assert w.conversation.turns[-1].mode == "describe"
    assert factory.parts["vlm"].requests[-1].frame is not None


def test_missing_engine_shows_error_and_retry_recovers(qtbot, make_app):
    factory = FakeFactory(fail=ModelError("The Whisper model whisper:base.en is not installed",
                                          "Open Models and download it.", needs_action=True))
    app = make_app(factory)
    w = app.window
    qtbot.waitUntil(lambda: app.bridge.state == "failed", timeout=10000)
    assert "not installed" in w.status_text.text()
    assert w.problems.visible() and "Open Models" in w.problems.box.text()
    # Pressing Talk says why nothing happens, instead of doing nothing.
    w.press()
    assert not w.talking and "not ready" in w.live.text()
    w.problems.box.done(0)
    factory.fail = None
    app.bridge.retry()
    wait_running(qtbot, app)
    assert app.bridge.state == "running"


def test_error_and_first_run_guide_never_stack(qtbot, make_app, tmp_path):
    from ui.window.dialogs.first_run import FirstRunDialog

    factory = FakeFactory(fail=ModelError("No microphone", "Plug one in.", needs_action=True))
    app = make_app(factory, first_run=True, config_path=tmp_path / "config.toml")
    w = app.window

    def visible():
        guide = app.dialog if isinstance(app.dialog, FirstRunDialog) else None
        return [d for d in (w.problems.box, guide)
                if d is not None and shiboken6.isValid(d) and d.isVisible()]

    qtbot.waitUntil(lambda: app.bridge.state == "failed" and len(visible()) == 1, timeout=30000)
    seen = []
    for _ in range(2):  # whichever came first is closed; then the other one shows
        qtbot.waitUntil(lambda: len(visible()) == 1, timeout=30000)
        dialog = visible()[0]
        seen.append(type(dialog).__name__)
        if isinstance(dialog, FirstRunDialog):
            dialog.finish(False)  # "Keep my settings": saves, closes, rebuilds (fails again)
        else:
            dialog.done(0)
        # Closed, or already deleted once closed.
        qtbot.waitUntil(lambda d=dialog: not shiboken6.isValid(d) or not d.isVisible(),
                        timeout=5000)
    assert sorted(seen) == ["FirstRunDialog", "QMessageBox"]
    assert "Plug one in." in w.problems.box.text()


def test_saved_settings_rebuild_the_pipeline_and_toggle_mode_works(qtbot, make_app, tmp_path):
    factory = FakeFactory()
    app = make_app(factory, config_path=tmp_path / "config.toml")
    w = app.window
    wait_running(qtbot, app)
    old = app.bridge.pipeline
    dialog = app.open_settings()
    dialog.set_raw("turns.mode", "toggle")
    dialog.set_raw("ui.font_scale", "1.5")
    assert dialog.save()
    qtbot.waitUntil(lambda: app.bridge.state == "running" and app.bridge.pipeline is not old,
                    timeout=10000)
    assert factory.configs[-1].turns.mode == "toggle"
    assert w.talk.text().startswith("Talk (press to start)")
    factory.parts["mic"].play(speech(1.0))
    t0 = time.monotonic()
    w.press()
    w.release()  # toggle: letting go does not end the question
    assert w.talking and "press again" in w.talk.text()
    qtbot.waitUntil(lambda: bool(w.conversation.turns) and bool(w.conversation.turns[-1].question)
                    and held_long_enough(t0), timeout=10000)
    w.press()  # the second press ends it
    assert not w.talking
    qtbot.waitUntil(lambda: w.conversation.turns[-1].finished, timeout=10000)
    assert w.conversation.turns[-1].answer.endswith("asleep.")


def test_runs_without_a_missing_microphone(qtbot, make_app):
    """A part that cannot be built is left out and named, as a state of the window (the device
    bar, the status line), not a dialog; the rest works (typed questions), and the Talk key says
    to type instead of starting a turn that could only fail."""
    from assistant.errors import DeviceError
    from tests.support.fakes import FakeCamera, RecordingSpeaker, ScriptedAsr, ScriptedTts, ScriptedVlm
    from tests.support.window import street_images
    from ui.bootstrap import Parts, bootstrap
    from ui.window.bridge import default_factory

    vlm = ScriptedVlm()
    attempts = []

    def no_mic_bootstrap(config, parts=Parts()):
        attempts.append(parts)
        if parts.audio_in:
            raise DeviceError("No microphone found", "Plug one in, or choose another in Settings",
                              needs_action=True)
        return bootstrap(config, parts=parts, camera=FakeCamera(street_images()),
                         asr=ScriptedAsr(), vlm=vlm, tts=ScriptedTts(),
                         speaker=RecordingSpeaker())

    app = make_app(lambda config: default_factory(config, no_mic_bootstrap))
    w = app.window
    qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
    assert attempts[0] == Parts() and not attempts[-1].audio_in and attempts[-1].camera
    qtbot.waitUntil(lambda: w.device_bar.isVisible(), timeout=5000)
    assert w.device_bar.shown == ["microphone"] and "No microphone" in w.device_bar.text.text()
    assert w.device_bar.withouts["microphone"].isVisible()
    assert "no microphone: type your questions" in w.status_text.text().lower()
    assert not w.problems.visible() and w.problems.opened == 0
    w.press()
    assert not w.talking and w.conversation.turns == []
    assert "type your question" in w.live.text() and w.question.hasFocus()
    assert w.talk.text().startswith("No microphone")
    w.question.setText("what is this")
    w.ask_typed()
    qtbot.waitUntil(lambda: bool(w.conversation.turns) and w.conversation.turns[-1].finished,
                    timeout=10000)
    assert w.conversation.turns[-1].answer.endswith("asleep.")
    assert vlm.requests[-1].frame is not None


@pytest.mark.parametrize("announce", [True, False])
def test_ready_is_spoken_with_glimpses_own_voice(qtbot, make_app, announce):
    factory = FakeFactory()
    config = Config().with_value("ui.announce_ready", announce)
    app = make_app(factory, config=config)
    wait_running(qtbot, app)
    speaker, tts = factory.parts["speaker"], factory.parts["tts"]
    if announce:
        qtbot.waitUntil(lambda: bool(speaker.played), timeout=10000)
        assert tts.texts == ["Ready."] and "ready" in app.window.live.text().lower()
    else:
        # A typed question after ready: its answer is spoken after anything queued before it,
        # so once the answer has played, a "Ready." would have been spoken already.
        app.window.question.setText("what is this")
        app.window.ask_typed()
        qtbot.waitUntil(lambda: bool(app.window.conversation.turns)
                        and app.window.conversation.turns[-1].finished and bool(speaker.played),
                        timeout=10000)
        assert "Ready." not in tts.texts and tts.texts, tts.texts


def test_a_window_emitting_signals_for_hours_does_not_abort():
    """The bridge emits dozens of signals a second; a PySide6 whose emit() drops a reference
    to True (6.12.0) aborts Python 3.11 within minutes. The installed one must not, and the
    window refuses a broken one with a clear message."""
    import subprocess
    import sys
    from pathlib import Path

    from ui.window.app import qt_binding_problem

    code = ("from PySide6.QtCore import QObject, Signal\n"
            "class O(QObject):\n"
            "    s = Signal(int)\n"
            "o = O()\n"
            "o.s.connect(lambda v: None)\n"
            "for i in range(200000):\n"
            "    o.s.emit(i)\n"
            "print('alive')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "alive", out.stderr[-2000:]
    assert qt_binding_problem() == ""
    assert "abort" in qt_binding_problem("6.12.0", (3, 11))
    assert qt_binding_problem("6.12.0", (3, 12)) == ""  # True is immortal there


def test_the_level_changes_at_most_once_a_second(qtbot):
    """Each change of the bar and its words is four accessibility events: at the bridge's rate
    they flooded Orca's queue and held back the answer's announcement. When the interval ends
    the loudest level of it shows, so a short word is not missed."""
    from ui.window.bridge import Bridge
    from ui.window.main_window import METER_INTERVAL_MS, MainWindow

    w = MainWindow(Bridge(Config(), pipeline_factory=lambda c: None))
    qtbot.addWidget(w)
    changes: list[str] = []
    w.meter_text.textChanged.connect(lambda: changes.append(w.meter_text.text()))
    t0 = time.monotonic()
    for i in range(20):  # a second of speech at the bridge's tick, louder and louder
        w.bridge.level.emit(0.01 * (i + 1), 0.2)
    w.bridge.level.emit(0.0, 0.0)  # then silence
    assert changes == ["Mic: 15% (quiet)"] and w.meter.value() == 15
    qtbot.waitUntil(lambda: len(changes) == 2, timeout=5000)
    assert time.monotonic() - t0 >= METER_INTERVAL_MS / 1000 * 0.9
    assert changes[-1] == "Mic: 67% (good)" and w.meter.value() == 67  # the loudest, once
    w.bridge.level.emit(0.2, 0.2)  # the same words again: no event for the field
    qtbot.waitUntil(lambda: not w._level_timer.isActive(), timeout=5000)
    assert len(changes) == 2
    w.bridge.level.emit(0.0, 0.0)  # after a quiet interval, a change shows at once
    assert changes[-1] == "Mic: 0% (silent)"
