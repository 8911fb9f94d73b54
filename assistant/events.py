"""Everything that moves through the pipeline, as frozen dataclasses.

Two kinds, as in pipecat:
- *Urgent* events (`Urgent` subclasses): commands from the user (push-to-talk, stop, shutdown),
  errors and status. They travel in their own lane of every queue (`assistant.stage.Lanes`),
  which is served before any queued data and never drops, and no generation check applies to
  them. A Stop behind a thousand queued tokens is handled next.
- *Data* events carry a turn (`turn_id`) and a generation (`gen`). They wait in order behind
  urgent events; a stage inbox that is full refuses them (counted and reported). When the
  generation moves on (a new press, Stop), every data event of an older generation is dropped
  unseen.

Audio is float32 mono in [-1, 1] unless a field says otherwise; times are `time.monotonic()` seconds.
Queue element types are named at the bottom of this module.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Union

import numpy as np


def now() -> float:
    """The pipeline's clock: monotonic seconds."""
    return time.monotonic()


class Mode(str, Enum):
    """What a turn asks for. The UI's mode switch and `SetMode` pick it."""

    ASK = "ask"  # answer the spoken question about the frame
    DESCRIBE = "describe"  # describe the scene (accessibility mode)
    READ = "read"  # read the text in the frame verbatim


class StageName(str, Enum):
    """Stage names, used in ErrorEvent and Status."""

    CAPTURE = "capture"
    ASR = "asr"
    CAMERA = "camera"
    ANSWER = "answer"
    TTS = "tts"
    PLAYBACK = "playback"
    PIPELINE = "pipeline"
    MODELS = "models"
    WATCH = "watch"


# --------------------------------------------------------------------------- base classes


@dataclass(frozen=True)
class Event:
    """Anything on a queue. `t` is when it was made."""

    t: float = field(default_factory=now, kw_only=True)


@dataclass(frozen=True)
class Urgent(Event):
    """Served before queued data, never dropped (by a full inbox or an interruption)."""


@dataclass(frozen=True)
class Data(Event):
    """Belongs to one turn; dropped when its generation is stale."""

    turn_id: int = field(default=0, kw_only=True)
    gen: int = field(default=0, kw_only=True)


# --------------------------------------------------------------------------- commands (UI -> core)


@dataclass(frozen=True)
class Command(Urgent):
    """An intent from the user. Sent with `Pipeline.submit()`."""


@dataclass(frozen=True)
class PushToTalkDown(Command):
    pass


@dataclass(frozen=True)
class PushToTalkUp(Command):
    pass


@dataclass(frozen=True)
class Ask(Command):
    """A typed question: skips speech input."""

    text: str = ""


@dataclass(frozen=True)
class Describe(Command):
    """Describe the current frame now, in the given mode (default: the pipeline's mode)."""

    mode: Mode | None = None


@dataclass(frozen=True)
class AskAudio(Command):
    """A spoken question from a file or buffer: a full turn without the microphone."""

    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sample_rate: int = 16000


@dataclass(frozen=True)
class Speak(Command):
    """Say something that is not an answer (an error, a notice, "ready") in Glimpse's voice.

    It belongs to no turn, so it never ends one; a new press silences it like any speech."""

    text: str = ""


@dataclass(frozen=True)
class Stop(Command):
    """Cancel the running answer and silence playback."""


@dataclass(frozen=True)
class SetMode(Command):
    mode: Mode = Mode.ASK


@dataclass(frozen=True)
class NewFrame(Command):
    """Forget the frozen frame: the next turn takes a fresh one."""


@dataclass(frozen=True)
class Shutdown(Command):
    pass


# --------------------------------------------------------------------------- data events


@dataclass(frozen=True)
class Utterance(Data):
    """One finished utterance: what was said between press and release (plus pre-roll)."""

    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sample_rate: int = 16000
    reason: str = "release"  # release | cap | vad | device-lost | file
    # False for the growing snapshots sent while the key is held (partial transcripts).
    final: bool = True
    # Text decoded from the same audio while the key was held; the ASR stage may reuse it.
    partial_text: str = ""

    @property
    def seconds(self) -> float:
        return len(self.samples) / float(self.sample_rate)


@dataclass(frozen=True)
class Transcript(Data):
    text: str = ""
    partial: bool = False
    language: str | None = None
    # Why the text is empty, when it is: "silence", "no-speech", "low-confidence"...
    rejected: str | None = None


