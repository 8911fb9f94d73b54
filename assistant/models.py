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

import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

import platformdirs

from assistant import offline_pack
from assistant.download import ProgressFn, Unreachable, download, is_offline, sha256_file
from assistant.errors import ModelError
from assistant.model_refs import (  # noqa: F401 (re-exported: the store's public names)
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

log = logging.getLogger(__name__)

# Converts a CTranslate2 Whisper folder into an openai-whisper checkpoint: (ct2_dir, out_pt).
WhisperConverter = Callable[[Path, Path], None]


class ModelStore:
    """Finds, downloads, converts and verifies models (see the module docstring).

    `environ` defaults to os.environ and is read at each call, so HF_ENDPOINT, HF_HUB_OFFLINE,
    GLIMPSE_OFFLINE, GLIMPSE_WHISPER_URL and XDG_CACHE_HOME take effect without a restart.
    `convert_whisper` turns the offline pack's CTranslate2 Whisper weights into an openai-whisper
    checkpoint; it is given by whoever knows the audio side (`audio.asr`, the shell), since the
    store sits below it. Without one, the pack's Whisper models are not offered as checkpoints.
    """

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

    # ----- environment ---------------------------------------------------------------------
    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    @property
    def offline(self) -> bool:
        return is_offline(self.config.models.offline, dict(self.environ))

    def hf_endpoint(self) -> str:
        return (self.environ.get("HF_ENDPOINT") or HF_ENDPOINT).rstrip("/")

    def whisper_cache_dir(self) -> Path:
        """openai-whisper's own download dir (it honours XDG_CACHE_HOME the same way)."""
        xdg = self.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(xdg) / "whisper"

    def hf_cache_dir(self) -> Path:
        env = self.environ
        if env.get("HF_HUB_CACHE"):
            return Path(env["HF_HUB_CACHE"])
        if env.get("HF_HOME"):
            return Path(env["HF_HOME"]) / "hub"
        xdg = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(xdg) / "huggingface" / "hub"

    def whisper_url(self, name: str) -> str:
        m = self.whisper_models[name]
        base = (self.environ.get("GLIMPSE_WHISPER_URL") or WHISPER_BASE_URL).rstrip("/")
        return f"{base}/{m.sha256}/{m.filename}"

    def piper_url(self, voice: str, suffix: str = ".onnx") -> str:
        p = piper_parts(voice)
        return (f"{self.hf_endpoint()}/{PIPER_REPO}/resolve/{PIPER_REVISION}/{p['lang']}/"
                f"{p['locale']}/{p['name']}/{p['quality']}/{voice}{suffix}")

    # ----- the verification memo: hashing a 1.5 GB file once is enough ----------------------
    def _manifest_path(self) -> Path:
        return self.cache_dir / "manifest.json"

    def _manifest(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self._manifest_path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("model manifest %s unreadable (%s); checksums will be recomputed",
                        self._manifest_path(), exc)
            return {}

    def _remember(self, path: Path, sha: str, source: str = "") -> None:
        with self._lock:
            data = self._manifest()
            st = path.stat()
            data[str(path.resolve())] = {"sha256": sha, "size": st.st_size,
                                         "mtime": st.st_mtime, "source": source}
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = self._manifest_path().with_name(f".manifest.tmp-{os.getpid()}")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(tmp, self._manifest_path())

    def _known_sha(self, path: Path) -> str | None:
        """The recorded SHA-256 of a file if it has not changed since it was recorded."""
        entry = self._manifest().get(str(path.resolve()))
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
                self._remember(path, actual)
            except OSError as exc:  # a read-only store only costs a re-check next time
                log.warning("could not record the checksum of %s: %s", path, exc)
            return True
        return False

    def _note(self, text: str) -> None:
        self.notes.append(text)
        log.warning("%s", text)

    # ----- Whisper ------------------------------------------------------------------------
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
                self._remember(got, model.sha256, self.whisper_url(name))
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

    # ----- Piper ----------------------------------------------------------------------------
    def _piper_candidates(self, voice: str) -> list[tuple[Path, str]]:
        out = []
        if (m := offline_pack.find(f"piper:{voice}")) is not None:
            out.append((m.path, "offline pack"))
        out.append((self.cache_dir / "piper" / f"{voice}.onnx", "cache"))
        p = piper_parts(voice)
        rel = f"{p['lang']}/{p['locale']}/{p['name']}/{p['quality']}/{voice}.onnx"
        snap = self._hf_cached_file(PIPER_REPO, rel, PIPER_REVISION)
        if snap is not None:
            out.append((snap, "hf cache"))
        return out

    def _hf_cached_file(self, repo: str, filename: str, revision: str | None) -> Path | None:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo, filename, cache_dir=self.hf_cache_dir(),
                                       revision=revision)
        return Path(found) if isinstance(found, str) else None

    def piper_voice(self, name: str, on_progress: ProgressFn | None = None, *,
                    fallback: bool = True, language: str | None = None,
                    cancel: threading.Event | None = None) -> Path:
        """Path to a Piper voice `.onnx`, its `.onnx.json` beside it."""
        voice = parse_ref(f"piper:{name.removeprefix('piper:')}").name
        for path, _ in self._piper_candidates(voice):
            if path.is_file() and path.with_name(path.name + ".json").is_file():
                return path
        reason = "offline mode is on"
        if not self.offline:
            target = self.cache_dir / "piper" / f"{voice}.onnx"
            try:
                # The small config first: a wrong voice name fails fast, before 60 MB.
                for suffix in (".onnx.json", ".onnx"):
                    url = self.piper_url(voice, suffix)
                    got = download(url, target.with_name(voice + suffix), cancel=cancel,
                                   on_progress=on_progress if suffix == ".onnx" else None)
                    self._remember(got, sha256_file(got), url)
                return target
            except Unreachable as exc:
                if not fallback:
                    raise
                reason = exc.what
        if fallback:
            lang = language if language is not None else self.config.asr.language
            ok_en = english_ok(lang) or voice.startswith("en_")
            best = self.best_offline("tts", lang, english=ok_en)
            if best is not None and best.ref != f"piper:{voice}":
                self._note(f"Piper voice {voice} is not available ({reason}); using {best.ref} "
                           "from the offline pack instead")
                return best.path
        raise self._missing(f"piper:{voice}", [p for p, _ in self._piper_candidates(voice)]
                            + [self.cache_dir / "piper" / f"{voice}.onnx"], reason)

    # ----- packaged helpers ------------------------------------------------------------------
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

    # ----- Hugging Face ---------------------------------------------------------------------
    def imported_hf_dir(self, repo: str) -> Path:
        return self.cache_dir / "hf" / repo.replace("/", "--")

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

    # ----- any reference ----------------------------------------------------------------------
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

    # ----- what is here -----------------------------------------------------------------------
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
            out.append(ModelInfo(f"hf:{d.name.replace('--', '/', 1)}", _hf_kind(d.name), d,
                                 _size(d), "cache", "hf"))
        out.extend(self._hf_cache_models())
        for m in offline_pack.discover():
            fmt = {"ct2": "ctranslate2", "ct2-split": "ctranslate2"}.get(m.format, m.format)
            out.append(ModelInfo(m.ref, m.kind, m.path, m.size, "offline pack", fmt,
                                 f"pip package {m.package}"))
        return out

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
            out.append(ModelInfo(ref, "asr" if whisper else _hf_kind(repo.repo_id), path,
                                 repo.size_on_disk, "hf cache",
                                 "ctranslate2" if whisper else "hf"))
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
                return ModelInfo(str(r), _hf_kind(r.name), imported, _size(imported), "cache")
            from huggingface_hub import snapshot_download
            from huggingface_hub.errors import LocalEntryNotFoundError

            try:
                snap = Path(snapshot_download(r.name, revision=r.revision, local_files_only=True,
                                              cache_dir=self.hf_cache_dir()))
            except LocalEntryNotFoundError:
                return None
            return ModelInfo(str(r), _hf_kind(r.name), snap, _size(snap), "hf cache")
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

    # ----- verify and import (see assistant/model_import.py) -----------------------------------
    def verify(self, ref: str | None = None) -> list[Check]:
        from assistant.model_import import verify

        return verify(self, ref)

    def import_dir(self, src: Path, name: str | None = None) -> list[ModelInfo]:
        from assistant.model_import import import_dir

        return import_dir(self, Path(src), name)


def _hf_kind(repo: str) -> str:
    low = repo.lower()
    if "whisper" in low:
        return "asr"
    if "vl" in low or "vision" in low or "llava" in low or "idefics" in low:
        return "vlm"
    return "hf"
