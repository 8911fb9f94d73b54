"""Local perception on the CPU: text (OCR), faces, people, ImageNet labels and picture quality.

It serves three things:
1. grounding for the VLM (`PerceptionResult.grounding_text()`), so the model reads text that is
   really there instead of inventing it;
2. the offline describer (`vision.answer.describer`) when no VLM is installed;
3. the aiming coach (`PerceptionResult.hints()`): "too dark", "blurred", "text cut off at the
   left edge" before describing.

Everything ships in pip packages: RapidOCR's PP-OCRv4 ONNX models, OpenCV's Haar face cascade and
HOG people detector, and (optional, the `offline` extra) EfficientNet-Lite0 ImageNet weights.

Threads: one `Perception` is used by one thread at a time (the answer stage's, or the CLI's);
`load()` is slow (about a second) and should run on that thread before the first `analyze`.
Coordinates are pixels of the analysed image; times are milliseconds.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Iterable

import cv2
import numpy as np

from assistant.errors import ModelError

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels

#: Largest side perception works on; bigger images (8K stills) are downscaled first.
MAX_SIDE = 1600
#: Mean brightness (0..1) under which the picture counts as too dark.
DARK = 0.22
#: Grey-level standard deviation (0..1) under which the picture is one flat colour.
FLAT = 0.02
#: The grey standard deviation `blur_score` normalizes to.
CONTRAST = 50.0
#: `blur_score` under which the picture counts as blurred.
BLURRED = 60.0
#: A text box this close to an image edge (fraction of the side, at least 2 px) counts as cut
#: off there. Tight: a scanned page with a 1% margin is not "cut off".
EDGE_MARGIN = 0.004
#: HOG person detections under this SVM score are dropped (close-ups give false ones ~0.7).
PERSON_MIN = 0.8
#: ImageNet labels under this probability are not mentioned.
LABEL_MIN = 0.15
#: OpenCV's frontal-face cascade. On the 62 photos of `tests/data/claims` the "alt" cascade
#: found the same four faces as the "default" one and none of its seven false faces (in
#: leaves, rocks, brushes and coins; weights 2-5 where real faces scored 4-12).
FACE_CASCADE = "haarcascade_frontalface_alt.xml"
#: OpenCV's profile-face cascade, looked through both ways round (it knows left profiles only).
#: It never says yes (it fired on a bowl of figs); it is the look that must find nothing
#: before "no one close by" may be said: the frontal cascade and the people detector both
#: missed the cameraman of `skimage.data.camera()`, his face turned to the viewfinder.
SIDE_FACE_CASCADE = "haarcascade_profileface.xml"
#: The face cascades' smoothing kernels, in turn (`_face_looks`), and the neighbours a face needs.
FACE_SMOOTHING = ((5, 5), (7, 7))
FACE_NEIGHBOURS = 6

# Words that make a description lead with a warning. From OCR text and ImageNet labels.
HAZARD_WORDS = {
    "stairs": "stairs", "stair": "stairs", "steps": "steps", "step": "a step",
    "caution": "a caution sign", "danger": "a danger sign", "warning": "a warning sign",
    "wet floor": "a wet floor sign", "stop": "a stop sign", "do not enter": "a do-not-enter sign",
    "construction": "construction", "high voltage": "a high-voltage sign",
}
HAZARD_LABELS = {
    "traffic light": "a traffic light",
    "taxicab": "traffic", "minivan": "traffic", "sports car": "traffic", "convertible": "traffic",
    "jeep": "traffic", "limousine": "traffic", "minibus": "traffic", "police van": "traffic",
    "moving van": "traffic", "trolleybus": "traffic", "school bus": "traffic", "tram": "traffic",
    "garbage truck": "traffic", "pickup truck": "traffic", "fire truck": "traffic",
    "tow truck": "traffic", "semi-trailer truck": "traffic", "ambulance": "traffic",
    "recreational vehicle": "traffic", "race car": "traffic", "car wheel": "traffic",
    "motor scooter": "traffic", "moped": "traffic", "mountain bike": "a bicycle",
    "tandem bicycle": "a bicycle", "handrail / baluster": "stairs or a railing",
    "turnstile": "a turnstile", "chain-link fence": "a fence", "picket fence": "a fence",
    "split-rail fence": "a fence", "manhole cover": "a manhole cover",
    "parking meter": "a parking meter", "pole": "a pole", "cliff": "a drop",
    "breakwater": "water", "dam": "water", "lakeshore": "water", "steam locomotive": "a train",
    "electric locomotive": "a train", "high-speed train": "a train", "railroad car": "a train",
    "freight car": "a train",
}


_HOURS = {1: "one", 2: "two", 10: "ten", 11: "eleven"}


def clock_position(x_centre: float, width: int) -> str:
    """Where something is, horizontally, as a clock direction: 10 (far left) .. 2 (far right).

    The camera sees roughly 60 degrees, so the frame spans about ten to two o'clock.
    """
    frac = min(max(x_centre / max(width, 1), 0.0), 1.0)
    hour = int(round((frac - 0.5) * 4.99))  # -2 .. 2
    if hour == 0:
        return "centre"
    return f"at {_HOURS[12 + hour if hour < 0 else hour]} o'clock"


@dataclass(frozen=True)
class TextLine:
    """One line of text found by OCR. `confidence` 0..1."""

    text: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class Detection:
    """A face or a person. `position` is a clock direction ("centre", "at two o'clock")."""

    kind: str  # face | person
    box: Box
    confidence: float
    position: str


@dataclass(frozen=True)
class PerceptionResult:
    """What local perception found in one image.

    `brightness` is the mean grey level 0..1; `blur` the variance of the Laplacian on a
    640-pixel-wide grey copy (higher is sharper); `cut_edges` the image edges text touches.
    """

    width: int
    height: int
    lines: tuple[TextLine, ...] = ()
    faces: tuple[Detection, ...] = ()
    persons: tuple[Detection, ...] = ()
    labels: tuple[tuple[str, float], ...] = ()
    groups: tuple[tuple[str, float], ...] = ()
    brightness: float = 0.5
    blur: float = 1000.0
    contrast: float = 0.2  # standard deviation of the grey levels, 0..1
    cut_edges: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = ()  # parts that could not run, said once (e.g. no ImageNet weights)
    #: Faces turned to the side (`Perception.side_faces`); None: not looked for. Only a "no
    #: one close by" needs this look, so `analyze` leaves it out (`vision.perception.claims`).
    side_faces: tuple[Detection, ...] | None = None

    # -- derived facts ------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """All text, in reading order, one line per line."""
        return "\n".join(line.text for line in self.lines)

    @property
    def dark(self) -> bool:
        return self.brightness < DARK

    @property
    def flat(self) -> bool:
        """One flat colour: a covered lens, a wall too close, or a tiny picture."""
        return self.contrast < FLAT

    @property
    def blurred(self) -> bool:
        return self.blur < BLURRED and not self.flat

    @property
    def people(self) -> tuple[Detection, ...]:
        """People: HOG person detections, plus faces not inside any of them."""
        out = list(self.persons)
        for face in self.faces:
            if not any(_inside(face.box, p.box) for p in self.persons):
                out.append(Detection("person", face.box, face.confidence, face.position))
        return tuple(sorted(out, key=lambda d: d.box[0]))

    def object_guess(self) -> tuple[str, float] | None:
        """The most likely thing in the picture by the ImageNet classifier, or None if unsure."""
        candidates = list(self.groups) + list(self.labels)
        if not candidates:
            return None
        name, prob = max(candidates, key=lambda pair: pair[1])
        return (name, prob) if prob >= LABEL_MIN else None

    def hazards(self) -> list[str]:
        """Things to warn about first: hazard words in the text, hazard-like labels."""
        found: list[str] = []
        text = " ".join(line.text for line in self.lines).lower()
        for word, what in HAZARD_WORDS.items():
            if re.search(rf"\b{re.escape(word)}\b", text) and what not in found:
                found.append(what)
        for name, prob in self.labels:
            what = HAZARD_LABELS.get(name, "")
            if what and prob >= LABEL_MIN and what not in found:
                found.append(what)
        return found

    def hints(self) -> list[str]:
        """The aiming coach: what to fix before the picture is worth describing."""
        out = []
        if self.flat:
            out.append("The picture is almost one flat colour; is the lens covered, or the "
                       "camera too close to something?")
        elif self.dark:
            out.append("The picture is very dark; turn on a light or point at something "
                       "brighter.")
        if self.blurred:
            out.append("The picture is blurred; hold the camera still.")
        for edge in self.cut_edges:
            move = {"left": "left", "right": "right", "top": "up", "bottom": "down"}[edge]
            out.append(f"Text is cut off at the {edge} edge; move the camera {move} a little or "
                       "step back.")
        return out

    def grounding_text(self) -> str:
        """A compact, factual summary for the VLM prompt, so it does not invent text.

        Empty sections are left out; an image with nothing found says so.
        """
        parts: list[str] = []
        if self.lines:
            parts.append("Text found by OCR, in reading order (quote it exactly, do not add "
                         "text that is not listed):")
            parts.extend(f'- "{line.text}" (confidence {line.confidence:.2f})'
                         for line in self.lines)
        else:
            parts.append("OCR found no readable text.")
        people = self.people
        if people:
            where = ", ".join(p.position for p in people)
            parts.append(f"People detected: {len(people)} ({where}).")
        if self.faces:
            parts.append(f"Faces detected: {len(self.faces)} "
                         f"({', '.join(f.position for f in self.faces)}).")
        if self.labels:
            labels = ", ".join(f"{name} {prob:.0%}" for name, prob in self.labels[:3])
            parts.append(f"Image classifier guesses (may be wrong): {labels}.")
        quality = []
        if self.flat:
            quality.append("almost one flat colour")
        if self.dark:
            quality.append("dark")
        if self.blurred:
            quality.append("blurred")
        if self.cut_edges:
            quality.append("text cut off at the " + " and ".join(self.cut_edges) + " edge")
        if quality:
            parts.append("Picture quality: " + "; ".join(quality) + ".")
        return "\n".join(parts)

    def as_dict(self) -> dict:
        return {
            "width": self.width, "height": self.height,
            "lines": [{"text": ln.text, "confidence": round(ln.confidence, 3), "box": list(ln.box)}
                      for ln in self.lines],
            "faces": [_det_dict(d) for d in self.faces],
            "persons": [_det_dict(d) for d in self.persons],
            "labels": [[n, round(p, 3)] for n, p in self.labels],
            "brightness": round(self.brightness, 3), "blur": round(self.blur, 1),
            "contrast": round(self.contrast, 3),
            "cut_edges": list(self.cut_edges), "hints": self.hints(), "hazards": self.hazards(),
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


def _det_dict(d: Detection) -> dict:
    return {"box": list(d.box), "confidence": round(d.confidence, 3), "position": d.position}


def _inside(inner: Box, outer: Box) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


# --------------------------------------------------------------------------- pure helpers


def brightness(image_bgr: np.ndarray) -> float:
    grey = _grey(image_bgr)
    return float(grey.mean()) / 255.0


def too_plain(image_bgr: np.ndarray) -> bool:
    """Too dark or one flat colour (`PerceptionResult.dark` / `.flat`), without the rest of
    `analyze`: the finder's classifier may say no only when this is False."""
    grey = _grey(image_bgr)
    return float(grey.mean()) / 255.0 < DARK or float(grey.std()) / 255.0 < FLAT


