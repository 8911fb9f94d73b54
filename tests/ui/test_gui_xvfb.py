"""A real Glimpse window on Xvfb (xcb platform), in a subprocess of its own so it never meets
the offscreen QApplication of the other tests.

One session (tests/ui/xvfb_session.py) drives a push-to-talk turn on fakes with a slow answer
engine, measures the longest event-loop stall, and saves screenshots under
artifacts/screenshots/. While it holds, the accessibility tree is read through AT-SPI by the
system python (tests/ui/atspi_dump.py).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.rig import unavailable
from tests.support.rig.display import ARTIFACTS, DisplayError, VirtualDisplay
from tests.support.sessions import wait_file
from tests.support import ROOT

pytestmark = pytest.mark.system
SYSTEM_PYTHON = "/usr/bin/python3"
FOCUS_ORDER = ["pushToTalk", "stop", "mode", "describeNow", "question", "ask", "copy", "export",
               "conversation", "lastMessage", "frameAge", "micLevel", "status", "timeline"]
INTERACTIVE = {"push button", "combo box", "text", "check box", "radio button", "menu item",
               "page tab", "spin button", "slider", "table", "list"}


def _listen(pid: str, announce: Path, env: dict) -> list:
    """Events the AT-SPI listener saw while the window announced its last answer again."""
    listener = subprocess.Popen([SYSTEM_PYTHON, str(ROOT / "tests/ui/atspi_listen.py"), pid,
                                 "4"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    first = listener.stdout.readline().strip()
    if first != "listening":
        listener.kill()
        return [{"type": "error", "text": first + listener.stderr.read()[-1000:]}]
    announce.write_text("go")
    out, _ = listener.communicate(timeout=30)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xvfb")
    display = VirtualDisplay()
    try:
        display.start()
    except (DisplayError, OSError) as exc:
        unavailable(str(exc))
    bus_error = ""
    try:
        display.start_accessibility_bus()
    except (DisplayError, OSError, subprocess.SubprocessError) as exc:
        bus_error = str(exc)
    ready, hold, out = tmp / "ready", tmp / "hold", tmp / "session.json"
    announce = tmp / "announce"
    env = display.env(QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1", QT_ACCESSIBILITY="1",
                      PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tests.ui.xvfb_session", str(out),
                              "--ready", str(ready), "--hold", str(hold), "--announce",
                             str(announce)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tree: dict = {"error": bus_error} if bus_error else {}
    try:
        if not wait_file(ready, proc, 90):
            proc.kill()
            output = proc.communicate(timeout=10)[0]
            pytest.fail(f"the window session did not get ready:\n{output[-3000:]}")
        if not bus_error:
            if not Path(SYSTEM_PYTHON).exists():
                tree = {"error": "no system python3 for pyatspi"}
            else:
                dump = subprocess.run([SYSTEM_PYTHON, str(ROOT / "tests/ui/atspi_dump.py"),
                                       ready.read_text().strip()], env=env, capture_output=True,
                                      text=True, timeout=60)
                try:
                    tree = json.loads(dump.stdout)
                except json.JSONDecodeError:
                    tree = {"error": f"AT-SPI reader failed: {dump.stderr[-1500:]}"}
                tree["announcements"] = _listen(ready.read_text().strip(), announce, env)
        announce.write_text("go")  # never leave the session waiting
        hold.write_text("done")
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
        display.stop()
    assert proc.returncode == 0, output[-3000:]
    result = json.loads(out.read_text())
    result["output"] = output
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "session.json").write_text(json.dumps(result, indent=2))
    (ARTIFACTS / "atspi-tree.json").write_text(json.dumps(tree, indent=1))
    return result, tree


def test_real_window_turn_and_screenshots(session):
    result, _ = session
    assert result["platform"] == "xcb"
    assert result["answer"].strip().endswith("word29")
    assert result["partial_seen"], "no partial transcript while the key was held"
    assert "first word" in result["timeline"]
    from PIL import Image, ImageStat

    names = {Path(p).stem for p in result["screenshots"]}
    assert names >= {"main-window", "finished-turn", "settings-dialog", "help-dialog"}
    for path in result["screenshots"]:
        image = Image.open(path).convert("L")
        assert image.width >= 600 and image.height >= 400, path
        assert ImageStat.Stat(image).stddev[0] > 10, f"{path} looks blank"


def test_quit_is_quick_and_clean(session):
    """Closing the window stops every stage together (not one after another) and X has
    nothing to complain about (no BadWindow from a listener outliving its window)."""
    result, _ = session
    # A bound a user notices, not a race: closing measured 5 ms on the 2-core CI machine (the
    # pipeline's stop runs on a worker), and a second is when a window seems stuck on quit.
    assert result["quit_s"] < 1.0, f"quitting took {result['quit_s']:.2f} s"
    for bad in ("X Error", "BadWindow", "BadDrawable"):
        assert bad not in result["output"], result["output"][-2000:]


def test_event_loop_stall_during_a_slow_turn(session):
    result, _ = session
    # A bound a user notices, not a race: the goal is 30 ms, the 2-core CI machine measured
    # 32 ms at most (p99 7 ms) while a slow answer streamed, and at 250 ms a window visibly
    # freezes (an engine call on the GUI thread takes seconds). The figures are in
    # artifacts/screenshots/session.json.
    assert result["stall_ticks"] > 50
    assert result["stall_max_ms"] < 250, result["stall_max_ms"]


def test_focus_order_matches_the_design(session):
    result, _ = session
    assert result["focus_order"] == FOCUS_ORDER


def test_space_held_with_real_key_events(session):
    result, _ = session
    turn = result["space_turn"]
    # X auto-repeats a held key: still exactly one turn, answered, not cancelled.
    assert turn["new_turns"] == 1 and not turn["cancelled"]
    assert turn["question"] == "what do you see" and turn["answer"].strip().endswith("word29")


def test_global_shortcut_runs_a_turn(session):
    result, _ = session
    note = result["global_shortcut"]
    if "unavailable" in note:
        unavailable(note)
    assert note.startswith("Global push-to-talk: Ctrl+Alt+Space")
    turn = result["global_turn"]
    assert turn["new_turns"] == 1 and not turn["cancelled"]
    assert turn["answer"].strip().endswith("word29")


def _walk(node, path=()):
    yield node, path
    for child in node.get("children", []):
        yield from _walk(child, path + (node.get("role"),))


def test_accessibility_tree_through_atspi(session):
    _, tree = session
    if "error" in tree:
        unavailable(f"AT-SPI: {tree['error']}")
    nodes = [n for n, _ in _walk(tree)]
    interactive = [n for n in nodes if n["role"] in INTERACTIVE and "showing" in n["states"]]
    assert len(interactive) >= 8
    unnamed = [n["role"] for n in interactive if not n["name"].strip()]
    assert not unnamed, f"interactive widgets without a name: {unnamed}"
    by_name = {(n["role"], n["name"]) for n in nodes}
    for expected in [("push button", "Talk"), ("push button", "Stop"), ("label", "Mode:"),
                     ("text", "Question box"), ("push button", "Describe now"),
                     ("progress bar", "Microphone level"), ("image", "Live camera")]:
        assert expected in by_name, f"{expected} missing from the AT-SPI tree"
    # Qt names a non-editable combo box by its current item; the description says what it is.
    mode = next(n for n in nodes if n["role"] == "combo box")
    assert mode["name"] == "Ask about the view"
    assert mode["description"].startswith("What a question does")
    # Values are read-only text fields (Orca reads a focused field's text, not a label's).
    for value in ("Last message", "Status", "Frame age", "Microphone", "Timing",
                  "Conversation"):
        assert ("text", value) in by_name, f"{value} is not a text field in the AT-SPI tree"
    talk = next(n for n in nodes if n["name"] == "Talk" and n["role"] == "push button")
    assert talk["description"].startswith("Hold to speak")
    assert "focused" in talk["states"], "the Talk button should have focus at start"


def test_answers_are_announced_to_screen_readers(session):
    result, tree = session
    if "error" in tree:
        unavailable(f"AT-SPI: {tree['error']}")
    events = tree.get("announcements", [])
    answer = result["global_turn"]["answer"].strip()
    announced = [e for e in events if e["type"].startswith("object:announcement")]
    assert any(answer in e["text"] for e in announced), events
