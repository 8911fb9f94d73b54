"""The X server's auto-repeat of the talk key, off while the key is the talk key, so a screen
reader says "space" once per question instead of 25 times a second.

A held key repeats: after the repeat delay (660 ms by default) the X server sends a new press
every 40 ms. Orca echoes each one (Orca 43 through the toolkit, Orca 48 from the X server
itself), so holding Space for 8 s to ask a question made both say "space" about 185 times, over
the question and into the microphone. Qt cannot hide those presses from Orca 48, which reads
them from the X server. The X server can stop making them: per-key auto-repeat (what
`xset -r 65` does). It must be off before the key goes down: a repeat that has started runs
on until the key comes up. So it is off
- for Space while the Glimpse window is active (`ui.window.keys.space`), and
- for the global key's last key (Space of Ctrl+Alt+Space) while that key's modifiers are held
  (`ui.window.keys.shortcuts`), since that key is pressed in other windows;
and back as it was when the window is left, the modifiers come up, or Glimpse closes. Measured
with both Orcas' debug logs: docs/accessibility.md.

X11 only (on Wayland the compositor repeats keys; `available` says why not). Several users may
hold one key off at once (the window and the global key both use Space): the key's repeat comes
back after the last one lets go.

Threads: any. The GUI thread and pynput's listener thread both call it; one lock guards the
object's own X connection.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref

log = logging.getLogger(__name__)

SPACE = 0x20  # the X keysym of Space


class KeyRepeat:
    def __init__(self, display: str | None = None) -> None:
        self._display_name = display
        self._lock = threading.Lock()
        self._x = None
        self._problem = ""
        self._holds: dict[int, int] = {}  # keycode -> how many hold its repeat off
        self._saved: dict[int, bool] = {}  # keycode -> repeated before we turned it off
        self._closed = False
        atexit.register(_close, weakref.ref(self))

    @property
    def problem(self) -> str:
        """Why the X server's repeat cannot be changed ("" while it can, or before trying)."""
        return self._problem

    def _connect(self):
        """The X connection, opened on first use (lock held); None when there is none."""
        if self._x is not None or self._problem or self._closed:
            return self._x
        if os.environ.get("WAYLAND_DISPLAY") and not self._display_name:
            self._problem = "a Wayland session (the compositor repeats keys)"
        elif not (self._display_name or os.environ.get("DISPLAY")):
            self._problem = "no X display"
        else:
            try:
                from Xlib import display as xdisplay
                from Xlib.error import DisplayError

                try:
                    self._x = xdisplay.Display(self._display_name)
                except (DisplayError, OSError) as exc:
                    self._problem = f"cannot open the X display ({exc})"
            except ImportError as exc:
                self._problem = f"python-xlib is missing ({exc})"
        if self._problem:
            log.info("key auto-repeat stays as it is: %s", self._problem)
        return self._x

    def repeats(self, keysym: int) -> bool | None:
        """Whether the X server repeats the key now (None when it cannot be asked)."""
        with self._lock:
            x = self._connect()
            if x is None:
                return None
            return self._repeats(x, x.keysym_to_keycode(keysym))

    @staticmethod
    def _repeats(x, code: int) -> bool:
        control = x.get_keyboard_control()
        return bool(control.global_auto_repeat) and bool(
            control.auto_repeats[code // 8] >> (code % 8) & 1)

    def hold_off(self, keysym: int) -> bool:
        """Stop the X server repeating the key (until `let_go`); True when it no longer does."""
        with self._lock:
            x = self._connect()
            if x is None:
                return False
            code = x.keysym_to_keycode(keysym)
            if not code:
                return False
            try:
                if self._holds.get(code, 0) == 0:
                    self._saved[code] = self._repeats(x, code)
                    if self._saved[code]:
                        self._set(x, code, False)
                self._holds[code] = self._holds.get(code, 0) + 1
            except (OSError, ConnectionError) as exc:  # the X server went away
                log.warning("could not switch off the repeat of key %d: %s", code, exc)
                return False
            return True

    def let_go(self, keysym: int) -> None:
        """Undo one `hold_off`: the last one gives the key its repeat back, as it was."""
        with self._lock:
            if self._x is None:
                return
            code = self._x.keysym_to_keycode(keysym)
            if self._holds.get(code, 0) == 0:
                return
            self._holds[code] -= 1
            if self._holds[code] == 0:
                self._restore(code)

    def _restore(self, code: int) -> None:
        del self._holds[code]
        if self._saved.pop(code, False):
            try:
                self._set(self._x, code, True)
            except (OSError, ConnectionError) as exc:
                log.warning("could not give key %d its repeat back: %s", code, exc)

    @staticmethod
    def _set(x, code: int, on: bool) -> None:
        from Xlib import X

        x.change_keyboard_control(key=code, auto_repeat_mode=X.AutoRepeatModeOn if on
                                  else X.AutoRepeatModeOff)
        x.sync()  # in effect before the next key press

    def close(self) -> None:
        """Give every key its repeat back and close the X connection (also at exit)."""
        with self._lock:
            self._closed = True
            if self._x is None:
                return
            for code in list(self._holds):
                self._restore(code)
            try:
                self._x.close()
            except (OSError, ConnectionError) as exc:
                log.debug("the X connection was already gone: %s", exc)
            self._x = None


def _close(ref: "weakref.ref[KeyRepeat]") -> None:
    repeat = ref()
    if repeat is not None:
        repeat.close()
