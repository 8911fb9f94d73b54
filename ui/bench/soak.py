"""`glimpse bench soak [--turns N] [--json OUT]`: a long session, to show it does not degrade.

N push-to-talk turns through the real pipeline with the real engines (the preset the e2e
benchmark uses: the offline pack's Whisper tiny.en, the describer and Piper) on the virtual
microphone, camera and speaker (`ui.bench.e2e` helpers), with history recorded as the window
does. Every 5th turn is barged in on: the next question is asked while the answer plays, which
must cancel it and answer the new one. Every 7th turn changes the mode (ask <-> read).

Reported: turns completed, turns lost (no end within the timeout, or ended with no answer and
not barged in on), errors, RSS, threads and open file descriptors at the start (after the first
turn), the middle and the end, RSS growth from turn 100 (or the first tenth, for short runs) to
the end, and the p50/p95 latency (release -> first audio queued) of the first and last tenth.
Goals (1,000 turns): 0 lost; RSS growth < 5 %; threads and fds flat; last-tenth p95 within
10 % of the first tenth's.
"""
from __future__ import annotations

import argparse
import os
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant import events as ev
from assistant.errors import GlimpseError
from assistant.history import HistoryRecorder, HistoryStore, store_path
from ui.bench.kit import report
from ui.bench.kit.report import info
from ui.bench.kit.turns import bench_config, make_questions, make_video, start_audio, with_preset

TURN_TIMEOUT_S = 120.0
BARGE_IN_EVERY = 5
MODE_CHANGE_EVERY = 7


def _parse(rest: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="glimpse bench soak")
    p.add_argument("--turns", type=int, default=1000)
    p.add_argument("--preset", default="small-cpu",
                   help="model preset (default small-cpu: the offline pack); none: your settings")
    return p.parse_args([a for a in rest if a != "--"])


def sample() -> dict[str, float]:
    """RSS (MB), threads (Python and OS) and open file descriptors of this process."""
    with open("/proc/self/statm", encoding="ascii") as f:
        rss_pages = int(f.read().split()[1])
    return {"rss_mb": round(rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1),
            "threads": threading.active_count(),
            "os_threads": len(os.listdir("/proc/self/task")),
            "fds": len(os.listdir("/proc/self/fd"))}


