"""The real microphone path: a WAV played into the virtual PulseAudio mic, captured by
SoundDeviceMicrophone (PortAudio), through the capture and ASR stages with real tiny.en weights."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from assistant import events as ev
from assistant.config import Config
from tests.support import ROOT
from tests.support import whisper as sw
from tests.support.fakes import read_wav_16k
from tests.support.events import EventLog
from ui.bootstrap import Parts, bootstrap

pytestmark = pytest.mark.system


def _fresh_portaudio():
    import sounddevice

    # PortAudio enumerates devices once; re-initialize so it sees the rig's server.
    sounddevice._terminate()
    sounddevice._initialize()
    return sounddevice


def test_push_to_talk_through_the_virtual_mic(virtual_audio, tmp_path, no_thread_leak):
    from audio.asr.engines import FastWhisperEngine
    from audio.capture.mic import SoundDeviceMicrophone, list_input_devices

    _fresh_portaudio()
    assert list_input_devices(), "the rig's virtual mic is not visible to PortAudio"
    jfk = read_wav_16k(ROOT / "tests" / "data" / "jfk.flac")
    wav = tmp_path / "question.wav"
    sf.write(wav, np.concatenate([np.zeros(8000, np.float32), jfk]), 16000)
    engine = FastWhisperEngine(sw.tiny_en_checkpoint(), device="cpu")
    # The exact pre-roll arithmetic is checked without threads in test_capture_modes; here the
    # press goes through the test thread, the bus and the conductor, which on a loaded 2-core CI
    # machine can take a few hundred ms, so the pre-roll is 1 s to keep the test honest but stable.
    config = Config().with_value("audio.preroll_ms", 1000)
    mic = SoundDeviceMicrophone()
    pipeline = bootstrap(config, parts=Parts(camera=False, answer=False, speech_out=False),
                         mic=mic, asr=engine)
    pipeline.start()
    try:
        assert pipeline.wait_ready(60)
        log = EventLog(pipeline)
        player = virtual_audio.play_into_mic(wav)
        log.wait_for(lambda e: isinstance(e, ev.Level) and e.rms > 0.02, timeout=15)
        onset = len(log.events)
        # Press 400 ms (four 10 Hz idle level readings) after the speech began: pre-roll keeps it.
        log.wait_for(lambda e: isinstance(e, ev.Level)
                     and len([x for x in log.events[onset:] if isinstance(x, ev.Level)]) >= 4)
        pipeline.submit(ev.PushToTalkDown())
        partial = log.wait_for(lambda e: isinstance(e, ev.Transcript) and e.partial and e.text,
                               timeout=30)
        assert player.wait(30) == 0
        pipeline.submit(ev.PushToTalkUp())
        final = log.wait_for(lambda e: isinstance(e, ev.Transcript) and not e.partial,
                             timeout=60)
        assert partial.t < final.t
        partials = [e.text for e in log.of(ev.Transcript) if e.partial]
        # The pre-roll kept the start (the press came 200 ms into the speech), the release kept
        # the end, and nothing in between was lost.
        problem = sw.whole_utterance_problem(sw.JFK_TEXT, final.text)
        assert not problem, (problem, partials,
                             f"mic overflows {mic.overflows}, dropped {mic.dropped}")
        assert mic.dropped == 0
    finally:
        pipeline.stop()


def test_no_audio_server_names_the_devices_and_what_to_do():
    code = ("from audio.capture.mic import SoundDeviceMicrophone\n"
            "from assistant.errors import DeviceError\n"
            "try:\n    SoundDeviceMicrophone().open()\n"
            "except DeviceError as e:\n    print('ERR', e.message)\n")
    env = {"PULSE_SERVER": "unix:/nonexistent/glimpse-test/native", "PATH": "/usr/bin:/bin",
           "HOME": str(ROOT), "ALSA_CONFIG_PATH": ""}
    env = {k: v for k, v in env.items() if v}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert "ERR No microphone is available" in out.stdout, out.stdout + out.stderr
    assert "Input devices here:" in out.stdout and "audio server" in out.stdout


LOST_SCRIPT = """
import sys
from tests.support.rig.audio import VirtualAudio, RigError
try:
    va = VirtualAudio().start()
except RigError as exc:
    print('NORIG', exc); sys.exit(0)
