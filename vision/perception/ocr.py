"""The OCR port and its two engines: RapidOCR (scene text) and Tesseract (documents).

Both read an upright image and return `OcrLine`s (text, confidence 0..1, pixel box). The reader
(`vision.reading.reader`) decides orientation, skew, scale and which engine to use; the engines only
recognize.

- `RapidOcrEngine` wraps RapidOCR's PP-OCRv4 detector and recognizer (ONNX, shipped in the
  `rapidocr-onnxruntime` package). Its English output often drops the space between words whose
  gap is small ("ofthisdataset"). `split_words` puts it back from the ink: a blank run of
  columns between two recognized characters that is as wide as the line's word gaps is a space.
  Characters are never added or changed, only spaces.
- `TesseractEngine` runs Debian's `tesseract` through `pytesseract` (optional: `tesseract_status`
  says what is missing and how to add it).

Threads: an engine is used by one thread at a time; `load()` runs on that thread. Coordinates are
pixels of the image handed in.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Protocol, Sequence

import cv2
import numpy as np

from assistant.errors import ModelError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1

#: A blank run at least this fraction of the line height between two characters is a word gap
#: when the line has no spaces to learn the gap from (serif body text: word gaps ~0.25, letter
#: gaps under 0.1 of the crop height).
WORD_GAP = 0.17
#: RapidOCR's recognizer input height (PP-OCRv4: 48 px).
REC_HEIGHT = 48
#: Longest strip (width / height) recognized in one piece.
CHUNK_ASPECT = 10.0


@dataclass(frozen=True)
class OcrLine:
    """One line of recognized text in the image it was read from. `confidence` 0..1."""

    text: str
    confidence: float
    box: Box


class OcrEngine(Protocol):
    """The OCR port: `read(upright_bgr) -> lines`, in any order."""

    name: str

    def load(self) -> None: ...

    def read(self, image_bgr: np.ndarray) -> list[OcrLine]: ...


def tesseract_status() -> tuple[bool, str]:
    """(usable, why not / version) for the optional Tesseract engine."""
    if shutil.which("tesseract") is None:
        return False, ("Tesseract is not installed; documents are read with RapidOCR only. "
                       "To add it: sudo apt install tesseract-ocr tesseract-ocr-eng, then "
                       "pip install pytesseract")
    try:
        import pytesseract
    except ImportError:
        return False, ("pytesseract is not installed, so the tesseract program can't be used; "
                       "pip install pytesseract")
    try:
        return True, f"Tesseract {pytesseract.get_tesseract_version()}"
    except Exception as exc:  # pytesseract raises its own errors for a broken binary
        return False, f"tesseract does not run ({exc}); reinstall tesseract-ocr"


def tesseract_words(image: np.ndarray, language: str = "eng", psm: int = 3
                    ) -> dict[str, list]:
    """Run the tesseract program on `image` (BGR or grey) and return its TSV word table as
    columns (`text`, `conf`, `left`, `top`, `width`, `height`, `block_num`, `par_num`,
    `line_num`...), as pytesseract's `image_to_data` does.

    Run with `OMP_THREAD_LIMIT=1`: Tesseract's OpenMP threads spin against each other on a small
    machine. Measured on the 2-core machine, a 671x192 page took 1.2-1.4 s with its default
    threads and 0.35-0.41 s with one (a 2013x576 page: 1.7-2.0 s and 0.6-0.8 s). Setting that
    for this process instead would also cap torch's threads, so the child gets it alone."""
    import csv
    import io
    import os
    import subprocess

    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("the picture could not be encoded for Tesseract")
    try:
        proc = subprocess.run(
            [shutil.which("tesseract") or "tesseract", "stdin", "stdout", "-l", language,
             "--psm", str(psm), "tsv"], input=png.tobytes(), capture_output=True, timeout=300,
            env=dict(os.environ, OMP_THREAD_LIMIT="1"))
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"Tesseract could not read the picture ({exc})",
                         "Check `tesseract --version`, or set ocr.engine = rapidocr") from exc
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else f"exit status {proc.returncode}"
        raise ModelError(f"Tesseract could not read the picture ({why})",
                         "Check `tesseract --version` and its language data (tesseract-ocr-"
                         f"{language}), or set ocr.engine = rapidocr")
    rows = list(csv.reader(io.StringIO(proc.stdout.decode("utf-8", "replace")),
                           delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        return {}
    header, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    columns: dict[str, list] = {name: [] for name in header}
    for row in body:
        for name, value in zip(header, row):
            columns[name].append(value if name == "text" else _number(value))
    return columns


def _number(value: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        return float(value)


# --------------------------------------------------------------------------- RapidOCR


def quad_box(quad: np.ndarray) -> Box:
    pts = np.asarray(quad, dtype=np.float32).reshape(-1, 2)
    return (int(pts[:, 0].min()), int(pts[:, 1].min()), int(np.ceil(pts[:, 0].max())),
            int(np.ceil(pts[:, 1].max())))


def cut_edges(image: np.ndarray, quads: Sequence[np.ndarray]) -> tuple[str, ...]:
    """Edges where a text line's box touches the picture's border *and* dark-or-light ink of
    that line reaches the outermost pixels: a whole page small in the frame has neither."""
    h, w = image.shape[:2]
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    found: list[str] = []
    margin = max(2, int(0.004 * max(h, w)))
    for quad in quads:
        x0, y0, x1, y1 = quad_box(quad)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = grey[y0:y1, x0:x1]
        thresh, _b = cv2.threshold(region, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        dark_ink = (region < thresh).mean() < 0.5
        ink = (region < thresh) if dark_ink else (region >= thresh)
        if float(region.std()) < 12:
            continue
        strips = {"left": (x0 <= margin, ink[:, :2]), "right": (x1 >= w - margin, ink[:, -2:]),
                  "top": (y0 <= margin, ink[:2, :]), "bottom": (y1 >= h - margin, ink[-2:, :])}
        for edge, (touches, strip) in strips.items():
            if touches and strip.mean() > 0.08 and edge not in found:
                found.append(edge)
    return tuple(e for e in ("left", "right", "top", "bottom") if e in found)


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad's content as an axis-aligned strip (its first edge becomes the top edge)."""
    pts = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    w = int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[2] - pts[3])))
    h = int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2])))
    w, h = max(w, 1), max(h, 1)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(pts, dst)
    return cv2.warpPerspective(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE,
                               flags=cv2.INTER_CUBIC)


