"""Benchmarks: `glimpse bench NAME`. Each module here is one benchmark with `main(args, config) -> int`,
imported only by `ui.cli.bench`; what they share (the audio rig, the calibration figure,
reports, scoring, test pages, random-weight models) is in `kit/`, which the tests use too."""
