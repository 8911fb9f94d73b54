"""Glimpse as a blind user meets it: the real Orca screen reader, real key events, real engines,
with the two Orcas people run: 43 (Debian 12, the host's) and 48 (Debian 13, from a root built
with debootstrap, tests/support/rig/orca_root.py).

The rig (tests/support/rig/orca.py) runs Orca with its debug log on a private X display, session
bus, AT-SPI bus and audio server, with the X server's key auto-repeat on (as on every desktop),
and tells the desktop a screen reader is on (ScreenReaderEnabled), as GNOME does. The window
(tests/ui/orca_session.py, in a subprocess) runs the real pipeline: a folder camera showing an
exit sign, Whisper tiny.en, the offline describer, Piper. Keys are sent with xdotool; what Orca
said is read back from its `SPEECH OUTPUT:` lines, with their times. Nothing of Glimpse is faked.

One scenario runs once per Orca (module fixture): a push-to-talk turn with Space held while a
question plays into the virtual microphone, Ctrl+D, Ctrl+3/2/1, Tab through every control, the
help with the arrow keys, a typed question and an empty one, and a push-to-talk turn with the
global key (Ctrl+Alt+Space) while another application's window has the focus. Each test asserts
on one part of what Orca said:
- every message Glimpse announced was spoken exactly once, with its own text and nothing before
  it ("notification"), within 1 s;
- no message of an earlier step is spoken again in a later one (a notification object reused
  with its old name was read that way by Orca 48);
- a held talk key is echoed ("space") at most once, in the window and from the background;
- Tab reaches every control with a name and a role; the help reads line by line; the app's
  stderr has no accessibility warnings.
The log and the utterances are kept in artifacts/orca-<version>/.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.support.rig import unavailable
from tests.support.rig.orca import OrcaError, OrcaSession
from tests.support.rig.orca_root import RootError, debian13_root
from tests.support.sessions import wait_file
from tests.support import ROOT

pytestmark = [pytest.mark.system, pytest.mark.timeout(1800)]
DATA = ROOT / "tests" / "data"
ARTIFACTS = ROOT / "artifacts"
GLOBAL_KEY = "<ctrl>+<alt>+space"
SETTINGS = (("models.offline", True), ("asr.model", "whisper:tiny.en"),
            ("vlm.backend", "describer"), ("tts.voice", "piper:en_US-joe-medium"),
            ("earcons.enabled", False), ("ui.show_first_run", False),
            ("ui.announce_ready", False), ("ui.global_shortcut", GLOBAL_KEY))
# The promise: Orca speaks a message within 1 s of Glimpse announcing it. Measured here (each
# Orca's debug log, a shared 2-core machine at load average 3.5-6): the longest lag per run was
# 0.15-0.46 s, typical 0.03-0.25 s (docs/accessibility.md), so the bound keeps a margin of 0.5 s
# for a busy CI machine while still failing on the 2.5 s seen when the microphone level flooded
# Orca's queue. The load average is reported with a failure.
ANSWER_LAG_S = 1.0
SPEECH_TIMEOUT_S = 30.0  # for Orca to react at all on a loaded 2-core machine
TURN_TIMEOUT_S = 120.0
SPACE = 0x20  # X keysym
# Tab order and accessible names after Talk (ui/window/main_window.py's focus_order).
FOCUS_NAMES = ("Stop", "Mode", "Describe now", "Question box", "Ask typed question",
               "Copy conversation", "Export conversation", "Conversation", "Last message",
               "Frame age", "Microphone", "Status", "Timing")
ROLE_WORDS = ("push button", "button", "combo box", "text")
FOCUS_ROLES = ("push button.", "button.", "combo box.", "read only text.", "frame.", "dialog.")
WARNINGS = ("invalid interface", "Could not find accessible")
EMPTY_QUESTION = "Type a question first, then press Enter."


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def _seconds_of_day(wall: float) -> float:
    t = datetime.fromtimestamp(wall)
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


class Scenario:
    """Drives the window with xdotool and keeps, per step, what Orca said."""

    def __init__(self, orca: OrcaSession, events: Path, proc: subprocess.Popen) -> None:
        self.orca, self.events_path, self.proc = orca, events, proc
        self.steps: dict[str, list[tuple[float, str]]] = {}
        self.started: dict[str, float] = {}  # wall clock at each step's start
        self.answers: dict[str, list[dict]] = {}  # transcripts and answers of each turn step
        self.window = ""

    def events(self) -> list[dict]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line]

    def wait_event(self, predicate, timeout: float, since: int = 0) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            for event in self.events()[since:]:
                if predicate(event):
                    return event
            time.sleep(0.05)  # polling a file the window writes, with a deadline
        return None

    def focus(self, window: str = "") -> None:
        self.orca.xdotool("windowfocus", "--sync", window or self.window)

    def step(self, name: str, keys: tuple[str, ...], until, timeout: float = SPEECH_TIMEOUT_S,
             action=None) -> list[tuple[float, str]]:
        """Send `keys` (or run `action`), then wait until `until(new utterances)` holds."""
        start = len(self.orca.utterances())
        self.started[name] = time.time()
        if keys:
            self.orca.xdotool("key", *keys)  # XTest, to the focused window, as a keyboard does
        if action is not None:
            action()
        self.orca.wait_spoken(lambda _lines: until(self.orca.utterances()[start:]), timeout)
        said = self.orca.utterances()[start:]
        self.steps[name] = said
        return said

    def wait_closed(self, title: str, timeout: float = SPEECH_TIMEOUT_S) -> bool:
        """Wait until no window called `title` is shown (a dialog closing takes a moment)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title],
                                   env=self.orca.env(), capture_output=True, text=True,
                                   timeout=20)
            if found.returncode != 0 or not found.stdout.strip():
                return True
            time.sleep(0.05)  # polling the X server, with a deadline
        return False

    def turn_step(self, name: str, keys: tuple[str, ...] = (), action=None) -> None:
        """A step that asks: done when Orca has said the answer of the turn it started."""
        before = len(self.events())

        def until(said) -> bool:
            answers = [e for e in self.events()[before:] if e["event"] == "answer"]
            return bool(answers) and _said(said, answers[-1]["text"])

        self.step(name, keys, until, TURN_TIMEOUT_S, action=action)
        self.answers[name] = [e for e in self.events()[before:]
                              if e["event"] in ("answer", "transcript", "turn_started")]

    def hold_and_ask(self, keys: tuple[str, ...], question: Path) -> None:
        """Press `keys` in order and hold them while the question plays into the microphone."""
        before = len(self.events())
        for key in keys:
            self.orca.xdotool("keydown", key)
        started = self.wait_event(lambda e: e["event"] == "turn_started", SPEECH_TIMEOUT_S,
                                  since=before)
        assert started is not None, f"holding {'+'.join(keys)} started no turn"
        player = self.orca.audio.play_into_mic(question)
        assert player.wait(60) == 0, "paplay failed"
        for key in reversed(keys):
            self.orca.xdotool("keyup", key)


