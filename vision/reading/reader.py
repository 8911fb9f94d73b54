"""Read mode: the text of a picture in reading order, with its spaces, whatever way up it is.

`Reader().read(image_bgr) -> ReadResult`. What it does, in order:

1. **Scale.** Pictures larger than `MAX_SIDE` are scaled down; small ones (long side under
   `SMALL_SIDE`) are scaled up, up to 3x; when the detected lines are still lower than
   `SMALL_LINE` pixels, the picture is scaled up again and the lines detected anew, so small
   print in a large frame keeps its word gaps.
   Larger pictures are also looked at on overlapping tiles at up to twice the detector's
   size when the whole-picture pass gives a reason (`vision.reading.tiles`: few lines, small
   lines, ink that became no line); lines found only there are read from the full-size
   picture and merged with the others (`Reader(tiles=False)`: one pass, as before).
2. **Find lines.** RapidOCR's detector finds text-line quads. Their long edges give the text's
   direction: a length-weighted mean of the doubled angles (so 5 deg and 185 deg agree), which is
   the skew plus any quarter turn. The picture is turned by that angle onto a larger canvas, so
   nothing is cut, and the quads with it.
3. **Upside down?** PP-OCR's small 0/180 classifier votes over the six longest lines, each
   vote weighted by its score (much cheaper than recognizing every line both ways).
4. **Recognize.** `ocr.engine = auto` uses Tesseract for a document (three or more long lines)
   when it is installed and RapidOCR otherwise, and for scene text; when Tesseract is unsure
   (mean confidence under `TESS_SURE`) or its lines cover less than `COVERED` of the detected
   text, the RapidOCR reading is made too and the stronger one (confidence times characters)
   wins.
   RapidOCR's missing word spaces are put back from the ink (`vision.perception.ocr.split_words`).
5. **Order.** In the upright frame: columns (separated by a blank strip wider than two line
   heights) left to right, rows top to bottom, left to right within a row.

`ReadResult.sentences()` is what read mode says: lines joined into running text (a word broken
by a hyphen at a line end is joined), paragraphs kept apart, "I think it says" first when the
mean confidence is under `UNSURE`, and "text cut off" only when ink really touches the picture's
edge (a whole page that is small in the frame is not cut off).

Threads: one `Reader` per thread; `load()` (RapidOCR, about a second) runs on that thread.
Coordinates in `ReadResult.lines` are pixels of the upright, scaled picture; times are ms.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import cv2
import numpy as np

from vision.perception.ocr import (OcrLine, RapidOcrEngine, TesseractEngine, crop_quad, cut_edges,
                        quad_box, tesseract_status)
from vision.reading import tiles as read_tiles
from vision.perception.analyze import fit
from vision.perception.analyze import reading_order as rows_in_order

ENGINES = ("auto", "rapidocr", "tesseract")
#: Longest side read; an 8K still is scaled to this (small print in a big photo survives).
MAX_SIDE = 2400
#: Pictures with a shorter long side are scaled up (at most 3x) before reading.
SMALL_SIDE = 1000
#: Detected lines lower than this (pixels) are looked at again, scaled up to this height.
SMALL_LINE = read_tiles.SMALL_LINE
#: Mean confidence under which read mode says "I think it says".
UNSURE = 0.80
#: Tesseract's mean line confidence under which RapidOCR reads the page too.
TESS_SURE = 0.80
#: A document has at least this many lines, with a median width/height of at least DOC_ASPECT.
DOC_LINES, DOC_ASPECT = 3, 6.0
#: Tesseract's lines must cover this share of the detected text, else RapidOCR reads too.
COVERED = 0.85


@dataclass(frozen=True)
class ReadResult:
    """What the reader found. `rotation` is the quarter turn (0, 90, 180, 270, clockwise) the
    picture was turned back by and `skew` the rest in degrees; `engine` the one whose text won."""

    lines: tuple[OcrLine, ...]
    width: int
    height: int
    rotation: int = 0
    skew: float = 0.0
    engine: str = "rapidocr"
    cut_edges: tuple[str, ...] = ()
    tiles: int = 0  # tiles of the fine pass read (0: one whole-picture pass)
    tiles_left: int = 0  # tiles worth reading that the time budget left unread
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def confidence(self) -> float:
        """Mean line confidence weighted by characters; 0 with no text."""
        weights = [len(line.text) for line in self.lines]
        if not sum(weights):
            return 0.0
        return float(np.average([line.confidence for line in self.lines], weights=weights))

    def paragraphs(self) -> list[str]:
        """Running text: lines joined, hyphenated line breaks mended, paragraphs apart (a gap
        of more than one line height, or a much shorter line before it)."""
        out: list[list[str]] = []
        prev: OcrLine | None = None
        widths = [ln.box[2] - ln.box[0] for ln in self.lines]
        full = float(np.percentile(widths, 90)) if widths else 0.0
        for line in self.lines:
            h = max(line.box[3] - line.box[1], 1)
            new = prev is None or line.box[1] - prev.box[3] > 1.0 * h or \
                line.box[3] < prev.box[1] or (
                    prev.box[2] - prev.box[0] < 0.6 * full and not prev.text.endswith("-"))
            if new:
                out.append([line.text])
            else:
                out[-1].append(line.text)
            prev = line
        return [join_lines(p) for p in out]

    def sentences(self, hints: bool = True) -> list[str]:
        """What read mode says, one piece per paragraph, hints first."""
        said: list[str] = []
        if hints:
            for edge in self.cut_edges:
                move = {"left": "left", "right": "right", "top": "up", "bottom": "down"}[edge]
                said.append(f"Text is cut off at the {edge} edge; move the camera {move} a "
                            "little or step back.")
        paragraphs = self.paragraphs()
        if not paragraphs:
            return said + ["I can't find any text."] + self._partial_look()
        if self.confidence < UNSURE:
            paragraphs[0] = "I think it says: " + paragraphs[0]
        return said + paragraphs + self._partial_look()

    def _partial_look(self) -> list[str]:
        if not self.tiles_left:
            return []
        looked = self.tiles / (self.tiles + self.tiles_left)
        if looked < 0.1:
            return ["I had no time to look closely for small print; for that, move closer to "
                    "the text."]
        return [f"I looked closely at {looked:.0%} of the picture for small print; for the "
                "rest, move closer to the text."]

    def as_dict(self) -> dict:
        return {"text": self.text, "engine": self.engine, "rotation": self.rotation,
                "skew": round(self.skew, 1), "confidence": round(self.confidence, 3),
                "width": self.width, "height": self.height, "cut_edges": list(self.cut_edges),
                "tiles": self.tiles, "tiles_left": self.tiles_left,
                "lines": [{"text": ln.text, "confidence": round(ln.confidence, 3),
                           "box": list(ln.box)} for ln in self.lines],
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}


def join_lines(lines: Sequence[str]) -> str:
    """One paragraph: "exam-" + "ple" -> "example"; other lines joined with a space."""
    text = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}" if text else line
    return text


# --------------------------------------------------------------------------- geometry


def text_angle(quads: Sequence[np.ndarray]) -> float | None:
    """The text's direction in degrees (-90, 90], clockwise on screen, or None when no line is
    clearly longer than high. 180 degrees apart is the same answer (see the flip check)."""
    total = 0j
    for quad in quads:
        e1, e2 = quad[1] - quad[0], quad[2] - quad[1]
        n1, n2 = float(np.hypot(*e1)), float(np.hypot(*e2))
        edge, long_, short = (e1, n1, n2) if n1 >= n2 else (e2, n2, n1)
        if long_ < 1.5 * max(short, 1.0):
            continue
        angle = math.atan2(float(edge[1]), float(edge[0]))
        total += long_ * complex(math.cos(2 * angle), math.sin(2 * angle))
    if abs(total) == 0:
        return None
    return math.degrees(math.atan2(total.imag, total.real) / 2)


def rotate(image: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """`image` turned counter-clockwise by `angle` degrees onto a canvas that holds all of it,
    the border filled with the picture's edge colour; and the 2x3 matrix used."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(round(h * sin + w * cos)), int(round(h * cos + w * sin))
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    fill = tuple(float(v) for v in np.median(border.reshape(-1, image.shape[2]), axis=0))
    out = cv2.warpAffine(image, matrix, (nw, nh), flags=cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return out, matrix


def upright_quad(quad: np.ndarray) -> np.ndarray:
    """Corner order top-left, top-right, bottom-right, bottom-left of a near-level quad."""
    s, d = quad.sum(axis=1), quad[:, 1] - quad[:, 0]
    return np.array([quad[s.argmin()], quad[d.argmin()], quad[s.argmax()], quad[d.argmax()]],
                    dtype=np.float32)


def _upright_order(quad: np.ndarray) -> list[int]:
    """The corner indices that `upright_quad` would pick, so a quad known in two frames can be
    put in the same order in both."""
    s, d = quad.sum(axis=1), quad[:, 1] - quad[:, 0]
    return [int(s.argmin()), int(d.argmin()), int(s.argmax()), int(d.argmax())]


def reading_order(lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Columns left to right (split by a blank vertical strip wider than two line heights that
    every line clears), rows top to bottom within a column, left to right within a row."""
    if not lines:
        return []
    height = float(np.median([max(ln.box[3] - ln.box[1], 1) for ln in lines]))
    spans = sorted((ln.box[0], ln.box[2]) for ln in lines)
    columns: list[list[float]] = []
    for x0, x1 in spans:
        if columns and x0 <= columns[-1][1] + 2 * height:
            columns[-1][1] = max(columns[-1][1], x1)
        else:
            columns.append([x0, x1])
    out: list[OcrLine] = []
    for x0, x1 in columns:
        inside = [ln for ln in lines if ln.box[0] >= x0 - 1 and ln.box[2] <= x1 + 1]
        out.extend(rows_in_order(inside))
    return out


# --------------------------------------------------------------------------- the reader


class Reader:
    """Reads a picture's text upright and in order. `engine`: auto | rapidocr | tesseract.

    `threads` caps ONNX Runtime's threads (0: its default, all cores). `tiles`: look for small
    print in pictures larger than `MAX_SIDE` on tiles (`vision.reading.tiles`); False reads the
    whole picture once at `MAX_SIDE`. `max_tiles` caps the tiles of one picture, and
    `tile_budget_s` the seconds spent on them (None: no limit): the most detailed tiles are
    read first, and the answer says how much of the picture was looked at closely."""

    def __init__(self, engine: str = "auto", *, threads: int = 0,
                 min_confidence: float = 0.5, tiles: bool = True,
                 max_tiles: int = read_tiles.MAX_TILES,
                 tile_budget_s: float | None = read_tiles.BUDGET_S) -> None:
        if engine not in ENGINES:
            raise ValueError(f"ocr.engine must be one of {ENGINES}, not {engine!r}")
        if max_tiles < 0:
            raise ValueError(f"max_tiles must be 0 or more, not {max_tiles}")
        self.engine = engine
        self.tiles = tiles
        self.max_tiles = max_tiles
        self.tile_budget_s = tile_budget_s
        self.rapid = RapidOcrEngine(threads=threads, min_confidence=min_confidence)
        self.tesseract: TesseractEngine | None = None
        self.note = ""  # why Tesseract is not used, when `auto` wanted it
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        self.rapid.load()
        det = self.rapid._ocr.text_det
        # Scale is decided here (`_scaled`); the detector must not blow a 132-pixel-high
        # page up to 736 pixels (a 4000-pixel-wide strip: seconds).
        det.limit_type, det.limit_side_len = "max", MAX_SIDE
        if self.engine in ("auto", "tesseract"):
            ok, why = tesseract_status()
            if ok:
                self.tesseract = TesseractEngine()
            elif self.engine == "tesseract":
                TesseractEngine().load()  # raises the clear error
            else:
                self.note = why
        self._loaded = True

    def read(self, image_bgr: np.ndarray, *, stop: Callable[[], bool] | None = None
             ) -> ReadResult:
        """Read one picture (BGR, grey or BGRA). Raises ValueError on an empty array.

        `stop()`, when given, is asked before each tile of the fine pass; once it says True
        the reading goes on with the lines found so far (a new question cancels the old)."""
        self.load()
        if image_bgr is None or getattr(image_bgr, "size", 0) == 0:
            raise ValueError("empty image")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        image = _scaled(fit(image_bgr, MAX_SIDE))
        h, w = image.shape[:2]
        if min(h, w) < 8:
            return ReadResult((), w, h, timings_ms=timings)
        large = self.tiles and self.max_tiles > 0 and max(image_bgr.shape[:2]) > MAX_SIDE
        quads, prob = self.rapid.detect_map(image) if large else (self.rapid.detect(image), None)
        why = read_tiles.tile_reason(quads, prob, image.shape) if large else ""
        height = _line_height(quads)
        if 0 < height < SMALL_LINE and max(h, w) * SMALL_LINE / height <= MAX_SIDE * 1.5:
            # Small print: look again at a scale where lines are SMALL_LINE pixels high.
            scale = min(SMALL_LINE / height, 3.0)
            image = cv2.resize(image, (round(w * scale), round(h * scale)),
                               interpolation=cv2.INTER_CUBIC)
            h, w = image.shape[:2]
            quads = self.rapid.detect(image)
        timings["detect"] = (time.perf_counter() - t0) * 1000
        full: list[np.ndarray] = []  # fine-pass quads in the full-size picture (`whole`)
        fine: list[np.ndarray] = []  # the same in `image`
        tiles = tiles_left = 0
        if why:
            t0 = time.perf_counter()
            whole = fit(image_bgr, 1 << 30)
            full, tiles, tiles_left = self._fine_quads(whole, image, quads,
                                                       read_tiles.Budget(stop, self.tile_budget_s))
            ratio = w / image_bgr.shape[1]
            fine = [q * np.float32(ratio) for q in full]
            timings["tiles"] = (time.perf_counter() - t0) * 1000
        if not quads and not fine:
            return ReadResult((), w, h, timings_ms=timings, tiles=tiles, tiles_left=tiles_left)
        edges = cut_edges(image, quads + fine)
        t0 = time.perf_counter()
        angle = text_angle(quads + fine) or 0.0
        upright, matrix = (image, None) if abs(angle) < 0.5 else rotate(image, angle)
        n = len(quads)
        both = quads + fine
        both = both if matrix is None else [q @ matrix[:, :2].T + matrix[:, 2] for q in both]
        # The fine quads' corners follow their upright order, so the full-size crop is upright.
        orders = [_upright_order(q) for q in both]
        both = [q[o].astype(np.float32) for q, o in zip(both, orders)]
        full = [q[o] for q, o in zip(full, orders[n:])]
        flip = self._upside_down(upright, both)
        if flip:
            upright = cv2.rotate(upright, cv2.ROTATE_180)
            uh, uw = upright.shape[:2]
            both = [np.stack([uw - q[:, 0], uh - q[:, 1]], axis=1) for q in both]
            orders = [_upright_order(q) for q in both]
            both = [q[o].astype(np.float32) for q, o in zip(both, orders)]
            full = [q[o] for q, o in zip(full, orders[n:])]
        quads, fine = both[:n], both[n:]
        total = (angle + (180 if flip else 0)) % 360
        quarter = int(round(total / 90)) % 4 * 90
        skew = (total - quarter + 180) % 360 - 180
        timings["orient"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        lines, engine = self._recognize(upright, quads) if quads else ([], "rapidocr")
        if fine:
            # Small print is read from the full-size picture, its boxes put in the common frame.
            small = self.rapid.read_quads(whole, full, boxes=[quad_box(q) for q in fine])
            lines = read_tiles.merge_lines(lines, small)
        timings["recognize"] = (time.perf_counter() - t0) * 1000
        return ReadResult(tuple(reading_order(lines)), w, h, rotation=quarter, skew=skew,
                          engine=engine, cut_edges=edges, tiles=tiles, tiles_left=tiles_left,
                          timings_ms=timings)

    # -- parts --------------------------------------------------------------------------------

    def _fine_quads(self, full: np.ndarray, coarse: np.ndarray,
                    coarse_quads: Sequence[np.ndarray], stop: read_tiles.Budget
                    ) -> tuple[list[np.ndarray], int, int]:
        """Quads (full-size pixels) of lines the coarse pass missed, found on tiles at
        `FINE_SIDE`; how many tiles were read, and how many the time budget left unread."""
        fh, fw = full.shape[:2]
        scale = min(1.0, read_tiles.FINE_SIDE / max(fh, fw))
        fine_img = full if scale == 1.0 else cv2.resize(
            full, (round(fw * scale), round(fh * scale)), interpolation=cv2.INTER_AREA)
        to_coarse = coarse.shape[1] / fine_img.shape[1]
        tiles = read_tiles.choose_tiles(coarse, read_tiles.grid(fine_img.shape[1],
                                                                fine_img.shape[0]),
                                        to_coarse, self.max_tiles)
        found, done = read_tiles.detect_tiles(self.rapid.detect, fine_img, tiles, stop)
        # A line the coarse pass found is read there (at its scale, by its engine), unless it
        # is tiny there: then both readings are made and `merge_lines` keeps the surer one.
        boxes = [quad_box(q) for q in coarse_quads
                 if read_tiles.line_height(q) >= read_tiles.REREAD_LINE]
        found = [q for q in found if all(
            read_tiles.overlap(quad_box(q * np.float32(to_coarse)), b) < 0.5 for b in boxes)]
        left = len(tiles) - done if stop.expired else 0
        return [q / np.float32(scale) for q in found], done, left

    def _upside_down(self, image: np.ndarray, quads: Sequence[np.ndarray]) -> bool:
        longest = sorted(quads, key=lambda q: -float(np.hypot(*(q[1] - q[0]))))[:6]
        crops = [crop_quad(image, q) for q in longest]
        crops = [c for c in crops if c.shape[1] >= 1.5 * c.shape[0]]
        if not crops:
            return False
        return self.rapid.upside_down(crops)

    def _recognize(self, image: np.ndarray, quads: Sequence[np.ndarray]
                   ) -> tuple[list[OcrLine], str]:
        use_tess = self.tesseract is not None and (
            self.engine == "tesseract" or (self.engine == "auto" and _document(quads)))
        if not use_tess:
            return self.rapid.read_quads(image, quads), "rapidocr"
        tess = self.tesseract.read(flatten(_text_region(image, quads), quads))
        tess_result = ReadResult(tuple(tess), 0, 0)
        if self.engine == "tesseract" or (tess and tess_result.confidence >= TESS_SURE
                                          and _covered(quads, tess) >= COVERED):
            return tess, "tesseract"
        rapid = self.rapid.read_quads(image, quads)
        rapid_result = ReadResult(tuple(rapid), 0, 0)
        if _strength(tess_result) >= _strength(rapid_result):
            return tess, "tesseract"
        return rapid, "rapidocr"


def flatten(image: np.ndarray, quads: Sequence[np.ndarray]) -> np.ndarray:
    """Grey with uneven lighting divided out: the page's background (a closing wider than a
    line removes the ink) becomes even white, so a shadowed corner is not lost to
    Tesseract's binarization."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height = float(np.median([np.hypot(*(q[3] - q[0])) for q in quads])) if quads else 20.0
    k = int(max(height * 1.5, 15)) | 1
    background = cv2.morphologyEx(grey, cv2.MORPH_CLOSE,
                                  cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    flat = grey.astype(np.float32) / np.maximum(background.astype(np.float32), 1.0) * 235.0
    return cv2.cvtColor(np.clip(flat, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def _covered(quads: Sequence[np.ndarray], lines: Sequence[OcrLine]) -> float:
    """The share of the detected text lines' length that `lines`' boxes cover."""
    total = hit = 0.0
    for quad in quads:
        x0, y0, x1, y1 = quad_box(quad)
        cy, length = (y0 + y1) / 2, max(x1 - x0, 1)
        total += length
        for ln in lines:
            if ln.box[1] <= cy <= ln.box[3]:
                hit += max(0, min(x1, ln.box[2]) - max(x0, ln.box[0]))
    return min(hit / total, 1.0) if total else 1.0


def _line_height(quads: Sequence[np.ndarray]) -> float:
    """Median height of the detected lines (their short side), 0 with none."""
    if not quads:
        return 0.0
    return float(np.median([min(np.hypot(*(q[1] - q[0])), np.hypot(*(q[2] - q[1])))
                            for q in quads]))


def _strength(result: ReadResult) -> float:
    return result.confidence * len(result.text.replace(" ", "").replace("\n", ""))


def _document(quads: Sequence[np.ndarray]) -> bool:
    if len(quads) < DOC_LINES:
        return False
    aspects = [float(np.hypot(*(q[1] - q[0]))) / max(float(np.hypot(*(q[2] - q[1]))), 1.0)
               for q in quads]
    return float(np.median(aspects)) >= DOC_ASPECT


def _text_region(image: np.ndarray, quads: Sequence[np.ndarray]) -> np.ndarray:
    """The image with everything outside the text's bounding box (plus a margin) painted in
    the background colour: the boxes keep their coordinates, Tesseract skips the clutter."""
    pts = np.concatenate(quads)
    h, w = image.shape[:2]
    height = float(np.median([np.hypot(*(q[3] - q[0])) for q in quads]))
    m = int(height)
    x0, y0 = max(int(pts[:, 0].min()) - m, 0), max(int(pts[:, 1].min()) - m, 0)
    x1, y1 = min(int(pts[:, 0].max()) + m, w), min(int(pts[:, 1].max()) + m, h)
    out = np.empty_like(image)
    out[:] = np.median(image.reshape(-1, image.shape[2]), axis=0).astype(image.dtype)
    out[y0:y1, x0:x1] = image[y0:y1, x0:x1]
    return out


def _scaled(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    long_side = max(h, w)
    if long_side >= SMALL_SIDE or min(h, w) < 8:
        return image
    scale = min(SMALL_SIDE / long_side, 3.0)
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)


def from_config(config) -> Reader:
    """The reader with the `[ocr]` settings: the engine, and the close look's time budget."""
    budget = float(config.ocr.tile_budget_s)
    return Reader(config.ocr.engine, tiles=budget > 0, tile_budget_s=budget)
