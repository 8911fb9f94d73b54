"""Ports: what the pipeline needs from devices and engines.

Each port has a real adapter (sounddevice, OpenCV, Whisper, transformers, Piper...) in `audio/`
or `vision/`, and a fake in `tests/support/fakes.py`. `ui/bootstrap.py` picks which.

Engines follow whisper's shape: `load()` once (on a stage thread), then calls with frozen
options in and a typed result out. Audio is float32 mono in [-1, 1].

Optional hooks (an engine may start on the frame before the question, a speaker may sleep when
idle...) are declared here with a default that does nothing, so a stage calls them directly.
Adapters and fakes subclass the port to inherit the defaults; one that does not must define
every member, hooks included.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol, runtime_checkable

import numpy as np

from assistant.events import Frame, Mode
from assistant.stage import CancelToken

# --------------------------------------------------------------------------- devices


@runtime_checkable
class Microphone(Protocol):
    """Delivers 16 kHz mono float32 chunks. Threads: `read` is called by the capture stage only."""

    sample_rate: int  # of the chunks `read` returns (16000)

    def open(self) -> None:
        """Open the device. Raises DeviceError with the list of available devices on failure."""

    def read(self, timeout: float) -> np.ndarray | None:
        """The next chunk, or None if none arrived within `timeout` seconds.

        Raises DeviceError when the device was lost (unplugged).
        """

    def close(self) -> None: ...

    @property
    def dropped(self) -> int:
        """Chunks the device callback could not queue (the consumer was too slow)."""


@runtime_checkable
class Speaker(Protocol):
    """Plays float32 mono audio. `enqueue` never blocks long; `clear` silences at once."""

    def open(self) -> None: ...

    def enqueue(self, samples: np.ndarray, sample_rate: int, tag: int,
                on_start: Callable[[float], None] | None = None) -> None:
        """Queue audio. `tag` is the generation; `on_start(t)` is called (from the audio thread)
        with the monotonic time the chunk's first sample went to the device."""

    def clear(self) -> None:
        """Drop everything queued and stop the current sound within one device block (barge-in)."""

    def pending(self) -> float:
        """Seconds of audio queued and not yet played."""

    def close(self) -> None: ...

    # ----- optional hooks, with what a speaker without them does
    #: Whether `play_earcon` sounds: a lane mixed over speech that `clear()` leaves alone.
    earcon_lane: bool = False

    def play_earcon(self, samples: np.ndarray, sample_rate: int) -> None:
        """Play a short sound over speech (any thread). Default: no earcon lane, nothing."""

    def wake(self) -> None:
        """Start a stream that rests while idle, ahead of the answer (the pipeline calls it when
        a question starts). Default: nothing rests, nothing to wake."""

    def clear_before(self, tag: int) -> None:
        """Drop queued audio of generations older than `tag`, keeping newer audio. Default:
        `clear()`, everything."""
        self.clear()

    def stalled(self) -> float:
        """Seconds the device has been taking no audio while audio was queued (a lost output
        device). Default: 0, it never stalls."""
        return 0.0


@runtime_checkable
class Camera(Protocol):
    """Keeps the latest frame from a source, on its own thread."""

    source: str

    def open(self) -> None: ...

    def latest(self) -> Frame | None:
        """The newest frame, or None if none yet (or the source is lost)."""

    def close(self) -> None: ...

    # ----- optional hooks: a camera that reports outages from its own thread calls these
    # (the camera stage sets them); `error` says why there is no picture. Defaults: none.
    on_error: Callable[[str], None] | None = None
    on_recovered: Callable[[], None] | None = None
    on_notice: Callable[[str], None] | None = None
    error: str | None = None


# --------------------------------------------------------------------------- engines


@dataclass(frozen=True)
class AsrOptions:
    language: str | None = None  # None: detect
    initial_prompt: str = ""
    hotwords: tuple[str, ...] = ()
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    partial: bool = False  # a partial decode while the key is held: may be cheaper


@dataclass(frozen=True)
class AsrResult:
    text: str
    language: str | None = None
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    rejected: str | None = None  # why the text was suppressed (silence, no-speech, ...)


@runtime_checkable
class AsrEngine(Protocol):
    name: str

    def load(self) -> None: ...

    def transcribe(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        """`audio` is 16 kHz mono float32."""

    def set_partial_abort(self, check: Callable[[], bool]) -> None:
        """Optional: `check()` (cheap, any thread) says a final utterance is waiting, so a
        partial decode may stop early. The ASR stage hands it over after `load()`. Default:
        partial decodes always finish."""


@dataclass(frozen=True)
class VlmRequest:
    question: str
    frame: Frame | None = None
    mode: Mode = Mode.ASK
    # Earlier (question, answer) pairs about the same frame, oldest first.
    history: tuple[tuple[str, str], ...] = ()
    # Text the local perception found (OCR, objects): grounds the answer.
    grounding: str = ""
    language: str | None = None
    max_new_tokens: int = 256


@runtime_checkable
class VlmEngine(Protocol):
    """Answers questions about a frame. Threads: the answer stage's, for every method."""

    name: str
    #: Messages for the user about how the engine answers (a fallback, a failed aid); the answer
    #: stage passes on each new one as a Notice. Grows; never rewritten.
    warnings: tuple[str, ...] = ()

    def load(self) -> None: ...

    def stream(self, request: VlmRequest, cancel: CancelToken) -> Iterator[str]:
        """Yield answer text pieces as they are generated; stop promptly once `cancel.cancelled`."""

    def prepare_frame(self, frame: Frame, cancel: CancelToken | None = None,
                      history: tuple[tuple[str, str], ...] = ()) -> None:
        """A frame the next question will be about, before the question: the live view while
        idle, the press's frame, the turn's frame at release, with the earlier (question,
        answer) pairs about it that the question will carry. Start on the image (OCR, image
        encoding, the prompt so far) now; stop early, keeping nothing half done, once
        `cancel.cancelled` (a press ends an idle look). Default: nothing."""

    def prepare_question(self, text: str, mode: Mode, turn_id: int) -> None:
        """The question so far, while the key is held: start what it asks for (the describer
        reads the early frame when it hears "read"). Default: nothing."""


@dataclass(frozen=True)
class TtsOptions:
    voice: str = ""
    rate: float = 1.0  # 1.0 = the voice's normal speed
    language: str | None = None


@dataclass(frozen=True)
class TtsAudio:
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sample_rate: int = 22050


@runtime_checkable
class TtsEngine(Protocol):
    name: str
    #: A message for the user about the voice (e.g. a fallback to another engine), taken once:
    #: the TTS stage emits it as a Notice and sets it back to None.
    notice: str | None = None

    def load(self) -> None: ...

    def synthesize(self, text: str, options: TtsOptions) -> Iterator[TtsAudio]:
        """Yield audio for `text`, in one or more pieces."""
