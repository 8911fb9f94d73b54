"""The model store: where Glimpse's models come from and where they are kept.

References (see docs/models.md):
  whisper:<name>        an openai-whisper checkpoint (tiny.en ... large-v3, turbo)
  hf:<repo-id>[@rev]    a Hugging Face repository snapshot
  piper:<voice>         a Piper voice, e.g. piper:en_US-lessac-medium
  <path>                a local file or folder

Search order, never downloading what is already on disk:
  whisper  ~/.cache/whisper (openai-whisper's own cache) -> the store cache -> the offline pack
           (CTranslate2 weights converted once to openai-whisper format) -> download
  piper    the offline pack -> the store cache -> the Hugging Face cache -> download
  hf       models imported into the store -> the Hugging Face cache -> download

Offline (config `models.offline`, HF_HUB_OFFLINE=1 or GLIMPSE_OFFLINE=1) means no network at
all. When a model is missing and the network is off or unreachable, the best offline-pack model
of the same kind is used instead and a warning says so (also kept in `ModelStore.notes`).

Safety: nothing here unpickles untrusted data; checkpoints are checked with
`torch.load(weights_only=True)`, and SHA-256 sums are verified where known.

Threads: a ModelStore may be used from any one thread at a time; files are written atomically
(temp file + rename), so two processes sharing a cache never see half a file.
"""
from __future__ import annotations

import threading
from pathlib import Path

from assistant.models import importing, offline_pack
from assistant.models.download import ProgressFn
from assistant.errors import ModelError
from assistant.models.cache import WhisperConverter  # noqa: F401 (re-exported)
from assistant.models.hf import HfStore, hf_kind
from assistant.models.piper import PiperStore
from assistant.models.refs import (  # noqa: F401 (re-exported: the store's public names)
    CT2_PATTERNS,
    FORMS,
    HF_ENDPOINT,
    KINDS,
    OFFLINE_EXTRA,
    PIPER_REPO,
    PIPER_REVISION,
    WHISPER_BASE_URL,
    WHISPER_MODELS,
    Check,
    ModelInfo,
    ModelRef,
    WhisperModel,
    _size,
    english_ok,
    parse_ref,
    piper_parts,
)
from assistant.models.whisper import WhisperStore


