"""Colour and light, offline: "what colour is this?", "is the light on?", "where is the window?".

- `dominant_colours(image, box)` names the main colours of a region (the centre half of the
  picture by default, or a found object's box) in plain words from the xkcd colour survey
  (`resources/colour_names.txt`): the region's pixels are clustered (k-means, k=4, in CIELAB,
  where distances follow what people see) and each cluster gets the nearest name.
  `colour_sentence` says it: "Mostly dark red, with some white."
- `light(image)` measures the light: mean brightness, and the brightest part's direction
  (a window, a lamp). `light_sentences` answers "is the light on?" and "where is the window?".

Thresholds: a colour under 12% of the region is not mentioned; a picture darker than 0.15 mean
brightness (0..1) counts as dark ("the light seems off"), brighter than 0.40 as lit; the
brightest part must be at least 1.3x brighter than the mean to be pointed at (an evenly lit
room has no "window"). Pure functions on BGR uint8 arrays: any thread.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from resources import ROOT as RESOURCES

from vision.perception.analyze import clock_position

NAMES_FILE = RESOURCES / "colour_names.txt"
MIN_SHARE = 0.12
DARK = 0.15
LIT = 0.40
HOTSPOT = 1.3

Box = tuple[int, int, int, int]


@lru_cache(maxsize=1)
def colour_table() -> tuple[tuple[str, ...], np.ndarray]:
    """(names, CIELAB values as float32 (n, 3) in OpenCV's 8-bit Lab scale)."""
    names, rgb = [], []
    for line in NAMES_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"(.+?)\s+#([0-9a-fA-F]{6})", line)
        if not match:
            raise ValueError(f"{NAMES_FILE.name}: cannot read {line!r}")
        names.append(match.group(1))
        value = match.group(2)
        rgb.append([int(value[i:i + 2], 16) for i in (0, 2, 4)])
    bgr = np.array(rgb, np.uint8)[:, ::-1].reshape(-1, 1, 3)
    lab = cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2LAB).reshape(-1, 3)
    return tuple(names), lab.astype(np.float32)


def name_of(bgr: tuple[int, int, int] | np.ndarray) -> str:
    """The plain name nearest to one BGR colour."""
    pixel = np.asarray(bgr, np.uint8).reshape(1, 1, 3)
    lab = cv2.cvtColor(pixel, cv2.COLOR_BGR2LAB).reshape(3).astype(np.float32)
    names, table = colour_table()
    return names[int(np.argmin(((table - lab) ** 2).sum(axis=1)))]


def centre_box(width: int, height: int) -> Box:
    """The middle half of the picture each way: what "this" is when you point a camera."""
    return (width // 4, height // 4, width - width // 4, height - height // 4)


@dataclass(frozen=True)
class Colours:
    """Named colours of a region, biggest first: (name, share 0..1)."""

    colours: tuple[tuple[str, float], ...]
    box: Box

    def sentence(self, what: str = "") -> str:
        return colour_sentence(self, what)


def dominant_colours(image_bgr: np.ndarray, box: Box | None = None, k: int = 4,
                     seed: int = 0) -> Colours:
    """The main colours of `box` (default: the centre half), biggest share first."""
    if image_bgr is None or image_bgr.size == 0:
        raise ValueError("empty image")
    h, w = image_bgr.shape[:2]
    x0, y0, x1, y1 = box or centre_box(w, h)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(w, max(x1, x0 + 1)), min(h, max(y1, y0 + 1))
    region = image_bgr[y0:y1, x0:x1]
    if region.ndim == 2:
        region = cv2.cvtColor(region, cv2.COLOR_GRAY2BGR)
    small = cv2.resize(region, (min(64, region.shape[1]), min(64, region.shape[0])),
                       interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    k = max(1, min(k, len(lab)))
    cv2.setRNGSeed(seed)
    _, labels, centres = cv2.kmeans(
        lab, k, None, (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5), 3,
        cv2.KMEANS_PP_CENTERS)
    counts = np.bincount(labels.ravel(), minlength=k).astype(float)
    names, table = colour_table()
    shares: dict[str, float] = {}
    for centre, count in zip(centres, counts):
        name = names[int(np.argmin(((table - centre) ** 2).sum(axis=1)))]
        shares[name] = shares.get(name, 0.0) + count / counts.sum()
    ordered = tuple(sorted(shares.items(), key=lambda p: -p[1]))
    return Colours(ordered, (x0, y0, x1, y1))


def colour_sentence(colours: Colours, what: str = "") -> str:
    """"Mostly dark red, with some white." / "Brown and cream, with some black." `what`
    names the thing ("The mug is mostly ...")."""
    kept = [(n, s) for n, s in colours.colours if s >= MIN_SHARE] or list(colours.colours[:1])
    main, rest = kept[0], kept[1:]
    if main[1] >= 0.5 or not rest:
        lead = ("mostly " if main[1] < 0.85 else "") + main[0]
        some = [n for n, _ in rest]
    else:
        lead = f"{main[0]} and {rest[0][0]}"
        some = [n for n, _ in rest[1:]]
    text = lead + (", with some " + " and ".join(some[:2]) if some else "")
    if what:
        return f"The {what} is {text}."
    return text[0].upper() + text[1:] + "."


# --------------------------------------------------------------------------- light


@dataclass(frozen=True)
class Light:
    """`brightness` mean grey 0..1; `brightest` the brightest part's box (a cell of a 4x4 grid)
    and `contrast` its brightness over the mean."""

    brightness: float
    brightest: Box
    peak: float
    width: int
    height: int

    @property
    def dark(self) -> bool:
        return self.brightness < DARK

    @property
    def lit(self) -> bool:
        return self.brightness >= LIT

    @property
    def has_hotspot(self) -> bool:
        return self.peak >= HOTSPOT * max(self.brightness, 1e-3) and self.peak > 0.5

    def where(self) -> str:
        x0, y0, x1, y1 = self.brightest
        parts = [clock_position((x0 + x1) / 2, self.width)]
        cy = (y0 + y1) / 2 / max(self.height, 1)
        if cy < 1 / 3:
            parts.append("at the top")
        elif cy > 2 / 3:
            parts.append("at the bottom")
        return ", ".join(parts)


def light(image_bgr: np.ndarray, grid: int = 4) -> Light:
    if image_bgr is None or image_bgr.size == 0:
        raise ValueError("empty image")
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    h, w = grey.shape[:2]
    cells = cv2.resize(grey, (grid, grid), interpolation=cv2.INTER_AREA).astype(float) / 255
    gy, gx = np.unravel_index(int(np.argmax(cells)), cells.shape)
    box = (round(gx * w / grid), round(gy * h / grid), round((gx + 1) * w / grid),
           round((gy + 1) * h / grid))
    return Light(float(grey.mean()) / 255, box, float(cells.max()), w, h)


def light_sentences(result: Light, question: str = "") -> list[str]:
    """"Is the light on?" and "where is the window / the light?", from brightness alone."""
    pointing = bool(re.search(r"\b(where|which way|window|brightest|lamp)\b", question, re.I))
    out = []
    level = round(result.brightness * 100)
    if result.dark:
        out.append(f"It's dark: the light seems to be off (brightness {level}%).")
    elif result.lit:
        out.append(f"Yes, it's bright: the light seems to be on (brightness {level}%).")
    else:
        out.append(f"It's dim (brightness {level}%).")
    if result.has_hotspot:
        out.append(f"The brightest part is {result.where()}.")
    elif pointing:
        out.append("No part stands out as brighter: the light is even.")
    return out
