"""Vision: from the camera to an answer about what it sees.

Rooms: `camera/` (OpenCV capture and the stage that picks each turn's frame), `perception/`
(what the CPU can tell without a model download: text, faces, people, ImageNet labels, colour
and light), `reading/` (read mode: text in reading order), `answer/` (the answer stage, the
choice of engine, the vision-language model, the offline describer), `finder/` ("is my mug
here, where?", and watch mode), `scene/` (scene-description mode) and `search/` (photos and
history by what they show). Rooms import the kernel and each other downward; never `audio/`
or `ui/`.
"""