@dataclass(frozen=True)
class Frame(Data):
    """A camera image, BGR uint8 (OpenCV's layout). `captured_at` is when the camera got it."""

    image: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 3), np.uint8))
    captured_at: float = 0.0
    source: str = ""
    sharpness: float = 0.0

    @property
    def age(self) -> float:
        """Seconds since capture."""
        return now() - self.captured_at

    @property
    def key(self) -> tuple:
        """What makes two frames the same picture: capture time, source and size (engines keep
        their work on a frame under this key)."""
        return (self.captured_at, self.source, self.image.shape)


@dataclass(frozen=True)
class EarlyFrame(Frame):
    """The frame at the key press (camera -> answer stage): the answer engine looks at it while
    the question is spoken. The turn's own frame is still chosen at release; it is this same
    frame while the scene has not changed, so that look is not wasted."""


@dataclass(frozen=True)
class IdleFrame(Frame):
    """The live view, settled, while no turn runs (camera -> answer stage): the engine may look
    at it before anyone asks (the VLM encodes the image and the instructions), within the
    answer stage's idle-CPU budget. The camera keeps this frame as the view's frame, so a press
    on the same view is answered about it and finds that work done. Sent again while the view
    stays the same, for an engine that had no budget left the first time."""


@dataclass(frozen=True)
class QuestionSoFar(Data):
    """The question as heard so far, while the key is held (pipeline -> answer stage): an
    engine may start work it asks for ("read this" starts the reader on the early frame)."""

    text: str = ""
    mode: Mode = Mode.ASK


@dataclass(frozen=True)
class NoFrame(Data):
    """The camera had no frame for the turn (no camera, or the source is lost)."""

    reason: str = ""


# Control events the pipeline sends to stages (data events: dropped when stale).


@dataclass(frozen=True)
class BeginUtterance(Data):
    """Capture: start collecting (keeping the pre-roll)."""


@dataclass(frozen=True)
class EndUtterance(Data):
    """Capture: finish the utterance and emit it."""


@dataclass(frozen=True)
class BeginBurst(Data):
    """Camera: start keeping a burst of frames for the turn."""


@dataclass(frozen=True)
class EndBurst(Data):
    """Camera: choose the sharpest frame of the burst (or the latest) and emit it as `Frame`."""


@dataclass(frozen=True)
class Snapshot(Data):
    """Camera: emit the current frame (typed questions, describe)."""


@dataclass(frozen=True)
class MicGate(Urgent):
    """Capture: stop (`open=False`) or resume listening, so Glimpse never hears itself."""

    open: bool = True


@dataclass(frozen=True)
class Question(Data):
    """What the answer stage is asked: text, the turn's frame (or none), and the mode."""

    text: str = ""
    frame: Frame | None = None
    mode: Mode = Mode.ASK
    language: str | None = None
    # True when the frame is the same one the previous turn used (a follow-up question).
    follow_up: bool = False
    # What watch mode is looking for right now ("" when it is not watching), so "stop" and a
    # new "tell me when..." can be answered in context.
    watching: str = ""


@dataclass(frozen=True)
class WatchFor(Data):
    """Start watch mode for `query` ("keys"), replacing any watch; `query` "" stops it. Made by
    the answer stage from "tell me when you see my keys" or "stop"; the pipeline passes it to
    the watch stage. `kind`: find (`query` the object) or light (`query` "on" or "off")."""

    kind: str = "find"
    query: str = ""


@dataclass(frozen=True)
class AnswerToken(Data):
    """A piece of the answer as the engine streams it. `language` is the question's language
    (None: the configured one), so the speech stage picks the voice from the token itself."""

    text: str = ""
    index: int = 0
    language: str | None = None


@dataclass(frozen=True)
class Answer(Data):
    """The whole answer; marks the end of the token stream for the turn."""

    text: str = ""
    source: str = ""  # which engine answered: vlm, remote, describer
    language: str | None = None


@dataclass(frozen=True)
class SpeechChunk(Data):
    """Synthesized audio for one piece of the answer. `final` marks the last chunk of the turn."""

    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sample_rate: int = 22050
    text: str = ""
    final: bool = False


@dataclass(frozen=True)
class PlaybackStarted(Data):
    """The first sample of the turn reached the output device at `played_at`."""

    played_at: float = 0.0


@dataclass(frozen=True)
class PlaybackDone(Data):
    """Everything of the turn has been played (or the turn had nothing to say)."""


# --------------------------------------------------------------------------- urgent events