def ink_columns(crop_bgr: np.ndarray) -> np.ndarray:
    """A bool per column of the strip: does it hold ink? Ink is the minority Otsu class, so
    light text on a dark sign works too."""
    grey = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY) if crop_bgr.ndim == 3 else crop_bgr
    _t, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = binary == 0
    if ink.mean() > 0.5:
        ink = ~ink
    # The core band (x-height rows: those with at least half the busiest row's ink) keeps
    # ascenders, descenders and neighbours' strokes out: the hook of an "f" overhangs the gap
    # before the next word.
    rows = ink.sum(axis=1)
    core = np.where(rows >= 0.5 * rows.max())[0] if rows.max() > 0 else np.arange(len(rows))
    band = ink[core.min():core.max() + 1]
    return band.sum(axis=0) >= 1


def split_words(text: str, centres: Sequence[float], ink: np.ndarray, height: float) -> str:
    """`text` with spaces added where the ink has a word gap between two characters.

    `centres[i]` is character i's x (pixels in the strip, `ink` its columns). The gap between
    two characters is the longest blank run between their centres; the line's own spaces, when
    it has some, say how wide a word gap is here, otherwise `WORD_GAP` of the height.
    """
    if len(text) < 2 or len(centres) != len(text):
        return text

    def blank_run(a: float, b: float) -> int:
        seg = ~ink[int(max(a, 0)):int(min(b, len(ink)))]
        best = run = 0
        for blank in seg:
            run = run + 1 if blank else 0
            best = max(best, run)
        return best

    known = [blank_run(centres[i - 1], centres[i + 1]) for i in range(1, len(text) - 1)
             if text[i] == " " and text[i - 1] != " " and text[i + 1] != " "]
    threshold = WORD_GAP * height
    if known:
        threshold = max(0.75 * float(np.median(known)), 0.1 * height)
    else:
        # No space to learn from: only a gap that stands out from the letter gaps counts
        # (a letter-spaced sign, "E M E R G E N C Y", has wide but even gaps).
        gaps = [blank_run(centres[i - 1], centres[i]) for i in range(1, len(text))]
        threshold = max(threshold, 2.5 * float(np.median(gaps)) + 1)
    cuts = {i for i in range(1, len(text))
            if text[i] != " " and text[i - 1] != " " and
            (text[i - 1].isalnum() or text[i - 1] in ".,;:!?)") and text[i].isalnum() and
            blank_run(centres[i - 1], centres[i]) >= threshold}
    if not cuts:
        return text
    # A known word is never split: the gap inside "The" (the T's arm overhangs) is wide in
    # the x-height band but it is one word.
    lexicon = _lexicon()
    start = 0
    for end in [i for i, ch in enumerate(text) if ch == " "] + [len(text)]:
        word = "".join(ch for ch in text[start:end].lower() if ch.isalpha())
        if lexicon is not None and word in lexicon:
            cuts -= set(range(start, end))
        start = end + 1
    return "".join((" " if i in cuts else "") + ch for i, ch in enumerate(text))


