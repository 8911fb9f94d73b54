"""int8 Whisper (audio.asr.int8 through the fast engine) on real tiny.en and base weights: the
same words as float32 and as openai-whisper's transcribe() on the repo's speech set (jfk.flac,
the Piper and espeak-ng questions of tests/support/whisper.py), with and without a partial's
draft. With every Linear in int8, base heard "asked not" on jfk.flac; the MLPs' second matrix
stays float32 (audio.asr.int8.keep_float), which these tests hold to."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from assistant.ports import AsrOptions
from audio.asr import engines as asr
from tests.support import whisper as sw
from tests.support.fakes import read_wav_16k

pytestmark = pytest.mark.system
JFK = Path(__file__).resolve().parents[1] / "data" / "jfk.flac"


@pytest.fixture(scope="module")
def engines():
    int8 = asr.FastWhisperEngine(sw.tiny_en_checkpoint(), device="cpu", int8=True)
    ref = asr.OpenAIWhisperEngine(sw.tiny_en_checkpoint(), device="cpu")
    int8.load()
    ref.load()
    return int8, ref


def test_int8_layers_are_quantized(engines):
    fast = engines[0].fast
    assert fast.int8
    quantized = [m for m in fast._encoder.modules()
                 if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert len(quantized) == 5 * len(fast._encoder.blocks)  # q, k, v, out, mlp.0 per block
    floats = [n for n, m in fast._encoder.named_modules() if isinstance(m, torch.nn.Linear)]
    assert floats == [f"blocks.{i}.mlp.2" for i in range(len(fast._encoder.blocks))]
    assert isinstance(fast._vocab, torch.ao.nn.quantized.dynamic.Linear)
    # The engine's own model keeps no float32 copy of what it quantized: the encoder is
    # quantized in place, the decoder's attention and first MLP matrices are let go.
    model = engines[0].model
    assert fast._encoder is model.encoder
    block = model.decoder.blocks[0]
    assert block.attn is None and block.cross_attn is None
    assert isinstance(block.mlp[0], torch.nn.Identity) and isinstance(block.mlp[2], torch.nn.Linear)


def test_a_model_not_its_own_is_left_as_it_was(engines):
    """FastWhisper on a model someone else holds (the benchmarks' peers) quantizes copies."""
    import whisper

    from audio.asr.fast import FastWhisper

    model = whisper.load_model(str(sw.tiny_en_checkpoint()), device="cpu")
    FastWhisper(model, int8=True)
    assert isinstance(model.encoder.blocks[0].mlp[0], torch.nn.Linear)
    assert model.decoder.blocks[0].attn is not None


def _speech_set() -> list:
    return [read_wav_16k(JFK), *(sw.piper_speech(q) for q in sw.QUESTIONS),
            *(sw.espeak_speech(q) for q in sw.ESPEAK_QUESTIONS)]


@pytest.mark.parametrize("checkpoint", [sw.tiny_en_checkpoint, sw.base_checkpoint],
                         ids=["tiny.en", "base"])
def test_int8_gives_the_words_of_float32_and_openai_whisper(checkpoint):
    int8 = asr.FastWhisperEngine(checkpoint(), device="cpu", int8=True)
    f32 = asr.FastWhisperEngine(checkpoint(), device="cpu", int8=False)
    ref = asr.OpenAIWhisperEngine(checkpoint(), device="cpu")
    for engine in (int8, f32, ref):
        engine.load()
    options = AsrOptions(language="en")
    for clip in _speech_set():
        words = [asr.normalize(e.transcribe(clip, options).text) for e in (int8, f32, ref)]
        assert words[0] == words[1] == words[2], words


def test_int8_with_a_partials_draft_is_the_same(engines):
    """The same words with and without the partial's draft. Punctuation may differ: checking
    the draft in one batched pass rounds differently from decoding it token by token, and on an
    AVX-512 VNNI CPU that flips the comma after "for you" (a near tie) in jfk.flac."""
    int8 = engines[0]
    jfk = read_wav_16k(JFK)
    plain = int8.transcribe(jfk, AsrOptions()).text
    int8.transcribe(jfk[: 9 * 16000], AsrOptions(partial=True))
    assert asr.normalize(int8.transcribe(jfk, AsrOptions()).text) == asr.normalize(plain)
    assert sw.word_error_rate(sw.JFK_TEXT, plain) == 0, plain


def test_warm_up_leaves_no_draft_and_changes_nothing(engines):
    """The warm-up pass at load must not leak into the first turn (no draft, same text)."""
    cold = asr.FastWhisperEngine(sw.tiny_en_checkpoint(), device="cpu", warm_up=False)
    warm = asr.FastWhisperEngine(sw.tiny_en_checkpoint(), device="cpu", warm_up=True)
    cold.load()
    warm.load()
    assert warm._draft == []
    clip = sw.piper_speech(sw.QUESTIONS[1])
    assert warm.transcribe(clip, AsrOptions()).text == cold.transcribe(clip, AsrOptions()).text


def test_a_partial_gives_way_inside_the_encoder(engines):
    """The release stops a partial between encoder blocks, not only between decoder steps."""
    int8 = engines[0]
    blocks = int8.fast._encoder.blocks
    ran = []
    hooks = [b.register_forward_hook(lambda *_: ran.append(1)) for b in blocks]
    checks = []

    def release_after_first_block() -> bool:
        checks.append(1)
        return len(checks) > 1

    int8.set_partial_abort(release_after_first_block)
    try:
        clip = read_wav_16k(JFK)
        assert int8.transcribe(clip, AsrOptions(partial=True)).rejected == "superseded"
        assert len(ran) == 1 < len(blocks)
        assert sw.word_error_rate(sw.JFK_TEXT, int8.transcribe(clip, AsrOptions()).text) == 0
    finally:
        int8.set_partial_abort(None)
        for h in hooks:
            h.remove()
