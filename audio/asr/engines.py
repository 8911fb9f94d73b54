"""Whisper speech recognition behind the `AsrEngine` port.

Engines (config `asr.engine`):
- `fast` (default): `audio.asr.fast` on openai-whisper's weights: encoder context cut to the
  utterance, a hand-written greedy decoder with KV cache and SDPA, and the last partial
  transcript reused as a verified draft at release.
- `openai-whisper`: the reference, `whisper.transcribe()` (greedy, temperature fallback).
- `faster-whisper`: CTranslate2, int8 on CPU (float16 on CUDA).

Every engine runs the same hallucination guard (`Guard`): an energy gate and Silero VAD before
decoding (silence and noise never reach Whisper), openai-whisper's no-speech and log-prob
thresholds after, and a small blocklist of texts Whisper invents on silence as a last resort.
A rejected utterance gives `AsrResult(text="", rejected=<reason>)`.

Threads: `load()` and `transcribe()` run on the ASR stage thread (or the CLI's main thread).
Audio is 16 kHz mono float32.
"""
from __future__ import annotations

import abc
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigError, ModelError, damaged_model, refused_pickle
from assistant.ports import AsrEngine, AsrOptions, AsrResult

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# Long audio is cut into phrase-aligned pieces of at most this many seconds: tiny models decode
# a few phrases at a time more reliably (without timestamps) than a full 30 s window.
WINDOW_S = 15.0
ENGINES = ("fast", "openai-whisper", "faster-whisper")

# Texts Whisper produces on silence or noise (from its subtitle training data). Matched on the
# whole normalized transcript, and only applied when the audio gave little speech evidence.
SILENCE_HALLUCINATIONS = frozenset({
    "thank you for watching", "thanks for watching", "thank you so much for watching",
    "please subscribe", "subscribe to my channel", "like and subscribe",
    "subtitles by the amaraorg community", "thank you", "thanks", "you", "bye", "so",
    "i'm sorry", "the end", "music", "applause", "silence", "okay",
})


def normalize(text: str) -> str:
    """Lower case, no punctuation, single spaces: for comparing transcripts."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).replace("'", "'").split())


# --------------------------------------------------------------------------- the guard


@dataclass(frozen=True)
class GuardOptions:
    min_rms: float = 0.0015  # below this (about -56 dBFS) the utterance is silence
    vad_threshold: float = 0.5
    min_speech_ms: int = 200
    use_vad: bool = True
    trim: bool = True  # cut leading/trailing non-speech (keeps `trim_pad_s` around speech)
    trim_pad_s: float = 0.3


class Guard:
    """Decides, before and after decoding, whether an utterance holds speech."""

    def __init__(self, options: GuardOptions = GuardOptions()) -> None:
        self.options = options

    def before(self, audio: np.ndarray) -> tuple[np.ndarray, str | None, float]:
        """(audio to decode, rejection reason or None, seconds of speech found)."""
        if audio.size == 0:
            return audio, "silence", 0.0
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
        if rms < self.options.min_rms:
            return audio, "silence", 0.0
        if not self.options.use_vad:
            return audio, None, len(audio) / SAMPLE_RATE
        from audio.capture.vad import speech_segments

        segments = speech_segments(audio, self.options.vad_threshold, self.options.min_speech_ms)
        if not segments:
            return audio, "no-speech", 0.0
        speech_s = sum(e - s for s, e in segments) / SAMPLE_RATE
        if self.options.trim:
            pad = int(self.options.trim_pad_s * SAMPLE_RATE)
            audio = audio[max(0, segments[0][0] - pad): segments[-1][1] + pad]
        return audio, None, speech_s

    def after(self, result: AsrResult, options: AsrOptions, speech_s: float) -> AsrResult:
        text = result.text.strip()
        if not text:
            return AsrResult("", result.language, result.no_speech_prob, result.avg_logprob,
                             result.rejected or "no-speech")
        if (result.no_speech_prob > options.no_speech_threshold
                and result.avg_logprob < options.logprob_threshold):
            return AsrResult("", result.language, result.no_speech_prob, result.avg_logprob,
                             "no-speech")
        weak = speech_s < 1.0 or result.no_speech_prob > 0.3 or result.avg_logprob < -0.7
        if weak and normalize(text) in SILENCE_HALLUCINATIONS:
            return AsrResult("", result.language, result.no_speech_prob, result.avg_logprob,
                             "hallucination")
        return AsrResult(text, result.language, result.no_speech_prob, result.avg_logprob, None)


def split_windows(audio: np.ndarray, window_s: float = WINDOW_S, search_s: float = 8.0
                  ) -> list[tuple[int, int]]:
    """Cut audio longer than `window_s` into pieces of at most that, for long files.

    Cuts go in the middle of pauses Silero VAD finds, so each piece holds whole phrases (Whisper
    decodes a phrase-aligned piece much better than one cut mid-word); speech running on longer
    than a window is cut at its quietest 100 ms within the last `search_s` seconds.
    """
    n, step = len(audio), int(window_s * SAMPLE_RATE)
    if n <= step:
        return [(0, n)]
    from audio.capture.vad import speech_segments

    segments = speech_segments(audio) or [(0, n)]
    bounds = [0]
    for (_, end), (start, _) in zip(segments, segments[1:]):
        bounds.append((end + start) // 2)  # a cut point in each pause
    bounds.append(n)
    out, start = [], 0
    for prev, cut in zip(bounds, bounds[1:]):
        if cut - start > step and prev > start:
            out.append((start, prev))
            start = prev
        while cut - start > step:  # one phrase longer than a window
            cut_at = _quietest(audio, start + step - int(search_s * SAMPLE_RATE), start + step)
            out.append((start, cut_at))
            start = cut_at
    out.append((start, n))
    return [(a, b) for a, b in out if b > a]


def _quietest(audio: np.ndarray, lo: int, hi: int) -> int:
    frame = SAMPLE_RATE // 10
    seg = audio[lo:hi]
    frames = max(1, len(seg) // frame)
    energy = np.square(seg[: frames * frame].reshape(frames, -1)).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def prompt_text(options: AsrOptions) -> str:
    """The decoder prompt: hotwords first (as a list of words to expect), then the user's text."""
    parts = []
    if options.hotwords:
        parts.append(", ".join(options.hotwords) + ".")
    if options.initial_prompt.strip():
        parts.append(options.initial_prompt.strip())
    return " ".join(parts)