def segment_words(text: str) -> str:
    """The dictionary alternative to `split_words`, kept to measure against it (`glimpse bench
    read --spacing`): each token that is not an English word is split where wordninja's word
    frequencies say, spaces only (no character added, dropped or changed)."""
    import wordninja

    lexicon = _lexicon() or set()
    out = []
    for token in text.split():
        letters = [i for i, ch in enumerate(token) if ch.isalnum()]
        plain = "".join(token[i] for i in letters).lower()
        if len(plain) < 4 or plain in lexicon:
            out.append(token)
            continue
        pieces = wordninja.split(plain)
        if len(pieces) < 2 or "".join(pieces).lower() != plain:
            out.append(token)
            continue
        cuts, at = set(), 0
        for piece in pieces[:-1]:
            at += len(piece)
            if token[letters[at] - 1].isalnum():  # "Region-based" is two words already
                cuts.add(letters[at])  # a space before the piece's next letter
        out.append("".join((" " if i in cuts else "") + ch for i, ch in enumerate(token)))
    return " ".join(out)


_WORDS: set[str] | None = None


def _lexicon() -> set[str] | None:
    """English words (wordninja's list of 126,000 by frequency), or None when not installed."""
    global _WORDS
    if _WORDS is None:
        try:
            import wordninja
        except ImportError:
            return None
        _WORDS = set(wordninja.DEFAULT_LANGUAGE_MODEL._wordcost)
    return _WORDS


def chunk_strip(crop: np.ndarray) -> list[np.ndarray]:
    """A text strip cut at its widest blank runs (word gaps, at least 0.15 of the height in
    the x-height band) into pieces no wider than `CHUNK_ASPECT` heights; a strip with no such gap stays
    whole."""
    h, w = crop.shape[:2]
    limit = int(CHUNK_ASPECT * h)
    if w <= limit or h < 4:
        return [crop]
    blank = ~ink_columns(crop)
    pieces, start = [], 0
    while w - start > limit:
        lo, hi = start + limit // 2, min(start + limit, w)
        best, best_run, run = -1, 0, 0
        for x in range(lo, hi):
            run = run + 1 if blank[x] else 0
            if run > best_run:
                best, best_run = x - run // 2, run
        if best_run < 0.15 * h:
            break
        pieces.append(crop[:, start:best])
        start = best
    pieces.append(crop[:, start:])
    return pieces


