"""`glimpse devices [--json]`: the microphones, speakers and cameras Glimpse can use.

Audio devices come from PortAudio (sounddevice); cameras from probing /dev/video* with OpenCV.
With no audio server or no camera this says so plainly, never with a traceback.
"""
from __future__ import annotations

import argparse
import glob
import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

from ui.cli.common import print_json

NO_AUDIO_SERVER = ("no audio server: start PulseAudio or PipeWire (e.g. `systemctl --user start "
                   "pipewire-pulse` or `pulseaudio --start`), and check that a sound card or "
                   "headset is connected")
CAMERA_SOURCES = ("a video file, a stream URL (rtsp://, udp://, http://) or a folder of images "
                  "also works as a camera: --set camera.source=PATH_OR_URL")


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    hostapi: str
    channels: int
    samplerate: float
    default: bool


def audio_devices() -> tuple[list[AudioDevice], list[AudioDevice], str]:
    """(microphones, speakers, problem). `problem` is "" when PortAudio answered normally."""
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        return [], [], (f"PortAudio is not installed ({exc}): install it, e.g. "
                        "`sudo apt install libportaudio2`")
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        return [], [], f"PortAudio could not list devices ({exc}); {NO_AUDIO_SERVER}"
    mics, speakers = [], []
    for d in devices:
        api = hostapis[d["hostapi"]]["name"] if d["hostapi"] < len(hostapis) else "?"
        common = dict(index=d["index"], name=d["name"], hostapi=api,
                      samplerate=d["default_samplerate"])
        if d["max_input_channels"] > 0:
            mics.append(AudioDevice(channels=d["max_input_channels"],
                                    default=d["index"] == default_in, **common))
        if d["max_output_channels"] > 0:
            speakers.append(AudioDevice(channels=d["max_output_channels"],
                                        default=d["index"] == default_out, **common))
    problem = ""
    if not mics and not speakers:
        problem = f"PortAudio sees no audio devices; {NO_AUDIO_SERVER}"
    elif default_in < 0 or default_out < 0:
        problem = ("no default " + ("microphone" if default_in < 0 else "speaker")
                   + "; pick one with --set audio.input_device=NAME / audio.output_device=NAME")
    return mics, speakers, problem


def server_devices() -> dict[str, list[dict[str, Any]]]:
    """Inputs and outputs of a running PulseAudio/PipeWire server (via `pactl`), or {} when
    there is none. PortAudio reaches them through its "pulse"/"default" device."""
    if not shutil.which("pactl"):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, default_cmd in (("sources", "get-default-source"), ("sinks", "get-default-sink")):
        try:
            listing = subprocess.run(["pactl", "-f", "json", "list", kind], capture_output=True,
                                     text=True, timeout=5)
            default = subprocess.run(["pactl", default_cmd], capture_output=True, text=True,
                                     timeout=5).stdout.strip()
        except subprocess.TimeoutExpired:
            return {}
        if listing.returncode != 0:
            return {}
        try:
            items = json.loads(listing.stdout)
        except ValueError:  # an old pactl without JSON output: skip this extra detail
            return {}
        out[kind] = [{"name": d.get("name", ""), "description": d.get("description", ""),
                      "default": d.get("name") == default} for d in items
                     if not str(d.get("name", "")).endswith(".monitor")]
    return out


def cameras() -> list[dict[str, Any]]:
    """Probe /dev/video* with OpenCV: which open, and at what size. Slow-ish (~0.2 s each)."""
    found = []
    paths = sorted(glob.glob("/dev/video*"))
    if not paths:
        return []
    import cv2

    for path in paths:
        cap = cv2.VideoCapture(path)
        try:
            ok = cap.isOpened()
            w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            if ok:
                ok, _ = cap.read()
        finally:
            cap.release()
        index = path.removeprefix("/dev/video")
        found.append({"device": path, "source": index, "works": bool(ok),
                      "size": f"{w}x{h}" if ok else ""})
    return found


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list microphones, speakers and cameras")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    mics, speakers, problem = audio_devices()
    server = server_devices() if not problem else {}
    cams = cameras()
    if args.json:
        print_json({"microphones": [asdict(d) for d in mics],
                    "speakers": [asdict(d) for d in speakers], "audio_problem": problem,
                    "audio_server": server,
                    "cameras": cams, "camera_note": CAMERA_SOURCES})
        return 0
    for title, items in (("Microphones", mics), ("Speakers", speakers)):
        print(f"{title}:")
        for d in items:
            mark = "*" if d.default else " "
            print(f"  {mark} {d.index:>3}  {d.name}  [{d.hostapi}, {d.channels} ch, "
                  f"{d.samplerate:g} Hz]" + ("  (default)" if d.default else ""))
        if not items:
            print("  none")
    if problem:
        print(f"  note: {problem}")
    if server:
        print("Audio server inputs and outputs (used through the 'pulse'/'default' device):")
        for kind, label in (("sources", "input"), ("sinks", "output")):
            for d in server.get(kind, []):
                mark = "*" if d["default"] else " "
                print(f"  {mark} {label:<6}  {d['description']}  [{d['name']}]")
        print("  note: change the default in the desktop's sound settings, or with "
              "`pactl set-default-source NAME` / `pactl set-default-sink NAME`")
    print("Cameras:")
    for c in cams:
        state = f"works, {c['size']}" if c["works"] else "does not open (busy or not a camera)"
        print(f"    {c['source']:>3}  {c['device']}  {state}")
    if not cams:
        print("  none found (no /dev/video*)")
    print(f"  note: {CAMERA_SOURCES}")
    return 0
