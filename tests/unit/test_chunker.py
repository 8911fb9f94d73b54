"""SentenceChunker: where streamed answer text is cut into speakable pieces."""
from __future__ import annotations

import pytest

from audio.tts.chunker import SentenceChunker


def chunk_all(text: str, step: int | None = None, chunker: SentenceChunker | None = None,
              **kwargs) -> list[str]:
    """Feed `text` whole (step None) or in `step`-character tokens; return every piece."""
    chunker = chunker or SentenceChunker(**kwargs)
    out: list[str] = []
    if step is None:
        out += chunker.push(text)
    else:
        for i in range(0, len(text), step):
            out += chunker.push(text[i:i + step])
    return out + chunker.flush()


LATER = dict(first_clause_words=10_000, first_max_words=0)  # sentences only


@pytest.mark.parametrize("step", [None, 1, 3, 7])
def test_sentences_are_cut_the_same_however_the_tokens_arrive(step):
    text = "I see a cat. It is asleep on a mat! Is it warm? Probably."
    assert chunk_all(text, step, **LATER) == ["I see a cat.", "It is asleep on a mat!",
                                              "Is it warm?", "Probably."]


def test_first_piece_is_a_clause_so_speech_starts_early():
    pieces = chunk_all("In front of you, there is a table with a red cup, a book and a lamp. "
                       "The lamp is on, and the room is bright.")
    assert pieces[0] == "In front of you,"
    # Later pieces are whole sentences: commas no longer cut.
    assert pieces[1:] == ["there is a table with a red cup, a book and a lamp.",
                          "The lamp is on, and the room is bright."]


def test_first_clause_needs_a_few_words():
    pieces = chunk_all("Yes, there is a dog, next to the door.")
    assert pieces[0] == "Yes, there is a dog,"


@pytest.mark.parametrize("step", [None, 1, 4])
def test_a_clause_far_into_the_answer_does_not_hold_back_the_first_words(step):
    """However the tokens arrive, a first clause longer than the cap + 2 words is cut after the
    cap, and that cut is marked as inside a clause (the speech joins it without a pause)."""
    chunker = SentenceChunker()
    pieces = chunk_all("Yes, there is a dog in the picture, next to the door. It sleeps.", step,
                       chunker)
    assert pieces == ["Yes, there is", "a dog in the picture, next to the door.", "It sleeps."]
    assert chunker.cut_inside_clause == {0}


def test_first_piece_is_cut_after_a_dozen_words_without_any_punctuation():
    words = " ".join(f"word{i}" for i in range(30))
    chunker = SentenceChunker(first_max_words=12)
    out = chunker.push(words + " ")
    assert out and len(out[0].split()) == 12


def test_first_piece_comes_out_as_soon_as_the_clause_is_complete():
    chunker = SentenceChunker()
    assert chunker.push("On the left") == []
    assert chunker.push(", ") == ["On the left,"]


@pytest.mark.parametrize("text, pieces", [
    ("Dr. Smith is here. He waves.", ["Dr. Smith is here.", "He waves."]),
    ("Use a tool, e.g. a hammer. Then stop.", ["Use a tool, e.g. a hammer.", "Then stop."]),
    ("It is made in the U.S. and sold here. Cheap.",
     ["It is made in the U.S. and sold here.", "Cheap."]),
    ("It costs 3.50 dollars. That is cheap.", ["It costs 3.50 dollars.", "That is cheap."]),
    ("Pi is about 3.14159 in value. Yes.", ["Pi is about 3.14159 in value.", "Yes."]),
    ("See room No. 5 on the left. Go.", ["See room No. 5 on the left.", "Go."]),
    ("It weighs approx. three kilos. Fine.", ["It weighs approx. three kilos.", "Fine."]),
    ("Meet at 3 p.m. tomorrow. Bye.", ["Meet at 3 p.m. tomorrow.", "Bye."]),
    ("Wait... what is that? A cat.", ["Wait...", "what is that?", "A cat."]),
    ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
    ("It is red (bright red.) Nice.", ["It is red (bright red.)", "Nice."]),
])
def test_no_cut_inside_abbreviations_decimals_or_quotes(text, pieces):
    assert chunk_all(text, 2, **LATER) == pieces


def test_decimal_split_across_tokens_is_not_a_sentence_end():
    chunker = SentenceChunker(**LATER)
    assert chunker.push("The value is 3.") == []
    assert chunker.push("5 volts. ") == ["The value is 3.5 volts."]


def test_urls_and_emails_are_never_cut():
    text = "Go to www.example.com. See https://example.org/a.b?c=1 for more. Mail bob@mail.example.com. Done."
    pieces = chunk_all(text, 4, **LATER)
    assert pieces == ["Go to www.example.com.", "See https://example.org/a.b?c=1 for more.",
                      "Mail bob@mail.example.com.", "Done."]


def test_url_is_not_cut_at_a_clause_either():
    pieces = chunk_all("Open https://example.com/x,y then wait, please. Ok.", 3)
    assert pieces[0].startswith("Open https://example.com/x,y")


def test_numbered_list_items_are_pieces_and_their_numbers_stay():
    text = "Three things:\n1. A cup\n2. A book\n3. A lamp"
    pieces = chunk_all(text, 2, **LATER)
    assert pieces == ["Three things:", "1. A cup", "2. A book", "3. A lamp"]


def test_bulleted_list_items_are_pieces():
    text = "I see:\n- a red cup\n- a blue book\n* a lamp"
    assert chunk_all(text, 5, **LATER) == ["I see:", "- a red cup", "- a blue book", "* a lamp"]


