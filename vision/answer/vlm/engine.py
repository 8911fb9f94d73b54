"""The local VLM engine: any Hugging Face image-text-to-text model, streamed, with prefix reuse.

`TransformersVlm` loads `AutoModelForImageTextToText` + `AutoProcessor` (PIL image processors:
no torchvision needed) from a local folder or an `hf:` snapshot, builds the prompt with the
model's own chat template, and streams answer text as it is generated.

Threads: `load()`, `prepare_frame()` and `stream()` are called from the answer stage's thread.
`stream()` runs `model.generate` on a short-lived worker thread and yields the text pieces on
the caller's thread; a `StoppingCriteria` reads the CancelToken after every decoding step, so a
cancel stops generation within one step (milliseconds on small models), and the worker is
joined before `stream()` returns.

Follow-up reuse: the prompt starts with the image, so all turns about the same frozen frame
share the prompt prefix up to and including the image tokens (and, with the chat history, the
whole first question and answer). After each turn the KV cache of that turn is kept; a follow-up
question about the same frame crops it to the longest common token prefix (which must cover the
image) and continues from there: the vision encoder does not run again and the image tokens and
earlier turns are not re-read. The first question needs no earlier turn: at key release the
answer stage hands over the turn's frame (`prepare_frame`), and the image prefix's cache is
filled while Whisper is still transcribing.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from assistant.errors import GlimpseError, ModelError
from assistant.ports import VlmEngine, VlmRequest
from assistant.stage import CancelToken
from vision.answer.vlm.compat import accepts, cache_kwarg, crop_to, new_cache, set_size, size_get
from vision.answer.vlm.loading import (
    VISION_MODULE_NAMES,
    SMALLER_MODELS,
    check_memory,
    load_model,
    load_processor,
    pick_device,
    pick_dtype,
    resolve_model,
    transformers_major,
)
from vision.answer.vlm.prompts import build_messages
from vision.answer.vlm.streaming import Aborted, TokenStreamer, generation_error

log = logging.getLogger(__name__)



def frame_to_pil(image_bgr: np.ndarray, max_pixels: int):
    """BGR uint8 -> RGB PIL image, downscaled (aspect kept) to at most `max_pixels` pixels."""
    from PIL import Image

    if image_bgr.ndim == 2:
        rgb = np.stack([image_bgr] * 3, axis=-1)
    else:
        rgb = np.ascontiguousarray(image_bgr[..., 2::-1][..., :3])
    img = Image.fromarray(rgb)
    w, h = img.size
    if w * h > max_pixels:
        scale = math.sqrt(max_pixels / (w * h))
        img = img.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.BILINEAR)
    return img


# --------------------------------------------------------------------------- the engine


@dataclass
class _Prefix:
    """The KV cache of the last turn about one frame (its prompt, image included, and answer)."""

    key: tuple
    ids: Any  # 1-D tensor: the token ids whose keys and values the cache holds
    cache: Any  # transformers DynamicCache holding exactly len(ids) positions


@dataclass
class TurnStats:
    """What the last `stream()` did (for tests, logs and the benchmark). Times in seconds."""

    prompt_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens taken from the kept prefix cache
    new_tokens: int = 0
    first_token_s: float | None = None  # until the first text piece was yielded
    first_step_s: float | None = None  # until the model produced its first token
    last_step_s: float | None = None  # until the model produced its last token
    total_s: float = 0.0
    cancelled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class TransformersVlm(VlmEngine):
    """A VlmEngine on Hugging Face transformers. See the module docstring.

    `model`: a folder or `hf:owner/name`. `max_image_pixels`: frames are downscaled to this
    many pixels before the processor sees them. `prefix_reuse`: keep the image prefix's KV cache
    for follow-up questions about the same frame.
    """

    name = "vlm"

    def __init__(self, model: str | Path, *, device: str = "auto", dtype: str = "auto",
                 max_image_pixels: int = 512 * 512, max_new_tokens: int = 200,
                 verbosity: str = "normal", prefix_reuse: bool = True,
                 config: Any = None, int8: bool = False) -> None:
        self.model_ref = str(model)
        self.int8 = int8  # CPU, float32: the text decoder's Linear layers as int8 (vlm_util)
        self.device_setting, self.dtype_setting = device, dtype
        self.max_image_pixels = max_image_pixels
        self.max_new_tokens = max_new_tokens
        self.verbosity = verbosity
        self.prefix_reuse = prefix_reuse
        self.config = config
        self.model = None
        self.processor = None
        self.path: Path | None = None
        self.device = "cpu"
        self.dtype = None
        self._prefix: _Prefix | None = None
        self.last = TurnStats()
        self.min_new_tokens = 0  # > 0: ignore end-of-answer before this many (benchmarks)
        self._abort_check = None  # set while generating: True once the turn is cancelled
        self.last_prepare_s: float | None = None  # how long the last prepare_frame took

    @classmethod
    def from_model(cls, model, processor, *, device: str, dtype, **kwargs) -> "TransformersVlm":
        """An engine around an already built model and processor (benchmarks, tests)."""
        engine = cls(kwargs.pop("name", "in-memory"), device=device, **kwargs)
        engine.model, engine.processor = model.eval(), processor
        engine.device, engine.dtype = device, dtype
        engine.name = f"vlm:{type(model).__name__}"
        engine._budget_images()
        engine._install_abort_hooks()
        return engine

    # ----- loading ------------------------------------------------------------------------
    def load(self) -> None:
        if self.model is not None:
            return
        import torch

        self.path = resolve_model(self.model_ref, self.config)
        if not (self.path / "config.json").is_file():
            raise ModelError(f"{self.path} holds no config.json: it is not a transformers model",
                             "Point vlm.model at a model folder, or use " + SMALLER_MODELS)
        self.device = pick_device(self.device_setting)
        self.dtype = pick_dtype(self.dtype_setting, self.device)
        check_memory(self.path, self.device, self.dtype, self.model_ref, int8=self.int8)
        try:
            self.processor = load_processor(self.path)
            self.model = load_model(self.path, self.device, self.dtype, self.int8)
        except GlimpseError:
            raise
        except torch.OutOfMemoryError as exc:
            raise ModelError(f"Out of memory loading the VLM {self.model_ref}",
                             "Choose a smaller model (" + SMALLER_MODELS + ")",
                             needs_action=True) from exc
        except (OSError, ValueError, KeyError, ImportError, RuntimeError) as exc:
            raise ModelError(f"Could not load the VLM {self.model_ref}: "
                             f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}",
                             "Check that the folder is a complete image-text-to-text model, "
                             "update transformers if the architecture is newer than it, or "
                             "choose one known to work (" + SMALLER_MODELS + ")",
                             needs_action=True) from exc
        self._budget_images()
        self._install_abort_hooks()
        short = self.model_ref[3:] if self.model_ref.startswith("hf:") else self.path.name
        self.name = f"vlm:{short}"
        log.info("VLM %s loaded on %s (%s)", self.model_ref, self.device, self.dtype)

    def _install_abort_hooks(self) -> None:
        """A forward pre-hook on every layer of every layer stack (vision and text) that
        aborts the forward pass once the turn is cancelled. The stopping criterion only runs
        between tokens; this also stops a long prefill (a large image on a CPU) within one
        layer."""
        import torch

        def check(module, args):
            abort = self._abort_check
            if abort is not None and abort():
                raise Aborted()

        for module in self.model.modules():
            if isinstance(module, torch.nn.ModuleList):
                for layer in module:
                    layer.register_forward_pre_hook(check)

    def _budget_images(self) -> None:
        """Apply `max_image_pixels` to the processor (the frame is downscaled too)."""
        ip = getattr(self.processor, "image_processor", None)
        if ip is None:
            return
        edge = int(math.sqrt(self.max_image_pixels))
        tile = getattr(ip, "max_image_size", None)
        tile = tile.get("longest_edge") if isinstance(tile, dict) else \
            getattr(tile, "longest_edge", None)
        if tile:  # Idefics3 / SmolVLM: `size` is the resize target, tiles are `tile` pixels
            t = int(tile)
            if self.device == "cpu":
                ip.do_image_splitting = False  # one tile: the cost on CPU is per tile
            set_size(ip, longest_edge=max(t, (edge // t) * t))
        elif hasattr(ip, "merge_size") and hasattr(ip, "temporal_patch_size"):
            # Qwen2-VL family: `size` holds pixel counts (shortest_edge = min_pixels).
            low = size_get(ip.size, "shortest_edge") or 0
            set_size(ip, longest_edge=self.max_image_pixels,
                      shortest_edge=min(low, self.max_image_pixels))
            if transformers_major() < 5:
                ip.max_pixels = self.max_image_pixels  # the attribute transformers 4.x reads

    @property
    def vision_module(self):
        """The vision encoder submodule (for forward hooks in tests and reports), or None."""
        if self.model is None:
            return None
        for name, module in self.model.named_modules():
            if name.rsplit(".", 1)[-1] in VISION_MODULE_NAMES:
                return module
        return None

    def reset(self) -> None:
        """Forget the kept image prefix (frees its memory)."""
        self._prefix = None

    # ----- inputs -------------------------------------------------------------------------
    def prepare(self, request: VlmRequest) -> dict[str, Any]:
        """Tokenized inputs (on the model's device) for a request."""
        image = None
        if request.frame is not None:
            image = frame_to_pil(request.frame.image, self.max_image_pixels)
        messages = build_messages(request, self.verbosity, with_image=image is not None)
        # The tokenizer renders the processor's template: some processors' own
        # apply_chat_template reach for the video processor, which is absent without torchvision.
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        template = getattr(self.processor, "chat_template", None) or tokenizer.chat_template
        text = tokenizer.apply_chat_template(messages, chat_template=template,
                                             add_generation_prompt=True, tokenize=False)
        kwargs: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if image is not None:
            kwargs["images"] = [[image]] if _nested_images(self.processor) else [image]
        inputs = self.processor(**kwargs)
        out = {}
        for k, v in inputs.items():
            if hasattr(v, "to"):
                v = v.to(self.device)
                if v.is_floating_point():
                    v = v.to(self.dtype)
            out[k] = v
        return out

    def _reusable(self, key: tuple | None, ids, image_end: int) -> int:
        """How many leading prompt tokens the kept cache can supply (0: none).

        Only for the same frame, and only if the common prefix covers the image tokens (the
        vision encoder must not be needed). At least one prompt token is always left to feed.
        """
        import torch

        kept = self._prefix
        if kept is None or not image_end or kept.key != key:
            return 0
        n = min(kept.ids.shape[0], ids.shape[0] - 1)
        same = torch.eq(kept.ids[:n], ids[:n])
        common = n if bool(same.all()) else int((~same).nonzero()[0])
        return common if common >= image_end else 0

    def _image_token_id(self) -> int | None:
        image_id = getattr(self.model.config, "image_token_id", None)
        if image_id is None:
            image_id = getattr(self.model.config, "image_token_index", None)
        return image_id

    def _image_end(self, ids) -> int:
        """Length of the prefix up to and including the last image token (0 if none)."""
        image_id = self._image_token_id()
        if image_id is None:
            return 0
        where = (ids == image_id).nonzero()
        return int(where[-1]) + 1 if len(where) else 0

    # ----- the frame, ahead of the question ------------------------------------------------
    def prepare_frame(self, frame: Any, cancel: CancelToken | None = None,
                      history: tuple[tuple[str, str], ...] = ()) -> None:
        """Encode a frame, and the conversation about it so far, before the next question: the
        answer stage calls this on its own thread with the idle view (looking ahead), the
        press's frame and the turn's frame at release, while Whisper is still transcribing,
        with the `history` the next question will carry.

        The prompt up to the question (the image tokens, the instructions, `history`; ask
        mode's; the common start of the prompts for two different probe questions) is run
        through the model into a KV cache that is kept as the prefix, so `stream()` continues
        from it: the vision encoder does not run when the answer is due. What the kept cache
        already holds of it is not run again: a follow-up costs the new question alone, and
        when the conversation dropped its oldest turn (`memory_turns`) the turns after it are
        run here, while the question is spoken, rather than after it. Does nothing without
        `prefix_reuse`, without a frame, or for a model without image tokens. A `cancel` (a
        press during an idle look) stops the forward pass within one layer (the abort hooks)
        and keeps no prefix. On an exception the prefix is dropped and the exception
        propagates (the stage reports it). `last_prepare_s`: seconds it took.
        """
        started = time.perf_counter()
        try:
            self._prepare_frame(frame, cancel, tuple(history))
        finally:
            self.last_prepare_s = time.perf_counter() - started

    def _prepare_frame(self, frame: Any, cancel: CancelToken | None,
                       history: tuple[tuple[str, str], ...]) -> None:
        import torch

        if not self.prefix_reuse or frame is None:
            return
        if self.model is None:
            self.load()
        if self._image_token_id() is None:
            return
        key = _frame_key(frame)
        # The abort hooks read the cancel only: there is no turn's stream to stop here.
        self._abort_check = (lambda: cancel.cancelled) if cancel is not None else None
        try:
            inputs = self.prepare(VlmRequest(question=_PROBES[0], frame=frame, history=history))
            ids = inputs["input_ids"][0]
            end = self._image_end(ids)
            if not end:
                self._prefix = None
                return
            # Everything before the question is the same for every question in this mode.
            other = self.prepare(VlmRequest(question=_PROBES[1], frame=frame,
                                            history=history))["input_ids"][0]
            n = min(ids.shape[0], other.shape[0])
            differ = (~torch.eq(ids[:n], other[:n])).nonzero()
            end = max(end, int(differ[0]) if len(differ) else 0)
            length = int(ids.shape[0])
            kept = self._kept_for(key, ids[:end], self._image_end(ids))
            if kept >= end:
                return  # the kept cache holds all of it (a follow-up's keeps its answer too)
            if kept:
                # The image is in the kept cache: run the rest of the prefix after it, as a
                # follow-up's stream does (no pixels; Qwen's image metadata sets positions).
                cache = self._prefix.cache
                crop_to(cache, kept)
                kwargs = {k: v[:, :end] if _per_token(k, v, length) else v
                          for k, v in inputs.items() if not k.startswith("pixel_")}
                with torch.inference_mode():
                    self.model.generate(**kwargs, **{cache_kwarg(self.model): cache},
                                        max_new_tokens=1, do_sample=False, use_cache=True,
                                        pad_token_id=_pad_id(self.processor.tokenizer))
                crop_to(cache, end)  # generate added one token after the prefix
            else:
                self._prefix = None  # free the old frame's cache before filling a new one
                kwargs = {k: v[:, :end] if _per_token(k, v, length) else v
                          for k, v in inputs.items()}
                cache = new_cache(self.model)
                kwargs.update({cache_kwarg(self.model): cache, "use_cache": True})
                if accepts(self.model.forward, "logits_to_keep"):
                    kwargs["logits_to_keep"] = 1  # only the cache is wanted, not the logits
                with torch.inference_mode():
                    self.model(**kwargs)
            self._prefix = _Prefix(key=key, ids=ids[:end].clone(), cache=cache)
        except Aborted:
            self._prefix = None  # cancelled: nothing half done is kept
        except Exception as exc:
            self._prefix = None
            error = generation_error(exc, self.model_ref)
            if error is exc:
                raise
            raise error from exc
        finally:
            self._abort_check = None

    def _kept_for(self, key: tuple | None, target, image_end: int) -> int:
        """How many leading tokens of `target` the kept cache holds (0 unless it covers the
        image of the same frame)."""
        import torch

        kept = self._prefix
        if kept is None or kept.key != key or not image_end:
            return 0
        n = min(kept.ids.shape[0], target.shape[0])
        same = torch.eq(kept.ids[:n], target[:n])
        common = n if bool(same.all()) else int((~same).nonzero()[0])
        return common if common >= image_end else 0

    # ----- streaming ----------------------------------------------------------------------
    def stream(self, request: VlmRequest, cancel: CancelToken) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        if self.model is None:
            self.load()
        started = time.perf_counter()
        inputs = self.prepare(request)
        ids = inputs["input_ids"][0]
        key = _frame_key(request.frame)
        stats = TurnStats(prompt_tokens=int(ids.shape[0]))
        self.last = stats
        gen_kwargs: dict[str, Any] = dict(inputs)
        image_end = self._image_end(ids) if (self.prefix_reuse and key is not None) else 0
        reuse = self._reusable(key, ids, image_end)
        if reuse:
            cache = self._prefix.cache
            crop_to(cache, reuse)
            stats.reused_tokens = reuse
            # The image is in the cache: no pixels go in, so the vision encoder does not run.
            # Other image metadata (Qwen's image_grid_thw) stays: it sets the M-RoPE positions.
            gen_kwargs = {k: v for k, v in inputs.items() if not k.startswith("pixel_")}
        else:
            self._prefix = None  # a new frame: the old cache is useless, free it now
            cache = new_cache(self.model)
        stop = threading.Event()

        class _Stop(StoppingCriteria):
            """Checked after every decoding step: the cancel token and a closed consumer."""

            def __call__(self, input_ids, scores, **kwargs):
                stats.new_tokens += 1  # called once per generated token
                stats.last_step_s = time.perf_counter() - started
                if stats.first_step_s is None:
                    stats.first_step_s = stats.last_step_s
                done = stop.is_set() or cancel.cancelled
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool,
                                  device=input_ids.device)

        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        streamer = TokenStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True,
                                  timeout=0.02)
        max_new = max(1, min(request.max_new_tokens, self.max_new_tokens))
        errors: list[BaseException] = []
        aborted: list[bool] = []
        self._abort_check = lambda: stop.is_set() or cancel.cancelled

        output: list[Any] = []

        def work() -> None:
            try:
                with torch.inference_mode():
                    output.append(self.model.generate(
                        **gen_kwargs, **{cache_kwarg(self.model): cache}, streamer=streamer,
                        max_new_tokens=max_new, do_sample=False,
                        min_new_tokens=min(self.min_new_tokens, max_new) or None,
                        stopping_criteria=StoppingCriteriaList([_Stop()]),
                        pad_token_id=_pad_id(tokenizer), use_cache=True))
            except Aborted:
                stats.cancelled = True
                aborted.append(True)
                streamer.end()
            except BaseException as exc:  # handed to the consumer thread, raised there
                errors.append(exc)
                streamer.end()

        worker = threading.Thread(target=work, name="vlm-generate", daemon=True)
        worker.start()
        try:
            while True:
                try:
                    piece = next(streamer)
                except queue.Empty:
                    if cancel.cancelled:
                        stats.cancelled = True
                        return
                    continue
                except StopIteration:
                    break
                if cancel.cancelled:
                    stats.cancelled = True
                    return
                if piece:
                    if stats.first_token_s is None:
                        stats.first_token_s = time.perf_counter() - started
                    yield piece
        finally:
            stop.set()
            worker.join()
            self._abort_check = None
            stats.total_s = time.perf_counter() - started
            if image_end and output and not errors and not aborted:
                # Keep the cache of this whole turn (prompt and answer) with the ids it holds;
                # the next question about this frame reuses its longest common prefix.
                held = cache.get_seq_length()
                self._prefix = _Prefix(key=key, ids=output[0][0, :held].clone(), cache=cache)
            else:
                self._prefix = None
        if errors:
            raise generation_error(errors[0], self.model_ref)


