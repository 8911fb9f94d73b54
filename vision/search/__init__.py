"""Search by what pictures show: `photos` ranks a folder's photos for a text ("a cup of
coffee") with an index on disk, with the offline analyser (ImageNet labels and OCR words) or
`clip.ClipAnalyser`, as `choice` decides; `history_index` does the same over the saved
conversation's turns."""
