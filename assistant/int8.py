"""int8 Linear layers for the CPU engines (dynamic quantization), shared by Whisper and the VLM.

Each Linear weight is quantized once, per output channel, to int8; activations are quantized
per call from their observed range (PyTorch's dynamic quantized Linear, fbgemm/onednn kernels),
so the matrix products run in int8 with float32 in and out. CPU only: the quantized kernels do
not exist on CUDA. torch is imported when a layer is made, so the kernel stays light to import.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable


def quantized_linear(weight: Any, bias: Any | None) -> Any:
    """A dynamic int8 Linear computing `x @ weight.T + bias` (weight per output channel)."""
    import torch
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


def swap_linears(module: Any, keep: Callable[[str], bool] = lambda name: False,
                 prefix: str = "") -> int:
    """Replace, in place, every `nn.Linear` (and subclass) below `module` with its int8
    counterpart, except those whose dotted name (below `module`) `keep` says to leave in
    float32. Returns how many were replaced."""
    from torch import nn

    count = 0
    for name, child in module.named_children():
        path = f"{prefix}{name}"
        if isinstance(child, nn.Linear):
            if not keep(path):
                setattr(module, name, quantized_linear(child.weight, child.bias))
                count += 1
        else:
            count += swap_linears(child, keep, f"{path}.")
    return count
