"""Read mode's fine pass: small print in a large photo, found on overlapping tiles.

The reader's whole-picture pass sees a photo at most `MAX_SIDE` (2400 px) long, and RapidOCR's
detector then works at 2000 px: a 6000x4000 photo is seen at a third of its size. Measured on
DejaVu Sans words on a blurred, JPEG-compressed 24 MP photo (`ui.bench.kit.read_pages.
make_large_photo`), the detector needs a cap height of about 7 px at the scale it works at
(6 px: nothing, not even a trace in its probability map), so words under about 21 px of cap
height in the photo are lost. Recognition is not the limit: a word the detector finds is read
right from a crop of the full-size photo.

So, when the picture is larger than `MAX_SIDE` and the whole-picture pass gives a reason
(`tile_reason`), the detector looks again at `FINE_SIDE` (twice its working size; caps of
about 10 px in a 6000 px photo) on overlapping tiles:

- **Reason.** Text too small leaves no trace in the coarse probability map, so the cheap test
  is what the coarse pass found: lines lower than `SMALL_LINE` (small print is about), ink in
  the probability map that did not become a line, or fewer than `DOC_LINES` lines (a scene, not
  a page, where labels and brand names are small). A page that reads in full at the coarse
  scale is not tiled; nor is any picture up to `MAX_SIDE`.
- **Tiles.** `TILE` px squares overlapping by `OVERLAP` px at the fine scale. The detector's
  cost per megapixel grows with the input (measured on 2 cores: about 0.4-0.6 s/MP for
  512-900 px tiles, 0.8 s at 1024, 1.3 s at 1536, 1.6 s at 2000), so tiles are small; the
  overlap holds a whole line of about 13 characters at the largest size the coarse pass
  misses, so such a line is whole in at least one tile. Flat tiles (nothing sharper than
  `FLAT` grey levels at `FLAT_PIXELS` coarse pixels: a wall, the sky) are skipped; at most
  `MAX_TILES`, the most detailed first. The caller's `stop()` is asked before every tile.
- **Budget.** A photo with detail everywhere (a textured scene, a 24 MP photo of a cup) and no
  small print has a reason to look and no flat tile: measured, 30 tiles and 47 s on a busy
  2-core machine, ten times the whole-picture pass. No cheap test found on the coarse picture
  tells print from texture (small print leaves no trace there), so the look is bounded by time
  instead: `BUDGET_S` seconds of tiles, the most detailed first, and the answer says how much
  of the picture was looked at closely (`Budget`).
- **Merge.** Lines the coarse pass found are left to it unless they are lower than
  `REREAD_LINE` (read from a few pixels, "Corsair" comes out "Corain"): those are read again
  from the full-size photo. A quad cut by an inner tile edge gives way to an overlapping one
  that is not cut, and of two overlapping quads the larger is kept (`dedupe_quads`). After
  recognition, overlapping lines of the two scales (`merge_lines`: the smaller box at least
  half inside the larger) with similar text are one line and the more confident reading is
  kept; a line whose text is a piece of the other's is dropped.

Tiles are taken in the picture as it is, before the page's angle is known: the detector finds
lines at any angle, and the fine quads then join the coarse ones in finding the angle and
turning the page upright, so one transform serves both scales. Pure functions; the reader calls
them on its own thread.
"""
from __future__ import annotations

import time
from difflib import SequenceMatcher
from typing import Callable, Sequence

import cv2
import numpy as np

from vision.perception.ocr import OcrLine, quad_box

