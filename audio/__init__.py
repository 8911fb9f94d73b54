"""Audio: from the microphone to words, and from words to the speaker.

One room per job, each with its stage (a thread with an inbox, `assistant.stage.Stage`):
`capture/` (the microphone, voice detection, audio files; the capture stage makes utterances),
`asr/` (Whisper engines and the ASR stage), `tts/` (speech engines, the sentence chunker and
the TTS stage), `playback/` (the speaker, earcons and the playback stage). Rooms import the
kernel (`assistant`) and, where one job feeds another, each other; never `vision/` or `ui/`.
"""
