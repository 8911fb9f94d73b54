"""Random-weight engines in real architecture sizes, and the compute and bandwidth floors that
`glimpse bench e2e --gpu` compares every stage with.

No weights can be downloaded where the benchmark runs, so the models are built in memory, seeded,
with the published dimensions of the real checkpoints. Their timings are honest (the same matrix
shapes, the same kernels); their words are not, so:

- `FixedLengthAsr` runs Glimpse's fast Whisper path (cut-context encoder, KV-cached greedy
  decoder) for exactly `tokens` steps and returns the question that was spoken;
- `FixedLengthVlm` runs `TransformersVlm` (prefix reuse, streaming) for exactly `tokens` steps and
  hands on the words of a fixed answer at the pace the tokens come (1.3 tokens a word), so the
  chunker and the TTS engine get real sentences at the real time.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from assistant.ports import AsrEngine, AsrOptions, AsrResult, VlmEngine, VlmRequest

# openai-whisper ModelDimensions of the published checkpoints: n_mels, n_audio_ctx,
# n_audio_state, n_audio_head, n_audio_layer, n_vocab, n_text_ctx, n_text_state, n_text_head,
# n_text_layer.
WHISPER_DIMS: dict[str, tuple[int, ...]] = {
    "tiny.en": (80, 1500, 384, 6, 4, 51864, 448, 384, 6, 4),
    "base.en": (80, 1500, 512, 8, 6, 51864, 448, 512, 8, 6),
    "small": (80, 1500, 768, 12, 12, 51865, 448, 768, 12, 12),
    "large-v3-turbo": (128, 1500, 1280, 20, 32, 51866, 448, 1280, 20, 4),
    "large-v3": (128, 1500, 1280, 20, 32, 51866, 448, 1280, 20, 32),
}
# What each preset of ui.presets is made of, for the benchmark (random weights), and the
# small stand-ins for a dry run on a CPU (`--presets tiny`).
BENCH_PRESETS: dict[str, tuple[str, str]] = {
    "balanced-gpu": ("small", "smolvlm2-2.2b"),
    "large-gpu": ("large-v3-turbo", "smolvlm2-2.2b"),
    "best-gpu": ("large-v3", "qwen2.5-vl-3b"),
    "tiny": ("tiny.en", "smolvlm-tiny"),
}
ANSWER = ("A cup of coffee on a saucer, with a spoon beside it. The table is wooden, and light "
          "comes from a window on the left. Nothing is in your way.")
TOKENS_PER_WORD = 1.3
# Dense bf16 tensor-core peak in FLOP/s from the vendors' data sheets, by device name.
SPEC_FLOPS = (("H200", 989e12), ("H100 NVL", 835e12), ("H100 PCIe", 756e12), ("H100", 989e12),
              ("A100", 312e12), ("L40S", 362e12), ("RTX 4090", 165e12), ("L4", 121e12))


#: Peak memory bandwidth of known GPUs (the vendors' figures), bytes per second.
HBM_BYTES_PER_S = (("H200", 4.8e12), ("H100 NVL", 3.9e12), ("H100 PCIe", 2.0e12),
                   ("H100", 3.35e12), ("A100-SXM4-80GB", 2.039e12), ("A100", 1.555e12),
                   ("L40S", 0.864e12), ("RTX 4090", 1.008e12))


def hbm_bytes_per_s(name: str, override_gbs: float | None) -> float | None:
    """The GPU's memory bandwidth: `override_gbs` GB/s when given, else the table's."""
    if override_gbs:
        return override_gbs * 1e9
    for key, value in HBM_BYTES_PER_S:
        if key in name:
            return value
    return None


def decode_bytes_per_token(model) -> int:
    """Bytes of weights read per decoded token: the language model and the output layer
    (the input embedding reads one row; the vision encoder does not run while decoding)."""
    decoder = model.get_decoder()
    head = model.get_output_embeddings()
    embed = model.get_input_embeddings()
    total = sum(p.numel() * p.element_size() for p in decoder.parameters())
    if head.weight.data_ptr() != embed.weight.data_ptr():
        total += head.weight.numel() * head.weight.element_size()
        total -= embed.weight.numel() * embed.weight.element_size()
    return int(total)


def random_whisper(size: str, device: str, dtype, seed: int = 0):
    """An openai-whisper model of a published size with seeded random weights."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(seed)
    with torch.device(device):
        model = Whisper(ModelDimensions(*WHISPER_DIMS[size]))
    return model.to(dtype).eval()


def _sync(device: Any) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


