"""What the accessibility bus carries when Glimpse announces, read by real AT-SPI clients (the
system python's pyatspi, tests/ui/atspi_listen.py) on a private display and buses.

A client that listens only for notifications and name changes (as Orca 43) gets each message
once: its name change, then one notification shown, inside a status bar. Once a client
registers for announcement events (as Orca 48), the window notices through the registry
(ui.window.reader) and sends each message as one announcement and nothing else; when that client
leaves, it goes back. Nothing of Glimpse is faked.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.rig import unavailable
from tests.support.rig.display import DisplayError, VirtualDisplay
from tests.support.sessions import stop_all, wait_file

pytestmark = pytest.mark.system
SYSTEM_PYTHON = "/usr/bin/python3"
LISTEN = str(ROOT / "tests" / "ui" / "atspi_listen.py")
TIMEOUT_S = 60.0
FIRST = ("First message one.", "First message two.", "First message three.")
SECOND = ("Second message one.", "Second message two.", "Second message three.")


def _listener(pid: str, env: dict, *kinds: str) -> subprocess.Popen:
    proc = subprocess.Popen([SYSTEM_PYTHON, LISTEN, pid, "300", *kinds], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline().strip()
    if first != "listening":
        proc.kill()
        pytest.fail(f"the AT-SPI listener did not start: {first} {proc.stderr.read()[-1500:]}")
    return proc


def _events(proc: subprocess.Popen) -> list[dict]:
    proc.terminate()  # it prints each event as it comes: what it saw is in the pipe
    out, _ = proc.communicate(timeout=30)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    if not Path(SYSTEM_PYTHON).exists():
        unavailable("no system python3 with pyatspi (Debian package python3-pyatspi)")
    folder = tmp_path_factory.mktemp("announce")
    display = VirtualDisplay()
    procs: list[subprocess.Popen] = []
    try:
        display.start()
        display.start_accessibility_bus()
    except (DisplayError, OSError, subprocess.SubprocessError) as exc:
        display.stop()
        unavailable(str(exc))
    env = display.env(QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1", QT_ACCESSIBILITY="1",
                      PYTHONPATH=str(ROOT))
    try:
        app = subprocess.Popen([sys.executable, "-m", "tests.ui.announce_session", str(folder)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        procs.append(app)
        assert wait_file(folder / "ready", app, TIMEOUT_S), app.communicate(timeout=10)[0]
        pid = (folder / "ready").read_text().strip()
        older = _listener(pid, env, "object:state-changed:showing",
                          "object:property-change:accessible-name")
        procs.append(older)
        (folder / "go1").write_text(json.dumps(FIRST))
        assert wait_file(folder / "said1", app, TIMEOUT_S)
        newer = _listener(pid, env, "object:announcement")
        procs.append(newer)
        (folder / "go2").write_text(json.dumps(SECOND))
        assert wait_file(folder / "said2", app, TIMEOUT_S)
        heard_by_newer = _events(newer)
        (folder / "go3").write_text("go")
        assert wait_file(folder / "result.json", app, TIMEOUT_S)
        app.wait(30)
        result = json.loads((folder / "result.json").read_text())
        result["older"], result["newer"] = _events(older), heard_by_newer
        result["output"] = app.communicate(timeout=10)[0]
    finally:
        stop_all(procs)
        display.stop()
    return result


def test_the_window_follows_what_the_reader_registered_for(session):
    assert "error" not in session, session
    assert session["channels"] == ["notification"] * 3 + ["announcement"] * 3, session
    assert session["heard_after_go2"] is True
    assert session["heard_after_go3"] is False  # the registry dropped the client that left


def test_an_older_reader_gets_one_named_notification_per_message_in_a_status_bar(session):
    older = [e for e in session["older"] if e["type"] != "error"]
    for text in FIRST:
        named = [i for i, e in enumerate(older) if e["type"].endswith("accessible-name")
                 and e["text"] == text]
        shown = [i for i, e in enumerate(older) if e["type"].endswith("showing")
                 and e["detail1"] == 1 and e["source"] == text]
        assert len(named) == 1 and len(shown) == 1, (text, older)
        assert named[0] < shown[0], "the name must change before it is shown"
        assert older[shown[0]]["role"] == "notification"
        assert older[shown[0]]["parent_role"] == "status bar"
    # Announced to a reader that hears announcements: no notification to say a second time.
    assert not [e for e in older if e.get("source") in SECOND or e.get("text") in SECOND], older


def test_a_newer_reader_gets_each_message_once_as_an_announcement(session):
    announced = [e["text"] for e in session["newer"] if e["type"] == "object:announcement"]
    assert announced == list(SECOND), session["newer"]
