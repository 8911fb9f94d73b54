"""Draw the Glimpse icon: an eye whose iris is a lens, with two sound waves beside it.

One geometry, two renderings: `resources/icons/glimpse.svg` (scalable) and PNGs drawn with PIL
at 16..512 px (plus .ico and .icns for the Windows and macOS bundles). The PNGs are drawn 4x
larger and scaled down, which anti-aliases the curves. Also rewrites the packaged .desktop and
AppStream files from `ui.desktop`, so the installed and packaged copies never differ.

    python packaging/make_icons.py
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

# Geometry on a 512 x 512 canvas.
BG_TOP, BG_BOTTOM = (30, 58, 138), (14, 116, 144)      # indigo to teal
RADIUS = 104                                             # background corner radius
EYE_CX, EYE_CY, EYE_HALF_W, EYE_CTRL = 196, 256, 140, 150  # almond: two quadratic curves
IRIS_R, PUPIL_R, GLINT = 64, 30, (218, 234, 11)          # glint: x, y, r
IRIS, PUPIL, WHITE = (8, 145, 178), (15, 23, 42), (255, 255, 255)
WAVES = (178, 228)                                       # arc radii around the eye centre
WAVE_HALF_ANGLE, WAVE_WIDTH = 34, 24                     # degrees, px


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


def _quad(p0, p1, p2, steps=64):
    return [((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t * t * p2[0],
             (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t * t * p2[1])
            for t in (i / steps for i in range(steps + 1))]


def svg() -> str:
    left, right = EYE_CX - EYE_HALF_W, EYE_CX + EYE_HALF_W
    arcs = []
    for r in WAVES:
        a = math.radians(WAVE_HALF_ANGLE)
        x, y0, y1 = EYE_CX + r * math.cos(a), EYE_CY - r * math.sin(a), EYE_CY + r * math.sin(a)
        arcs.append(f'  <path d="M{x:.1f},{y0:.1f} A{r},{r} 0 0 1 {x:.1f},{y1:.1f}" fill="none" '
                    f'stroke="{_hex(WHITE)}" stroke-width="{WAVE_WIDTH}" stroke-linecap="round"/>')
    gx, gy, gr = GLINT
    return "\n".join([
        '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">',
        '  <title>Glimpse</title>',
        '  <defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">',
        f'    <stop offset="0" stop-color="{_hex(BG_TOP)}"/>',
        f'    <stop offset="1" stop-color="{_hex(BG_BOTTOM)}"/>',
        '  </linearGradient></defs>',
        f'  <rect x="0" y="0" width="512" height="512" rx="{RADIUS}" fill="url(#bg)"/>',
        f'  <path d="M{left},{EYE_CY} Q{EYE_CX},{EYE_CY - EYE_CTRL} {right},{EYE_CY} '
        f'Q{EYE_CX},{EYE_CY + EYE_CTRL} {left},{EYE_CY} Z" fill="{_hex(WHITE)}"/>',
        f'  <circle cx="{EYE_CX}" cy="{EYE_CY}" r="{IRIS_R}" fill="{_hex(IRIS)}"/>',
        f'  <circle cx="{EYE_CX}" cy="{EYE_CY}" r="{PUPIL_R}" fill="{_hex(PUPIL)}"/>',
        f'  <circle cx="{gx}" cy="{gy}" r="{gr}" fill="{_hex(WHITE)}"/>',
        *arcs,
        "</svg>",
        "",
    ])


def raster(size: int) -> Image.Image:
    big = 2048  # draw 4x the largest size, then scale down
    k = big / 512
    # Background: vertical gradient inside a rounded square.
    grad = Image.new("RGB", (1, big))
    for y in range(big):
        t = y / (big - 1)
        grad.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(BG_TOP, BG_BOTTOM)))
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, big - 1, big - 1), RADIUS * k, fill=255)
    img.paste(grad.resize((big, big)), (0, 0), mask)
    d = ImageDraw.Draw(img)

    left, right = EYE_CX - EYE_HALF_W, EYE_CX + EYE_HALF_W
    top = _quad((left, EYE_CY), (EYE_CX, EYE_CY - EYE_CTRL), (right, EYE_CY))
    bottom = _quad((right, EYE_CY), (EYE_CX, EYE_CY + EYE_CTRL), (left, EYE_CY))
    d.polygon([(x * k, y * k) for x, y in top + bottom], fill=WHITE)

    def circle(cx, cy, r, fill):
        d.ellipse(((cx - r) * k, (cy - r) * k, (cx + r) * k, (cy + r) * k), fill=fill)

    circle(EYE_CX, EYE_CY, IRIS_R, IRIS)
    circle(EYE_CX, EYE_CY, PUPIL_R, PUPIL)
    circle(*GLINT, WHITE)
    # Small icons get thicker waves so they survive scaling down.
    width = WAVE_WIDTH * (1.6 if size <= 24 else 1.25 if size <= 48 else 1.0)
    for r in WAVES:
        # PIL strokes an arc inward from its box; widen the box so the stroke is centred on r.
        outer = r + width / 2
        box = ((EYE_CX - outer) * k, (EYE_CY - outer) * k, (EYE_CX + outer) * k,
               (EYE_CY + outer) * k)
        d.arc(box, -WAVE_HALF_ANGLE, WAVE_HALF_ANGLE, fill=WHITE, width=round(width * k))
        a = math.radians(WAVE_HALF_ANGLE)
        for sign in (-1, 1):  # round caps
            circle(EYE_CX + r * math.cos(a), EYE_CY + sign * r * math.sin(a), width / 2, WHITE)
    return img.resize((size, size), Image.LANCZOS)


def main() -> int:
    ICONS.mkdir(parents=True, exist_ok=True)
    (ICONS / "glimpse.svg").write_text(svg(), encoding="utf-8")
    images = {}
    for size in SIZES:
        images[size] = raster(size)
        images[size].save(ICONS / f"glimpse-{size}.png", optimize=True)
    images[256].save(ICONS / "glimpse.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    images[512].save(ICONS / "glimpse.icns")

    sys.path.insert(0, str(ROOT))
    from ui import desktop

    packaging = ROOT / "packaging"
    (packaging / desktop.DESKTOP_FILE).write_text(desktop.desktop_entry("glimpse"),
                                                  encoding="utf-8")
    (packaging / desktop.METAINFO_FILE).write_text(desktop.metainfo(), encoding="utf-8")
    print(f"wrote {len(SIZES)} PNGs, glimpse.svg, .ico, .icns and the packaged desktop files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
