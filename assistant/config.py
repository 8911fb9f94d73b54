"""Configuration: one frozen dataclass tree, the single source of truth.

Loaded from `config.toml` in the user config dir (platformdirs), then environment overrides
(`GLIMPSE_<SECTION>_<KEY>=value`, e.g. `GLIMPSE_ASR_MODEL=whisper:tiny.en`), then CLI overrides
(`--set section.key=value`). Every value is checked once, up front: a bad one raises ConfigError
naming the key, the value and what is allowed. Unknown keys give a warning. A file that is not
valid TOML is moved aside to `config.toml.bad-<time>` and defaults are used, with a warning.

Each field's metadata may hold `choices`, `range` (inclusive) and `help` (shown in the settings
dialog and `glimpse config show`).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import platformdirs
import tomllib

from assistant.errors import ConfigError

log = logging.getLogger(__name__)

APP = "glimpse"


def _f(default: Any, help: str = "", choices: Iterable[Any] | None = None,
       range: tuple[float, float] | None = None) -> Any:
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = tuple(choices)
    if range is not None:
        meta["range"] = range
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples for sequence defaults: the tree is frozen")
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class AudioConfig:
    input_device: str = _f("", "Microphone name (or part of it) or index; empty = system default")
    output_device: str = _f("", "Speaker name (or part of it) or index; empty = system default")
    preroll_ms: int = _f(500, "Audio kept from before the key press, so the first syllable "
                              "is not lost", range=(300, 3000))
    max_utterance_s: float = _f(60.0, "Longest question; the cap ends it and says so",
                                range=(2.0, 600.0))
    min_press_ms: int = _f(200, "Taps shorter than this are ignored", range=(0, 2000))
    volume: float = _f(1.0, "Speech volume", range=(0.0, 2.0))
    output_rest_s: float = _f(2.0, "Seconds of silence after which the speaker stream rests "
                                   "(saves CPU; it wakes when a question starts); 0 keeps it "
                                   "open, for Bluetooth headsets that clip the first word",
                              range=(0.0, 3600.0))


@dataclass(frozen=True)
class TurnsConfig:
    mode: str = _f("push_to_talk", "How a turn starts and ends",
                   choices=("push_to_talk", "toggle", "hands_free"))
    vad_silence_ms: int = _f(800, "Hands-free: silence that ends a question", range=(200, 5000))
    vad_threshold: float = _f(0.5, "Hands-free: speech probability threshold", range=(0.05, 0.95))
    follow_up_s: float = _f(60.0, "A question this soon after the last one reuses its frame",
                            range=(0.0, 3600.0))


@dataclass(frozen=True)
class AsrConfig:
    engine: str = _f("fast", "Speech recognizer", choices=("fast", "openai-whisper",
                                                          "faster-whisper"))
    model: str = _f("whisper:base.en", "Whisper model: whisper:<name>, hf:<repo>, or a path")
    language: str = _f("auto", "Language code (en, de, ...) or auto to detect")
    initial_prompt: str = _f("", "Names and jargon to expect, as a sentence")
    hotwords: tuple[str, ...] = _f((), "Words to favour")
    device: str = _f("auto", "Where to run", choices=("auto", "cpu", "cuda"))
    no_speech_threshold: float = _f(0.6, "Above this no-speech probability, text is dropped",
                                    range=(0.0, 1.0))
    logprob_threshold: float = _f(-1.0, "Below this average log-probability, text is dropped",
                                  range=(-10.0, 0.0))
    partial_interval_s: float = _f(0.5, "Partial transcripts while the key is held; 0 = off",
                                   range=(0.0, 5.0))
    int8: bool = _f(True, "fast engine on the CPU: int8 weights for Whisper's matrix products "
                          "(same transcripts on the test speech, faster)")


@dataclass(frozen=True)
class CameraConfig:
    source: str = _f("0", "Camera index, video file, stream URL or image folder; empty = none")
    width: int = _f(1280, "Requested capture width", range=(160, 7680))
    height: int = _f(720, "Requested capture height", range=(120, 4320))
    preview_fps: float = _f(15.0, "Preview frame rate in the window", range=(1.0, 30.0))
    burst_frames: int = _f(6, "Frames kept while the key is held; the sharpest is used",
                           range=(1, 60))
    look_ahead: bool = _f(True, "Between questions, look at the settled view ahead of time, so "
                                "an answer about it starts sooner")
    look_ahead_cpu: float = _f(3.0, "Most processor time looking ahead may take while idle, in "
                                    "percent of one core (on average)", range=(0.0, 100.0))


@dataclass(frozen=True)
class VlmConfig:
    backend: str = _f("auto", "Who answers: local model, remote server, or the offline "
                              "describer (no model)", choices=("auto", "local", "remote",
                                                               "describer"))
    model: str = _f("hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct", "Local image-text model")
    device: str = _f("auto", "Where to run", choices=("auto", "cpu", "cuda"))
    dtype: str = _f("auto", "Weights precision", choices=("auto", "float32", "float16",
                                                          "bfloat16"))
    int8: bool = _f(False, "On the CPU: int8 weights for the text decoder's matrix products "
                           "(faster tokens; logits close to float32)")
    max_new_tokens: int = _f(200, "Longest answer, in tokens", range=(1, 4096))
    max_image_pixels: int = _f(512 * 512, "Image budget: larger frames are downscaled",
                               range=(64 * 64, 4096 * 4096))
    memory_turns: int = _f(4, "Earlier turns remembered in the conversation", range=(0, 32))
    remote_url: str = _f("", "OpenAI-compatible server, e.g. http://localhost:11434/v1")
    remote_model: str = _f("", "Model name on the remote server")
    remote_api_key_env: str = _f("GLIMPSE_API_KEY", "Environment variable holding the API key")
    remote_timeout_s: float = _f(30.0, "Remote request timeout", range=(1.0, 600.0))
    grounding: bool = _f(True, "Add what local OCR and people detection find to the VLM prompt "
                               "(about 0.5-2 s more per new frame on CPU)")


@dataclass(frozen=True)
class SceneConfig:
    verbosity: str = _f("normal", "How much scene mode says", choices=("brief", "normal",
                                                                      "detailed"))
    min_interval_s: float = _f(3.0, "Scene mode: least time between descriptions",
                               range=(0.5, 600.0))
    change_threshold: float = _f(0.25, "Scene mode: how different a frame must be to count as "
                                       "a new scene (0..1)", range=(0.01, 1.0))
    aiming_hints: bool = _f(True, "Say 'too dark', 'blurred', 'text cut off' before describing")


@dataclass(frozen=True)
class OcrConfig:
    engine: str = _f("auto", "Text reader for read mode: auto picks Tesseract for printed pages "
                             "when it is installed and RapidOCR for signs and scene text",
                     choices=("auto", "rapidocr", "tesseract"))
    tile_budget_s: float = _f(8.0, "Seconds read mode may spend looking for small print in a "
                                   "large photo, tile by tile (0: no close look)",
                              range=(0.0, 600.0))


@dataclass(frozen=True)
class TtsConfig:
    engine: str = _f("piper", "Speech engine", choices=("piper", "espeak-ng", "coqui", "none"))
    voice: str = _f("piper:en_US-joe-medium", "Voice: piper:<voice>, espeak-ng:<voice>, "
                                              "coqui:<model>")
    rate: float = _f(1.0, "Speech rate (1.0 = normal)", range=(0.3, 4.0))
    language_voices: tuple[str, ...] = _f((), "Voice per language, as lang=voice entries")


@dataclass(frozen=True)
class EarconsConfig:
    enabled: bool = _f(True, "Play short sounds for listening, processing, done and error")
    listening: bool = _f(True, "Sound when listening starts")
    processing: bool = _f(True, "Sound when thinking starts")
    done: bool = _f(True, "Sound when the answer is finished")
    error: bool = _f(True, "Sound on errors")
    ticks: bool = _f(True, "A soft tick during long waits")
    found: bool = _f(True, "A rising sound when watch mode sees what it looks for")
    light: bool = _f(True, "Watch mode on the light: a note whose pitch rises with brightness")
    volume: float = _f(0.5, "Earcon volume", range=(0.0, 1.0))


@dataclass(frozen=True)
class UiConfig:
    theme: str = _f("system", "Colours", choices=("system", "light", "dark", "high-contrast"))
    font_scale: float = _f(1.0, "Text size relative to the system font", range=(0.5, 4.0))
    speak_answers: bool = _f(True, "Speak answers aloud")
    answer_voice: str = _f("auto", "Who speaks answers: Glimpse's voice, the screen reader's "
                                   "voice, or both; auto = the screen reader's when one runs",
                           choices=("auto", "glimpse", "screen_reader", "both"))
    announce_ready: bool = _f(True, "Say 'ready' when Glimpse has started")
    global_shortcut: str = _f("<ctrl>+<alt>+space", "Push-to-talk anywhere on the desktop; "
                                                    "empty = off")
    show_first_run: bool = _f(True, "Show the first-run guide")


@dataclass(frozen=True)
class ModelsConfig:
    offline: bool = _f(False, "Never use the network")
    cache_dir: str = _f("", "Where downloaded models go; empty = the user cache dir")


@dataclass(frozen=True)
class HistoryConfig:
    enabled: bool = _f(True, "Keep every finished turn on this computer, in the user data "
                             "folder; off = nothing is kept on disk")
    keep_days: int = _f(30, "Turns older than this many days are deleted", range=(1, 3650))
    show_on_start: bool = _f(True, "Show the previous session's turns when the window opens")


@dataclass(frozen=True)
class FinderConfig:
    engine: str = _f("auto", "What finds things: auto (the open-vocabulary model when it is "
                             "downloaded, else offline), offline (classifier, text, people) or "
                             "open (OWLv2 boxes and CLIP)", choices=("auto", "offline", "open"))
    detector: str = _f("hf:google/owlv2-base-patch16-ensemble", "Open-vocabulary detector")
    ranker: str = _f("hf:openai/clip-vit-base-patch32", "Image-text model for yes/no and search")
    watch_fps: float = _f(4.0, "Watch mode: frames looked at per second", range=(0.5, 15.0))
    watch_timeout_s: float = _f(120.0, "Watch mode: stop looking after this long",
                                range=(5.0, 3600.0))


@dataclass(frozen=True)
class Config:
    audio: AudioConfig = field(default_factory=AudioConfig)
    turns: TurnsConfig = field(default_factory=TurnsConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    vlm: VlmConfig = field(default_factory=VlmConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    earcons: EarconsConfig = field(default_factory=EarconsConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    finder: FinderConfig = field(default_factory=FinderConfig)

    def get(self, key: str) -> Any:
        section, name = _split_key(key)
        return getattr(getattr(self, section), name)

    def with_value(self, key: str, value: Any) -> "Config":
        """A copy with one key changed; `value` is checked (strings are parsed)."""
        section, name = _split_key(key)
        part = getattr(self, section)
        checked = _coerce(f"{section}.{name}", _field(type(part), name), value)
        return replace(self, **{section: replace(part, **{name: checked})})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {s.name: {f.name: _plain(getattr(getattr(self, s.name), f.name))
                         for f in fields(getattr(self, s.name))} for s in fields(self)}


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in fields(Config)}  # type: ignore[misc]


def config_dir() -> Path:
    return Path(os.environ.get("GLIMPSE_CONFIG_DIR") or platformdirs.user_config_dir(APP))


def config_path() -> Path:
    return config_dir() / "config.toml"


def data_dir() -> Path:
    """Where Glimpse keeps what it records (the history): GLIMPSE_DATA_DIR or the user data
    dir."""
    return Path(os.environ.get("GLIMPSE_DATA_DIR") or platformdirs.user_data_dir(APP))


def _split_key(key: str) -> tuple[str, str]:
    section, _, name = key.partition(".")
    if section not in SECTIONS or not name:
        raise ConfigError(f"Unknown setting '{key}'",
                          f"Settings are section.key, with sections: {', '.join(SECTIONS)}")
    _field(SECTIONS[section], name, key)
    return section, name


def _field(cls: type, name: str, key: str | None = None) -> dataclasses.Field:
    for f in fields(cls):
        if f.name == name:
            return f
    known = ", ".join(f.name for f in fields(cls))
    raise ConfigError(f"Unknown setting '{key or name}'", f"Known keys here: {known}")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _type_of(cls_field: dataclasses.Field) -> Any:
    hint = cls_field.type
    if isinstance(hint, str):
        hint = eval(hint, {"tuple": tuple, "str": str, "int": int, "float": float,
                           "bool": bool})  # noqa: S307 - our own annotations only
    return hint


def _coerce(key: str, f: dataclasses.Field, value: Any) -> Any:
    """Check and convert one value; raise ConfigError naming key, value and what is allowed."""
    hint = _type_of(f)
    meta = f.metadata

    def bad(allowed: str) -> ConfigError:
        return ConfigError(f"Invalid value {value!r} for '{key}'", f"Allowed: {allowed}")

    if hint is bool:
        if isinstance(value, bool):
            out: Any = value
        elif isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false",
                                                          "no", "off"):
            out = value.lower() in ("1", "true", "yes", "on")
        else:
            raise bad("true or false")
    elif hint in (int, float):
        try:
            if isinstance(value, bool):
                raise ValueError
            out = hint(value)
            if hint is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
        except (TypeError, ValueError):
            raise bad("a whole number" if hint is int else "a number") from None
    elif typing.get_origin(hint) is tuple:
        if isinstance(value, str):
            value_list = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, (list, tuple)):
            value_list = list(value)
        else:
            raise bad("a list of strings")
        if not all(isinstance(v, str) for v in value_list):
            raise bad("a list of strings")
        out = tuple(value_list)
    else:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise bad("a string")
        out = str(value)
    if "choices" in meta and out not in meta["choices"]:
        raise bad(", ".join(map(str, meta["choices"])))
    if "range" in meta:
        lo, hi = meta["range"]
        if not lo <= out <= hi:
            raise bad(f"{lo} to {hi}")
    return out


def from_dict(data: Mapping[str, Any], *, origin: str = "config") -> Config:
    """Build a checked Config from nested mappings; unknown keys are warned about and skipped."""
    parts: dict[str, Any] = {}
    for section, values in data.items():
        if section not in SECTIONS:
            log.warning("%s: unknown section [%s] ignored (known: %s)", origin, section,
                        ", ".join(SECTIONS))
            continue
        if not isinstance(values, Mapping):
            raise ConfigError(f"Invalid value {values!r} for '{section}' in {origin}",
                              f"Allowed: a [{section}] table")
        cls = SECTIONS[section]
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for name, value in values.items():
            if name not in known:
                log.warning("%s: unknown key '%s.%s' ignored (known: %s)", origin, section, name,
                            ", ".join(known))
                continue
            kwargs[name] = _coerce(f"{section}.{name}", known[name], value)
        parts[section] = cls(**kwargs)
    return Config(**parts)


def env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """`GLIMPSE_ASR_MODEL=x` -> {"asr.model": "x"}. Other GLIMPSE_ variables are left alone."""
    out = {}
    for name, value in environ.items():
        if not name.startswith("GLIMPSE_"):
            continue
        rest = name[len("GLIMPSE_"):].lower()
        section, _, key = rest.partition("_")
        if section in SECTIONS and key in {f.name for f in fields(SECTIONS[section])}:
            out[f"{section}.{key}"] = value
    return out


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """`["asr.model=whisper:tiny.en"]` -> {"asr.model": "whisper:tiny.en"}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"Invalid override '{item}'", "Write it as section.key=value")
        out[key.strip()] = value.strip()
    return out


