"""Presets: valid config values, and the recommendation by hardware."""
from assistant.config import Config
from ui.presets import (
    DEFAULT_GPU_PRESET, GPU_PRESETS, PRESETS, Hardware, recommend, recommend_for)


def test_every_preset_is_a_valid_config():
    for preset in PRESETS.values():
        config = preset.apply(Config())
        assert config.asr.model == preset.value("asr.model")
        for key, value in preset.values:
            section, name = key.split(".")
            actual = getattr(getattr(config, section), name)
            shown = str(actual).lower() if isinstance(actual, bool) else str(actual)
            assert shown == value, key


def test_recommendation_follows_video_memory_and_ram():
    assert recommend(Hardware(ram_gb=4, vram_gb=None)).key == "small-cpu"
    assert recommend(Hardware(ram_gb=16, vram_gb=None)).key == "balanced-cpu"
    assert recommend(Hardware(ram_gb=16, vram_gb=None, cpu_cores=8)).key == "balanced-cpu"
    # Two cores: the vision model's first word comes within a second (bench e2e, p50 0.61-0.72 s);
    # one core or offline without the model leaves the describer, and says why.
    two = recommend(Hardware(ram_gb=24, vram_gb=None, cpu_cores=2))
    assert two.key == "balanced-cpu" and "2 CPU cores" in two.why
    assert "within about a second on 2 cores" in two.does
    assert recommend(Hardware(ram_gb=24, vram_gb=None, cpu_cores=1)).key == "small-cpu"
    offline = recommend(Hardware(ram_gb=24, vram_gb=None, cpu_cores=2), can_download=False)
    assert offline.key == "small-cpu" and "offline" in offline.why
    # Offline, the vision model (not in the offline pack) cannot be downloaded: the describer.
    assert recommend_for(Hardware(ram_gb=24, vram_gb=None, cpu_cores=2), offline=True).key == \
        "small-cpu"
    assert recommend_for(Hardware(ram_gb=24, vram_gb=None, cpu_cores=2), offline=False).key == \
        "balanced-cpu"
    assert recommend(Hardware(ram_gb=16, vram_gb=4.0, gpu="GTX")).key == "small-gpu"
    eight = recommend(Hardware(ram_gb=16, vram_gb=7.8, gpu="RTX 4060"))
    assert eight.key == DEFAULT_GPU_PRESET and "RTX 4060" in eight.why
    assert recommend(Hardware(ram_gb=64, vram_gb=80, gpu="H100")).key == "large-gpu"
    assert DEFAULT_GPU_PRESET in GPU_PRESETS


def test_detect_counts_the_cores_this_process_may_use():
    import os

    from ui.presets import detect

    hw = detect()
    assert hw.cpu_cores == len(os.sched_getaffinity(0)) and hw.ram_gb > 0
