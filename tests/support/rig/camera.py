"""Cameras for tests: real video files and a live UDP stream made from real photos.

No /dev/video* exists on CI machines, so the camera adapter is tested on what OpenCV reads for
real: an mp4 written with cv2.VideoWriter from scikit-image's bundled photos (with a little shake
and sensor noise, so no two frames are identical) and the same clip streamed live over UDP by
ffmpeg (`-re`: paced in real time, looped).

Use the fixtures by importing them into a test module:
    from tests.support.rig.camera import scene_cut_video, udp_camera  # noqa: F401
"""
from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.rig import unavailable

SIZE = (640, 480)  # width, height of the test clips


def photo(name: str, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A scikit-image sample photo (astronaut, coffee, chelsea, rocket...) as BGR at `size`."""
    import skimage.data

    image = getattr(skimage.data, name)()
    image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR if image.ndim == 3 else cv2.COLOR_GRAY2BGR)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def shaken(image: np.ndarray, rng: np.random.Generator, shift: int = 4,
           noise: float = 4.0) -> np.ndarray:
    """The image moved by a few pixels with Gaussian sensor noise: a hand-held camera's frame."""
    h, w = image.shape[:2]
    dx, dy = (int(v) for v in rng.integers(-shift, shift + 1, 2))
    moved = cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h),
                           borderMode=cv2.BORDER_REFLECT)
    return np.clip(moved.astype(np.float32) + rng.normal(0, noise, moved.shape), 0, 255
                   ).astype(np.uint8)


@dataclass(frozen=True)
class SceneVideo:
    path: Path
    fps: float
    scenes: tuple[str, ...]
    seconds_each: float

    @property
    def frames(self) -> int:
        return int(round(self.fps * self.seconds_each)) * len(self.scenes)


def write_scene_video(path: Path, scenes: tuple[str, ...] = ("astronaut", "coffee"),
                      seconds_each: float = 3.0, fps: float = 15.0, seed: int = 7) -> SceneVideo:
    """An mp4 (MPEG-4 part 2) of each photo in turn, `seconds_each` long, hand-held shake."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    try:
        for name in scenes:
            base = photo(name)
            for _ in range(int(round(fps * seconds_each))):
                writer.write(shaken(base, rng))
    finally:
        writer.release()
    return SceneVideo(path=path, fps=fps, scenes=scenes, seconds_each=seconds_each)


@pytest.fixture(scope="session")
def scene_cut_video(tmp_path_factory) -> SceneVideo:
    """3 s of the astronaut, then a cut to 3 s of coffee, at 15 fps."""
    return write_scene_video(tmp_path_factory.mktemp("camera") / "scene_cut.mp4")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class UdpStream:
    """ffmpeg streaming a clip live (real-time pace, looped) as MPEG-TS over UDP."""

    def __init__(self, clip: Path, port: int | None = None) -> None:
        self.clip = clip
        self.port = port or free_udp_port()
        self.url = f"udp://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise FileNotFoundError("ffmpeg is not installed")
        self.process = subprocess.Popen(
            [ffmpeg, "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-i", str(self.clip), "-c", "copy",
             # MPEG-4 headers in every keyframe, so a receiver can join mid-stream.
             "-bsf:v", "dump_extra", "-f", "mpegts", f"{self.url}?pkt_size=1316"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        """Stop streaming (the receiver then sees a stall)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@pytest.fixture
def udp_camera(scene_cut_video):
    """A live UDP stream of the scene-cut clip; yields the UdpStream (its `.url` for OpenCV)."""
    stream = UdpStream(scene_cut_video.path)
    try:
        stream.start()
    except FileNotFoundError as exc:
        unavailable(str(exc))
    yield stream
    stream.stop()