#: Long side (px) the fine pass detects at: twice the detector's own 2000 px working size.
FINE_SIDE = 4000
#: Tile side and overlap in fine-scale pixels (see the module docstring for the measurements).
TILE, OVERLAP = 768, 160
#: Most tiles read in one picture (a 4000x2667 fine picture has 35).
MAX_TILES = 40
#: Seconds the fine pass may look at tiles (about 25 tiles on an idle 2-core machine).
BUDGET_S = 8.0
#: A tile with fewer than FLAT_PIXELS coarse pixels that stand out from their surroundings by
#: FLAT grey levels (high-pass) holds no print. Measured on the 24 MP test photo: a tile with a
#: label holds hundreds, the smooth blur of a background a handful (0 to 6).
FLAT, FLAT_PIXELS = 20.0, 16
#: Lines lower than this (coarse pixels) are small print: more may be hiding. The reader's
#: own second look (`vision.reading.reader.SMALL_LINE`) uses the same height.
SMALL_LINE = 32
#: Coarse lines lower than this (coarse px) that the fine pass finds too are read again from
#: the full-size picture. The detector's box holds padding and labels: on the turned test
#: photo 31-35 px boxes held 6 px capitals ("Corsair" read "Corain").
REREAD_LINE = 1.5 * SMALL_LINE
#: Fewer coarse lines than this: a scene, not a page.
DOC_LINES = 3
#: Text similarity at which two overlapping readings are the same line.
SAME_TEXT = 0.6


def line_height(quad: np.ndarray) -> float:
    return float(min(np.hypot(*(quad[1] - quad[0])), np.hypot(*(quad[2] - quad[1]))))


def tile_reason(quads: Sequence[np.ndarray], prob: np.ndarray | None,
                shape: tuple[int, ...]) -> str:
    """Why the coarse pass (its quads and probability map, on a picture of `shape`) calls for
    tiles: "small lines", "unseen ink", "few lines", or "" for none."""
    if len(quads) < DOC_LINES:
        return "few lines"
    if any(line_height(q) < SMALL_LINE for q in quads):
        return "small lines"
    if prob is not None and unresolved_ink(quads, prob, shape):
        return "unseen ink"
    return ""


def unresolved_ink(quads: Sequence[np.ndarray], prob: np.ndarray, shape: tuple[int, ...],
                   thresh: float = 0.3, min_area: int = 4) -> int:
    """How many blobs of the probability map (over `thresh`, at least `min_area` map pixels)
    lie outside every detected quad."""
    h, w = shape[:2]
    ph, pw = prob.shape
    ink = (prob > thresh).astype(np.uint8)
    for q in quads:
        cv2.fillPoly(ink, [np.round(q * [pw / w, ph / h]).astype(np.int32)], 0)
    _n, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] >= min_area).sum())


def grid(width: int, height: int, tile: int = TILE, overlap: int = OVERLAP
         ) -> list[tuple[int, int, int, int]]:
    """Overlapping (x0, y0, x1, y1) tiles covering a `width` x `height` picture."""
    def starts(n: int) -> list[int]:
        if n <= tile:
            return [0]
        step = tile - overlap
        count = int(np.ceil((n - tile) / step)) + 1
        return sorted({min(i * step, n - tile) for i in range(count)})
    return [(x, y, min(x + tile, width), min(y + tile, height))
            for y in starts(height) for x in starts(width)]


class Budget:
    """The fine pass's `stop()`: the caller's stop (a new question), or the time budget spent
    (`expired` then says so). `seconds` None: no limit."""

    def __init__(self, stop: Callable[[], bool] | None, seconds: float | None) -> None:
        self.stop = stop
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.expired = False

    def __call__(self) -> bool:
        if self.stop is not None and self.stop():
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.expired = True
        return self.expired


def choose_tiles(coarse_bgr: np.ndarray, tiles: Sequence[tuple[int, int, int, int]],
                 scale: float, limit: int = MAX_TILES) -> list[tuple[int, int, int, int]]:
    """The tiles worth reading, the most detailed first: not flat, at most `limit`. `scale`
    maps fine-tile pixels to `coarse_bgr` pixels."""
    grey = cv2.cvtColor(coarse_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 2.0))
    scored = []
    for i, (x0, y0, x1, y1) in enumerate(tiles):
        region = detail[int(y0 * scale):max(int(np.ceil(y1 * scale)), int(y0 * scale) + 1),
                        int(x0 * scale):max(int(np.ceil(x1 * scale)), int(x0 * scale) + 1)]
        score = int((region > FLAT).sum())
        if score >= FLAT_PIXELS:
            scored.append((score, i))
    return [tiles[i] for _s, i in sorted(scored, key=lambda si: (-si[0], si[1]))[:limit]]


