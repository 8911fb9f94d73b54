"""The VLM's instructions per mode, as editable text files.

The shipped texts are in `resources/prompts/<name>.txt`. A user can override any of them by
putting a file of the same name in `<config dir>/prompts/` (e.g. `~/.config/glimpse/prompts/
read.txt`). The text is plain instructions; the engine adds the grounding (what local perception
found), the conversation and the question after it.

Names: ask, describe_brief, describe_normal, describe_detailed, read, what_changed.
"""
from __future__ import annotations

from pathlib import Path

from assistant.config import config_dir
from assistant.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "resources" / "prompts"
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
