"""Sound going out: the real speaker (PortAudio through sounddevice), a speaker that writes a WAV
file (the command line's `--say`), earcons (short sounds for listening, working, done, error)
and the playback stage, which plays speech chunks and records when the first sample played."""
