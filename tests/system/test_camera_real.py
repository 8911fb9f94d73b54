"""The OpenCV camera on real sources: an mp4 file (paced, looped), a live UDP stream (stall,
reconnect), image folders with bad pictures, and a camera index that does not exist."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from assistant.config import Config
from assistant.errors import DeviceError
from tests.support.rig.camera import photo, scene_cut_video, udp_camera, write_scene_video  # noqa: F401
from vision.camera.capture import ImageCamera, OpenCVCamera, from_config

pytestmark = pytest.mark.system


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # polling a condition with a deadline


def test_video_file_is_paced_at_its_frame_rate_and_looped(tmp_path):
    clip = write_scene_video(tmp_path / "short.mp4", ("chelsea",), seconds_each=1.0, fps=15.0)
    camera = OpenCVCamera(str(clip.path), 1280, 720)
    camera.open()
    try:
        first = camera.wait_frame(10)
        assert first is not None and first.image.shape == (480, 640, 3)
        t0, n0 = time.monotonic(), camera.frames
        # Past the end of the 15-frame file: it must loop, not stop or race ahead.
        wait(lambda: camera.frames >= n0 + 30, 20, "30 more frames")
        elapsed = time.monotonic() - t0
        rate = 30 / elapsed
        assert 7.0 < rate < 20.0, f"{rate:.1f} fps for a 15 fps file"
        assert camera.error is None
        latest = camera.latest()
        assert latest is not None and latest.captured_at > first.captured_at
    finally:
        camera.close()


def test_udp_stream_frames_then_stall_then_recovery(udp_camera):  # noqa: F811 - fixture
    errors, recovered = [], []
    camera = OpenCVCamera(udp_camera.url, 1280, 720, stall_s=2.0, on_error=errors.append,
                          on_recovered=lambda: recovered.append(True))
    camera.open()
    try:
        assert camera.wait_frame(20) is not None, "no frame from the UDP stream"
        n0 = camera.frames
        wait(lambda: camera.frames >= n0 + 10, 10, "10 live frames")
        udp_camera.stop()  # the stream stalls
        wait(lambda: camera.error is not None, 15, "the stall to be detected")
        assert camera.latest() is None, "no stale frame is served while the source is lost"
        assert errors and "udp://127.0.0.1" in errors[0] and "reconnecting" in errors[0]
        udp_camera.start()
        wait(lambda: camera.error is None and camera.latest() is not None, 30, "recovery")
        assert recovered == [True]
    finally:
        camera.close()


def test_camera_index_that_does_not_exist_says_what_exists():
    with pytest.raises(DeviceError) as info:
        OpenCVCamera("7").open()
    message = str(info.value)
    assert "Camera 7 does not exist" in message
    assert "Cameras found" in message or "no camera was found" in message


def test_missing_and_unreadable_sources_are_clear(tmp_path):
    with pytest.raises(DeviceError, match="does not exist"):
        OpenCVCamera(str(tmp_path / "nope.mp4")).open()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(DeviceError, match="not a video"):
        OpenCVCamera(str(junk)).open()
    with pytest.raises(DeviceError, match="no pictures"):
        OpenCVCamera(str(tmp_path)).open()


def test_image_folder_skips_corrupt_files_and_copes_with_8k_and_1x1(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_coffee.jpg"), photo("coffee"))
    (folder / "b_broken.jpg").write_bytes(b"\xff\xd8\xff garbage, not a JPEG")
    big = cv2.resize(photo("rocket"), (7680, 4320), interpolation=cv2.INTER_LINEAR)
    cv2.imwrite(str(folder / "c_8k.jpg"), big)
    cv2.imwrite(str(folder / "d_tiny.png"), np.full((1, 1, 3), 200, np.uint8))
    notices: list[str] = []
    camera = OpenCVCamera(str(folder), 1280, 720, folder_fps=20.0, on_notice=notices.append)
    camera.open()
    try:
        shapes: set[tuple] = set()

        def collect() -> bool:
            frame = camera.latest()
            if frame is not None:
                shapes.add(frame.image.shape)
            return len(shapes) >= 3

        wait(collect, 20, "frames of the three good pictures")
        assert (1, 1, 3) in shapes
        assert (720, 1280, 3) in shapes, "the 8K picture is downscaled to the requested size"
        assert notices and "b_broken.jpg" in notices[0]
        assert camera.error is None
    finally:
        camera.close()


def test_image_camera_reads_a_photo_and_refuses_a_corrupt_one(tmp_path):
    cam = ImageCamera(Path(__file__).parents[1] / "data" / "extreme_ironing.jpg")
    cam.open()
    assert cam.latest().image.ndim == 3
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DeviceError, match="not a picture"):
        ImageCamera(bad).open()


def test_from_config_picks_the_adapter(tmp_path):
    still = tmp_path / "still.jpg"
    cv2.imwrite(str(still), photo("chelsea"))
    assert isinstance(from_config(Config().with_value("camera.source", str(still))), ImageCamera)
    camera = from_config(Config().with_value("camera.source", "udp://127.0.0.1:9"))
    assert isinstance(camera, OpenCVCamera) and camera.kind == "url"
    with pytest.raises(DeviceError, match="No camera source"):
        from_config(Config().with_value("camera.source", ""))
