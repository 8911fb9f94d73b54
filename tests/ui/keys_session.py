"""The talk keys with a screen reader's repeat switch, in real windows on a private X server,
driving themselves with real key events (xdotool, XTest), for tests/ui/test_key_repeat.py.

    python -m tests.ui.keys_session RESULT

Two windows: Glimpse's stand-in (a window with the Space push-to-talk filter) and another one;
the global key (Ctrl+Alt+Space, pynput) and the Space filter share one KeyRepeat. It records
whether the X server repeats Space at each point, the presses and releases the Space filter
made, and the commands the global key sent, writes RESULT (JSON) and quits; the test checks the
repeat once more after the process has ended.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

WAIT_S = 10.0
HOLD_S = 1.5  # longer than the X server's repeat delay (660 ms): a repeating key would repeat


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QPushButton

    from ui.window.keys.repeat import SPACE, KeyRepeat
    from ui.window.keys.shortcuts import GlobalShortcut
    from ui.window.keys.space import SpaceKey

    out = Path(sys.argv[1])
    app = QApplication(sys.argv[:1])
    result: dict = {"space": [], "commands": [], "repeats": {}}
    glimpse, other = QPushButton("Talk"), QPushButton("Other")
    glimpse.setWindowTitle("Glimpse keys")
    other.setWindowTitle("Other keys")
    other.move(700, 0)
    repeat = KeyRepeat()
    probe = KeyRepeat()  # a connection of its own that only reads the server's state
    space = SpaceKey(glimpse, lambda: result["space"].append("press"),
                     lambda _command: result["space"].append("release"), repeat=repeat)
    shortcut = GlobalShortcut("<ctrl>+<alt>+space",
                              lambda command: result["commands"].append(type(command).__name__),
                              repeat=repeat)
    result["global_key"] = shortcut.start()
    glimpse.show()
    other.show()

    def xdo(*args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=20)

    def until(condition, name: str):
        deadline = time.monotonic() + WAIT_S
        return lambda: condition() or (time.monotonic() > deadline
                                       and result.setdefault("timeouts", []).append(name))

    def held(seconds: float):
        end = time.monotonic() + seconds
        return lambda: time.monotonic() > end  # how long a person holds the key

    def steps():
        yield until(lambda: glimpse.isVisible() and other.isVisible(), "shown")
        xdo("windowfocus", "--sync", str(int(glimpse.winId())))
        yield until(lambda: probe.repeats(SPACE) is False, "off in Glimpse")
        result["repeats"]["glimpse active"] = probe.repeats(SPACE)
        xdo("keydown", "space")
        yield held(HOLD_S)
        xdo("keyup", "space")
        yield until(lambda: result["space"][-1:] == ["release"], "space released")
        xdo("windowfocus", "--sync", str(int(other.winId())))
        yield until(lambda: probe.repeats(SPACE) is True, "on elsewhere")
        result["repeats"]["other active"] = probe.repeats(SPACE)
        xdo("keydown", "ctrl")
        xdo("keydown", "alt")
        yield until(lambda: probe.repeats(SPACE) is False, "off with Ctrl+Alt")
        result["repeats"]["ctrl+alt held"] = probe.repeats(SPACE)
        xdo("keydown", "space")
        yield held(HOLD_S)
        xdo("keyup", "space")
        result["repeats"]["space up, ctrl+alt held"] = probe.repeats(SPACE)
        xdo("keyup", "alt")
        xdo("keyup", "ctrl")
        yield until(lambda: len(result["commands"]) >= 2 and probe.repeats(SPACE), "global up")
        result["repeats"]["modifiers up"] = probe.repeats(SPACE)
        xdo("windowfocus", "--sync", str(int(glimpse.winId())))
        yield until(lambda: probe.repeats(SPACE) is False, "off in Glimpse again")
        result["repeats"]["glimpse active at quit"] = probe.repeats(SPACE)
        app.quit()
        yield lambda: False

    script = steps()
    condition = [next(script)]

    def advance() -> None:
        if condition[0]():
            condition[0] = next(script)

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(advance)
    timer.start()
    app.exec()
    # As App.close does: the filter, the global key, then the switch (Space repeats again).
    space.remove()
    shortcut.stop()
    repeat.close()
    out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
