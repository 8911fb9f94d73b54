"""Audio: microphone capture, speech recognition, speech synthesis and playback."""