def test_heading_line_is_its_own_piece():
    assert chunk_all("## Summary\nThe room is tidy. Nice.", 3, **LATER) == [
        "## Summary", "The room is tidy.", "Nice."]


def test_paragraph_break_ends_a_piece_even_without_punctuation():
    assert chunk_all("A title\n\nThe body text.", 4, **LATER) == ["A title", "The body text."]


def test_thousands_separator_and_times_are_not_clauses():
    pieces = chunk_all("About 1,000 people at 10:30 today, near the gate. Busy.", 1,
                       first_max_words=12)
    assert pieces[0] == "About 1,000 people at 10:30 today,"


@pytest.mark.parametrize("step", [None, 1])
def test_the_first_piece_is_three_words_at_most_by_default(step):
    """Speech starts after three words of a long first clause, not twelve (a 12 token/s model
    writes three words in about 0.3 s, and Piper says them in ~60 ms, a whole short sentence in
    ~100 ms). A sentence or clause that ends within five words stays whole."""
    pieces = chunk_all("There is a cup of coffee on a wooden table next to a plate. Yes.", step)
    assert pieces[0] == "There is"  # not "There is a": an article is not said last
    assert pieces[1] == "a cup of coffee on a wooden table next to a plate."
    assert chunk_all("It looks like an espresso.", step) == ["It looks like", "an espresso."]
    assert chunk_all("Yes, it is open. Good.", step)[0] == "Yes, it is open."
    assert chunk_all("I see a mug.", step) == ["I see a mug."]


def test_a_first_piece_cut_at_a_mark_is_not_inside_a_clause():
    chunker = SentenceChunker()
    assert chunker.push("In front of you, a table. ") == ["In front of you,", "a table."]
    assert chunker.cut_inside_clause == set()


def test_code_block_is_one_piece_and_is_not_cut_inside():
    text = "Run this:\n```python\nx = 1. \ny = 2. \n```\nThen it works. Ok."
    pieces = chunk_all(text, 3, **LATER)
    assert pieces[0] == "Run this:"
    assert pieces[1].startswith("```python") and pieces[1].endswith("```")
    assert "x = 1." in pieces[1] and "y = 2." in pieces[1]
    assert pieces[2:] == ["Then it works.", "Ok."]


def test_unclosed_code_block_is_flushed_at_the_end():
    pieces = chunk_all("Code:\n```\nprint(1). print(2).", 4, **LATER)
    assert pieces[-1].startswith("```") and "print(2)." in pieces[-1]


def test_very_long_sentence_is_cut_below_max_chars():
    text = ", ".join(["a long clause with several words in it"] * 40) + "."
    pieces = chunk_all(text, 11, max_chars=200, **LATER)
    assert len(pieces) > 5
    assert all(len(p) <= 200 for p in pieces)
    assert " ".join(pieces).replace("  ", " ") == text


def test_five_thousand_words_stream_in_bounded_pieces():
    sentence = "The quick brown fox jumps over the lazy dog near the river bank today. "
    text = sentence * 360  # about 5,000 words
    pieces = chunk_all(text, 5)
    assert len(pieces) >= 360
    assert max(len(p) for p in pieces) <= 400
    assert sum(len(p.split()) for p in pieces) == len(text.split())


def test_no_space_scripts_cut_at_their_own_full_stop():
    assert chunk_all("猫がいます。寝ています。", 2, **LATER) == ["猫がいます。", "寝ています。"]


def test_empty_and_whitespace_give_nothing():
    assert chunk_all("") == []
    assert chunk_all("   \n\n  ") == []


def test_flush_returns_the_unterminated_rest_and_resets():
    chunker = SentenceChunker(**LATER)
    assert chunker.push("A sentence. An unfinished") == ["A sentence."]
    assert chunker.flush() == ["An unfinished"]
    assert chunker.flush() == []


def test_german_abbreviation_is_not_a_sentence_end():
    assert chunk_all("Das ist z.B. ein Hund. Gut.", 2, **LATER) == ["Das ist z.B. ein Hund.",
                                                                     "Gut."]


def test_text_survives_chunking_intact():
    text = ("Hello, world. This costs $3.99, i.e. cheap! See www.x.org. 1. First\n2. Second\n\n"
            "Last line")
    pieces = chunk_all(text, 1)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == \
        text.replace(" ", "").replace("\n", "")


def test_cut_short_prefers_a_clause_then_whole_words():
    c = SentenceChunker()
    assert c.push("The sign, in red letters, says EXIT in green, and ") == [
        "The sign, in red letters,"]
    assert c.cut_short() == "says EXIT in green,"  # the last clause mark
    assert 1 not in c.cut_inside_clause
    c.push("points to the ")
    assert c.cut_short() == "and points to"  # whole words, not ending on "the"
    assert 2 in c.cut_inside_clause
    assert c.cut_short() is None  # "the" alone: fewer than two words
    assert c.flush() == ["the"]


def test_cut_short_leaves_numbers_links_and_code_alone():
    c = SentenceChunker()
    c._emitted = 1  # past the first piece
    c.push("It costs 1,000 dollars at www.example.com/a,b and")
    # No clause mark inside a number or a link; "and" may not be finished yet.
    assert c.cut_short() == "It costs 1,000 dollars at www.example.com/a,b"
    code = SentenceChunker()
    code._emitted = 1
    code.push("Run ```print(1, 2)``` now and")
    assert code.cut_short() is None
    half = SentenceChunker()
    half._emitted = 1
    half.push("The wooden tab")  # the model is still writing "table"
    assert half.cut_short() == "The wooden"
