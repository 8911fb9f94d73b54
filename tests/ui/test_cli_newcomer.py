"""The `glimpse` command as a newcomer uses it, in subprocesses with the offline pack: what it
answers is kept in history like the window's turns (same store, same switch, --no-history for
one run); a --config file that does not exist is said plainly; ALSA's own lines stay off the
terminal unless --debug."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

PHOTO = ROOT / "tests" / "data" / "extreme_ironing.jpg"
OFFLINE = ("--offline", "--set", "vlm.backend=describer", "--set", "asr.model=whisper:tiny.en",
           "--set", "tts.engine=none")


def glimpse(data: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "GLIMPSE_CONFIG_DIR": str(data / "config"),
           "GLIMPSE_DATA_DIR": str(data / "data")}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def history(data: Path) -> list[dict]:
    out = glimpse(data, "history", "list", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["turns"]


@pytest.fixture(scope="module")
def used(tmp_path_factory):
    """A newcomer's afternoon: three commands kept, two left out."""
    data = tmp_path_factory.mktemp("cli")
    runs = {
        "describe": glimpse(data, *OFFLINE, "describe", "--image", str(PHOTO)),
        "ask": glimpse(data, *OFFLINE, "ask", "--text", "Where is the taxi?", "--image",
                       str(PHOTO)),
        "find": glimpse(data, *OFFLINE, "find", "person", "--image", str(PHOTO)),
        "not kept (global)": glimpse(data, *OFFLINE, "--no-history", "describe", "--image",
                                     str(PHOTO)),
        "not kept (after the command)": glimpse(data, *OFFLINE, "ask", "--no-history",
                                                "--text", "Is there a person?", "--image",
                                                str(PHOTO)),
    }
    for name, out in runs.items():
        assert out.returncode in (0, 3), (name, out.stderr[-2000:])
    return data, runs


def test_command_line_answers_are_kept_in_history(used):
    data, runs = used
    turns = history(data)
    assert [t["turn_id"] for t in turns] == [1, 2, 3]
    describe, ask, find = turns
    assert describe["mode"] == "describe" and describe["answer"] == \
        runs["describe"].stdout.strip()
    assert ask["question"] == "Where is the taxi?"
    assert ask["answer"] in runs["ask"].stdout
    assert find["question"] == "person" and find["answer"] == runs["find"].stdout.strip()
    assert all(t["has_thumbnail"] for t in turns)  # the picture each answer was about
    assert "kept in history as turn 1" in runs["describe"].stderr


def test_no_history_leaves_one_run_out(used):
    data, runs = used
    questions = [t["question"] for t in history(data)]
    assert "Is there a person?" not in questions and len(questions) == 3
    for name in ("not kept (global)", "not kept (after the command)"):
        assert "kept in history" not in runs[name].stderr, name


def test_history_off_keeps_nothing_on_disk(tmp_path):
    out = glimpse(tmp_path, *OFFLINE, "--set", "history.enabled=false", "describe", "--image",
                  str(PHOTO))
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "data" / "history.sqlite3").exists()


def test_a_missing_config_file_is_said_plainly(tmp_path):
    missing = tmp_path / "missing.toml"
    doctor = glimpse(tmp_path, "--config", str(missing), "doctor")
    assert doctor.returncode == 1
    line = next(x for x in doctor.stdout.splitlines() if " config " in f" {x} ")
    assert line.startswith("FAIL") and f"The config file {missing} does not exist" in line
    assert "valid" not in line
    describe = glimpse(tmp_path, "--config", str(missing), "describe", "--image", str(PHOTO))
    assert describe.returncode == 1 and "Traceback" not in describe.stderr
    assert f"The config file {missing} does not exist" in describe.stderr


#: Opens a PCM that ALSA does not know: ALSA prints "ALSA lib ... Unknown PCM" through its error
#: handler, as it prints an underrun. With `quiet` the glimpse command's handler is installed.
_ALSA = """
import ctypes, sys
if sys.argv[1] == "quiet":
    from ui.cli.quiet import quiet_alsa, alsa_messages
    assert quiet_alsa()
lib = ctypes.CDLL("libasound.so.2")
pcm = ctypes.c_void_p()
print(lib.snd_pcm_open(ctypes.byref(pcm), b"glimpse-no-such-device", 0, 0))
if sys.argv[1] == "quiet":
    import ui.cli.quiet as q
    print("counted", q.alsa_messages)
"""


@pytest.mark.parametrize("mode", ["quiet", "as-is"])
def test_alsa_lines_stay_off_the_terminal(mode):
    out = subprocess.run([sys.executable, "-c", _ALSA, mode], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[0]) < 0  # ALSA refused the device, as expected
    if mode == "quiet":
        assert "ALSA lib" not in out.stderr, out.stderr
        assert int(out.stdout.split()[-1]) >= 1  # counted instead of printed
    else:  # the control: without the handler ALSA prints it (so the test above can fail)
        assert "ALSA lib" in out.stderr
