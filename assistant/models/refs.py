"""Model references and what the store reports about models: the names Glimpse accepts
(`whisper:`, `hf:`, `piper:`, a path), openai-whisper's table of checkpoints with their
checksums, and the plain records `ModelInfo` and `Check`. No I/O beyond `Path.exists()`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.models import offline_pack
from assistant.errors import ModelError

OFFLINE_EXTRA = offline_pack.OFFLINE_EXTRA
WHISPER_BASE_URL = "https://openaipublic.azureedge.net/main/whisper/models"
HF_ENDPOINT = "https://huggingface.co"
PIPER_REPO, PIPER_REVISION = "rhasspy/piper-voices", "v1.0.0"


@dataclass(frozen=True)
class WhisperModel:
    sha256: str
    filename: str
    size_mb: int      # approximate download size, for messages and disk-space checks
    ct2_repo: str     # the CTranslate2 conversion faster-whisper uses


# name, SHA-256 (openai-whisper's `whisper._MODELS` URLs embed it), approximate MB.
_TABLE = """
tiny.en        d3dd57d32accea0b295c96e26691aa14d8822fac7d9d27d5dc00b4ca2826dd03    72
tiny           65147644a518d12f04e32d6f3b26facc3f8dd46e5390956a9424a650c0ce22b9    72
base.en        25a8566e1d0c1e2231d1c762132cd20e0f96a85d16145c3a00adf5d1ac670ead   139
base           ed3a0b6b1c0edf879ad9b11b1af5a0e6ab5db9205f891f668f8b0e6c6326e34e   139
small.en       f953ad0fd29cacd07d5a9eda5624af0f6bcf2258be67c92b79389873d91e0872   461
small          9ecf779972d90ba49c06d968637d720dd632c55bbf19d441fb42bf17a411e794   461
medium.en      d7440d1dc186f76616474e0ff0b3b6b879abc9d1a4926b7adfa41db2d497ab4f  1457
medium         345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1  1457
large-v1       e4b87e7e0bf463eb8e6956e646f1e277e901512310def2c24bf0e11bd3c28e9a  2871
large-v2       81f7c96c852ee8fc832187b0132e569d6c3065a3252ed18e56effd0b6a73e524  2871
large-v3       e5b1a55b89c1367dacf97e3e19bfd829a01529dbfdeefa8caeb59b3f1b81dadb  2944
large          e5b1a55b89c1367dacf97e3e19bfd829a01529dbfdeefa8caeb59b3f1b81dadb  2944
large-v3-turbo aff26ae408abcba5fbf8813c21e62b0941638c5f6eebfb145be0c9839262a19a  1543
turbo          aff26ae408abcba5fbf8813c21e62b0941638c5f6eebfb145be0c9839262a19a  1543
"""
_FILES = {"large": "large-v3.pt", "turbo": "large-v3-turbo.pt"}  # aliases share a file
_TURBO_CT2 = "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
WHISPER_MODELS: dict[str, WhisperModel] = {
    name: WhisperModel(sha, _FILES.get(name, f"{name}.pt"), int(mb),
                       _TURBO_CT2 if "turbo" in name else
                       f"Systran/faster-whisper-{_FILES.get(name, name + '.pt')[:-3]}")
    for name, sha, mb in (line.split() for line in _TABLE.strip().splitlines())
}
# Files faster-whisper needs from a CTranslate2 Whisper repository.
CT2_PATTERNS = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json",
                "vocabulary.*"]
KINDS = {"whisper": "asr", "piper": "tts", "hf": "hf", "path": "path"}
_PIPER_RE = re.compile(r"^(?P<locale>(?P<lang>[a-z]{2,3})_[A-Z]{2})-(?P<name>[\w.\-]+)-"
                       r"(?P<quality>x_low|low|medium|high)$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*$")
FORMS = ("whisper:<name> (e.g. whisper:base.en), hf:<owner>/<repo>[@revision], "
         "piper:<voice> (e.g. piper:en_US-lessac-medium), or a path to a file or folder")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference. `scheme` is whisper | hf | piper | path."""

    scheme: str
    name: str
    revision: str | None = None

    @property
    def kind(self) -> str:
        return KINDS[self.scheme]

    def __str__(self) -> str:
        if self.scheme == "path":
            return self.name
        return f"{self.scheme}:{self.name}" + (f"@{self.revision}" if self.revision else "")


def parse_ref(text: str) -> ModelRef:
    """Parse a model reference; a bad one raises ModelError listing the accepted forms.

    A bare Whisper name (`base.en`) is accepted as `whisper:base.en`.
    """
    raw = str(text).strip()
    scheme, sep, rest = raw.partition(":")
    if sep and scheme in ("whisper", "hf", "piper"):
        rest = rest.strip()
        if scheme == "whisper":
            if rest not in WHISPER_MODELS:
                raise ModelError(f"Unknown Whisper model '{rest}'",
                                 f"Known: {', '.join(WHISPER_MODELS)}; or give the path to a "
                                 ".pt file")
            return ModelRef("whisper", rest)
        if scheme == "piper":
            if not _PIPER_RE.match(rest):
                raise ModelError(f"Invalid Piper voice '{rest}'",
                                 "A voice is <lang_REGION>-<name>-<quality>, e.g. "
                                 "piper:en_US-lessac-medium (quality: x_low, low, medium, high)")
            return ModelRef("piper", rest)
        repo, _, revision = rest.partition("@")
        if not _REPO_RE.match(repo):
            raise ModelError(f"Invalid Hugging Face repository '{rest}'",
                             "Write it as hf:<owner>/<name>, optionally @<revision>")
        return ModelRef("hf", repo, revision or None)
    if raw in WHISPER_MODELS:
        return ModelRef("whisper", raw)
    if raw and (raw.startswith(("/", ".", "~")) or os.sep in raw or Path(raw).exists()):
        return ModelRef("path", str(Path(raw).expanduser()))
    raise ModelError(f"Invalid model reference '{raw}'", f"Use {FORMS}")


def piper_parts(voice: str) -> dict[str, str]:
    m = _PIPER_RE.match(voice)
    if not m:
        raise ModelError(f"Invalid Piper voice '{voice}'", "e.g. en_US-lessac-medium")
    return m.groupdict()


@dataclass(frozen=True)
class ModelInfo:
    """One model on this computer. `size` in bytes; `source` is where it was found: cache |
    offline pack | hf cache | whisper cache."""

    ref: str
    kind: str
    path: Path
    size: int
    source: str
    format: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "kind": self.kind, "path": str(self.path), "size": self.size,
                "source": self.source, "format": self.format, "note": self.note}


@dataclass(frozen=True)
class Check:
    """The result of verifying one model."""

    info: ModelInfo
    ok: bool
    message: str


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def english_ok(language: str | None, requested: str = "") -> bool:
    """English-only (.en) models suit English, or 'auto' when the user chose a .en model."""
    lang = (language or "auto").lower()
    return lang in ("en", "english") or (lang == "auto" and requested.endswith(".en"))
