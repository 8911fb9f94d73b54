"""Human words for what the configuration stores as keys and references.

The config speaks in keys and references (`asr.model = "whisper:tiny.en"`); a person reads
"Whisper Tiny (English, 72 MB, fastest)". Every dialog a person reads takes its words from
here; config keys appear only on the Settings dialog's Advanced page and on the command line.
Nothing here touches the disk or the network: sizes are the approximate download sizes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
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
    "ui.global_shortcut": "A key that works in every window, for example Ctrl+Alt+Space; "
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

#: stage name (assistant.events.StageName) -> what a person calls it (the status line)
STAGE_WORDS = {"capture": "microphone", "asr": "speech recognition", "camera": "camera",
               "answer": "answers", "tts": "voice", "playback": "speaker",
               "watch": "watch mode"}
#: the same, after "Problem with"
PROBLEM_WITH = {"capture": "the microphone", "asr": "speech recognition",
                "camera": "the camera", "answer": "the answers", "tts": "the voice",
                "playback": "the speaker", "watch": "watch mode", "pipeline": "Glimpse",
                "models": "the models", "history": "history", "export": "the export"}
#: engines' names (a stage's detail on the status line's tooltip) -> words
ENGINES = {"fast": "Whisper", "whisper": "Whisper", "openai-whisper": "Whisper",
           "faster-whisper": "Whisper (faster-whisper)", "describer": "the offline describer",
           "finder": "the finder"}


@dataclass(frozen=True)
class Device:
    """What the window says about a device that does not work (ui.window.problems)."""

    key: str
    missing: str  # what does not work, one sentence
    meanwhile: str  # what Glimpse does without it
    todo: str  # what the user can do
    state: str  # the status line's words while it does not work
    left_out: str  # the status line's words once the user chose to go without it
    without: str  # the button that chooses to go without it
    group: str  # the pipeline's part that goes (ui.bootstrap.OPTIONAL_GROUPS)


#: device -> what the window says when it does not work, and the choice to go without it
DEVICES: dict[str, Device] = {d.key: d for d in (
    Device("speaker", "No speaker or headphones are working.",
           "Answers are shown as text.",
           "Connect a speaker or headphones (or choose another in Settings), then choose "
           "Try again.",
           "no speaker: answers are shown as text", "sound off: answers are shown as text",
           "Continue without &sound", "speech output"),
    Device("microphone", "No microphone is working.",
           "You can type your questions in the question box (Ctrl+L).",
           "Connect a microphone (or choose another in Settings), then choose Try again.",
           "no microphone: type your questions", "microphone off: type your questions",
           "Continue without a &microphone", "microphone and speech recognition"),
    Device("camera", "The camera is not delivering pictures.",
           "Questions are answered without a picture.",
           "Check the camera (or choose another in Settings), then choose Try again.",
           "no camera: answers without a picture", "camera off: answers without a picture",
           "Continue without the &camera", "camera"),
)}

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


def model_name(ref: str, size: bool = True) -> str:
    """"whisper:tiny.en" -> "Whisper Tiny (English, 72 MB, fastest)"; an unknown reference
    gets a readable name from its last part. `size=False` leaves the download size out, where
    a column of its own shows the size on disk (which is not the download's)."""
    ref = str(ref)
    if ref.startswith("whisper:"):
        name = ref.removeprefix("whisper:")
        english = name.endswith(".en")
        words = _WHISPER_WORDS.get(name.removesuffix(".en"))
        if words:
            langs = "English" if english else "many languages"
            mb = f"{size_text(download_mb(ref))}, " if size else ""
            return f"Whisper {words[0]} ({langs}, {mb}{words[1]})"
        return f"Whisper {name}"
    if ref in VISION_MODELS:
        n, what, mb = VISION_MODELS[ref]
        return f"{n} ({what}, {size_text(mb)})" if size else f"{n} ({what})"
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


def plural(count: int, word: str, words: str | None = None) -> str:
    """"1 turn", "10 turns": never "10 turn(s)"."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


#: how people write the keys pynput and the config spell in angle brackets
_KEY_WORDS = {"ctrl": "Ctrl", "control": "Ctrl", "alt": "Alt", "alt_gr": "AltGr",
              "shift": "Shift", "cmd": "Super", "super": "Super", "win": "Super",
              "space": "Space", "esc": "Esc", "escape": "Esc", "enter": "Enter",
              "return": "Enter", "tab": "Tab", "backspace": "Backspace", "delete": "Delete",
              "insert": "Insert", "home": "Home", "end": "End", "page_up": "Page Up",
              "page_down": "Page Down", "up": "Up", "down": "Down", "left": "Left",
              "right": "Right", "pause": "Pause", "menu": "Menu"}
_MODIFIERS = ("ctrl", "alt", "alt_gr", "shift", "cmd")
_KEY_SETTINGS = {"Ctrl": "ctrl", "Alt": "alt", "AltGr": "alt_gr", "Shift": "shift",
                 "Super": "cmd"}


def key_text(combo: str) -> str:
    """"<ctrl>+<alt>+space" -> "Ctrl+Alt+Space": a key combination as people write it (the
    configuration keeps pynput's spelling)."""
    out = []
    for part in (p.strip().strip("<>").lower() for p in str(combo).split("+")):
        if not part:
            continue
        if part in _KEY_WORDS:
            out.append(_KEY_WORDS[part])
        elif len(part) > 1 and part[0] == "f" and part[1:].isdigit():
            out.append(part.upper())
        else:
            out.append(part.upper() if len(part) == 1 else part.capitalize())
    return "+".join(out)


def key_setting(text: str) -> str:
    """"Ctrl+Alt+Space" -> "<ctrl>+<alt>+space": what a person typed, in the configuration's
    spelling (modifiers in angle brackets, the key in lower case). Empty stays empty."""
    out = []
    for part in (p.strip() for p in str(text).split("+")):
        if not part:
            continue
        word = _KEY_SETTINGS.get(part.capitalize() if part.lower() != "altgr" else "AltGr",
                                 part.strip("<>").lower().replace(" ", "_"))
        out.append(f"<{word}>" if word in _MODIFIERS else word)
    return "+".join(out)


# Command-line advice inside a message ("; `glimpse devices` lists what Glimpse can see"): the
# window says what to do in its own terms instead, so a part of a sentence with a command goes.
_CLI = "`glimpse "
_PARENS_NOISE = re.compile(r"\s*\((?:[^()]*\b(?:Error querying device|PaErrorCode|errno|"
                           r"error code)\b[^()]*)\)")
_REF = re.compile(r"\b((?:whisper|hf|piper):[^\s`'\",;()]+?)([.:]?)(?=[\s`'\",;()]|$)")


def _command_line(text: str) -> bool:
    """Advice for the command line: a `glimpse ...` command or a --option."""
    return _CLI in text or re.search(r"(?:^|\s)--[a-z]", text) is not None


def plain_message(message: str) -> str:
    """A message from the engines, as the window shows it: without command-line advice, the
    audio library's internal codes or model references, and each sentence said once."""
    text = _PARENS_NOISE.sub("", " ".join(str(message).split()))
    text = text.replace("Run with --debug for details, and report it", "Please report it")
    sentences: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        parts = [p for p in sentence.split(";") if not _command_line(p)]
        if not parts or _command_line(sentence.split(";")[0]):
            continue
        sentence = ";".join(parts).strip().rstrip(".;, ")
        sentence = _REF.sub(lambda m: short_model_name(m.group(1)) + m.group(2), sentence)
        bare = sentence.lower()
        if bare and not any(bare in s.lower() for s in sentences):
            sentences.append(sentence + ".")
    return " ".join(sentences)


# A raw config key ("ui.font_scale") or a model reference ("whisper:tiny.en") in visible text.
RAW_TEXT = re.compile(r"\b(?:asr|vlm|tts|audio|camera|ui|models|history|scene|turns|earcons|"
                      r"ocr)\.[a-z_]+\b|\b(?:whisper|hf|piper|espeak-ng|coqui):\S")
