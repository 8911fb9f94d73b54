"""The first start on a real X server (tests/ui/guide_session.py in a subprocess): the
first-run guide, the missing-model banner, Settings and Models agree with each other after every
choice, because they all read the one running config; a download with Offline on says that
nothing was downloaded.
"""
from __future__ import annotations


import pytest

from tests.support.sessions import run_window_session

pytestmark = pytest.mark.system
SMOL = "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct"


@pytest.fixture(scope="module")
def first_start(tmp_path_factory):
    return run_window_session("tests.ui.guide_session", tmp_path_factory.mktemp("first-start"),
                              "first-start-session.json", timeout=600)


def test_no_banner_behind_the_guide(first_start):
    # The guide recommends no download here; the banner does not offer one behind it (the
    # missing-model check waits for the guide's choice).
    assert first_start["guide"]["recommended"] == "small-cpu"
    assert "No download" in first_start["guide"]["sentences"]["small-cpu"]
    assert first_start["steps"]["guide open"] == {"banner": {"shown": False, "model": "",
                                                             "text": ""}, "checks": 0}


def test_the_banner_follows_each_choice(first_start):
    steps = first_start["steps"]
    assert not steps["small preset"]["banner"]["shown"]
    assert steps["balanced preset"]["banner"]["shown"]
    assert steps["balanced preset"]["banner"]["model"] == SMOL
    assert "1.0 GB" in steps["balanced preset"]["banner"]["text"]
    assert not steps["kept the describer"]["banner"]["shown"]
    assert not steps["kept my settings"]["banner"]["shown"]


def test_settings_show_the_choice_in_force(first_start):
    steps = first_start["steps"]
    small = steps["small preset"]
    assert (small["asr.model"], small["vlm.backend"]) == ("whisper:tiny.en", "describer")
    assert small["settings"]["asr.model"] == "Whisper Tiny (English, 72 MB, fastest)"
    assert steps["balanced preset"]["settings"]["asr.model"].startswith("Whisper Base (English")
    # The banner's Keep using the offline describer keeps what was chosen since it appeared.
    kept = steps["kept the describer"]
    assert (kept["asr.model"], kept["vlm.backend"]) == ("whisper:tiny.en", "describer")
    assert kept["settings"]["asr.model"] == "Whisper Tiny (English, 72 MB, fastest)"
    assert first_start["on disk"] == {"asr.model": "whisper:tiny.en",
                                      "vlm.backend": "describer", "models.offline": False}
    assert steps["kept my settings"]["asr.model"] == "whisper:tiny.en"


def test_offline_download_says_nothing_was_downloaded(first_start):
    for theme, models in first_start["models"].items():
        assert models["message"] == ("Offline mode is on: nothing was downloaded. Turn it off "
                                     "in Settings > Privacy."), theme
        assert "complete" not in models["progress"].lower()
        assert models["source"] == "Not on this computer"
        assert models["button"] == "Download" and models["button_fits"], theme
        # Names without a download size that could contradict the Size column.
        assert not any("MB" in n or "GB" in n for n in models["names"]), models["names"]


def test_key_names_as_people_write_them(first_start):
    for step in first_start["steps"].values():
        if "settings" in step:
            assert step["settings"]["global key"] == "Ctrl+Alt+Space"
    assert "<ctrl>" not in first_start["plain"]["global key help"]
    assert "Ctrl+Alt+Space" in first_start["plain"]["global key help"]
