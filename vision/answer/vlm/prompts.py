"""The VLM's instructions per mode, as editable text files, and the chat messages built from them.

The shipped texts are in `resources/prompts/<name>.txt`. A user can override any of them by
putting a file of the same name in `<config dir>/prompts/` (e.g. `~/.config/glimpse/prompts/
read.txt`). The text is plain instructions; the engine adds the grounding (what local perception
found), the conversation and the question after it.

Names: ask, describe_brief, describe_normal, describe_detailed, read, what_changed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.config import config_dir
from assistant.errors import ConfigError
from assistant.events import Mode
from assistant.ports import VlmRequest
from resources import ROOT as RESOURCES

SHIPPED = RESOURCES / "prompts"
NAMES = ("ask", "describe_brief", "describe_normal", "describe_detailed", "read", "what_changed")


def user_dir() -> Path:
    return config_dir() / "prompts"


def path_of(name: str) -> Path:
    """The file `load(name)` reads: the user's override if there is one, else the shipped one."""
    if name not in NAMES:
        raise ConfigError(f"Unknown prompt '{name}'", f"Known prompts: {', '.join(NAMES)}")
    override = user_dir() / f"{name}.txt"
    return override if override.is_file() else SHIPPED / f"{name}.txt"


def load(name: str) -> str:
    """The prompt text for `name`, stripped. ConfigError if it is unknown, missing or empty."""
    path = path_of(name)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The prompt file {path} could not be read ({exc})",
                          "Fix or delete it; Glimpse then uses its shipped prompt.") from exc
    if not text:
        raise ConfigError(f"The prompt file {path} is empty",
                          "Write the instructions into it, or delete it to use the shipped one.")
    return text


def for_mode(mode: str, verbosity: str = "normal") -> str:
    """The prompt for a pipeline mode ("ask", "describe", "read") and a verbosity."""
    if mode == "describe":
        return load(f"describe_{verbosity}")
    return load(mode)


# --------------------------------------------------------------------------- chat messages


def instructions(mode: Mode, verbosity: str = "normal") -> str:
    """The instruction text for a mode, from the prompt files (resources/prompts, or the user's
    override): there is no second copy in code to drift from them."""
    return for_mode(mode.value, verbosity)


def grounding_block(grounding: str) -> str:
    """The prompt paragraph that carries what local perception (OCR...) found."""
    g = grounding.strip()
    if not g:
        return ""
    if "OCR" in g or "\n" in g:  # perception's own summary, which names its sections
        return f"What local perception found in the image:\n{g}\nDo not invent other text."
    return f"Text visible in the image (OCR): {g}\nDo not invent other text."


def user_text(request: VlmRequest, verbosity: str = "normal") -> str:
    """The first user message's text: instructions, grounding, then the question."""
    parts = [instructions(request.mode, verbosity)]
    if request.grounding.strip():
        parts.append(grounding_block(request.grounding))
    if request.language and request.language != "en":
        parts.append(f"Answer in the language with code '{request.language}'.")
    if request.question.strip():
        parts.append(f"Question: {request.question.strip()}")
    return "\n\n".join(parts)


def build_messages(request: VlmRequest, verbosity: str = "normal",
                   with_image: bool = True) -> list[dict[str, Any]]:
    """Chat messages in the processors' shared format. The image comes first, so every turn
    about the same frame has the same prefix up to the image tokens (see prefix reuse)."""
    first_q = request.history[0][0] if request.history else request.question
    first = VlmRequest(question=first_q, frame=request.frame, mode=request.mode,
                       grounding=request.grounding, language=request.language)
    content: list[dict[str, Any]] = [{"type": "image"}] if with_image else []
    content.append({"type": "text", "text": user_text(first, verbosity)})
    messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
    if request.history:
        messages.append({"role": "assistant",
                         "content": [{"type": "text", "text": request.history[0][1]}]})
        for question, answer in request.history[1:]:
            messages.append({"role": "user", "content": [{"type": "text", "text": question}]})
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        messages.append({"role": "user",
                         "content": [{"type": "text", "text": request.question}]})
    return messages
