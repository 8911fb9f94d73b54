"""The transformers VLM engine on tiny random-weight models of real architectures.

The models (SmolVLM = Idefics3 family, and Qwen2.5-VL) are built offline and seeded by
`tests.support.vlm`; the engine loads them through the same code path as a downloaded model
(AutoModelForImageTextToText, PIL image processors, the model's chat template). The vision
encoder's calls are counted with a forward hook on the real model.
"""
from __future__ import annotations

import os
import threading
import time

import cv2
import pytest
import torch
import transformers  # noqa: F401 - a core dependency: a broken install fails, not skips

from assistant.errors import ModelError
from assistant.events import Frame, Mode
from assistant.ports import VlmRequest
from assistant.stage import CancelToken, Generation
from tests.support.vlm import tiny_qwen25vl, tiny_smolvlm
from vision.answer.vlm.engine import TransformersVlm

pytestmark = pytest.mark.system
DATA = os.path.join(os.path.dirname(__file__), "..", "data")


@pytest.fixture(scope="module")
def photo():
    image = cv2.imread(os.path.join(DATA, "extreme_ironing.jpg"))
    assert image is not None
    return image


@pytest.fixture(scope="module")
def engine():
    torch.manual_seed(0)
    eng = TransformersVlm(str(tiny_smolvlm()), device="cpu", max_new_tokens=16)
    eng.load()
    return eng


class VisionCalls:
    """Counts forward calls of the vision encoder (a hook on the real module, not a patch)."""

    def __init__(self, eng):
        self.count = 0
        self._handle = eng.vision_module.register_forward_hook(self._hook)

    def _hook(self, *args):
        self.count += 1

    def close(self):
        self._handle.remove()


def ask(eng, request, cancel=None):
    return list(eng.stream(request, cancel or CancelToken.never()))


def test_loads_as_image_text_model_on_cpu_fp32(engine):
    assert engine.device == "cpu" and engine.dtype == torch.float32
    assert engine.vision_module is not None
    assert engine.processor.image_processor.do_image_splitting is False


def test_streams_tokens_in_order_and_matches_plain_generate(engine, photo):
    engine.reset()
    request = VlmRequest(question="What is this?", frame=Frame(image=photo, captured_at=1.0),
                         max_new_tokens=12)
    arrivals = []
    pieces = []
    for piece in engine.stream(request, CancelToken.never()):
        arrivals.append(time.perf_counter())
        pieces.append(piece)
    assert len(pieces) >= 3 and all(pieces)
    assert arrivals == sorted(arrivals)
    stats = engine.last
    assert stats.new_tokens == 12 and stats.first_token_s < stats.total_s
    assert len(pieces) >= 6, "text should be handed on token by token, not word by word"
    # The same inputs through plain generate() give the same text.
    inputs = engine.prepare(request)
    with torch.inference_mode():
        out = engine.model.generate(**inputs, max_new_tokens=12, do_sample=False)
    expected = engine.processor.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:],
                                                 skip_special_tokens=True)
    assert "".join(pieces) == expected


def test_cancel_stops_generation_at_the_running_step(engine, photo, no_thread_leak):
    generation = Generation()
    token = CancelToken(generation, 0)
    request = VlmRequest(question="Describe everything.", frame=Frame(image=photo,
                                                                      captured_at=2.0),
                         max_new_tokens=4000)
    engine.max_new_tokens = 4000
    try:
        at_cancel = []
        pieces = []
        for piece in engine.stream(request, token):
            pieces.append(piece)
            if len(pieces) == 3 and not at_cancel:
                # Cancel from another thread, as the pipeline does on a new key press, then
                # note how many tokens the model has made (at least as many as at the cancel).
                t = threading.Thread(target=lambda: (generation.bump(),
                                                     at_cancel.append(engine.last.new_tokens)))
                t.start()
                t.join()
    finally:
        engine.max_new_tokens = 16
    assert at_cancel, "the stream ended before it could be cancelled"
    # The stopping criterion reads the token after every step: the decode stops at the step
    # that was running (the step itself is the time it takes, bench vlm's decode figure).
    assert engine.last.cancelled and engine.last.new_tokens <= at_cancel[0] + 1, (
        at_cancel, engine.last.new_tokens)
    assert not [t for t in threading.enumerate() if t.name == "vlm-generate"]