# --------------------------------------------------------------------------- model locations


def _device(config_device: str) -> str:
    if config_device != "auto":
        return config_device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def model_name(reference: str) -> str:
    """`whisper:tiny.en` -> `tiny.en`."""
    return reference.split(":", 1)[1] if reference.startswith("whisper:") else reference


def resolve_checkpoint(reference: str, config: Any = None) -> Path:
    """An openai-whisper `.pt` for a model reference: a local file, or a name resolved by the
    model store (which finds, converts or downloads it)."""
    local = Path(os.path.expanduser(reference))
    if local.is_file():
        return local
    if local.is_dir():
        # A CTranslate2 folder: converted once into the user cache (the folder may be read-only).
        import hashlib

        import platformdirs

        from audio.asr.convert import convert_ct2_to_openai

        key = hashlib.sha1(str(local.resolve()).encode()).hexdigest()[:12]
        out = Path(platformdirs.user_cache_dir("glimpse")) / "converted" / f"{local.name}-{key}.pt"
        if not out.is_file():
            convert_ct2_to_openai(local, out)
        return out
    from assistant.models.store import ModelStore
    from audio.asr.convert import convert_ct2_to_openai

    # The store searches ~/.cache/whisper, its cache and the offline pack, downloads when
    # allowed, and raises a ModelError that names the places searched and the command to run.
    return Path(ModelStore(config, convert_whisper=convert_ct2_to_openai)
                .whisper_checkpoint(model_name(reference)))


def resolve_ct2(reference: str, config: Any = None) -> Path:
    """A CTranslate2 folder for faster-whisper: a local folder, or one the model store finds
    (its cache, the Hugging Face cache, the offline pack)."""
    local = Path(os.path.expanduser(reference))
    if local.is_dir():
        return local
    from assistant.models.store import ModelStore

    name = model_name(reference)
    found = ModelStore(config).ct2_whisper(name, fallback=True)
    if found is not None:
        return Path(found)
    raise ModelError(f"No faster-whisper (CTranslate2) copy of '{name}' is on this computer",
                     f"Run `glimpse models pull whisper:{name}`, or set asr.model to a "
                     "CTranslate2 folder", needs_action=True)


# --------------------------------------------------------------------------- engines


