"""Whole turns on the virtual rig, shared by `bench e2e`, `bench e2e --gpu` and `bench soak`.

The questions are spoken by the configured voice and played into the virtual microphone while
the key is "held"; `measure_turns` starts a pipeline, runs the turns, probes the speaker's
monitor for the first audible sample and stops the pipeline. Also here: the benchmarks' config
(a generated camera clip, no earcons), presets, the idle-CPU meter and the TTS peer.
Runs on the caller's thread; the pipeline's own threads do the work.
"""
from __future__ import annotations

import argparse
import os
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant import events as ev
from assistant.config import Config
from assistant.errors import GlimpseError
from ui.bench.kit.report import info


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


def options(rest: list[str], prog: str = "glimpse bench e2e") -> argparse.Namespace:
    """The options of `bench e2e` (CPU and GPU mode), from what follows the benchmark's name."""
    p = argparse.ArgumentParser(prog=prog)
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


def bench_config(config: Config, camera: str) -> Config:
    for key, value in (("camera.source", camera), ("earcons.enabled", "false"),
                       ("ui.announce_ready", "false"), ("asr.partial_interval_s", "0.5")):
        config = config.with_value(key, value)
    return config


def with_preset(config: Config, key: str) -> tuple[Config, str]:
    """The config with preset `key` applied, and the preset's key ("" when none was)."""
    from ui.presets import PRESETS, detect, recommend_for

    if key == "none" or (key == "auto" and not config.ui.show_first_run):
        return config, ""
    if key == "auto":
        key = recommend_for(detect(), config.models.offline).key
    if key not in PRESETS:
        raise GlimpseError(f"There is no preset '{key}'",
                           f"Choose one of: {', '.join(PRESETS)}")
    return PRESETS[key].apply(config), key


def make_video(path: Path) -> str:
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


def make_questions(config: Config, folder: Path) -> list[tuple[str, Path, np.ndarray]]:
    """`speak_questions`, each also written to a WAV file in `folder` for the virtual mic."""
    import soundfile as sf

    out = []
    for i, (text, audio16) in enumerate(speak_questions(config)):
        path = folder / f"q{i}.wav"
        sf.write(str(path), audio16, 16000, subtype="PCM_16")
        out.append((text, path, audio16))
    return out


def wait_for(pipeline, kind: type, turn_id: int | None, timeout: float) -> list[ev.Event]:
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


def glitches(pipeline) -> tuple[int, int, int]:
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


def run_turns(pipeline, audio, questions, turns: int, before_turn=None) -> list[dict[str, Any]]:
    results = []
    for i in range(turns):
        gaps0, underruns0, audible0 = glitches(pipeline)
        text, wav, _ = questions[i % len(questions)]
        if before_turn is not None:
            before_turn(text)
        pipeline.submit(ev.PushToTalkDown())
        started = wait_for(pipeline, ev.TurnStarted, None, 10)[-1]
        player = audio.play_into_mic(wav)
        player.wait(30)
        pipeline.submit(ev.PushToTalkUp())
        seen = wait_for(pipeline, ev.TurnEnded, started.turn_id, 120)
        metrics = next(e for e in seen if isinstance(e, ev.Metrics))
        ended = seen[-1]
        gaps, underruns, audible = glitches(pipeline)
        results.append({"question": text, "metrics": metrics, "transcript": ended.transcript,
                        "answer": ended.answer, "gaps": gaps - gaps0,
                        "underruns": underruns - underruns0,
                        "underruns_in_sound": audible - audible0})
        info(f"turn {i + 1}/{turns}: {ended.transcript!r}")
    return results


