"""Wayland's GlobalShortcuts portal, against a stand-in portal on a private session bus."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import jeepney  # noqa: F401 - a dependency on Linux: a broken install fails, not skips

from assistant import events as ev  # noqa: E402
from tests.support.rig import unavailable  # noqa: E402
from tests.support.rig.display import DisplayError, start_session_bus  # noqa: E402
from ui.window.keys.portal import PortalShortcut, portal_trigger  # noqa: E402
from tests.support import ROOT


@pytest.fixture
def portal_bus(monkeypatch, request):
    press_after, hold = getattr(request, "param", (0.2, 0.4))
    try:
        bus, address = start_session_bus()
    except (DisplayError, OSError) as exc:
        unavailable(str(exc))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    portal = subprocess.Popen([sys.executable, "-m", "tests.support.rig.fake_portal", str(press_after),
                               str(hold)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    try:
        assert portal.stdout.readline().strip() == "ready"
        yield portal
    finally:
        portal.terminate()
        portal.wait(5)
        bus.terminate()
        bus.wait(5)


def test_trigger_is_written_the_portal_way():
    assert portal_trigger("<ctrl>+<alt>+space") == "CTRL+ALT+space"


@pytest.mark.parametrize("toggle", [False, True])
def test_portal_shortcut_press_and_release(portal_bus, toggle):
    got: list[ev.Command] = []
    notes: list[str] = []
    done = threading.Event()

    def submit(command):
        got.append(command)
        if len(got) >= 1 and (toggle or isinstance(command, ev.PushToTalkUp)):
            done.set()

    shortcut = PortalShortcut("<ctrl>+<alt>+space", submit, toggle=toggle, on_note=notes.append,
                              timeout=10)
    assert "asking the desktop to bind Ctrl+Alt+Space" in shortcut.start()
    try:
        assert shortcut.bound.wait(10), notes
        assert done.wait(10), (got, notes)
    finally:
        shortcut.stop()
    assert notes[0] == "Global push-to-talk: Ctrl+Alt+Space (desktop shortcut portal)."
    if toggle:  # press starts; the release of the keys does nothing
        assert [type(c) for c in got] == [ev.PushToTalkDown]
    else:
        assert [type(c) for c in got] == [ev.PushToTalkDown, ev.PushToTalkUp]


def test_no_portal_gives_a_clear_note(monkeypatch):
    try:
        bus, address = start_session_bus()
    except (DisplayError, OSError) as exc:
        unavailable(str(exc))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    notes: list[str] = []
    shortcut = PortalShortcut("<ctrl>+<alt>+space", lambda c: None, on_note=notes.append,
                              timeout=5)
    try:
        shortcut.start()
        shortcut._thread.join(15)
    finally:
        shortcut.stop()
        bus.terminate()
        bus.wait(5)
    assert notes and notes[0].startswith("Global push-to-talk is unavailable (")
    assert "Hold Space" in notes[0]


@pytest.mark.parametrize("portal_bus", [(3.0, 0.8)], indirect=True)  # pressed once running
def test_window_turn_from_the_portal_shortcut(qtbot, portal_bus, monkeypatch):
    """On Wayland the App binds through the portal; a press there runs a whole turn."""
    from assistant.config import Config
    from tests.support.fakes import speech
    from tests.support.window import FakeFactory
    from ui.window.app import App

    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-glimpse-test")
    factory = FakeFactory()
    app = App(Config(), pipeline_factory=factory, global_shortcut=True, first_run=False)
    qtbot.addWidget(app.window)
    try:
        app.start()
        qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
        factory.parts["mic"].play(speech(8.0))  # still speaking when the portal presses
        qtbot.waitUntil(lambda: "desktop shortcut portal" in app.global_note, timeout=10000)
        assert "Global key: Global push-to-talk: Ctrl+Alt+Space" in \
            app.window.status_text.toolTip()
        # The stand-in portal presses for 0.8 s: a turn starts and is answered.
        qtbot.waitUntil(lambda: bool(app.window.conversation.turns)
                        and app.window.conversation.turns[-1].finished, timeout=15000)
        turn = app.window.conversation.turns[-1]
    finally:
        app.close()
    assert portal_bus.stdout.readline().strip() == "pressed"
    assert turn.question == "what do you see" and turn.answer.endswith("asleep.")
