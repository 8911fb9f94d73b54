"""Focus you can see, keys that work wherever the focus is, a conversation that follows: the
real window on a real X server (tests/ui/focus_session.py in a subprocess; the pipeline on the
test fakes).

Each focusable control of the window and of its dialogs (Settings, every page; Models; Help; the
first-run guide; Find in history; the problem dialog; the banner's and the device bar's buttons)
is focused in each theme and grabbed from the X server: each side of it must show the focus
colour over most of its outline (the share of the outline's pixels), and the pixels just inside
must not (else the outline is no frame). The contact sheets are saved as focus-<theme>.png.
"""
from __future__ import annotations


import pytest

from tests.support.sessions import run_window_session

pytestmark = pytest.mark.system
THEMES = ("light", "high-contrast", "dark", "system")
#: the window's tab stops by their accessible names (docs/gui.md, Keyboard)
TAB_STOPS = ("Talk", "Stop", "Mode", "Describe now", "Question box", "Ask typed question",
             "Copy conversation", "Export conversation", "Conversation", "Last message",
             "Frame age", "Microphone", "Status", "Timing")
#: an outline covers at least this share of each side (a spin box's arrows sit on a third of
#: its inner edge), and at most this share just inside it is the same colour
SIDE, INSIDE = 0.6, 0.5


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return run_window_session("tests.ui.focus_session", tmp_path_factory.mktemp("focus"),
                              "focus-session.json", timeout=900)


@pytest.mark.parametrize("theme", THEMES)
def test_every_focusable_control_shows_a_focus_outline(session, theme):
    seen = session["focus"][theme]
    for stop in TAB_STOPS:
        assert f"Window: {stop}" in seen, f"{stop} was not checked"
    for where in ("Settings Devices", "Settings Advanced", "Models", "Help", "First run",
                  "Find in history", "Problem dialog"):
        assert any(k.startswith(where) for k in seen), where
    # Inside the outline, selected text may touch one side (a field selects its text on
    # focus); more than one, and the outline is lost in it.
    missing = {k: v for k, v in seen.items()
               if not v["focused"] or min(v["shares"]) < SIDE
               or sum(share > INSIDE for share in v["inner"]) > 1}
    assert missing == {}, missing


def test_high_contrast_is_complete(session):
    hc = session["high_contrast"]
    for edge in ("menu_edges", "conversation_edges", "search_detail_edges",
                 "settings_page_edges"):
        assert hc[edge] >= 0.9, (edge, hc[edge])
    assert hc["advanced_wraps"] and hc["advanced_rows_cut"] == []


def test_window_shortcuts_work_from_the_question_box(session):
    keys = session["keys"]
    assert keys["ctrl+l"]
    # Ctrl+E opened the export dialog while the box had focus; the typed text stayed.
    assert keys["ctrl+e"] == {"title": "Export conversation", "question_text_kept": "hello"}
    assert keys["ctrl+d"] == {"mode": "describe", "question_text_kept": "hello"}


def test_the_conversation_follows_new_answers(session):
    follow = session["follow"]
    place, after = follow["kept_place"]
    assert place > 0 and after == place  # nothing new: the reading place stays
    value, maximum = follow["after_answer"]
    assert maximum > 0 and value == maximum  # scrolled up, then a new answer: it is in view


def test_the_earlier_session_and_where_the_older_turns_are(session):
    restored = session["restored"]
    assert restored["turns"] == 10
    text = restored["conversation"]
    assert "10 turns from your previous session" in text and "Find in history" in text
    assert "turn(s)" not in text and "Note: Error:" not in text
    assert restored["errors"] == ["the voice stopped."] and restored["notes"] == []
    assert session["frame_age_text"] == "No question asked yet."
