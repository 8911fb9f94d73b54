"""Piper voices in the model store: the offline pack -> the store cache -> the Hugging Face cache
-> download (the small `.onnx.json` first, so a wrong voice name fails before 60 MB)."""
from __future__ import annotations

import threading
from pathlib import Path

from assistant.models import offline_pack
from assistant.models.download import ProgressFn, Unreachable, download, sha256_file
from assistant.models.cache import StoreBase
from assistant.models.refs import PIPER_REPO, PIPER_REVISION, english_ok, parse_ref, piper_parts


class PiperStore(StoreBase):
    """The Piper part of `ModelStore`."""

    def piper_url(self, voice: str, suffix: str = ".onnx") -> str:
        p = piper_parts(voice)
        return (f"{self.hf_endpoint()}/{PIPER_REPO}/resolve/{PIPER_REVISION}/{p['lang']}/"
                f"{p['locale']}/{p['name']}/{p['quality']}/{voice}{suffix}")

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
                    self.remember(got, sha256_file(got), url)
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