class _Events:
    """Reads `pipeline.events` and keeps what the soak needs: ends and errors. Playback starts
    are internal to the pipeline: they arrive through a listener (`on_event`, conductor
    thread)."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.errors: list[str] = []
        self._played: set[int] = set()
        self._played_cond = threading.Condition()
        pipeline.add_listener(self.on_event)

    def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.PlaybackStarted):
            with self._played_cond:
                self._played.add(event.turn_id)
                self._played_cond.notify_all()

    def wait_played(self, turn_id: int, timeout: float) -> None:
        with self._played_cond:
            if not self._played_cond.wait_for(lambda: turn_id in self._played, timeout):
                raise TimeoutError

    def until(self, predicate, timeout: float) -> list[ev.Event]:
        seen: list[ev.Event] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.pipeline.events.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(event)
            if isinstance(event, ev.ErrorEvent):
                self.errors.append(event.message)
                info(f"error: {event.message}")
            if predicate(event):
                return seen
        raise TimeoutError


def _ask(pipeline, audio, events: _Events, wav: Path) -> int:
    """Press, say the question, let go. Returns the turn id."""
    pipeline.submit(ev.PushToTalkDown())
    started = events.until(lambda e: isinstance(e, ev.TurnStarted), 10)[-1]
    audio.play_into_mic(wav).wait(30)
    pipeline.submit(ev.PushToTalkUp())
    return started.turn_id


def run_soak(pipeline, audio, events: _Events, questions, turns: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    modes = (ev.Mode.ASK, ev.Mode.READ)
    for i in range(1, turns + 1):
        if i % MODE_CHANGE_EVERY == 0:
            pipeline.submit(ev.SetMode(mode=modes[(i // MODE_CHANGE_EVERY) % 2]))
        _text, wav, _ = questions[i % len(questions)]
        row: dict[str, Any] = {"turn": i, "barged_in": False, "lost": False}
        try:
            turn_id = _ask(pipeline, audio, events, wav)
            if i % BARGE_IN_EVERY == 0:
                # Barge in: the next question while this answer plays.
                events.wait_played(turn_id, TURN_TIMEOUT_S)
                row["barged_in"] = True
                turn_id = _ask(pipeline, audio, events, questions[(i + 1) % len(questions)][1])
            seen = events.until(lambda e, t=turn_id: isinstance(e, ev.TurnEnded)
                                and e.turn_id == t, TURN_TIMEOUT_S)
            ended = seen[-1]
            metrics = next((e for e in seen if isinstance(e, ev.Metrics)
                            and e.turn_id == turn_id), None)
            row["answered"] = bool(ended.answer) and not ended.cancelled
            row["lost"] = not row["answered"]
            if metrics is not None and metrics.release and metrics.first_audio_queued:
                row["latency_ms"] = (metrics.first_audio_queued - metrics.release) * 1000
        except TimeoutError:
            row["lost"] = True
            info(f"turn {i}: no end within {TURN_TIMEOUT_S:.0f} s")
        results.append(row)
        if i == 1 or i == 100 or i == turns // 2 or i == turns:
            row["sample"] = sample()
        if i % 10 == 0 or i == turns:
            info(f"turn {i}/{turns}: {sum(r['lost'] for r in results)} lost, "
                 f"RSS {sample()['rss_mb']} MB")
    return results


def _tenth(rows: list[dict[str, Any]], last: bool) -> list[float]:
    n = max(1, len(rows) // 10)
    part = rows[-n:] if last else rows[:n]
    return [r["latency_ms"] for r in part if "latency_ms" in r]


def main(args: argparse.Namespace, config: Config) -> int:
    opts = _parse(list(args.rest or []))
    turns = 10 if args.quick else max(opts.turns, 2)
    audio = start_audio()
    from ui.bootstrap import bootstrap

    try:
        with tempfile.TemporaryDirectory(prefix="glimpse-soak-") as tmp:
            folder = Path(tmp)
            config, preset = with_preset(config, opts.preset)
            config = bench_config(config, make_video(folder / "camera.mp4"))
            questions = make_questions(config, folder)
            pipeline = bootstrap(config)
            store = HistoryStore(store_path(folder / "data"), notify=info)
            recorder = HistoryRecorder(store, info)
            pipeline.add_listener(recorder.on_event)
            events = _Events(pipeline)
            pipeline.start()
            if not pipeline.wait_ready(300):
                raise GlimpseError("The pipeline did not finish loading in 5 minutes",
                                   "Check `glimpse doctor`.")
            t0 = time.monotonic()
            try:
                results = run_soak(pipeline, audio, events, questions, turns)
            finally:
                pipeline.stop(timeout=5)
                recorder.close()
            wall_s = time.monotonic() - t0
            saved = len(store.turns())
            store.close()
    finally:
        audio.stop()
    return _report(args, preset, config, results, events.errors, wall_s, saved)


def _report(args, preset, config, results, errors, wall_s, saved) -> int:
    samples = {r["turn"]: r["sample"] for r in results if "sample" in r}
    turns = len(results)
    start, middle, end = samples[1], samples[max(turns // 2, 1)], samples[turns]
    base_turn = 100 if 100 in samples and turns > 100 else 1
    growth = (end["rss_mb"] - samples[base_turn]["rss_mb"]) / samples[base_turn]["rss_mb"] * 100
    first, last = _tenth(results, False), _tenth(results, True)
    p95_first, p95_last = report.pct(first, 95), report.pct(last, 95)
    summary = {
        "turns": turns,
        "turns_completed": sum(1 for r in results if not r["lost"]),
        "turns_lost": sum(1 for r in results if r["lost"]),
        "barge_ins": sum(1 for r in results if r["barged_in"]),
        "errors": len(errors),
        "turns_in_history": saved,
        f"rss_growth_percent_from_turn_{base_turn}": round(growth, 2),
        "threads_start_end": [start["threads"], end["threads"]],
        "fds_start_end": [start["fds"], end["fds"]],
        "latency_first_tenth_ms_p50": round(report.pct(first, 50), 1),
        "latency_first_tenth_ms_p95": round(p95_first, 1),
        "latency_last_tenth_ms_p50": round(report.pct(last, 50), 1),
        "latency_last_tenth_ms_p95": round(p95_last, 1),
        "last_vs_first_p95_percent": round((p95_last / p95_first - 1) * 100, 1),
        "wall_s": round(wall_s, 1), "preset": preset or None,
    }
    md = ["## glimpse bench soak", "",
          f"{turns} push-to-talk turns (barge-in every {BARGE_IN_EVERY}th, mode change every "
          f"{MODE_CHANGE_EVERY}th) in {wall_s / 60:.1f} min: {summary['turns_completed']} "
          f"completed, {summary['turns_lost']} lost, {len(errors)} errors, {saved} in history.",
          "", report.table(["when", "RSS MB", "threads", "OS threads", "open fds"], [
              ["start (turn 1)", start["rss_mb"], start["threads"], start["os_threads"],
               start["fds"]],
              [f"middle (turn {max(turns // 2, 1)})", middle["rss_mb"], middle["threads"],
               middle["os_threads"], middle["fds"]],
              [f"end (turn {turns})", end["rss_mb"], end["threads"], end["os_threads"],
               end["fds"]]]),
          "", f"RSS growth from turn {base_turn} to the end: {growth:.2f} %.", "",
          report.table(["release -> first audio queued", "p50 ms", "p95 ms", "n"], [
              ["first tenth", report.pct(first, 50), p95_first, len(first)],
              ["last tenth", report.pct(last, 50), p95_last, len(last)]]),
          "", f"Models: asr {config.asr.engine} {config.asr.model}; answer {config.vlm.backend}; "
              f"tts {config.tts.engine} {config.tts.voice}."]
    if errors:
        md += ["", "Errors:", "", *[f"- {e}" for e in dict.fromkeys(errors)]]
    report.write(args.json, "soak", summary, {"turns": results, "errors": errors,
                                              "config": config.to_dict()}, "\n".join(md))
    return 0 if summary["turns_lost"] == 0 else 1
