"""`glimpse say "text" [--voice V] [--rate R] [--language L] [--out F.wav]`: speak text aloud, or
into a WAV file. stdout prints nothing when playing, the output path with --out.

Text "-" (or none) is read from stdin, so `some-command | glimpse say` reads its output aloud.
Long texts are spoken piece by piece as they are synthesized (the first piece starts playing
while the rest is still being made).
"""
from __future__ import annotations

import argparse
import sys
import threading

from assistant.errors import GlimpseError
from ui.cli.common import info, load_config

AHEAD_S = 20.0  # seconds of speech synthesized ahead of playback


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("say", help="speak text aloud or into a WAV file",
                       description="Speak text aloud, or write it to a WAV file with --out.")
    p.add_argument("text", nargs="*", help="what to say; '-' or nothing reads stdin")
    p.add_argument("--voice", help="piper:<voice>, espeak-ng:<voice>, coqui:<model> or a Piper "
                                   ".onnx path (default: tts.voice)")
    p.add_argument("--rate", type=float, help="speed, 1.0 = normal (default: tts.rate)")
    p.add_argument("--language", help="language code; picks the voice from tts.language_voices")
    p.add_argument("--out", metavar="F.wav", help="write a WAV file instead of playing")
    p.set_defaults(func=run)


def _text(args: argparse.Namespace) -> str:
    words = list(args.text or [])
    if not words or words == ["-"]:
        if sys.stdin is None or sys.stdin.isatty():
            raise GlimpseError("Nothing to say", 'Give the text: glimpse say "Hello"')
        return sys.stdin.read()
    return " ".join(words)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.rate is not None:
        config = config.with_value("tts.rate", args.rate)
    if args.voice:
        from audio.tts.engines import parse_voice

        parse_voice(args.voice)  # a bad spec: one clear line before anything loads
    text = _text(args)
    if args.out:
        from audio.tts.engines import synthesize_to_wav

        path = synthesize_to_wav(config, text, args.out, voice=args.voice,
                                 language=args.language)
        print(path)
        return 0
    return _speak(config, text, args.voice, args.language)


def _speak(config, text: str, voice: str | None, language: str | None) -> int:
    """Synthesize piece by piece on this thread while the speaker plays the earlier pieces."""
    from assistant.ports import TtsOptions
    from audio.playback.speaker import from_config as speaker_from_config
    from audio.tts.engines import from_config as tts_from_config
    from audio.tts.engines import speech_pieces

    router = tts_from_config(config)
    options = TtsOptions(voice=voice or "", rate=config.tts.rate, language=language)
    # The voice loads first: the audio stream starts only when there is something to play.
    engine = router.engine_for(router.voice_for(options), language)
    if router.notice:
        info(router.notice)
    speaker = speaker_from_config(config)
    speaker.open()
    stop = threading.Event()  # never set: Ctrl+C ends the command (KeyboardInterrupt)
    try:
        volume = config.audio.volume
        from dataclasses import replace

        for piece in speech_pieces(text):
            # Stay at most AHEAD_S ahead of what is heard: a book-length text must not be
            # synthesized into memory all at once.
            while speaker.pending() > AHEAD_S:
                stop.wait(0.05)
            for audio in engine.synthesize(piece, replace(options, voice="")):
                samples = audio.samples if volume == 1.0 else audio.samples * volume
                speaker.enqueue(samples, audio.sample_rate, tag=0)
        speaker.wait(stop=stop)
    finally:
        speaker.close()
    return 0
