"""Vision: camera capture, frame choice, the VLM engine and local perception."""