def test_cancel_before_the_first_token_stops_the_prefill(engine, photo, no_thread_leak):
    """A cancel during the prompt's forward pass (long for a big image on a CPU) aborts it at
    the next layer instead of waiting for the first token."""
    generation = Generation()
    token = CancelToken(generation, 0)
    generation.bump()  # cancelled before the model has run a single layer
    calls = VisionCalls(engine)
    try:
        pieces = ask(engine, VlmRequest(question="What is it?",
                                        frame=Frame(image=photo, captured_at=6.0)), token)
    finally:
        calls.close()
    assert pieces == [] and engine.last.cancelled and engine.last.new_tokens == 0
    assert calls.count == 0, "the vision encoder finished although the turn was cancelled"
    # The engine is fine afterwards.
    assert ask(engine, VlmRequest(question="And now?", max_new_tokens=3))


def test_follow_up_reuses_the_image_prefix(engine, photo):
    engine.reset()
    frame = Frame(image=photo, captured_at=3.0)
    calls = VisionCalls(engine)
    try:
        first = "".join(ask(engine, VlmRequest(question="What is this?", frame=frame)))
        assert calls.count == 1 and engine.last.reused_tokens == 0
        follow = VlmRequest(question="And on the left?", frame=frame,
                            history=(("What is this?", first),))
        answer = "".join(ask(engine, follow))
        assert calls.count == 1, "the vision encoder ran again for a follow-up"
        image_tokens = int((engine.prepare(follow)["input_ids"][0]
                            == engine.model.config.image_token_id).sum())
        assert engine.last.reused_tokens > image_tokens
        # A new frame runs the encoder again.
        ask(engine, VlmRequest(question="What is this?", frame=Frame(image=photo,
                                                                     captured_at=4.0)))
        assert calls.count == 2
    finally:
        calls.close()
    # Reuse changes nothing in the answer: a fresh engine without reuse says the same.
    plain = TransformersVlm(str(tiny_smolvlm()), device="cpu", max_new_tokens=16,
                            prefix_reuse=False)
    plain.load()
    assert "".join(ask(plain, follow)) == answer


TINY = {"smolvlm": tiny_smolvlm, "qwen25vl": tiny_qwen25vl}


@pytest.mark.parametrize("arch", sorted(TINY))
def test_frame_prepared_at_release_is_reused_by_its_question(arch, photo):
    """prepare_frame encodes the image before the question: the question's answer is the same
    as without it, and the vision encoder runs once, in prepare_frame."""
    torch.manual_seed(0)
    eng = TransformersVlm(str(TINY[arch]()), device="cpu", max_new_tokens=10)
    eng.load()
    plain = TransformersVlm(str(TINY[arch]()), device="cpu", max_new_tokens=10,
                            prefix_reuse=False)
    plain.load()
    frame = Frame(image=photo, captured_at=7.0, source="test")
    first = VlmRequest(question="What is this?", frame=frame)
    calls = VisionCalls(eng)
    try:
        eng.prepare_frame(frame)
        assert calls.count == 1 and eng.last_prepare_s > 0
        answer = "".join(ask(eng, first))
        assert calls.count == 1, "the vision encoder ran again for the prepared frame"
        image_tokens = int((eng.prepare(first)["input_ids"][0]
                            == eng.model.config.image_token_id).sum())
        held = eng.last.reused_tokens
        assert held >= image_tokens > 0
        # The instructions after the image were in the prepared cache too: only the question
        # and the end of the prompt were left to read when it came.
        ids = eng.prepare(first)["input_ids"][0]
        image_end = int((ids == eng.model.config.image_token_id).nonzero()[-1]) + 1
        assert held > image_end
        left = eng.processor.tokenizer.decode(ids[held:])
        assert "What is this?" in left and len(left) < len("What is this?") + 60
        assert answer == "".join(ask(plain, first))
        # The follow-up continues from the whole first turn, as without prepare_frame; the
        # frame sent again at its release keeps that longer cache.
        follow = VlmRequest(question="And on the left?", frame=frame,
                            history=(("What is this?", answer),))
        eng.prepare_frame(frame)
        follow_answer = "".join(ask(eng, follow))
        assert calls.count == 1 and eng.last.reused_tokens > held
        assert follow_answer == "".join(ask(plain, follow))
        # A question about another frame does not use the stale prefix.
        other = VlmRequest(question="What is this?", frame=Frame(image=photo[::2, ::2].copy(),
                                                                  captured_at=8.0))
        eng.prepare_frame(frame)
        other_answer = "".join(ask(eng, other))
        assert calls.count == 2 and eng.last.reused_tokens == 0
        assert other_answer == "".join(ask(plain, other))
        # Another mode's instructions differ after the image: the image part is still reused.
        eng.prepare_frame(Frame(image=photo, captured_at=9.0, source="test"))
        read = VlmRequest(question="Read it", frame=Frame(image=photo, captured_at=9.0,
                                                          source="test"), mode=Mode.READ)
        read_answer = "".join(ask(eng, read))
        assert calls.count == 3 and eng.last.reused_tokens >= image_tokens
        assert read_answer == "".join(ask(plain, read))
    finally:
        calls.close()