def too_dark(image_bgr: np.ndarray) -> bool:
    """`PerceptionResult.dark` without the rest of `analyze`: the reader may say "no text"
    only when this is False (a flat bright page has no text; a dark one may hide it)."""
    return brightness(image_bgr) < DARK


def blur_score(image_bgr: np.ndarray) -> float:
    """Variance of the Laplacian of a 640-pixel-wide grey copy, at a standard contrast
    (grey standard deviation 50): independent of size and exposure. Higher is sharper."""
    grey = _grey(image_bgr)
    h, w = grey.shape[:2]
    if w > 640:
        grey = cv2.resize(grey, (640, max(1, round(h * 640 / w))), interpolation=cv2.INTER_AREA)
    # Scale to a fixed contrast first, so a dark (low-contrast) picture is not called blurred:
    # the Laplacian's variance grows with the square of the contrast.
    std = max(float(grey.std()), 8.0)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var()) * (CONTRAST / std) ** 2


def reading_order(lines: Iterable[TextLine]) -> list[TextLine]:
    """Top-to-bottom rows, left-to-right within a row.

    Lines whose vertical centres are within half a line height of a row's centre belong to that
    row (a sign with two words OCR'd as two boxes is one row).
    """
    items = sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2)
    rows: list[list[TextLine]] = []
    for line in items:
        cy = (line.box[1] + line.box[3]) / 2
        height = max(line.box[3] - line.box[1], 1)
        if rows:
            row = rows[-1]
            row_cy = float(np.mean([(ln.box[1] + ln.box[3]) / 2 for ln in row]))
            row_h = float(np.mean([max(ln.box[3] - ln.box[1], 1) for ln in row]))
            if abs(cy - row_cy) <= 0.5 * min(height, row_h):
                row.append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.box[0])]


