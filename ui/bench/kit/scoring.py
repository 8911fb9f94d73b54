"""Accuracy scores shared by the benchmarks and the tests: word and character error rates.

Both texts are normalized the way Glimpse's own transcripts are compared (lower case, no
punctuation, `audio.asr.engines.normalize`) before jiwer counts the edits, so "Ask not, what" and
"ask not what" score 0. An empty reference scores 0 against an empty hypothesis and 1 otherwise.
"""
from __future__ import annotations

import jiwer

from audio.asr.engines import normalize


def _pair(reference: str, hypothesis: str) -> tuple[str, str]:
    return normalize(reference), normalize(hypothesis)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of `hypothesis` against `reference` (0 = exact; can exceed 1)."""
    ref, hyp = _pair(reference, hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate after the same normalization (spaces count as characters)."""
    ref, hyp = _pair(reference, hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.cer(ref, hyp))
