"""The rig itself: sounddevice records what is played into the virtual mic, and what sounddevice
plays is recorded from the virtual speaker."""
from __future__ import annotations

import subprocess
import wave

import numpy as np
import pytest

from tests.support.rig.audio import correlation

pytestmark = pytest.mark.system


def _espeak(path, text):
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
    return data, rate


def test_virtual_mic_and_speaker_carry_real_audio(virtual_audio, tmp_path):
    import sounddevice as sd
    import soxr

    ref, rate = _espeak(tmp_path / "ref.wav", "Hello assistant, what do you see?")
    ref16 = soxr.resample(ref, rate, 16000).astype(np.float32)
    with sd.InputStream(samplerate=16000, channels=1, dtype="float32") as stream:
        player = virtual_audio.play_into_mic(tmp_path / "ref.wav")
        frames, _ = stream.read(int(16000 * (len(ref) / rate + 1.0)))
        player.wait(10)
    assert correlation(ref16, frames[:, 0]) > 0.5

    with virtual_audio.record_speaker() as rec:
        sd.play(ref16, 16000, blocking=True, latency="high")
    assert correlation(ref16, rec.samples) > 0.5
