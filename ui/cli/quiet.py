"""Library noise kept off the user's terminal (unless `--debug`).

ALSA, under PortAudio, writes its own lines to stderr ("ALSA lib pcm.c:8570:(snd_pcm_recover)
underrun occurred") whenever a device hiccups: many per session with PulseAudio's plugin, none of
them anything a user can act on (Glimpse counts underruns itself, for `glimpse bench e2e`). They
go through ALSA's error handler, which is replaced here with one that only counts them. With
`--debug` ALSA keeps its own handler, so every line is printed as before.

Why a Python handler is cheap enough: ALSA calls it on PortAudio's audio thread, which already
takes the interpreter lock for every block (the speaker's callback is Python), and only when
something went wrong.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

# void (*)(const char *file, int line, const char *function, int err, const char *fmt, ...):
# the variable arguments are never read, so the fixed part is all the prototype needs.
_HANDLER_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_int, ctypes.c_char_p)
_handler = None  # kept alive for as long as ALSA may call it
alsa_messages = 0  # lines ALSA would have printed


def _count(_file, _line, _function, _err, _fmt) -> None:
    global alsa_messages
    alsa_messages += 1


def quiet_alsa() -> bool:
    """Replace ALSA's error printer (process-wide). False when there is no ALSA library."""
    global _handler
    if _handler is not None:
        return True
    name = ctypes.util.find_library("asound") or "libasound.so.2"
    try:
        lib = ctypes.CDLL(name)
        set_handler = lib.snd_lib_error_set_handler
    except (OSError, AttributeError) as exc:
        log.debug("no ALSA library to quiet (%s)", exc)
        return False
    _handler = _HANDLER_TYPE(_count)
    set_handler.argtypes = [_HANDLER_TYPE]
    set_handler(_handler)
    return True


def quiet_libraries() -> None:
    """Everything this module keeps quiet (called once by `glimpse` without --debug)."""
    quiet_alsa()