def _said(utterances, *texts: str) -> bool:
    spoken = [_words(text) for _, text in utterances]
    return all(any(_words(t) in s for s in spoken) for t in texts)


def _named(utterances, name: str) -> bool:
    """One utterance says both the control's name and a role: "Stop push button."."""
    return any(_words(name) in _words(text) and any(role in text for role in ROLE_WORDS)
               for _, text in utterances)


def _question(path: Path) -> Path:
    import soundfile as sf

    from tests.support import whisper as sw

    speech = sw.piper_speech("What does the sign say?")
    sf.write(path, np.concatenate([speech, np.zeros(6400, np.float32)]), 16000)
    return path


def _write_config(folder: Path, camera: Path) -> None:
    from assistant import config as config_mod

    config = config_mod.Config()
    for key, value in SETTINGS + (("camera.source", str(camera)),):
        config = config.with_value(key, value)
    config_mod.save(config, folder / "config.toml")


def _push_to_talk(s: Scenario, question: Path) -> bool:
    """Space held in the window; returns whether the X server had stopped repeating Space
    before it went down (the window is active)."""
    quiet = s.orca.wait_key_repeat(SPACE, False, SPEECH_TIMEOUT_S)
    s.turn_step("push_to_talk", action=lambda: s.hold_and_ask(("space",), question))
    return quiet


