"""int8 weights for Whisper's Linear layers on the CPU (dynamic quantization, `assistant.int8`).

Each Linear weight is quantized once, per output channel, to int8; activations are quantized
per call from their observed range (PyTorch's dynamic quantized Linear, fbgemm/onednn kernels),
so the matrix products run in int8 with float32 in and out. Convolutions, layer norms, the
embeddings and attention itself stay float32, and so does the second matrix of every MLP
(`mlp.2`, `keep_float`): it reads the GELU's output, whose few large values a per-call int8
range flattens. Quantized too, it changed Whisper base's words on jfk.flac ("asked not" for
"ask not"); kept in float32, tiny.en and base give openai-whisper's words on the whole speech
set, and the encoder keeps most of its int8 speed (that matrix is a third of a block's). Used by `audio.asr.fast.FastWhisper` with
`int8=True`; that the transcripts stay those of openai-whisper on the repo's speech set is a test
(`tests/system/test_asr_int8.py`), and the speed is in `glimpse bench asr`.

CPU only: the quantized kernels do not exist on CUDA. Threads: built once at load, on the ASR
stage's thread; the modules are then read-only.
"""
from __future__ import annotations

import copy

from torch import nn

from assistant.int8 import quantized_linear, swap_linears  # noqa: F401 (re-exported)


def keep_float(name: str) -> bool:
    """Whether the Linear layer `name` (its dotted name in a Whisper block) stays float32: an
    MLP's second matrix (see the module docstring)."""
    return name.endswith("mlp.2")


def quantize_linears(module: nn.Module) -> nn.Module:
    """A copy of `module` with every `nn.Linear` (and subclass, e.g. whisper's own) replaced by
    its int8 dynamic counterpart, but those `keep_float` names; the original is left as it is."""
    module = copy.deepcopy(module)
    swap_linears(module, keep_float)
    return module