def _read_file(path: Path) -> dict[str, Any]:
    """The file's TOML as a dict ({} when there is no file); decoding errors propagate."""
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def load(path: Path | None = None, *, environ: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> Config:
    """Load the config file (missing = defaults), then env, then `overrides`."""
    path = path or config_path()
    try:
        data = _read_file(path)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        path.replace(aside)
        log.warning("Your config file %s could not be read (%s). It was moved to %s and the "
                    "defaults are used; fix it and move it back, or change settings again.",
                    path, exc, aside)
        data = {}
    config = from_dict(data, origin=str(path))
    merged = dict(env_overrides(os.environ if environ is None else environ))
    merged.update(overrides or {})
    for key, value in merged.items():
        config = config.with_value(key, value)
    return config


def save(config: Config, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename), so a crash never leaves half a file."""
    import tomli_w

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(tomli_w.dumps(config.to_dict()), encoding="utf-8")
    os.replace(tmp, path)
    return path


def save_changes(changes: Mapping[str, Any], path: Path | None = None) -> Config:
    """Save only `changes` ({key: value}, what the user chose) on top of the file as it is now.

    The running config also holds the environment's and the command line's one-run overrides
    (`GLIMPSE_...`, `--set`, `--offline`); saving it whole would make those permanent. Here the
    file alone is read, the changes are applied and checked, and the result is written
    atomically. Returns the file's new config (without any override). A file that is not valid
    TOML is never overwritten: ConfigError says where it is, so nothing in it is lost.
    """
    path = path or config_path()
    try:
        data = _read_file(path)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The config file {path} is not valid TOML ({exc}), so the "
                          "settings were not saved",
                          "Fix the file or move it away, then save again.") from exc
    config = from_dict(data, origin=str(path))
    for key, value in changes.items():
        config = config.with_value(key, value)
    save(config, path)
    return config


def describe() -> list[tuple[str, Any, str, str]]:
    """(key, default, allowed, help) for every setting: the reference in README and the dialog."""
    rows = []
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            allowed = ""
            if "choices" in f.metadata:
                allowed = " | ".join(map(str, f.metadata["choices"]))
            elif "range" in f.metadata:
                allowed = "{} .. {}".format(*f.metadata["range"])
            rows.append((f"{section}.{f.name}", _plain(f.default), allowed,
                         f.metadata.get("help", "")))
    return rows


__all__ = ["Config", "load", "save", "save_changes", "from_dict", "data_dir", "describe",
           "config_path", "parse_overrides", "SECTIONS"]
