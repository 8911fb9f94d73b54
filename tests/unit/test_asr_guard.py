"""The hallucination guard's decisions, long-audio windows and the repetition check, on
synthetic inputs (the real-weight behaviour is in tests/system/test_asr_real.py)."""
from __future__ import annotations

import numpy as np

from assistant.ports import AsrOptions, AsrResult
from audio.asr.engines import Guard, normalize, split_windows
from audio.asr.fast import repeats


def test_known_silence_phrases_are_dropped_only_without_speech_evidence():
    guard, options = Guard(), AsrOptions()
    invented = AsrResult("Thank you for watching!", "en", no_speech_prob=0.1, avg_logprob=-0.3)
    assert guard.after(invented, options, speech_s=0.4).rejected == "hallucination"
    # Said clearly and at length, "thank you" is a real utterance.
    said = AsrResult("Thank you.", "en", no_speech_prob=0.05, avg_logprob=-0.2)
    assert guard.after(said, options, speech_s=1.5).text == "Thank you."


def test_no_speech_rule_matches_openai_whisper():
    guard, options = Guard(), AsrOptions(no_speech_threshold=0.6, logprob_threshold=-1.0)
    unsure = AsrResult("some words", no_speech_prob=0.8, avg_logprob=-1.5)
    assert guard.after(unsure, options, 2.0).rejected == "no-speech"
    confident = AsrResult("some words", no_speech_prob=0.8, avg_logprob=-0.2)
    assert guard.after(confident, options, 2.0).text == "some words"


def test_silence_is_rejected_before_decoding(rng):
    guard = Guard()
    assert guard.before(np.zeros(16000, np.float32))[1] == "silence"
    assert guard.before(np.zeros(0, np.float32))[1] == "silence"
    hiss = (rng.standard_normal(16000) * 1e-4).astype(np.float32)
    assert guard.before(hiss)[1] == "silence"


def test_long_audio_windows_cover_everything_without_overlap(rng):
    audio = (rng.standard_normal(16000 * 70) * 0.01).astype(np.float32)
    windows = split_windows(audio)
    assert windows[0][0] == 0 and windows[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
    assert all(0 < e - s <= 15 * 16000 for s, e in windows)
    assert split_windows(audio[:16000 * 5]) == [(0, 16000 * 5)]


def test_repetition_check_and_normalize():
    assert repeats("How many people are in the room? how many people are in the room.")
    assert not repeats("What does this label say?")
    assert normalize("Ask not, what YOUR country...") == "ask not what your country"
