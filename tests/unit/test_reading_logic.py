"""Read mode's logic without the OCR models: orientation from line angles, reading order with
columns, word spaces from the ink of really rendered text, joined lines, cut-off edges."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ui.bench.kit.read_pages import PageSpec, font_path, make_page
from vision.perception.ocr import (OcrLine, RapidOcrEngine, chunk_strip, cut_edges, ink_columns,
                        segment_words, split_words)
from vision.reading.reader import (ReadResult, Reader, join_lines, reading_order, rotate, text_angle,
                            upright_quad)


def _quad(cx: float, cy: float, length: float, height: float, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    d = np.array([math.cos(a), math.sin(a)]) * length / 2
    n = np.array([-math.sin(a), math.cos(a)]) * height / 2
    c = np.array([cx, cy])
    return np.array([c - d - n, c + d - n, c + d + n, c - d + n], dtype=np.float32)


@pytest.mark.parametrize("degrees", [0, 7, -20, 90, 97, -80])
def test_text_angle_is_the_line_direction_modulo_a_half_turn(degrees):
    quads = [_quad(300, 100 + 40 * i, 400 - 30 * i, 24, degrees) for i in range(4)]
    # a short, square-ish word must not sway the answer
    quads.append(_quad(50, 50, 26, 24, degrees + 45))
    found = text_angle(quads)
    diff = (found - degrees + 90) % 180 - 90
    assert abs(diff) < 0.5, (found, degrees)


def test_text_angle_without_line_shaped_boxes_is_none():
    assert text_angle([_quad(50, 50, 24, 24, 0)]) is None


def test_rotate_keeps_every_pixel_on_the_canvas():
    image = np.full((100, 300, 3), 200, np.uint8)
    image[:, :5] = 0  # a dark left edge
    turned, matrix = rotate(image, 90)
    assert turned.shape[:2] == (300, 100)
    corner = np.array([0, 0, 1.0]) @ matrix.T  # the top-left corner stays inside
    assert -0.5 <= corner[0] <= 100.5 and -0.5 <= corner[1] <= 300.5
    # the dark left edge is now at the bottom (counter-clockwise)
    assert turned[-4:].mean() < 50 and turned[:8].mean() > 150


def test_upright_quad_orders_corners():
    q = _quad(100, 100, 200, 20, 5)[[2, 0, 3, 1]]
    tl, tr, br, bl = upright_quad(q)
    assert tl[0] < tr[0] and tl[1] < bl[1] and br[0] > bl[0] and br[1] > tr[1]


def test_reading_order_reads_columns_left_to_right_then_rows():
    left = [OcrLine(f"L{i}", 0.9, (10, 20 + 30 * i, 200, 40 + 30 * i)) for i in range(3)]
    right = [OcrLine(f"R{i}", 0.9, (300, 25 + 30 * i, 500, 45 + 30 * i)) for i in range(3)]
    order = [ln.text for ln in reading_order(right[::-1] + left[::-1])]
    assert order == ["L0", "L1", "L2", "R0", "R1", "R2"]
    # one row of two words OCR'd as two boxes stays one row, left to right
    row = [OcrLine("EXIT", 0.9, (200, 10, 300, 40)), OcrLine("EMERGENCY", 0.9, (10, 12, 190, 42))]
    assert [ln.text for ln in reading_order(row)] == ["EMERGENCY", "EXIT"]


def test_join_lines_mends_hyphenated_breaks_only():
    assert join_lines(["a good exam-", "ple of it"]) == "a good example of it"
    assert join_lines(["well-", "Known"]) == "well- Known"
    assert join_lines(["first line", "", "second"]) == "first line second"


def test_sentences_say_when_unsure_and_keep_paragraphs():
    lines = (OcrLine("Region-based segmentation", 0.95, (0, 0, 250, 20)),
             OcrLine("Let us first determine markers of the coins and", 0.95, (0, 40, 500, 60)),
             OcrLine("the background of the pic-", 0.95, (0, 65, 480, 85)),
             OcrLine("ture is dark.", 0.95, (0, 90, 130, 110)))
    sure = ReadResult(lines, 500, 120)
    assert sure.sentences() == ["Region-based segmentation",
                                "Let us first determine markers of the coins and the "
                                "background of the picture is dark."]
    unsure = ReadResult(tuple(OcrLine(ln.text, 0.6, ln.box) for ln in lines), 500, 120)
    assert unsure.sentences()[0].startswith("I think it says: Region")
    assert ReadResult((), 10, 10).sentences() == ["I can't find any text."]
    cut = ReadResult(lines, 500, 120, cut_edges=("left",))
    assert cut.sentences()[0].startswith("Text is cut off at the left edge")


def _strip(text: str, size: int = 20, font: str = "DejaVuSerifCondensed.ttf"):
    """A rendered line and the x centre of each character (from the font's own advances)."""
    f = ImageFont.truetype(str(font_path(font)), size)
    w, h = int(f.getlength(text)) + 8, int(size * 1.4)
    image = Image.new("L", (w, h), 235)
    ImageDraw.Draw(image).text((4, 2), text, font=f, fill=20)
    centres = [4 + (f.getlength(text[:i]) + f.getlength(text[:i + 1])) / 2
               for i in range(len(text))]
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_GRAY2BGR), centres


