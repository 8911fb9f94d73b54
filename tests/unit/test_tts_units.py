"""Speech output pieces that need no audio device: text clean-up, WAV parsing, voice specs, the
TTS stage (notices, empty and long answers), earcons and their pipeline wiring."""
from __future__ import annotations

import struct
import threading

import numpy as np
import pytest

from assistant import events as ev
from assistant.config import Config
from assistant.errors import ConfigError
from assistant.ports import TtsAudio, TtsOptions
from assistant.stage import Generation, Outbox
from audio.playback.earcons import NAMES, Earcons, synthesize
from audio.tts.engines import (
    VoiceRouter,
    clean_for_speech,
    parse_language_voices,
    parse_voice,
    parse_wav_bytes,
    speech_pieces,
)
from audio.tts.stage import TtsStage
from tests.support.fakes import FakeCamera, RecordingSpeaker, ScriptedAsr, ScriptedTts, ScriptedVlm
from tests.support.events import EventLog
from ui.bootstrap import Parts, bootstrap

# --------------------------------------------------------------------------- text clean-up


@pytest.mark.parametrize("raw, spoken", [
    ("**Bold** and *it* and __under__", "Bold and it and under"),
    ("# A title", "A title"),
    ("### Smaller title", "Smaller title"),
    ("- one\n- two", "one\ntwo"),
    ("See [the docs](https://x.org/docs) now", "See the docs now"),
    ("Visit https://www.example.com/a/b?c=1 today", "Visit example.com today"),
    ("Use `ls -l` here", "Use ls -l here"),
    ("I love it 😀👍🏽!", "I love it !"),
    ("Flags 🇩🇪 and ❤️ hearts", "Flags and hearts"),
    ("> quoted text", "quoted text"),
    ("a | b | c", "a, b, c"),
    ("", ""),
])
def test_markdown_and_emoji_become_readable_text(raw, spoken):
    assert clean_for_speech(raw) == spoken


def test_code_fence_keeps_the_code_without_backticks():
    out = clean_for_speech("Run:\n```python\nprint('hi')\n```\nDone.")
    assert "```" not in out and "print('hi')" in out and "python" not in out


def test_umlauts_and_accents_survive():
    assert clean_for_speech("Grüße aus Köln, café") == "Grüße aus Köln, café"


# --------------------------------------------------------------------------- WAV parsing


def _wav(samples: np.ndarray, rate: int, bogus_sizes: bool) -> bytes:
    pcm = (samples * 32767).astype("<i2").tobytes()
    riff = 0x7FFFFFFF if bogus_sizes else 36 + len(pcm)
    data = 0x7FFFFFFF if bogus_sizes else len(pcm)
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1,
            rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", data) + pcm)


@pytest.mark.parametrize("bogus", [False, True])
def test_wav_bytes_parse_with_real_or_bogus_header_sizes(bogus):
    samples = np.linspace(-0.5, 0.5, 1001).astype(np.float32)
    out, rate = parse_wav_bytes(_wav(samples, 22050, bogus))
    assert rate == 22050 and out.size == 1001
    assert np.allclose(out, samples, atol=1e-4)


def test_wav_parse_rejects_non_wav():
    with pytest.raises(ValueError):
        parse_wav_bytes(b"not a wav at all")


# --------------------------------------------------------------------------- voice specs


@pytest.mark.parametrize("spec, parsed", [
    ("piper:en_US-joe-medium", ("piper", "en_US-joe-medium")),
    ("espeak-ng:de", ("espeak-ng", "de")),
    ("espeak:fr", ("espeak-ng", "fr")),
    ("coqui:tts_models/en/ljspeech/vits", ("coqui", "tts_models/en/ljspeech/vits")),
    ("/voices/x.onnx", ("piper", "/voices/x.onnx")),
])
def test_voice_specs(spec, parsed):
    assert parse_voice(spec) == parsed


@pytest.mark.parametrize("bad", ["nonsense", "festival:kal", ""])
def test_bad_voice_spec_is_a_config_error(bad):
    with pytest.raises(ConfigError):
        parse_voice(bad)


