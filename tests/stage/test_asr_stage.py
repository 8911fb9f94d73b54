"""The ASR stage on a fake engine: a partial decode gives way to the release (never to a newer
snapshot), stale partials are skipped, superseded partials print nothing."""
from __future__ import annotations

import threading

import numpy as np

from assistant import events as ev
from assistant.ports import AsrEngine, AsrOptions, AsrResult
from assistant.stage import Generation, Outbox
from audio.asr.stage import AsrStage


class SlowPartialAsr(AsrEngine):
    """A partial decode runs until the stage's abort check fires (or `limit_s` passes)."""

    name = "slow-partial"

    def __init__(self) -> None:
        self.abort = None
        self.partial_started = threading.Event()
        self.aborted = 0

    def load(self) -> None:
        pass

    def set_partial_abort(self, abort) -> None:
        self.abort = abort

    def transcribe(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        if options.partial:
            self.partial_started.set()
            stop = threading.Event()
            while not stop.wait(0.005):  # stands in for decoder steps
                if self.abort():
                    self.aborted += 1
                    return AsrResult("", rejected="superseded")
            return AsrResult("never")
        return AsrResult(f"final {len(audio)}", language="en")


def utt(n: int, final: bool) -> ev.Utterance:
    return ev.Utterance(samples=np.ones(n, np.float32), final=final, turn_id=1, gen=0)


def test_release_stops_a_running_partial():
    out, engine = Outbox(), SlowPartialAsr()
    stage = AsrStage(out, Generation(), engine)
    stage.start()
    try:
        assert stage.ready.wait(5)
        stage.submit(utt(8000, final=False))
        assert engine.partial_started.wait(5)
        stage.submit(utt(16000, final=True))
        got = out.get(timeout=5)
        while not isinstance(got, ev.Transcript):
            got = out.get(timeout=5)
        assert got.text == "final 16000" and not got.partial
        assert engine.aborted == 1
    finally:
        stage.stop()


def test_a_newer_snapshot_does_not_stop_a_partial():
    stage = AsrStage(Outbox(), Generation(), SlowPartialAsr())
    stage.submit(utt(8000, final=False))
    stage.submit(utt(9000, final=False))
    assert not stage._final_waiting()
    stage.submit(utt(10000, final=True))
    assert stage._final_waiting()


class LengthAsr(AsrEngine):
    name = "length"

    def load(self) -> None:
        pass

    def transcribe(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        return AsrResult(str(len(audio)))


def test_other_sample_rates_are_resampled_to_16k():
    out = Outbox()
    stage = AsrStage(out, Generation(), LengthAsr())
    stage.start()
    try:
        stage.submit(ev.Utterance(samples=np.zeros(44100, np.float32), sample_rate=44100,
                                  turn_id=1, gen=0))
        got = out.get(timeout=5)
        while not isinstance(got, ev.Transcript):
            got = out.get(timeout=5)
        assert got.text == "16000"
    finally:
        stage.stop()
