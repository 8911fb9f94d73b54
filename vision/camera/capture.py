"""Cameras: OpenCV capture on its own thread, keeping only the latest frame.

Sources (`[camera] source`):
- a device index, "0": a webcam;
- a video file: looped, and paced at the file's frame rate (OpenCV alone reads files as fast as
  it can, which would make a 10 s clip last half a second);
- a stream URL (rtsp://, udp://, http://...): paced by the stream;
- a folder of images: cycled at `folder_fps` (default one a second); unreadable files are skipped
  with a message;
- a single image file: `ImageCamera`, a still picture as a camera (`glimpse describe --image`).

Frames larger than the requested width x height are downscaled (an 8K still would slow every
stage); tiny ones (1x1) pass through and the stages cope.

When the source is lost (unplugged, the stream stalls: no frame for `stall_s` seconds), the
capture thread sets `error`, calls `on_error(message)` once, reconnects with exponential backoff,
and calls `on_recovered()` when frames flow again. `latest()` returns None while the source is
lost, so no turn is answered from a stale picture. The camera stage turns these callbacks into
ErrorEvent / Notice.

Threads: `open`, `latest` and `close` may be called from any thread; the callbacks run on the
capture thread (keep them short, e.g. put an event on a queue). Times are monotonic seconds.
"""
from __future__ import annotations

import glob
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import cv2
import numpy as np

from assistant.errors import DeviceError
from assistant.events import Frame, now
from assistant.ports import Camera

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".pgm",
                  ".ppm"}
VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv",
                  ".flv", ".ogv"}


def source_kind(source: str) -> str:
    """index | url | folder | image | video (an existing file that is not a known image)."""
    text = source.strip()
    if text.isdigit():
        return "index"
    if "://" in text and urlparse(text).scheme:
        return "url"
    path = Path(text).expanduser()
    if path.is_dir():
        return "folder"
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "image"
    return "video"


def available_indexes(limit: int = 10) -> list[int]:
    """Camera indexes that exist. On Linux, from /dev/video*; elsewhere by probing 0..limit-1."""
    if sys.platform.startswith("linux"):
        found = []
        for dev in glob.glob("/dev/video*"):
            suffix = dev[len("/dev/video"):]
            if suffix.isdigit():
                found.append(int(suffix))
        return sorted(found)
    out = []
    for index in range(limit):
        cap = cv2.VideoCapture(index)
        if cap.isOpened():
            out.append(index)
        cap.release()
    return out