class RapidOcrEngine:
    """PP-OCRv4 detection and recognition (ONNX). `detect` and `recognize` are separate so the
    reader can find the page's orientation from the detected boxes before recognizing."""

    name = "rapidocr"

    #: How spaces the recognizer dropped are put back: "ink" (the gaps in the strip,
    #: `split_words`), "dictionary" (`segment_words`) or "none"; measured by `bench read`.
    SPACINGS = ("ink", "dictionary", "none")

    def __init__(self, *, threads: int = 0, min_confidence: float = 0.5,
                 spacing: str = "ink") -> None:
        if spacing not in self.SPACINGS:
            raise ValueError(f"spacing must be one of {self.SPACINGS}, not {spacing!r}")
        self.threads = threads
        self.min_confidence = min_confidence
        self.spacing = spacing
        self._ocr = None

    def load(self) -> None:
        if self._ocr is not None:
            return
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ModelError("The text reader (rapidocr-onnxruntime) is not installed",
                             "Reinstall Glimpse with its dependencies.") from exc
        kwargs = {}
        if self.threads:
            kwargs = {"intra_op_num_threads": self.threads, "inter_op_num_threads": 1}
        self._ocr = RapidOCR(**kwargs)

    def detect(self, image_bgr: np.ndarray) -> list[np.ndarray]:
        """Text-line quads (4x2 float32, pixels of `image_bgr`), unordered."""
        self.load()
        boxes, _elapsed = self._ocr.text_det(image_bgr)
        if boxes is None:
            return []
        return [np.asarray(b, dtype=np.float32).reshape(4, 2) for b in boxes]

    def detect_map(self, image_bgr: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """`detect`, plus the detector's text probability map (float32 0..1, at the size the
        detector worked at: scale it by the picture's width over the map's). The map shows
        ink that the detector saw but could not turn into a line (text too small)."""
        self.load()
        det = self._ocr.text_det
        h, w = image_bgr.shape[:2]
        prepared = det.get_preprocess(max(h, w))(image_bgr)
        if prepared is None:
            return [], np.zeros((1, 1), np.float32)
        preds = det.infer(prepared)[0]
        boxes, _scores = det.postprocess_op(preds, (h, w))
        boxes = det.filter_tag_det_res(boxes, (h, w))
        quads = [np.asarray(b, dtype=np.float32).reshape(4, 2) for b in boxes]
        return quads, np.asarray(preds[0, 0], dtype=np.float32)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float, list[float]]]:
        """(text, confidence, x centre of each character in the crop's pixels) per crop."""
        self.load()
        rec = self._ocr.text_rec
        out: list[tuple[str, float, list[float]]] = [("", 0.0, [])] * len(crops)
        order = np.argsort([c.shape[1] / max(c.shape[0], 1) for c in crops])
        chars = rec.postprocess_op.character
        for start in range(0, len(crops), 6):
            idx = order[start:start + 6]
            ratios = [crops[i].shape[1] / max(crops[i].shape[0], 1) for i in idx]
            max_ratio = max(max(ratios), 320 / REC_HEIGHT)
            batch = np.stack([rec.resize_norm_img(crops[i], max_ratio) for i in idx])
            preds = rec.session(batch.astype(np.float32))[0]  # (n, T, classes)
            width = batch.shape[3]
            for row, i in enumerate(idx):
                best, prob = preds[row].argmax(axis=1), preds[row].max(axis=1)
                keep = best != 0
                keep[1:] &= best[1:] != best[:-1]
                cols = np.where(keep)[0]
                text = "".join(chars[int(best[c])] for c in cols)
                conf = float(prob[cols].mean()) if len(cols) else 0.0
                # Column c covers [c, c+1) * width / T of the resized strip.
                resized_w = min(width, int(np.ceil(REC_HEIGHT * ratios[row])))
                px = crops[i].shape[1] / max(resized_w, 1)
                centres = [(c + 0.5) * width / preds.shape[1] * px for c in cols]
                out[i] = (text, conf, centres)
        return out

    def upside_down(self, crops: Sequence[np.ndarray]) -> bool:
        """Are these upright-looking strips upside down? PP-OCR's small 0/180 classifier votes,
        each line weighted by its confidence."""
        self.load()
        _imgs, results, _elapsed = self._ocr.text_cls([c.copy() for c in crops])
        flipped = sum(score for label, score in results if label == "180")
        upright = sum(score for label, score in results if label != "180")
        return flipped > upright

    def read_quads(self, image_bgr: np.ndarray, quads: Sequence[np.ndarray],
                   boxes: Sequence[Box] | None = None) -> list[OcrLine]:
        """Recognize the given quads of `image_bgr` (upright), with spaces repaired. Each
        line's box is its quad's, or `boxes[i]` when given (the quad in another frame).

        Long lines are cut at clear word gaps into pieces of at most `CHUNK_ASPECT` widths per
        height: the recognizer's attention costs grow faster than the width (a 1200-column
        strip takes 7x a 320-column one)."""
        crops = [crop_quad(image_bgr, q) for q in quads]
        pieces: list[np.ndarray] = []
        owner: list[int] = []
        for i, crop in enumerate(crops):
            for piece in chunk_strip(crop):
                pieces.append(piece)
                owner.append(i)
        texts: list[list[str]] = [[] for _ in crops]
        confs: list[list[tuple[float, int]]] = [[] for _ in crops]
        for i, piece, (text, conf, centres) in zip(owner, pieces, self.recognize(pieces)):
            if self.spacing == "dictionary":
                text = segment_words(text)
            elif self.spacing == "ink" and centres:
                text = split_words(text, centres, ink_columns(piece), piece.shape[0])
            text = text.strip()
            if text:
                texts[i].append(text)
                confs[i].append((conf, len(text)))
        lines = []
        boxes = [quad_box(q) for q in quads] if boxes is None else boxes
        for box, parts, cl in zip(boxes, texts, confs):
            if not parts:
                continue
            conf = float(np.average([c for c, _n in cl], weights=[n for _c, n in cl]))
            text = " ".join(" ".join(parts).split())
            if conf >= self.min_confidence:
                lines.append(OcrLine(text, conf, tuple(box)))
        return lines

    def read(self, image_bgr: np.ndarray) -> list[OcrLine]:
        return self.read_quads(image_bgr, self.detect(image_bgr))


