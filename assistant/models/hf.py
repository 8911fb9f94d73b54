"""Hugging Face snapshots in the model store: models imported into the store -> the hub's own
cache (used without asking the hub) -> download."""
from __future__ import annotations

import logging
from pathlib import Path

from assistant.models.download import ProgressFn
from assistant.errors import ModelError
from assistant.models.cache import StoreBase
from assistant.models.refs import ModelInfo, parse_ref

log = logging.getLogger(__name__)


class HfStore(StoreBase):
    """The Hugging Face part of `ModelStore`."""

    def hf_snapshot(self, repo: str, revision: str | None = None,
                    on_progress: ProgressFn | None = None, *, refresh: bool = False) -> Path:
        """A local snapshot of a Hugging Face repository (the hub's own cache is reused; its
        progress bars show on stderr, so `on_progress` is not called).

        A cached snapshot is used without asking the hub (no network at start-up); `refresh`
        (what `glimpse models pull` does) asks the hub for the newest revision first.
        """
        ref = parse_ref(f"hf:{repo}" + (f"@{revision}" if revision else ""))
        imported = self.imported_hf_dir(ref.name)
        if imported.is_dir() and not ref.revision and not refresh:
            return imported
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        if not refresh:
            try:
                return Path(snapshot_download(ref.name, revision=ref.revision,
                                              cache_dir=self.hf_cache_dir(),
                                              local_files_only=True))
            except LocalEntryNotFoundError:
                pass  # not cached yet: fetch it below, unless offline
        try:
            return Path(snapshot_download(ref.name, revision=ref.revision,
                                          cache_dir=self.hf_cache_dir(),
                                          local_files_only=self.offline,
                                          endpoint=self.hf_endpoint()))
        except LocalEntryNotFoundError as exc:
            reason = "offline mode is on" if self.offline else \
                f"could not reach {self.hf_endpoint()}"
            raise self._missing(str(ref), [self.hf_cache_dir(), imported], reason) from exc
        except HfHubHTTPError as exc:
            raise ModelError(f"Could not fetch {ref} from {self.hf_endpoint()}: {exc}",
                             "Check the repository name (and access, for gated models)") from exc

    def hf_folder(self, ref: str) -> Path:
        """A local snapshot for an `hf:owner/name[@revision]` reference (see `hf_snapshot`)."""
        r = parse_ref(ref)
        return self.hf_snapshot(r.name, r.revision)

    def on_disk(self, ref: str) -> bool:
        """Whether a transformers model, a folder or `hf:owner/name[@revision]`, loads without a
        download: a folder with config.json, an imported model, or a Hugging Face cache entry.
        Touches no network (engine choice at start-up asks this)."""
        text = str(ref).strip()
        if not text.startswith("hf:"):
            return (Path(text).expanduser() / "config.json").is_file()
        r = parse_ref(text)
        if not r.revision and (self.imported_hf_dir(r.name) / "config.json").is_file():
            return True
        return self._hf_cached_file(r.name, "config.json", r.revision) is not None

    def _hf_cache_models(self) -> list[ModelInfo]:
        cache = self.hf_cache_dir()
        if not cache.is_dir():
            return []
        from huggingface_hub import scan_cache_dir

        try:
            info = scan_cache_dir(cache)
        except (OSError, ValueError) as exc:  # CacheNotFound is an OSError subclass
            log.warning("could not read the Hugging Face cache %s: %s", cache, exc)
            return []
        out = []
        for repo in sorted(info.repos, key=lambda r: r.repo_id):
            if repo.repo_type != "model":
                continue
            rev = max(repo.revisions, key=lambda r: r.last_modified, default=None)
            path = Path(rev.snapshot_path) if rev else Path(repo.repo_path)
            whisper = next((n for n, m in self.whisper_models.items()
                            if m.ct2_repo == repo.repo_id), None)
            ref = f"whisper:{whisper}" if whisper else f"hf:{repo.repo_id}"
            out.append(ModelInfo(ref, "asr" if whisper else hf_kind(repo.repo_id), path,
                                 repo.size_on_disk, "hf cache",
                                 "ctranslate2" if whisper else "hf"))
        return out


def hf_kind(repo: str) -> str:
    """The kind of model a repository name suggests: asr, vlm or hf."""
    low = repo.lower()
    if "whisper" in low:
        return "asr"
    if "vl" in low or "vision" in low or "llava" in low or "idefics" in low:
        return "vlm"
    return "hf"