def _background(s: Scenario, question: Path, tmp: Path) -> dict:
    """Another application has the focus; the global key asks. A user presses the modifiers
    before the key: the test waits until Glimpse has stopped Space repeating, as it does
    between a person's Ctrl+Alt and Space."""
    ready, quit_file = tmp / "other-ready", tmp / "other-quit"
    env = s.orca.env(QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1", QT_ACCESSIBILITY="1")
    env.pop("PYTHONPATH", None)
    other = subprocess.Popen([sys.executable, "-m", "tests.ui.other_app", str(ready),
                              str(quit_file)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        assert wait_file(ready, other, 60), "the other application's window did not open"
        s.step("other_window", (), lambda said: _said(said, "Notes"),
               action=lambda: s.focus(ready.read_text().strip()))
        assert s.orca.wait_key_repeat(SPACE, True, SPEECH_TIMEOUT_S), \
            "Space does not repeat in another application's window"
        quiet = []

        def ask() -> None:
            s.orca.xdotool("keydown", "ctrl")
            s.orca.xdotool("keydown", "alt")
            quiet.append(s.orca.wait_key_repeat(SPACE, False, SPEECH_TIMEOUT_S))
            s.hold_and_ask(("space",), question)
            s.orca.xdotool("keyup", "alt")
            s.orca.xdotool("keyup", "ctrl")

        s.turn_step("background", action=ask)
        return {"repeat_off_with_modifiers": quiet[0],
                "repeat_back_after_global_key": s.orca.key_repeats(SPACE)}
    finally:
        quit_file.write_text("quit")
        try:
            other.wait(30)
        except subprocess.TimeoutExpired:
            other.kill()
            other.wait(10)


def _drive(s: Scenario, question: Path, stderr: Path, tmp: Path) -> dict:
    out: dict = {}
    ready = s.wait_event(lambda e: e["event"] in ("ready", "timeout"), 240)
    if ready is None or ready["event"] != "ready":
        pytest.fail(f"the window did not get ready: {ready}\n"
                    f"{stderr.read_text(errors='replace')[-3000:]}")
    out["ready"] = ready
    s.window = str(ready["window"])
    s.focus()
    # Orca presents the window once it is active (before this step, if it was at once).
    assert s.orca.wait_spoken(lambda lines: any("Talk" in line for line in lines),
                              SPEECH_TIMEOUT_S), "Orca never presented the window"

    out["repeat_off_in_window"] = _push_to_talk(s, question)
    s.turn_step("describe", ("ctrl+d",))

    for key, mode in (("ctrl+3", "Read text"), ("ctrl+2", "Describe the scene"),
                      ("ctrl+1", "Ask about the view")):
        s.step(key, (key,), lambda said, m=mode: _said(said, f"Mode: {m}"))

    # Focus through every control with Tab.
    for index, expected in enumerate(FOCUS_NAMES):
        s.step(f"tab{index}", ("Tab",), lambda said, e=expected: _named(said, e))

    # Help: F1, then the arrow keys move line by line.
    # Done when Orca has read the focused text, its first line and its description, so that
    # each Down below hears one line and nothing left over.
    s.step("help", ("F1",), lambda said: _said(said, "Help text", "Use the arrow keys"))
    for index in range(6):
        s.step(f"help_down{index}", ("Down",), lambda said: bool(said))
    s.step("help_close", ("Escape",), lambda said: True, timeout=0.0)
    assert s.wait_closed("Glimpse help"), "Escape did not close the help"

    # A typed question, then Enter on the empty box (a notice).
    s.focus()  # no window manager: nothing gives the window back its focus after a dialog
    s.step("question_box", ("ctrl+l",), lambda said: _said(said, "Question box"))
    # Enter once the reader has echoed what was typed, as a user waits for it.
    s.step("typing", (), lambda said: any(_words(text) == "y" for _, text in said),
           action=lambda: s.orca.xdotool("type", "--delay", "60", "what does the sign say"))
    s.turn_step("typed", ("Return",))
    # After a typed question the focus is back on Talk: Ctrl+L returns to the box first.
    s.step("question_box_again", ("ctrl+l",), lambda said: _said(said, "Question box"))
    s.step("empty", ("Return",), lambda said: _said(said, EMPTY_QUESTION))

    out.update(_background(s, question, tmp))
    return out


@pytest.fixture(scope="module", params=["43", "48"], ids=lambda v: f"orca{v}")
def scenario(request, tmp_path_factory):
    from tests.support import whisper as sw

    version = request.param
    sw.tiny_en_ct2()  # skips with a reason when the Whisper weight package is missing
    root = None
    if version == "48":
        try:
            root = debian13_root()  # built once per checkout (minutes), then reused
        except RootError as exc:
            unavailable(str(exc))
    tmp = tmp_path_factory.mktemp(f"orca{version}")
    question = _question(tmp / "question.wav")
    camera = tmp / "camera"
    camera.mkdir()
    (camera / "exit_sign.jpg").write_bytes((DATA / "exit_sign.jpg").read_bytes())
    (tmp / "config").mkdir()
    _write_config(tmp / "config", camera)
    orca = OrcaSession(root=root)
    try:
        orca.start()
        orca.set_screen_reader_enabled(True)
        orca.keyboard_repeat(True)  # as on every desktop
    except OrcaError as exc:
        unavailable(str(exc))
    artifacts = ARTIFACTS / f"orca-{version}"
    events, quit_file, stderr = tmp / "events.jsonl", tmp / "quit", tmp / "app-stderr.txt"
    env = orca.env(PYTHONPATH=str(ROOT), GLIMPSE_CONFIG_DIR=str(tmp / "config"),
                   QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1", QT_ACCESSIBILITY="1",
                   QT_MESSAGE_PATTERN=os.environ.get("QT_MESSAGE_PATTERN", "%{message}"))
    with stderr.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tests.ui.orca_session", str(events),
                                 "--quit", str(quit_file)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    s = Scenario(orca, events, proc)
    result: dict = {"version": version}
    try:
        result.update(_drive(s, question, stderr, tmp))
        quit_file.write_text("quit")
        proc.wait(60)
        result["repeat_back_after_quit"] = orca.key_repeats(SPACE)
        result["load"] = os.getloadavg()  # a lag figure means little on an overloaded machine
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        result["steps"] = s.steps
        result["started"] = s.started
        result["answers"] = s.answers
        result["utterances"] = orca.utterances()
        result["events"] = s.events()
        result["stderr"] = stderr.read_text(errors="replace") if stderr.exists() else ""
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / "orca-debug.log").write_text(orca.log_text())
        (artifacts / "app-stderr.txt").write_text(result["stderr"])
        (artifacts / "orca-session.json").write_text(json.dumps(result, indent=2))
        orca.stop()
    return result


def _announced(result: dict) -> list[dict]:
    return [e for e in result["events"] if e["event"] == "announce"]


def _reading(result: dict):
    """Whether an utterance (by its time) came while Tab and the help read controls: a focused
    Last message field reads its text, which is a message, on purpose."""
    start = _seconds_of_day(result["started"]["tab0"])
    end = _seconds_of_day(result["started"]["question_box"])
    return lambda when: start <= when < end


def _match(result: dict) -> tuple[list[tuple[dict, float]], list[tuple[float, str]], list[dict]]:
    """Pair what Orca said with what Glimpse announced, in time order: each utterance of a
    message's text takes the earliest announcement of that text made before it and not taken
    yet. Returns (pairs of announcement and when it was spoken, utterances of a message's text
    with no announcement left to take (said again, or stale), announcements never spoken).
    While Tab and the help read controls, an utterance with no announcement to take is the
    Last message field read aloud, not a second announcement."""
    waiting: dict[str, list[dict]] = defaultdict(list)
    for message in _announced(result):
        waiting[_words(message["text"])].append(message)
    texts = set(waiting)
    reading = _reading(result)
    pairs, extra = [], []
    for when, text in result["utterances"]:
        words = _words(text)
        if words not in texts:
            continue
        ready = [m for m in waiting[words] if _seconds_of_day(m["time"]) <= when + 0.05]
        if ready:
            waiting[words].remove(ready[0])
            pairs.append((ready[0], when))
        elif not reading(when):
            extra.append((when, text))
    return pairs, extra, [m for left in waiting.values() for m in left]


def _echoes(said, key: str = "space") -> int:
    return sum(_words(text) == key for _, text in said)


def test_the_screen_reader_voice_and_its_channel_were_chosen(scenario):
    assert scenario["ready"]["voice"] == "screen_reader"
    # Orca 45.2 and later listen for announcement events; Orca 43 does not.
    expected = "announcement" if scenario["version"] == "48" else "notification"
    assert scenario["ready"]["channel"] == expected
    assert {e["channel"] for e in _announced(scenario)} == {expected}


def test_every_message_is_spoken_exactly_once_with_its_own_text(scenario):
    announced = _announced(scenario)
    seen = {("mode" if e["text"].startswith("Mode:") else
             "notice" if e["text"] == EMPTY_QUESTION else "answer") for e in announced}
    assert seen == {"answer", "mode", "notice"}, announced  # what the scenario covers
    pairs, extra, unspoken = _match(scenario)
    assert not unspoken, f"announced, never spoken: {[m['text'] for m in unspoken]}"
    assert not extra, f"spoken with no announcement left (twice, or stale): {extra}"
    for message, spoken_at in pairs:
        lag = spoken_at - _seconds_of_day(message["time"])
        assert lag <= ANSWER_LAG_S, (f"{message['text']!r} spoken {lag:.2f} s after it came "
                                     f"(load average {scenario['load']})")
    # Orca's word for a notification object: noise before every answer.
    assert not [text for _, text in scenario["utterances"] if _words(text).startswith(
        "notification")], "a message was introduced as a notification"


def test_no_stale_text_after_mode_changes(scenario):
    """Each mode key says its own mode once, and nothing announced before (Orca 48 read a reused
    notification object's old name: the previous answer, then the mode)."""
    _pairs, extra, _unspoken = _match(scenario)
    for key, mode in (("ctrl+3", "Read text"), ("ctrl+2", "Describe the scene"),
                      ("ctrl+1", "Ask about the view")):
        said = scenario["steps"][key]
        assert [_words(text) for _, text in said].count(_words(f"Mode: {mode}.")) == 1, said
        assert not [u for u in extra if tuple(u) in {tuple(x) for x in said}], (key, said)


def test_push_to_talk_answer_is_spoken_by_orca_without_a_focus_move(scenario):
    from audio.asr.engines import normalize

    turn = scenario["answers"]["push_to_talk"]
    transcripts = [e for e in turn if e["event"] == "transcript"]
    assert transcripts and "sign" in normalize(transcripts[-1]["text"]), turn
    answers = [e for e in turn if e["event"] == "answer"]
    assert answers and "EXIT" in answers[-1]["text"].upper(), answers
    assert _said(scenario["steps"]["push_to_talk"], answers[-1]["text"])
    for step in ("push_to_talk", "describe"):
        moved = [text for _, text in scenario["steps"][step] if text.endswith(FOCUS_ROLES)]
        assert not moved, (step, moved)


def test_a_held_space_is_one_question_and_one_echo(scenario):
    """The X server repeats a held key; with a screen reader each repeat is echoed and makes a
    round trip to it before the window sees it. Still one question, and one "space"."""
    turns = scenario["answers"]["push_to_talk"]
    assert sum(e["event"] == "turn_started" for e in turns) == 1, turns
    assert _echoes(scenario["steps"]["push_to_talk"]) <= 1, scenario["steps"]["push_to_talk"]
    # How: the X server stops repeating Space while the window is active.
    assert scenario["repeat_off_in_window"], "Space still repeats in the active Glimpse window"


def test_describe_now_is_spoken_by_orca(scenario):
    answers = [e for e in scenario["answers"]["describe"] if e["event"] == "answer"]
    assert answers and _said(scenario["steps"]["describe"], answers[0]["text"]), \
        scenario["steps"]["describe"]


def test_typed_question_and_empty_notice_are_spoken(scenario):
    answers = [e for e in scenario["answers"]["typed"] if e["event"] == "answer"]
    assert answers and _said(scenario["steps"]["typed"], answers[-1]["text"]), \
        scenario["steps"]["typed"]
    assert _said(scenario["steps"]["empty"], EMPTY_QUESTION), scenario["steps"]["empty"]


def test_background_answer_is_spoken_and_the_global_key_echoed_once(scenario):
    turn = scenario["answers"]["background"]
    assert sum(e["event"] == "turn_started" for e in turn) == 1, turn
    answers = [e for e in turn if e["event"] == "answer"]
    assert answers and _said(scenario["steps"]["background"], answers[-1]["text"]), \
        (turn, scenario["steps"]["background"])
    assert _echoes(scenario["steps"]["background"]) <= 1, scenario["steps"]["background"]
    assert scenario["repeat_off_with_modifiers"], "Ctrl+Alt held: Space still repeats"
    # Space repeats again once the modifiers are up, and after Glimpse has quit.
    assert scenario["repeat_back_after_global_key"] is True
    assert scenario["repeat_back_after_quit"] is True


def test_tab_reaches_every_control_with_name_and_role(scenario):
    for index, expected in enumerate(FOCUS_NAMES):
        said = scenario["steps"][f"tab{index}"]
        assert _named(said, expected), (expected, said)


def test_help_reads_line_by_line(scenario):
    assert _said(scenario["steps"]["help"], "Glimpse help", "Help text")
    lines = [scenario["steps"][f"help_down{i}"] for i in range(6)]
    assert all(lines), lines
    heard = [_words(said[-1][1]) for said in lines]
    assert len(set(heard)) == len(heard), heard  # each Down a new line, not the same text
    assert any("keyboard shortcuts" in h for h in heard) or any("space" in h for h in heard), heard


def test_no_accessibility_warnings_on_stderr(scenario):
    bad = [line for line in scenario["stderr"].splitlines()
           if any(w in line for w in WARNINGS)]
    assert not bad, f"{len(bad)} accessibility warnings, first: {bad[:3]}"
