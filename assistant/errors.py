"""Errors that carry what to do about them, and the one place exceptions become user messages."""
from __future__ import annotations

import errno


class GlimpseError(Exception):
    """A failure the user can act on. `str()` gives "what happened. What to do."

    `needs_action` marks errors the user must fix before trying again (pick another device,
    download a model); the UI shows those in a dialog, the rest only in the status line.
    """

    def __init__(self, what: str, hint: str = "", *, needs_action: bool = False) -> None:
        self.what = what.rstrip(". ")
        self.hint = hint.strip()
        self.needs_action = needs_action
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.what}. {self.hint}" if self.hint else f"{self.what}."


class ConfigError(GlimpseError):
    pass


class ModelError(GlimpseError):
    """A model is missing, corrupt or cannot be fetched."""


class DeviceError(GlimpseError):
    """A microphone, speaker or camera is missing, busy or gone."""


def describe_exception(exc: BaseException) -> tuple[str, bool]:
    """Turn any exception into (message for the user, needs_action).

    GlimpseErrors already say what to do; common library errors get a hint here so a stage never
    shows a bare traceback text.
    """
    if isinstance(exc, GlimpseError):
        return exc.message, exc.needs_action
    name = type(exc).__name__
    text = str(exc) or name
    if name == "PortAudioError":
        return (f"The audio system reported: {text}. Check that a microphone and speaker are "
                "connected and that an audio server (PulseAudio or PipeWire) is running; "
                "`glimpse devices` lists what Glimpse can see."), True
    if isinstance(exc, MemoryError) or "out of memory" in text.lower():
        return (f"Out of memory ({text}). Choose a smaller model in Settings, or close other "
                "programs."), True
    if isinstance(exc, FileNotFoundError):
        return f"File not found: {exc.filename or text}. Check the path.", True
    if isinstance(exc, PermissionError):
        return f"Permission denied: {exc.filename or text}. Check the file's permissions.", True
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "The disk is full. Free some space and try again.", True
    return f"{name}: {text}. Run with --debug for details, and report it if it repeats.", False
