"""Human words for what the configuration stores as keys and references.

The config speaks in keys and references (`asr.model = "whisper:tiny.en"`); a person reads
"Whisper Tiny (English, 72 MB, fastest)". Every dialog a person reads takes its words from
here; config keys appear only on the Settings dialog's Advanced page and on the command line.
Nothing here touches the disk or the network: sizes are the approximate download sizes.
"""
from __future__ import annotations

import re
from typing import Any

from assistant.models.refs import WHISPER_MODELS

# Whisper sizes by name; "English" for the .en models, which are faster for English.
_WHISPER_WORDS = {"tiny": ("Tiny", "fastest"), "base": ("Base", "fast"),
                  "small": ("Small", "accurate"), "medium": ("Medium", "slow, very accurate"),
                  "large-v1": ("Large v1", "GPU"), "large-v2": ("Large v2", "GPU"),
                  "large-v3": ("Large v3", "GPU, most accurate"),
                  "large": ("Large v3", "GPU, most accurate"),
                  "large-v3-turbo": ("Large v3 Turbo", "GPU, fast and accurate"),
                  "turbo": ("Large v3 Turbo", "GPU, fast and accurate")}

#: reference -> (name, what it does, approximate download in MB)
VISION_MODELS: dict[str, tuple[str, str, int]] = {
    "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct":
        ("SmolVLM2 500M", "answers open questions about the picture", 1000),
    "hf:HuggingFaceTB/SmolVLM2-2.2B-Instruct":
        ("SmolVLM2 2.2B", "better answers, needs a GPU or patience", 4500),
    "hf:Qwen/Qwen2.5-VL-3B-Instruct":
        ("Qwen2.5-VL 3B", "best answers, needs a GPU", 7500),
}
VOICES: dict[str, tuple[str, int]] = {
    "piper:en_US-joe-medium": ("Joe (US English, natural voice)", 63),
    "piper:en_US-lessac-medium": ("Lessac (US English, natural voice)", 63),
    "espeak-ng:en-us": ("eSpeak US English (robotic, built in)", 0),
    "espeak-ng:de": ("eSpeak German (robotic, built in)", 0),
    "espeak-ng:fr": ("eSpeak French (robotic, built in)", 0),
    "espeak-ng:es": ("eSpeak Spanish (robotic, built in)", 0),
}
#: models that come with the program's packages
BUILT_IN = {"rapidocr": "RapidOCR text reader (reads signs and pages)",
            "silero-vad": "Silero voice detection (hears when you speak)",
            "efficientnet-lite0": "EfficientNet-Lite0 (recognizes objects for the describer)",
            "tesseract": "Tesseract text reader (printed pages)"}
LANGUAGES = {"auto": "Detect automatically", "en": "English", "de": "German", "fr": "French",
             "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch",
             "ja": "Japanese", "zh": "Chinese"}

#: config key -> {stored choice -> words}
CHOICES: dict[str, dict[Any, str]] = {
    "ui.answer_voice": {
        "auto": "Automatic (my screen reader's voice when one is running)",
        "glimpse": "Glimpse's own voice", "screen_reader": "My screen reader's voice",
        "both": "Both voices"},
    "vlm.backend": {
        "auto": "Automatic: the vision model when it is downloaded, else the offline describer",
        "local": "Vision model on this computer: answers open questions",
        "remote": "A remote server you set up (sends pictures and questions to it)",
        "describer": "Offline describer: reads text, finds people; no open questions"},
    "tts.engine": {"piper": "Piper: natural voices", "espeak-ng": "eSpeak NG: robotic, small",
                   "coqui": "Coqui (if installed)", "none": "No speech: show answers only"},
    "ui.theme": {"system": "Same as the system", "light": "Light", "dark": "Dark",
                 "high-contrast": "High contrast (white on black)"},
    "scene.verbosity": {"brief": "Brief", "normal": "Normal", "detailed": "Detailed"},
    "turns.mode": {"push_to_talk": "Push to talk (hold)", "toggle": "Toggle (press, press again)",
                   "hands_free": "Hands-free (voice detection)"},
}

#: config key -> plain help for the Settings dialog (the config's own help may name keys)
HELP: dict[str, str] = {
    "audio.input_device": "The microphone Glimpse listens to",
    "audio.output_device": "Where Glimpse speaks",
    "camera.source": "The camera Glimpse looks through",
    "asr.model": "Turns your voice into text. Bigger models are more accurate and slower",
    "vlm.backend": "Who answers your questions about the picture",
    "vlm.model": "The vision model that answers open questions on this computer",
    "tts.engine": "How answers are spoken",
    "tts.voice": "The voice that speaks answers",
    "asr.language": "The language you speak",
    "tts.rate": "How fast answers are spoken; 100 % is normal",
    "audio.volume": "How loud answers are spoken; 100 % is normal",
    "scene.verbosity": "How much a scene description says",
    "ui.speak_answers": "Read answers aloud as well as showing them",
    "earcons.enabled": "Short sounds when Glimpse starts and stops listening",
    "turns.mode": "How you start and end a question",
    "ui.global_shortcut": "A key that works in every window, for example <ctrl>+<alt>+space; "
                          "empty turns it off",
    "models.offline": "Never download anything; use only models already on this computer",
    "vlm.remote_url": "Address of a remote answer server; empty keeps everything here",
    "vlm.remote_model": "The model name the remote server expects",
    "history.enabled": "Keep finished questions and answers on this computer",
    "history.keep_days": "Older turns are deleted",
    "history.show_on_start": "Show the previous conversation when Glimpse starts",
    "ui.theme": "Colours of the window",
    "ui.font_scale": "Text size; 100 % is the system size",
    "ui.announce_ready": "Say \"Ready\" when Glimpse has started",
}

