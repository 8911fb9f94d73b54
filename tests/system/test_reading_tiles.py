"""Small print in a large photo, with the real OCR weights: a 24 MP photo with four brand names
on small labels (cap height about 15 px, under the whole-picture pass's limit of about 21 px),
read without and with the fine pass on tiles; and a normal page, which is not tiled and reads
as before."""
from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from ui.bench.kit.read_pages import make_large_photo
from vision.reading.reader import Reader

pytestmark = pytest.mark.system

TEXT = Path(__file__).parents[1] / "data" / "text"


@pytest.fixture(scope="module")
def photo():
    return make_large_photo(20)


@pytest.fixture(scope="module")
def readers() -> dict[str, Reader]:
    # no time budget: these tests check what the fine pass finds, on a machine of any speed
    out = {"tiles": Reader("auto", tile_budget_s=None), "whole": Reader("auto", tiles=False)}
    for reader in out.values():
        reader.load()
    return out


def _found(text: str, words) -> list[str]:
    return [w for w in words if w in text.split()]


def test_without_tiles_small_print_in_a_large_photo_is_lost(readers, photo):
    picture, words = photo
    result = readers["whole"].read(picture)
    assert result.tiles == 0
    assert len(_found(result.text, words)) < len(words), result.text
    print("whole picture only:", _found(result.text, words), result.timings_ms)


def test_with_tiles_every_word_is_read_once_in_reading_order(readers, photo):
    picture, words = photo
    result = readers["tiles"].read(picture)
    assert result.tiles > 0
    assert [ln.text for ln in result.lines] == list(words), result.text
    assert result.rotation == 0 and abs(result.skew) < 2.0
    print("with tiles:", result.tiles, "tiles", result.timings_ms)


def test_a_turned_large_photo_is_read_upright_from_its_tiles(readers, photo):
    picture, words = photo
    result = readers["tiles"].read(cv2.rotate(picture, cv2.ROTATE_90_CLOCKWISE))
    assert result.rotation == 90 and result.tiles > 0
    assert [ln.text for ln in result.lines] == list(words), result.text


def test_stop_ends_the_fine_pass_after_the_tiles_read_so_far(readers, photo):
    picture, words = photo
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3  # three tiles, then a new question comes in

    result = readers["tiles"].read(picture, stop=stop)
    assert result.tiles == 3
    assert len(_found(result.text, words)) < len(words), result.text


def test_the_time_budget_ends_the_close_look_and_the_answer_says_so(photo):
    """A half-second budget cannot cover 30-odd tiles on any CPU: the reading ends with what
    was found and says how much of the picture was looked at closely."""
    picture, _words = photo
    reader = Reader("auto", tile_budget_s=0.5)
    result = reader.read(picture)
    assert result.tiles_left > 0 and result.tiles + result.tiles_left <= 40
    said = result.sentences()
    assert said[-1].startswith(("I looked closely at", "I had no time to look closely")), said
    assert said[-1].endswith("move closer to the text."), said
    print("budget 0.5 s:", result.tiles, "tiles read,", result.tiles_left, "left;", said[-1])


def test_a_normal_page_is_not_tiled_and_reads_as_before(readers):
    page = cv2.imread(str(TEXT / "page.jpg"))
    before = readers["whole"].read(page)
    now = readers["tiles"].read(page)
    assert now.tiles == 0 and "tiles" not in now.timings_ms
    assert now.lines == before.lines and now.engine == before.engine
    assert now.text.startswith("Region-based segmentation")


class RecordingReader(Reader):
    """The real reader, keeping its last result so the test can see how many tiles it read."""

    last = None

    def read(self, image_bgr, *, stop=None):
        self.last = super().read(image_bgr, stop=stop)
        return self.last


def test_a_new_question_stops_read_mode_before_the_tiles(photo):
    from assistant.events import Frame, Mode
    from assistant.ports import VlmRequest
    from assistant.stage import CancelToken, Generation
    from vision.answer.describer import Describer
    from vision.perception.analyze import Perception

    reader = RecordingReader("rapidocr")
    engine = Describer(Perception(faces=False, persons=False, labels=False), reader=reader)
    generation = Generation()
    token = CancelToken(generation, generation.value)
    generation.bump()  # the user asked something else
    frame = Frame(image=photo[0], captured_at=1.0, source="photo")
    said = list(engine.stream(VlmRequest("", frame, Mode.READ), token))
    assert said == [] and reader.last is not None and reader.last.tiles == 0
