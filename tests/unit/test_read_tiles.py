"""The fine pass's geometry and merging without the OCR models: tiles that cover a picture
with their overlap, why a picture is tiled, one quad per line across tile overlaps, and one
reading per line across the two scales."""
from __future__ import annotations

import numpy as np

from vision.reading import tiles as rt
from vision.perception.ocr import OcrLine


def _quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def test_tiles_cover_the_picture_and_overlap():
    tiles = rt.grid(4000, 2667)
    assert len(tiles) == 35
    covered = np.zeros((2667, 4000), bool)
    for x0, y0, x1, y1 in tiles:
        assert x1 - x0 == rt.TILE and y1 - y0 == rt.TILE
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    xs = sorted({t[0] for t in tiles})
    assert min(b - a for a, b in zip(xs, xs[1:])) <= rt.TILE - rt.OVERLAP
    assert rt.grid(500, 300) == [(0, 0, 500, 300)]


def test_a_page_that_reads_in_full_is_not_tiled_and_a_scene_is():
    lines = [_quad(100, 100 + 60 * i, 1500, 140 + 60 * i) for i in range(5)]  # 40 px lines
    prob = np.zeros((160, 240), np.float32)
    assert rt.tile_reason(lines, prob, (1600, 2400)) == ""
    assert rt.tile_reason(lines[:2], prob, (1600, 2400)) == "few lines"
    assert rt.tile_reason(lines + [_quad(10, 10, 90, 30)], prob, (1600, 2400)) == "small lines"
    prob[150:153, 200:203] = 0.9  # ink the detector saw outside every line
    assert rt.tile_reason(lines, prob, (1600, 2400)) == "unseen ink"


def test_a_line_in_a_tile_overlap_is_kept_once_and_whole():
    whole = _quad(700, 100, 900, 130)
    cut = _quad(700, 100, 768, 130)  # the same line where the left tile ends
    other = _quad(1200, 400, 1300, 430)
    kept = rt.dedupe_quads([(cut, True), (whole, False), (other, False)])
    assert len(kept) == 2 and any(np.array_equal(q, whole) for q in kept)


def test_readings_of_one_line_at_two_scales_merge_to_the_surer_one():
    coarse = [OcrLine("Bosh", 0.62, (100, 100, 160, 112)),
              OcrLine("Take two tablets", 0.97, (100, 300, 400, 330))]
    fine = [OcrLine("Bosch", 0.96, (98, 99, 161, 113)),  # the same word, surer
            OcrLine("tablets", 0.90, (300, 302, 398, 329)),  # a piece of a coarse line
            OcrLine("Noctua", 0.95, (900, 100, 980, 112))]  # found only by the fine pass
    merged = rt.merge_lines(coarse, fine)
    assert sorted(ln.text for ln in merged) == ["Bosch", "Noctua", "Take two tablets"]
    # overlapping boxes with different words are two lines
    assert len(rt.merge_lines([OcrLine("EXIT", 0.9, (0, 0, 100, 40))],
                              [OcrLine("12V", 0.9, (10, 5, 60, 35))])) == 2


def test_the_budget_stops_the_tiles_and_says_it_was_the_budget():
    seen = []

    def detect(tile):
        seen.append(tile.shape)
        return []

    picture = np.zeros((1600, 2400, 3), np.uint8)
    tiles = rt.grid(2400, 1600)
    spent = rt.Budget(None, 0.0)  # nothing left: not one tile
    assert rt.detect_tiles(detect, picture, tiles, spent) == ([], 0) and spent.expired
    unlimited = rt.Budget(None, None)
    assert rt.detect_tiles(detect, picture, tiles, unlimited)[1] == len(tiles)
    assert not unlimited.expired
    asked = rt.Budget(lambda: True, None)  # a new question: stopped, but not for lack of time
    assert rt.detect_tiles(detect, picture, tiles, asked)[1] == 0 and not asked.expired


def test_the_most_detailed_tiles_come_first():
    coarse = np.full((400, 600, 3), 128, np.uint8)
    coarse[300:400, 500:600] = (np.indices((100, 100)).sum(0) % 2 * 255)[:, :, None]  # busy
    coarse[0:40, 0:60:4] = 0  # a little detail in the first tile
    tiles = rt.grid(600, 400, tile=200, overlap=0)
    chosen = rt.choose_tiles(coarse, tiles, 1.0)
    assert chosen[0] == (400, 200, 600, 400) and chosen[1] == (0, 0, 200, 200)
    assert len(chosen) == 2  # the flat ones are skipped
