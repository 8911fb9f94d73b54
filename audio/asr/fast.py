"""A fast Whisper decode on openai-whisper's own weights, for short push-to-talk utterances.

openai-whisper always pads audio to a 30 s window (1500 encoder positions); for a 5 s question
that padding is most of the work. Here:
- the encoder sees only the utterance, padded with silence to a whole number of seconds
  (`pad_s` more at least), using the first T rows of the positional embedding. Whisper was
  trained on 30 s windows, so the context is never cut below `min_context_s` (6 s): trailing
  silence is what keeps the decoder ending cleanly (checked on jfk and generated speech, see
  docs/asr.md);
- the decoder runs a hand-written greedy loop: cross-attention keys/values computed once per
  utterance, a self-attention KV cache, `scaled_dot_product_attention`, logits only where needed;
- draft verification: the tokens of the last partial transcript (decoded while the key was held)
  are fed in one decoder pass at release; the longest prefix the greedy decode would have
  produced itself is accepted, so the result is exactly the greedy result, in fewer steps;
- where a cut context still fails, the decoder reads the question and starts it over ("Is my
  mug here? Is my mug here? Is my ..."); when a finished sentence starts again right after a
  sentence ends, the transcript ends there instead (`end_on_restart`);
- temperature fallback as in openai-whisper (compression ratio > 2.4 or low average log-prob);
  before it, a decode that ends by repeating itself (a phrase said twice in a row: the way a
  cut-context decode fails) is redone once with the full 30 s window, exactly as openai-whisper
  would see it.

Threads: one caller at a time (the ASR stage thread). Audio is 16 kHz mono float32.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

SAMPLE_RATE = 16000
HOP = 160  # samples per mel frame (10 ms)
FRAMES_PER_S = SAMPLE_RATE // HOP
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


class Superseded(Exception):
    """A partial decode was abandoned because newer audio (or the release) is waiting."""


@dataclass
class Decoded:
    tokens: list[int]
    text: str
    language: str | None
    avg_logprob: float
    no_speech_prob: float
    temperature: float
    compression_ratio: float
    timings: dict[str, float] = field(default_factory=dict)


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """`x -> x @ weight.T + bias` in the weights' own dtype (the float path)."""
    return lambda x: F.linear(x, weight, bias)


