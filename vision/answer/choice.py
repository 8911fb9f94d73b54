"""Which engine answers: `from_config(config)` builds the VlmEngine `vlm.backend` asks for.

- "local": the transformers VLM (`vision.answer.vlm.engine.TransformersVlm`), with grounding from local
  perception (OCR, people, faces) added to its prompt when `vision.perception.analyze` is available
  and `vlm.grounding` is on.
- "remote": an OpenAI-compatible server (`vision.answer.vlm.openai_server.RemoteVlm`), grounded the same way.
- "describer": the offline describer (`vision.answer.describer.Describer`): no model needed.
- "auto": remote if `vlm.remote_url` is set; else local if `vlm.model` is on disk (a folder,
  the model store, or the Hugging Face cache); else the describer, with a warning that says how
  to get a VLM (`glimpse models pull hf:...`).

`warnings` on the returned engine (a tuple of strings, possibly empty) carries such notices for
the UI and the CLI.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator

from assistant.ports import VlmEngine, VlmRequest
from assistant.stage import CancelToken

log = logging.getLogger(__name__)


class Grounded(VlmEngine):
    """Wraps a VlmEngine: adds local perception's findings to each request's `grounding`.

    Perception runs once per frame (cached by capture time), on the caller's thread. If the
    request already carries grounding, or has no frame, it is passed through untouched.
    `perception` is any object with `load()` and `analyze(bgr) -> result.grounding_text()`.
    """

    def __init__(self, engine: VlmEngine, perception: Any) -> None:
        self.engine = engine
        self.perception = perception
        self.name = engine.name
        self.warnings: tuple[str, ...] = tuple(engine.warnings)
        self._key: tuple | None = None
        self._text = ""
        self.intents: Any = None  # find / colour / light facts, built on the first such question

    def load(self) -> None:
        self.engine.load()
        self.name = self.engine.name
        try:
            self.perception.load()
        except Exception as exc:  # grounding is an aid: answer without it, and say so
            self._failed(exc)
            self.perception = None

    def _failed(self, exc: BaseException) -> None:
        message = (f"Local perception failed ({type(exc).__name__}: {exc}); the VLM answers "
                   "without OCR grounding")
        log.warning("%s", message)
        self.warnings = (*self.warnings, message)[-5:]

    def prepare_frame(self, frame: Any, cancel: CancelToken | None = None,
                      history: tuple[tuple[str, str], ...] = ()) -> None:
        """Run perception on a frame before the question arrives (the idle view, or while
        Whisper is still transcribing), so the answer does not wait for OCR; then let the
        wrapped engine look at the frame too (the local VLM encodes the image)."""
        if cancel is not None and cancel.cancelled:
            return
        self.grounding_for(VlmRequest(question="", frame=frame))
        self.engine.prepare_frame(frame, cancel=cancel, history=history)

    def prepare_question(self, text: str, mode: Any, turn_id: int) -> None:
        self.engine.prepare_question(text, mode, turn_id)

    def grounding_for(self, request: VlmRequest) -> str:
        frame = request.frame
        if frame is None:
            return ""
        key = frame.key
        if key != self._key:
            try:
                self._text = self.perception.analyze(frame.image).grounding_text() \
                    if self.perception is not None else ""
            except Exception as exc:  # grounding is an aid: answer without it, and say so
                self._failed(exc)
                self._text = ""
            self._key = key
        return self._text

    def stream(self, request: VlmRequest, cancel: CancelToken) -> Iterator[str]:
        if request.frame is not None and not request.grounding:
            from dataclasses import replace

            request = replace(request, grounding=self._with_intent(
                request, self.grounding_for(request)))
        if cancel.cancelled:
            return
        yield from self.engine.stream(request, cancel)

    def _with_intent(self, request: VlmRequest, grounding: str) -> str:
        """A find, colour or light question adds the finder's boxes or the measured colours
        and light to the grounding, so the VLM's answer is anchored in them."""
        from vision.answer.intents import IntentAnswerer, intent

        direct = intent(request.question)
        if direct is None or request.frame is None:
            return grounding
        if self.intents is None:
            self.intents = IntentAnswerer()
        try:
            facts = self.intents.grounding(direct, request.frame.image)
        except Exception as exc:  # grounding is an aid: answer without it, and say so
            message = (f"The object finder failed ({type(exc).__name__}: {exc}); the VLM "
                       "answers without its boxes")
            log.warning("%s", message)
            self.warnings = (*self.warnings, message)[-5:]
            return grounding
        return "\n".join(part for part in (grounding, facts) if part)

    def __getattr__(self, item: str) -> Any:  # the wrapped engine's extras (stats, reset)
        return getattr(self.engine, item)


def _perception() -> Any | None:
    """Local perception without the ImageNet classifier (the VLM sees the image itself)."""
    try:
        from vision.perception.analyze import Perception
    except ImportError as exc:
        log.info("no local perception for grounding (%s)", exc)
        return None
    try:
        return Perception(labels=False)
    except TypeError:  # an older signature without `labels`
        return Perception()


def _grounded(engine: VlmEngine, config: Any) -> VlmEngine:
    if not getattr(config.vlm, "grounding", True):
        return engine
    perception = _perception()
    return Grounded(engine, perception) if perception is not None else engine


def _describer(config: Any, warning: str = "") -> VlmEngine:
    from vision.answer import describer

    engine = describer.from_config(config)
    if warning:
        engine.warnings = (warning,)
        log.warning("%s", warning)
    return engine


def choose(config: Any) -> tuple[str, str]:
    """(backend, why) for the configured `vlm.backend`, resolving "auto"."""
    v = config.vlm
    if v.backend != "auto":
        return v.backend, f"vlm.backend = {v.backend}"
    if v.remote_url:
        return "remote", "vlm.remote_url is set"
    from assistant.models.store import ModelStore

    if ModelStore(config).on_disk(v.model):
        return "local", f"{v.model} is on disk"
    return "describer", (f"The VLM {v.model} is not downloaded, so the offline describer answers "
                         "(it reads text and finds people, but cannot answer open questions). "
                         f"To get the VLM, run `glimpse models pull {_pull_ref(v.model)}`, "
                         "or set vlm.remote_url to use a server")


def _pull_ref(model: str) -> str:
    return model if model.startswith("hf:") else \
        "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct"


def from_config(config: Any) -> VlmEngine:
    backend, why = choose(config)
    log.info("VLM backend: %s (%s)", backend, why)
    if backend == "local":
        from vision.answer.vlm import engine as vlm

        return _grounded(vlm.from_config(config), config)
    if backend == "remote":
        from vision.answer.vlm import openai_server as remote

        return _grounded(remote.from_config(config), config)
    return _describer(config, why if config.vlm.backend == "auto" else "")
