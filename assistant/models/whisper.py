"""Whisper in the model store: openai-whisper checkpoints (`.pt`) and CTranslate2 folders.

Search order, never downloading what is already on disk: openai-whisper's own cache -> the store
cache -> the offline pack (CTranslate2 weights, joined once if split, converted once to
openai-whisper format by the injected `convert_whisper`) -> download (SHA-256 checked).
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from assistant.models import offline_pack
from assistant.models.download import ProgressFn, Unreachable, download
from assistant.models.cache import StoreBase
from assistant.models.refs import CT2_PATTERNS, WHISPER_BASE_URL, parse_ref

log = logging.getLogger(__name__)


class WhisperStore(StoreBase):
    """The Whisper part of `ModelStore`."""

    def whisper_cache_dir(self) -> Path:
        """openai-whisper's own download dir (it honours XDG_CACHE_HOME the same way)."""
        xdg = self.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(xdg) / "whisper"

    def whisper_url(self, name: str) -> str:
        m = self.whisper_models[name]
        base = (self.environ.get("GLIMPSE_WHISPER_URL") or WHISPER_BASE_URL).rstrip("/")
        return f"{base}/{m.sha256}/{m.filename}"

    def _whisper_candidates(self, name: str) -> list[tuple[Path, str]]:
        fn = self.whisper_models[name].filename
        return [(self.whisper_cache_dir() / fn, "whisper cache"),
                (self.cache_dir / "whisper" / fn, "cache")]

    def converted_path(self, name: str) -> Path:
        return self.cache_dir / "converted" / f"whisper-{name}.pt"

    def whisper_checkpoint(self, name: str, on_progress: ProgressFn | None = None, *,
                           fallback: bool = True, language: str | None = None,
                           cancel: threading.Event | None = None) -> Path:
        """Path to an openai-whisper `.pt` for `name` (e.g. "base.en"), fetching it if needed.

        With `fallback`, a model that cannot be had offline is replaced by the best offline-pack
        Whisper for `language` (default: asr.language), with a warning; else ModelError.
        """
        name = parse_ref(f"whisper:{name.removeprefix('whisper:')}").name
        model = self.whisper_models[name]
        for path, source in self._whisper_candidates(name):
            if path.is_file():
                if self._sha_ok(path, model.sha256):
                    return path
                log.warning("%s (%s) does not match its SHA-256 and is ignored; `glimpse models "
                            "pull whisper:%s` fetches a good copy", path, source, name)
        if (out := self._from_pack(name)) is not None:
            return out
        reason = "offline mode is on"
        if not self.offline:
            target = self.cache_dir / "whisper" / model.filename
            self._check_space(target.parent, model.size_mb)
            try:
                got = download(self.whisper_url(name), target, sha256=model.sha256,
                               on_progress=on_progress, cancel=cancel)
                self.remember(got, model.sha256, self.whisper_url(name))
                return got
            except Unreachable as exc:
                if not fallback:
                    raise
                reason = exc.what
        language = language if language is not None else self.config.asr.language
        if fallback:
            best = self.best_offline("asr", language, requested=name)
            if best is not None and best.ref != f"whisper:{name}":
                self._note(f"Whisper {name} is not available ({reason}); using {best.ref} from "
                           "the offline pack instead")
                return self.whisper_checkpoint(best.ref, on_progress, fallback=False)
        raise self._missing(f"whisper:{name}", [p for p, _ in self._whisper_candidates(name)]
                            + [self.converted_path(name)], reason)

    def _from_pack(self, name: str) -> Path | None:
        """The offline pack's CTranslate2 weights, converted once to an openai-whisper .pt."""
        out = self.converted_path(name)
        if out.is_file():
            return out
        if offline_pack.find(f"whisper:{name}") is None:
            return None
        ct2_dir = self._pack_ct2(name)
        if self.convert_whisper is None:
            log.debug("no Whisper converter given: the offline pack's %s is not converted", name)
            return None
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.pt")
        log.info("converting the offline pack's Whisper %s to openai-whisper format (once)", name)
        try:
            self.convert_whisper(ct2_dir, tmp)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        return out

    def _pack_ct2(self, name: str) -> Path | None:
        """A usable CTranslate2 dir from the offline pack (joining split files once)."""
        model = offline_pack.find(f"whisper:{name}")
        if model is None:
            return None
        if model.format == "ct2":
            return model.path
        out = self.cache_dir / "ct2" / f"faster-whisper-{name}"
        parts = [f for f in model.files if ".bin.part" in f.name]
        others = [f for f in model.files if ".bin.part" not in f.name]
        want = sum(p.stat().st_size for p in parts)
        if (out / "model.bin").is_file() and (out / "model.bin").stat().st_size == want \
                and all((out / f.name).is_file() for f in others):
            return out
        with self._lock:
            tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            with open(tmp / "model.bin", "wb") as dst:
                for part in sorted(parts, key=lambda p: p.name):
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, dst, 8 << 20)
            for f in others:
                shutil.copy2(f, tmp / f.name)
            shutil.rmtree(out, ignore_errors=True)
            os.replace(tmp, out)
        return out

    def ct2_whisper(self, name: str, *, fallback: bool = False,
                    language: str | None = None) -> Path | None:
        """A CTranslate2 Whisper dir for faster-whisper: offline pack -> imported -> Hugging Face
        cache -> download. None when there is none (offline or unreachable), unless
        `fallback`, which then gives the best offline-pack model for `language`, with a note."""
        name = parse_ref(f"whisper:{name.removeprefix('whisper:')}").name
        found = self._ct2_find(name)
        if found is None and fallback:
            lang = language if language is not None else self.config.asr.language
            best = self.best_offline("asr", lang, requested=name)
            if best is not None:
                why = "offline mode is on" if self.offline else "it could not be fetched"
                self._note(f"Whisper {name} (CTranslate2) is not available ({why}); using "
                           f"{best.ref} from the offline pack instead")
                return self._pack_ct2(best.ref.removeprefix("whisper:"))
        return found

    def _ct2_find(self, name: str) -> Path | None:
        if (pack := self._pack_ct2(name)) is not None:
            return pack
        if (local := self._ct2_local(name)) is not None:
            return local[0]
        if self.offline:
            return None
        repo = self.whisper_models[name].ct2_repo
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            return Path(snapshot_download(repo, cache_dir=self.hf_cache_dir(),
                                          allow_patterns=CT2_PATTERNS,
                                          endpoint=self.hf_endpoint()))
        except (LocalEntryNotFoundError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._note(f"Could not fetch {repo} ({first}); no CTranslate2 Whisper {name}")
            return None

    def _ct2_local(self, name: str) -> tuple[Path, str] | None:
        """An imported or Hugging Face-cached CTranslate2 Whisper, without network."""
        imported = self.cache_dir / "ct2" / f"faster-whisper-{name}"
        if (imported / "model.bin").is_file():
            return imported, "cache"
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            snap = Path(snapshot_download(self.whisper_models[name].ct2_repo,
                                          cache_dir=self.hf_cache_dir(), local_files_only=True,
                                          allow_patterns=CT2_PATTERNS))
        except LocalEntryNotFoundError:
            return None  # not cached
        return (snap, "hf cache") if (snap / "model.bin").is_file() else None

