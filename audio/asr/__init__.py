"""Speech recognition: Whisper behind the `AsrEngine` port, and the ASR stage.

`engines` holds the three engines `asr.engine` names (`fast`: openai-whisper's weights with
Glimpse's own decode in `fast`; `openai-whisper`; `faster-whisper`, CTranslate2), the guard
against text invented from silence, and `from_config`. `fast` is the short-utterance decoder,
`int8` its int8 matmuls on the CPU, `convert` turns CTranslate2 weights into an openai-whisper
checkpoint. `stage`: utterances in, transcripts out, on its own thread."""
