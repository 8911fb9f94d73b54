"""Sentence chunking for streaming speech: answer tokens in, speakable pieces out.

The first piece is cut at a clause (a comma, colon, semicolon or dash after a few words) that comes
within `first_max_words` + 2 words, else after `first_max_words` words when more follow (one fewer
rather than end on "a", "an" or "the"), so speech starts while the model is still writing and the
first synthesis is short (Piper: three words ~60 ms, a five-word sentence ~100 ms). Later pieces are
whole sentences (at most `max_chars`). A first piece cut inside a clause is remembered
(`cut_inside_clause`), so the speech stage can join it to the next without a pause. Never split
inside: abbreviations ("e.g.", "Dr."), initialisms ("U.S."), decimals and times ("3.5", "10:30"),
list numbers ("1."), URLs, e-mail addresses and fenced code blocks. Markdown list items and
headings end a piece.

`cut_short()` gives what is pending before a sentence ends, when the listener would otherwise
wait: up to its last clause mark, else up to its last whole word (never ending on an article);
the TTS stage asks for it when the speech already made runs out before the model has written
the rest of the sentence.
"""
from __future__ import annotations

import re

_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "approx",
    "fig", "inc", "ltd", "mt", "ft", "lb", "oz", "dept", "u.s", "cf", "al", "ca", "nr", "vol",
    "ch", "sec", "gen", "gov", "sgt", "capt", "lt", "col", "rev", "hon", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu",
    "fri", "sat", "sun", "z.b", "bzw", "usw", "ggf", "evtl", "vgl",
}
# Abbreviations that are also ordinary words: only one when a number follows ("No. 5", "p. 12").
_ABBREV_BEFORE_NUMBER = {"no", "nos", "p", "pp", "art", "op", "nr"}
# A first piece cut by the word count does not end on an article (said "ay", "thee" when last).
_ARTICLES = {"a", "an", "the"}
_URLISH = re.compile(r"(https?://|www\.|\S+@)\S*$", re.IGNORECASE)
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]?")

# Candidate cut points, tried in order of position:
#  1 sentence end: . ! ? (runs, with closing quotes/brackets) followed by whitespace
#  2 CJK sentence end (no space follows in those scripts)
#  3 paragraph break
#  4 a line break before a list item or after a heading / a line ending in ":"
#  5 clause mark followed by whitespace (only used for the first piece)
_CUTS = re.compile(
    r"(?P<end>[.!?\u2026]+[\"'\u201d\u2019)\]]*)(?P<ws>\s+)"
    r"|(?P<cjk>[\u3002\uff01\uff1f]+)"
    r"|(?P<para>\n[ \t]*\n\s*)"
    r"|(?P<line>\n(?=[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t]))"
    r"|(?P<clause>[:;,\u2014\u2013]|\s-)(?P<cws>\s+)"
    r"|(?P<fence>```[^\n`]*\n?)"
    r"|(?P<nl>\n)"
)


