"""int8 weights for Whisper's Linear layers on the CPU (dynamic quantization).

Each Linear weight is quantized once, per output channel, to int8; activations are quantized
per call from their observed range (PyTorch's dynamic quantized Linear, fbgemm/onednn kernels),
so the matrix products run in int8 with float32 in and out. Convolutions, layer norms, the
embeddings and attention itself stay float32. Used by `audio.whisper_trimmed.FastWhisper` with
`int8=True`; that the transcripts stay those of openai-whisper on the repo's speech set is a test
(`tests/system/test_asr_int8.py`), and the speed is in `glimpse bench asr`.

CPU only: the quantized kernels do not exist on CUDA. Threads: built once at load, on the ASR
stage's thread; the modules are then read-only.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn


def quantized_linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Module:
    """A dynamic int8 Linear computing `x @ weight.T + bias` (weight per output channel)."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    weight = weight.detach().float()
    out_features, in_features = weight.shape
    scale = weight.abs().amax(dim=1).clamp(min=1e-8) / 127.0
    with warnings.catch_warnings():  # quantized tensors are marked deprecated, still supported
        warnings.simplefilter("ignore")
        qweight = torch.quantize_per_channel(weight, scale.double(),
                                             torch.zeros(out_features, dtype=torch.long), 0,
                                             torch.qint8)
    layer = DynamicLinear(in_features, out_features, bias_=bias is not None, dtype=torch.qint8)
    layer.set_weight_bias(qweight, None if bias is None else bias.detach().float())
    return layer


def quantize_linears(module: nn.Module) -> nn.Module:
    """A copy of `module` with every `nn.Linear` (and subclass, e.g. whisper's own) replaced by
    its int8 dynamic counterpart; the original is left as it is."""
    module = copy.deepcopy(module)
    _swap(module)
    return module


def _swap(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.Linear):
            setattr(module, name, quantized_linear(child.weight, child.bias))
        else:
            _swap(child)