def test_language_voices_parse_and_route():
    table = parse_language_voices(("de=espeak-ng:de", "FR = piper:fr_FR-siwis-medium"))
    assert table == {"de": "espeak-ng:de", "fr": "piper:fr_FR-siwis-medium"}
    router = VoiceRouter("piper:en_US-joe-medium", table)
    assert router.voice_for(TtsOptions(language="de")) == "espeak-ng:de"
    assert router.voice_for(TtsOptions(language="de-AT")) == "espeak-ng:de"
    assert router.voice_for(TtsOptions(language="en")) == "piper:en_US-joe-medium"
    assert router.voice_for(TtsOptions()) == "piper:en_US-joe-medium"
    assert router.voice_for(TtsOptions(voice="espeak-ng:it", language="de")) == "espeak-ng:it"
    with pytest.raises(ConfigError):
        parse_language_voices(("de",))


def test_long_text_is_cut_into_bounded_pieces():
    text = "This is one of many sentences in a very long answer. " * 500
    pieces = speech_pieces(text)
    assert len(pieces) == 500 and max(len(p) for p in pieces) <= 400


# --------------------------------------------------------------------------- the TTS stage


class NoticeTts(ScriptedTts):
    """A scripted engine that reports a fallback the way the voice router does."""

    name = "notice-tts"

    def __init__(self) -> None:
        super().__init__()
        self.notice: str | None = None

    def load(self) -> None:
        self.notice = "The voice X is missing. Speaking with espeak-ng (en) instead."

    def synthesize(self, text: str, options: TtsOptions):
        if not text.strip():
            return
        yield from super().synthesize(text, options)


def run_stage(engine, items, timeout=5.0):
    bus, gen = Outbox(), Generation()
    stage = TtsStage(bus, gen, engine)
    stage.start()
    for item in items:
        stage.submit(item)
    out = []
    while True:
        event = bus.get(timeout=timeout)
        out.append(event)
        if isinstance(event, ev.SpeechChunk) and event.final:
            break
    stage.stop()
    return out


def test_stage_emits_the_engines_fallback_notice_once():
    out = run_stage(NoticeTts(), [ev.Answer(text="Hello there.", turn_id=1)])
    notices = [e for e in out if isinstance(e, ev.Notice)]
    assert len(notices) == 1 and "espeak-ng" in notices[0].message


def test_empty_answer_gives_only_the_final_marker():
    out = run_stage(NoticeTts(), [ev.Answer(text="", turn_id=1)])
    chunks = [e for e in out if isinstance(e, ev.SpeechChunk)]
    assert len(chunks) == 1 and chunks[0].final and chunks[0].samples.size == 0


def test_streamed_tokens_start_speech_at_the_first_clause():
    engine = ScriptedTts(char_s=0.2)  # speech far ahead of the text: pieces are sentences
    tokens = ["In front ", "of you, ", "there is a table. ", "It is ", "red."]
    items = [ev.AnswerToken(text=t, index=i, turn_id=1) for i, t in enumerate(tokens)]
    run_stage(engine, items + [ev.Answer(text="".join(tokens), turn_id=1)])
    assert engine.texts == ["In front of you,", "there is a table.", "It is red."]


class LeadInTts(ScriptedTts):
    """Each piece: 50 ms of near-silence (a voice's lead-in), then 100 ms of sound."""

    def synthesize(self, text: str, options: TtsOptions):
        self.texts.append(text)
        quiet = np.full(800, 0.0005, np.float32)  # 50 ms at 16 kHz, below -54 dBFS
        yield TtsAudio(samples=np.concatenate([quiet, np.full(1600, 0.3, np.float32)]),
                       sample_rate=16000)


def test_a_turns_first_sound_starts_without_the_voices_lead_in():
    out = run_stage(LeadInTts(), [ev.Answer(text="First part, and then. The rest.", turn_id=1)])
    chunks = [e.samples for e in out if isinstance(e, ev.SpeechChunk) and e.samples.size]
    assert len(chunks) >= 2
    # The first keeps 10 ms of its lead-in; the pauses before later pieces are the voice's own.
    assert chunks[0].size == 160 + 1600 and np.all(chunks[0][:160] < 0.002)
    assert all(c.size == 800 + 1600 for c in chunks[1:])


