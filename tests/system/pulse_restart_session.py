"""PulseAudio killed mid-utterance and restarted 2 s later, under the real microphone.

Run by tests/system/test_fault_pulseaudio.py in its own process (PortAudio is bound to one
audio server per process). A private PulseAudio server (tests/support/rig/audio.py) carries the spoken
question (jfk.flac) into the virtual microphone; the capture stage reads it through PortAudio.
The server is killed with SIGKILL while the question is being said, and started again on the
same socket 2 s later. The speech recognizer is a fake that keeps what it was given, so the test
can check that the audio said before the kill reached it. Prints one JSON line.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from assistant.ports import AsrEngine
from tests.support.rig.audio import RigError, VirtualAudio
from tests.support.sessions import start_audio_or_report

ROOT = Path(__file__).resolve().parents[2]
SPEECH = ROOT / "tests" / "data" / "jfk.flac"


class KeepingAsr(AsrEngine):
    """The scripted recognizer, keeping every final utterance it was asked to transcribe."""

    name = "keeping-asr"

    def __init__(self) -> None:
        from tests.support.fakes import ScriptedAsr

        self.inner = ScriptedAsr()
        self.finals: list[np.ndarray] = []

    def load(self) -> None:
        pass

    def transcribe(self, audio, options):
        if not options.partial:
            self.finals.append(np.asarray(audio))
        return self.inner.transcribe(audio, options)


def restart(audio: VirtualAudio) -> None:
    """Start the server again on the same socket, as a user's session does after a crash."""
    env = dict(os.environ, **audio.env, HOME=str(audio.dir),
               XDG_CONFIG_HOME=str(audio.dir / "config"))
    audio._proc = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(audio.dir / "va.pa"), "--daemonize=no",
         "--exit-idle-time=-1", "--disallow-exit", f"--log-target=file:{audio.dir}/pulse2.log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RigError("PulseAudio did not start again")
        time.sleep(0.05)  # polling a server's start-up: no event to wait on


def main() -> int:
    audio = start_audio_or_report()
    if audio is None:
        return 0
    from assistant import events as ev
    from assistant.config import Config
    from tests.support.events import EventLog
    from tests.support.fakes import RecordingSpeaker, ScriptedTts, ScriptedVlm
    from ui.bootstrap import Parts, bootstrap

    asr = KeepingAsr()
    config = Config().with_value("camera.source", "").with_value("asr.partial_interval_s", 0)
    pipeline = bootstrap(config, parts=Parts(speech_out=False), asr=asr, vlm=ScriptedVlm(),
                         tts=ScriptedTts(), speaker=RecordingSpeaker())
    out: dict = {}
    log = EventLog(pipeline)

    def wait(predicate, timeout: float, what: str):
        try:
            return log.wait_for(predicate, timeout)
        except AssertionError as exc:
            raise TimeoutError(f"{what}: {exc}") from None

    pipeline.start()
    try:
        assert pipeline.wait_ready(30)
        # Turn 1: the question is being said when the server dies.
        pipeline.submit(ev.PushToTalkDown())
        player = audio.play_into_mic(SPEECH)
        first = wait(lambda e: isinstance(e, ev.Level) and e.rms > 0.02, 10, "speech in the mic")
        # The fault comes mid-sentence: after half a second of speech has reached the mic.
        wait(lambda e: isinstance(e, ev.Level) and e.rms > 0.02 and e.t - first.t >= 0.5, 10,
             "half a second of speech in the mic")
        audio._proc.send_signal(signal.SIGKILL)
        audio._proc.wait(5)
        killed_at = time.monotonic()
        player.kill()
        lost = wait(lambda e: isinstance(e, ev.ErrorEvent) and e.stage == ev.StageName.CAPTURE,
                    15, "the lost microphone")
        out["lost_message"] = lost.message
        ended = wait(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == 1, 20, "turn 1")
        out["turn1"] = {"transcript": ended.transcript, "answer": ended.answer,
                        "cancelled": ended.cancelled}
        final = asr.finals[-1] if asr.finals else np.zeros(0, np.float32)
        out["turn1_audio_s"] = round(len(final) / 16000, 2)
        out["turn1_audio_rms"] = float(np.sqrt(np.mean(final ** 2))) if final.size else 0.0
        pipeline.submit(ev.PushToTalkUp())  # the key is let go after the fault
        # The server comes back 2 s after it died.
        time.sleep(max(0.0, 2.0 - (time.monotonic() - killed_at)))
        restart(audio)
        back = wait(lambda e: isinstance(e, ev.Notice) and "microphone is back" in e.message, 30,
                    "the microphone to reopen")
        out["back"] = back.message
        out["reopened_after_s"] = round(time.monotonic() - killed_at, 2)
        # Turn 2 works as usual.
        pipeline.submit(ev.PushToTalkDown())
        wait(lambda e: isinstance(e, ev.TurnStarted) and e.turn_id == 2, 10, "turn 2 to start")
        t_play = time.monotonic()
        player = audio.play_into_mic(SPEECH)
        out["turn2_player_rc"] = player.wait(30)
        out["turn2_played_s"] = round(time.monotonic() - t_play, 2)
        pipeline.submit(ev.PushToTalkUp())
        ended = wait(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == 2, 30, "turn 2")
        final = asr.finals[-1]
        out["turn2"] = {"transcript": ended.transcript, "answer": ended.answer,
                        "cancelled": ended.cancelled, "audio_s": round(len(final) / 16000, 2),
                        "rms": float(np.sqrt(np.mean(final ** 2)))}
    except (TimeoutError, AssertionError) as exc:
        out["failed"] = str(exc) or type(exc).__name__
    finally:
        pipeline.stop()
        audio.stop()
    out["events"] = [f"{type(e).__name__}: {getattr(e, 'message', '') or getattr(e, 'answer', '')}"
                     for e in log.events
                     if isinstance(e, (ev.ErrorEvent, ev.Notice, ev.TurnEnded, ev.Utterance))]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
