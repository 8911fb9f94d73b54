"""The ASR stage: utterances in, transcripts out.

Partial snapshots (sent while the key is held) are decoded only when nothing newer waits in the
inbox, so a slow machine skips stale partials instead of falling behind the release. Engines that
can (`set_partial_abort`) also abandon a partial decode as soon as the final utterance arrives,
so the final decode at release starts at once. The fast engine reuses the last finished partial's
tokens as a verified draft for the final decode.
"""
from __future__ import annotations

from typing import Iterator

from assistant import events as ev
from assistant.events import StageName
from assistant.ports import AsrEngine, AsrOptions
from assistant.stage import Generation, Outbox, Stage


class AsrStage(Stage):
    name = StageName.ASR

    def __init__(self, outbox: Outbox, generation: Generation, engine: AsrEngine,
                 options: AsrOptions = AsrOptions()) -> None:
        super().__init__(outbox, generation)
        self.engine = engine
        self.options = options

    def setup(self) -> None:
        self.emit(ev.Status(stage=self.name, state="loading", detail=self.engine.name))
        self.engine.load()
        self.engine.set_partial_abort(self._final_waiting)
        self.emit(ev.Status(stage=self.name, state="ready", detail=self.engine.name))

    def _final_waiting(self) -> bool:
        """True when a final utterance (the release) waits in the inbox. Only that stops a
        partial decode: on a slow machine, stopping for every newer snapshot would mean no
        partial transcript ever finishes while the key is held."""
        return self.inbox.any(lambda x: isinstance(x, ev.Utterance) and x.final)

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if not isinstance(item, ev.Utterance):
            return
        if not item.final and not self.inbox.empty():
            return  # a newer snapshot or the final one is waiting
        if item.samples.size == 0:
            yield ev.Transcript(text="", partial=not item.final, rejected="silence",
                                turn_id=item.turn_id, gen=item.gen)
            return
        options = self.options if item.final else _partial(self.options)
        samples = item.samples
        if item.sample_rate != 16000:  # e.g. a spoken question from a file (AskAudio)
            from audio.capture.files import to_mono_16k

            samples = to_mono_16k(samples, item.sample_rate)
        result = self.engine.transcribe(samples, options)
        if not item.final and result.rejected == "superseded":
            return  # newer audio is waiting; its transcript follows
        yield ev.Transcript(text=result.text, partial=not item.final, language=result.language,
                            rejected=result.rejected, turn_id=item.turn_id, gen=item.gen)


def _partial(options: AsrOptions) -> AsrOptions:
    from dataclasses import replace

    return replace(options, partial=True)
