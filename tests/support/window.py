"""Shared pieces for the window tests: a pipeline factory on fakes, injected via bootstrap."""
from __future__ import annotations

import numpy as np

from assistant.config import Config
from tests.support import DATA
from tests.support.fakes import (
    FakeCamera,
    FakeMicrophone,
    RecordingSpeaker,
    ScriptedAsr,
    ScriptedTts,
    ScriptedVlm,
)
from ui.bootstrap import Parts, bootstrap


def street_images() -> list[np.ndarray]:
    """The test photo (and a darker copy) as BGR frames, so previews and thumbnails are real."""

    import cv2

    image = cv2.imread(str(DATA / "extreme_ironing.jpg"))
    image = cv2.resize(image, (320, int(320 * image.shape[0] / image.shape[1])))
    return [image, (image * 0.8).astype(np.uint8)]


class FakeFactory:
    """pipeline_factory(config) -> Pipeline on fakes; keeps the parts for the test to drive."""

    def __init__(self, tokens=None, token_s: float = 0.0, fail: Exception | None = None,
                 mic_speed: float = 2.0, finder=None) -> None:
        self.tokens = tokens
        self.finder = finder  # watch mode's finder (None: the real offline one)
        self.token_s = token_s
        self.fail = fail
        self.mic_speed = mic_speed
        self.parts: dict = {}
        self.configs: list[Config] = []
        self.asked_parts = Parts()

    def __call__(self, config: Config, parts: Parts | None = None):
        """`parts`: what the window asks for when the user went without a device."""
        self.configs.append(config)
        self.asked_parts = parts or Parts()
        if self.fail is not None:
            raise self.fail
        vlm = ScriptedVlm(tokens=self.tokens, token_s=self.token_s) if self.tokens \
            else ScriptedVlm(token_s=self.token_s)
        self.parts = dict(mic=FakeMicrophone(speed=self.mic_speed),
                          camera=FakeCamera(street_images()), asr=ScriptedAsr(), vlm=vlm,
                          tts=ScriptedTts(), speaker=RecordingSpeaker())
        return bootstrap(config, parts=self.asked_parts, finder=self.finder, **self.parts)


class Steps:
    """Drive a real window from a script on its own event loop (no nested waits).

    `script` is a generator that yields `(condition, timeout_s)`: the next step runs once
    `condition()` is true; a condition still false after its timeout ends the run with
    `result["error"]` saying which step. Call `run()` (returns True when the script finished)."""

    def __init__(self, qapp, script, result: dict, poll_ms: int = 10) -> None:
        from PySide6.QtCore import QTimer

        self.qapp, self.script, self.result = qapp, script, result
        self.step = 0
        self.condition, timeout = next(script)
        self.deadline = _monotonic() + timeout
        self.timer = QTimer()
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self._advance)

    def _advance(self) -> None:
        try:
            if self.condition():
                self.step += 1
                self.condition, timeout = next(self.script)
                self.deadline = _monotonic() + timeout
            elif _monotonic() > self.deadline:
                self.result["error"] = f"step {self.step} did not come within its time"
                self.qapp.quit()
        except StopIteration:
            self.qapp.quit()
        except Exception as exc:  # noqa: BLE001 - reported in the result, the run ends
            import traceback

            self.result["error"] = f"step {self.step} failed: {exc!r}\n{traceback.format_exc()}"
            self.qapp.quit()

    def run(self) -> bool:
        self.timer.start()
        self.qapp.exec()
        self.timer.stop()
        return "error" not in self.result


def _monotonic() -> float:
    import time

    return time.monotonic()


class DialogWatch:
    """Counts every dialog (message boxes included) the application shows, with its title and
    text: installed as an application-wide event filter."""

    def __init__(self, qapp) -> None:
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtWidgets import QDialog, QMessageBox

        self.shown: list[dict] = []
        watch = self

        class _Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt API
                if event.type() == QEvent.Show and isinstance(obj, QDialog) and obj.isWindow():
                    text = obj.text() if isinstance(obj, QMessageBox) else ""
                    watch.shown.append({"class": type(obj).__name__,
                                        "title": obj.windowTitle(), "text": text})
                return False

        self._filter = _Filter()
        qapp.installEventFilter(self._filter)

    def titles(self) -> list[str]:
        return [d["title"] for d in self.shown]


def grab_window(widget, path) -> str:
    """What the X server shows of `widget`'s window, as a PNG at `path`."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not widget.screen().grabWindow(widget.winId()).save(str(path)):
        raise RuntimeError(f"could not save {path}")
    return str(path)
