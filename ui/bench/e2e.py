"""`glimpse bench e2e`: whole turns through the real pipeline and real devices.

A spoken question is played into the microphone while the key is "held"; the release, the final
transcript, the first answer token, the first audio queued and the first audible sample on the
speaker are timed for every turn. On machines without sound hardware the benchmark starts its own
virtual microphone and speaker (a private PulseAudio server), so PortAudio, Whisper, the answer
engine and the TTS engine all run for real. The first audible sample is read from the speaker side
by a probe that records the speaker's monitor with monotonic timestamps.

With a preset (`--preset`, or the recommended one) whose image-text model is not on this computer
(Balanced (CPU) offline), that model runs in its published dimensions with seeded random weights
(`vlm.int8` as configured), handing on the words of a fixed answer at the pace its tokens come,
so the turn's times are the real model's and what is spoken is a real sentence.

Peers in the same run: openai-whisper `transcribe()` on the same audio and weights, and Piper
synthesizing the whole answer before playback. A calibration figure from the same run
(`ui.bench.calibrate`: openai-whisper tiny.en on jfk.flac and a fixed matmul) is recorded, and
every stage is also given as a multiple of it, so runs on a loaded machine compare.
"""
from __future__ import annotations

import argparse
import logging
import os
import queue
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant import events as ev
from assistant.config import Config
from assistant.errors import GlimpseError
from ui.bench import calibrate, report
from ui.cli.common import info, load_config
from ui.presets import SMOLVLM2_2B, SMOLVLM2_500M

QUESTIONS = (
    "What do you see in front of me?",
    "Is there any text in this picture?",
    "Describe the scene, please.",
    "What is on the table?",
    "Can you read the sign for me?",
)

STAGES = (
    ("asr", "release -> final transcript"),
    ("answer", "transcript -> first token"),
    ("tts", "first token -> first audio queued"),
    ("playback", "first audio queued -> first audible sample"),
    ("release_to_first_audio", "release -> first audible word"),
)


def _parse(rest: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="glimpse bench e2e")
    p.add_argument("--turns", type=int, default=20)
    p.add_argument("--png", help="where to write the latency picture (default: beside --json)")
    p.add_argument("--camera", default="", help="camera source (default: a generated video)")
    p.add_argument("--idle-seconds", type=float, default=10.0)
    p.add_argument("--preset", default="auto",
                   help="CPU mode: the model preset to measure (small-cpu: the offline pack's "
                        "tiny.en and the describer; balanced-cpu; ...). auto (default): the one "
                        "the first-run guide recommends for this computer until you have been "
                        "through the guide, then your settings; none: your settings")
    p.add_argument("--presets", default="balanced-gpu,large-gpu,best-gpu",
                   help="GPU mode: presets to measure (first = the one summarized; `tiny`: "
                        "small stand-ins for a dry run)")
    p.add_argument("--device", default="", help="GPU mode on another device (a dry run)")
    p.add_argument("--dtype", default="", choices=("", "bf16", "fp16", "fp32"),
                   help="GPU mode: the VLM's dtype (default: bf16 on CUDA, fp32 on a CPU)")
    p.add_argument("--asr-tokens", type=int, default=16, help="GPU mode: transcript length")
    p.add_argument("--answer-tokens", type=int, default=48, help="GPU mode: answer length")
    p.set_defaults(stand_in="")  # what stood in for an absent image-text model (set in main)
    return p.parse_args([a for a in rest if a != "--"])


def _bench_config(config: Config, camera: str) -> Config:
    for key, value in (("camera.source", camera), ("earcons.enabled", "false"),
                       ("ui.announce_ready", "false"), ("asr.partial_interval_s", "0.5")):
        config = config.with_value(key, value)
    return config