def test_split_words_puts_back_missing_spaces_from_the_ink():
    truth = "of this data set are specified as follows"
    strip, centres = _strip(truth)
    glued = truth.replace(" ", "")
    glued_centres = [c for ch, c in zip(truth, centres) if ch != " "]
    ink = ink_columns(strip)
    assert split_words(glued, glued_centres, ink, strip.shape[0]) == truth
    # a line that kept some spaces teaches the gap width; the dropped ones are found with it
    dropped = {i for i, ch in enumerate(truth) if ch == " "}
    dropped = {sorted(dropped)[2], sorted(dropped)[4]}  # "data set", "specified as"
    partial = "".join(ch for i, ch in enumerate(truth) if i not in dropped)
    partial_centres = [c for i, c in enumerate(centres) if i not in dropped]
    assert " " in partial and partial != truth
    assert split_words(partial, partial_centres, ink, strip.shape[0]) == truth


def test_split_words_never_splits_a_letter_spaced_word():
    strip, centres = _strip("HIGHWAY", size=26, font="DejaVuSans.ttf")
    # letter-spacing: widen every gap evenly
    assert split_words("HIGHWAY", centres, ink_columns(strip), strip.shape[0]) == "HIGHWAY"
    wide = np.concatenate([np.concatenate([strip[:, int(a):int(b)], np.full_like(
        strip[:, :6], 235)], axis=1) for a, b in zip([0] + centres[:-1], centres + [9999])],
        axis=1)
    wide_centres = [c + 6 * i for i, c in enumerate(centres)]
    assert split_words("HIGHWAY", wide_centres, ink_columns(wide), wide.shape[0]) == "HIGHWAY"


def test_long_strips_are_cut_only_at_word_gaps():
    strip, centres = _strip("the rest of this data set are specified as follows in the manual")
    pieces = chunk_strip(strip)
    assert len(pieces) >= 2
    assert sum(p.shape[1] for p in pieces) == strip.shape[1]
    h = strip.shape[0]
    for piece in pieces[1:]:  # each cut lands in a blank gap
        assert not ink_columns(piece)[:2].any() or piece.shape[1] < h
    assert len(chunk_strip(strip[:, :h * 5])) == 1  # short strips stay whole


def test_cut_edges_only_where_ink_reaches_the_border():
    page = make_page(PageSpec("small", "small", canvas=2.0))
    h, w = page.shape[:2]
    # the whole page sits inside the frame: a box reaching near the edge is not "cut off"
    far = [np.array([[w * 0.25, h * 0.4], [w * 0.75, h * 0.4], [w * 0.75, h * 0.45],
                     [w * 0.25, h * 0.45]], np.float32)]
    assert cut_edges(page, far) == ()
    # crop the page through its text: ink now touches the left border
    cropped = make_page(PageSpec("upright", "upright"))[:, 60:]
    ch, cw = cropped.shape[:2]
    line = [np.array([[0, 28], [cw * 0.9, 28], [cw * 0.9, 58], [0, 58]], np.float32)]
    assert cut_edges(cropped, line) == ("left",)


def test_reader_rejects_an_unknown_engine():
    with pytest.raises(ValueError, match="ocr.engine"):
        Reader("paddle")


def test_the_dictionary_segmenter_only_adds_spaces():
    """The peer method `bench read --spacing` measures: wordninja's split of tokens that are
    not English words, characters kept as they are."""
    import wordninja  # noqa: F401 - required: a broken install fails here, never skips
    assert segment_words("ofthisdatasetarespecifiedasfollows,") == \
        "of this data set are specified as follows,"  # "dataset" is lost: the known weakness
    assert segment_words("Tofacilitate the shottype") == "To facilitate the shot type"
    assert segment_words("Region-based EXIT Kingston") == "Region-based EXIT Kingston"
    for text in ("ofthisdataset", "Hello,World!", "A4-sized 3.5mm"):
        assert segment_words(text).replace(" ", "") == text.replace(" ", "")
    with pytest.raises(ValueError):
        RapidOcrEngine(spacing="guess")


def test_a_spent_budget_is_said_after_the_text():
    line = OcrLine("Bosch", 0.95, (0, 0, 50, 10))
    read = ReadResult((line,), 100, 100, tiles=12, tiles_left=18)
    assert read.sentences()[-1] == ("I looked closely at 40% of the picture for small print; for "
                                    "the rest, move closer to the text.")
    assert ReadResult((), 100, 100, tiles=0, tiles_left=30).sentences() == [
        "I can't find any text.",
        "I had no time to look closely for small print; for that, move closer to the text."]
    assert ReadResult((line,), 100, 100, tiles=30).sentences() == ["Bosch"]


def test_tesseract_runs_with_one_thread_and_gives_its_word_table(tmp_path):
    """The tesseract program (when installed) through `tesseract_words`: the TSV as columns,
    and a clear error for a language it does not have."""
    import shutil

    from assistant.errors import ModelError
    from vision.perception.ocr import tesseract_words

    if shutil.which("tesseract") is None:
        from tests.support.rig import unavailable

        unavailable("the tesseract program is not installed (apt install tesseract-ocr)")
    spec = PageSpec("t", "upright", font="DejaVuSans.ttf", size=28)
    words = tesseract_words(make_page(spec))
    assert " ".join(w for w in words["text"] if w.strip()) == " ".join(spec.reference.split())
    assert all(isinstance(v, int) for v in words["left"])
    with pytest.raises(ModelError) as info:
        tesseract_words(make_page(spec), language="xx-none")
    assert "Tesseract could not read the picture" in info.value.message