from audio.capture.mic import SoundDeviceMicrophone
from assistant.errors import DeviceError
from assistant.events import now
mic = SoundDeviceMicrophone(); mic.open()
got, t = 0, now()
while got < 8000 and now() - t < 10:
    chunk = mic.read(0.1)
    got += 0 if chunk is None else len(chunk)
print('GOT', got)
va._proc.kill(); va._proc.wait()
t = now()
try:
    while now() - t < 10:
        mic.read(0.1)
    print('NOERROR')
except DeviceError as exc:
    print('LOST', exc.message)
va.stop()
"""


def test_server_gone_mid_stream_raises_device_error():
    """A private PulseAudio server (not the session rig) is killed while the mic streams."""
    out = subprocess.run([sys.executable, "-c", LOST_SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=90, check=False)
    if "NORIG" in out.stdout:
        from tests.support.rig import unavailable
        unavailable(out.stdout)
    assert "GOT 8" in out.stdout or "GOT" in out.stdout, out.stdout + out.stderr
    assert "LOST The microphone" in out.stdout, out.stdout + out.stderr
    assert "Plug it back in" in out.stdout


def test_hands_free_question_through_the_virtual_mic(virtual_audio, tmp_path, no_thread_leak):
    """turns.mode=hands_free: Silero VAD starts and ends the turn on real captured speech."""
    from audio.asr.engines import FastWhisperEngine
    from audio.capture.mic import SoundDeviceMicrophone

    _fresh_portaudio()
    question = sw.QUESTIONS[1]
    wav = tmp_path / "hands_free.wav"
    silence = np.zeros(16000, np.float32)
    sf.write(wav, np.concatenate([silence, sw.piper_speech(question), silence, silence]), 16000)
    config = Config().with_value("turns.mode", "hands_free").with_value("turns.vad_silence_ms",
                                                                       600)
    pipeline = bootstrap(config, parts=Parts(camera=False, answer=False, speech_out=False),
                         mic=SoundDeviceMicrophone(),
                         asr=FastWhisperEngine(sw.tiny_en_checkpoint(), device="cpu"))
    pipeline.start()
    try:
        assert pipeline.wait_ready(60)
        log = EventLog(pipeline)
        player = virtual_audio.play_into_mic(wav)
        log.wait_type(ev.TurnStarted, timeout=30)
        final = log.wait_for(lambda e: isinstance(e, ev.Transcript) and not e.partial,
                             timeout=60)
        problem = sw.whole_utterance_problem(question, final.text)  # VAD cut neither end
        assert not problem, problem
        assert player.wait(30) == 0
    finally:
        pipeline.stop()


def test_device_chosen_by_name_or_index(virtual_audio):
    from assistant.errors import DeviceError
    from audio.capture.mic import SoundDeviceMicrophone, find_input_device, list_input_devices

    _fresh_portaudio()
    devices = list_input_devices()
    assert devices
    first = devices[0]
    assert find_input_device(first["name"].upper()[:4]) == first["index"]  # substring, any case
    assert find_input_device(str(first["index"])) == first["index"]
    mic = SoundDeviceMicrophone(device=first["name"])
    mic.open()
    try:
        assert mic.device_rate > 0
        chunk = None
        for _ in range(50):
            chunk = mic.read(0.1)
            if chunk is not None:
                break
        assert chunk is not None and chunk.dtype == np.float32
    finally:
        mic.close()
    with pytest.raises(DeviceError, match="Input devices here") as info:
        SoundDeviceMicrophone(device="no such microphone").open()
    assert first["name"] in info.value.message


def test_a_reader_that_falls_behind_is_told_what_was_lost(virtual_audio, caplog):
    """Blocks thrown away while the reader was stalled are counted and logged, never silent."""
    import threading

    from audio.capture.mic import SoundDeviceMicrophone

    _fresh_portaudio()
    mic = SoundDeviceMicrophone(queue_s=0.2)  # room for 8 blocks (0.32 s)
    mic.open()
    try:
        stalled = threading.Event()
        deadline = 20.0
        while mic.dropped == 0 and deadline > 0:  # the reader stalls: the queue fills up
            stalled.wait(0.1)
            deadline -= 0.1
        assert mic.dropped > 0
        with caplog.at_level("WARNING", logger="audio.capture.mic"):
            assert mic.read(1.0) is not None
        assert any("lost audio" in r.getMessage() and "dropped" in r.getMessage()
                   for r in caplog.records)
    finally:
        mic.close()
