"""The one place where Glimpse is assembled.

`bootstrap()` takes the config and, optionally, ready-made devices and engines (tests pass fakes
here; nothing is ever patched). Whatever is not given is built from the config by the real
factories below, which import their heavy libraries only when called. Nothing is built at import
time.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any, Callable

from assistant import events as ev
from assistant.config import Config
from assistant.errors import GlimpseError
from assistant.events import Mode
from assistant.pipeline import Pipeline, PipelineOptions, Stages
from assistant.ports import (
    AsrEngine,
    AsrOptions,
    Camera,
    Microphone,
    Speaker,
    TtsEngine,
    TtsOptions,
    VlmEngine,
)
from assistant.stage import Generation, Outbox, limit_malloc_arenas

log = logging.getLogger(__name__)

# Real adapters and engines: "module:function", each called as function(config) -> object.
FACTORIES: dict[str, str] = {
    "mic": "audio.capture.mic:from_config",
    "speaker": "audio.playback.speaker:from_config",
    "camera": "vision.camera.capture:from_config",
    "asr": "audio.asr.engines:from_config",
    "vlm": "vision.answer.choice:from_config",
    "tts": "audio.tts.engines:from_config",
}


@dataclass(frozen=True)
class Parts:
    """Which parts of the pipeline to run. The CLI runs fewer than the window does."""

    audio_in: bool = True  # microphone capture (off for `ask --audio FILE`)
    asr: bool = True
    camera: bool = True
    answer: bool = True
    speech_out: bool = True  # TTS (and playback, if a speaker is given or built)
    playback: bool = True


def build(kind: str, config: Config) -> Any:
    """Build a real adapter or engine from the config; a clear GlimpseError if unavailable."""
    module_name, _, func = FACTORIES[kind].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise GlimpseError(f"The {kind} component could not be loaded ({exc.name} is missing)",
                           "Reinstall Glimpse with its dependencies: see README, Install.",
                           needs_action=True) from exc
    return getattr(module, func)(config)


def model_store(config: Config | None = None) -> Any:
    """The model store with the converters it needs from the audio side injected."""
    from assistant.models.store import ModelStore
    from audio.asr.convert import convert_ct2_to_openai

    return ModelStore(config, convert_whisper=convert_ct2_to_openai)


def bootstrap(config: Config | None = None, *, parts: Parts = Parts(),
              mic: Microphone | None = None, speaker: Speaker | None = None,
              camera: Camera | None = None, asr: AsrEngine | None = None,
              vlm: VlmEngine | None = None, tts: TtsEngine | None = None,
              finder: Any = None, mode: Mode | None = None,
              stop_hint: str = "") -> Pipeline:
    """Assemble a pipeline. Stages are created here but started by `Pipeline.start()`.
    `finder`: watch mode's finder (a FinderEngine, loaded on the first watch). `stop_hint`:
    how the shell ends a watch, said when one starts (empty: the window's Escape)."""
    from audio.asr.stage import AsrStage
    from audio.capture.stage import CaptureOptions, CaptureStage
    from audio.playback.stage import PlaybackStage
    from audio.tts.stage import TtsStage
    from vision.answer.stage import AnswerStage
    from vision.camera.stage import CameraStage, CameraStageOptions

    config = config or Config()
    limit_malloc_arenas()  # before any stage thread allocates
    bus, generation = Outbox(), Generation()
    stages = Stages()

    if parts.audio_in:
        mic = mic or build("mic", config)
        stages.capture = CaptureStage(bus, generation, mic, CaptureOptions(
            preroll_s=config.audio.preroll_ms / 1000, max_utterance_s=config.audio.max_utterance_s,
            partial_interval_s=config.asr.partial_interval_s,
            hands_free=config.turns.mode == "hands_free",
            vad_silence_ms=config.turns.vad_silence_ms, vad_threshold=config.turns.vad_threshold))
    if parts.asr:
        asr = asr or build("asr", config)
        language = None if config.asr.language == "auto" else config.asr.language
        stages.asr = AsrStage(bus, generation, asr, AsrOptions(
            language=language, initial_prompt=config.asr.initial_prompt,
            hotwords=config.asr.hotwords, no_speech_threshold=config.asr.no_speech_threshold,
            logprob_threshold=config.asr.logprob_threshold))
    if parts.camera and (camera is not None or config.camera.source):
        camera = camera or build("camera", config)
        stages.camera = CameraStage(bus, generation, camera, CameraStageOptions(
            preview_fps=config.camera.preview_fps, burst_frames=config.camera.burst_frames,
            look_ahead=config.camera.look_ahead))
        # Scene-description mode: watches the same camera, active while the mode is DESCRIBE.
        from vision.scene.stage import SceneStage, options_from_config
        stages.scene = SceneStage(bus, generation, camera, options_from_config(config),
                                    mode=mode or Mode.ASK)
        # Watch mode ("tell me when you see my keys"): the same camera, the finder built on the
        # first watch.
        from vision.finder import choice as finder_engines
        from vision.finder.watch import WatchOptions
        from vision.finder.watch_stage import WatchStage

        stages.watch = WatchStage(
            bus, generation, camera,
            (lambda: finder) if finder is not None else
            (lambda: finder_engines.from_config(config, watch=True)),
            WatchOptions(fps=config.finder.watch_fps, timeout_s=config.finder.watch_timeout_s))
    if parts.answer:
        vlm = vlm or build("vlm", config)
        from vision.answer.intents import watch_request

        stages.answer = AnswerStage(bus, generation, vlm, memory_turns=config.vlm.memory_turns,
                                    max_new_tokens=config.vlm.max_new_tokens,
                                    watch_words=watch_request if stages.watch else None,
                                    stop_hint=stop_hint,
                                    look_ahead_cpu=config.camera.look_ahead_cpu / 100)
    if parts.speech_out and config.tts.engine != "none":
        tts = tts or build("tts", config)
        stages.tts = TtsStage(bus, generation, tts, TtsOptions(voice=config.tts.voice,
                                                                  rate=config.tts.rate))
        if parts.playback:
            speaker = speaker or build("speaker", config)
            stages.playback = PlaybackStage(
                bus, generation, speaker, volume=config.audio.volume,
                # hands-free: the mic reopens only after the room has gone quiet
                tail_s=0.25 if config.turns.mode == "hands_free" else 0.0)

    options = PipelineOptions(
        min_press_s=config.audio.min_press_ms / 1000,
        mode=mode or Mode.ASK,
        # The window settles ui.answer_voice "auto" before building; with "screen_reader" the
        # screen reader speaks the answers and Glimpse's voice stays quiet.
        speak=config.ui.speak_answers and config.ui.answer_voice != "screen_reader",
        hands_free=config.turns.mode == "hands_free",
        follow_up_s=config.turns.follow_up_s,
    )
    pipeline = Pipeline(stages, options, bus=bus, generation=generation)
    if stages.playback is not None:  # a resting speaker stream wakes when a question starts
        pipeline.add_listener(_waker(speaker.wake))
    if stages.playback is not None and config.earcons.enabled:
        from audio.playback.earcons import for_speaker

        earcons = for_speaker(speaker, config.earcons)
        if earcons is not None:
            pipeline.add_listener(earcons.on_event)
    return pipeline


def _waker(wake: Callable[[], None]) -> Callable[[ev.Event], None]:
    def on_event(event: ev.Event) -> None:
        if (isinstance(event, ev.Status) and event.stage == ev.StageName.PIPELINE
                and event.state in ("listening", "transcribing", "thinking")):
            try:
                wake()
            except GlimpseError as exc:  # the playback stage reports it when it next plays
                log.warning("the speaker did not wake for the question: %s", exc)
    return on_event


#: Parts the window can run without, tried one group at a time, then together, when the full
#: pipeline cannot be built: no microphone still allows typed questions, no camera still
#: answers, no speech still shows answers.
OPTIONAL_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("microphone and speech recognition", ("audio_in", "asr")),
    ("camera", ("camera",)),
    ("speech output", ("speech_out", "playback")),
    ("answer engine", ("answer",)),
)


