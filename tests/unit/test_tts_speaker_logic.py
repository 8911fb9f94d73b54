"""SoundDeviceSpeaker's queue and mixing, driven block by block through its own audio callback
(no device: the callback is called directly, as PortAudio would)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from audio.playback.speaker import SoundDeviceSpeaker

RATE = 16000
BLOCK = 160


class _Stream:
    """What the speaker asks of a PortAudio stream when it sleeps, wakes and restarts."""

    def __init__(self, abort_fails: bool = False):
        self.active, self.calls, self.abort_fails = True, [], abort_fails

    def stop(self):
        self.calls.append("stop")
        self.active = False

    def abort(self):
        if self.abort_fails:
            raise RuntimeError("device busy")
        self.calls.append("abort")
        self.active = False

    def start(self):
        self.calls.append("start")
        self.active = True


def speaker() -> SoundDeviceSpeaker:
    spk = SoundDeviceSpeaker(idle_sleep_s=0.0)  # the sleep has its own tests below
    spk.rate = RATE  # as if opened on a 16 kHz device (no resampling)
    spk._stream = _Stream()  # marks it open; clear() will not need to abort it
    spk.hard_cut = False
    return spk


def block(spk: SoundDeviceSpeaker, dac_ahead: float = 0.02, underflow: bool = False
          ) -> np.ndarray:
    out = np.full((BLOCK, 1), 9.0, np.float32)  # garbage: the callback must overwrite it
    info = SimpleNamespace(currentTime=100.0, outputBufferDacTime=100.0 + dac_ahead)
    spk._callback(out, BLOCK, info, SimpleNamespace(output_underflow=underflow))
    return out[:, 0].copy()


def test_an_underrun_counts_as_heard_only_between_two_blocks_of_sound():
    spk = speaker()
    block(spk, underflow=True)  # silence into silence (a stream starting): not heard
    spk.enqueue(np.full(BLOCK * 3, 0.3, np.float32), RATE, 1)
    block(spk, underflow=True)  # the gap came before the first sound: not heard
    block(spk, underflow=True)  # a gap inside the speech: heard
    block(spk)
    block(spk, underflow=True)  # after the speech ended: not heard
    assert (spk.underruns, spk.underruns_in_sound) == (4, 1)


def test_chunks_play_back_to_back_and_report_their_dac_start():
    spk = speaker()
    starts: list[float] = []
    a = np.full(250, 0.1, np.float32)
    b = np.full(100, 0.2, np.float32)
    spk.enqueue(a, RATE, 1, on_start=starts.append)
    spk.enqueue(b, RATE, 1, on_start=starts.append)
    assert abs(spk.pending() - 350 / RATE) < 1e-6
    first, second, third = block(spk), block(spk), block(spk)
    played = np.concatenate([first, second, third])
    assert np.allclose(played[:250], 0.1) and np.allclose(played[250:350], 0.2)
    assert np.allclose(played[350:], 0.0)
    assert len(starts) == 2
    # The second chunk starts 90 samples into the second block: its DAC time says so.
    assert 0.0 < starts[1] - starts[0] < 0.05


def test_clear_silences_the_next_block_and_records_when():
    spk = speaker()
    spk.enqueue(np.full(RATE, 0.3, np.float32), RATE, 1)
    assert np.allclose(block(spk), 0.3)
    spk.clear()
    assert spk._queued_samples == 0
    assert np.allclose(block(spk), 0.0)
    assert spk.silenced_at is not None


def test_earcons_mix_over_speech_and_a_clear_keeps_them():
    spk = speaker()
    spk.enqueue(np.full(RATE, 0.3, np.float32), RATE, 1)
    spk.play_earcon(np.full(BLOCK * 2, 0.2, np.float32), RATE)
    assert np.allclose(block(spk), 0.5)
    spk.clear()
    assert np.allclose(block(spk), 0.2)  # the earcon goes on, the speech is gone
    assert np.allclose(block(spk), 0.0)


def test_clear_before_drops_only_older_generations():
    spk = speaker()
    spk.enqueue(np.full(100, 0.1, np.float32), RATE, 1)
    spk.enqueue(np.full(100, 0.2, np.float32), RATE, 2)
    spk.clear_before(2)
    assert abs(spk.pending() - 100 / RATE) < 1e-6
    assert np.allclose(block(spk)[:100], 0.2)


def test_output_is_clipped_and_other_rates_are_resampled():
    spk = speaker()
    spk.enqueue(np.full(RATE, 0.9, np.float32), RATE, 1)
    spk.play_earcon(np.full(BLOCK, 0.9, np.float32), RATE)
    assert block(spk).max() <= 1.0
    spk.clear()
    spk.enqueue(np.zeros(22050, np.float32), 22050, 1)  # one second at 22.05 kHz
    assert abs(spk.pending() - 1.0) < 0.05  # plus what is still in the device buffer


class _Stop(Exception):
    pass


def _sleepy(idle_s: float):
    spk = speaker()
    spk.idle_sleep_s = idle_s
    spk._stream = _Stream()
    spk._callback_stop = _Stop
    return spk


def _block_until_sleep(spk, timeout: float = 5.0) -> int:
    import time

    deadline, blocks = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        try:
            block(spk, dac_ahead=0.0)
        except _Stop:
            return blocks
        blocks += 1
    raise AssertionError("the stream never went to sleep")


def test_speech_after_silence_restarts_the_stream_so_it_skips_the_buffered_silence():
    spk = speaker()
    for _ in range(3):
        block(spk)  # the stream runs, its buffer full of silence
    spk.enqueue(np.full(BLOCK * 3, 0.3, np.float32), RATE, 1)
    assert spk._stream.calls == ["abort", "start"] and spk.quick_starts == 1
    assert np.allclose(block(spk), 0.3)  # the first callback after the start has the speech
    # More speech while the first plays joins the queue: no restart cuts the sound off.
    spk.enqueue(np.full(BLOCK, 0.2, np.float32), RATE, 1)
    assert spk._stream.calls == ["abort", "start"]
    played = np.concatenate([block(spk) for _ in range(3)])
    assert np.allclose(played[:BLOCK * 2], 0.3) and np.allclose(played[BLOCK * 2:], 0.2)


def test_a_failed_restart_still_plays_the_speech():
    spk = speaker()
    spk._stream = _Stream(abort_fails=True)
    spk.enqueue(np.full(BLOCK, 0.3, np.float32), RATE, 1)
    assert spk.quick_starts == 1 and np.allclose(block(spk), 0.3)


def test_silence_puts_the_stream_to_sleep_and_speech_wakes_it():
    spk = _sleepy(0.05)
    _block_until_sleep(spk)
    assert spk.asleep and spk.sleeps == 1 and spk.stalled() == 0.0
    spk.enqueue(np.full(BLOCK, 0.3, np.float32), RATE, 1)
    assert not spk.asleep and spk._stream.calls == ["stop", "start"]
    assert np.allclose(block(spk, dac_ahead=0.0), 0.3)  # the chunk plays from its start


def test_an_earcon_wakes_it_and_nothing_sleeps_while_sound_is_queued():
    spk = _sleepy(0.05)
    _block_until_sleep(spk)
    spk.play_earcon(np.full(BLOCK, 0.2, np.float32), RATE)
    assert not spk.asleep
    assert np.allclose(block(spk, dac_ahead=0.0), 0.2)
    # while speech plays the idle clock does not run, however long the answer
    spk.enqueue(np.full(BLOCK * 50, 0.1, np.float32), RATE, 1)
    for _ in range(50):
        block(spk, dac_ahead=0.0)
        assert spk._idle_since is None and not spk.asleep
    # silence again: the clock starts once the last sample has left the device
    assert _block_until_sleep(spk) > 0 and spk.asleep


def test_a_clear_while_asleep_is_silent_at_once():
    spk = _sleepy(0.05)
    _block_until_sleep(spk)
    spk.clear()
    assert spk.silenced_at is not None


def test_zero_never_sleeps():
    spk = _sleepy(0.0)
    for _ in range(200):
        block(spk, dac_ahead=0.0)
    assert not spk.asleep
