"""Real Whisper weights (tiny.en and base from the offline packages, converted) through every
engine: the reference sentence, generated questions, silence and noise, and agreement between
the fast engine and openai-whisper."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.config import Config
from assistant.errors import ConfigError
from assistant.ports import AsrOptions
from audio.asr import engines as asr
from tests.support import whisper as sw
from tests.support.fakes import read_wav_16k

pytestmark = pytest.mark.system
JFK = Path(__file__).resolve().parents[1] / "data" / "jfk.flac"
_engines: dict[str, object] = {}


def engine(kind: str):
    if kind not in _engines:
        if kind == "faster-whisper":
            e = asr.FasterWhisperEngine(sw.tiny_en_ct2(), device="cpu")
        elif kind == "fast":
            e = asr.FastWhisperEngine(sw.tiny_en_checkpoint(), device="cpu")
        else:
            e = asr.OpenAIWhisperEngine(sw.tiny_en_checkpoint(), device="cpu")
        e.load()
        _engines[kind] = e
    return _engines[kind]


ALL = ("fast", "openai-whisper", "faster-whisper")


@pytest.fixture(scope="module")
def jfk():
    return read_wav_16k(JFK)


@pytest.mark.parametrize("kind", ALL)
def test_jfk_is_word_perfect(kind, jfk):
    result = engine(kind).transcribe(jfk, AsrOptions())
    assert sw.word_error_rate(sw.JFK_TEXT, result.text) == 0, result.text
    assert result.language == "en" and result.rejected is None


@pytest.mark.parametrize("kind", ("fast", "openai-whisper"))
@pytest.mark.parametrize("voice", ("piper", "espeak"))
def test_generated_questions(kind, voice):
    speak = sw.piper_speech if voice == "piper" else sw.espeak_speech
    # Both voices' questions were measured to come back exactly, espeak-ng's with a margin in
    # speed (see tests/support/whisper.py): any wrong word is a fault of the engine.
    for question in (sw.QUESTIONS if voice == "piper" else sw.ESPEAK_QUESTIONS):
        text = engine(kind).transcribe(speak(question), AsrOptions()).text
        assert sw.word_error_rate(question, text) == 0, (question, text)


@pytest.mark.parametrize("kind", ALL)
def test_silence_and_noise_give_nothing(kind):
    rng = np.random.default_rng(7)
    quiet = (rng.standard_normal(3 * 16000) * 1e-4).astype(np.float32)
    noise = (rng.standard_normal(3 * 16000) * 0.1).astype(np.float32)
    for audio in (np.zeros(3 * 16000, np.float32), quiet, noise):
        result = engine(kind).transcribe(audio, AsrOptions())
        assert result.text == "" and result.rejected, result


def test_fast_engine_matches_openai_whisper(jfk):
    clips = [jfk, *(sw.piper_speech(q) for q in sw.QUESTIONS),
             sw.espeak_speech(sw.ESPEAK_QUESTIONS[1])]
    for clip in clips:
        fast = engine("fast").transcribe(clip, AsrOptions()).text
        ref = engine("openai-whisper").transcribe(clip, AsrOptions()).text
        assert asr.normalize(fast) == asr.normalize(ref)


def test_partial_draft_gives_the_same_final_text(jfk):
    """The final decode reuses the last partial's tokens as a draft; the result must be exactly
    what a decode without a draft gives."""
    e = engine("fast")
    plain = e.transcribe(jfk, AsrOptions()).text
    e.transcribe(jfk[: 9 * 16000], AsrOptions(partial=True))
    assert e.transcribe(jfk, AsrOptions()).text == plain
    e.transcribe(read_wav_16k(JFK)[:3 * 16000], AsrOptions(partial=True))  # an unrelated draft
    assert e.transcribe(jfk, AsrOptions()).text == plain


def test_the_tokenizer_is_built_at_load_not_in_the_first_question(jfk):
    """tiktoken builds its encoder on first use holding the GIL for 100+ ms: in the first
    question's partial decode that starved the speaker's callback. Loading does it."""
    import whisper.tokenizer as wt

    wt.get_encoding.cache_clear()
    wt.get_tokenizer.cache_clear()
    e = asr.FastWhisperEngine(sw.tiny_en_checkpoint(), device="cpu", int8=True)
    e.load()
    built = wt.get_encoding.cache_info().misses, wt.get_tokenizer.cache_info().misses
    assert built[0] == 1
    e.transcribe(jfk[: 2 * 16000], AsrOptions(partial=True))
    text = e.transcribe(jfk[: 3 * 16000], AsrOptions()).text
    assert (wt.get_encoding.cache_info().misses, wt.get_tokenizer.cache_info().misses) == built
    assert text.startswith("And so my fellow")


def test_prompt_and_fixed_language(jfk):
    result = engine("fast").transcribe(jfk, AsrOptions(language="en",
                                                       initial_prompt="JFK's inaugural address.",
                                                       hotwords=("Americans",)))
    assert sw.word_error_rate(sw.JFK_TEXT, result.text) == 0


def test_base_multilingual_detects_english(jfk):
    e = asr.FastWhisperEngine(sw.base_checkpoint(), device="cpu")
    e.load()
    result = e.transcribe(jfk, AsrOptions(language=None))
    assert result.language == "en"
    assert sw.word_error_rate(sw.JFK_TEXT, result.text) == 0, result.text


def test_long_audio_is_windowed(jfk):
    long = np.concatenate([jfk, np.zeros(16000, np.float32)] * 4)  # 48 s: two windows
    text = engine("fast").transcribe(long, AsrOptions()).text
    assert asr.normalize(text).count("ask not what your country") >= 3, text


def test_from_config_and_unknown_engine(tmp_path):
    e = asr.from_config(Config().with_value("asr.model", str(sw.tiny_en_checkpoint())))
    assert isinstance(e, asr.FastWhisperEngine)
    with pytest.raises(ConfigError, match="Unknown speech recognizer"):
        asr.create("nope", "tiny.en")


def test_partial_decode_gives_way_to_newer_audio(jfk):
    e = engine("fast")
    e.set_partial_abort(lambda: True)
    try:
        assert e.transcribe(jfk, AsrOptions(partial=True)).rejected == "superseded"
        # A final decode is never abandoned.
        assert sw.word_error_rate(sw.JFK_TEXT, e.transcribe(jfk, AsrOptions()).text) == 0
    finally:
        e.set_partial_abort(None)


@pytest.mark.gpu
def test_fast_engine_on_cuda_matches_cpu(jfk):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    gpu = asr.FastWhisperEngine(sw.tiny_en_checkpoint(), device="cuda")
    gpu.load()
    for clip in (jfk, sw.piper_speech(sw.QUESTIONS[1])):
        assert asr.normalize(gpu.transcribe(clip, AsrOptions()).text) == \
            asr.normalize(engine("fast").transcribe(clip, AsrOptions()).text)


@pytest.mark.parametrize("draft", ["", " Hello there, general Kenobi.", " And so my fellow citizens",
                                   " And so my fellow Americans, ask not what your country can do"
                                   " for you, ask what you can do for your country. And more"])
def test_any_draft_gives_the_greedy_tokens(jfk, draft):
    """The draft is checked in the same pass as the prefix: wrong from its first token, wrong
    midway or longer than the speech, the tokens are those of a decode without it."""
    e = engine("fast")
    fast = e.fast
    cross = fast.cross_kv(fast.encode(jfk))
    tok = fast.tokenizer("en")
    prefix = list(tok.sot_sequence_including_notimestamps)
    plain = fast.greedy(cross, tok, prefix, 100)
    drafted = fast.greedy(cross, tok, prefix, 100, draft=tok.encode(draft) if draft else ())
    assert drafted[0] == plain[0]
    assert drafted[1] == pytest.approx(plain[1], abs=0.05)
    assert drafted[2] == pytest.approx(plain[2], abs=1e-4)
