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


def refused_pickle(path: object, exc: BaseException) -> "ModelError | None":
    """The error for a model file the safe loader refused, or found damaged; None when `exc`
    is something else.

    A file carrying code or objects other than weights makes `torch.load(weights_only=True)`
    raise UnpicklingError with advice to re-run with `weights_only=False`, which would run that
    code: that advice is never repeated, only the offending name is kept. A truncated file or
    garbage fails to unpickle or to unzip: the message says it is damaged. Both name the file
    and the fix."""
    import pickle
    import re

    text = str(exc)
    where = f"{path} " if path else "A model file "
    fix = ("Delete it and get it again: `glimpse models verify` names the bad file, "
           "`glimpse models pull` downloads a clean copy")
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if "Weights only load failed" in text and found:
        return ModelError(f"{where}holds code or objects that are not weights (it asks for "
                          f"{found.group(1)}); Glimpse refused it and ran nothing from it", fix,
                          needs_action=True)
    damaged = ("Weights only load failed", "PytorchStreamReader", "invalid load key",
               "truncated", "central directory", "Ran out of input", "not a zip file")
    if isinstance(exc, (pickle.UnpicklingError, EOFError)) or any(d in text for d in damaged):
        return damaged_model(path, exc)
    return None


def damaged_model(path: object, exc: BaseException) -> ModelError:
    """The error for a model file that exists but does not load: unpickling garbage fails in
    many ways (KeyError from a random memo index, TypeError from a stray object, ...), and all
    of them mean the same thing to the user. Names the file and the fix."""
    where = f"{path} " if path else "A model file "
    # torch's own lines advise loading it unsafely: only the line saying what broke is kept
    advice = ("weights_only", "Weights only", "Check the documentation", "Please file")
    lines = [x.strip(" :") for x in str(exc).splitlines()
             if x.strip() and not any(a in x for a in advice)]
    first = (lines or [""])[0][:160]
    first = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return ModelError(f"{where}is damaged or not a model file ({first})",
                      "Delete it and get it again: `glimpse models verify` names the bad file, "
                      "`glimpse models pull` downloads a clean copy", needs_action=True)


def describe_exception(exc: BaseException) -> tuple[str, bool]:
    """Turn any exception into (message for the user, needs_action).

    GlimpseErrors already say what to do; common library errors get a hint here so a stage never
    shows a bare traceback text.
    """
    if isinstance(exc, GlimpseError):
        return exc.message, exc.needs_action
    refused = refused_pickle("", exc)
    if refused is not None:
        return refused.message, True
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
