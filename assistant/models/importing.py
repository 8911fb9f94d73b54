"""Verifying the store's models and importing folders of model files into it.

Both run on the caller's thread and may take seconds for big files (SHA-256). They work on a
`StoreBase` (the cache folder, the table of known Whisper models, the manifest of checksums)
and the file checks in `checks`; the store (`store.ModelStore`) calls them, they never call it.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from assistant.errors import ModelError
from assistant.models import offline_pack
from assistant.models.cache import StoreBase
from assistant.models.checks import check_checkpoint, check_ct2, check_hf, check_piper, safe_load
from assistant.models.download import sha256_file
from assistant.models.refs import Check, ModelInfo, parse_ref

log = logging.getLogger(__name__)


def verify(store: StoreBase, installed: list[ModelInfo], ref: str | None = None) -> list[Check]:
    """Check each of the `installed` models (or those matching `ref`): SHA-256 where known, and
    that it opens safely. Returns one Check per model; never raises for a bad model."""

    WHISPER_MODELS = store.whisper_models  # noqa: N806 - the store's table
    infos = installed
    if ref is not None:
        want = str(parse_ref(ref))
        infos = [i for i in infos if i.ref == want or str(i.path) == want]
        if not infos:
            raise ModelError(f"{want} is not on this computer",
                             f"`glimpse models pull {want}` fetches it; `glimpse models list` "
                             "shows what is here")
    manifest = store.manifest()
    out = []
    for info in infos:
        try:
            notes = []
            p = info.path
            name = info.ref.removeprefix("whisper:")
            if info.format == "openai-whisper":
                if name in WHISPER_MODELS and not info.note:
                    actual = sha256_file(p)
                    if actual != WHISPER_MODELS[name].sha256:
                        raise ModelError(f"SHA-256 mismatch: {actual}",
                                         f"Delete {p} and run `glimpse models pull {info.ref}`")
                    store.remember(p, actual)
                    notes.append("sha256 ok")
                notes.append(check_checkpoint(p))
            elif info.format == "piper":
                notes.append(check_piper(p))
            elif info.format == "ctranslate2":
                pack = offline_pack.find(info.ref) if info.source == "offline pack" else None
                notes.append(check_ct2(p if p.is_dir() else p.parent,
                                        pack.files[0] if pack else None))
            elif info.format == "hf":
                notes.append(check_hf(p))
            elif info.format == "torch":
                safe_load(p)
                notes.append("loads as plain weights")
            else:
                notes.append("present")
            recorded = manifest.get(str(p.resolve()), {}).get("sha256") if p.is_file() else None
            if recorded and "sha256 ok" not in notes:
                if sha256_file(p) != recorded:
                    raise ModelError("changed since it was downloaded (SHA-256 differs)",
                                     f"Delete {p} and pull it again")
                notes.insert(0, "sha256 ok")
            out.append(Check(info, True, "; ".join(notes)))
        except ModelError as exc:
            out.append(Check(info, False, exc.message))
        except Exception as exc:  # noqa: BLE001 - reported as this model's failed check
            out.append(Check(info, False, f"{type(exc).__name__}: {exc}"))
    return out


def _copy_in(src: Path, dest: Path) -> None:
    """Copy a file or folder into the store atomically (temp name, then rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.import-{os.getpid()}")
    if src.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, symlinks=False)
        shutil.rmtree(dest, ignore_errors=True)
    else:
        shutil.copy2(src, tmp)
    os.replace(tmp, dest)


def _hf_repo_from_cache_layout(folder: Path) -> str | None:
    """`.../models--owner--name/snapshots/<sha>` -> "owner/name"."""
    for part in folder.resolve().parts[::-1]:
        if part.startswith("models--"):
            return part.removeprefix("models--").replace("--", "/", 1)
    return None


def import_dir(store: StoreBase, src: Path, name: str | None = None) -> list[ModelInfo]:
    """Copy the models found in `src` into the store, after checking each one.

    Recognised: openai-whisper `.pt` files (named by their SHA-256 when it is a known model),
    Piper voices (`.onnx` + `.onnx.json`), a CTranslate2 Whisper folder, and a Hugging Face
    snapshot folder (`name` = "hf:owner/repo", unless the folder sits in a hub cache layout).
    """

    if not src.exists():
        raise ModelError(f"{src} does not exist", "Give the folder that holds the model files")
    WHISPER_MODELS = store.whisper_models  # noqa: N806 - the store's table
    ref = parse_ref(name) if name else None
    imported: list[ModelInfo] = []
    folder = src if src.is_dir() else src.parent
    if src.is_dir() and (src / "config.json").is_file():
        if list(src.glob("model.bin*")) and (src / "model.bin").is_file():
            check_ct2(src)
            wname = ref.name if ref and ref.scheme == "whisper" else src.name.removeprefix(
                "faster-whisper-")
            dest = store.cache_dir / "ct2" / f"faster-whisper-{wname}"
            _copy_in(src, dest)
            return [ModelInfo(f"whisper:{wname}" if wname in WHISPER_MODELS else str(dest),
                              "asr", dest, sum(f.stat().st_size for f in dest.iterdir()),
                              "cache", "ctranslate2")]
        repo = ref.name if ref and ref.scheme == "hf" else _hf_repo_from_cache_layout(src)
        if repo is None:
            raise ModelError(f"{src} looks like a Hugging Face model, but which repository is it?",
                             f"Say so: glimpse models import {src} --as hf:<owner>/<name>")
        summary = check_hf(src)
        dest = store.imported_hf_dir(repo)
        _copy_in(src, dest)
        log.info("imported %s: %s", repo, summary)
        return [ModelInfo(f"hf:{repo}", "hf", dest, sum(
            f.stat().st_size for f in dest.rglob("*") if f.is_file()), "cache", "hf", summary)]
    files = [src] if src.is_file() else sorted(p for p in folder.iterdir() if p.is_file())
    by_sha = {m.sha256: n for n, m in reversed(WHISPER_MODELS.items())}
    for f in files:
        if f.suffix == ".pt":
            summary = check_checkpoint(f)
            sha = sha256_file(f)
            known = by_sha.get(sha)
            if known:
                dest = store.cache_dir / "whisper" / WHISPER_MODELS[known].filename
                label = f"whisper:{known}"
            else:
                dest = store.cache_dir / "whisper" / "custom" / f.name
                label = str(dest)
                summary += "; not an official checkpoint: use it by its path"
            _copy_in(f, dest)
            store.remember(dest, sha, f"imported from {f}")
            imported.append(ModelInfo(label, "asr", dest, dest.stat().st_size, "cache",
                                      "openai-whisper", summary))
        elif f.suffix == ".onnx" and f.with_name(f.name + ".json").is_file():
            summary = check_piper(f)
            for part in (f.with_name(f.name + ".json"), f):
                dest = store.cache_dir / "piper" / part.name
                _copy_in(part, dest)
                store.remember(dest, sha256_file(dest), f"imported from {part}")
            dest = store.cache_dir / "piper" / f.name
            imported.append(ModelInfo(f"piper:{f.stem}", "tts", dest, dest.stat().st_size,
                                      "cache", "piper", summary))
    if not imported:
        raise ModelError(f"No model files found in {src}",
                         "Expected Whisper .pt files, Piper voices (.onnx with .onnx.json), a "
                         "CTranslate2 Whisper folder, or a Hugging Face snapshot folder")
    return imported