# --------------------------------------------------------------------------- Tesseract


class TesseractEngine:
    """Tesseract 4/5 LSTM (`--psm 3`, automatic layout) on an upright page."""

    name = "tesseract"

    def __init__(self, *, language: str = "eng", min_confidence: float = 0.3) -> None:
        self.language = language
        self.min_confidence = min_confidence
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        ok, why = tesseract_status()
        if not ok:
            problem, _sep, fix = why.partition(";")
            raise ModelError(f"ocr.engine is tesseract, but {problem[0].lower()}{problem[1:]}",
                             fix.strip().replace("documents are read with RapidOCR only. ", "")
                             + ", or set ocr.engine = auto")
        self._loaded = True

    def read(self, image_bgr: np.ndarray) -> list[OcrLine]:
        self.load()
        data = tesseract_words(image_bgr, self.language)
        groups: dict[tuple[int, int, int], list[int]] = {}
        for i, word in enumerate(data["text"]):
            if str(word).strip() and float(data["conf"][i]) >= 0:
                key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
                groups.setdefault(key, []).append(i)
        lines = []
        for key in sorted(groups):
            idx = groups[key]
            conf = float(np.mean([float(data["conf"][i]) for i in idx])) / 100.0
            if conf < self.min_confidence:
                continue
            text = " ".join(str(data["text"][i]).strip() for i in idx)
            x0 = min(data["left"][i] for i in idx)
            y0 = min(data["top"][i] for i in idx)
            x1 = max(data["left"][i] + data["width"][i] for i in idx)
            y1 = max(data["top"][i] + data["height"][i] for i in idx)
            lines.append(OcrLine(text, conf, (x0, y0, x1, y1)))
        return lines
