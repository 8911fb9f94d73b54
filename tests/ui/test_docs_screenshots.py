"""The documentation's screenshots show what Glimpse really says for their picture.

`docs/screenshots/answers.json` (written by tests/ui/window_screenshots.py from a real run of the
offline pack) names each answered screenshot's picture, questions and answers. Here the product
answers the same questions about the same picture again, through the same pipeline the window
runs (the offline describer, the picture folder as the camera), and must say the same; and the
screenshot itself, read back with Tesseract, must show those answers. A screenshot made on
scripted fakes ("I see a cat on a mat", on a street photo) fails both.
"""
from __future__ import annotations

import json
import queue
import re
import shutil

import pytest

from tests.support import ROOT

DOCS = ROOT / "docs" / "screenshots"
ANSWERS = DOCS / "answers.json"


def words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 3]


@pytest.fixture(scope="module")
def documented() -> dict:
    assert ANSWERS.exists(), "docs/screenshots/answers.json is missing: run window_screenshots"
    return json.loads(ANSWERS.read_text())


@pytest.fixture(scope="module")
def product_says(tmp_path_factory, documented):
    """What the product says now for each documented picture, asked in the window's order."""
    from assistant import events as ev
    from assistant.config import Config
    from ui.bootstrap import Parts, bootstrap

    said: dict[tuple, list[str]] = {}
    for entry in documented.values():
        key = (entry["picture"], tuple((t["mode"], t["question"]) for t in entry["turns"]))
        if key in said:
            continue
        folder = tmp_path_factory.mktemp("pictures")
        shutil.copy(ROOT / entry["picture"], folder / "picture.jpg")
        config = Config()
        for name, value in (("models.offline", True), ("vlm.backend", "describer"),
                            ("camera.source", str(folder)), ("tts.engine", "none")):
            config = config.with_value(name, value)
        pipeline = bootstrap(config, parts=Parts(audio_in=False, asr=False, speech_out=False,
                                                 playback=False))
        pipeline.start()
        answers = []
        try:
            assert pipeline.wait_ready(120)
            for mode, question in key[1]:
                pipeline.submit(ev.Describe() if mode == "describe" else ev.Ask(text=question))
                while True:
                    event = pipeline.events.get(timeout=120)
                    if isinstance(event, ev.ErrorEvent):
                        pytest.fail(event.message)
                    if isinstance(event, ev.TurnEnded):
                        answers.append(event.answer)
                        break
        except queue.Empty:
            pytest.fail("the pipeline did not answer within 120 s")
        finally:
            pipeline.stop(timeout=5.0)
        said[key] = answers
    return said


def test_every_answered_screenshot_is_documented(documented):
    shots = {p.name for p in DOCS.glob("window-answered-*.png")}
    assert shots and shots <= set(documented), shots - set(documented)


def test_the_product_still_says_what_the_screenshots_show(documented, product_says):
    for name, entry in documented.items():
        key = (entry["picture"], tuple((t["mode"], t["question"]) for t in entry["turns"]))
        assert [t["answer"] for t in entry["turns"]] == product_says[key], name


def test_the_screenshots_show_those_answers(documented):
    import pytesseract  # the test extra installs it: missing, the test fails
    from PIL import Image, ImageOps, ImageStat

    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is missing (Debian package tesseract-ocr)")
    for name, entry in documented.items():
        image = Image.open(DOCS / name).convert("L")
        if ImageStat.Stat(image).mean[0] < 128:  # high contrast: light text on black
            image = ImageOps.invert(image)
        image = image.resize((image.width * 2, image.height * 2), Image.LANCZOS)
        seen = set(words(pytesseract.image_to_string(image)))
        for turn in entry["turns"]:
            wanted = words(turn["answer"]) + words(turn["question"])
            found = [w for w in wanted if w in seen]
            # Tesseract misreads a word now and then (an apostrophe, a small font).
            assert len(found) >= 0.85 * len(wanted), (name, turn["answer"],
                                                      sorted(set(wanted) - seen))
