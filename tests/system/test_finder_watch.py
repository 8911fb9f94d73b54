"""Watch mode on a real video through the real camera adapter (a paced mp4) with the real
offline finder: it speaks at the first frames that show the thing, and not before.

How fast that is in seconds depends on the machine (one frame takes ~0.4 s on an idle 2-core
CPU, twice that on a busy one), so the test counts frames and `glimpse bench find` measures the
seconds."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from assistant.events import now
from tests.support.rig.camera import write_scene_video
from vision.camera.capture import OpenCVCamera
from vision.finder.base import WATCH
from vision.finder.offline import OfflineFinder
from vision.finder.watch import Watch, WatchOptions
from tests.support import ROOT

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 s of the astronaut, then the coffee cup appears, at 15 fps."""
    return write_scene_video(tmp_path_factory.mktemp("watch") / "cup_appears.mp4",
                             ("astronaut", "coffee"), seconds_each=3.0)


@pytest.fixture(scope="module")
def finder():
    f = OfflineFinder(WATCH)
    f.load()
    return f


def test_watch_speaks_at_the_first_frames_that_show_the_cup(clip, finder):
    camera = OpenCVCamera(str(clip.path), 640, 480, loop=False)
    camera.open()
    try:
        first = camera.wait_frame(10.0)
        assert first is not None, camera.error
        appears = first.captured_at + clip.seconds_each  # the paced clip cuts to the cup here
        seen_before: list[float] = []
        looked_after: list[float] = []  # when each frame analysed after the cut was done

        def on_frame(result):
            if now() < appears:
                if result.found:
                    seen_before.append(result.score)
            else:
                looked_after.append(now())

        watch = Watch(finder, camera, "cup", WatchOptions(fps=4, timeout_s=20),
                      on_frame=on_frame)
        sighting = watch.run(threading.Event())
        answered = now()
    finally:
        camera.close()
    assert sighting is not None, "the cup was never seen"
    assert not seen_before, "a cup was reported before it appeared"
    assert sighting.captured_at >= appears - 0.1
    delay = answered - appears
    # A sure match speaks at the first frame showing the cup, an "I think" at the second; the
    # frame being analysed when the clip cut over may still show the astronaut.
    assert len(looked_after) <= 3, (f"spoke after {len(looked_after)} frames showing the cup "
                                     f"({delay:.2f} s after it appeared)")
    assert sighting.result.text().startswith(("Yes, I see a cup", "I think I see a cup"))


def test_stop_ends_the_watch_at_once(clip, finder):
    camera = OpenCVCamera(str(clip.path), 640, 480)
    camera.open()
    stop = threading.Event()
    try:
        assert camera.wait_frame(10.0) is not None
        watch = Watch(finder, camera, "bicycle", WatchOptions(fps=4, timeout_s=60))
        timer = threading.Timer(0.5, stop.set)
        timer.start()
        t0 = time.monotonic()
        assert watch.run(stop) is None
        # Stopped after the frame being analysed, not after the 60 s limit.
        assert time.monotonic() - t0 < 0.5 + 5.0
    finally:
        camera.close()


def test_glimpse_find_watch_times_out_with_a_clear_no(clip):
    proc = subprocess.run(
        [sys.executable, "-m", "ui.cli", "--offline", "find", "tell me when you see a bicycle",
         "--camera", str(clip.path), "--timeout", "3", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    document = json.loads(proc.stdout)
    assert document["found"] is False
    assert document["answer"] == "I didn't see a bicycle in 3 seconds."
    assert document["frames"] >= 1
