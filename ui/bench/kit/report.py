"""Shared benchmark output: machine info, percentiles, a Markdown table and JSON."""
from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["vram_gb"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    except ImportError:
        pass
    return info


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats with 1 decimal (3 if < 1)."""
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 1 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write(path: str | None, name: str, summary: dict[str, Any], details: dict[str, Any],
          markdown: str) -> dict[str, Any]:
    """Print the table to stdout and write JSON (with `summary` on top) and a .md beside it."""
    document = {"benchmark": name, "summary": summary, "machine": machine_info(), **details}
    print(markdown)
    if path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(document, indent=2, default=float))
        out.with_suffix(".md").write_text(markdown + "\n")
    return document


def info(message: str) -> None:
    """A progress line on stderr (stdout carries only results)."""
    print(f"glimpse: {message}", file=sys.stderr)


def latency_picture(path: Path, turns: list[dict[str, Any]], per_stage: dict[str, list[float]],
                    stages: tuple[tuple[str, str], ...], title: str = "",
                    floors: dict[str, float] | None = None) -> None:
    """Left: a waterfall of the median turn (with each stage's floor as a black bar when given);
    right: a box plot per stage over all turns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    totals = [t["stages"]["release_to_first_audio"] or 0 for t in turns]
    median_turn = turns[int(np.argsort(totals)[len(totals) // 2])]
    spans = [(name, label) for name, label in stages if name != "release_to_first_audio"]
    start = 0.0
    for i, (name, label) in enumerate(spans):
        width = median_turn["stages"][name] or 0.0
        ax1.barh(i, width, left=start, color=f"C{i}")
        if floors and floors.get(name) is not None:
            ax1.barh(i, floors[name], left=start, height=0.25, color="black")
        ax1.text(start + width + 5, i, f"{width:.0f} ms", va="center", fontsize=9)
        start += width
    ax1.set_yticks(range(len(spans)), [label for _, label in spans], fontsize=9)
    ax1.invert_yaxis()
    ax1.set_xlabel("ms after release")
    ax1.set_title(f"{title}One turn (median): release -> first audible word {start:.0f} ms"
                  + ("\n(black: the stage's compute/bandwidth floor)" if floors else ""),
                  fontsize=10)
    names = [label for name, label in stages if per_stage.get(name)]
    ax2.boxplot([per_stage[name] for name, _ in stages if per_stage.get(name)], vert=False)
    ax2.set_yticks(range(1, len(names) + 1), names, fontsize=9)
    ax2.invert_yaxis()
    ax2.set_xlabel("ms")
    ax2.set_title(f"Per stage over {len(turns)} turns")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
