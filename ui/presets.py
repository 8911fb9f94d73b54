"""Model presets: which Whisper and which answer engine suit a computer.

The first-run guide recommends one (`recommend`), and `glimpse bench e2e --gpu` measures the GPU
presets (speed, video memory). A preset is a handful of config values; nothing here loads a model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.config import Config


@dataclass(frozen=True)
class Hardware:
    ram_gb: float
    vram_gb: float | None  # None: no CUDA GPU (or torch not importable)
    gpu: str = ""
    cpu_cores: int = 0  # usable by this process; 0: unknown


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    values: tuple[tuple[str, str], ...]
    min_vram_gb: float | None = None  # None: runs on the CPU
    why: str = ""
    does: str = ""  # one sentence: what it can and cannot do, for the first-run guide

    def value(self, key: str, default: str = "") -> str:
        return dict(self.values).get(key, default)

    def apply(self, config: Config) -> Config:
        """`config` with this preset's values set (each checked as `Config.with_value` does)."""
        for key, value in self.values:
            config = config.with_value(key, value)
        return config

    def for_hardware(self, why: str) -> Preset:
        from dataclasses import replace

        return replace(self, why=why)


SMOLVLM2_2B = "hf:HuggingFaceTB/SmolVLM2-2.2B-Instruct"
SMOLVLM2_500M = "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct"
QWEN25VL_3B = "hf:Qwen/Qwen2.5-VL-3B-Instruct"

PRESETS: dict[str, Preset] = {p.key: p for p in (
    Preset("best-gpu", "Best (GPU)", (
        ("asr.model", "whisper:large-v3"), ("vlm.model", QWEN25VL_3B), ("vlm.backend", "local"),
        ("asr.device", "cuda"), ("vlm.device", "cuda")), min_vram_gb=16,
        does="The best answers to open questions and the most accurate speech recognition; "
             "needs a GPU with 16 GB of video memory."),
    Preset("large-gpu", "Large (GPU)", (
        ("asr.model", "whisper:large-v3-turbo"), ("vlm.model", SMOLVLM2_2B),
        ("vlm.backend", "local"), ("asr.device", "cuda"), ("vlm.device", "cuda")),
        min_vram_gb=10, does="Very good answers to open questions and accurate, fast speech "
                             "recognition; needs a GPU with 10 GB of video memory."),
    # The default for a GPU: it must fit an 8 GB card (measured by `glimpse bench e2e --gpu`).
    Preset("balanced-gpu", "Balanced (GPU)", (
        ("asr.model", "whisper:small"), ("vlm.model", SMOLVLM2_2B), ("vlm.backend", "local"),
        ("asr.device", "cuda"), ("vlm.device", "cuda")), min_vram_gb=6,
        does="Good answers to open questions about the picture within a second or two; "
             "needs a GPU with 6 GB of video memory."),
    Preset("small-gpu", "Small (GPU)", (
        ("asr.model", "whisper:small"), ("vlm.model", SMOLVLM2_500M), ("vlm.backend", "local")),
        min_vram_gb=4, does="Answers open questions on a small GPU (4 GB); answers are short "
                            "and simple."),
    Preset("balanced-cpu", "Balanced (CPU)", (
        ("asr.model", "whisper:base.en"), ("vlm.model", SMOLVLM2_500M), ("vlm.backend", "auto"),
        ("vlm.int8", "true")),
        does="Answers open questions about the picture on the processor: first words within "
             "about a second on 2 cores or more; English speech."),
    Preset("small-cpu", "Small (offline describer)", (
        ("asr.model", "whisper:tiny.en"), ("vlm.backend", "describer")),
        does="The fastest and fully offline: reads text aloud and says who and what is in "
             "view, but cannot answer open questions about the picture."),
)}
DEFAULT_GPU_PRESET = "balanced-gpu"
GPU_PRESETS = ("balanced-gpu", "large-gpu", "best-gpu")