class FixedLengthAsr(AsrEngine):
    """An AsrEngine on a random-weight Whisper (see the module docstring). `expect` is the text
    of the question being spoken, set by the benchmark before each turn."""

    def __init__(self, model, size: str, tokens: int = 16, min_context_s: float | None = None):
        from audio.asr.engines import FastWhisperEngine
        from audio.asr.fast import FastWhisper

        if min_context_s is None:  # the production engine's default
            min_context_s = FastWhisperEngine().min_context_s
        self.model = model
        self.fast = FastWhisper(model, min_context_s=min_context_s)
        self.name = f"whisper:{size} (random weights)"
        self.tokens = tokens
        self.expect = ""
        self._abort = None
        self.decode_s: list[float] = []

    def load(self) -> None:
        pass

    def set_partial_abort(self, should_abort) -> None:
        self._abort = should_abort

    def transcribe(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        from audio.asr.fast import Superseded

        audio = np.asarray(audio, np.float32).reshape(-1)
        try:
            t = time.perf_counter()
            self.decode(audio, abort=self._abort if options.partial else None)
            if not options.partial:
                self.decode_s.append(time.perf_counter() - t)
        except Superseded:
            return AsrResult("", "en", 0.0, 0.0, "superseded")
        words = self.expect.split()
        text = " ".join(words[: max(1, 2 * len(words) // 3)]) if options.partial else self.expect
        return AsrResult(text, "en", 0.0, 0.0)

    def decode(self, audio: np.ndarray, abort=None) -> list[int]:
        import torch

        from audio.asr.fast import Superseded

        fw = self.fast
        with torch.inference_mode():
            cross = fw.cross_kv(fw.encode(audio))
            tok = fw.tokenizer("en")
            cache: list = []
            row = fw.forward(list(tok.sot_sequence_including_notimestamps), cache, cross)[-1]
            out: list[int] = []
            for _ in range(self.tokens):
                if abort is not None and abort():
                    raise Superseded()
                row[tok.eot] = -math.inf  # a fixed decode length
                out.append(int(row.argmax()))
                row = fw.forward([out[-1]], cache, cross)[-1]
        return out


def openai_whisper_decode(model, audio: np.ndarray, tokens: int) -> float:
    """The peer: what openai-whisper's transcribe() does for one window (log-mel of the padded
    30 s window, `whisper.decode`), with the same fixed decode length. Seconds."""
    import whisper
    from whisper.tokenizer import get_tokenizer

    device = next(model.parameters()).device
    tok = get_tokenizer(model.is_multilingual, num_languages=model.num_languages,
                        language="en", task="transcribe")
    options = whisper.DecodingOptions(language="en", without_timestamps=True,
                                      fp16=device.type == "cuda", sample_len=tokens,
                                      suppress_tokens=[-1, tok.eot])
    t = time.perf_counter()
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(np.asarray(audio, np.float32)),
                                      model.dims.n_mels).to(device)
    whisper.decode(model, mel, options)
    _sync(device)
    return time.perf_counter() - t


class FixedLengthVlm(VlmEngine):
    """A VlmEngine around `TransformersVlm` on random weights (see the module docstring)."""

    def __init__(self, engine, size: str, tokens: int = 48) -> None:
        self.engine = engine
        self.tokens = tokens
        engine.min_new_tokens = engine.max_new_tokens = tokens
        self.name = f"vlm:{size} (random weights)"
        self.warnings: tuple[str, ...] = ()

    def load(self) -> None:
        self.engine.load()

    def prepare_frame(self, frame, cancel=None, history=()) -> None:
        self.engine.prepare_frame(frame, cancel=cancel, history=history)

    def stream(self, request: VlmRequest, cancel) -> Iterator[str]:
        words = ANSWER.split()
        said = 0
        pieces = self.engine.stream(replace(request, max_new_tokens=self.tokens), cancel)
        try:
            for _ in pieces:
                made = self.engine.last.new_tokens
                while said < len(words) and made >= math.ceil((said + 1) * TOKENS_PER_WORD):
                    yield (" " if said else "") + words[said]
                    said += 1
        finally:
            pieces.close()


def first_clause_tokens() -> int:
    """Tokens the answer engine makes before the chunker can cut the first speakable piece (the
    word after the clause mark included)."""
    from audio.tts.chunker import SentenceChunker

    chunker = SentenceChunker()
    for i, word in enumerate(ANSWER.split()):
        if chunker.push((" " if i else "") + word):
            return math.ceil((i + 1) * TOKENS_PER_WORD)
    return math.ceil(len(ANSWER.split()) * TOKENS_PER_WORD)


# --------------------------------------------------------------------------- floors


@dataclass(frozen=True)
class Peaks:
    flops_per_s: float
    bytes_per_s: float
    source: str
    measured_flops_per_s: float
    measured_bytes_per_s: float


def measure_peaks(device: str, dtype, name: str = "") -> Peaks:
    """Peak matrix throughput and memory bandwidth: the data sheet's figures for a known GPU,
    else what a large matrix product and a large copy reach here (both are always measured)."""
    import torch


    n = 8192 if device.startswith("cuda") else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    reps = 10 if device.startswith("cuda") else 3
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    flops = 2 * n**3 * reps / (time.perf_counter() - t)
    size = (1 << 30) if device.startswith("cuda") else (1 << 26)
    x = torch.ones(size // 2, device=device, dtype=torch.float16)
    y = torch.empty_like(x)
    y.copy_(x)
    _sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        y.copy_(x)
    _sync(device)
    bandwidth = 2 * size * reps / (time.perf_counter() - t)  # bytes read and written
    del a, b, x, y
    spec_f = next((v for k, v in SPEC_FLOPS if k in name), None)
    spec_b = next((v for k, v in HBM_BYTES_PER_S if k in name), None)
    if spec_f and spec_b:
        return Peaks(spec_f, spec_b, f"data sheet ({name})", flops, bandwidth)
    return Peaks(flops, bandwidth, "measured here (matrix product, copy)", flops, bandwidth)


def _bytes(params) -> int:
    return sum(p.numel() * p.element_size() for p in params)


def whisper_floor_s(model, n_samples: int, tokens: int, fast, peaks: Peaks) -> float:
    """The least time the release -> final transcript stage can take on this device: the
    encoder over the cut context (compute or weight reads, whichever is longer), the cross-
    attention keys and values, then `tokens` decoder steps, each reading the decoder's weights
    and the cross-attention cache."""
    d = model.dims
    t = fast.context_frames(n_samples) // 2
    enc = model.encoder
    linear = sum(p.numel() for name, p in enc.named_parameters()
                 if p.dim() == 2 and "positional" not in name)
    conv = 2 * 3 * (d.n_mels * d.n_audio_state * 2 * t + d.n_audio_state ** 2 * t)
    enc_flops = 2 * linear * t + 4 * t * t * d.n_audio_state * d.n_audio_layer + conv
    enc_s = max(enc_flops / peaks.flops_per_s, _bytes(enc.parameters()) / peaks.bytes_per_s)
    elt = next(model.parameters()).element_size()
    cross_flops = 2 * t * 2 * d.n_text_state ** 2 * d.n_text_layer
    cross_bytes = 2 * t * d.n_text_state * d.n_text_layer * elt
    step_bytes = _bytes(model.decoder.parameters()) + cross_bytes
    return enc_s + cross_flops / peaks.flops_per_s + tokens * step_bytes / peaks.bytes_per_s


def vlm_floor_parts(engine, request: VlmRequest, peaks: Peaks) -> dict[str, float]:
    """Floors (seconds) of the VLM's parts for one request on this device:
    `image_prefix` (vision encoder + the prompt up to the image, done at release),
    `question_first_token` (the rest of the prompt, the prefix reused), `per_token` (one decode
    step: the language model's weights and the output layer read once)."""

    model = engine.model
    inputs = engine.prepare(request)
    ids = inputs["input_ids"][0]
    image_end = engine._image_end(ids)
    vision = engine.vision_module
    p_vis = sum(p.numel() for p in vision.parameters()) if vision is not None else 0
    pixels = inputs.get("pixel_values")
    if pixels is None:
        patches = 0
    elif pixels.dim() == 2:  # Qwen2-VL family: one row per patch
        patches = int(pixels.shape[0])
    else:  # (batch, tiles, channels, h, w)
        cfg = getattr(model.config, "vision_config", None)
        patch = getattr(cfg, "patch_size", 14)
        tiles = int(np.prod(pixels.shape[:-3]))
        patches = tiles * (pixels.shape[-1] // patch) * (pixels.shape[-2] // patch)
    per_token_bytes = decode_bytes_per_token(model)
    lm_params = per_token_bytes / next(model.parameters()).element_size()
    vision_flops = 2 * p_vis * patches

    def prefill(n: int) -> float:
        return max(2 * lm_params * n / peaks.flops_per_s, per_token_bytes / peaks.bytes_per_s)

    return {
        "image_prefix": vision_flops / peaks.flops_per_s + prefill(image_end),
        "question_first_token": prefill(int(ids.shape[0]) - image_end),
        "per_token": per_token_bytes / peaks.bytes_per_s,
        "prompt_tokens": int(ids.shape[0]), "image_tokens": image_end, "patches": patches,
    }


def weights_gb(preset: str) -> dict[str, float]:
    """Parameter count (billions) and bf16 weight size (GB) of a bench preset's models, built on
    the meta device (no memory, no time)."""
    import torch
    from whisper.model import AudioEncoder, TextDecoder

    from ui.bench.kit.vlm_models import random_vlm

    whisper_size, vlm_size = BENCH_PRESETS[preset]
    m, a_ctx, a_state, a_head, a_layer, vocab, t_ctx, t_state, t_head, t_layer = \
        WHISPER_DIMS[whisper_size]
    with torch.device("meta"):  # (Whisper itself makes a sparse buffer, which meta cannot)
        parts = (AudioEncoder(m, a_ctx, a_state, a_head, a_layer),
                 TextDecoder(vocab, t_ctx, t_state, t_head, t_layer))
    _, vlm = random_vlm(vlm_size, "meta", torch.bfloat16)
    n_asr = sum(p.numel() for part in parts for p in part.parameters())
    n_vlm = sum(p.numel() for p in vlm.parameters())
    return {"asr_params_b": round(n_asr / 1e9, 3), "vlm_params_b": round(n_vlm / 1e9, 3),
            "weights_gb_bf16": round(2 * (n_asr + n_vlm) / 1e9, 2)}
