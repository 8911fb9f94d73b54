"""The answer stage: questions in, answer tokens and the whole answer out.

Keeps the conversation memory: the last `memory_turns` (question, answer) pairs about the same
frame go with each request, so "and the one on the left?" has its context.
"""
from __future__ import annotations

from collections import deque
from typing import Iterator

from assistant import events as ev
from assistant.events import StageName
from assistant.ports import VlmEngine, VlmRequest
from assistant.stage import Generation, Outbox, Stage


class AnswerStage(Stage):
    name = StageName.ANSWER

    def __init__(self, outbox: Outbox, generation: Generation, engine: VlmEngine,
                 memory_turns: int = 4, max_new_tokens: int = 200) -> None:
        super().__init__(outbox, generation)
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
        warnings = tuple(getattr(self.engine, "warnings", ()) or ())
        for message in warnings[self._warned:]:
            self.emit(ev.Notice(message=message))
        self._warned = len(warnings)

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if isinstance(item, ev.Frame):
            # The turn's frame, sent at release: engines that look at it before answering
            # (OCR, image encoding) do that now, while Whisper is still transcribing. The hook
            # has its own name: an engine's `prepare` may mean something else (TransformersVlm
            # tokenizes a request with it).
            prepare_frame = getattr(self.engine, "prepare_frame", None)
            if prepare_frame is not None:
                prepare_frame(item)
            return
        if not isinstance(item, ev.Question):
            return
        frame_key = item.frame.captured_at if item.frame is not None else -1.0
        history = tuple((q, a) for key, q, a in self._memory if key == frame_key
                        ) if self._memory_turns else ()
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
