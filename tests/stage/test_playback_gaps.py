"""The playback stage counts pauses the answer's text does not have: a piece of a turn that is
already sounding, arriving after the speaker ran dry (synthesis fell behind playback)."""
from __future__ import annotations

import numpy as np

from assistant import events as ev
from assistant.ports import Speaker
from assistant.stage import Generation, Outbox
from audio.playback.stage import PlaybackStage


class DrySpeaker(Speaker):
    """A speaker whose backlog the test sets: `left` seconds still to be heard."""

    def __init__(self) -> None:
        self.left = 0.0
        self.chunks = 0

    def open(self) -> None: ...
    def close(self) -> None: ...
    def clear(self) -> None: ...

    def enqueue(self, samples, sample_rate, tag, on_start=None) -> None:
        self.chunks += 1

    def pending(self) -> float:
        return self.left


def test_a_piece_after_the_speaker_ran_dry_is_a_gap_and_a_turns_first_piece_is_not():
    speaker = DrySpeaker()
    stage = PlaybackStage(Outbox(), Generation(), speaker)

    def play(turn: int, final: bool = False) -> None:
        list(stage.process(ev.SpeechChunk(samples=np.ones(100, np.float32), turn_id=turn,
                                          final=final)))

    play(1)                 # the turn's first piece: the speaker was idle, that is no gap
    speaker.left = 0.4
    play(1)                 # in time: the first piece still sounds
    assert stage.gaps == 0
    speaker.left = 0.0
    play(1, final=True)     # late: the speaker had run dry
    assert stage.gaps == 1
    play(2)                 # the next turn starts from silence: no gap
    assert stage.gaps == 1 and speaker.chunks == 4
