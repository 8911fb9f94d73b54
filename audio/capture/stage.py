"""The capture stage: microphone chunks in, utterances out.

It keeps a pre-roll ring of the last `preroll_s` seconds, so speech that began just before the
key press is kept; emits `Level` for the meter, 20 times a second while a question is recorded
and 10 when idle; caps an utterance at
`max_utterance_s` (the cap ends it); and drops audio while gated (Glimpse is speaking).

Hands-free (`hands_free=True`): a streaming Silero VAD listens to every chunk and the stage puts
`PushToTalkDown` on the bus when speech starts and `PushToTalkUp` after `vad_silence_ms` of
silence, exactly as the push-to-talk key would; the pre-roll keeps the first syllable the VAD
needed to be sure. While gated it hears nothing (and forgets the VAD state), so Glimpse never
answers itself.

Toggle mode needs nothing here: the UI sends Down on one press and Up on the next.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from assistant import events as ev
from assistant.errors import DeviceError
from assistant.events import StageName
from assistant.ports import Microphone
from assistant.stage import Generation, Outbox, Stage


@dataclass(frozen=True)
class CaptureOptions:
    preroll_s: float = 0.5
    max_utterance_s: float = 60.0
    level_hz: float = 20.0
    idle_level_hz: float = 10.0  # the meter when no question is being recorded
    # Seconds between growing snapshots sent for partial transcripts; 0 = none.
    partial_interval_s: float = 0.5
    reopen_backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)
    hands_free: bool = False
    vad_silence_ms: int = 800
    vad_threshold: float = 0.5


class CaptureStage(Stage):
    name = StageName.CAPTURE
    # Chunks arrive every ~40 ms. While a question is recorded the stage reads them as they
    # come (partials, the meter); when idle it reads every 100 ms, a few at a time: each wake
    # costs CPU (~0.1 ms on a small VM) and nothing waits for them. A press or release is
    # handled at once (BeginUtterance / EndUtterance read whatever is buffered first), so this
    # adds no latency; hands-free, the VAD hears the same chunks up to 60 ms later, which the
    # pre-roll covers.
    busy_poll_s = 0.04
    idle_poll_s = 0.1

    def __init__(self, outbox: Outbox, generation: Generation, mic: Microphone,
                 options: CaptureOptions = CaptureOptions()) -> None:
        super().__init__(outbox, generation)
        self.mic = mic
        self.options = options
        self.rate = 16000
        self._ring: collections.deque[np.ndarray] = collections.deque()
        self._ring_len = 0
        self._utt: list[np.ndarray] | None = None
        self._utt_len = 0
        self._utt_tag: tuple[int, int] = (0, 0)
        self._last_partial_len = 0
        self._gated = False
        self._level_buf: list[np.ndarray] = []
        self._level_len = 0
        self._lost_at: float | None = None
        self._reopen_try = 0
        self._vad = None  # audio.capture.vad.StreamingVad in hands-free mode
        self._vad_turn = False  # a hands-free turn is open (Down sent, Up not yet)

    @property
    def poll_interval(self) -> float:  # type: ignore[override]
        return self.busy_poll_s if self._busy else self.idle_poll_s

    @property
    def _busy(self) -> bool:
        """A question is being recorded (the key is held, or a hands-free turn runs)."""
        return self._utt is not None or self._vad_turn

    # -- stage hooks (stage thread) -------------------------------------------------------------

    def setup(self) -> None:
        if self.options.hands_free and self._vad is None:
            from audio.capture.vad import StreamingVad

            self._vad = StreamingVad(threshold=self.options.vad_threshold,
                                     silence_ms=self.options.vad_silence_ms)
        self.mic.open()
        self.rate = self.mic.sample_rate

    def teardown(self) -> None:
        self.mic.close()

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if isinstance(item, ev.BeginUtterance):
            yield from self._read_available()  # the pre-roll is what was said up to now
            self._utt = list(self._ring)
            self._utt_len = self._ring_len
            self._utt_tag = (item.turn_id, item.gen)
            self._last_partial_len = 0
        elif isinstance(item, ev.EndUtterance):
            yield from self._read_available()
            if self._utt is not None and self._utt_tag == (item.turn_id, item.gen):
                yield self._finish("release")
        elif isinstance(item, ev.MicGate):
            self._gated = not item.open
            if self._gated:
                self._ring.clear()
                self._ring_len = 0
                if self._vad is not None:
                    self._vad.reset()
                    self._vad_turn = False

    def poll(self) -> Iterator[ev.Event]:
        if self._lost_at is not None:
            yield from self._try_reopen()
            return
        yield from self._read_available()

    def interrupt(self) -> None:
        pass  # a stale utterance is dropped when its EndUtterance is

    # -- internals --------------------------------------------------------------------------------

    def _read_available(self) -> Iterator[ev.Event]:
        while True:
            try:
                chunk = self.mic.read(timeout=0.0)
            except DeviceError as exc:
                yield from self._lost(exc)
                return
            if chunk is None:
                return
            yield from self._take(chunk)

    def _take(self, chunk: np.ndarray) -> Iterator[ev.Event]:
        if self._gated:
            return
        self._ring.append(chunk)
        self._ring_len += len(chunk)
        keep = int(self.options.preroll_s * self.rate)
        while self._ring and self._ring_len - len(self._ring[0]) >= keep:
            self._ring_len -= len(self._ring.popleft())
        yield from self._level(chunk)
        if self._vad is not None:
            yield from self._hands_free(chunk)
        if self._utt is None:
            return
        self._utt.append(chunk)
        self._utt_len += len(chunk)
        if self._utt_len >= self.options.max_utterance_s * self.rate:
            self._vad_turn = False  # the cap ended the hands-free turn too
            yield self._finish("cap")
            return
        step = self.options.partial_interval_s * self.rate
        if step and self._utt_len - self._last_partial_len >= step:
            self._last_partial_len = self._utt_len
            turn_id, gen = self._utt_tag
            yield ev.Utterance(samples=np.concatenate(self._utt), sample_rate=self.rate,
                               final=False, reason="partial", turn_id=turn_id, gen=gen)

    def _hands_free(self, chunk: np.ndarray) -> Iterator[ev.Event]:
        """Turn VAD speech start/end into the same commands the push-to-talk key sends."""
        assert self._vad is not None
        for event in self._vad.feed(chunk):
            if event.kind == "start" and not self._vad_turn:
                self._vad_turn = True
                yield ev.PushToTalkDown()
            elif event.kind == "end" and self._vad_turn:
                self._vad_turn = False
                yield ev.PushToTalkUp()

    def _level(self, chunk: np.ndarray) -> Iterator[ev.Event]:
        self._level_buf.append(chunk)
        self._level_len += len(chunk)
        hz = self.options.level_hz if self._busy else self.options.idle_level_hz
        if self._level_len >= self.rate / hz:
            block = np.concatenate(self._level_buf)
            self._level_buf, self._level_len = [], 0
            yield ev.Level(rms=float(np.sqrt(np.mean(block.astype(np.float64) ** 2))),
                           peak=float(np.max(np.abs(block))) if block.size else 0.0)

    def _finish(self, reason: str) -> ev.Utterance:
        samples = np.concatenate(self._utt) if self._utt else np.zeros(0, np.float32)
        turn_id, gen = self._utt_tag
        self._utt = None
        self._utt_len = 0
        return ev.Utterance(samples=samples.astype(np.float32, copy=False), sample_rate=self.rate,
                            reason=reason, turn_id=turn_id, gen=gen)

    def _lost(self, exc: DeviceError) -> Iterator[ev.Event]:
        self._lost_at = ev.now()
        self._reopen_try = 0
        if self._utt is not None:
            yield self._finish("device-lost")  # what was said so far is still transcribed
        # turn_id 0 on purpose: the turn goes on with the audio recorded so far (a turn-tagged
        # error would end it before its transcript).
        yield ev.ErrorEvent(stage=self.name, message=exc.message, recoverable=True,
                            turn_id=0, needs_action=True)

    def _try_reopen(self) -> Iterator[ev.Event]:
        backoff = self.options.reopen_backoff_s
        wait = backoff[min(self._reopen_try, len(backoff) - 1)]
        if self._lost_at is None or ev.now() - self._lost_at < wait:
            return
        self._reopen_try += 1
        self._lost_at = ev.now()
        try:
            self.mic.close()
            self.mic.open()
        except DeviceError:
            return
        self._lost_at = None
        yield ev.Notice(message="The microphone is back.")
