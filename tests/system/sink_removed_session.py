"""The speaker's sink removed while an answer plays, then a sink added back.

Run by tests/system/test_fault_speaker_sink.py in its own process (PortAudio is bound to one
audio server per process). The speaker is real (PortAudio through the ALSA pulse plugin to a
private PulseAudio server); the answer and the speech are fakes injected through bootstrap.
Every sink is unloaded while the answer plays (removing only the speaker's sink moves the
stream to the next sink, which PulseAudio does by itself). Prints one JSON line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.support.sessions import start_audio_or_report


def main() -> int:
    audio = start_audio_or_report()
    if audio is None:
        return 0
    from assistant import events as ev
    from assistant.config import Config
    from tests.support.events import EventLog
    from tests.support.fakes import ScriptedTts, ScriptedVlm
    from ui.bootstrap import Parts, bootstrap

    env = dict(os.environ, **audio.env)

    def pactl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=env, capture_output=True, text=True)

    config = Config().with_value("camera.source", "").with_value("earcons.enabled", False)
    pipeline = bootstrap(config, parts=Parts(audio_in=False, asr=False),
                         vlm=ScriptedVlm(tokens=["word " * 60]), tts=ScriptedTts())
    out: dict = {}
    log = EventLog(pipeline)  # playback starts and ends reach listeners only: the log has them

    def wait(predicate, timeout: float, what: str):
        try:
            return log.wait_for(predicate, timeout)
        except AssertionError as exc:
            raise TimeoutError(f"{what}: {exc}") from None

    def wait_playback(kind: type, turn_id: int, timeout: float, what: str):
        return wait(lambda e: isinstance(e, kind) and e.turn_id == turn_id, timeout, what)

    pipeline.start()
    try:
        assert pipeline.wait_ready(20)
        pipeline.submit(ev.Ask(text="what is there?"))
        wait_playback(ev.PlaybackStarted, 1, 20, "the answer to play")
        removed_at = time.monotonic()
        for module in ("module-remap-source", "module-null-sink"):
            pactl("unload-module", module)
        out["sinks_left"] = pactl("list", "short", "sinks").stdout.strip()
        ended = wait(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == 1, 15,
                     "turn 1 to end after its sink went away")
        out["turn1"] = {"answer": ended.answer, "cancelled": ended.cancelled,
                        "ended_after_s": round(time.monotonic() - removed_at, 2)}
        pactl("load-module", "module-null-sink", "sink_name=speaker", "rate=48000",
              "norewinds=1")
        pactl("set-default-sink", "speaker")
        pipeline.submit(ev.Ask(text="and now?"))
        wait_playback(ev.PlaybackStarted, 2, 20, "turn 2 to play")
        done = wait_playback(ev.PlaybackDone, 2, 30, "turn 2 to finish playing")
        out["turn2_played"] = done is not None
    except (TimeoutError, AssertionError) as exc:
        out["failed"] = str(exc) or type(exc).__name__
    finally:
        pipeline.stop()
        audio.stop()
    out["errors"] = [[e.stage.value, e.message] for e in log.of(ev.ErrorEvent)]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
