"""The guard's VAD analyzes a growing utterance once: each partial transcript and the final one
see the same audio plus a little more, so only the new windows go through Silero (real model).

The results must be Silero's own: the probabilities of its sequence model run on the whole audio
from the start, and the segments of its `get_speech_timestamps_sequence`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import silero_vad  # a required dependency (it ships the model): missing must fail, not skip

from audio.capture import vad
from audio.capture.files import load_audio

JFK = Path(__file__).resolve().parents[1] / "data" / "jfk.flac"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    # jfk.flac, then 1.3 s of silence, then jfk again: speech, a pause, speech.
    clip = load_audio(JFK)
    return np.concatenate([clip, np.zeros(20800, np.float32), clip])


def _fresh(audio: np.ndarray) -> np.ndarray:
    return vad._sequence().audio_forward(audio)


def test_a_growing_utterance_gives_silero_s_own_probabilities_and_segments(speech):
    vad._resume = None
    # Cuts like the stage's: partials every half second, not on a window boundary, then more.
    for end in (16000 * 3 + 100, 16000 * 3 + 8100, 16000 * 4 + 300, 16000 * 11, speech.size):
        audio = speech[:end]
        assert np.array_equal(vad.speech_probs(audio), _fresh(audio))
        expected = silero_vad.get_speech_timestamps_sequence(
            audio, vad._sequence(), threshold=0.5, min_speech_duration_ms=200)
        assert vad.speech_segments(audio, 0.5, 200) == [(s["start"], s["end"])
                                                        for s in expected]


def test_only_the_new_windows_are_analyzed():
    clip = load_audio(JFK)
    vad._resume = None
    vad.speech_probs(clip[:16000 * 5 + 200])  # a partial while the key is held
    before = vad.windows_run
    vad.speech_probs(clip[:16000 * 5 + 8200])  # the release, half a second later
    # the whole windows after the kept ones, and the last, zero-padded part of a window
    assert vad.windows_run - before == -(-(16000 * 5 + 8200) // vad.WINDOW) \
        - (16000 * 5) // vad.WINDOW


def test_other_audio_is_analyzed_from_the_start(speech):
    clip = speech[:16000 * 4]
    vad._resume = None
    vad.speech_probs(clip)
    changed = clip.copy()
    changed[16000] += 0.25  # one sample differs: not the same utterance
    before = vad.windows_run
    assert np.array_equal(vad.speech_probs(changed), _fresh(changed))
    assert vad.windows_run - before == changed.size // vad.WINDOW
    shorter = speech[:16000 * 2]  # a new, shorter utterance: no stale windows past its end
    assert np.array_equal(vad.speech_probs(shorter), _fresh(shorter))
    assert vad.speech_probs(np.zeros(16000, np.float32)).max() < 0.5
