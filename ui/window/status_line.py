"""The status line: one short, true sentence about Glimpse, with the details in a tooltip.

The pipeline reports a state per stage (`Status(stage, state, detail)`: asr loading, answer
ready, ...) and the bridge reports the pipeline as a whole (starting, running, failed). The
line says "Ready" only when the pipeline runs and every stage that reported is ready; while
stages load it says which ("Starting: speech, answers loading (1 of 3 ready)"); during a turn
it says what happens now (listening, thinking, speaking), and between turns "Watching for keys"
while watch mode looks. Each stage's own state is in the tooltip and in the accessible
description, one line each, in words.

After an answer that came from the offline path (the describer: local detectors, no
vision-language model; `Answer.source`), "Ready" says so until an answer comes from a model
or the pipeline starts again: "Ready (last answer from the offline path)".

`StatusModel` holds the states and makes the words (plain Python, tested without a window);
the window shows `text()` in a one-line read-only field of fixed height (so the controls below
never jump, and screen readers read it) with `details()` in its tooltip. GUI thread only.
"""
from __future__ import annotations

#: stage name (assistant.events.StageName) -> what a person calls it
STAGES = {"capture": "microphone", "asr": "speech recognition", "camera": "camera",
          "answer": "answers", "tts": "voice", "playback": "speaker", "watch": "watch mode"}
_SHORT = {"speech recognition": "speech"}
_READY = {"ready", "idle", "running", "off"}
#: what the pipeline does during a turn -> words
ACTIVITY = {"listening": "Listening", "transcribing": "Understanding your question",
            "thinking": "Thinking", "speaking": "Speaking"}
RUNNING = {"starting": "starting", "running": "running", "failed": "not running",
           "stopped": "stopped"}
PIPELINE = {"starting": "Starting", "running": "Ready", "failed": "Not ready",
            "stopped": "Stopped"}
#: `Answer.source` of the engines that answer without a vision-language model.
OFFLINE_SOURCES = frozenset({"describer"})
OFFLINE_NOTE = "from the offline path, without the vision model"


class StatusModel:
    """The states behind the status line."""

    def __init__(self) -> None:
        self.pipeline = "starting"
        self.pipeline_detail = ""
        self.stages: dict[str, tuple[str, str]] = {}  # stage -> (state, detail)
        self.activity = ""  # listening / thinking / ... during a turn; "" between turns
        self.watching = ""  # what watch mode looks for ("keys"); "" when it does not watch
        self.problem = ""
        self.offline = False  # the last answer came from the offline path
        self.extra: dict[str, str] = {}  # e.g. {"Global key": "on (Ctrl+Alt+Space)"}

    def on_pipeline(self, state: str, detail: str = "") -> None:
        if state == "starting":  # a new pipeline: the old stages' states no longer apply
            self.stages.clear()
            self.activity = ""
            self.problem = ""
            self.watching = ""
            self.offline = False
        self.pipeline, self.pipeline_detail = state, detail

    def on_answer(self, source: str) -> None:
        """An answer came (`Answer.source`); watch mode's own replies leave the note as it is."""
        if source != "watch":
            self.offline = source in OFFLINE_SOURCES

    def on_status(self, stage: str, state: str, detail: str = "") -> None:
        if state == "mode":
            return
        if stage == "pipeline":
            self.activity = ACTIVITY.get(state, "")
            return
        if stage == "watch":  # not a part that loads at start: what it does now
            self.watching = detail if state == "watching" else ""
            self.stages.pop(stage, None)  # a watch that starts again clears its last error
            return
        self.stages[stage] = (state, detail)
        if state != "error" and not any(s == "error" for s, _ in self.stages.values()):
            self.problem = ""

    def on_error(self, stage: str, message: str) -> None:
        self.stages[stage] = ("error", message)
        self.problem = message

    def ready(self) -> bool:
        return self.pipeline == "running" and all(s in _READY for s, _ in self.stages.values())

    def text(self) -> str:
        if self.problem:
            where = [STAGES.get(k, k) for k, (s, _) in self.stages.items() if s == "error"]
            return f"Problem with {', '.join(where) or 'Glimpse'}: {self.problem}"
        if self.pipeline in ("failed", "stopped"):
            return PIPELINE[self.pipeline] + (f": {self.pipeline_detail}"
                                              if self.pipeline_detail else "")
        loading = [_SHORT.get(STAGES.get(k, k), STAGES.get(k, k))
                   for k, (s, _) in self.stages.items() if s not in _READY]
        if loading or self.pipeline != "running":
            ready = sum(1 for s, _ in self.stages.values() if s in _READY)
            words = f"Starting: {', '.join(loading)} loading" if loading else "Starting"
            return words + (f" ({ready} of {len(self.stages)} ready)" if self.stages else "")
        if self.activity:
            return self.activity
        if self.watching:
            return f"Watching for {self.watching}"
        return "Ready (last answer from the offline path)" if self.offline else "Ready"

    def details(self) -> str:
        """One line per stage, for the tooltip and screen readers."""
        lines = [f"Glimpse: {RUNNING.get(self.pipeline, self.pipeline)}"]
        for stage, (state, detail) in self.stages.items():
            what = STAGES.get(stage, stage).capitalize()
            lines.append(f"{what}: {state}" + (f" ({detail})" if detail else ""))
        if self.watching:
            lines.append(f"Watch mode: watching for {self.watching} (Escape or \"stop\" ends it)")
        if self.offline:
            lines.append(f"Last answer: {OFFLINE_NOTE} (it can tell text, faces, people close "
                         "by, colours and light)")
        lines += [f"{k}: {v}" for k, v in self.extra.items()]
        return "\n".join(lines)