class PausingTts(ScriptedTts):
    """Each piece: 50 ms of lead-in, 100 ms of sound, 150 ms of quiet tail (16 kHz)."""

    def synthesize(self, text: str, options: TtsOptions):
        self.texts.append(text)
        quiet = np.full(800, 0.0005, np.float32)
        yield TtsAudio(samples=np.concatenate([quiet, np.full(1600, 0.3, np.float32),
                                               np.full(2400, 0.0005, np.float32)]),
                       sample_rate=16000)


@pytest.mark.parametrize("tokens", [["It looks like an espresso."],
                                    ["It ", "looks ", "like ", "an ", "espresso."]])
def test_a_sentence_cut_after_three_words_is_joined_without_a_pause(tokens):
    """The short first piece starts speech early; where it was cut inside a clause, its quiet
    tail and the next piece's lead-in shrink to a word gap (50 ms), so the sentence is one."""
    from audio.tts.stage import JOIN_GAP_S

    engine = PausingTts()
    items = [ev.AnswerToken(text=t, index=i, turn_id=1) for i, t in enumerate(tokens)]
    out = run_stage(engine, items + [ev.Answer(text="".join(tokens), turn_id=1)])
    assert engine.texts == ["It looks like", "an espresso."]
    first, second = [e.samples for e in out if isinstance(e, ev.SpeechChunk) and e.samples.size]
    gap = (first.size - 160 - 1600) + (second.size - 1600 - 2400)  # tail kept + lead kept
    assert gap == int(JOIN_GAP_S * 16000)
    assert second.size == 160 + 1600 + 2400  # the sentence's own end keeps its pause


def test_each_spoken_notice_and_each_turn_starts_without_the_lead_in():
    engine = LeadInTts()
    bus, gen = Outbox(), Generation()
    stage = TtsStage(bus, gen, engine)
    stage.start()
    try:
        for turn in (0, 0, 2):
            stage.submit(ev.Answer(text="Short.", turn_id=turn))
        sizes = []
        while len(sizes) < 3:
            event = bus.get(timeout=5)
            if isinstance(event, ev.SpeechChunk) and event.samples.size:
                sizes.append(event.samples.size)
    finally:
        stage.stop()
    assert sizes == [160 + 1600] * 3


def test_silence_is_not_trimmed_away():
    from audio.tts.stage import trim_lead_in

    quiet = np.zeros(4000, np.float32)
    assert trim_lead_in(quiet, 16000) is quiet


def test_answer_language_reaches_the_engine():
    seen = []

    class LangTts(ScriptedTts):
        def synthesize(self, text, options):
            seen.append(options.language)
            yield from super().synthesize(text, options)

    run_stage(LangTts(), [ev.Answer(text="Hallo Welt.", language="de", turn_id=1)])
    assert seen == ["de"]


# --------------------------------------------------------------------------- earcons


def test_every_earcon_is_short_bounded_and_click_free():
    for name in NAMES:
        sound = synthesize(name)
        assert 0.01 < sound.size / 24000 < 0.5, name
        assert np.abs(sound).max() <= 1.0 + 1e-6
        assert abs(sound[0]) < 0.05 and abs(sound[-1]) < 0.05, name  # no click at the ends


def test_earcons_differ_from_each_other():
    a, b = synthesize("listening"), synthesize("done")
    n = min(a.size, b.size)
    assert abs(float(np.corrcoef(a[:n], b[:n])[0, 1])) < 0.5


class Sink:
    def __init__(self):
        self.sounds: list[np.ndarray] = []
        self.event = threading.Event()

    def __call__(self, samples, rate):
        self.sounds.append(samples)
        self.event.set()


