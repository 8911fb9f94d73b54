"""Streaming the VLM's answer: a text streamer that hands on every token's text at once, the
exception the abort hooks raise inside a forward pass, and what an out-of-memory failure
during generation tells the user. Used by `engine.TransformersVlm.stream()`; the streamer is
fed on the generate worker thread and read on the answer stage's thread."""
from __future__ import annotations

from assistant.errors import ModelError
from vision.answer.vlm.loading import SMALLER_MODELS


class Aborted(Exception):
    """Raised inside a forward pass by the abort hook: the turn was cancelled."""


def _token_streamer_class():
    from transformers import TextIteratorStreamer

    class TokenStreamer(TextIteratorStreamer):
        """Hands on the text of every token at once (TextIteratorStreamer waits for a whole
        word); only an incomplete UTF-8 sequence is held back until its last byte arrives."""

        def put(self, value) -> None:
            if value.ndim > 1:
                value = value[0]
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            self.token_cache.extend(value.tolist())
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if text.endswith("\ufffd"):
                return
            piece = text[self.print_len:]
            if text.endswith("\n"):
                self.token_cache, self.print_len = [], 0
            else:
                self.print_len = len(text)
            if piece:
                self.on_finalized_text(piece)

    return TokenStreamer


def TokenStreamer(*args, **kwargs):  # noqa: N802 - reads as the class it builds
    return _token_streamer_class()(*args, **kwargs)


def generation_error(exc: BaseException, model: str) -> BaseException:
    import torch

    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return ModelError(f"Out of memory while the VLM {model} was answering",
                          "Lower vlm.max_image_pixels or vlm.max_new_tokens, choose a smaller "
                          "model (" + SMALLER_MODELS + "), or close other programs",
                          needs_action=True)
    return exc
