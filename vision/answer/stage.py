"""The answer stage: questions in, answer tokens and the whole answer out.

Keeps the conversation memory: the last `memory_turns` (question, answer) pairs about the same
frame go with each request, so "and the one on the left?" has its context.

Looking ahead: an `IdleFrame` (the settled live view between turns) goes to the engine's
`prepare_frame` when the stage's `LookAhead` budget allows: the CPU time spent on such looks is
kept under `look_ahead_cpu` (a fraction of one core) on average, with room for one look after
a quiet minute. A look is cancelled by the next press (the frame's generation), so it never
delays a question.

Watch mode: when the pipeline has a watch stage, `watch_words(question)` (bootstrap passes
`vision.answer.intents.watch_request`) recognizes "tell me when you see my keys" and "stop"; the stage
then answers itself ("I'll tell you when I see keys...") and puts a `WatchFor` on the bus
instead of asking the engine.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Iterator

from assistant import events as ev
from assistant.events import StageName
from assistant.ports import VlmEngine, VlmRequest
from assistant.stage import Generation, Outbox, Stage


class LookAhead:
    """A budget of CPU time for looking at the idle view: a bucket that fills at `share` of one
    core per second up to `window_s` seconds' worth, and empties by what each look cost. A look
    may start while the bucket is not empty (so after a quiet while one look of any length is
    allowed); on average the looks take at most `share` of a core. `clock`: seconds, monotonic."""

    def __init__(self, share: float, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.share = max(0.0, share)
        self.capacity = self.share * window_s
        self.level = self.capacity
        self.clock = clock
        self._at = clock()
        self.looks = 0
        self.skipped = 0
        self.spent_s = 0.0  # CPU seconds spent on looks

    def _fill(self) -> None:
        t = self.clock()
        self.level = min(self.capacity, self.level + (t - self._at) * self.share)
        self._at = t

    def allows(self) -> bool:
        self._fill()
        ok = self.share > 0 and self.level > 0
        self.skipped += 0 if ok else 1
        return ok

    def spend(self, cpu_s: float) -> None:
        self._fill()
        self.level -= cpu_s
        self.spent_s += cpu_s
        self.looks += 1


class AnswerStage(Stage):
    name = StageName.ANSWER

    def __init__(self, outbox: Outbox, generation: Generation, engine: VlmEngine,
                 memory_turns: int = 4, max_new_tokens: int = 200,
                 watch_words: Callable[[str], Any] | None = None,
                 stop_hint: str = "", look_ahead_cpu: float = 0.03) -> None:
        super().__init__(outbox, generation)
        self.look_ahead = LookAhead(look_ahead_cpu)
        self.watch_words = watch_words
        # how this shell ends a watch; the window's by default
        self.stop_hint = stop_hint or "Press Escape or say stop to end."
        self.engine = engine
        self.max_new_tokens = max_new_tokens
        self._memory: deque[tuple[float, str, str]] = deque(maxlen=max(memory_turns, 1))
        self._memory_turns = memory_turns
        self._warned = 0

    def setup(self) -> None:
        self.emit(ev.Status(stage=self.name, state="loading", detail=self.engine.name))
        self.engine.load()
        self.emit(ev.Status(stage=self.name, state="ready", detail=self.engine.name))
        self._notices()

    def _notices(self) -> None:
        """Pass on the engine's new warnings (describer fallback, perception failures)."""
        warnings = tuple(self.engine.warnings)
        for message in warnings[self._warned:]:
            self.emit(ev.Notice(message=message))
        self._warned = len(warnings)

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if isinstance(item, ev.IdleFrame):
            yield from self._look(item)
            return
        if isinstance(item, ev.Frame):
            # The turn's frame, sent at release: engines that look at it before answering
            # (OCR, image encoding) do that now, while Whisper is still transcribing. The hook
            # has its own name: an engine's `prepare` may mean something else (TransformersVlm
            # tokenizes a request with it).
            self.engine.prepare_frame(item, cancel=self.token(item),
                                      history=self._history(item))
            return
        if isinstance(item, ev.QuestionSoFar):
            # The question so far, while the key is held: the engine may start what it asks
            # for (the describer reads the early frame when it hears "read").
            self.engine.prepare_question(item.text, item.mode, item.turn_id)
            return
        if not isinstance(item, ev.Question):
            return
        request = self.watch_words(item.text) if self.watch_words and item.text else None
        if request is not None:
            yield from self._watch(item, request)
            return
        frame_key = item.frame.captured_at if item.frame is not None else -1.0
        history = self._history(item.frame)
        request = VlmRequest(question=item.text, frame=item.frame, mode=item.mode,
                             history=history, language=item.language,
                             max_new_tokens=self.max_new_tokens)
        token = self.token(item)
        parts: list[str] = []
        pieces = self.engine.stream(request, token)
        try:
            for index, piece in enumerate(pieces):
                if token.cancelled:
                    return
                parts.append(piece)
                yield ev.AnswerToken(text=piece, index=index, language=item.language,
                                     turn_id=item.turn_id, gen=item.gen)
        finally:
            # A cancelled or interrupted turn stops the engine's generation at once (engines'
            # generators join their worker threads in their own `finally`).
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        self._notices()
        if token.cancelled:
            return
        text = "".join(parts).strip()
        if item.text:
            self._memory.append((frame_key, item.text, text))
        yield ev.Answer(text=text, source=self.engine.name, language=item.language,
                        turn_id=item.turn_id, gen=item.gen)

    def _history(self, frame: ev.Frame | None) -> tuple[tuple[str, str], ...]:
        """The earlier (question, answer) pairs about `frame` that its next question carries."""
        if not self._memory_turns:
            return ()
        frame_key = frame.captured_at if frame is not None else -1.0
        return tuple((q, a) for key, q, a in self._memory if key == frame_key)

    def _look(self, frame: ev.IdleFrame) -> Iterator[ev.Event]:
        """Let the engine look at the idle view, if the budget allows (see the module
        docstring). Its CPU time is the process's during the look: the stage's thread and the
        threads it drives (torch's), and, conservatively, whatever else ran meanwhile."""
        token = self.token(frame)
        if token.cancelled or not self.look_ahead.allows():
            return
        started, wall = time.process_time(), time.monotonic()
        try:
            self.engine.prepare_frame(frame, cancel=token, history=self._history(frame))
        finally:
            cpu = time.process_time() - started
            self.look_ahead.spend(cpu)
        self._notices()
        yield ev.LookedAhead(captured_at=frame.captured_at, seconds=time.monotonic() - wall,
                             cpu_s=cpu, cancelled=token.cancelled)

    def _watch(self, item: ev.Question, request: Any) -> Iterator[ev.Event]:
        """Answer a watch-mode question and start or stop the watch."""
        from vision.finder.words import with_article

        def noun(what: str) -> str:
            return what if what.startswith("the light") else with_article(what)

        tag = {"turn_id": item.turn_id, "gen": item.gen}
        if request.kind == "stop":
            if item.watching:
                yield ev.WatchFor(query="", **tag)
                text = f"Stopped watching for {noun(item.watching)}."
            else:
                text = "I'm not watching for anything."
        else:
            what = request.describe()
            before = (f"I'll stop watching for {noun(item.watching)} and "
                      if item.watching and item.watching != what else "I'll ")
            text = (f"{before}tell you when I see {noun(what)}. {self.stop_hint}"
                    if request.kind == "find" else
                    f"{before}tell you when the light goes {request.query}. {self.stop_hint}")
            yield ev.WatchFor(kind=request.kind, query=request.query, **tag)
        yield ev.Answer(text=text, source="watch", language=item.language, **tag)
