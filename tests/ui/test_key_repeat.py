"""The talk key's X auto-repeat, off while it is the talk key (ui.window.keys.repeat): on a
private X server (Xvfb), with real key events (xdotool, XTest) and python-xlib reading what the
X server sends. Why it matters, measured with both Orcas: docs/accessibility.md.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.support import ROOT
from tests.support.rig import unavailable
from tests.support.rig.display import DisplayError, VirtualDisplay
from ui.window.keys.repeat import SPACE, KeyRepeat

pytestmark = pytest.mark.system
HOLD_S = 1.5  # longer than the X server's repeat delay (660 ms): a repeating key repeats


@pytest.fixture(scope="module")
def display():
    shown = VirtualDisplay()
    try:
        shown.start()
    except (DisplayError, OSError) as exc:
        unavailable(str(exc))
    yield shown
    shown.stop()


def _presses(display: VirtualDisplay, hold_s: float = HOLD_S) -> int:
    """Space held for `hold_s` in a window of our own: how many presses the X server sent."""
    from Xlib import X
    from Xlib import display as xdisplay

    x = xdisplay.Display(display.display)
    try:
        screen = x.screen()
        window = screen.root.create_window(0, 0, 100, 100, 0, screen.root_depth,
                                           event_mask=X.KeyPressMask | X.KeyReleaseMask)
        window.map()
        x.sync()
        window.set_input_focus(X.RevertToParent, X.CurrentTime)
        x.sync()
        env = display.env()
        subprocess.run(["xdotool", "keydown", "space"], env=env, check=True, timeout=20)
        time.sleep(hold_s)  # how long a person holds the key: the stimulus, not a wait
        subprocess.run(["xdotool", "keyup", "space"], env=env, check=True, timeout=20)
        x.sync()
        code, presses, released = x.keysym_to_keycode(SPACE), 0, False
        deadline = time.monotonic() + 20
        while not released and time.monotonic() < deadline:
            if not x.pending_events():
                time.sleep(0.01)  # polling the X connection for the release, with a deadline
                continue
            event = x.next_event()
            if getattr(event, "detail", None) != code:
                continue
            if event.type == X.KeyPress:
                presses += 1
            elif event.type == X.KeyRelease:
                # A repeat comes as a release and a press at the same time; the last release
                # has no press after it.
                x.sync()
                released = not x.pending_events()
        return presses
    finally:
        x.close()


def test_a_key_held_off_is_pressed_once_however_long_it_is_held(display):
    repeat = KeyRepeat(display.display)
    try:
        assert repeat.repeats(SPACE) is True
        assert _presses(display) > 1  # the rig repeats keys, as every desktop does
        assert repeat.hold_off(SPACE)
        assert repeat.repeats(SPACE) is False
        assert _presses(display) == 1
        repeat.let_go(SPACE)
        assert repeat.repeats(SPACE) is True
    finally:
        repeat.close()


def test_holds_are_counted_and_the_old_state_comes_back(display):
    repeat, other = KeyRepeat(display.display), KeyRepeat(display.display)
    try:
        assert repeat.hold_off(SPACE) and repeat.hold_off(SPACE)  # the window and the global key
        repeat.let_go(SPACE)
        assert repeat.repeats(SPACE) is False  # one still holds it
        repeat.let_go(SPACE)
        assert repeat.repeats(SPACE) is True
        repeat.let_go(SPACE)  # one too many: nothing to undo
        assert repeat.repeats(SPACE) is True
        # Off before we came (the user's own setting): it stays off after us.
        assert other.hold_off(SPACE)
        assert repeat.hold_off(SPACE)
        repeat.let_go(SPACE)
        assert repeat.repeats(SPACE) is False
        other.let_go(SPACE)
        assert repeat.repeats(SPACE) is True
        # Closing gives every key back.
        assert repeat.hold_off(SPACE)
        repeat.close()
        assert other.repeats(SPACE) is True
        assert repeat.hold_off(SPACE) is False  # closed: it changes nothing any more
    finally:
        repeat.close()
        other.close()


def test_without_an_x_display_nothing_changes_and_it_says_why(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    repeat = KeyRepeat()
    assert repeat.hold_off(SPACE) is False
    assert repeat.repeats(SPACE) is None
    assert repeat.problem == "no X display"
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    on_wayland = KeyRepeat()
    assert on_wayland.hold_off(SPACE) is False
    assert "Wayland" in on_wayland.problem


def test_window_and_global_key_switch_the_repeat_in_real_windows(display, tmp_path):
    out = tmp_path / "keys.json"
    env = display.env(PYTHONPATH=str(ROOT))
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run([sys.executable, "-m", "tests.ui.keys_session", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert "timeouts" not in result, result
    assert result["repeats"] == {
        "glimpse active": False, "other active": True, "ctrl+alt held": False,
        "space up, ctrl+alt held": False, "modifiers up": True, "glimpse active at quit": False}
    assert result["space"] == ["press", "release"]  # one question, held 1.5 s
    assert result["commands"] == ["PushToTalkDown", "PushToTalkUp"], result
    # Closed while its window was active: Space repeats again.
    probe = KeyRepeat(display.display)
    assert probe.repeats(SPACE) is True
    probe.close()