def build_reduced(config: Config, bootstrap_fn: Callable[..., Any] | None = None, *,
                  parts: Parts = Parts(), required: tuple[str, ...] = ()
                  ) -> tuple[Any, list[str]]:
    """Build the pipeline, or the largest part of it that can be built.

    Returns (pipeline, problems): `problems` says what is left out and why (empty when all is
    there). Raises the first GlimpseError when not even a reduced pipeline can be built.
    `bootstrap_fn(config, parts=...)` defaults to `bootstrap`; `parts` is what the caller wants
    and `required` names the groups of OPTIONAL_GROUPS it cannot do without. The window and
    the command line share this policy.
    """
    build = bootstrap_fn or bootstrap
    try:
        return build(config, parts=parts), []
    except GlimpseError as exc:
        first = exc
    wanted = [(name, group) for name, group in OPTIONAL_GROUPS if name not in required
              and any(getattr(parts, part) for part in group)]
    # Never all of them: a window with no part working would only pretend to be ready.
    for size in range(1, len(OPTIONAL_GROUPS)):
        for groups in combinations(wanted, size):
            off = {part: False for _, group in groups for part in group}
            try:
                pipeline = build(config, parts=replace(parts, **off))
            except GlimpseError:
                continue
            names = ", ".join(name for name, _ in groups)
            return pipeline, [f"Glimpse runs without its {names}: {first.message}"]
    raise first