def _with_preset(config: Config, key: str) -> tuple[Config, str]:
    """The config with preset `key` applied, and the preset's key ("" when none was)."""
    from ui.presets import PRESETS, detect, recommend

    if key == "none" or (key == "auto" and not config.ui.show_first_run):
        return config, ""
    if key == "auto":
        key = recommend(detect()).key
    if key not in PRESETS:
        raise GlimpseError(f"There is no preset '{key}'",
                           f"Choose one of: {', '.join(PRESETS)}")
    return PRESETS[key].apply(config), key


#: Image-text models that can run in their real dimensions with random weights when absent.
STAND_IN_SIZES = {SMOLVLM2_500M: "smolvlm2-500m", SMOLVLM2_2B: "smolvlm2-2.2b"}


def _stand_in_vlm(config: Config, answer_tokens: int = 24):
    """(engine, what) for a configured local VLM that is not on this computer: the model in its
    real dimensions with seeded random weights on the CPU (see the module docstring); (None, "")
    when the configured model is present or the answers come from elsewhere."""
    size = STAND_IN_SIZES.get(config.vlm.model)
    if config.vlm.backend not in ("local", "auto") or size is None:
        return None, ""
    from ui.bootstrap import model_store

    if model_store(config).locate(config.vlm.model) is not None:
        return None, ""
    import torch

    from ui.bench.gpu_models import FixedLengthVlm
    from ui.bench.vlm_models import random_vlm
    from vision.vlm import TransformersVlm, load_processor
    from vision.vlm_util import quantize_text_decoder

    folder, model = random_vlm(size, "cpu", torch.float32)
    if config.vlm.int8:
        quantize_text_decoder(model)
    engine = TransformersVlm.from_model(model, load_processor(folder), device="cpu",
                                        dtype=torch.float32,
                                        max_image_pixels=config.vlm.max_image_pixels)
    what = (f"{size} with random weights in its real dimensions, "
            f"{'int8' if config.vlm.int8 else 'float32'} on the CPU, {answer_tokens} tokens")
    return FixedLengthVlm(engine, size, tokens=answer_tokens), what


def _make_video(path: Path) -> str:
    """A short looping clip from a real photo, so the camera path runs for real."""
    import cv2
    from skimage import data

    img = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 15,
                             (img.shape[1], img.shape[0]))
    rng = np.random.default_rng(0)
    for _ in range(45):
        noise = rng.integers(-3, 4, img.shape, dtype=np.int16)
        writer.write(np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8))
    writer.release()
    return str(path)


def speak_questions(config: Config) -> list[tuple[str, np.ndarray]]:
    """(text, 16 kHz audio) of each question, spoken by the configured TTS engine, with 0.4 s
    of silence after."""
    import soxr

    from assistant.ports import TtsOptions
    from ui.bootstrap import build

    tts = build("tts", config)
    tts.load()
    out = []
    for text in QUESTIONS:
        pieces = list(tts.synthesize(text, TtsOptions(voice=config.tts.voice)))
        rate = pieces[0].sample_rate
        audio = np.concatenate([p.samples for p in pieces])
        audio16 = soxr.resample(audio, rate, 16000).astype(np.float32)
        out.append((text, np.concatenate([audio16, np.zeros(int(0.4 * 16000), np.float32)])))
    return out


def _make_questions(config: Config, folder: Path) -> list[tuple[str, Path, np.ndarray]]:
    """`speak_questions`, each also written to a WAV file in `folder` for the virtual mic."""
    import soundfile as sf

    out = []
    for i, (text, audio16) in enumerate(speak_questions(config)):
        path = folder / f"q{i}.wav"
        sf.write(str(path), audio16, 16000, subtype="PCM_16")
        out.append((text, path, audio16))
    return out