class _WhisperEngine(AsrEngine, abc.ABC):
    """What every Whisper engine shares: the weights (`weights`, else found by the model store
    from `reference`), the device, the guard around the decode. Subclasses say how to find and
    open their weights and how to decode; `load()` runs on the ASR stage's thread."""

    name = "whisper"

    def __init__(self, weights: Path | str | None = None, *, reference: str = "",
                 config: Any = None, device: str = "auto",
                 guard: GuardOptions = GuardOptions()) -> None:
        self.weights = Path(weights) if weights else None
        self.reference = reference
        self.config = config
        self.device = _device(device)
        self.guard = Guard(guard)
        self.model: Any = None
        self.last_timings: dict[str, float] = {}

    def load(self) -> None:
        if self.model is None:
            self.model = self._open(self.weights or self._resolve())

    def transcribe(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        if self.model is None:
            self.load()
        audio = np.asarray(audio, np.float32).reshape(-1)
        trimmed, rejected, speech_s = self.guard.before(audio)
        if rejected:
            return AsrResult("", options.language, 1.0, 0.0, rejected)
        return self.guard.after(self._decode(trimmed, options), options, speech_s)

    @abc.abstractmethod
    def _resolve(self) -> Path:
        """The weights for `reference`, from the model store (ModelError when missing)."""

    @abc.abstractmethod
    def _open(self, path: Path) -> Any:
        """Load the weights at `path` on `device` (ModelError when they cannot be read)."""

    @abc.abstractmethod
    def _decode(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        """Decode speech the guard let through (16 kHz mono float32)."""


class _WhisperBase(_WhisperEngine):
    """Shared by the engines on openai-whisper weights (a `.pt` checkpoint)."""

    def _resolve(self) -> Path:
        return resolve_checkpoint(self.reference, self.config)

    def _open(self, path: Path) -> Any:
        import whisper

        try:
            with open(path, "rb"):  # a folder or an unreadable file is not a damaged one
                pass
            model = whisper.load_model(str(path), device=self.device)
        except OSError as exc:  # unreadable (permissions, a vanished disk): not damaged
            raise ModelError(f"The Whisper model {path} could not be read ({exc})",
                             "Check that the file can be read, or choose another model in "
                             "Settings") from exc
        except Exception as exc:  # noqa: BLE001 - garbage unpickles into any error at all
            if isinstance(exc, MemoryError) or "out of memory" in str(exc):
                raise  # a sound file that does not fit: describe_exception says so
            refused = refused_pickle(path, exc)  # code in the file (never run), or damaged
            raise (refused or damaged_model(path, exc)) from None
        return model.half() if self.device == "cuda" else model


class OpenAIWhisperEngine(_WhisperBase):
    """The reference: openai-whisper's own `transcribe()` (greedy with temperature fallback),
    fp16 on CUDA, fp32 on CPU."""

    name = "openai-whisper"

    def _decode(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        import whisper

        prompt = prompt_text(options)
        out = whisper.transcribe(self.model, audio, language=options.language,
                                 temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
                                 initial_prompt=prompt or None, fp16=self.device == "cuda",
                                 no_speech_threshold=options.no_speech_threshold,
                                 logprob_threshold=options.logprob_threshold,
                                 condition_on_previous_text=True, verbose=None)
        segments = out.get("segments") or []
        no_speech = max((s["no_speech_prob"] for s in segments), default=1.0)
        avg = float(np.mean([s["avg_logprob"] for s in segments])) if segments else 0.0
        return AsrResult(out["text"].strip(), out.get("language"), no_speech, avg)


class FastWhisperEngine(_WhisperBase):
    """The engine `asr.engine = "fast"` names (the default; not faster-whisper, which is
    `FasterWhisperEngine`): openai-whisper weights, cut-context encoder, own greedy decoder
    (`audio.asr.fast`)."""

    name = "fast"

    def __init__(self, *args: Any, min_context_s: float = 6.0, int8: bool = False,
                 warm_up: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.min_context_s = min_context_s
        self.int8 = int8  # int8 Linear layers on the CPU (audio.asr.int8)
        # A warm-up pass at load: off, because on the loaded 2-core machine the first decode
        # after load was no faster with it (bench asr measures both; see docs/asr.md).
        self.warm_up = warm_up
        self.fast = None
        self._draft: list[int] = []
        self._abort_partial = None
        # Long audio: called with (seconds done, seconds total) after each window (CLI progress).
        self.on_progress = None

    def set_partial_abort(self, should_abort) -> None:
        """`should_abort()` (checked between decoder steps of a partial decode) says newer audio
        is waiting; the partial is then dropped (`rejected="superseded"`), so the release never
        waits for a stale partial to finish."""
        self._abort_partial = should_abort

    def load(self) -> None:
        super().load()
        if self.fast is None:
            from audio.asr.fast import FastWhisper

            self.fast = FastWhisper(self.model, min_context_s=self.min_context_s,
                                    int8=self.int8, owns_model=True)
            self._load_tokenizer()
            if self.warm_up:
                self._warm_up()

    def _load_tokenizer(self) -> None:
        """Build the tokenizer and its suppress mask now and encode once: tiktoken reads its
        ranks and compiles its pattern on first use, holding the GIL for 100+ ms. In the first
        question's partial decode that starved the speaker's callback (device underruns)."""
        fast = self.fast
        assert fast is not None
        tok = fast.tokenizer(None if self.model.is_multilingual else "en")
        fast.prompt_tokens(tok, "Glimpse")
        fast._suppress(tok)

    def _warm_up(self) -> None:
        """One short pass at load, so the first turn does not pay for first-call work (allocator
        growth, kernel selection, the tokenizer, the suppress mask, Silero's session): the guard,
        the encoder at the minimum context, a decoder step and a multi-token (draft) pass."""
        fast = self.fast
        assert fast is not None
        noise = np.random.default_rng(0).normal(0, 0.05, SAMPLE_RATE * 2).astype(np.float32)
        self.guard.before(noise)
        cross = fast.cross_kv(fast.encode(noise))
        tok = fast.tokenizer(None if self.model.is_multilingual else "en")
        prefix = list(tok.sot_sequence_including_notimestamps)
        fast.greedy(cross, tok, prefix, max_tokens=2, draft=tok.encode(" And so my fellow"))

    def _decode(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        assert self.fast is not None
        prompt = prompt_text(options)
        texts, language, no_speech, logprobs = [], options.language, 1.0, []
        timings = {"encode_s": 0.0, "decode_s": 0.0}
        windows = split_windows(audio)
        self.window_languages: list[str | None] = []  # per decoded window, for long files
        for start, end in windows:
            if self.on_progress is not None and len(windows) > 1:
                self.on_progress(start / SAMPLE_RATE, len(audio) / SAMPLE_RATE)
            piece = audio[start:end]
            if len(windows) > 1 and not self.guard.before(piece)[1] is None:
                continue  # a silent window inside a long file
            draft = self._draft if (len(windows) == 1 and not options.partial) else ()
            from audio.asr.fast import Superseded

            try:
                # Language per window when it is not fixed: a recording that changes language
                # midway is not forced into the first window's language.
                d = self.fast.decode(piece, language=options.language, prompt=prompt,
                                     draft=draft,
                                     logprob_threshold=options.logprob_threshold,
                                     no_speech_threshold=options.no_speech_threshold,
                                     abort=self._abort_partial if options.partial else None)
            except Superseded:
                return AsrResult("", language, 0.0, 0.0, "superseded")
            for key in timings:
                timings[key] += d.timings.get(key, 0.0)
            language = language or d.language  # the result carries the first window's
            self.window_languages.append(d.language)
            if len(windows) > 1 and d.no_speech_prob > options.no_speech_threshold \
                    and d.avg_logprob < options.logprob_threshold:
                continue
            texts.append(d.text)
            no_speech = min(no_speech, d.no_speech_prob)
            logprobs.append(d.avg_logprob)
            if len(windows) == 1:
                # The partial's tokens become the draft of the final decode at release.
                self._draft = list(d.tokens) if options.partial else []
        self.last_timings = timings
        return AsrResult(" ".join(t for t in texts if t).strip(), language, no_speech,
                         float(np.mean(logprobs)) if logprobs else 0.0)


class FasterWhisperEngine(_WhisperEngine):
    """faster-whisper (CTranslate2): int8 on CPU, float16 on CUDA. Greedy, like the others.
    `weights` is a CTranslate2 folder."""

    name = "faster-whisper"

    def _resolve(self) -> Path:
        return resolve_ct2(self.reference, self.config)

    def _open(self, path: Path) -> Any:
        from faster_whisper import WhisperModel

        compute = "float16" if self.device == "cuda" else "int8"
        try:
            return WhisperModel(str(path), device=self.device, compute_type=compute,
                                cpu_threads=os.cpu_count() or 0)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"The faster-whisper model {path} could not be loaded ({exc})",
                             "Download it again with `glimpse models pull`") from exc

    def _decode(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        segments, info = self.model.transcribe(
            audio, language=options.language, beam_size=1,
            temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            initial_prompt=options.initial_prompt or None,
            hotwords=", ".join(options.hotwords) or None,
            no_speech_threshold=options.no_speech_threshold,
            log_prob_threshold=options.logprob_threshold,
            without_timestamps=True, vad_filter=False)
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        no_speech = max((s.no_speech_prob for s in segments), default=1.0)
        avg = float(np.mean([s.avg_logprob for s in segments])) if segments else 0.0
        return AsrResult(text, info.language, no_speech, avg)


# --------------------------------------------------------------------------- factory


def create(engine: str, model: str, *, config: Any = None, device: str = "auto"):
    """An engine by name for a model reference (name, `whisper:<name>` or local path)."""
    if engine == "fast":
        int8 = bool(getattr(getattr(config, "asr", None), "int8", False))
        return FastWhisperEngine(reference=model, config=config, device=device, int8=int8)
    if engine == "openai-whisper":
        return OpenAIWhisperEngine(reference=model, config=config, device=device)
    if engine == "faster-whisper":
        return FasterWhisperEngine(reference=model, config=config, device=device)
    raise ConfigError(f"Unknown speech recognizer '{engine}' (asr.engine)",
                      f"Choose one of: {', '.join(ENGINES)}")


def from_config(config) -> Any:
    """The engine `asr.engine` names, for `asr.model`, on `asr.device`. Nothing loads here."""
    return create(config.asr.engine, config.asr.model, config=config, device=config.asr.device)