@pytest.mark.parametrize("arch", sorted(TINY))
def test_prepare_frame_runs_a_shortened_conversation_before_the_question(arch, photo):
    """When the conversation drops its oldest turn, the turns after it no longer follow the kept
    cache: prepare_frame with the next question's history runs them (from the image on, the
    vision encoder not again), so the question itself is all that is left when it comes; the
    answers are those of an engine without any reuse."""
    torch.manual_seed(0)
    eng = TransformersVlm(str(TINY[arch]()), device="cpu", max_new_tokens=6)
    eng.load()
    plain = TransformersVlm(str(TINY[arch]()), device="cpu", max_new_tokens=6,
                            prefix_reuse=False)
    plain.load()
    frame = Frame(image=photo, captured_at=17.0, source="test")
    calls = VisionCalls(eng)
    try:
        eng.prepare_frame(frame)
        first = "".join(ask(eng, VlmRequest(question="What is this?", frame=frame)))
        second_q = VlmRequest(question="And on the left?", frame=frame,
                              history=(("What is this?", first),))
        second = "".join(ask(eng, second_q))
        history = (("And on the left?", second),)  # the first pair dropped
        eng.prepare_frame(frame, history=history)
        third = VlmRequest(question="Anything else?", frame=frame, history=history)
        answer = "".join(ask(eng, third))
        assert calls.count == 1
        ids = eng.prepare(third)["input_ids"][0]
        left = eng.processor.tokenizer.decode(ids[eng.last.reused_tokens:])
        assert "Anything else?" in left and "And on the left?" not in left, left
        assert answer == "".join(ask(plain, third))
    finally:
        calls.close()


def test_prepare_frame_does_nothing_without_reuse_or_frame(photo):
    eng = TransformersVlm(str(tiny_smolvlm()), device="cpu", max_new_tokens=4,
                          prefix_reuse=False)
    eng.prepare_frame(Frame(image=photo, captured_at=1.0))
    assert eng.model is None and eng._prefix is None  # not even loaded
    eng.prefix_reuse = True
    eng.prepare_frame(None)
    assert eng._prefix is None


def test_prepare_frame_after_a_cancelled_turn_and_its_failure(engine, photo, no_thread_leak):
    """A press during an answer cancels it; the next release's frame is still encoded. A
    failure while encoding propagates (the stage reports it) and leaves no half-filled cache."""
    engine.reset()
    generation = Generation()
    token = CancelToken(generation, 0)
    generation.bump()
    assert ask(engine, VlmRequest(question="What?", frame=Frame(image=photo, captured_at=9.0)),
               token) == []
    frame = Frame(image=photo, captured_at=10.0)
    engine.prepare_frame(frame)
    assert engine._prefix is not None and engine._prefix.key[0] == 10.0

    def broken(*args):
        raise RuntimeError("vision encoder failed")

    handle = engine.vision_module.register_forward_hook(broken)
    try:
        with pytest.raises(RuntimeError, match="vision encoder failed"):
            engine.prepare_frame(Frame(image=photo, captured_at=11.0))
    finally:
        handle.remove()
    assert engine._prefix is None
    assert ask(engine, VlmRequest(question="And now?", frame=frame, max_new_tokens=3))


def test_text_only_question_works(engine):
    calls = VisionCalls(engine)
    try:
        pieces = ask(engine, VlmRequest(question="Hello, who are you?", max_new_tokens=6))
    finally:
        calls.close()
    assert "".join(pieces) and calls.count == 0
    assert engine.last.new_tokens == 6