class ModelStore(WhisperStore, PiperStore, HfStore):
    """Finds, downloads, converts and verifies models (see the module docstring).
    
    `environ` defaults to os.environ and is read at each call, so HF_ENDPOINT, HF_HUB_OFFLINE,
    GLIMPSE_OFFLINE, GLIMPSE_WHISPER_URL and XDG_CACHE_HOME take effect without a restart.
    `convert_whisper` turns the offline pack's CTranslate2 Whisper weights into an openai-whisper
    checkpoint; it is given by whoever knows the audio side (`audio.asr.engines`, the shell), since the
    store sits below it. Without one, the pack's Whisper models are not offered as checkpoints.

    One facade over the kinds: `WhisperStore` (assistant/models/whisper.py), `PiperStore`
    (model_piper.py) and `HfStore` (model_hf.py) share `StoreBase` (model_cache.py); what
    spans every kind (any reference, what is installed, where a reference is served from,
    verify and import) is here.
    """

    def silero_vad(self) -> Path:
        """The Silero VAD ONNX model that ships with the silero-vad package."""
        return self._packaged("silero-vad", "pip install silero-vad")

    def ocr_models(self) -> Path:
        """The folder of RapidOCR's ONNX models (detection, recognition, direction)."""
        return self._packaged("rapidocr", "pip install rapidocr-onnxruntime")

    def _packaged(self, ref: str, fix: str) -> Path:
        model = offline_pack.find(ref)
        if model is None:
            raise ModelError(f"The {ref} model is not installed", fix, needs_action=True)
        return model.path

    def get(self, ref: str | ModelRef, on_progress: ProgressFn | None = None, *,
            fallback: bool = True, cancel: threading.Event | None = None,
            refresh: bool = False) -> Path:
        """Resolve any reference to a local path, fetching it if needed (`refresh`: ask the
        Hugging Face hub for a newer revision of an hf: model even when one is cached)."""
        r = ref if isinstance(ref, ModelRef) else parse_ref(ref)
        if r.scheme == "whisper":
            if self.config.asr.engine == "faster-whisper":
                got = self.ct2_whisper(r.name, fallback=fallback)
                if got is not None:
                    return got
            return self.whisper_checkpoint(r.name, on_progress, fallback=fallback, cancel=cancel)
        if r.scheme == "piper":
            return self.piper_voice(r.name, on_progress, fallback=fallback, cancel=cancel)
        if r.scheme == "hf":
            return self.hf_snapshot(r.name, r.revision, on_progress, refresh=refresh)
        path = Path(r.name)
        if not path.exists():
            raise ModelError(f"Model file or folder not found: {path}",
                             "Check the path in your settings, or use a whisper:/hf:/piper: name")
        return path

    def installed(self) -> list[ModelInfo]:
        """Every model on this computer that Glimpse can use; touches no network."""
        out: list[ModelInfo] = []
        by_file = {m.filename: n for n, m in reversed(self.whisper_models.items())}
        for folder, source in ((self.whisper_cache_dir(), "whisper cache"),
                               (self.cache_dir / "whisper", "cache")):
            for f in sorted(folder.glob("*.pt")) if folder.is_dir() else ():
                name = by_file.get(f.name)
                ref = f"whisper:{name}" if name else str(f)
                out.append(ModelInfo(ref, "asr", f, _size(f), source, "openai-whisper"))
        conv = self.cache_dir / "converted"
        for f in sorted(conv.glob("whisper-*.pt")) if conv.is_dir() else ():
            out.append(ModelInfo(f"whisper:{f.stem.removeprefix('whisper-')}", "asr", f,
                                 _size(f), "cache", "openai-whisper",
                                 "converted from the offline pack"))
        ct2 = self.cache_dir / "ct2"
        for d in sorted(ct2.iterdir()) if ct2.is_dir() else ():
            if (d / "model.bin").is_file():
                name = d.name.removeprefix("faster-whisper-")
                ref = f"whisper:{name}" if name in self.whisper_models else str(d)
                pack = offline_pack.find(ref)
                note = "joined from the offline pack" if pack and pack.format == "ct2-split" \
                    else ""
                out.append(ModelInfo(ref, "asr", d, _size(d), "cache", "ctranslate2", note))
        piper = self.cache_dir / "piper"
        for f in sorted(piper.glob("*.onnx")) if piper.is_dir() else ():
            out.append(ModelInfo(f"piper:{f.stem}", "tts", f, _size(f) + _size(
                f.with_name(f.name + ".json")), "cache", "piper"))
        hf = self.cache_dir / "hf"
        for d in sorted(hf.iterdir()) if hf.is_dir() else ():
            out.append(ModelInfo(f"hf:{d.name.replace('--', '/', 1)}", hf_kind(d.name), d,
                                 _size(d), "cache", "hf"))
        out.extend(self._hf_cache_models())
        for m in offline_pack.discover():
            fmt = {"ct2": "ctranslate2", "ct2-split": "ctranslate2"}.get(m.format, m.format)
            out.append(ModelInfo(m.ref, m.kind, m.path, m.size, "offline pack", fmt,
                                 f"pip package {m.package}"))
        return out

    def locate(self, ref: str | ModelRef) -> ModelInfo | None:
        """Where a reference would be served from right now, without network or conversion."""
        r = ref if isinstance(ref, ModelRef) else parse_ref(ref)
        if r.scheme == "path":
            p = Path(r.name)
            return ModelInfo(str(p), "path", p, _size(p), "path") if p.exists() else None
        if r.scheme == "hf":
            imported = self.imported_hf_dir(r.name)
            if imported.is_dir() and not r.revision:
                return ModelInfo(str(r), hf_kind(r.name), imported, _size(imported), "cache")
            from huggingface_hub import snapshot_download
            from huggingface_hub.errors import LocalEntryNotFoundError

            try:
                snap = Path(snapshot_download(r.name, revision=r.revision, local_files_only=True,
                                              cache_dir=self.hf_cache_dir()))
            except LocalEntryNotFoundError:
                return None
            return ModelInfo(str(r), hf_kind(r.name), snap, _size(snap), "hf cache")
        if r.scheme == "piper":
            for path, source in self._piper_candidates(r.name):
                if path.is_file():
                    return ModelInfo(str(r), "tts", path, _size(path), source, "piper")
            return None
        for path, source in self._whisper_candidates(r.name):
            if path.is_file():
                return ModelInfo(str(r), "asr", path, _size(path), source, "openai-whisper")
        if self.converted_path(r.name).is_file():
            p = self.converted_path(r.name)
            return ModelInfo(str(r), "asr", p, _size(p), "cache", "openai-whisper",
                             "converted from the offline pack")
        if (m := offline_pack.find(str(r))) is not None:
            return ModelInfo(str(r), "asr", m.path, m.size, "offline pack", "ctranslate2")
        if (local := self._ct2_local(r.name)) is not None:
            return ModelInfo(str(r), "asr", local[0], _size(local[0]), local[1], "ctranslate2")
        return None

    def configured(self) -> list[tuple[str, str]]:
        """(setting, reference) for each model the current settings use."""
        c = self.config
        out = [("asr.model", c.asr.model)]
        if c.tts.engine == "piper" and c.tts.voice.startswith("piper:"):
            out.append(("tts.voice", c.tts.voice))
        if c.vlm.backend in ("auto", "local"):
            out.append(("vlm.model", c.vlm.model))
        return out

    def missing(self) -> list[tuple[str, str, str]]:
        """(setting, reference, what happens) for configured models not on this computer."""
        out = []
        for key, ref in self.configured():
            try:
                found = self.locate(ref)
            except ModelError as exc:
                out.append((key, ref, exc.message))
                continue
            if found is not None:
                continue
            kind = {"asr.model": "asr", "tts.voice": "tts"}.get(key, "")
            best = self.best_offline(kind, self.config.asr.language,
                                     requested=ref.split(":")[-1]) if kind else None
            then = f"the offline pack's {best.ref} is used instead" if best else \
                "it will be downloaded on first use" if not self.offline else \
                "not available offline"
            out.append((key, ref, then))
        return out

    def verify(self, ref: str | None = None) -> list[Check]:
        return importing.verify(self, self.installed(), ref)

    def import_dir(self, src: Path, name: str | None = None) -> list[ModelInfo]:
        return importing.import_dir(self, Path(src), name)