def test_earcons_follow_the_turn_and_respect_settings():
    sink = Sink()
    earcons = Earcons(Config().earcons, sink)
    earcons.on_event(ev.Status(state="listening", turn_id=1))
    earcons.on_event(ev.Status(state="transcribing", turn_id=1))
    earcons.on_event(ev.Status(state="thinking", turn_id=1))  # same turn: no second "processing"
    earcons.on_event(ev.AnswerToken(text="Hi", turn_id=1))
    earcons.on_event(ev.TurnEnded(turn_id=1, answer="Hi"))
    earcons.on_event(ev.ErrorEvent(message="boom"))
    earcons.on_event(ev.TurnEnded(turn_id=2, answer="", cancelled=True))
    earcons.close()
    assert earcons.played == ["listening", "processing", "done", "error"]

    quiet = Earcons(Config().with_value("earcons.done", False).earcons, sink)
    quiet.on_event(ev.TurnEnded(turn_id=1, answer="Hi"))
    assert quiet.played == []
    off = Earcons(Config().with_value("earcons.enabled", False).earcons, sink)
    off.on_event(ev.Status(state="listening", turn_id=1))
    assert off.played == []


def _pitch(sound: np.ndarray, rate: int = 24000) -> float:
    spectrum = np.abs(np.fft.rfft(sound * np.hanning(sound.size)))
    return float(np.fft.rfftfreq(sound.size, 1 / rate)[int(np.argmax(spectrum))])


def test_watch_mode_earcons_a_rising_found_and_a_light_level_that_follows_brightness():
    sink = Sink()
    earcons = Earcons(Config().earcons, sink)
    earcons.on_event(ev.Sighting(query="keys", message="I see keys."))
    found = sink.sounds[-1]
    # Rising: the last note is higher than the first.
    quarter = found.size // 4
    assert _pitch(found[-quarter:]) > _pitch(found[:quarter]) * 1.5
    for level in (0.05, 0.5, 0.95):
        earcons.on_event(ev.LightLevel(brightness=level))
    dark, mid, bright = (_pitch(s) for s in sink.sounds[-3:])
    assert dark < mid < bright and bright / dark > 3
    assert earcons.played == ["found", "light", "light", "light"]
    quiet = Earcons(Config().with_value("earcons.light", False).earcons, sink)
    quiet.on_event(ev.LightLevel(brightness=0.5))
    assert quiet.played == []


def test_ticks_are_bounded_and_stop_when_the_answer_comes():
    sink = Sink()
    earcons = Earcons(Config().earcons, sink, tick_interval_s=0.01, max_ticks=3)
    earcons.on_event(ev.Status(state="thinking", turn_id=1))
    deadline = threading.Event()
    for _ in range(200):  # wait on the sink, not a fixed time: up to 2 s for 3 ticks
        if earcons.played.count("tick") >= 3:
            break
        deadline.wait(0.01)
    assert earcons.played.count("tick") == 3
    deadline.wait(0.05)  # no fourth tick ever comes
    assert earcons.played.count("tick") == 3

    stopped = Earcons(Config().earcons, sink, tick_interval_s=0.2, max_ticks=10)
    stopped.on_event(ev.Status(state="thinking", turn_id=1))
    stopped.on_event(ev.AnswerToken(text="x", turn_id=1))
    assert stopped._timer is None and "tick" not in stopped.played


class EarconSpeaker(RecordingSpeaker):
    """A fake speaker with an earcon lane, as the real one has."""

    earcon_lane = True

    def __init__(self):
        super().__init__()
        self.earcons: list[int] = []

    def play_earcon(self, samples, rate):
        self.earcons.append(samples.size)


def test_bootstrap_wires_earcons_to_the_pipeline():
    speaker = EarconSpeaker()
    pipeline = bootstrap(Config(), parts=Parts(audio_in=False, asr=False),
                         camera=FakeCamera([np.zeros((8, 8, 3), np.uint8)]),
                         vlm=ScriptedVlm(), tts=ScriptedTts(), speaker=speaker)
    pipeline.start()
    try:
        log = EventLog(pipeline)
        pipeline.submit(ev.Ask(text="what is this"))
        log.wait_type(ev.TurnEnded, timeout=10)
        log.drain()
    finally:
        pipeline.stop()
    # processing (thinking) and done at least: the earcons went to the speaker's earcon lane
    assert len(speaker.earcons) >= 2


