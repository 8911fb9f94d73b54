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
from ui.bootstrap import bootstrap


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

    def __call__(self, config: Config):
        self.configs.append(config)
        if self.fail is not None:
            raise self.fail
        vlm = ScriptedVlm(tokens=self.tokens, token_s=self.token_s) if self.tokens \
            else ScriptedVlm(token_s=self.token_s)
        self.parts = dict(mic=FakeMicrophone(speed=self.mic_speed),
                          camera=FakeCamera(street_images()), asr=ScriptedAsr(), vlm=vlm,
                          tts=ScriptedTts(), speaker=RecordingSpeaker())
        return bootstrap(config, finder=self.finder, **self.parts)
