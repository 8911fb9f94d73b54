"""Watch mode end to end, for `glimpse bench find`: how long after a thing comes into view
Glimpse starts saying so.

The real pipeline (camera stage on a paced video file through OpenCV, the answer stage's watch
routing, the watch stage with the real offline finder, Piper, a WAV-file speaker) is asked
"tell me when you see a cup" while the clip shows the astronaut; the clip then cuts to the
coffee cup. The moment of the cut is taken from the camera's own preview frames (each is told
apart by its nearest photo), so it is the moment the camera delivered the first frame with the
cup. Per cycle: cut -> Sighting (the finder is sure), and cut -> first speech queued (Piper's
first piece of "I see a cup, ..."). Goal: speaking within 1 s.
"""
from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from assistant import events as ev

SCENES = ("astronaut", "coffee")
BEFORE_S, SHOWN_S = 5.0, 3.0
SIZE = (640, 480)


def _photo(name: str) -> np.ndarray:
    import skimage.data

    image = cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR)
    return cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA)


def _clip(path: Path, fps: float = 15.0) -> Path:
    """The astronaut for BEFORE_S, then the cup for SHOWN_S (with slight noise); the camera
    loops it, so a cycle starts at every cut back to the astronaut, however long loading took."""
    rng = np.random.default_rng(5)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    try:
        for name, seconds in zip(SCENES, (BEFORE_S, SHOWN_S)):
            base = _photo(name).astype(np.int16)
            for _ in range(int(fps * seconds)):
                noise = rng.integers(-3, 4, base.shape, dtype=np.int16)
                writer.write(np.clip(base + noise, 0, 255).astype(np.uint8))
    finally:
        writer.release()
    return path


class _Scenes:
    def __init__(self) -> None:
        self.refs = {name: self._thumb(_photo(name)) for name in SCENES}

    @staticmethod
    def _thumb(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, (32, 24), interpolation=cv2.INTER_AREA).astype(np.float32)

    def __call__(self, image: np.ndarray) -> str:
        thumb = self._thumb(image)
        return min(self.refs, key=lambda n: float(np.abs(self.refs[n] - thumb).mean()))


def measure(folder: Path, cycles: int) -> list[dict[str, Any]]:
    """One row per cycle: seconds from the cut to the sighting and to the first speech."""
    from assistant.config import Config
    from audio.playback.file_speaker import WavFileSpeaker
    from ui.bootstrap import Parts, bootstrap
    from vision.camera.capture import OpenCVCamera

    clip = _clip(folder / "watch.mp4")
    config = Config()
    for key, value in (("models.offline", True), ("vlm.backend", "describer"),
                       ("earcons.enabled", False), ("tts.voice", "piper:en_US-joe-medium"),
                       ("camera.source", str(clip))):
        config = config.with_value(key, value)
    camera = OpenCVCamera(str(clip), SIZE[0], SIZE[1], loop=True)
    pipeline = bootstrap(config, parts=Parts(audio_in=False, asr=False), camera=camera,
                         speaker=WavFileSpeaker(folder / "said.wav"))
    seen: queue.Queue[ev.Event] = queue.Queue()
    pipeline.add_listener(seen.put)
    scene = _Scenes()
    shown: list[tuple[float, str]] = []
    rows: list[dict[str, Any]] = []

    def next_event(predicate, timeout: float) -> ev.Event:
        deadline = ev.now() + timeout
        while ev.now() < deadline:
            try:
                event = seen.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(event, ev.Preview):
                shown.append((event.captured_at, scene(event.image)))
            if predicate(event):
                return event
        raise TimeoutError("watch mode did not answer in time")

    pipeline.start()
    try:
        pipeline.wait_ready(300)
        for _ in range(cycles):
            # At a fresh cut to the astronaut (previews queued while loading are too old).
            next_event(lambda e: isinstance(e, ev.Preview) and len(shown) > 1
                       and shown[-1][1] == "astronaut" and shown[-2][1] == "coffee"
                       and ev.now() - e.captured_at < 1.0, 2 * (BEFORE_S + SHOWN_S) + 30)
            pipeline.submit(ev.Ask(text="Tell me when you see a cup."))
            sighting = next_event(lambda e: isinstance(e, ev.Sighting), BEFORE_S + 15)
            speech = next_event(lambda e: isinstance(e, ev.SpeechChunk) and e.turn_id == 0
                                and e.samples.size > 0, 15)
            before = [t for t, name in shown if name == "astronaut" and t < sighting.captured_at]
            after = [t for t, name in shown if name == "coffee"
                     and (not before or t > before[-1])]
            cut = min(after) if after else sighting.captured_at
            rows.append({"cut_to_sighting_s": round(sighting.t - cut, 3),
                         "cut_to_first_speech_s": round(speech.t - cut, 3),
                         "frames_looked_at": sighting.frames, "said": sighting.message})
    finally:
        pipeline.stop(5)
    return rows