class LangTts(ScriptedTts):
    def __init__(self):
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []

    def synthesize(self, text, options):
        self.seen.append((text, options.language))
        yield from super().synthesize(text, options)


def test_the_answers_language_picks_the_voice_for_streamed_tokens():
    engine = LangTts()
    items = [ev.AnswerToken(text="Ich sehe, ", language="de", turn_id=1),
             ev.AnswerToken(text="eine Katze. ", language="de", turn_id=1),
             ev.Answer(text="Ich sehe, eine Katze.", language="de", turn_id=1)]
    run_stage(engine, items)
    assert engine.seen and all(lang == "de" for _, lang in engine.seen)


def test_a_spoken_german_question_is_answered_in_the_german_voice():
    """The language goes from the transcript through the answer events to the voice: the
    speech stage is sent nothing but tokens and the answer."""
    engine = LangTts()
    pipeline = bootstrap(Config(), parts=Parts(audio_in=False, camera=False),
                         asr=ScriptedAsr(text="was siehst du", language="de"),
                         vlm=ScriptedVlm(), tts=engine, speaker=RecordingSpeaker())
    pipeline.start()
    try:
        log = EventLog(pipeline)
        pipeline.submit(ev.AskAudio(samples=np.full(16000, 0.1, np.float32)))
        log.wait_type(ev.TurnEnded, timeout=10)
    finally:
        pipeline.stop()
    tokens = log.of(ev.AnswerToken)
    assert tokens and all(t.language == "de" for t in tokens)
    assert engine.seen and all(lang == "de" for _, lang in engine.seen)


def test_the_configured_voice_is_a_default_not_an_explicit_choice():
    config = Config().with_value("tts.language_voices", "de=espeak-ng:de")
    from audio.tts.engines import from_config

    router = from_config(config)
    options = TtsOptions(voice=config.tts.voice, language="de")  # what bootstrap passes
    assert router.voice_for(options) == "espeak-ng:de"
    assert router.voice_for(TtsOptions(voice=config.tts.voice)) == "piper:en_US-joe-medium"
    # tts.engine wins over a voice of another engine, also when bootstrap passes that voice
    espeak = from_config(Config().with_value("tts.engine", "espeak-ng"))
    assert espeak.voice_for(TtsOptions(voice=Config().tts.voice)) == "espeak-ng:en-us"


def test_speech_running_low_speaks_the_words_written_so_far():
    """A model writing about as fast as the voice speaks: when less than LOW_WATER_S of speech
    is left, the words written so far are spoken (to a clause mark, else whole words) instead
    of waiting for the sentence's end; with speech far ahead, pieces stay whole sentences."""
    tokens = ["A cup ", "of coffee ", "on a saucer, ", "with a ", "spoon beside ", "it. ",
              "The table ", "is wooden."]
    items = [ev.AnswerToken(text=t, index=i, turn_id=1) for i, t in enumerate(tokens)]
    answer = ev.Answer(text="".join(tokens), turn_id=1)
    ahead = ScriptedTts(char_s=0.2)  # every piece is seconds long: never low
    run_stage(ahead, items + [answer])
    assert ahead.texts == ["A cup of", "coffee on a saucer, with a spoon beside it.",
                           "The table is wooden."]
    short = ScriptedTts(char_s=0.001)  # every piece is over at once: always low
    out = run_stage(short, items + [answer])
    assert short.texts[:3] == ["A cup of", "coffee on a saucer,", "with a"], short.texts
    assert " ".join(short.texts) == "".join(tokens).strip()
    # Each piece is whole words: a sentence's end, or two words at least.
    assert all(p.endswith(".") or len(p.split()) >= 2 for p in short.texts), short.texts
    assert [c for c in out if isinstance(c, ev.SpeechChunk) and c.final]
