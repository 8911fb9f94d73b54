"""Read mode: the text of a picture in reading order, with its spaces, whatever way up it is
(`reader.Reader`), and the fine pass that finds small print on overlapping tiles (`tiles`)."""