@dataclass(frozen=True)
class Level(Urgent):
    """Microphone level for the meter, about 20 Hz. `rms` and `peak` in [0, 1]."""

    rms: float = 0.0
    peak: float = 0.0


@dataclass(frozen=True)
class Sighting(Urgent):
    """Watch mode saw what it was looking for. `message` is what to say ("There's a cup, at
    2 o'clock, close to you."); `captured_at` the frame's capture time (monotonic) and
    `latency_s` from then until the finder was sure; `frames` looked at."""

    query: str = ""
    message: str = ""
    captured_at: float = 0.0
    latency_s: float = 0.0
    frames: int = 0


@dataclass(frozen=True)
class LightLevel(Urgent):
    """Watch mode on the light: the frame's brightness 0..1, a few times a second, for the
    light-level earcon (its pitch rises with brightness)."""

    brightness: float = 0.0


@dataclass(frozen=True)
class Preview(Urgent):
    """A downscaled camera frame for the UI (BGR uint8)."""

    image: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 3), np.uint8))
    captured_at: float = 0.0


@dataclass(frozen=True)
class Status(Urgent):
    """A stage's state, for the status line: idle, loading, listening, thinking, speaking, ..."""

    stage: StageName = StageName.PIPELINE
    state: str = "idle"
    detail: str = ""
    turn_id: int = 0


@dataclass(frozen=True)
class Notice(Urgent):
    """Something the user should read that is not an error (cap reached, fallback used).

    `speak=True`: the pipeline also says it in Glimpse's voice (when answers are spoken), so
    every shell (window, command line) hears the same; a shell only shows it."""

    message: str = ""
    turn_id: int = 0
    speak: bool = False


@dataclass(frozen=True)
class ErrorEvent(Urgent):
    """A failure, turned into data. `message` says what happened and what to do."""

    stage: StageName = StageName.PIPELINE
    message: str = ""
    recoverable: bool = True
    turn_id: int = 0
    # Set when the user has to act (pick another device, download a model): the UI shows a dialog.
    needs_action: bool = False


@dataclass(frozen=True)
class LookedAhead(Urgent):
    """The answer engine looked at an idle view (answer stage -> whoever listens: benchmarks,
    logs): which frame, how long it took (`seconds`) and the CPU it used (`cpu_s`), or that a
    press cancelled it."""

    captured_at: float = 0.0
    seconds: float = 0.0
    cpu_s: float = 0.0
    cancelled: bool = False


@dataclass(frozen=True)
class Metrics(Urgent):
    """One turn's timeline: monotonic timestamps, None where the turn had no such moment."""

    turn_id: int = 0
    press: float | None = None
    release: float | None = None
    final_transcript: float | None = None
    frame_chosen: float | None = None
    first_token: float | None = None
    first_audio_queued: float | None = None
    first_audio_played: float | None = None
    done: float | None = None
    cancelled: bool = False

    MARKS = (
        "press",
        "release",
        "final_transcript",
        "frame_chosen",
        "first_token",
        "first_audio_queued",
        "first_audio_played",
        "done",
    )

    def durations_ms(self) -> dict[str, float]:
        """Milliseconds from release (or, for typed turns, from the transcript) to each mark."""
        origin = self.release if self.release is not None else self.final_transcript
        out: dict[str, float] = {}
        if origin is None:
            return out
        for name in self.MARKS:
            value = getattr(self, name)
            if value is not None and name not in ("press", "release"):
                out[name] = (value - origin) * 1000.0
        return out

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("turn_id", *self.MARKS, "cancelled")}


@dataclass(frozen=True)
class TurnStarted(Urgent):
    turn_id: int = 0
    mode: Mode = Mode.ASK


@dataclass(frozen=True)
class TurnEnded(Urgent):
    """The turn is finished (answered, empty, failed or cancelled).

    `dropped`: the turn never became a question (a push-to-talk tap shorter than the minimum
    press). Shells forget it, history keeps nothing, and the next turn takes its number."""

    turn_id: int = 0
    transcript: str = ""
    answer: str = ""
    cancelled: bool = False
    dropped: bool = False


# --------------------------------------------------------------------------- queue element types

#: What a stage inbox holds. `None` is the end sentinel.
InboxItem = Union[Event, None]
#: What the pipeline's output queue (drained by the UI bridge or the CLI) holds: what a shell
#: shows. Speech chunks and playback marks stay inside (listeners see them; see Pipeline).
OutputItem = Event