class SentenceChunker:
    """Feed text pieces with `push`; get speakable chunks back. `flush` returns the rest.

    Not thread-safe: one chunker per turn, used by the TTS stage thread.
    """

    def __init__(self, first_clause_words: int = 3, max_chars: int = 400,
                 first_max_words: int = 3) -> None:
        self.first_clause_words = first_clause_words
        self.first_max_words = first_max_words
        self.max_chars = max_chars
        self._buf = ""
        self._emitted = 0
        #: Indexes of the pieces cut inside a clause (by the word count, not at a mark).
        self.cut_inside_clause: set[int] = set()

    @property
    def emitted(self) -> int:
        """How many pieces have been returned so far."""
        return self._emitted

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

    def cut_short(self, min_words: int = 2) -> str | None:
        """The pending text up to its last clause mark, else up to its last whole word (a word
        followed by a space: the model may still be writing the last one), when that holds at
        least `min_words` words; None otherwise, or inside a code block. A piece cut between
        words is remembered in `cut_inside_clause`, like a first piece cut by the word count."""
        buf = self._buf
        if "```" in buf:
            return None
        words = list(re.finditer(r"\S+\s+", buf))
        clauses = [m for m in _CUTS.finditer(buf) if m.group("clause") is not None
                   and not self._inside_number(buf, m) and not _URLISH.search(buf[:m.start()])]
        cut = None
        if clauses and len(buf[:clauses[-1].start()].split()) >= min_words:
            cut = clauses[-1].end()
        elif len(words) >= min_words:
            n = len(words)
            if words[n - 1].group().strip().lower() in _ARTICLES and n - 1 >= min_words:
                n -= 1
            cut = words[n - 1].end()
            self.cut_inside_clause.add(self._emitted)
        if cut is None:
            return None
        piece, self._buf = buf[:cut].strip(), buf[cut:]
        self._emitted += 1
        return piece

    def flush(self) -> list[str]:
        """Everything left (the end of the answer), possibly cut to `max_chars` pieces."""
        out = []
        while len(self._buf) > self.max_chars:
            cut = self._hard_cut(self._buf)
            out.append(self._buf[:cut].strip())
            self._buf = self._buf[cut:]
        rest, self._buf = self._buf.strip(), ""
        out = [p for p in out if p]
        if rest:
            out.append(rest)
        self._emitted += len(out)
        return out

    # -- internals ----------------------------------------------------------------------------

    def _find_cut(self) -> int | None:
        buf = self._buf
        fences = [m.start() for m in re.finditer("```", buf)]

        def in_code(pos: int) -> bool:
            return sum(1 for f in fences if f < pos) % 2 == 1

        first = self._emitted == 0
        # The first piece may end at a mark only this many words in; after that, the word cap.
        reach = self.first_max_words + 2 if first and self.first_max_words else None
        for match in _CUTS.finditer(buf):
            if reach is not None and match.group("fence") is None \
                    and len(buf[:match.start()].split()) > reach:
                break
            if match.group("fence") is not None:
                if in_code(match.start()):
                    return match.end()  # a closing fence: the code block is one piece
                if buf[:match.start()].strip():
                    return match.start()  # speak what came before the code first
                continue
            if in_code(match.start()):
                continue
            if match.group("end") is not None:
                if self._is_sentence_end(buf, match.start("end"), match.group("end"),
                                         match.end()):
                    return match.end()
            elif match.group("nl") is not None:
                line = buf[:match.start()].rsplit("\n", 1)[-1].strip()
                if line.startswith("#") or (line.endswith(":") and len(line) > 1):
                    return match.end()  # after a heading, or "Here is what I see:"
            elif match.group("cjk") is not None:
                return match.end()
            elif match.group("para") is not None or match.group("line") is not None:
                if buf[:match.start()].strip():
                    return match.end()
            elif match.group("clause") == ":" and "\n" in match.group("cws"):
                if buf[:match.start()].strip():
                    return match.start() + 1  # "I see:" before a list
            elif first and not _URLISH.search(buf[:match.start()]):
                words = len(buf[:match.start()].split())
                if words >= self.first_clause_words and not self._inside_number(buf, match):
                    return match.end()
        if first and self.first_max_words and not fences:
            words = list(re.finditer(r"\S+\s+", buf))
            if len(words) > self.first_max_words:
                n = self.first_max_words
                if n > 2 and words[n - 1].group().strip().lower() in _ARTICLES:
                    n -= 1
                self.cut_inside_clause.add(self._emitted)
                return words[n - 1].end()
        if len(buf) > self.max_chars:
            return self._hard_cut(buf)
        return None

    def _hard_cut(self, buf: str) -> int:
        """A cut at the last clause mark or space before `max_chars` (a very long sentence)."""
        head = buf[: self.max_chars]
        for mark in (", ", "; ", ": ", " "):
            pos = head.rfind(mark)
            if pos > self.max_chars // 3:
                return pos + len(mark)
        return self.max_chars

    @staticmethod
    def _inside_number(buf: str, match: re.Match) -> bool:
        """A comma or colon between digits ("1,000", "10:30") is not a clause mark."""
        before = buf[match.start() - 1: match.start()]
        after = buf[match.end(): match.end() + 1]
        return before.isdigit() and after.isdigit() and match.end() - match.start() == 1

    @staticmethod
    def _is_sentence_end(buf: str, dot: int, punct: str, after: int) -> bool:
        if punct[0] != ".":
            return True
        if punct.startswith(".."):
            return True  # an ellipsis ends a phrase
        before = buf[:dot]
        word = re.split(r"\s", before)[-1] if before else ""
        bare = word.lstrip("(\"'").lower()
        if bare in _ABBREV or _INITIALISM.fullmatch(bare):
            return False
        following = buf[after: after + 1]
        if bare in _ABBREV_BEFORE_NUMBER and (following.isdigit() or not following):
            return False
        if re.fullmatch(r"\d{1,3}", word) and re.search(r"(^|\n)[ \t]*\d{1,3}$", before):
            return False  # "1." opening a list item
        if following and following.islower():
            return False  # "approx. three", "the U.S. army": not a sentence start
        return True
