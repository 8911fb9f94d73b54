"""The model store: where every model Glimpse uses comes from, and where it is kept.

`store.ModelStore` is the one facade (resolve a reference to a local path, list, verify,
import). Under it, one module per concern: `refs` (the names Glimpse accepts and the table of
known models), `cache` (`StoreBase`: the cache folder, the manifest of checksums, the
environment it reads), one module per kind (`whisper`, `piper`, `hf`), `checks` (does a file
open safely and is it what it claims), `importing` (verify installed models, copy a folder in),
`download` (resumable, checksum-verified HTTP with a progress callback) and `offline_pack`
(real weights that ship inside pip packages). Nothing here imports `audio/`, `vision/` or Qt:
what needs the audio side (the Whisper converter) is handed in.
"""