#: keys edited as a percentage: key -> (min %, max %); stored as a fraction (1.0 = 100 %)
PERCENT = {"tts.rate": (30, 400), "audio.volume": (0, 200), "ui.font_scale": (50, 400)}

MODEL_PREFIXES = ("whisper:", "hf:", "piper:", "espeak-ng:", "coqui:")


def size_text(mb: float) -> str:
    if mb <= 0:
        return "no download"
    if mb < 10:
        return f"{mb:.1f} MB"
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb:.0f} MB"


def download_mb(ref: str) -> int:
    """Approximate download size of a reference in MB; 0 when unknown or built in."""
    if ref.startswith("whisper:"):
        m = WHISPER_MODELS.get(ref.removeprefix("whisper:"))
        return m.size_mb if m else 0
    if ref in VISION_MODELS:
        return VISION_MODELS[ref][2]
    return VOICES.get(ref, ("", 0))[1]


def model_name(ref: str) -> str:
    """"whisper:tiny.en" -> "Whisper Tiny (English, 72 MB, fastest)"; an unknown reference
    gets a readable name from its last part."""
    ref = str(ref)
    if ref.startswith("whisper:"):
        name = ref.removeprefix("whisper:")
        english = name.endswith(".en")
        words = _WHISPER_WORDS.get(name.removesuffix(".en"))
        if words:
            langs = "English" if english else "many languages"
            return f"Whisper {words[0]} ({langs}, {size_text(download_mb(ref))}, {words[1]})"
        return f"Whisper {name}"
    if ref in VISION_MODELS:
        n, what, mb = VISION_MODELS[ref]
        return f"{n} ({what}, {size_text(mb)})"
    if ref in VOICES:
        return VOICES[ref][0]
    if ref in BUILT_IN:
        return BUILT_IN[ref]
    if ref.startswith("piper:"):
        parts = ref.removeprefix("piper:").split("-")
        return f"Piper voice {parts[1].capitalize() if len(parts) > 1 else parts[0]}"
    if ref.startswith("espeak-ng:"):
        return f"eSpeak voice {ref.removeprefix('espeak-ng:')}"
    if ref.startswith("hf:"):
        return ref.removeprefix("hf:").split("@")[0].rsplit("/", 1)[-1].replace("-", " ")
    return ref.rstrip("/").rsplit("/", 1)[-1] or ref


def short_model_name(ref: str) -> str:
    """The name without the parenthesis: "Whisper Tiny"."""
    return model_name(ref).split(" (")[0]


KINDS = {"asr": "Speech recognition", "tts": "Voice", "vlm": "Vision model",
         "hf": "Vision model", "path": "Model folder", "ocr": "Text reader", "vad": "Voice detection",
         "vision": "Picture recognition"}
SOURCES = {"offline pack": "Offline pack", "cache": "Downloaded", "whisper cache": "Downloaded",
           "hf cache": "Downloaded", "path": "Folder on this computer"}


def kind_name(kind: str) -> str:
    return KINDS.get(kind, kind.capitalize() if kind else "")


def source_name(source: str) -> str:
    return SOURCES.get(source, "Downloaded" if "cache" in source else source.capitalize())


def choice_name(key: str, value: Any) -> str:
    words = CHOICES.get(key, {})
    if value in words:
        return words[value]
    if key in ("asr.model", "vlm.model", "tts.voice"):
        return model_name(str(value))
    if key == "asr.language":
        return LANGUAGES.get(str(value), str(value))
    return str(value)


def allowed_words(key: str, meta: dict, hint: Any = None) -> str:
    """What a field accepts, in the words the dialog shows."""
    if key in PERCENT:
        lo, hi = PERCENT[key]
        return f"a number from {lo} to {hi} %"
    if "choices" in meta:
        return "one of: " + "; ".join(choice_name(key, c) for c in meta["choices"])
    if "range" in meta:
        lo, hi = meta["range"]
        whole = hint is int
        return f"a {'whole ' if whole else ''}number from {lo} to {hi}"
    if hint is int:
        return "a whole number"
    if hint is float:
        return "a number"
    return ""


def error_text(label: str, value: Any, allowed: str) -> str:
    """"Days of history kept: 'many' is not possible. Use a whole number from 1 to 3650."""
    shown = f"'{value}'" if str(value).strip() else "an empty value"
    return f"{label}: {shown} is not possible." + (f" Use {allowed}." if allowed else "")


# A raw config key ("ui.font_scale") or a model reference ("whisper:tiny.en") in visible text.
RAW_TEXT = re.compile(r"\b(?:asr|vlm|tts|audio|camera|ui|models|history|scene|turns|earcons|"
                      r"ocr)\.[a-z_]+\b|\b(?:whisper|hf|piper|espeak-ng|coqui):\S")
