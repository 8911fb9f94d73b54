"""The capture stage driven by hand (no threads): pre-roll, cap, partial snapshots, and
hands-free turns from the real Silero VAD on real speech (jfk.flac) followed by silence."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant import events as ev
from assistant.config import Config
from assistant.stage import Generation, Outbox
from audio.capture.stage import CaptureOptions, CaptureStage
from tests.support.fakes import FakeMicrophone, ScriptedAsr, read_wav_16k
from tests.support.events import EventLog
from ui.bootstrap import Parts, bootstrap

JFK = Path(__file__).resolve().parents[1] / "data" / "jfk.flac"
CHUNK = 320  # 20 ms


class ArrayMicrophone:
    """Delivers exactly the chunks a test pushes, at once (no pacing): the test is the clock."""

    sample_rate = 16000
    dropped = 0

    def __init__(self) -> None:
        self.pending: list[np.ndarray] = []

    def push(self, samples: np.ndarray) -> None:
        for i in range(0, len(samples), CHUNK):
            self.pending.append(samples[i:i + CHUNK].astype(np.float32))

    def open(self) -> None:
        pass

    def read(self, timeout: float):
        return self.pending.pop(0) if self.pending else None

    def close(self) -> None:
        pass


def stage_with(options: CaptureOptions) -> tuple[CaptureStage, ArrayMicrophone]:
    mic = ArrayMicrophone()
    stage = CaptureStage(Outbox(), Generation(), mic, options)
    stage.setup()
    return stage, mic


def feed(stage: CaptureStage, mic: ArrayMicrophone, samples: np.ndarray) -> list[ev.Event]:
    mic.push(samples)
    return list(stage.poll())


def jfk_first_phrase() -> tuple[np.ndarray, int]:
    """0.5 s of silence, then "And so my fellow Americans" (jfk 0.3-2.3 s); speech onset index."""
    jfk = read_wav_16k(JFK)
    phrase = jfk[4800:37000]
    onset = 8000 + int(np.argmax(np.abs(phrase) > 0.05))
    return np.concatenate([np.zeros(8000, np.float32), phrase]), onset


def test_preroll_keeps_speech_that_began_200ms_before_the_press():
    clip, onset = jfk_first_phrase()
    stage, mic = stage_with(CaptureOptions(preroll_s=0.3, partial_interval_s=0))
    press = onset + 3200  # the key goes down 200 ms after the speech began
    feed(stage, mic, clip[:press])
    list(stage.process(ev.BeginUtterance(turn_id=1, gen=0)))
    feed(stage, mic, clip[press:])
    out = list(stage.process(ev.EndUtterance(turn_id=1, gen=0)))
    utt = [e for e in out if isinstance(e, ev.Utterance)][0]
    kept_before_press = len(utt.samples) - (len(clip) - press)
    assert kept_before_press >= 0.3 * 16000
    assert np.array_equal(utt.samples[-(len(clip) - onset):], clip[onset:])  # onset inside


def test_cap_ends_the_utterance_and_partials_grow():
    stage, mic = stage_with(CaptureOptions(preroll_s=0.3, max_utterance_s=2.0,
                                           partial_interval_s=0.5))
    list(stage.process(ev.BeginUtterance(turn_id=1, gen=0)))
    out = feed(stage, mic, 0.1 * np.ones(3 * 16000, np.float32))
    utts = [e for e in out if isinstance(e, ev.Utterance)]
    partials = [u for u in utts if not u.final]
    finals = [u for u in utts if u.final]
    assert [len(p.samples) for p in partials] == sorted(len(p.samples) for p in partials)
    assert len(partials) >= 3
    assert len(finals) == 1 and finals[0].reason == "cap"
    assert abs(finals[0].seconds - 2.0) < 0.05
    end = out.index(finals[0])
    recording = [e for e in out[:end] if isinstance(e, ev.Level)]
    idle = [e for e in out[end:] if isinstance(e, ev.Level)]
    # One reading per 50 ms of audio while recording (20 Hz, in whole chunks), per 100 ms after
    # it (10 Hz): fewer wakes when no question is being recorded.
    def readings(seconds: float, every: int) -> float:
        return seconds * 16000 / (CHUNK * -(-every // CHUNK))

    assert abs(len(recording) - readings(2.0, 800)) <= 2
    assert abs(len(idle) - readings(1.0, 1600)) <= 2


def test_hands_free_speech_then_silence_makes_one_press_and_release():
    clip, _ = jfk_first_phrase()
    stage, mic = stage_with(CaptureOptions(hands_free=True, vad_silence_ms=800))
    out = feed(stage, mic, np.concatenate([clip, np.zeros(2 * 16000, np.float32)]))
    commands = [e for e in out if isinstance(e, (ev.PushToTalkDown, ev.PushToTalkUp))]
    assert [type(c) for c in commands] == [ev.PushToTalkDown, ev.PushToTalkUp]
    # Silence alone never starts a turn.
    assert not [e for e in feed(stage, mic, np.zeros(3 * 16000, np.float32))
                if isinstance(e, ev.Command)]


def test_hands_free_hears_nothing_while_gated():
    clip, _ = jfk_first_phrase()
    stage, mic = stage_with(CaptureOptions(hands_free=True, vad_silence_ms=800))
    list(stage.process(ev.MicGate(open=False)))
    out = feed(stage, mic, np.concatenate([clip, np.zeros(16000, np.float32)]))
    assert not [e for e in out if isinstance(e, ev.Command)]
    list(stage.process(ev.MicGate(open=True)))
    out = feed(stage, mic, np.concatenate([clip, np.zeros(16000, np.float32)]))
    assert [type(e) for e in out if isinstance(e, ev.Command)] == [ev.PushToTalkDown,
                                                                   ev.PushToTalkUp]


def test_hands_free_turn_through_the_pipeline(no_thread_leak):
    clip, _ = jfk_first_phrase()
    config = Config().with_value("turns.mode", "hands_free")
    mic = FakeMicrophone(speed=4.0)
    asr = ScriptedAsr("what is this")
    pipeline = bootstrap(config, parts=Parts(camera=False, answer=False, speech_out=False),
                         mic=mic, asr=asr)
    pipeline.start()
    try:
        assert pipeline.wait_ready(20)
        log = EventLog(pipeline)
        mic.play(clip)
        log.wait_type(ev.TurnStarted, timeout=20)
        final = log.wait_for(lambda e: isinstance(e, ev.Transcript) and not e.partial, timeout=20)
        assert final.text == "what is this"
        assert asr.calls[-1][0] >= len(clip) - 8000  # the whole phrase reached the recognizer
    finally:
        pipeline.stop()
