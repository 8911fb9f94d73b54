"""Timing a piece of work the way the pipeline runs it (on a thread of its own), and the HF eager
`generate()` peer that `bench vlm` and `bench e2e --gpu` set Glimpse's VLM engine against."""
from __future__ import annotations

import threading
import time


def timed_in_thread(fn) -> float:
    """Run `fn` under inference_mode on a fresh thread, as the engine runs generate (and as
    the answer stage would), and return its wall time in seconds. Running the baseline on the
    main thread instead is not comparable: with every core busy, torch on the main thread was
    measured up to 10x slower than on a worker thread here."""
    import torch

    out: list[float] = []
    errors: list[BaseException] = []

    def run():
        try:
            with torch.inference_mode():
                t = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t)
        except BaseException as exc:  # re-raised on the calling thread below
            errors.append(exc)

    worker = threading.Thread(target=run, name="bench-hf-generate")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return out[0]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


class StepClock:
    """A stopping criterion that never stops: it notes when each token was generated."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        if input_ids.is_cuda:
            torch.cuda.synchronize()
        self.times.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def hf_eager_turn(engine, request, turn: int, new_tokens: int, m: dict[str, list[float]]) -> None:
    """The peer: HF eager generate() on `engine`'s model and processor, the same request, with
    everything recomputed. Appends to `m`: `preprocess_ms` (first turn), `hf_first_ms` or
    `hf_followup_ms` (processor + one-token generate), `hf_decode_tps`."""
    t = time.perf_counter()
    inputs = engine.prepare(request)
    sync(engine.device)
    prep = time.perf_counter() - t
    if turn == 0:
        m["preprocess_ms"].append(1000 * prep)
    pad = engine.processor.tokenizer.pad_token_id

    def one_token():
        engine.model.generate(**inputs, max_new_tokens=1, do_sample=False, pad_token_id=pad)
        sync(engine.device)

    steps = StepClock()

    def full_answer():
        engine.model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                              do_sample=False, pad_token_id=pad, stopping_criteria=[steps])

    one = timed_in_thread(one_token)
    timed_in_thread(full_answer)
    (m["hf_first_ms"] if turn == 0 else m["hf_followup_ms"]).append(1000 * (prep + one))
    # Decode speed measured as for the engine: between the first and the last generated token
    # inside one generate() call.
    if len(steps.times) > 1:
        m["hf_decode_tps"].append((len(steps.times) - 1) / (steps.times[-1] - steps.times[0]))