#: Two questions whose prompts differ from the first token of the question on: their common
#: start is what every question about the frame shares (see `prepare_frame`).
_PROBES = ("What is this?", "Is anyone here?")


def _frame_key(frame: Any) -> tuple | None:
    if frame is None:
        return None
    return frame.key


def _per_token(name: str, value: Any, length: int) -> bool:
    """Whether a processor output has one entry per prompt token (input ids, attention mask,
    Qwen's mm_token_type_ids), as opposed to pixels or image metadata."""
    shape = tuple(getattr(value, "shape", ()))
    return shape == (1, length) and not name.startswith(("pixel_", "image_", "video_"))


def _pad_id(tokenizer) -> int | None:
    pad = getattr(tokenizer, "pad_token_id", None)
    return pad if pad is not None else getattr(tokenizer, "eos_token_id", None)


def _nested_images(processor) -> bool:
    # Idefics3-style processors take one list of images per prompt.
    return hasattr(processor, "image_seq_len")


def from_config(config: Any) -> TransformersVlm:
    v = config.vlm
    return TransformersVlm(v.model, device=v.device, dtype=v.dtype,
                           max_image_pixels=v.max_image_pixels, max_new_tokens=v.max_new_tokens,
                           verbosity=config.scene.verbosity, config=config,
                           int8=bool(getattr(v, "int8", False)))