def cut_edges(lines: Iterable[TextLine], width: int, height: int) -> tuple[str, ...]:
    """The image edges a text box touches: text there is probably cut off."""
    mx, my = max(2, EDGE_MARGIN * width), max(2, EDGE_MARGIN * height)
    edges: list[str] = []
    for line in lines:
        x0, y0, x1, y1 = line.box
        for edge, touches in (("left", x0 <= mx), ("right", x1 >= width - 1 - mx),
                              ("top", y0 <= my), ("bottom", y1 >= height - 1 - my)):
            if touches and edge not in edges:
                edges.append(edge)
    order = ("left", "right", "top", "bottom")
    return tuple(e for e in order if e in edges)


def fit(image_bgr: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """A BGR uint8 copy no larger than `max_side` (8K stills would take seconds to OCR)."""
    image = image_bgr
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    h, w = image.shape[:2]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    return image


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


# --------------------------------------------------------------------------- the analyser


class Perception:
    """`analyze(image_bgr) -> PerceptionResult`, well under a second on two cores.

    `labels=True` adds ImageNet labels (needs torch and the weights package; if they are
    missing, the result carries a note and everything else still works).
    """

    def __init__(self, *, ocr: bool = True, faces: bool = True, persons: bool = True,
                 labels: bool = True, min_text_confidence: float = 0.5) -> None:
        self.want_ocr, self.want_faces, self.want_persons = ocr, faces, persons
        self.want_labels = labels
        self.min_text_confidence = min_text_confidence
        self._ocr = None
        self._faces = None
        self._side = None
        self._hog = None
        self._classifier = None
        self._notes: list[str] = []
        self._loaded = False

    def load(self) -> None:
        """Load the models (about a second). Called by `analyze` if not called before."""
        if self._loaded:
            return
        if self.want_ocr:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise ModelError("The text reader (rapidocr-onnxruntime) is not installed",
                                 "Reinstall Glimpse with its dependencies.") from exc
            self._ocr = RapidOCR()
        if self.want_faces:
            path = cv2.data.haarcascades + FACE_CASCADE
            self._faces = cv2.CascadeClassifier(path)
            if self._faces.empty():
                raise ModelError(f"OpenCV's face detector could not be read from {path}",
                                 "Reinstall opencv-python-headless (version 4).")
            side = cv2.data.haarcascades + SIDE_FACE_CASCADE
            self._side = cv2.CascadeClassifier(side)
            if self._side.empty():
                raise ModelError(f"OpenCV's face detector could not be read from {side}",
                                 "Reinstall opencv-python-headless (version 4).")
        if self.want_persons:
            self._hog = cv2.HOGDescriptor()
            self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        if self.want_labels:
            try:
                from vision.perception.imagenet import Classifier
                self._classifier = Classifier()
            except (ModelError, ImportError) as exc:
                # Labels are a bonus: say once why they are missing, keep the rest working.
                note = str(exc) if isinstance(exc, ModelError) else f"ImageNet labels off: {exc}"
                log.warning("%s", note)
                self._notes.append(note)
        self._loaded = True

    def analyze(self, image_bgr: np.ndarray) -> PerceptionResult:
        self.load()
        if image_bgr is None or image_bgr.size == 0:
            raise ValueError("empty image")
        image = fit(image_bgr)
        h, w = image.shape[:2]
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        light, sharp = brightness(image), blur_score(image)
        contrast = float(_grey(image).std()) / 255.0
        timings["quality"] = (time.perf_counter() - t0) * 1000

        lines: list[TextLine] = []
        if self._ocr is not None and min(h, w) >= 8:
            t0 = time.perf_counter()
            lines = self._read(image)
            timings["ocr"] = (time.perf_counter() - t0) * 1000
        faces: list[Detection] = []
        persons: list[Detection] = []
        if min(h, w) >= 32:
            small, scale = _small(image, 640)
            if self._faces is not None:
                t0 = time.perf_counter()
                faces = self._detect_faces(small, scale, w)
                timings["faces"] = (time.perf_counter() - t0) * 1000
            if self._hog is not None and min(small.shape[:2]) >= 128:
                t0 = time.perf_counter()
                persons = self._detect_persons(small, scale, w)
                timings["persons"] = (time.perf_counter() - t0) * 1000
        labels: list[tuple[str, float]] = []
        groups: dict[str, float] = {}
        if self._classifier is not None and min(h, w) >= 16:
            t0 = time.perf_counter()
            labels, groups = self._classifier.classify(image, 5)
            timings["labels"] = (time.perf_counter() - t0) * 1000
        return PerceptionResult(
            width=w, height=h, lines=tuple(lines), faces=tuple(faces), persons=tuple(persons),
            labels=tuple(labels), groups=tuple(sorted(groups.items(), key=lambda p: -p[1])),
            brightness=light, blur=sharp, contrast=contrast,
            cut_edges=_ink_confirmed(image, lines, cut_edges(lines, w, h)),
            timings_ms=timings,
            notes=tuple(self._notes))

    def side_faces(self, image_bgr: np.ndarray) -> tuple[Detection, ...] | None:
        """Faces turned to the side (either way), at the sizes `analyze` looks for faces; in
        pixels of the analysed picture (`fit(image_bgr)`). About 0.2-0.4 s at 640 pixels on
        two cores, so callers ask only when a "no" depends on it. None: not looked (no face
        detector, or a picture too small for it)."""
        self.load()
        if self._side is None or image_bgr is None or image_bgr.size == 0:
            return None
        image = fit(image_bgr)
        h, w = image.shape[:2]
        if min(h, w) < 32:
            return None
        small, scale = _small(image, 640)
        # Unsmoothed: this look is there to find any face that would make a "no" wrong, and
        # smoothing loses the cameraman's profile (scikit-image's `camera`).
        grey = cv2.equalizeHist(_grey(small))
        sw = grey.shape[1]
        out = []
        for flipped in (False, True):
            look = cv2.flip(grey, 1) if flipped else grey
            for (x, y, fw, fh), weight in _cascade(self._side, look):
                if flipped:
                    x = sw - x - fw
                box = _scale_box((x, y, x + fw, y + fh), scale)
                out.append(Detection("side face", box, weight,
                                     clock_position((box[0] + box[2]) / 2, w)))
        return tuple(sorted(out, key=lambda d: d.box[0]))

    # -- parts --------------------------------------------------------------------------------

    def _read(self, image: np.ndarray) -> list[TextLine]:
        result, _elapsed = self._ocr(image)
        lines = []
        for quad, text, score in result or []:
            text = str(text).strip()
            if not text or float(score) < self.min_text_confidence:
                continue
            pts = np.asarray(quad, dtype=np.float32)
            box = (int(pts[:, 0].min()), int(pts[:, 1].min()), int(np.ceil(pts[:, 0].max())),
                   int(np.ceil(pts[:, 1].max())))
            lines.append(TextLine(text=text, confidence=float(score), box=box))
        return reading_order(lines)

    def _detect_faces(self, small: np.ndarray, scale: float, width: int) -> list[Detection]:
        out = []
        for (x, y, fw, fh), weight in _face_looks(self._faces, small):
            box = _scale_box((x, y, x + fw, y + fh), scale)
            out.append(Detection("face", box, float(weight), clock_position(
                (box[0] + box[2]) / 2, width)))
        return sorted(out, key=lambda d: d.box[0])

    def _detect_persons(self, small: np.ndarray, scale: float, width: int) -> list[Detection]:
        rects, weights = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8),
                                                   scale=1.05)
        keep = [(tuple(r), float(wt)) for r, wt in zip(rects, np.ravel(weights))
                if wt >= PERSON_MIN]
        # Non-maximum suppression: HOG reports the same person at several scales.
        boxes = [[int(x), int(y), int(rw), int(rh)] for (x, y, rw, rh), _ in keep]
        idx = cv2.dnn.NMSBoxes(boxes, [wt for _, wt in keep], 0.6, 0.4) if boxes else []
        out = []
        for i in np.ravel(idx):
            x, y, rw, rh = boxes[int(i)]
            box = _scale_box((x, y, x + rw, y + rh), scale)
            out.append(Detection("person", box, keep[int(i)][1],
                                 clock_position((box[0] + box[2]) / 2, width)))
        return sorted(out, key=lambda d: d.box[0])


