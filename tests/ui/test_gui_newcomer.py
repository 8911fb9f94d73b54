"""The window as a newcomer meets it, on a real X server (Xvfb) with the real pipeline: a fresh
offline config, a picture folder as the camera, and either the virtual PulseAudio microphone and
speaker or no audio server at all (tests/ui/devices_session.py, one process per run).

What is checked, each against what the user sees and hears:
- a device that does not work is one state of the window (the device bar, the status line on
  one line, one announcement), never a dialog, never an "Error" in a turn, however many answers,
  Settings saves and Try agains follow; Continue without sound / without a microphone are
  choices that stop it; Talk with no microphone starts no turn;
- "Glimpse is ready" is announced once, when every stage has finished its setup and the status
  line says Ready;
- a typed question gives the focus back to the Talk button;
- quitting `glimpse gui` (Ctrl+Q, or the window manager's close button) ends the process within
  half a second, with exit status 0.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.rig import unavailable
from tests.support.rig.display import ARTIFACTS, DisplayError, VirtualDisplay

pytestmark = pytest.mark.system
#: "Ready" after answers from the offline describer (the scenarios run without a model).
OFFLINE_READY = "Ready (last answer from the offline path)"
DATA = ROOT / "tests" / "data"
SETTINGS = (("models.offline", True), ("asr.model", "whisper:tiny.en"),
            ("vlm.backend", "describer"), ("tts.voice", "piper:en_US-joe-medium"),
            ("earcons.enabled", False), ("ui.show_first_run", False),
            # Glimpse's own voice, whatever the desktop says about a screen reader.
            ("ui.answer_voice", "glimpse"))
#: the user-facing bound of the issue: from Ctrl+Q (or the close button) to the process gone.
#: Measured 0.9-1.3 s before the window ended the process itself; 0.05-0.2 s after, on a shared
#: 2-core machine (see docs/gui.md).
QUIT_S = 0.5
NO_AUDIO = {"PULSE_SERVER": "unix:/nonexistent/glimpse-no-audio-server"}


def write_config(folder: Path, pictures: Path) -> Path:
    from assistant import config as config_mod

    config = config_mod.Config()
    for key, value in SETTINGS + (("camera.source", str(pictures)),):
        config = config.with_value(key, value)
    folder.mkdir(parents=True, exist_ok=True)
    return config_mod.save(config, folder / "config.toml")


def newcomer(tmp: Path) -> dict:
    """A fresh config and data folder, and a picture folder with the street photo."""
    pictures = tmp / "pictures"
    pictures.mkdir(parents=True)
    (pictures / "street.jpg").write_bytes((DATA / "extreme_ironing.jpg").read_bytes())
    write_config(tmp / "config", pictures)
    return {"GLIMPSE_CONFIG_DIR": str(tmp / "config"), "GLIMPSE_DATA_DIR": str(tmp / "data"),
            "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def display():
    from tests.support import whisper as sw

    sw.tiny_en_ct2()  # skips with a reason when the Whisper weight package is missing
    shown = VirtualDisplay()
    try:
        shown.start()
    except (DisplayError, OSError) as exc:
        unavailable(str(exc))
    yield shown
    shown.stop()


def run_devices(display: VirtualDisplay, tmp: Path, label: str, audio_env: dict) -> dict:
    env = display.env(**newcomer(tmp), **audio_env)
    out = tmp / "session.json"
    proc = subprocess.run([sys.executable, "-m", "tests.ui.devices_session", str(out),
                           "--shots", str(ARTIFACTS), "--label", label], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    result["output"] = proc.stdout + proc.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{label}-session.json").write_text(json.dumps(result, indent=2))
    assert proc.returncode == 0 and "error" not in result, result.get("error", "") + \
        proc.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def no_audio(display, tmp_path_factory):
    return run_devices(display, tmp_path_factory.mktemp("no-audio"), "no-audio", NO_AUDIO)


@pytest.fixture(scope="module")
def with_audio(display, virtual_audio, tmp_path_factory):
    return run_devices(display, tmp_path_factory.mktemp("audio"), "audio", virtual_audio.env)


def said(result: dict, words: str) -> list[str]:
    return [a for a in result["final"]["announcements"] if words in a]


def test_missing_devices_are_a_state_said_once(no_audio):
    before = no_audio["before_choices"]
    # After two answers, a Talk press, a Settings save and a Try again: no dialog but Settings.
    assert [d["class"] for d in no_audio["final"]["dialogs"]] == ["SettingsDialog"]
    assert no_audio["final"]["problem_dialogs"] == 0
    assert before["device_bar"] == ["speaker", "microphone"]
    assert len(said(no_audio, "No speaker or headphones are working")) == 1
    assert len(said(no_audio, "No microphone is working")) == 1
    for turn in no_audio["final"]["turns"]:
        assert turn["errors"] == [] and turn["answer"], turn
    assert "Error" not in no_audio["final"]["conversation"]
    # Try again says what came of it.
    assert said(no_audio, "Still not working: the speaker, the microphone.")
    # Nothing internal reaches the user: no stage names, library codes, commands, config keys
    # or model references, in what is announced, shown or in the status line's tooltip.
    from ui.labels import RAW_TEXT

    everything = " ".join(no_audio["final"]["announcements"]) + before["status"] + \
        before["device_bar_text"] + no_audio["final"]["conversation"] + \
        before["status_details"]
    for word in ("playback", "capture", "Error querying", "glimpse ", "PortAudio", "--"):
        assert word not in everything, word
    assert not RAW_TEXT.search(everything), RAW_TEXT.search(everything)


def test_the_status_line_is_one_short_line(no_audio):
    before = no_audio["before_choices"]
    # Its answers came from the offline describer, which "Ready" says.
    assert before["status"] == (f"{OFFLINE_READY}. No microphone: type your questions; no "
                                "speaker: answers are shown as text.")
    assert before["status_lines"] == 1 and not before["status_scrolls"]
    assert before["status_height"] == no_audio["final"]["status_height"]


def test_talk_with_no_microphone_starts_no_turn(no_audio):
    assert no_audio["turns_after_talk"] == 0
    assert not no_audio["talk_with_devices"]["talking"]
    assert "type your question" in no_audio["talk_with_devices"]["live"]
    assert no_audio["before_choices"]["talk"].startswith("No microphone")


def test_continue_without_sound_and_without_a_microphone(no_audio):
    after = no_audio["after_choices"]
    assert after["device_bar"] == [] and after["missing"] == []
    assert after["left_out"] == ["microphone", "speaker"]
    assert after["status"] == (f"{OFFLINE_READY}. Microphone off: type your questions; sound "
                               "off: answers are shown as text.")
    assert after["turns"][-1]["answer"] and after["turns"][-1]["errors"] == []
    assert said(no_audio, "Continuing without the speaker: answers are shown as text.")
    # The choices end the problem: it is not said again.
    assert len(said(no_audio, "No speaker or headphones are working")) == 1


@pytest.mark.parametrize("run", ["no_audio", "with_audio"])
def test_ready_is_announced_once_when_every_stage_is_set_up(run, request):
    result = request.getfixturevalue(run)
    assert len(result["ready"]) == 1, result["ready"]
    ready = result["ready"][0]
    assert ready["stages_set_up"] and ready["status_ready"], ready
    assert ready["status"].startswith("Ready"), ready
    # Announced once every stage had finished its setup (the bridge's mark), seconds after the
    # pipeline was merely built (when it used to be said, with 0 of 3 stages ready).
    marks = result["marks"]
    assert ready["at_s"] > marks["state_running"], (ready, marks)


def test_with_a_microphone_and_speaker_nothing_is_missing(with_audio):
    final = with_audio["final"]
    assert final["device_bar"] == [] and final["missing"] == []
    assert [d["class"] for d in final["dialogs"]] == ["SettingsDialog"]
    assert final["status"] == OFFLINE_READY and final["talk"] == "Hold to talk (Space)"
    assert all(t["answer"] and not t["errors"] for t in final["turns"]), final["turns"]
    assert with_audio["ready"][0]["text"] == "Glimpse is ready. Hold Space and ask."
    # Said once, however often the pipeline was rebuilt.
    assert len(said(with_audio, "Glimpse is ready")) == 1


def test_a_typed_question_gives_the_focus_back_to_talk(with_audio):
    assert with_audio["focus_after_typed"] == "pushToTalk"


# -- quitting ---------------------------------------------------------------------------------


class Listener:
    """Listens to the virtual speaker (parec on its monitor) until it hears a sound: Glimpse
    says "Ready." in its own voice when every stage is set up, which is how a user who does not
    look knows it is ready."""

    def __init__(self, audio) -> None:
        import numpy as np

        self.heard = threading.Event()
        env = dict(os.environ, **audio.env)
        self.proc = subprocess.Popen(["parec", "-d", "speaker.monitor", "--raw",
                                      "--format=s16le", "--rate=16000", "--channels=1",
                                      "--latency-msec=20"], env=env, stdout=subprocess.PIPE)

        def listen() -> None:
            while not self.heard.is_set():
                block = self.proc.stdout.read(640)  # 20 ms
                if not block:
                    return
                x = np.frombuffer(block, np.int16).astype(np.float32) / 32768
                if float(np.sqrt((x * x).mean())) > 0.02:
                    self.heard.set()

        threading.Thread(target=listen, daemon=True).start()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def _window(display: str) -> int:
    from Xlib import X, display as xdisplay

    d = xdisplay.Display(display)
    try:
        for win in d.screen().root.query_tree().children:
            try:
                if win.get_wm_name() == "Glimpse" and win.get_attributes().map_state == \
                        X.IsViewable:
                    return win.id
            except Exception:  # noqa: BLE001 - a window that went away meanwhile
                continue
    finally:
        d.close()
    raise AssertionError("the Glimpse window is not on the display")


def _quit(display: str, window: int, how: str) -> float:
    """Send Ctrl+Q, or the window manager's close (WM_DELETE_WINDOW); returns the monotonic time
    the request left for the X server."""
    from Xlib import X, XK, display as xdisplay, protocol
    from Xlib.ext import xtest

    d = xdisplay.Display(display)
    win = d.create_resource_object("window", window)
    if how == "ctrl+q":
        win.set_input_focus(X.RevertToParent, X.CurrentTime)
        d.sync()
        ctrl = d.keysym_to_keycode(XK.string_to_keysym("Control_L"))
        q = d.keysym_to_keycode(XK.string_to_keysym("q"))
        for kind, code in ((X.KeyPress, ctrl), (X.KeyPress, q), (X.KeyRelease, q),
                           (X.KeyRelease, ctrl)):
            xtest.fake_input(d, kind, code)
    else:
        protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
        event = protocol.event.ClientMessage(window=win, client_type=protocols,
                                             data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        win.send_event(event, event_mask=X.NoEventMask)
    t0 = time.monotonic()
    d.sync()
    d.close()
    return t0


@pytest.mark.parametrize("how", ["ctrl+q", "close button"])
def test_quitting_ends_the_process_within_half_a_second(display, virtual_audio, tmp_path, how):
    """`glimpse gui` as a user starts it (no --debug): it says "Ready." through the speaker, then
    Ctrl+Q or the close button ends the process within QUIT_S, exit status 0, and nothing but
    Glimpse's own lines reached the terminal (no ALSA underrun lines, no leak reports)."""
    env = display.env(**newcomer(tmp_path), **virtual_audio.env)
    listener = Listener(virtual_audio)
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "gui"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        heard = listener.heard.wait(300)
        assert heard and proc.poll() is None, "the window never said Ready."
        t0 = _quit(display.display, _window(display.display), how)
        status = proc.wait(10)
        seconds = time.monotonic() - t0
        out, err = proc.communicate(timeout=10)
    finally:
        listener.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    record = ARTIFACTS / "quit.json"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen = json.loads(record.read_text()) if record.exists() else {}
    seen[how] = round(seconds, 3)
    record.write_text(json.dumps(seen, indent=2))
    assert status == 0, err[-3000:]
    assert seconds < QUIT_S, f"quitting with {how} took {seconds:.2f} s"
    for noise in ("ALSA lib", "terminate called", "Traceback", "leaked"):
        assert noise not in out + err, (noise, err[-3000:])
