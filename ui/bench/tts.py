"""`glimpse bench tts [--json OUT] [--quick]`: how soon speech starts, and how fast it is made.

For each engine (Piper with the default voice, espeak-ng):
- first audio: the answer arrives as tokens; the clock starts when the token completing the first
  clause arrives, and stops when the engine hands over the first audio of that clause (what
  Glimpse's TTS stage does);
- real-time factor: synthesis time / audio duration over a whole answer.
The peer baseline in the same run is how Piper is usually driven (its own CLI, or
speech-to-speech pipelines that wait for a sentence): synthesize the whole first sentence, then
play; and the whole answer, then play.
With an output device, stop-to-silence (barge-in) is measured on the speaker's DAC clock, and
text-to-DAC time for the first clause; without one these are null with the reason.
"""
from __future__ import annotations

import argparse
import contextlib
import time
from typing import Any

import numpy as np

from assistant.config import Config
from assistant.ports import TtsOptions
from ui.bench.kit.report import pct, table, write

ANSWER = ("In front of you, there is a wooden table with a red cup and a blue book on it. "
          "The lamp next to them is switched on, and the room looks tidy. "
          "Behind the table, a window shows a street with two parked cars.")
FIRST_SENTENCE = ANSWER.split(". ")[0] + "."


def _tokens(text: str) -> list[str]:
    return [w + " " for w in text.split()]


def _first_audio_ms(engine, options: TtsOptions) -> tuple[float, str]:
    """Feed the answer token by token into the chunker; time from the token that completes the
    first piece to the first audio of it."""
    from audio.tts.chunker import SentenceChunker

    chunker = SentenceChunker()
    for token in _tokens(ANSWER):
        t0 = time.perf_counter()
        pieces = chunker.push(token)
        if pieces:
            first = next(iter(engine.synthesize(pieces[0], options)))
            assert first.samples.size
            return (time.perf_counter() - t0) * 1000, pieces[0]
    raise RuntimeError("the chunker produced no piece")


def _whole_ms(engine, text: str, options: TtsOptions) -> tuple[float, float]:
    """Synthesize all of `text` (then it could play): (ms, audio seconds)."""
    t0 = time.perf_counter()
    audio = [a for a in engine.synthesize(text, options)]
    ms = (time.perf_counter() - t0) * 1000
    return ms, sum(a.samples.size / a.sample_rate for a in audio)


def _monitor_stop_ms(recording, started_at: float, cleared_at: float) -> float | None:
    """Stop-to-silence on a monitor recording, aligned by the first sample's DAC time."""
    samples, block = recording.samples, 160
    first = recording.first_sound()
    n = len(samples) // block
    if first is None or n == 0:
        return None
    rms = np.sqrt((samples[: n * block].reshape(n, block) ** 2).mean(axis=1))
    loud = np.nonzero(rms > 0.01)[0]
    last_sound_at = started_at + (loud[-1] + 1) * block / recording.rate - first
    return (last_sound_at - cleared_at) * 1000


def _device_figures(reps: int) -> dict[str, Any]:
    """Barge-in stop-to-silence and text-to-DAC on the output device, or null + reason.

    With no sound hardware, a private virtual speaker (PulseAudio null sink) is used when
    PulseAudio is installed; its monitor recording then measures silence as heard."""
    from audio.playback.speaker import SoundDeviceSpeaker, list_output_devices

    virtual = None
    try:
        if not list_output_devices():
            from ui.bench.kit.rig import RigError, VirtualAudio

            try:
                virtual = VirtualAudio().start()
            except RigError as exc:
                return {"stop_to_silence_ms_p50": None,
                        "reason": f"no audio output device, and no virtual one ({exc})"}
            import sounddevice as sd

            sd._terminate()  # re-read the device list now that the private server is up
            sd._initialize()
        speaker = SoundDeviceSpeaker()
        speaker.open()
    except Exception as exc:  # noqa: BLE001 - reported in the JSON, not hidden
        if virtual is not None:
            virtual.stop()
        return {"stop_to_silence_ms_p50": None, "reason": f"no usable output device: {exc}"}
    from audio.tts.engines import EspeakEngine

    engine = EspeakEngine()
    engine.load()
    clip = next(iter(engine.synthesize("This sentence is long enough to be interrupted in the "
                                       "middle of a word.", TtsOptions())))
    stops, dac, cuts, heard = [], [], [], []
    try:
        for _ in range(reps):
            started: list[float] = []
            with (virtual.record_speaker() if virtual else contextlib.nullcontext()) as rec:
                t0 = time.monotonic()
                piece = next(iter(engine.synthesize("In front of you,", TtsOptions())))
                speaker.enqueue(piece.samples, piece.sample_rate, 1, on_start=started.append)
                speaker.enqueue(clip.samples, clip.sample_rate, 1)
                speaker.wait(timeout=0.6)  # let it play a while, then barge in
                cleared = time.monotonic()
                speaker.clear()
                deadline = cleared + 1.0
                while speaker.silenced_at is None and time.monotonic() < deadline:
                    time.sleep(0.002)  # waiting on the audio thread's next block
                speaker.wait(timeout=1.0)
                time.sleep(0.2)  # keep recording: the silence after the cut is the measure
            if speaker.silenced_at is not None:
                stops.append((speaker.silenced_at - cleared) * 1000)
                cuts.append(speaker.last_cut_ms)
            if started:
                dac.append((started[0] - t0) * 1000)
                if rec is not None:
                    measured = _monitor_stop_ms(rec, started[0], cleared)
                    if measured is not None:
                        heard.append(measured)
        return {"stop_to_silence_ms_p50": pct(stops, 50),
                "stop_to_silence_ms_max": max(stops) if stops else None,
                "monitor_stop_to_silence_ms_p50": pct(heard, 50) if heard else None,
                "monitor_stop_to_silence_ms_max": max(heard) if heard else None,
                "espeak_text_to_dac_ms_p50": pct(dac, 50),
                "device": "virtual PulseAudio speaker" if virtual else "system default output",
                "device_rate": speaker.rate, "output_latency_ms": speaker.output_latency * 1000,
                "underruns": speaker.underruns, "hard_cut_ms_p50": pct(cuts, 50),
                "clock": "monotonic; the cut is when the stream abort returned (the device buffer "
                         "is dropped), else the DAC time of the first silent block; the monitor "
                         "figure is aligned by the first sample's DAC time (about +-10 ms)"}
    finally:
        speaker.close()
        if virtual is not None:
            virtual.stop()


