"""Speech synthesis: engines behind the `TtsEngine` port (Piper, espeak-ng, Coqui) and the voice
router (`engines`), the chunker that cuts a streamed answer into speakable pieces (`chunker`),
and the TTS stage (`stage`): answer tokens in, speech chunks out, first clause first."""