def _chain(*layers: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(x: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            x = layer(x)
        return x
    return run


def repeats(text: str, min_words: int = 2) -> bool:
    """True when the text ends with the same phrase twice in a row ("how are you how are you")."""
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    for n in range(min_words, len(words) // 2 + 1):
        if words[-n:] == words[-2 * n:-n]:
            return True
    return False


RESTART_MATCH = 3  # tokens that must come again before a decode counts as starting over


def _ends_sentence(tok, token: int) -> bool:
    return tok.decode([token]).rstrip()[-1:] in (".", "?", "!")


class FastWhisper:
    """Wraps a loaded `whisper.model.Whisper` (any size, English-only or multilingual)."""

    def __init__(self, model, min_context_s: float = 6.0, pad_s: float = 2.0,
                 round_s: float = 1.0, int8: bool = False, owns_model: bool = False) -> None:
        """`owns_model`: nothing else uses `model`, so with `int8` its float32 Linear layers
        are quantized in place and the ones the decode no longer reads are let go (Whisper
        base: about 150 MB less), instead of being kept beside their int8 copies."""
        import whisper

        self.whisper = whisper
        self.model = model.eval()
        self.dims = model.dims
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.min_context_s = min_context_s
        self.pad_s = pad_s
        self.round_s = round_s
        dec = model.decoder
        self._tok_emb = dec.token_embedding.weight
        self._pos_emb = dec.positional_embedding
        self._blocks = list(dec.blocks)
        self._n_head = self.dims.n_text_head
        self._suppress_cache: dict[tuple[bool, str | None], torch.Tensor] = {}
        # int8 (CPU only): the Linear layers of the encoder and decoder, and the vocabulary
        # projection, as int8 dynamic-quantized matmuls (audio.asr.int8; the MLPs' second
        # matrix stays float32).
        self.int8 = bool(int8) and self.device.type == "cpu" and self.dtype == torch.float32
        self._encoder = model.encoder
        linear = _linear
        if self.int8:
            from audio.asr.int8 import keep_float, quantize_linears, quantized_linear, swap_linears

            if owns_model:
                swap_linears(model.encoder, keep_float)
            else:
                self._encoder = quantize_linears(model.encoder)
            linear = quantized_linear
        self._vocab = linear(self._tok_emb, None)
        # q, k and v of each self-attention as one matrix: one matmul per layer and step.
        self._qkv, self._lin = [], []
        for blk in self._blocks:
            at, ca = blk.attn, blk.cross_attn
            zeros = torch.zeros_like(at.query.bias)
            self._qkv.append(linear(torch.cat([at.query.weight, at.key.weight, at.value.weight]),
                                    torch.cat([at.query.bias, zeros, at.value.bias])))
            self._lin.append({
                "out": linear(at.out.weight, at.out.bias),
                "cross_q": linear(ca.query.weight, ca.query.bias),
                "cross_k": linear(ca.key.weight, None),
                "cross_v": linear(ca.value.weight, ca.value.bias),
                "cross_out": linear(ca.out.weight, ca.out.bias),
                # The MLP's second matrix stays float32 (audio.asr.int8.keep_float).
                "mlp": _chain(linear(blk.mlp[0].weight, blk.mlp[0].bias), blk.mlp[1],
                              _linear(blk.mlp[2].weight, blk.mlp[2].bias)),
            })
        if self.int8 and owns_model:
            # The decode reads the int8 copies above; the float32 layers they were made from
            # are let go (the layer norms, the embeddings and each MLP's second matrix stay).
            for blk in self._blocks:
                blk.attn, blk.cross_attn = None, None
                blk.mlp[0] = torch.nn.Identity()

    # -- audio -> encoder features ---------------------------------------------------------------

    def context_frames(self, n_samples: int) -> int:
        """Mel frames the encoder sees for `n_samples` of audio (even, ≤ 3000)."""
        seconds = n_samples / SAMPLE_RATE + self.pad_s
        seconds = max(self.min_context_s, math.ceil(seconds / self.round_s) * self.round_s)
        return min(2 * self.dims.n_audio_ctx, int(seconds * FRAMES_PER_S) // 2 * 2)

    @torch.inference_mode()
    def encode(self, audio: np.ndarray, full_context: bool = False,
               abort: Callable[[], bool] | None = None) -> torch.Tensor:
        """Encoder output (1, T/2, n_state) for ≤ 30 s of audio, context cut to its length
        (or the whole 30 s window with `full_context`).

        `abort()` is checked before every encoder block: a partial whose encoder is running
        when the key is released gives way at once (`Superseded`) instead of finishing the
        encoder, which is most of a partial's cost."""
        frames = 2 * self.dims.n_audio_ctx if full_context else self.context_frames(len(audio))
        samples = torch.from_numpy(np.ascontiguousarray(audio, np.float32))[: frames * HOP]
        mel = self.whisper.log_mel_spectrogram(samples, self.dims.n_mels,
                                               padding=frames * HOP - len(samples))
        mel = mel[:, :frames].unsqueeze(0).to(self.device, self.dtype)
        enc = self._encoder
        x = F.gelu(enc.conv1(mel))
        x = F.gelu(enc.conv2(x)).permute(0, 2, 1)
        x = x + enc.positional_embedding[: x.shape[1]].to(x.dtype)
        for block in enc.blocks:
            if abort is not None and abort():
                raise Superseded()
            x = block(x)
        return enc.ln_post(x)

    # -- decoder ------------------------------------------------------------------------------------

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, s = x.shape
        return x.view(b, n, self._n_head, s // self._n_head).transpose(1, 2)

    @torch.inference_mode()
    def cross_kv(self, xa: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        # Contiguous: every decoder step reads them, and attention would copy a strided view.
        return [(self._heads(lin["cross_k"](xa)).contiguous(),
                 self._heads(lin["cross_v"](xa)).contiguous()) for lin in self._lin]

    def forward(self, tokens: Sequence[int], cache: list, cross: list,
                all_logits: bool = False, rows: Sequence[int] | None = None) -> torch.Tensor:
        """Run `tokens` after what `cache` holds (updated in place); float32 logits of the last
        position, of every position with `all_logits`, or of the positions in `rows` (the
        vocabulary projection is the costliest step: only compute the rows needed)."""
        offset = cache[0][0].shape[2] if cache else 0
        n = len(tokens)
        ids = torch.tensor([list(tokens)], device=self.device)
        x = F.embedding(ids, self._tok_emb) + self._pos_emb[offset: offset + n].to(self.dtype)
        mask = None
        if n > 1:
            q_pos = torch.arange(offset, offset + n, device=self.device)[:, None]
            mask = torch.arange(offset + n, device=self.device)[None, :] <= q_pos
        for i, blk in enumerate(self._blocks):
            lin = self._lin[i]
            h = blk.attn_ln(x)
            q, k, v = (self._heads(t) for t in self._qkv[i](h).chunk(3, dim=-1))
            if len(cache) > i:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            x = x + lin["out"](a.transpose(1, 2).flatten(2))
            h = blk.cross_attn_ln(x)
            q = self._heads(lin["cross_q"](h))
            a = F.scaled_dot_product_attention(q, cross[i][0], cross[i][1])
            x = x + lin["cross_out"](a.transpose(1, 2).flatten(2))
            x = x + lin["mlp"](blk.mlp_ln(x))
        if rows is not None:
            x = x[:, list(rows)]
        elif not all_logits:
            x = x[:, -1:]
        x = self.model.decoder.ln(x)
        return self._vocab(x).float()[0]

    @staticmethod
    def _truncate(cache: list, length: int) -> None:
        for i, (k, v) in enumerate(cache):
            cache[i] = (k[:, :, :length], v[:, :, :length])

    # -- tokens ---------------------------------------------------------------------------------------

    def tokenizer(self, language: str | None):
        return self.whisper.tokenizer.get_tokenizer(
            self.model.is_multilingual, num_languages=self.model.num_languages,
            language=language if self.model.is_multilingual else None, task="transcribe")

    def _suppress(self, tok) -> torch.Tensor:
        """An additive logit mask (0 or -inf) for the tokens never emitted: all special and
        timestamp tokens except end-of-text, and openai-whisper's non-speech symbols (its
        default `suppress_tokens="-1"`). One add per step instead of an indexed write."""
        key = (self.model.is_multilingual, getattr(tok, "language", None))
        if key not in self._suppress_cache:
            ids = set(tok.non_speech_tokens) | set(range(tok.eot + 1, self.dims.n_vocab))
            mask = torch.zeros(self.dims.n_vocab, device=self.device)
            mask[sorted(ids)] = -math.inf
            self._suppress_cache[key] = mask
        return self._suppress_cache[key]

    def prompt_tokens(self, tok, prompt: str) -> list[int]:
        if not prompt.strip():
            return []
        ids = tok.encode(" " + prompt.strip())[-(self.dims.n_text_ctx // 2 - 1):]
        return [tok.sot_prev, *ids]

    @torch.inference_mode()
    def detect_language(self, cross: list) -> str:
        tok = self.tokenizer(None)
        logits = self.forward([tok.sot], [], cross)[-1]
        lang_ids = torch.tensor(tok.all_language_tokens, device=self.device)
        best = int(lang_ids[logits[lang_ids].argmax()])
        return tok.decode([best]).strip("<|>")

    # -- decoding ---------------------------------------------------------------------------------------

    @torch.inference_mode()
    def greedy(self, cross: list, tok, prefix: list[int], max_tokens: int,
               temperature: float = 0.0, draft: Sequence[int] = (),
               generator: torch.Generator | None = None,
               abort: Callable[[], bool] | None = None,
               end_on_restart: bool = False) -> tuple[list[int], float, float]:
        """(text tokens, sum of log-probs incl. end-of-text, no-speech probability).

        `abort()` is checked before every step; when it returns True, `Superseded` is raised.
        `end_on_restart`: when, right after a sentence ends, the first `RESTART_MATCH` tokens
        (all, if shorter) of a sentence already read come again, the transcript ends where the
        sentence ended. That is how a cut context fails: "Is my mug here? Is my mug here? Is my ..." to the token
        limit, where end-of-text was the runner-up (measured on 32 questions at a 6 s context:
        12 did so, and every first reading was what openai-whisper's full window gives, or
        better). A new sentence that only begins alike ("Is it red? Is it blue?") goes on."""
        cache: list = []
        sot_index = prefix.index(tok.sot)
        limit = min(max_tokens, self.dims.n_text_ctx - len(prefix) - 1)
        draft = list(draft)[:limit] if temperature == 0.0 else []
        # The prefix and the draft in one pass (one read of the weights): each draft row
        # predicts the token after it, and is used only while the greedy path follows the draft.
        rows = (sot_index, *range(len(prefix) - 1, len(prefix) + len(draft)))
        logits = self.forward(prefix + draft, cache, cross, rows=rows)
        no_speech = float(logits[0].softmax(-1)[tok.no_speech])
        row, pending_rows = logits[1], list(logits[2:])
        suppress = self._suppress(tok)
        first = suppress.clone()  # at the first step a blank or end-of-text is not allowed either
        first[tok.encode(" ") + [tok.eot]] = -math.inf
        out: list[int] = []
        sum_lp = 0.0
        # end_on_restart: the finished sentences (begin, end); and, while the tokens after the
        # last one repeat one of them, (where the repeat began, the sentences it may repeat,
        # the log-prob had the transcript ended there).
        sentences: list[tuple[int, int]] = []
        restart: tuple[int, list[tuple[int, int]], float] | None = None
        while len(out) < limit:
            if abort is not None and abort():
                raise Superseded()
            row = row + (suppress if out else first)
            if temperature > 0:
                nxt = int(torch.multinomial((row / temperature).softmax(-1), 1,
                                            generator=generator))
            else:
                nxt = int(row.argmax())
            logz = torch.logsumexp(row, -1)
            if nxt == tok.eot:
                sum_lp += float(row[nxt] - logz)
                break
            if restart is not None:  # is a finished sentence being read again?
                at, spans, ended = restart
                k = len(out) - at  # tokens of the repeat so far
                spans = [(b, e) for b, e in spans if b + k < e and out[b + k] == nxt]
                restart = (at, spans, ended) if spans else None  # else a sentence that only
                # begins alike ("Is it red? Is it blue?"): it goes on
                if any(k + 1 >= min(e - b, RESTART_MATCH) for b, e in spans):
                    del out[at:]  # it is: end where the first reading ended
                    sum_lp = ended
                    break
            elif end_on_restart and sentences and sentences[-1][1] == len(out):
                spans = [(b, e) for b, e in sentences if out[b] == nxt]
                if spans:
                    restart = (len(out), spans, sum_lp + float(row[tok.eot] - logz))
                    if any(e - b == 1 for b, e in spans):
                        sum_lp = restart[2]
                        break
            sum_lp += float(row[nxt] - logz)
            out.append(nxt)
            if end_on_restart and _ends_sentence(tok, nxt):
                sentences.append((sentences[-1][1] if sentences else 0, len(out)))
            if pending_rows:  # draft verification: the next row is already computed
                if draft[0] == nxt:
                    draft.pop(0)
                    row = pending_rows.pop(0)
                    continue
                # The greedy path left the draft: forget the cache of the rejected tokens.
                self._truncate(cache, len(prefix) + len(out) - 1)
                pending_rows, draft = [], []
            row = self.forward([nxt], cache, cross)[-1]
        return out, sum_lp, no_speech

    def decode(self, audio: np.ndarray, *, full_context: bool = False, language: str | None, prompt: str = "",
               draft: Sequence[int] = (), logprob_threshold: float | None = -1.0,
               no_speech_threshold: float | None = 0.6,
               compression_threshold: float = 2.4,
               temperatures: Sequence[float] = TEMPERATURES,
               abort: Callable[[], bool] | None = None) -> Decoded:
        """Transcribe ≤ 30 s of audio (greedy with openai-whisper's temperature fallback)."""
        import time

        from whisper.utils import compression_ratio

        t0 = time.perf_counter()
        xa = self.encode(audio, full_context, abort)
        with torch.inference_mode():
            cross = self.cross_kv(xa)
        t1 = time.perf_counter()
        if language is None and self.model.is_multilingual:
            language = self.detect_language(cross)
        elif not self.model.is_multilingual:
            language = "en"
        tok = self.tokenizer(language)
        prefix = self.prompt_tokens(tok, prompt) + list(tok.sot_sequence_including_notimestamps)
        # A context under 10 s is where a decode reads the question again (see greedy). Longer
        # audio (a window of a file) keeps a sentence said twice: it is not cut short there.
        restarts_end = not full_context and self.context_frames(len(audio)) < 10 * FRAMES_PER_S
        # Speech runs at most ~5 tokens a second; more means a repetition loop.
        max_tokens = int(12 * len(audio) / SAMPLE_RATE) + 16
        generator = torch.Generator().manual_seed(0)
        result = best = None
        for temperature in temperatures:
            tokens, sum_lp, no_speech = self.greedy(cross, tok, prefix, max_tokens, temperature,
                                                    draft, generator, abort,
                                                    end_on_restart=restarts_end)
            text = tok.decode(tokens).strip()
            avg = sum_lp / (len(tokens) + 1)
            ratio = compression_ratio(text) if text else 0.0
            result = Decoded(tokens, text, language, avg, no_speech, temperature, ratio)
            looping = len(tokens) >= max_tokens or ratio > compression_threshold
            if temperature == 0.0 and not full_context and (looping or repeats(text)):
                # The cut context misled the decoder: redo it as openai-whisper would.
                retry = self.decode(audio, full_context=True, language=language, prompt=prompt,
                                    logprob_threshold=logprob_threshold,
                                    no_speech_threshold=no_speech_threshold,
                                    compression_threshold=compression_threshold,
                                    temperatures=temperatures, abort=abort)
                retry.timings["full_context_retry"] = 1.0
                return retry
            unsure = logprob_threshold is not None and avg < logprob_threshold
            silent = no_speech_threshold is not None and no_speech > no_speech_threshold
            if silent or not (looping or unsure):
                break
            if not looping and (best is None or avg > best.avg_logprob):
                best = result
        else:
            # Every temperature failed the checks: keep the most confident non-looping attempt
            # rather than the last, most random one.
            result = best or result
        assert result is not None
        result.timings = {"encode_s": t1 - t0, "decode_s": time.perf_counter() - t1}
        return result