def _wait(pipeline, kind: type, turn_id: int | None, timeout: float) -> list[ev.Event]:
    seen: list[ev.Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = pipeline.events.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(event)
        if isinstance(event, ev.ErrorEvent):
            info(f"error during the benchmark: {event.message}")
        if isinstance(event, kind) and (turn_id is None or getattr(event, "turn_id", None) == turn_id):
            return seen
    raise GlimpseError(f"Timed out waiting for {kind.__name__}",
                       "Run `glimpse doctor`; the pipeline may be missing a model.")


def _glitches(pipeline) -> tuple[int, int, int]:
    """(pauses inside answers, device underruns, underruns inside sound) so far: the playback
    stage's `gaps` (speech that ran dry before its next piece came) and the speaker's
    `underruns` (PortAudio's output underflow flag), and of those the ones between two blocks
    that held sound (audible)."""
    playback = pipeline.stages.playback
    if playback is None:
        return 0, 0, 0
    speaker = playback.speaker
    return (getattr(playback, "gaps", 0), getattr(speaker, "underruns", 0),
            getattr(speaker, "underruns_in_sound", 0))


def _run_turns(pipeline, audio, questions, turns: int, before_turn=None) -> list[dict[str, Any]]:
    results = []
    for i in range(turns):
        gaps0, underruns0, audible0 = _glitches(pipeline)
        text, wav, _ = questions[i % len(questions)]
        if before_turn is not None:
            before_turn(text)
        pipeline.submit(ev.PushToTalkDown())
        started = _wait(pipeline, ev.TurnStarted, None, 10)[-1]
        player = audio.play_into_mic(wav)
        player.wait(30)
        pipeline.submit(ev.PushToTalkUp())
        seen = _wait(pipeline, ev.TurnEnded, started.turn_id, 120)
        metrics = next(e for e in seen if isinstance(e, ev.Metrics))
        ended = seen[-1]
        gaps, underruns, audible = _glitches(pipeline)
        results.append({"question": text, "metrics": metrics, "transcript": ended.transcript,
                        "answer": ended.answer, "gaps": gaps - gaps0,
                        "underruns": underruns - underruns0,
                        "underruns_in_sound": audible - audible0})
        info(f"turn {i + 1}/{turns}: {ended.transcript!r}")
    return results


def measure_turns(pipeline, audio, questions, turns: int, *, warm_up: int = 0,
                  idle_s: float | None = None, before_turn=None
                  ) -> tuple[list[dict[str, Any]], IdleCpu | None]:
    """Start `pipeline`, run `warm_up` unmeasured turns, then `turns` measured ones through the
    virtual microphone while the speaker's monitor is probed, then (with `idle_s`) the idle CPU
    load; the pipeline is stopped in all cases. Returns (turns with their per-stage times,
    the idle CPU or None). The one turn-measuring loop of `bench e2e` and `bench e2e --gpu`.
    """
    from ui.bench.rig import SpeakerProbe

    pipeline.start()
    idle_cpu = None
    try:
        if not pipeline.wait_ready(300):
            raise GlimpseError("The pipeline did not finish loading in 5 minutes",
                               "Check `glimpse doctor`.")
        if warm_up:
            _run_turns(pipeline, audio, questions, warm_up, before_turn=before_turn)
        with SpeakerProbe(audio) as probe:
            results = _run_turns(pipeline, audio, questions, turns, before_turn=before_turn)
        if idle_s is not None:
            idle_cpu = _idle_cpu(pipeline, idle_s)
    finally:
        pipeline.stop(timeout=5)
    for turn in results:
        m = turn["metrics"]
        audible = probe.first_sound_after(m.first_audio_queued) \
            if m.first_audio_queued is not None else None
        turn["stages"] = _stage_times(turn, audible)
    return results, idle_cpu


def _stage_times(turn: dict[str, Any], audible: float | None) -> dict[str, float | None]:
    m: ev.Metrics = turn["metrics"]

    def ms(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else (b - a) * 1000

    ready = max(x for x in (m.final_transcript, m.frame_chosen) if x is not None) \
        if m.final_transcript is not None else None
    return {
        "asr": ms(m.release, m.final_transcript),
        "answer": ms(ready, m.first_token),
        "tts": ms(m.first_token, m.first_audio_queued),
        "playback": ms(m.first_audio_queued, audible),
        "release_to_first_audio": ms(m.release, audible),
    }


def _peer_asr(config: Config, questions) -> dict[str, Any]:
    """openai-whisper transcribe() on the same audio and weights (greedy, warm)."""
    import whisper

    from ui.bootstrap import model_store

    name = config.asr.model.split(":", 1)[1] if config.asr.model.startswith("whisper:") else \
        config.asr.model
    import torch

    from assistant.stage import stage_threads

    # The threads Glimpse's ASR stage gets (assistant.stage.stage_threads): the same budget.
    torch.set_num_threads(stage_threads())
    model = whisper.load_model(str(model_store(config).whisper_checkpoint(name)), device="cpu")
    model.transcribe(questions[0][2], temperature=0.0, fp16=False)  # warm-up
    times = []
    for _, _, audio in questions:
        t0 = time.perf_counter()
        model.transcribe(audio, temperature=0.0, fp16=False, language="en")
        times.append((time.perf_counter() - t0) * 1000)
    return {"openai_whisper_ms": times}


def _peer_tts(config: Config, answers: list[str]) -> dict[str, Any]:
    """The TTS engine synthesizing the whole answer before anything can play."""
    from assistant.ports import TtsOptions
    from ui.bootstrap import build

    tts = build("tts", config)
    tts.load()
    times = []
    for text in answers:
        t0 = time.perf_counter()
        for _ in tts.synthesize(text, TtsOptions(voice=config.tts.voice)):
            pass
        times.append((time.perf_counter() - t0) * 1000)
    return {"whole_answer_synthesis_ms": times}


#: Seconds after the last turn before idle CPU is measured: the speaker stream rests after
#: `audio.output_rest_s` (2 s) of silence, and the last answer's tail must have played.
IDLE_SETTLE_S = 3.0


@dataclass(frozen=True)
class IdleCpu:
    """Idle CPU of this process, % of one core: in all, and per thread (Linux; else empty)."""

    percent: float
    threads: dict[str, float]


def _thread_ticks() -> dict[str, int]:
    """CPU clock ticks (user + system) per thread of this process, by name: Python's name where
    the thread is Python's, the OS name (PortAudio, ONNX Runtime, OpenMP...) otherwise."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, int] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            comm = (task / "comm").read_text().strip()
        except OSError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        name = names.get(int(task.name), comm)
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def _idle_cpu(pipeline, seconds: float) -> IdleCpu:
    """CPU use of this process with the camera preview on and no turn, after `IDLE_SETTLE_S`."""
    def drain(until: float) -> None:
        while time.monotonic() < until:
            try:
                pipeline.events.get(timeout=0.1)  # keep draining previews, like the UI does
            except queue.Empty:
                pass

    drain(time.monotonic() + IDLE_SETTLE_S)
    per_thread = Path("/proc/self/task").is_dir()
    ticks0 = _thread_ticks() if per_thread else {}
    t0, c0 = time.monotonic(), time.process_time()
    drain(t0 + seconds)
    elapsed = time.monotonic() - t0
    percent = (time.process_time() - c0) / elapsed * 100
    if not per_thread:
        return IdleCpu(percent, {})
    hz = os.sysconf("SC_CLK_TCK")
    used = {name: (t - ticks0.get(name, 0)) / hz / elapsed * 100
            for name, t in _thread_ticks().items()}
    return IdleCpu(percent, {name: round(v, 2) for name, v in
                             sorted(used.items(), key=lambda kv: -kv[1]) if v > 0})


def _picture(path: Path, turns: list[dict[str, Any]], per_stage: dict[str, list[float]],
             title: str = "", floors: dict[str, float] | None = None) -> None:
    """Left: a waterfall of the median turn (with each stage's floor as a black bar when given);
    right: a box plot per stage over all turns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    totals = [t["stages"]["release_to_first_audio"] or 0 for t in turns]
    median_turn = turns[int(np.argsort(totals)[len(totals) // 2])]
    spans = [(name, label) for name, label in STAGES if name != "release_to_first_audio"]
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
    names = [label for name, label in STAGES if per_stage.get(name)]
    ax2.boxplot([per_stage[name] for name, _ in STAGES if per_stage.get(name)], vert=False)
    ax2.set_yticks(range(1, len(names) + 1), names, fontsize=9)
    ax2.invert_yaxis()
    ax2.set_xlabel("ms")
    ax2.set_title(f"Per stage over {len(turns)} turns")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def start_audio():
    """The spoken questions have to reach a microphone, so the benchmark always runs on its own
    private audio server (virtual mic and speaker), also on machines with sound hardware."""
    from ui.bench.rig import RigError, VirtualAudio

    try:
        audio = VirtualAudio().start()
    except RigError as exc:
        raise GlimpseError(f"Could not start the virtual audio devices: {exc}",
                           "Install pulseaudio and pulseaudio-utils.") from exc
    import sounddevice as sd

    sd._terminate()  # re-read the device list now that the private server is up
    sd._initialize()
    return audio


class _Warnings(logging.Handler):
    """The warnings logged while the benchmark runs (a model substituted, say), for the report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text not in self.messages:
            self.messages.append(text)


def main(args: argparse.Namespace) -> int:
    opts = _parse(list(args.rest or []))
    turns = 3 if args.quick else max(opts.turns, 1)
    audio = start_audio()
    from ui.bootstrap import bootstrap

    warnings = _Warnings()
    logging.getLogger().addHandler(warnings)
    try:
        with tempfile.TemporaryDirectory(prefix="glimpse-bench-") as tmp:
            folder = Path(tmp)
            config, opts.preset = _with_preset(load_config(args), opts.preset)
            config = _bench_config(config, opts.camera or _make_video(folder / "camera.mp4"))
            questions = _make_questions(config, folder)
            # A preset is measured as it would run once its models are in place; your own
            # settings (--preset none) as they run now (the describer stands in, with a warning).
            vlm, opts.stand_in = _stand_in_vlm(config) if opts.preset else (None, "")
            pipeline = bootstrap(config, vlm=vlm) if vlm is not None else bootstrap(config)
            results, idle_cpu = measure_turns(pipeline, audio, questions, turns,
                                              idle_s=opts.idle_seconds)
            peers = _peer_asr(config, questions)
            peers["calibration"] = calibrate.calibration()
            peers.update(_peer_tts(config, [t["answer"] for t in results[:5] if t["answer"]]))
    finally:
        logging.getLogger().removeHandler(warnings)
        audio.stop()
    return _report(args, opts, config, results, peers, idle_cpu, warnings.messages)


def _report(args, opts, config, results, peers, idle_cpu, warnings=()) -> int:
    per_stage = {name: [t["stages"][name] for t in results if t["stages"][name] is not None]
                 for name, _ in STAGES}
    cal = peers["calibration"]
    rows, summary = [], {}
    for name, label in STAGES:
        values = per_stage[name]
        p50, p95 = report.pct(values, 50), report.pct(values, 95)
        rows.append([label, p50, p95, calibrate.in_calibration(p50, cal),
                     calibrate.in_calibration(p95, cal), len(values)])
        summary[f"{name}_ms_p50"] = round(p50, 1)
        summary[f"{name}_ms_p95"] = round(p95, 1)
        summary[f"{name}_cal_p50"] = round(calibrate.in_calibration(p50, cal), 4)
    summary["calibration"] = cal
    slowest = max(results, key=lambda t: t["stages"]["release_to_first_audio"] or -1.0)
    summary["slowest_turn_ms"] = {k: None if v is None else round(v, 1)
                                  for k, v in slowest["stages"].items()}
    summary["release_to_first_audio_ms_p95"] = round(report.pct(
        per_stage["release_to_first_audio"], 95), 1)
    ow = report.pct(peers["openai_whisper_ms"], 50)
    whole = report.pct(peers["whole_answer_synthesis_ms"], 50) if peers[
        "whole_answer_synthesis_ms"] else float("nan")
    summary.update({
        "openai_whisper_transcribe_ms_p50": round(ow, 1),
        "asr_speedup_vs_openai_whisper": round(ow / summary["asr_ms_p50"], 2),
        "piper_whole_answer_ms_p50": round(whole, 1),
        "tts_first_audio_speedup_vs_whole_answer": round(whole / summary["tts_ms_p50"], 2),
        "vlm_peer": "not run: the offline describer answered (no VLM weights offline)"
        if not opts.stand_in else "not run (`glimpse bench vlm --size` has it)",
        "vlm_stand_in": opts.stand_in or None,
        "idle_cpu_percent_of_core": round(idle_cpu.percent, 1),
        "idle_cpu_by_thread": idle_cpu.threads,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "preset": opts.preset or None, "asr_model": config.asr.model,
        "turns": len(results),
        "answered_turns": sum(1 for t in results if t["answer"]),
        "speech_gaps": sum(t["gaps"] for t in results),
        "underruns": sum(t["underruns"] for t in results),
        "underruns_in_sound": sum(t.get("underruns_in_sound", 0) for t in results),
        "turns_with_underruns": [i + 1 for i, t in enumerate(results) if t["underruns"]],
    })
    md = ["## glimpse bench e2e", "",
          report.table(["stage", "p50 ms", "p95 ms", "p50 (cal)", "p95 (cal)", "n"], rows), "",
          calibrate.calibration_line(cal), "",
          f"Slowest turn ({slowest['question']!r}): " + ", ".join(
              f"{name} {'-' if slowest['stages'][name] is None else round(slowest['stages'][name])}"
              " ms" for name, _ in STAGES), "",
          report.table(["peer (same run)", "p50 ms", "Glimpse p50 ms", "ratio"], [
              ["openai-whisper transcribe() vs release->transcript", ow, summary["asr_ms_p50"],
               summary["asr_speedup_vs_openai_whisper"]],
              ["whole-answer synthesis vs token->first audio", whole, summary["tts_ms_p50"],
               summary["tts_first_audio_speedup_vs_whole_answer"]],
          ]), "",
          f"Idle CPU with the camera preview on: {idle_cpu.percent:.1f}% of one core"
          + (" (" + ", ".join(f"{n} {v:.1f}" for n, v in list(idle_cpu.threads.items())[:8])
             + ")" if idle_cpu.threads else "") + f". Peak RSS {summary['peak_rss_mb']} MB.",
          f"Speech in {len(results)} turns: {summary['speech_gaps']} pauses inside an answer "
          f"(the speaker ran dry before the next piece), {summary['underruns']} device underruns"
          f" ({summary['underruns_in_sound']} between two blocks of sound"
          + (f"; in turns {summary['turns_with_underruns'][:10]}"
             if summary["turns_with_underruns"] else "") + ").",
          (f"Preset {opts.preset}. " if opts.preset else "") +
          f"Models: asr {config.asr.engine} {config.asr.model}; answer "
          f"{opts.stand_in or config.vlm.backend}; "
          f"tts {config.tts.engine} {config.tts.voice}."]
    if warnings:
        md += ["", "Warnings during the run (what was measured instead):", "",
               *[f"- {text}" for text in warnings]]
    details = {"config": config.to_dict(), "warnings": list(warnings), "turns": [
        {"question": t["question"], "transcript": t["transcript"], "answer": t["answer"],
         "stages_ms": t["stages"], "gaps": t["gaps"], "underruns": t["underruns"],
         "underruns_in_sound": t.get("underruns_in_sound", 0),
         "metrics": t["metrics"].as_dict()} for t in results],
        "peers": peers}
    report.write(args.json, "e2e", summary, details, "\n".join(md))
    png = Path(opts.png) if opts.png else (Path(args.json).with_suffix(".png") if args.json
                                           else Path("bench-e2e.png"))
    _picture(png, results, per_stage)
    info(f"latency picture written to {png}")
    return 0

