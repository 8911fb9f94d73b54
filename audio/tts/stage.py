"""The TTS stage: answer tokens in, speech chunks out.

Tokens go through a per-turn `SentenceChunker`; each piece is synthesized as soon as it is
complete (the first one is a short clause, so speech starts early), and synthesis runs ahead of
playback on this stage's own thread, so there are no gaps between pieces. `Answer` flushes the
rest and ends the turn's stream with a final (possibly empty) `SpeechChunk`.

The first sound of a turn starts at once: voices begin each synthesis with a quiet lead-in (Piper:
30-60 ms below -54 dBFS), which the listener waits through before the first word. The first chunk
of a turn keeps only `LEAD_IN_KEEP_S` of it; the pauses between pieces are the voice's own and
stay, except where the chunker cut the first piece inside a clause ("It looks like | an espresso."):
there the first piece's quiet tail and the next piece's lead-in are cut to `JOIN_GAP_S` in all,
so the sentence is heard without a pause (Piper leaves ~180 ms + ~45 ms there).

No pause inside an answer: the stage keeps the time at which the speech it has made for the
turn will have played (`_heard_until`, from each chunk's length, from the first chunk on). When a
token arrives and less than `LOW_WATER_S` of speech is left while the sentence is not finished,
it speaks what is written so far (to its last clause mark, else its last whole word:
`SentenceChunker.cut_short`) instead of waiting for the sentence's end, so a model that writes
about as fast as the voice speaks is not heard in bursts. A model that writes faster keeps the
buffer full and its pieces whole sentences.

Engines cannot emit events; an engine that fell back to another voice leaves a message in its
`notice` attribute, which this stage turns into an `ev.Notice` (and clears).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import numpy as np

from assistant import events as ev
from assistant.events import StageName
from assistant.ports import TtsEngine, TtsOptions
from assistant.stage import Generation, Outbox, Stage
from audio.tts.chunker import SentenceChunker


#: What is quiet before the first word (|sample| below this, about -54 dBFS).
LEAD_IN_LEVEL = 0.002
#: Quiet kept before the first word of a turn, so it does not start with a click.
LEAD_IN_KEEP_S = 0.01
#: Quiet between two pieces of one clause (a word gap: the tail keeps all but `LEAD_IN_KEEP_S`).
JOIN_GAP_S = 0.05
#: Speech left to play under which the stage speaks the words it has instead of waiting for
#: the sentence's end: a short piece's synthesis (Piper, 2 to 5 words: 60-150 ms on 2 cores,
#: more while the model decodes beside it) with room to spare.
LOW_WATER_S = 0.4


def trim_lead_in(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """`samples` without the quiet before the first sound, less `LEAD_IN_KEEP_S` (all of it
    when nothing is louder than `LEAD_IN_LEVEL`: silence is not trimmed away entirely)."""
    loud = np.flatnonzero(np.abs(samples) > LEAD_IN_LEVEL)
    if not loud.size:
        return samples
    start = max(0, int(loud[0]) - int(LEAD_IN_KEEP_S * sample_rate))
    return samples[start:] if start else samples


def trim_tail(samples: np.ndarray, sample_rate: int, keep_s: float) -> np.ndarray:
    """`samples` without the quiet after the last sound, less `keep_s` (unchanged when nothing
    is louder than `LEAD_IN_LEVEL`)."""
    loud = np.flatnonzero(np.abs(samples) > LEAD_IN_LEVEL)
    if not loud.size:
        return samples
    return samples[: min(samples.size, int(loud[-1]) + 1 + int(keep_s * sample_rate))]


class TtsStage(Stage):
    name = StageName.TTS

    def __init__(self, outbox: Outbox, generation: Generation, engine: TtsEngine,
                 options: TtsOptions = TtsOptions()) -> None:
        super().__init__(outbox, generation)
        self.engine = engine
        self.options = options
        self._chunkers: dict[int, SentenceChunker] = {}
        self._started: tuple[int, int] | None = None  # (turn, generation) that has sounded
        self._joined: tuple[int, int] | None = None  # ... whose next piece continues a clause
        # (turn, generation) -> when the speech made for it will have played (monotonic s).
        self._heard_until: dict[tuple[int, int], float] = {}

    def setup(self) -> None:
        self.emit(ev.Status(stage=self.name, state="loading", detail=self.engine.name))
        self.engine.load()
        self._emit_notice(0)
        self.emit(ev.Status(stage=self.name, state="ready", detail=self.engine.name))

    def _emit_notice(self, turn_id: int) -> None:
        notice = self.engine.notice
        if notice:
            self.engine.notice = None
            self.emit(ev.Notice(message=notice, turn_id=turn_id))

    def interrupt(self) -> None:
        # Old turns' half sentences must not leak into the next turn.
        self._chunkers = {}
        self._heard_until = {}

    def _running_low(self, item: ev.Data) -> bool:
        """Whether the turn's speech made so far has less than `LOW_WATER_S` left to play."""
        until = self._heard_until.get((item.turn_id, item.gen))
        return until is not None and until - ev.now() < LOW_WATER_S

    def _options_for(self, language: str | None) -> TtsOptions:
        """The answer's language (carried by its tokens and the answer) picks the voice."""
        if language and language != self.options.language:
            return replace(self.options, language=language)
        return self.options

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if isinstance(item, ev.AnswerToken):
            chunker = self._chunkers.setdefault(item.turn_id, SentenceChunker())
            first = chunker.emitted
            pieces = chunker.push(item.text)
            if not pieces and self._running_low(item):
                short = chunker.cut_short()
                pieces = [short] if short else []
            for index, piece in enumerate(pieces, first):
                yield from self._speak(piece, item, final=False,
                                       options=self._options_for(item.language),
                                       joins_next=index in chunker.cut_inside_clause)
        elif isinstance(item, ev.Answer):
            chunker = self._chunkers.pop(item.turn_id, None)
            if chunker is None:  # an answer that came whole, without tokens
                if item.turn_id == 0:
                    self._started = None  # each spoken notice is its own first sound
                chunker = SentenceChunker()
                first, pieces = 0, chunker.push(item.text) + chunker.flush()
            else:
                first, pieces = chunker.emitted, chunker.flush()
            options = self._options_for(item.language)
            for index, piece in enumerate(pieces, first):
                yield from self._speak(piece, item, final=False, options=options,
                                       joins_next=index in chunker.cut_inside_clause)
            self._heard_until.pop((item.turn_id, item.gen), None)
            yield ev.SpeechChunk(samples=np.zeros(0, np.float32), final=True,
                                 turn_id=item.turn_id, gen=item.gen)

    def _speak(self, text: str, item: ev.Data, final: bool, options: TtsOptions | None = None,
               joins_next: bool = False) -> Iterator[ev.Event]:
        """Synthesize one piece. `joins_next`: the piece ends inside a clause, so its last audio
        waits until the synthesis ends and loses its quiet tail (see the module docstring)."""
        token = self.token(item)
        if token.cancelled:
            return
        key = (item.turn_id, item.gen)

        def chunk(samples: np.ndarray, sample_rate: int) -> ev.SpeechChunk:
            start = max(self._heard_until.get(key, 0.0), ev.now())
            self._heard_until[key] = start + samples.size / sample_rate
            return ev.SpeechChunk(samples=samples, sample_rate=sample_rate, text=text,
                                  final=final, turn_id=item.turn_id, gen=item.gen)

        held: tuple[np.ndarray, int] | None = None
        for audio in self.engine.synthesize(text, options or self.options):
            self._emit_notice(item.turn_id)
            if token.cancelled:
                return
            if not audio.samples.size:
                continue
            samples = audio.samples
            if self._started != key or self._joined == key:  # the turn's first sound, or a join
                self._started, self._joined = key, None
                samples = trim_lead_in(samples, audio.sample_rate)
            if held is not None:
                yield chunk(*held)
            held = (samples, audio.sample_rate)
            if not joins_next:
                yield chunk(*held)
                held = None
        if held is not None:
            samples, rate = held
            yield chunk(trim_tail(samples, rate, max(0.0, JOIN_GAP_S - LEAD_IN_KEEP_S)), rate)
            self._joined = key
        self._emit_notice(item.turn_id)