def fit_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Downscale (never upscale) to fit in width x height, keeping the aspect; BGR uint8 out."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.dtype != np.uint8:
        # 16-bit or float pictures: scale their range into 8 bits.
        top = float(image.max()) or 1.0
        image = np.clip(image.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    return image


def read_image(path: str | Path) -> np.ndarray:
    """Read a still picture as BGR uint8. DeviceError saying what is wrong if it cannot be read."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DeviceError(f"The image {path} does not exist", "Check the path.")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        # OpenCV does not read every format (animated GIF, some TIFFs): try Pillow.
        try:
            from PIL import Image, UnidentifiedImageError
            with Image.open(path) as pil:
                image = cv2.cvtColor(np.asarray(pil.convert("RGB")), cv2.COLOR_RGB2BGR)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DeviceError(f"The file {path} is not a picture Glimpse can read, or it is "
                              f"damaged ({exc.__class__.__name__})",
                              "Use a JPEG or PNG picture.") from exc
    if image.size == 0:
        raise DeviceError(f"The picture {path} is empty", "Use another picture.")
    return image


class ImageCamera(Camera):
    """A still picture as a camera: `latest()` always gives the same frame."""

    def __init__(self, image: str | Path | np.ndarray, width: int = 7680,
                 height: int = 4320) -> None:
        self._path = None if isinstance(image, np.ndarray) else Path(image)
        self._array = image if isinstance(image, np.ndarray) else None
        self.source = str(self._path) if self._path else "image"
        self.width, self.height = width, height
        self.error: str | None = None
        self._frame: Frame | None = None

    def open(self) -> None:
        image = self._array if self._array is not None else read_image(self._path)
        self._frame = Frame(image=fit_to(image, self.width, self.height), captured_at=now(),
                            source=self.source)

    def latest(self) -> Frame | None:
        return self._frame

    def close(self) -> None:
        self._frame = None


class OpenCVCamera(Camera):
    """A camera, a video file, a stream or an image folder, read on a capture thread.

    `stall_s`: seconds without a frame after which a live source counts as lost.
    `folder_fps`: pictures a second from an image folder. `loop`: restart a video file at its end.
    """

    def __init__(self, source: str, width: int = 1280, height: int = 720, *,
                 folder_fps: float = 1.0, stall_s: float = 3.0, loop: bool = True,
                 max_backoff_s: float = 5.0,
                 on_error: Callable[[str], None] | None = None,
                 on_recovered: Callable[[], None] | None = None,
                 on_notice: Callable[[str], None] | None = None) -> None:
        self.source = str(source).strip()
        self.kind = source_kind(self.source)
        if self.kind == "image":
            raise DeviceError(f"{self.source} is a single picture",
                              "Use ImageCamera for a still picture.")
        self.width, self.height = width, height
        self.folder_fps = folder_fps
        self.stall_s = stall_s
        self.loop = loop
        self.max_backoff_s = max_backoff_s
        self.on_error = on_error
        self.on_recovered = on_recovered
        self.on_notice = on_notice
        self.error: str | None = None
        self.frames = 0  # frames delivered since open
        self.skipped: list[str] = []  # folder files that could not be read
        self._latest: Frame | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap: cv2.VideoCapture | None = None
        self._files: list[Path] = []

    # -- public -------------------------------------------------------------------------------

    def open(self) -> None:
        """Check the source and start the capture thread. DeviceError if it cannot work at all.

        A stream that is not up yet is not an error here: the thread keeps retrying and reports.
        """
        if self._thread is not None:
            return
        if not log.isEnabledFor(logging.DEBUG):
            # OpenCV warns on stderr about every stream timeout; Glimpse reports outages itself.
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        if self.kind == "index":
            self._cap = self._open_index(int(self.source))
        elif self.kind == "video":
            path = Path(self.source).expanduser()
            if not path.is_file():
                raise DeviceError(f"The camera source {self.source} does not exist",
                                  "Set [camera] source to a camera index (0), a video file, a "
                                  "stream URL or a folder of pictures.", needs_action=True)
            self._cap = self._open_capture()
            if self._cap is None:
                raise DeviceError(f"{self.source} is not a video OpenCV can read",
                                  "Use an mp4/mkv/avi file, or convert it with ffmpeg.",
                                  needs_action=True)
        elif self.kind == "folder":
            self._files = self._list_folder()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="glimpse-camera-capture",
                                        daemon=True)
        self._thread.start()

    def latest(self) -> Frame | None:
        """The newest frame, or None before the first one and while the source is lost.

        A frame older than the stall limit is not served even before the capture thread has
        noticed the stall (a blocked read can take that long to time out).
        """
        with self._lock:
            frame = self._latest
        if frame is None or self.error is not None:
            return None
        limit = max(self.stall_s, 2.0 / max(self.folder_fps, 1e-3)) if self.kind == "folder" \
            else self.stall_s
        if now() - frame.captured_at > limit:
            return None
        return frame

    def wait_frame(self, timeout: float) -> Frame | None:
        """The first frame, waiting up to `timeout` seconds (for CLI use and tests)."""
        deadline = now() + timeout
        while now() < deadline and not self._stop.is_set():
            frame = self.latest()
            if frame is not None:
                return frame
            self._stop.wait(0.02)
        return self.latest()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        self._thread = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    # -- opening ------------------------------------------------------------------------------

    def _open_index(self, index: int) -> cv2.VideoCapture:
        existing = available_indexes()
        if sys.platform.startswith("linux") and index not in existing:
            raise DeviceError(_missing_camera(index, existing), _CAMERA_HINT if existing else
                              "Connect a camera, or set [camera] source to a video file, a "
                              "stream URL or an image folder.", needs_action=True)
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            cap.release()
            raise DeviceError(_missing_camera(index, existing) if index not in existing else
                              f"Camera {index} exists but could not be opened (busy, or no "
                              "permission)", "Close other programs using it, or check that you "
                              "are in the 'video' group.", needs_action=True)
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the latest frame, not a queue of old ones
        return cap

    def _open_capture(self) -> cv2.VideoCapture | None:
        """Open a file or URL with FFmpeg, with open/read timeouts so a stall cannot hang us."""
        timeout_ms = int(max(self.stall_s, 1.0) * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms,
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        target = str(Path(self.source).expanduser()) if self.kind == "video" else self.source
        cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            cap = cv2.VideoCapture(target)  # another backend may know the format
        if not cap.isOpened():
            cap.release()
            return None
        return cap

    def _list_folder(self) -> list[Path]:
        folder = Path(self.source).expanduser()
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DeviceError(f"The folder {folder} has no pictures",
                              "Put JPEG or PNG files in it, or choose another camera source.",
                              needs_action=True)
        return files

    # -- capture thread -----------------------------------------------------------------------

    def _publish(self, image: np.ndarray) -> None:
        frame = Frame(image=fit_to(image, self.width, self.height), captured_at=now(),
                      source=self.source)
        with self._lock:
            self._latest = frame
        self.frames += 1
        if self.error is not None:
            self.error = None
            log.info("camera %s recovered", self.source)
            if self.on_recovered is not None:
                self.on_recovered()

    def _lost(self, message: str) -> None:
        if self.error is None:
            self.error = message
            log.warning("%s", message)
            if self.on_error is not None:
                self.on_error(message)

    def _run(self) -> None:
        try:
            if self.kind == "folder":
                self._run_folder()
            else:
                self._run_capture()
        except Exception as exc:  # noqa: BLE001 - reported through the error hook, never lost
            log.debug("camera thread failed", exc_info=True)
            self._lost(f"The camera {self.source} failed: {exc}. Choose another source in "
                       "Settings.")

    def _run_folder(self) -> None:
        index = 0
        period = 1.0 / max(self.folder_fps, 1e-3)
        next_t = now()
        while not self._stop.is_set():
            path = self._files[index % len(self._files)]
            index += 1
            try:
                image = read_image(path)
            except DeviceError as exc:
                if str(path) not in self.skipped:
                    self.skipped.append(str(path))
                    if self.on_notice is not None:
                        self.on_notice(f"Skipped {path.name}: {exc.what}.")
                if len(self.skipped) >= len(self._files):
                    self._lost(f"No picture in {self.source} can be read. Put JPEG or PNG "
                               "files in it.")
                    self._stop.wait(period)
                continue
            self._publish(image)
            # Each picture stays `period` seconds; a slow read (an 8K file) delays the next one
            # instead of making the following pictures flash by to catch up.
            next_t = max(next_t + period, now() + period * 0.9)
            self._stop.wait(max(0.0, next_t - now()))

    def _run_capture(self) -> None:
        """Files (paced, looped), device indexes and streams, with reconnect and backoff."""
        backoff = 0.5
        last_frame_t = now()
        fps = 0.0
        start_t, start_n = now(), 0
        while not self._stop.is_set():
            cap = self._cap
            if cap is None:
                cap = self._open_capture() if self.kind != "index" else self._reopen_index()
                if cap is None:
                    self._lost(f"The camera source {self.source} is not available; "
                               "retrying. Check the cable, the stream or the file.")
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.max_backoff_s)
                    continue
                self._cap = cap
            if self.kind == "video" and fps <= 0:
                fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
                if not 1.0 <= fps <= 240.0:
                    fps = 25.0
                start_t, start_n = now(), 0
            ok, image = cap.read()
            if ok and image is not None and image.size:
                backoff = 0.5
                last_frame_t = now()
                self._publish(image)
                if self.kind == "video":
                    # Pace the file at its own frame rate: frame n is due at start + n / fps.
                    start_n += 1
                    self._stop.wait(max(0.0, start_t + start_n / fps - now()))
                continue
            if self.kind == "video" and self.loop and self.frames > 0:
                # End of the file: start again from the first frame.
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, image = cap.read()
                if ok and image is not None:
                    start_t, start_n = now(), 1
                    self._publish(image)
                    self._stop.wait(max(0.0, start_t + 1 / fps - now()))
                    continue
            if now() - last_frame_t >= self.stall_s or not ok:
                what = "could not be read further" if self.kind == "video" else \
                    "stopped sending pictures"
                self._lost(f"The camera {self.source} {what}; reconnecting.")
                cap.release()
                self._cap = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _reopen_index(self) -> cv2.VideoCapture | None:
        try:
            return self._open_index(int(self.source))
        except DeviceError:
            return None


_CAMERA_HINT = ("Set [camera] source to one of them, a video file, a stream URL or an image "
                "folder.")


def _missing_camera(index: int, existing: list[int]) -> str:
    if existing:
        return (f"Camera {index} does not exist. Cameras found: "
                f"{', '.join(str(i) for i in existing)}")
    return f"Camera {index} does not exist, and no camera was found on this computer"


def from_config(config) -> OpenCVCamera | ImageCamera:
    """The camera for `[camera] source`; DeviceError when the source is empty."""
    source = config.camera.source.strip()
    if not source:
        raise DeviceError("No camera source is set", "Set [camera] source to a camera index "
                          "(0), a video file, a stream URL or a folder of pictures.",
                          needs_action=True)
    if source_kind(source) == "image":
        return ImageCamera(os.path.expanduser(source), config.camera.width, config.camera.height)
    return OpenCVCamera(source, config.camera.width, config.camera.height)
