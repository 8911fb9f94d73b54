"""Sound coming in: the real microphone (PortAudio through sounddevice, resampled with soxr),
voice activity detection (Silero VAD), audio files loaded as 16 kHz mono float32, and the
capture stage that turns microphone chunks into utterances (push-to-talk, toggle or
hands-free). The stage runs on its own thread; the device callback only queues."""
