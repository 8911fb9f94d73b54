"""Keyboard shortcuts: the in-window list (shown under Help) and the global push-to-talk key.

The global key works on X11 through pynput (here) and on Wayland through the desktop's
GlobalShortcuts portal (`ui.window.keys.portal`). pynput calls us on its own listener thread, so the
callbacks only call `bridge.submit(...)` (thread-safe: it puts a command on the pipeline's bus)
and the thread-safe `KeyRepeat`, and never touch a widget.

Given a `KeyRepeat` (a screen reader runs), the X server stops repeating the combo's last key
while its modifiers are held, before that key goes down: a screen reader says "space" once for
Ctrl+Alt+Space held through a question, not 25 times a second (`ui.window.keys.repeat`).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Callable

from assistant import events as ev
from ui.labels import key_text
from ui.window.keys.repeat import KeyRepeat

log = logging.getLogger(__name__)

RELEASE_DEBOUNCE_S = 0.015


@dataclass(frozen=True)
class Shortcut:
    keys: str  # as written for people, e.g. "Ctrl+1"
    action: str


#: Everything the window can do from the keyboard. Help lists these; MainWindow binds them.
SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Space (hold)", "Push to talk: hold while you speak, let go to get the answer "
                             "(press once to start and once to stop in toggle mode). Works "
                             "anywhere in the window except in the question box."),
    Shortcut("Esc", "Stop: cancel the answer and silence speech; with no answer running, "
                    "end watch mode"),
    Shortcut("Ctrl+F", "Search the saved conversation by what was seen or said"),
    Shortcut("Ctrl+1", "Mode: ask about what the camera sees"),
    Shortcut("Ctrl+2", "Mode: describe the scene"),
    Shortcut("Ctrl+3", "Mode: read text aloud"),
    Shortcut("Ctrl+D", "Describe the scene now, without asking a question"),
    Shortcut("Ctrl+N", "Take a fresh picture for the next question"),
    Shortcut("Ctrl+L", "Go to the question box: type a question and press Enter"),
    Shortcut("Ctrl+R", "Read the last answer again (screen reader announcement)"),
    Shortcut("Ctrl+Shift+C", "Copy the conversation"),
    Shortcut("Ctrl+E", "Export the conversation as Markdown or JSON"),
    Shortcut("Ctrl+,", "Settings"),
    Shortcut("Ctrl+M", "Models: what is installed, downloads"),
    Shortcut("F1", "Help and this list of shortcuts"),
    Shortcut("Ctrl+Q", "Quit"),
)


def pynput_combo(combo: str) -> str:
    """Write a combo the way pynput parses it: named keys in angle brackets.

    "<ctrl>+<alt>+space" and "ctrl+alt+space" both become "<ctrl>+<alt>+<space>"; single
    characters stay as they are ("<ctrl>+g").
    """
    parts = [p.strip().lower() for p in combo.split("+") if p.strip()]
    return "+".join(p if len(p) == 1 or p.startswith("<") else f"<{p}>" for p in parts)


def session_type() -> str:
    """"wayland", "x11" or "other" for the running desktop session."""
    if os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    if os.environ.get("DISPLAY"):
        return "x11"
    return "other"


class GlobalShortcut:
    """Push-to-talk from anywhere on the desktop (X11 via pynput).

    `submit` must be thread-safe (the bridge's `submit`): it is called on pynput's thread.
    In toggle mode one press starts listening and the next ends it.
    """

    def __init__(self, combo: str, submit: Callable[[ev.Command], None], toggle: bool = False,
                 repeat: KeyRepeat | None = None):
        self.combo = combo.strip()
        self.submit = submit
        self.toggle = toggle
        self.repeat = repeat
        self._quiet: int | None = None  # the keysym whose repeat we hold off now
        self._listener = None
        self._lock = threading.Lock()
        self._pressed: set = set()
        self._keys: set = set()
        self._active = False
        self._talking = False
        self._pending_up: threading.Timer | None = None
        self._pending_key = None

    def start(self) -> str:
        """Start listening; returns a sentence for the status line / Help saying what works."""
        if not self.combo:
            return "Global push-to-talk is off (Settings, Global shortcut)."
        kind = session_type()
        if kind != "x11":
            return "Global push-to-talk needs an X11 desktop; hold Space in the window instead."
        try:
            from pynput import keyboard
        except ImportError as exc:  # pynput missing, or no X connection
            return (f"Global push-to-talk is unavailable ({exc}). Install pynput, or hold Space "
                    "in the window.")
        try:
            self._keys = set(keyboard.HotKey.parse(pynput_combo(self.combo)))
        except ValueError as exc:
            return (f"The global shortcut '{key_text(self.combo)}' is not understood ({exc}). "
                    "Write it like Ctrl+Alt+Space in Settings.")
        self._listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
        self._listener.daemon = True
        self._listener.start()
        return f"Global push-to-talk: {key_text(self.combo)} (works in any window)."

    def stop(self) -> None:
        with self._lock:
            if self._pending_up is not None:
                self._pending_up.cancel()
                self._pending_up = None
            self._quiet_repeat(False)
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    # -- pynput thread ---------------------------------------------------------------------------

    def _canonical(self, key):
        return self._listener.canonical(key) if self._listener is not None else key

    def _quiet_repeat(self, modifiers_held: bool) -> None:
        """Hold the combo's last key's repeat off while its modifiers are down (lock held)."""
        if self.repeat is None:
            return
        if modifiers_held and self._quiet is None:
            keysym = _keysym(self._main_key())
            if keysym and self.repeat.hold_off(keysym):
                self._quiet = keysym
        elif not modifiers_held and self._quiet is not None:
            self.repeat.let_go(self._quiet)
            self._quiet = None

    def _main_key(self):
        keys = [k for k in self._keys if k not in _MODIFIERS]
        return keys[0] if len(keys) == 1 and len(self._keys) > 1 else None

    def _modifiers_held(self) -> bool:
        mods = {k for k in self._keys if k in _MODIFIERS}
        return bool(mods) and mods <= self._pressed

    def _on_press(self, key) -> None:
        with self._lock:
            canonical = self._canonical(key)
            self._pressed.add(canonical)
            self._quiet_repeat(self._modifiers_held())
            if self._pending_up is not None and canonical == self._pending_key:
                # X auto-repeat: a release+press pair of the same key. Still held.
                self._pending_up.cancel()
                self._pending_up = None
                return
            if self._active or not self._keys or not self._keys <= self._pressed:
                return
            self._active = True
            if self.toggle:
                self._talking = not self._talking
                command: ev.Command = ev.PushToTalkDown() if self._talking else ev.PushToTalkUp()
            else:
                command = ev.PushToTalkDown()
        self.submit(command)

    def _on_release(self, key) -> None:
        with self._lock:
            canonical = self._canonical(key)
            self._pressed.discard(canonical)
            self._quiet_repeat(self._modifiers_held())
            if not self._active or canonical not in self._keys:
                return
            if self._pending_up is not None:
                return
            # Counted as a release only if no press of that key follows within the debounce
            # (auto-repeat sends release+press pairs); the command is made now, at the real
            # release. In toggle mode a release only re-arms the combo.
            command = None if self.toggle else ev.PushToTalkUp()
            self._pending_key = canonical
            self._pending_up = threading.Timer(RELEASE_DEBOUNCE_S, self._release, (command,))
            self._pending_up.daemon = True
            self._pending_up.start()

    def _release(self, command: ev.PushToTalkUp | None) -> None:
        with self._lock:
            if self._pending_up is None:
                return
            self._pending_up = None
            self._active = False
        if command is not None:
            self.submit(command)


def _modifier_keys() -> frozenset:
    try:
        from pynput.keyboard import Key
    except ImportError:  # no pynput: no global key either
        return frozenset()
    return frozenset(getattr(Key, name) for name in (
        "ctrl", "ctrl_l", "ctrl_r", "alt", "alt_l", "alt_r", "alt_gr", "shift", "shift_l",
        "shift_r", "cmd", "cmd_l", "cmd_r") if hasattr(Key, name))


class _Modifiers:
    """The pynput modifier keys, looked up when first needed (pynput needs an X display)."""

    _keys: frozenset | None = None

    def __contains__(self, key) -> bool:
        if _Modifiers._keys is None:
            _Modifiers._keys = _modifier_keys()
        return key in _Modifiers._keys


_MODIFIERS = _Modifiers()


def _keysym(key) -> int:
    """The X keysym of a pynput key (a Key or a KeyCode); 0 when it has none."""
    if key is None:
        return 0
    code = getattr(key, "value", key)  # Key.space.value is a KeyCode
    if getattr(code, "vk", None):
        return int(code.vk)
    char = getattr(code, "char", None)
    return ord(char) if char and len(char) == 1 and ord(char) < 0x100 else 0
