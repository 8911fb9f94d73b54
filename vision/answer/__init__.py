"""Answers about a frame: the answer stage (`stage`), which engine answers (`choice`), the local
vision-language model and the remote one (`vlm/`), the offline describer built on local
perception (`describer`), and the questions with a direct answer (`intents`: find, colour,
light)."""
