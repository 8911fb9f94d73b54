"""Loading Silero VAD must not change how many threads torch uses for everything else.

`silero_vad` calls `torch.set_num_threads(1)` when it is imported; once the ASR guard had loaded
it, Whisper's encoder (and any torch model in the process) ran on one core. Each check runs in a
fresh interpreter, so what other tests imported first cannot hide the effect.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from tests.support import ROOT


def _threads_after(use: str) -> str:
    code = textwrap.dedent(f"""
        import numpy as np
        import torch
        torch.set_num_threads(3)
        from audio.capture import vad
        {use}
        print(torch.get_num_threads())
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_speech_segments_keeps_torch_threads():
    # The guard's batched model on real silence, then on a tone: Silero loads on the first call.
    use = ("vad.speech_segments(np.zeros(16000, np.float32)); "
           "vad.speech_segments(np.sin(np.arange(16000) * 0.1).astype(np.float32))")
    assert _threads_after(use) == "3"


def test_streaming_vad_keeps_torch_threads():
    use = "v = vad.StreamingVad(); v.feed(np.zeros(4096, np.float32))"
    assert _threads_after(use) == "3"
