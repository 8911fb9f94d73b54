"""Printed pages whose text is known by construction, for `glimpse bench read` and the tests.

`make_page(spec)` renders a paragraph with a TrueType font (DejaVu from Debian's
`fonts-dejavu-core`, or any font found by `fc-list`) onto a slightly textured paper, then turns,
tilts, shrinks, blurs, darkens or perspective-warps it as the spec says. `CASES` is the default
set, grouped into the classes the benchmark reports; `real_photos()` the photographs in the
repository with hand-written references.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ui.bench.kit import TEST_DATA

PARAGRAPHS = (
    ("The quick brown fox jumps over the lazy dog while the",
     "rest of this data set are specified as follows in the",
     "manual. Each reader should check that every word is",
     "spoken with its spaces and in the order of the page."),
    ("Take two tablets by mouth every six hours with food.",
     "Do not take more than eight tablets in one day. Keep",
     "out of reach of children and store in a cool place."),
    ("Our office will be closed on Monday for the holiday.",
     "Please leave parcels at the front desk of the north",
     "building, or call the number below to arrange a time",
     "that suits you. Thank you for your patience."),
)
FONT_NAMES = ("DejaVuSerif.ttf", "DejaVuSans.ttf", "DejaVuSansMono.ttf",
              "DejaVuSerifCondensed.ttf")
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)


@dataclass(frozen=True)
class PageSpec:
    """One generated page. `rotate` is a quarter turn clockwise; `tilt` degrees clockwise."""

    name: str
    klass: str
    paragraph: int = 0
    font: str = "DejaVuSerif.ttf"
    size: int = 22
    rotate: int = 0
    tilt: float = 0.0
    scale: float = 1.0
    blur: float = 0.0
    dim: float = 1.0
    warp: float = 0.0
    canvas: float = 1.0  # >1: the page sits small in a bigger frame (a desk around it)

    @property
    def reference(self) -> str:
        return "\n".join(PARAGRAPHS[self.paragraph])


def font_path(name: str) -> Path:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    try:
        listed = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True,
                                text=True, timeout=10).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        listed = []
    for path in listed:
        if path.endswith(name):
            return Path(path)
    ttf = [p for p in listed if p.endswith(".ttf")]
    if ttf:
        return Path(ttf[0])
    raise FileNotFoundError("No TrueType font found; install fonts-dejavu-core")


def make_page(spec: PageSpec, seed: int = 0) -> np.ndarray:
    """The page as a BGR picture."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    font = ImageFont.truetype(str(font_path(spec.font)), spec.size)
    lines = PARAGRAPHS[spec.paragraph]
    pad, step = int(spec.size * 1.4), int(spec.size * 1.5)
    w = int(max(font.getlength(t) for t in lines)) + 2 * pad
    h = step * len(lines) + 2 * pad
    page = Image.new("L", (w, h), 240)
    draw = ImageDraw.Draw(page)
    for i, text in enumerate(lines):
        draw.text((pad, pad + i * step), text, font=font, fill=25)
    grey = np.asarray(page, dtype=np.float32)
    grey += rng.normal(0, 3, grey.shape)  # paper grain
    image = cv2.cvtColor(np.clip(grey, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if spec.canvas > 1:
        ch, cw = int(h * spec.canvas), int(w * spec.canvas)
        desk = np.full((ch, cw, 3), (90, 110, 130), np.uint8)
        y, x = (ch - h) // 2, (cw - w) // 2
        desk[y:y + h, x:x + w] = image
        image = desk
    if spec.warp:
        hh, ww = image.shape[:2]
        d = spec.warp * ww
        src = np.float32([[0, 0], [ww, 0], [ww, hh], [0, hh]])
        dst = np.float32([[d, d * 0.3], [ww - d * 0.2, 0], [ww, hh], [0, hh - d * 0.2]])
        image = cv2.warpPerspective(image, cv2.getPerspectiveTransform(src, dst), (ww, hh),
                                    borderMode=cv2.BORDER_REPLICATE)
    if spec.tilt:
        hh, ww = image.shape[:2]
        m = cv2.getRotationMatrix2D((ww / 2, hh / 2), -spec.tilt, 1.0)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = int(hh * sin + ww * cos), int(hh * cos + ww * sin)
        m[0, 2] += nw / 2 - ww / 2
        m[1, 2] += nh / 2 - hh / 2
        image = cv2.warpAffine(image, m, (nw, nh), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
    turns = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
             270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    if spec.rotate:
        image = cv2.rotate(image, turns[spec.rotate])
    if spec.scale != 1.0:
        hh, ww = image.shape[:2]
        image = cv2.resize(image, (max(1, round(ww * spec.scale)), max(1, round(hh * spec.scale))),
                           interpolation=cv2.INTER_AREA)
    if spec.blur:
        image = cv2.GaussianBlur(image, (0, 0), spec.blur)
    if spec.dim != 1.0:
        noisy = image.astype(np.float32) * spec.dim + rng.normal(0, 2.0, image.shape)
        image = np.clip(noisy, 0, 255).astype(np.uint8)
    return image


CASES: tuple[PageSpec, ...] = (
    PageSpec("upright-serif", "upright"),
    PageSpec("upright-sans", "upright", paragraph=1, font="DejaVuSans.ttf", size=20),
    PageSpec("upright-mono", "upright", paragraph=2, font="DejaVuSansMono.ttf", size=18),
    PageSpec("upright-condensed", "upright", paragraph=2, font="DejaVuSerifCondensed.ttf"),
    PageSpec("rot90", "rotated", rotate=90),
    PageSpec("rot180", "rotated", paragraph=1, font="DejaVuSans.ttf", rotate=180),
    PageSpec("rot270", "rotated", paragraph=2, rotate=270),
    PageSpec("tilt+5", "tilted", tilt=5),
    PageSpec("tilt-7", "tilted", paragraph=1, font="DejaVuSans.ttf", tilt=-7),
    PageSpec("tilt+12", "tilted", paragraph=2, tilt=12),
    PageSpec("tilt-20", "tilted", tilt=-20),
    PageSpec("rot90+tilt10", "tilted", paragraph=1, rotate=90, tilt=10),
    PageSpec("half-size", "small", scale=0.5),
    PageSpec("small-14px", "small", paragraph=1, font="DejaVuSans.ttf", size=14),
    PageSpec("small-in-frame", "small", paragraph=2, canvas=2.5, scale=0.6),
    PageSpec("blurred", "blurred/dim", blur=1.2),
    PageSpec("dim", "blurred/dim", paragraph=1, dim=0.35),
    PageSpec("warped", "blurred/dim", paragraph=2, warp=0.06),
)


def real_photos(folder: Path | None = None) -> list[tuple[str, Path, str]]:
    """(name, picture, reference text) for each picture in `folder` with a `.txt` beside it."""
    folder = folder or TEST_DATA / "text"
    out = []
    for ref in sorted(folder.glob("*.txt")):
        for ext in (".jpg", ".png", ".jpeg"):
            picture = ref.with_suffix(ext)
            if picture.is_file():
                out.append((picture.stem, picture, ref.read_text()))
                break
    return out


#: The large photo's words, in the order read mode says them (columns, then rows).
PHOTO_WORDS = ("Bosch", "Corsair", "Noctua", "Kingston")


def make_large_photo(size: int = 40, width: int = 6000, height: int = 4000, blur: float = 1.5
                     ) -> tuple[np.ndarray, tuple[str, ...]]:
    """A 24-megapixel "phone photo": scikit-image's coffee cup scaled up, with four brand
    names printed small (DejaVu Sans at `size` px, cap height about 0.73 of it) on light
    labels, two near the left corners and two near the right. Returns the picture (BGR) and
    the words in reading order (left column top to bottom, then the right column)."""
    from PIL import Image, ImageDraw, ImageFont
    from skimage import data

    rng = np.random.default_rng(1)
    photo = cv2.resize(data.coffee()[:, :, ::-1], (width, height), interpolation=cv2.INTER_CUBIC)
    photo = np.clip(photo.astype(np.float32) + rng.normal(0, 3, photo.shape), 0, 255)
    font = ImageFont.truetype(str(font_path("DejaVuSans.ttf")), size)
    spots = ((0.03, 0.04), (0.05, 0.93), (0.86, 0.06), (0.84, 0.91))  # (x, y) of each label
    for word, (fx, fy) in zip(PHOTO_WORDS, spots):
        w, h = int(font.getlength(word)) + size, int(size * 1.8)
        label = Image.new("L", (w, h), 235)
        ImageDraw.Draw(label).text((size // 2, int(size * 0.35)), word, font=font, fill=30)
        x, y = int(fx * width), min(int(fy * height), height - h - 20)
        photo[y:y + h, x:x + w] = np.asarray(label, np.float32)[:, :, None]
    photo = cv2.GaussianBlur(np.clip(photo, 0, 255).astype(np.uint8), (0, 0), blur)
    # a phone's JPEG, as the reader gets it
    ok, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR), PHOTO_WORDS