def _face_grey(small: np.ndarray, kernel: tuple[int, int] = FACE_SMOOTHING[0]) -> np.ndarray:
    """The picture a face cascade looks at: grey, a live camera's sensor noise smoothed away
    (a Gaussian), then equalized."""
    return cv2.equalizeHist(cv2.GaussianBlur(_grey(small), kernel, 0))


def _face_looks(cascade, small: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
    """The frontal cascade's finds: on the picture smoothed 5x5, and when that finds no face,
    smoothed 7x7. On 60 frames of a hand-held clip with a webcam's noise the cascade found the
    astronaut's clear face in 33 unsmoothed, 53 smoothed 5x5 and all 60 with the second look;
    on the labelled photos' held-out half, precision stays 100 % (`glimpse bench claims`)."""
    found: list = []
    for kernel in FACE_SMOOTHING:
        found = _cascade(cascade, _face_grey(small, kernel))
        if found:
            break
    return found


def _cascade(cascade, grey: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
    """A face cascade's finds on an equalized grey picture of at most 640 pixels: (x, y, w, h)
    and weight. Faces smaller than a twelfth of the short side (at least 24 pixels) are not
    looked for: "close by" in the claims (`vision.perception.claims`) means at least that."""
    min_side = max(24, min(grey.shape[:2]) // 12)
    found, _levels, weights = cascade.detectMultiScale3(
        grey, scaleFactor=1.1, minNeighbors=FACE_NEIGHBOURS, minSize=(min_side, min_side),
        outputRejectLevels=True)
    return [(tuple(int(v) for v in rect), float(weight))
            for rect, weight in zip(found, np.ravel(weights) if len(found) else [])]


def _ink_confirmed(image: np.ndarray, lines: Iterable[TextLine],
                   edges: tuple[str, ...]) -> tuple[str, ...]:
    """Of the edges a text box touches, those where the line's ink reaches the border too:
    the detector's boxes are padded, so a whole page with narrow margins touches the edge but
    is not cut off."""
    if not edges:
        return edges
    from vision.perception.ocr import cut_edges as ink_cut_edges

    quads = [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
             for x0, y0, x1, y1 in (line.box for line in lines)]
    inked = ink_cut_edges(image, quads)
    return tuple(e for e in edges if e in inked)


def _small(image: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    if w <= width:
        return image, 1.0
    scale = w / width
    return cv2.resize(image, (width, max(1, round(h / scale))), interpolation=cv2.INTER_AREA), scale


def _scale_box(box: tuple[int, int, int, int], scale: float) -> Box:
    return tuple(int(round(v * scale)) for v in box)  # type: ignore[return-value]