def test_grounding_reaches_the_prompt(engine, photo):
    request = VlmRequest(question="What does the sign say?", grounding="EXIT 12",
                         frame=Frame(image=photo, captured_at=5.0))
    ids = engine.prepare(request)["input_ids"][0]
    prompt = engine.processor.tokenizer.decode(ids)
    assert "Text visible in the image (OCR): EXIT 12" in prompt
    assert "What does the sign say?" in prompt


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_memory_does_not_grow_over_50_turns(engine, photo):
    engine.reset()
    history: list[tuple[str, str]] = []
    rss = []
    for turn in range(50):
        frame = Frame(image=photo, captured_at=100.0 + turn // 5)  # 5 questions per frame
        if turn % 5 == 0:
            history = []
        request = VlmRequest(question=f"Question {turn}?", frame=frame,
                             history=tuple(history[-4:]), max_new_tokens=8)
        answer = "".join(ask(engine, request))
        history.append((request.question, answer))
        rss.append(_rss_mb())
    growth = max(rss[25:]) - rss[9]
    assert growth < 40, f"RSS grew {growth:.0f} MB between turn 10 and 50: {rss}"


def test_qwen25_vl_loads_by_config_alone(photo):
    eng = TransformersVlm(str(tiny_qwen25vl()), device="cpu", max_new_tokens=8)
    eng.load()
    assert type(eng.model).__name__.startswith("Qwen2_5_VL")
    frame = Frame(image=photo, captured_at=1.0)
    calls = VisionCalls(eng)
    try:
        first = "".join(ask(eng, VlmRequest(question="What is this?", frame=frame)))
        follow = VlmRequest(question="And then?", frame=frame, history=(("What is this?", first),))
        answer = "".join(ask(eng, follow))
    finally:
        calls.close()
    assert first and calls.count == 1 and eng.last.reused_tokens > 0
    plain = TransformersVlm(str(tiny_qwen25vl()), device="cpu", max_new_tokens=8,
                            prefix_reuse=False)
    plain.load()
    assert "".join(ask(plain, follow)) == answer


def test_image_budget_limits_the_qwen_image_tokens(photo):
    frame = Frame(image=photo, captured_at=1.0)
    counts = {}
    for budget in (64 * 64, 200 * 200):
        eng = TransformersVlm(str(tiny_qwen25vl()), device="cpu", max_image_pixels=budget)
        eng.load()
        grid = eng.prepare(VlmRequest(question="?", frame=frame))["image_grid_thw"][0]
        pixels = int(grid[1] * grid[2]) * 14 * 14
        assert pixels <= budget
        counts[budget] = pixels
    assert counts[200 * 200] > counts[64 * 64]


def test_missing_or_broken_model_is_a_clear_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        TransformersVlm(str(tmp_path / "nope")).load()
    with pytest.raises(ModelError, match="config.json"):
        TransformersVlm(str(tmp_path)).load()
    (tmp_path / "config.json").write_text('{"model_type": "smolvlm"}')
    with pytest.raises(ModelError, match="SmolVLM2-256M"):
        TransformersVlm(str(tmp_path)).load()


def test_answer_stage_with_the_real_engine_streams_and_remembers(engine, photo):
    """The answer stage drives the engine: tokens then the answer; the follow-up carries the
    conversation and the engine continues from the kept image prefix."""
    from assistant import events as ev
    from assistant.stage import Outbox
    from vision.answer.stage import AnswerStage

    outbox, generation = Outbox(), Generation()
    stage = AnswerStage(outbox, generation, engine, memory_turns=4, max_new_tokens=8)
    engine.reset()
    frame = Frame(image=photo, captured_at=50.0)
    calls = VisionCalls(engine)
    stage.start()
    try:
        answers = []
        for turn, text in enumerate(("What is this?", "And on the left?"), start=1):
            stage.submit(ev.Question(text=text, frame=frame, turn_id=turn, gen=0))
            tokens = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                event = outbox.get(timeout=deadline - time.monotonic())
                if isinstance(event, ev.ErrorEvent):
                    pytest.fail(event.message)
                if isinstance(event, ev.AnswerToken):
                    tokens.append(event.text)
                if isinstance(event, ev.Answer):
                    answers.append(event)
                    break
            assert tokens and answers[-1].text == "".join(tokens).strip()
        assert calls.count == 1 and engine.last.reused_tokens > 0
        assert answers[1].source.startswith("vlm")
    finally:
        stage.stop()
        calls.close()


def test_answer_stage_prepares_the_frame_with_the_bare_engine(engine, photo):
    """With grounding off the stage holds the bare engine: the Frame sent at release encodes
    the image (no error), and the question continues from it."""
    from assistant import events as ev
    from assistant.stage import Outbox
    from vision.answer.stage import AnswerStage

    outbox, generation = Outbox(), Generation()
    stage = AnswerStage(outbox, generation, engine, memory_turns=4, max_new_tokens=8)
    engine.reset()
    frame = Frame(image=photo, captured_at=60.0, turn_id=1, gen=0)
    calls = VisionCalls(engine)
    stage.start()
    try:
        stage.submit(frame)
        stage.submit(ev.Question(text="What is this?", frame=frame, turn_id=1, gen=0))
        deadline = time.monotonic() + 60
        while True:
            event = outbox.get(timeout=max(0.0, deadline - time.monotonic()))
            if isinstance(event, ev.ErrorEvent):
                pytest.fail(event.message)
            if isinstance(event, ev.Answer):
                break
        assert calls.count == 1 and engine.last.reused_tokens > 0
    finally:
        stage.stop()
        calls.close()


def test_the_idle_look_is_the_questions_image_and_a_press_cancels_a_look(engine, photo):
    """Looking ahead with the real engine: an IdleFrame's look encodes the image (once) and the
    question about that frame continues from it; a look that a press cancels (the generation
    moves on while its first vision layer runs) stops within a layer and keeps nothing."""
    from assistant import events as ev
    from assistant.stage import Outbox
    from vision.answer.stage import AnswerStage

    outbox, generation = Outbox(), Generation()
    stage = AnswerStage(outbox, generation, engine, memory_turns=4, max_new_tokens=8)
    engine.reset()
    idle = ev.IdleFrame(image=photo, captured_at=70.0, gen=0)
    calls = VisionCalls(engine)
    stage.start()
    try:
        stage.submit(idle)
        question = Frame(image=photo, captured_at=70.0, turn_id=1, gen=0)  # the frozen frame
        stage.submit(ev.Question(text="What is this?", frame=question, turn_id=1, gen=0))
        deadline = time.monotonic() + 60
        while True:
            event = outbox.get(timeout=max(0.0, deadline - time.monotonic()))
            if isinstance(event, ev.ErrorEvent):
                pytest.fail(event.message)
            if isinstance(event, ev.Answer):
                break
        assert calls.count == 1 and engine.last.reused_tokens > 0
        assert stage.look_ahead.looks == 1 and stage.look_ahead.spent_s > 0
    finally:
        stage.stop()
        calls.close()
    # A press during a look: the first vision layer moves the generation on.
    engine.reset()
    layers = [m for m in engine.vision_module.modules() if isinstance(m, torch.nn.ModuleList)]
    first, ran = layers[0][0], []
    press = first.register_forward_hook(lambda *_: generation.bump())
    counted = [layer.register_forward_hook(lambda *_: ran.append(1)) for layer in layers[0]]
    try:
        engine.prepare_frame(Frame(image=photo, captured_at=71.0),
                             cancel=CancelToken(generation, generation.value))
    finally:
        press.remove()
        for hook in counted:
            hook.remove()
    assert engine._prefix is None and len(ran) == 1 < len(layers[0])


def test_model_bigger_than_free_memory_is_refused_before_loading(tmp_path):
    """A checkpoint larger than the free memory gives a ModelError naming smaller models
    (the weights file is sparse: nothing is written or read)."""
    import shutil

    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_smolvlm() / name, tmp_path / name)
    with open("/proc/meminfo") as f:
        free = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable"))
    with open(tmp_path / "model.safetensors", "wb") as f:
        f.truncate(free * 2)
    with pytest.raises(ModelError) as info:
        TransformersVlm(str(tmp_path), device="cpu").load()
    message = str(info.value)
    assert "GB is free" in message and "SmolVLM2-256M" in message and "remote" in message
    assert info.value.needs_action
