"""`glimpse bench read [DIR] [--json OUT] [--quick]`: read mode against its peers, same images,
same run.

Images: the generated pages of `ui.bench.kit.read_pages.CASES` (fonts and sizes; turned 90, 180,
270; tilted 5 to 20 degrees; small; blurred, dim, perspective-warped; references known by
construction), the photos in DIR (default `tests/data/text/`), each with a hand-written
reference `.txt` beside it, and a 24 MP photo with four small brand names
(`make_large_photo`, class "large photo"), also read with the fine pass off (`glimpse_whole`).

Readers, each on every image:
- glimpse: `vision.reading.reader.Reader` with `ocr.engine = auto` (warm);
- tesseract: `tesseract` on the picture as it is, `--psm 3` (when installed);
- rapidocr: one plain RapidOCR pass, lines in the order it returns them;
- with `--spacing`: Glimpse's reader on RapidOCR alone (no Tesseract), the word spaces put back
  three ways: `spacing_ink` (the gaps in the ink, what read mode does), `spacing_dictionary`
  (wordninja's word frequencies on every token that is not an English word) and
  `spacing_none` (the recognizer's own text).

Scores: WER and CER (`ui.bench.kit.scoring`, normalized: case and punctuation ignored) and time per
image. The calibration figures (a fixed 256x256 float32 matmul, a fixed recognizer pass on a
48x320 strip) are measured in the same run, so runs on a loaded or faster machine compare by
ratio. The JSON `summary` holds `wer`, `cer`, `tesseract_wer`, `rapidocr_wer`,
`ms_per_image_p50` and the same per class.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from assistant.config import Config
from ui.bench.kit import report
from ui.bench.kit.read_pages import CASES, make_large_photo, make_page, real_photos
from ui.bench.kit.scoring import cer, wer


def _args(rest: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="glimpse bench read")
    p.add_argument("dir", nargs="?", default=None,
                   help="folder of photos with a reference .txt beside each")
    p.add_argument("--only", default="", help="comma-separated classes to run (e.g. rotated)")
    p.add_argument("--quick", action="store_true", help="one image per class")
    p.add_argument("--spacing", action="store_true",
                   help="also compare how the word spaces are put back: the ink gaps (Glimpse), "
                        "a dictionary segmenter (wordninja), none; RapidOCR reading every image")
    p.add_argument("--json", default=None)
    return p.parse_args([a for a in rest if a != "--"])


def calibration(rapid) -> dict[str, float]:
    """Fixed work, timed in this run: a 256x256 matmul (x20) and one recognizer pass."""
    rng = np.random.default_rng(0)
    a = rng.random((256, 256), dtype=np.float32)
    strip = np.zeros((1, 3, 48, 320), np.float32)
    session = rapid.text_rec.session
    session(strip)
    mm, rec = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(20):
            a @ a
        mm.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        session(strip)
        rec.append((time.perf_counter() - t0) * 1000)
    return {"matmul_ms": statistics.median(mm), "rec_pass_ms": statistics.median(rec)}


def images(opts: argparse.Namespace) -> list[tuple[str, str, np.ndarray, str]]:
    """(name, class, picture, reference) for every image of the run."""
    out = []
    seen: set[str] = set()
    only = {c.strip() for c in opts.only.split(",") if c.strip()}
    for spec in CASES:
        if (only and spec.klass not in only) or (opts.quick and spec.klass in seen):
            continue
        seen.add(spec.klass)
        out.append((spec.name, spec.klass, make_page(spec), spec.reference))
    if not only or "real photos" in only:
        folder = Path(opts.dir) if opts.dir else None
        for name, path, reference in real_photos(folder):
            picture = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if picture is None:
                print(f"glimpse: skipping {path}: not a picture", file=sys.stderr)
                continue
            out.append((name, "real photos", picture, reference))
    if not only or "large photo" in only:
        picture, words = make_large_photo(20)
        out.append(("large-photo-24mp", "large photo", picture, "\n".join(words)))
    return out


def _timed(fn, picture) -> tuple[str, float]:
    t0 = time.perf_counter()
    text = fn(picture)
    return text, (time.perf_counter() - t0) * 1000


def main(args: argparse.Namespace, config: Config) -> int:
    from rapidocr_onnxruntime import RapidOCR

    from vision.perception.ocr import tesseract_status
    from vision.reading.reader import Reader

    opts = _args(list(getattr(args, "rest", None) or []))
    out_path = getattr(args, "json", None) or opts.json
    opts.quick = bool(getattr(args, "quick", False) or opts.quick)
    reader = Reader("auto")
    reader.load()
    whole = Reader("auto", tiles=False)  # the fine pass off, for the large photo
    plain = RapidOCR()
    has_tess, tess_note = tesseract_status()
    if not has_tess:
        print(f"glimpse: {tess_note}", file=sys.stderr)

    def glimpse(picture):
        return reader.read(picture).text

    def rapid(picture):
        result, _elapsed = plain(picture)
        return "\n".join(str(text) for _box, text, _score in result or [])

    def tesseract(picture):
        import pytesseract

        return pytesseract.image_to_string(picture[:, :, ::-1], config="--psm 3")

    readers = {"glimpse": glimpse, "rapidocr": rapid}
    if has_tess:
        readers["tesseract"] = tesseract
    if opts.spacing:
        for how in ("ink", "dictionary", "none"):
            variant = Reader("rapidocr")
            variant.rapid.spacing = how
            variant.load()
            readers[f"spacing_{how}"] = lambda picture, r=variant: r.read(picture).text
    todo = images(opts)
    calib = calibration(plain)
    for fn in readers.values():  # warm-up: first-call costs are not reading
        fn(todo[0][2])
    rows = []
    for name, klass, picture, reference in todo:
        row = {"image": name, "class": klass, "size": [int(picture.shape[1]),
                                                       int(picture.shape[0])]}
        for who, fn in readers.items():
            if who.startswith("spacing_") and klass == "large photo":
                continue  # spaces are measured on pages; the large photo is about tiles
            text, ms = _timed(fn, picture)
            row[who] = {"wer": wer(reference, text), "cer": cer(reference, text),
                        "ms": ms, "text": text}
        if klass == "large photo":
            text, ms = _timed(lambda p: whole.read(p).text, picture)
            row["glimpse_whole"] = {"wer": wer(reference, text), "cer": cer(reference, text),
                                    "ms": ms, "text": text}
            print(f"glimpse: {name}: without tiles WER {row['glimpse_whole']['wer']:.2f} "
                  f"{ms:.0f} ms", file=sys.stderr)
        rows.append(row)
        print(f"glimpse: {name}: " + ", ".join(
            f"{who} WER {row[who]['wer']:.2f} {row[who]['ms']:.0f} ms" for who in readers
            if who in row),
            file=sys.stderr)
    calib_after = calibration(plain)

    def mean(who: str, key: str, subset) -> float:
        vals = [r[who][key] for r in subset if who in r]
        return float(np.mean(vals)) if vals else float("nan")

    classes = list(dict.fromkeys(r["class"] for r in rows))
    per_class = {}
    table_rows = []
    for klass in classes + ["all"]:
        subset = [r for r in rows if klass in ("all", r["class"])]
        entry = {"images": len(subset), "wer": mean("glimpse", "wer", subset),
                 "cer": mean("glimpse", "cer", subset),
                 "rapidocr_wer": mean("rapidocr", "wer", subset),
                 "tesseract_wer": mean("tesseract", "wer", subset),
                 "ms_p50": report.pct([r["glimpse"]["ms"] for r in subset], 50),
                 "rapidocr_ms_p50": report.pct([r["rapidocr"]["ms"] for r in subset], 50),
                 "tesseract_ms_p50": report.pct([r["tesseract"]["ms"] for r in subset
                                                 if "tesseract" in r], 50)}
        per_class[klass] = entry
        table_rows.append([klass, entry["images"], entry["wer"], entry["cer"],
                           entry["tesseract_wer"], entry["rapidocr_wer"],
                           round(entry["ms_p50"]), round(entry["tesseract_ms_p50"])
                           if has_tess else "-", round(entry["rapidocr_ms_p50"])])
    total = per_class["all"]
    summary = {"wer": total["wer"], "cer": total["cer"], "tesseract_wer": total["tesseract_wer"],
               "rapidocr_wer": total["rapidocr_wer"], "ms_per_image_p50": total["ms_p50"],
               "tesseract_ms_p50": total["tesseract_ms_p50"],
               "rapidocr_ms_p50": total["rapidocr_ms_p50"], "images": len(rows),
               "calibration_rec_pass_ms": calib["rec_pass_ms"],
               "calibration_matmul_ms": calib["matmul_ms"],
               "calibration_rec_pass_ms_after": calib_after["rec_pass_ms"]}
    spacing = [who for who in readers if who.startswith("spacing_")]
    if spacing:
        summary["spacing_wer"] = {who[8:]: mean(who, "wer", rows) for who in spacing}
        for klass in classes + ["all"]:
            subset = [r for r in rows if klass in ("all", r["class"])]
            per_class[klass]["spacing_wer"] = {who[8:]: mean(who, "wer", subset)
                                               for who in spacing}
    headers = ["class", "images", "Glimpse WER", "Glimpse CER", "Tesseract WER",
               "RapidOCR WER", "Glimpse ms p50", "Tesseract ms p50", "RapidOCR ms p50"]
    markdown = "\n".join([
        "## glimpse bench read",
        "",
        report.table(headers, table_rows),
        "",
        f"Calibration in this run: one recognizer pass on a 48x320 strip "
        f"{calib['rec_pass_ms']:.1f} ms before, {calib_after['rec_pass_ms']:.1f} ms after; "
        f"20 matmuls 256x256 {calib['matmul_ms']:.1f} ms.",
        "WER/CER: lower case, punctuation ignored. Tesseract: `--psm 3` on the picture as "
        "it is. RapidOCR: one plain pass, lines in its own order.",
        "",
        *([report.table(["class", "images"] + [f"spaces: {w[8:]} WER" for w in spacing],
                        [[k, per_class[k]["images"]]
                         + [per_class[k]["spacing_wer"][w[8:]] for w in spacing]
                         for k in classes + ["all"]]),
           "Spaces: RapidOCR alone reads every image; only how the dropped word spaces are "
           "put back differs.", ""] if spacing else []),
        report.table(["image", "class"] + [f"{who} WER" for who in readers],
                     [[r["image"], r["class"]] + [r[who]["wer"] if who in r else "-"
                                                  for who in readers]
                      for r in rows]),
    ])
    report.write(out_path, "read", summary, {"classes": per_class, "images": rows,
                                              "calibration": {"before": calib,
                                                              "after": calib_after}}, markdown)
    return 0