def detect(use_torch: bool = True) -> Hardware:
    """RAM from sysconf; VRAM from torch.cuda when torch and a GPU are there.

    Importing torch takes seconds: `use_torch=False` asks nvidia-smi instead (a quick first
    guess, so the first-run guide can open with the window and be refined later)."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        ram = 0.0
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 0
    vram, gpu = None, ""
    if not use_torch:
        vram, gpu = _nvidia_smi()
        return Hardware(ram_gb=ram, vram_gb=vram, gpu=gpu, cpu_cores=cores)
    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            vram, gpu = props.total_memory / 2**30, props.name
    except ImportError:
        pass
    return Hardware(ram_gb=ram, vram_gb=vram, gpu=gpu, cpu_cores=cores)


def _nvidia_smi() -> tuple[float | None, str]:
    """(video memory in GB, GPU name) from nvidia-smi; (None, "") without one. At most 2 s."""
    import shutil
    import subprocess

    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None, ""
    try:
        out = subprocess.run([exe, "--query-gpu=name,memory.total", "--format=csv,noheader,"
                              "nounits"], capture_output=True, text=True, timeout=2).stdout
        gpu, mib = out.splitlines()[0].rsplit(",", 1)
        return float(mib) / 1024, gpu.strip()
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None, ""


def shown(hw: Hardware) -> tuple[Preset, ...]:
    """The presets worth offering on this computer: GPU ones only where there is a GPU."""
    keys = (("large-gpu", "balanced-gpu", "small-gpu") if hw.vram_gb is not None else ()) + \
        ("balanced-cpu", "small-cpu")
    return tuple(PRESETS[k] for k in keys)


def download_mb(preset: Preset) -> float:
    """How much the preset still has to download, in MB (0: all of it is on this computer)."""
    from assistant.models import offline_pack
    from ui import labels

    refs = [preset.value("asr.model")]
    if preset.value("vlm.backend") != "describer":
        refs.append(preset.value("vlm.model"))
    return sum(labels.download_mb(r) for r in refs if r and offline_pack.find(r) is None)


def recommend_for(hw: Hardware, offline: bool) -> Preset:
    """`recommend`, for a config whose offline mode is `offline`: offline, a preset whose
    model is not on this computer cannot be the one recommended. The first-run guide and
    `bench e2e --preset auto` (what a new user gets) both ask this."""
    return recommend(hw, can_download=not offline or download_mb(PRESETS["balanced-cpu"]) == 0)


def recommend(hw: Hardware, can_download: bool = True) -> Preset:
    """The preset for this computer: the largest GPU preset that fits its video memory (the
    best one only from 20 GB, leaving room for other programs), else a CPU preset by RAM and
    cores. The vision model answers on the processor within a second on 2 cores or more
    (`glimpse bench e2e --preset balanced-cpu`, release to first audible word, p50 0.61-0.72 s
    on an idle 2-core machine, peak memory 2.2 GB); one core, less than 8 GB of memory, or no
    way to download it (`can_download`: offline, without the model on this computer) leave
    the offline describer."""
    if hw.vram_gb is not None:
        for key in ("large-gpu", "balanced-gpu", "small-gpu"):
            preset = PRESETS[key]
            if hw.vram_gb >= (preset.min_vram_gb or 0):
                return preset.for_hardware(f"{hw.gpu} with {hw.vram_gb:.0f} GB of video memory")
    cores = f", {hw.cpu_cores} CPU cores" if hw.cpu_cores else ""
    why = f"no GPU, {hw.ram_gb:.0f} GB of memory{cores}"
    if hw.ram_gb >= 8 and (hw.cpu_cores == 0 or hw.cpu_cores >= 2):
        if can_download:
            return PRESETS["balanced-cpu"].for_hardware(why)
        why += "; offline, and the vision model is not on this computer"
    return PRESETS["small-cpu"].for_hardware(why)
