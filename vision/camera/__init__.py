"""The camera: OpenCV capture on its own thread keeping only the latest frame (an index, a video
file looped and paced, a stream URL or a folder of images), and the camera stage, which keeps
the preview flowing and picks the sharpest recent frame for each turn."""