def detect_tiles(detect: Callable[[np.ndarray], list[np.ndarray]], fine_bgr: np.ndarray,
                 tiles: Sequence[tuple[int, int, int, int]],
                 stop: Callable[[], bool] | None = None) -> tuple[list[np.ndarray], int]:
    """Quads (fine pixels) found on the tiles, duplicates from the overlaps removed, and how
    many tiles were read before `stop()` said enough."""
    h, w = fine_bgr.shape[:2]
    found: list[tuple[np.ndarray, bool]] = []
    done = 0
    for x0, y0, x1, y1 in tiles:
        if stop is not None and stop():
            break
        done += 1
        for q in detect(fine_bgr[y0:y1, x0:x1]):
            bx0, by0, bx1, by1 = quad_box(q)
            cut = (bx0 <= 2 and x0 > 0) or (by0 <= 2 and y0 > 0) or \
                (bx1 >= x1 - x0 - 2 and x1 < w) or (by1 >= y1 - y0 - 2 and y1 < h)
            found.append((q + np.float32([x0, y0]), cut))
    return dedupe_quads(found), done


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box's area: 1 when one box holds the other."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min(max(a[2] - a[0], 1) * max(a[3] - a[1], 1),
                max(b[2] - b[0], 1) * max(b[3] - b[1], 1))
    return ix * iy / small


def dedupe_quads(found: Sequence[tuple[np.ndarray, bool]], min_overlap: float = 0.5
                 ) -> list[np.ndarray]:
    """One quad per line: uncut before cut, larger before smaller; a quad that overlaps a kept
    one by `min_overlap` (of the smaller box) is the same line seen again."""
    ranked = sorted(found, key=lambda f: (f[1], -_area(quad_box(f[0]))))
    kept: list[np.ndarray] = []
    for quad, _cut in ranked:
        box = quad_box(quad)
        if all(overlap(box, quad_box(k)) < min_overlap for k in kept):
            kept.append(quad)
    return kept


def _area(box: tuple[int, int, int, int]) -> int:
    return max(box[2] - box[0], 0) * max(box[3] - box[1], 0)


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def similarity(a: str, b: str) -> tuple[float, float]:
    """(whole, part): how alike two readings are as a whole, and how well the shorter matches
    the best stretch of the longer (case, spaces and punctuation ignored)."""
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return 0.0, 0.0
    whole = SequenceMatcher(None, a, b).ratio()
    short, long_ = sorted((a, b), key=len)
    part = max(SequenceMatcher(None, short, long_[i:i + len(short)]).ratio()
               for i in range(len(long_) - len(short) + 1))
    return whole, part


def merge_lines(coarse: Sequence[OcrLine], fine: Sequence[OcrLine],
                min_overlap: float = 0.5) -> list[OcrLine]:
    """The coarse lines and the fine ones, each line once. Two lines overlap when the smaller
    box is at least `min_overlap` inside the larger; overlapping lines with similar text are
    one line (the more confident reading stays); a line that reads as a piece of an
    overlapping longer one goes."""
    lines = list(coarse)
    for line in fine:
        add = True
        for i, other in enumerate(lines):
            if overlap(line.box, other.box) < min_overlap:
                continue
            whole, part = similarity(line.text, other.text)
            if whole >= SAME_TEXT:
                if line.confidence > other.confidence:
                    lines[i] = line
                add = False
                break
            if part >= SAME_TEXT:
                if len(_norm(line.text)) > len(_norm(other.text)):
                    lines[i] = line
                add = False
                break
        if add:
            lines.append(line)
    return lines
