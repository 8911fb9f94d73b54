"""Read mode with the real OCR weights (RapidOCR's PP-OCRv4 from its package, Debian's
Tesseract): generated pages turned, tilted and small, a real photo of a page, word spaces, and
`glimpse describe --mode read` as a user runs it, bad pictures included."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from ui.bench.kit.read_pages import CASES, make_page
from ui.bench.kit.scoring import wer
from vision.perception.ocr import RapidOcrEngine, tesseract_status
from vision.reading.reader import Reader
from tests.support import ROOT

pytestmark = pytest.mark.system

TEXT = Path(__file__).parents[1] / "data" / "text"
SPECS = {spec.name: spec for spec in CASES}
# Tesseract is optional for users, but CI installs it (GLIMPSE_REQUIRE_RIG=1): there a missing
# Tesseract fails these tests instead of skipping them.
needs_tesseract = pytest.mark.skipif(
    not tesseract_status()[0] and os.environ.get("GLIMPSE_REQUIRE_RIG") != "1",
    reason=tesseract_status()[1])


@pytest.fixture(scope="module")
def rapid_reader() -> Reader:
    reader = Reader("rapidocr")
    reader.load()
    return reader


@pytest.mark.parametrize("name,rotation", [("rot90", 90), ("rot180", 180), ("rot270", 270),
                                           ("tilt-20", 0), ("rot90+tilt10", 90)])
def test_turned_and_tilted_pages_read_in_order(rapid_reader, name, rotation):
    spec = SPECS[name]
    result = rapid_reader.read(make_page(spec))
    assert result.rotation == rotation
    assert abs(result.skew - spec.tilt) < 2.0, result.skew
    assert wer(spec.reference, result.text) <= 0.10, result.text
    # the lines come in the page's order, not shuffled
    first_words = [line.split()[0] for line in spec.reference.splitlines()]
    assert [ln.text.split()[0] for ln in result.lines] == first_words


@pytest.mark.parametrize("name", ["small-14px", "small-in-frame"])
def test_small_print_is_read(rapid_reader, name):
    spec = SPECS[name]
    result = rapid_reader.read(make_page(spec))
    assert wer(spec.reference, result.text) <= 0.10, result.text
    # a whole page that is only small in the frame is not "cut off"
    assert result.cut_edges == ()


def test_words_keep_their_spaces_on_a_tightly_set_line():
    """A condensed serif line where the recognizer alone runs words together."""
    spec = SPECS["upright-condensed"]
    page = make_page(spec)
    engine = RapidOcrEngine()
    lines = engine.read(page)
    words = " ".join(ln.text for ln in sorted(lines, key=lambda ln: ln.box[1])).split()
    assert wer(spec.reference, " ".join(words)) <= 0.05
    assert max(len(w) for w in words) <= 12, words  # no "ofthisdataset"


def test_a_real_photo_of_a_page(rapid_reader):
    reference = (TEXT / "page.txt").read_text()
    result = Reader("auto")
    result.load()
    read = result.read(cv2.imread(str(TEXT / "page.jpg")))
    assert wer(reference, read.text) <= 0.20, read.text
    assert read.text.startswith("Region-based segmentation")
    plain = rapid_reader.read(cv2.imread(str(TEXT / "page.jpg")))
    assert wer(reference, plain.text) <= 0.35, plain.text


@needs_tesseract
def test_auto_uses_tesseract_for_a_turned_document_and_rapidocr_for_a_sign():
    reader = Reader("auto")
    reader.load()
    spec = SPECS["rot270"]
    doc = reader.read(make_page(spec))
    assert doc.engine == "tesseract" and doc.rotation == 270
    assert wer(spec.reference, doc.text) <= 0.05, doc.text
    sign = reader.read(cv2.imread(str(TEXT / "exit_sign.jpg")))
    assert sign.engine == "rapidocr" and sign.text.split() == ["EMERGENCY", "EXIT"]


def test_warm_read_of_one_page_is_timed(rapid_reader):
    """The goal is 1 s on an idle 2-core machine; the bound here only catches a regression of
    several times (shared CI machines are slow), and the time is printed."""
    page = make_page(SPECS["upright-serif"])
    rapid_reader.read(page)
    t0 = time.perf_counter()
    result = rapid_reader.read(page)
    seconds = time.perf_counter() - t0
    print(f"warm read: {seconds:.2f} s {result.timings_ms}")
    assert seconds < 30


def test_without_tesseract_auto_reads_with_rapidocr_and_says_how_to_add_it(monkeypatch, tmp_path):
    from assistant.errors import ModelError

    monkeypatch.setenv("PATH", str(tmp_path))  # a machine where `tesseract` is not installed
    reader = Reader("auto")
    reader.load()
    assert reader.tesseract is None and "apt install tesseract-ocr" in reader.note
    spec = SPECS["upright-sans"]
    result = reader.read(make_page(spec))
    assert result.engine == "rapidocr" and wer(spec.reference, result.text) <= 0.05
    with pytest.raises(ModelError, match="ocr.engine is tesseract, but tesseract is not"):
        Reader("tesseract").load()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=240,
                          env={"GLIMPSE_CONFIG_DIR": "/nonexistent-glimpse-config",
                               "PATH": "/usr/bin:/bin", "HOME": str(ROOT),
                               # describe keeps its answers in history: the test's own folder
                               "GLIMPSE_DATA_DIR": os.environ["GLIMPSE_DATA_DIR"]})


def test_cli_reads_several_pictures_and_tiny_or_huge_ones(tmp_path):
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((1, 1, 3), np.uint8))
    huge = tmp_path / "huge.jpg"
    page = make_page(SPECS["upright-sans"])
    canvas = np.full((4320, 7680, 3), 240, np.uint8)
    ph, pw = page.shape[:2]
    big = cv2.resize(page, (pw * 6, ph * 6), interpolation=cv2.INTER_CUBIC)
    canvas[1000:1000 + big.shape[0], 500:500 + big.shape[1]] = big
    cv2.imwrite(str(huge), canvas)
    done = run_cli("--set", "ocr.engine=rapidocr", "describe", "--mode", "read", "--json",
                   "--engine", "describer", "--image", str(tiny), str(huge))
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    assert docs[0]["text"] == "I can't find any text."
    assert wer(SPECS["upright-sans"].reference, docs[1]["reading"]["text"]) <= 0.05
    print("cold describe --mode read, two pictures:", docs[1]["total_seconds"], "s")


def test_cli_bad_pictures_are_one_clear_line(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path in (broken, empty, tmp_path / "missing.png"):
        done = run_cli("describe", "--mode", "read", "--engine", "describer", "--image", str(path))
        assert done.returncode == 1
        lines = [ln for ln in done.stderr.splitlines() if ln.startswith("glimpse:")]
        assert len(lines) >= 1 and "Traceback" not in done.stderr, done.stderr
        assert str(path.name) in lines[0]


def test_a_whole_page_with_narrow_margins_is_not_cut_off(rapid_reader):
    """The issue's page: a clean photo cropped close around the paragraph. The detector's
    padded boxes touch the frame, the ink does not: no "cut off" hint, in read mode or from
    the scene coach."""
    from vision.perception.analyze import Perception

    page = make_page(SPECS["upright-serif"])
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    rows, cols = np.where(grey < 128)
    tight = page[max(rows.min() - 3, 0):rows.max() + 4, max(cols.min() - 3, 0):cols.max() + 4]
    result = rapid_reader.read(tight)
    assert result.cut_edges == () and wer(SPECS["upright-serif"].reference, result.text) <= 0.05
    assert not any("cut off" in s for s in result.sentences())
    seen = Perception(faces=False, persons=False, labels=False).analyze(tight)
    assert seen.cut_edges == ()
    # cut through the words on the left: now it is cut off, and said so
    cut = rapid_reader.read(tight[:, 40:])
    assert "left" in cut.cut_edges


def test_the_describer_answers_read_mode_and_read_questions_with_the_reader(rapid_reader):
    from assistant.events import Frame, Mode
    from assistant.ports import VlmRequest
    from assistant.stage import CancelToken
    from vision.answer.describer import Describer
    from vision.perception.analyze import Perception

    engine = Describer(Perception(faces=False, persons=False, labels=False),
                       reader=rapid_reader)
    spec = SPECS["rot180"]
    frame = Frame(image=make_page(spec), captured_at=1.0, source="page")
    said = "".join(engine.stream(VlmRequest("", frame, Mode.READ), CancelToken.never()))
    # one paragraph, read the right way up, lines joined into running text
    assert said == " ".join(spec.reference.splitlines()), said
    asked = "".join(engine.stream(VlmRequest("what does it say?", frame, Mode.ASK),
                                  CancelToken.never()))
    assert wer(spec.reference, asked) <= 0.05, asked
