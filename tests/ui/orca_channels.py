"""Measure what a real Orca says for each way a message can reach it, and for a held Space:
the tables of docs/accessibility.md. Not a test (it asserts nothing): run it when a new Orca
comes, and compare.

    python -m tests.ui.orca_channels 43|48

Orca 43 is the host's, Orca 48 the Debian 13 root's (built if missing: minutes, as root). The
rig is the Orca tests' (tests/support/rig/orca.py), with the X server's key auto-repeat on; the
window (tests/ui/orca_channels_window.py) sends one message one way at a time, first focused,
then with another application's window active. After each step it waits until Orca has said
nothing for QUIET_S. Prints a Markdown table of what Orca said per step (its SPEECH OUTPUT
lines) and writes them to artifacts/orca-channels-<version>.json.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.support import ROOT
from tests.support.rig.orca import OrcaSession
from tests.support.rig.orca_root import debian13_root
from tests.support.sessions import stop_all

QUIET_S = 1.5  # Orca has said all it will about a step once it is this long silent
STEP_S = 15.0  # at most, per step
HOLD_S = 4.0  # a held key: longer than the X server's repeat delay (660 ms)

FOCUSED = (
    ("announcement, polite", [{"op": "announce", "text": "Alpha polite one."}]),
    ("announcement, assertive", [{"op": "announce", "text": "Bravo assertive two.",
                                  "assertive": True}]),
    ("two announcements at once", [{"op": "announce", "text": "Charlie first."},
                                   {"op": "announce", "text": "Delta second."}]),
    ("notification shown", [{"op": "notify", "text": "Echo plain.", "spot": 0}]),
    ("the same object shown again, no name event", [{"op": "notify", "text": "Foxtrot reused.",
                                                     "spot": 0}]),
    ("shown again, name event first", [{"op": "notify", "text": "Golf named.", "spot": 0,
                                        "name_event": True}]),
    ("notification in a status bar, name event first", [
        {"op": "notify", "text": "Hotel in a bar.", "spot": 0, "statusbar": True,
         "name_event": True}]),
    ("field text, not focused", [{"op": "field", "text": "India field."}]),
    ("focus the field", [{"op": "focus", "what": "field"}]),
    ("field text, focused", [{"op": "field", "text": "Juliet focused field."}]),
    ("focus the button", [{"op": "focus", "what": "button"}]),
)
BACKGROUND = (
    ("background: announcement", [{"op": "announce", "text": "Kilo background."}]),
    ("background: notification shown", [{"op": "notify", "text": "Lima background.",
                                         "spot": 1}]),
    ("background: notification in a status bar", [
        {"op": "notify", "text": "Mike background bar.", "spot": 1, "statusbar": True,
         "name_event": True}]),
)


class Channels:
    def __init__(self, orca: OrcaSession, folder: Path) -> None:
        self.orca, self.folder, self.results = orca, folder, {}
        self.procs: list[subprocess.Popen] = []

    def window(self, name: str) -> tuple[Path, Path, str]:
        commands, report = self.folder / f"{name}.jsonl", self.folder / f"{name}.report"
        env = self.orca.env(QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1", QT_ACCESSIBILITY="1",
                            PYTHONPATH=str(ROOT))
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.ui.orca_channels_window", str(commands), str(report)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not report.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a file the window writes, with a deadline
        window = json.loads(report.read_text().splitlines()[0])["window"]
        return commands, report, str(window)

    def settle(self, start: int) -> list[str]:
        """What Orca said since utterance `start`, once it has been quiet for QUIET_S."""
        deadline, count, since = time.monotonic() + STEP_S, -1, time.monotonic()
        while time.monotonic() < deadline:
            now = len(self.orca.utterances())
            if now != count:
                count, since = now, time.monotonic()
            elif time.monotonic() - since > QUIET_S:
                break
            time.sleep(0.05)  # polling Orca's log, with a deadline
        return [text for _, text in self.orca.utterances()[start:]]

    def step(self, name: str, commands: Path, sends: list[dict], action=None) -> None:
        start = len(self.orca.utterances())
        with commands.open("a") as out:
            for command in sends:
                out.write(json.dumps(command) + "\n")
        if action is not None:
            action()
        self.results[name] = self.settle(start)

    def hold(self, *keys: str) -> None:
        for key in keys:
            self.orca.xdotool("keydown", key)
        time.sleep(HOLD_S)  # how long a person holds the key: the stimulus, not a wait
        for key in reversed(keys):
            self.orca.xdotool("keyup", key)


def measure(version: str) -> dict:
    orca = OrcaSession(root=debian13_root() if version == "48" else None)
    orca.start()
    folder = orca.dir / "channels"
    folder.mkdir()
    run = Channels(orca, folder)
    try:
        orca.keyboard_repeat(True)
        commands, _report, window = run.window("channels")
        orca.xdotool("windowfocus", "--sync", window)
        run.settle(0)
        for name, sends in FOCUSED:
            run.step(name, commands, sends)
        run.step("Space held, nothing done", commands, [{"op": "space", "how": "none"}],
                 action=lambda: run.hold("space"))
        run.step("Space held, repeats dropped in Qt", commands, [{"op": "space", "how": "drop"}],
                 action=lambda: (run.settle(len(orca.utterances())), run.hold("space")))
        run.step("Space held, X repeat off when it goes down", commands,
                 [{"op": "space", "how": "off_at_press"}],
                 action=lambda: (run.settle(len(orca.utterances())), run.hold("space")))
        run.step("Space held, X repeat off before the press", commands,
                 [{"op": "space", "how": "none"}, {"op": "repeat", "on": True},
                  {"op": "repeat", "on": False}],
                 action=lambda: (run.settle(len(orca.utterances())), run.hold("space")))
        run.step("Space tapped", commands, [{"op": "repeat", "on": True}],
                 action=lambda: orca.xdotool("key", "space"))
        _other_commands, _other_report, other = run.window("other")
        orca.xdotool("windowfocus", "--sync", other)
        run.settle(len(orca.utterances()))
        for name, sends in BACKGROUND:
            run.step(name, commands, sends)
        run.step("background: Ctrl+Alt+Space held", commands, [],
                 action=lambda: run.hold("ctrl", "alt", "space"))
        run.step("background: the same, Space's X repeat off first", commands,
                 [{"op": "repeat", "on": False}],
                 action=lambda: (run.settle(len(orca.utterances())),
                                 run.hold("ctrl", "alt", "space")))
        with commands.open("a") as out:
            out.write(json.dumps({"op": "repeat", "on": True}) + "\n")
        return run.results
    finally:
        stop_all(run.procs)
        orca.stop()


def table(results: dict) -> str:
    lines = ["| Step | What Orca said |", "|---|---|"]
    for name, said in results.items():
        counts = Counter(said)
        words = [f"{count} × `{text!r}`" if count > 2 else ", ".join([f"`{text!r}`"] * count)
                 for text, count in counts.items()]
        lines.append(f"| {name} | {', '.join(words) or 'nothing'} |")
    return "\n".join(lines)


def main() -> int:
    version = sys.argv[1] if len(sys.argv) > 1 else "43"
    results = measure(version)
    out = ROOT / "artifacts" / f"orca-channels-{version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"Orca {version}\n\n{table(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
