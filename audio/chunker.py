"""Sentence chunking for streaming speech: answer tokens in, speakable pieces out.

The first piece is cut at a clause (a comma, colon or dash after a few words) so speech starts
early; later pieces are whole sentences. Abbreviations ("e.g.", "Dr."), decimals ("3.5"),
list numbers ("1."), URLs and code are never split inside.
"""
from __future__ import annotations

import re

_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "approx", "no",
    "fig", "inc", "ltd", "co", "mt", "ft", "in", "lb", "oz", "min", "max", "dept", "est", "u.s",
}
_URL = re.compile(r"(https?://|www\.)\S*$", re.IGNORECASE)


class SentenceChunker:
    """Feed text pieces with `push`; get speakable chunks back. `flush` returns the rest.

    Not thread-safe: one chunker per turn, used by the TTS stage thread.
    """

    def __init__(self, first_clause_words: int = 4, max_chars: int = 400) -> None:
        self.first_clause_words = first_clause_words
        self.max_chars = max_chars
        self._buf = ""
        self._emitted = 0
        self._in_code = False

    def push(self, text: str) -> list[str]:
        self._buf += text
        out: list[str] = []
        while True:
            cut = self._find_cut()
            if cut is None:
                break
            piece, self._buf = self._buf[:cut], self._buf[cut:]
            piece = piece.strip()
            if piece:
                out.append(piece)
                self._emitted += 1
        return out

    def flush(self) -> list[str]:
        rest, self._buf = self._buf.strip(), ""
        return [rest] if rest else []

    def _find_cut(self) -> int | None:
        buf = self._buf
        if buf.count("```") % 2 == 1:
            return None  # inside a code block: wait for its end
        for match in re.finditer(r"([.!?]+[\"')\]]*)(\s+)|(\n\s*\n)|([:;,\u2014-])(\s+)", buf):
            end = match.end()
            if match.group(3):
                return end
            if match.group(4):
                if self._emitted == 0 and len(buf[:match.start()].split()) >= self.first_clause_words:
                    return end
                continue
            if self._is_sentence_end(buf, match.start(1), match.group(1)):
                return end
        if len(buf) > self.max_chars:
            space = buf.rfind(" ", 0, self.max_chars)
            return space if space > 0 else self.max_chars
        return None

    @staticmethod
    def _is_sentence_end(buf: str, dot: int, punct: str) -> bool:
        if punct[0] != ".":
            return True
        before = buf[:dot]
        word = re.split(r"\s", before)[-1] if before else ""
        if _URL.search(before):
            return False
        if word.lower().rstrip(".") in _ABBREV or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]?", word):
            return False
        if re.fullmatch(r"\d+", word) and len(before.strip()) == len(word):
            return False  # "1." at the start of a list item
        if re.search(r"(^|\n)\s*\d+$", before):
            return False
        return True