def main(args: argparse.Namespace, config: Config) -> int:
    from audio.tts.engines import EspeakEngine, PiperEngine

    reps = 2 if args.quick else 10
    options = TtsOptions()
    engines: dict[str, Any] = {}
    try:
        piper = PiperEngine("en_US-joe-medium", Config())
        t0 = time.perf_counter()
        piper.load()
        engines["piper"] = (piper, (time.perf_counter() - t0) * 1000)
    except Exception as exc:  # noqa: BLE001 - the table says which engine is missing and why
        engines["piper"] = (None, str(exc))
    if EspeakEngine.available():
        espeak = EspeakEngine()
        espeak.load()
        engines["espeak-ng"] = (espeak, 0.0)
    else:
        engines["espeak-ng"] = (None, "espeak-ng is not installed")

    results: dict[str, Any] = {}
    rows = []
    for name, (engine, load) in engines.items():
        if engine is None:
            results[name] = {"error": load}
            rows.append([name, "n/a", "n/a", "n/a", load])
            continue
        _first_audio_ms(engine, options)  # warm
        first = [_first_audio_ms(engine, options)[0] for _ in range(reps)]
        whole = [_whole_ms(engine, ANSWER, options) for _ in range(max(1, reps // 2))]
        rtf = [ms / 1000 / secs for ms, secs in whole if secs]
        results[name] = {"first_audio_ms": first, "first_audio_ms_p50": pct(first, 50),
                         "first_audio_ms_p90": pct(first, 90), "rtf": pct(rtf, 50),
                         "answer_audio_s": whole[0][1], "load_ms": load}
        rows.append([name, pct(first, 50), pct(first, 90), pct(rtf, 50), ""])

    baseline: dict[str, Any] = {}
    piper = engines["piper"][0]
    if piper is not None:
        sentence = [_whole_ms(piper, FIRST_SENTENCE, options)[0] for _ in range(reps)]
        answer = [_whole_ms(piper, ANSWER, options)[0] for _ in range(max(1, reps // 2))]
        baseline = {"piper_sentence_ms": sentence, "piper_sentence_ms_p50": pct(sentence, 50),
                    "piper_whole_answer_ms_p50": pct(answer, 50)}
        rows.append(["peer: Piper, whole sentence then play", pct(sentence, 50),
                     pct(sentence, 90), "", ""])
        rows.append(["peer: Piper, whole answer then play", pct(answer, 50), "", "", ""])

    device = _device_figures(3 if args.quick else 8)
    ours = results.get("piper", {}).get("first_audio_ms_p50")
    peer = baseline.get("piper_sentence_ms_p50")
    summary = {
        "first_audio_ms_p50": ours,
        "piper_sentence_ms_p50": peer,
        "speedup_vs_sentence": (peer / ours) if ours and peer else None,
        "rtf": results.get("piper", {}).get("rtf"),
        "rtf_espeak": results.get("espeak-ng", {}).get("rtf"),
        "espeak_first_audio_ms_p50": results.get("espeak-ng", {}).get("first_audio_ms_p50"),
        "stop_to_silence_ms_p50": device.get("stop_to_silence_ms_p50"),
        "monitor_stop_to_silence_ms_p50": device.get("monitor_stop_to_silence_ms_p50"),
        "goal_first_audio_ms": 80,
    }
    markdown = "\n\n".join([
        "## TTS: time to first audio (ms after the first clause is complete) and real-time "
        "factor",
        table(["engine", "first audio p50 ms", "p90 ms", "RTF", "note"], rows),
        f"Streaming speedup over Piper whole-sentence: "
        f"{summary['speedup_vs_sentence']:.1f}x" if summary["speedup_vs_sentence"] else "",
        "Barge-in stop-to-silence: " + (
            f"{device['stop_to_silence_ms_p50']:.0f} ms (p50, speaker clock); on the "
            f"{device['device']}'s recording: "
            + (f"{device['monitor_stop_to_silence_ms_p50']:.0f} ms"
               if device.get("monitor_stop_to_silence_ms_p50") is not None else "n/a")
            if device.get("stop_to_silence_ms_p50") is not None
            else f"n/a ({device.get('reason')})"),
    ])
    write(args.json, "tts", summary, {"engines": results, "baseline": baseline,
                                      "device": device, "reps": reps, "answer": ANSWER},
          markdown)
    return 0