def measure_turns(pipeline, audio, questions, turns: int, *, warm_up: int = 0,
                  idle_s: float | None = None, before_turn=None,
                  looks: list[ev.LookedAhead] | None = None
                  ) -> tuple[list[dict[str, Any]], IdleCpu | None]:
    """Start `pipeline`, run `warm_up` unmeasured turns, then `turns` measured ones through the
    virtual microphone while the speaker's monitor is probed, then (with `idle_s`) the idle CPU
    load; the pipeline is stopped in all cases. Returns (turns with their per-stage times,
    the idle CPU or None). The one turn-measuring loop of `bench e2e` and `bench e2e --gpu`.

    `looks`: the answer engine's looks at the idle view are added to it, and the first turn
    waits for the first look (when the camera looks ahead): a person points the camera, then
    asks. That look's time is what a question right after the view changed waits for.
    """
    import threading

    from ui.bench.kit.rig import SpeakerProbe

    looked = threading.Event()

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.LookedAhead) and looks is not None:
            looks.append(event)
            looked.set()

    pipeline.add_listener(on_event)
    pipeline.start()
    idle_cpu = None
    try:
        if not pipeline.wait_ready(300):
            raise GlimpseError("The pipeline did not finish loading in 5 minutes",
                               "Check `glimpse doctor`.")
        if looks is not None and pipeline.stages.camera is not None and \
                pipeline.stages.camera.options.look_ahead and not looked.is_set():
            # Drained while waiting, as a window drains them: previews pile up otherwise.
            wait_for(pipeline, ev.LookedAhead, None, 300)
        if warm_up:
            run_turns(pipeline, audio, questions, warm_up, before_turn=before_turn)
        with SpeakerProbe(audio) as probe:
            results = run_turns(pipeline, audio, questions, turns, before_turn=before_turn)
        if idle_s is not None:
            idle_cpu = measure_idle_cpu(pipeline, idle_s)
    finally:
        pipeline.stop(timeout=5)
    for turn in results:
        m = turn["metrics"]
        audible = probe.first_sound_after(m.first_audio_queued) \
            if m.first_audio_queued is not None else None
        turn["stages"] = stage_times(turn, audible)
    return results, idle_cpu


def stage_times(turn: dict[str, Any], audible: float | None) -> dict[str, float | None]:
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


def peer_tts(config: Config, answers: list[str]) -> dict[str, Any]:
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


def thread_ticks() -> dict[str, int]:
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


def measure_idle_cpu(pipeline, seconds: float) -> IdleCpu:
    """CPU use of this process with the camera preview on and no turn, after `IDLE_SETTLE_S`."""
    def drain(until: float) -> None:
        while time.monotonic() < until:
            try:
                pipeline.events.get(timeout=0.1)  # keep draining previews, like the UI does
            except queue.Empty:
                pass

    drain(time.monotonic() + IDLE_SETTLE_S)
    per_thread = Path("/proc/self/task").is_dir()
    ticks0 = thread_ticks() if per_thread else {}
    t0, c0 = time.monotonic(), time.process_time()
    drain(t0 + seconds)
    elapsed = time.monotonic() - t0
    percent = (time.process_time() - c0) / elapsed * 100
    if not per_thread:
        return IdleCpu(percent, {})
    hz = os.sysconf("SC_CLK_TCK")
    used = {name: (t - ticks0.get(name, 0)) / hz / elapsed * 100
            for name, t in thread_ticks().items()}
    return IdleCpu(percent, {name: round(v, 2) for name, v in
                             sorted(used.items(), key=lambda kv: -kv[1]) if v > 0})


def start_audio():
    """The spoken questions have to reach a microphone, so the benchmark always runs on its own
    private audio server (virtual mic and speaker), also on machines with sound hardware."""
    from ui.bench.kit.rig import RigError, VirtualAudio

    try:
        audio = VirtualAudio().start()
    except RigError as exc:
        raise GlimpseError(f"Could not start the virtual audio devices: {exc}",
                           "Install pulseaudio and pulseaudio-utils.") from exc
    import sounddevice as sd

    sd._terminate()  # re-read the device list now that the private server is up
    sd._initialize()
    return audio
