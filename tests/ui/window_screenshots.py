"""Screenshots of the window for docs/gui.md, from real runs of the offline pack on a real
picture (run on an X server).

The window runs the real pipeline (`ui.bootstrap`): Whisper tiny.en, the offline describer and
Piper's Joe voice from the offline pack, a picture folder holding the street photo
(tests/data/extreme_ironing.jpg) as the camera. What the conversation shows is what Glimpse says
for that picture: `answers.json` records each answered screenshot's picture, questions and
answers, and tests/ui/test_docs_screenshots.py fails when the product says something else for
that picture or the screenshot does not show it.

One process per audio setup (PortAudio binds one audio server per process): the virtual
PulseAudio microphone and speaker (tests/support/rig), then no audio server at all. Then the
focus and first-start sessions (tests/ui/focus_session.py, tests/ui/guide_session.py) add the
focus contact sheets, the high-contrast checks and the Models dialog's offline download.

    xvfb-run -a -s "-screen 0 1366x768x24" python -m tests.ui.window_screenshots docs/screenshots
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ui.window.app import clean_qt_environment

ROOT = Path(__file__).resolve().parents[2]
PICTURE = "tests/data/extreme_ironing.jpg"
QUESTION = "Where is the taxi?"
SETTINGS = (("models.offline", True), ("asr.model", "whisper:tiny.en"),
            ("vlm.backend", "describer"), ("tts.voice", "piper:en_US-joe-medium"),
            ("earcons.enabled", False), ("ui.answer_voice", "glimpse"),
            ("history.enabled", False))
THEMES = ("light", "high-contrast")
#: files of the sessions that go to the docs, as (session file, docs name)
FROM_SESSIONS = (("focus-light.png", "focus-light.png"),
                 ("focus-high-contrast.png", "focus-high-contrast.png"),
                 ("menu-high-contrast.png", "menu-high-contrast.png"),
                 ("find-history-high-contrast.png", "find-history-high-contrast.png"),
                 ("conversation-follows.png", "conversation-follows.png"),
                 ("models-offline-download-light.png", "models-offline-download-light.png"),
                 ("models-offline-download-high-contrast.png",
                  "models-offline-download-high-contrast.png"),
                 ("banner-after-balanced-preset.png", "banner-after-balanced-preset.png"))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots").resolve()
    if len(sys.argv) > 2:  # a child: one audio setup
        return window_shots(out, sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    answers: dict = {}
    for audio in ("speaker", "no-speaker"):
        with tempfile.TemporaryDirectory(prefix="glimpse-shots-") as tmp:
            child(out, audio, Path(tmp))
            answers.update(json.loads((Path(tmp) / "answers.json").read_text())
                           if (Path(tmp) / "answers.json").exists() else {})
    (out / "answers.json").write_text(json.dumps(answers, indent=2, ensure_ascii=False) + "\n")
    with tempfile.TemporaryDirectory(prefix="glimpse-shots-") as tmp:
        for module in ("tests.ui.focus_session", "tests.ui.guide_session"):
            env = dict(os.environ, GLIMPSE_CONFIG_DIR=f"{tmp}/{module}-config",
                       GLIMPSE_DATA_DIR=f"{tmp}/{module}-data", PYTHONPATH=str(ROOT))
            subprocess.run([sys.executable, "-m", module, f"{tmp}/{module}.json", "--shots",
                            f"{tmp}/shots"], cwd=ROOT, env=env, check=True, timeout=900)
        for name, docs_name in FROM_SESSIONS:
            shutil.copy(Path(tmp) / "shots" / name, out / docs_name)
    print("\n".join(sorted(str(p) for p in out.glob("*.png"))))
    return 0


def child(out: Path, audio: str, tmp: Path) -> None:
    """Run one audio setup in a process of its own."""
    # The guide names the history file: show a typical user's path, not this computer's (with
    # history off in these runs nothing is written there).
    env = dict(os.environ, GLIMPSE_CONFIG_DIR=str(tmp / "config"),
               GLIMPSE_DATA_DIR="/home/you/.local/share/glimpse", PYTHONPATH=str(ROOT),
               GLIMPSE_SHOTS_TMP=str(tmp))
    rig = None
    if audio == "speaker":
        from tests.support.rig.audio import VirtualAudio

        rig = VirtualAudio().start()
        env.update(rig.env)
    else:
        env["PULSE_SERVER"] = "unix:/nonexistent/glimpse-no-audio-server"
    try:
        subprocess.run([sys.executable, "-m", "tests.ui.window_screenshots", str(out), audio],
                       cwd=ROOT, env=env, check=True, timeout=1200)
    finally:
        if rig is not None:
            rig.stop()


def window_shots(out: Path, audio: str) -> int:
    clean_qt_environment()
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from assistant import config as config_mod
    from ui.window import theme
    from ui.window.app import App

    tmp = Path(os.environ["GLIMPSE_SHOTS_TMP"])
    pictures = tmp / "pictures"
    pictures.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / PICTURE, pictures / "street.jpg")
    qapp = QApplication(sys.argv[:1])  # noqa: F841 - the application the windows live in
    answers: dict = {}

    def wait(predicate, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the window did not get there")
            QTest.qWait(20)

    def shot(widget, name: str, whole: bool = False) -> None:
        QTest.qWait(300)  # let the layout settle and paint before the grab
        path = out / f"{name}.png"
        screen = widget.screen()
        pixmap = screen.grabWindow(0).copy(widget.frameGeometry()) if whole else \
            screen.grabWindow(widget.winId())
        if not pixmap.save(str(path)):
            raise RuntimeError(f"could not save {path}")
        print(path, flush=True)

    def finished(w) -> int:
        return sum(1 for t in w.conversation.turns if t.finished)

    for name in THEMES:
        config = config_mod.Config()
        for key, value in SETTINGS + (("camera.source", str(pictures)), ("ui.theme", name)):
            config = config.with_value(key, value)
        path = config_mod.save(config, tmp / "config" / "config.toml")
        first = audio == "speaker"
        app = App(config, config_path=path, global_shortcut=False, first_run=first)
        theme.apply(QApplication.instance(), name, 1.0)
        w = app.window
        w.move(0, 0)
        w.resize(1366, 768)
        app.start()
        if first:
            guide = app.first_run
            wait(lambda: guide.isVisible() and w.preview.picture is not None
                 and app.bridge.state == "running")
            guide.move(300, 140)
            shot(w, f"first-start-{name}", whole=True)
            guide.radios[guide.recommended.key].click()
            old = app.bridge.pipeline
            guide.use.click()
            wait(lambda: app.bridge.pipeline is not old and app.bridge.pipeline is not None)
        wait(lambda: w.status.ready() and w.preview.picture is not None)
        if audio == "no-speaker":
            shot(w, f"window-no-speaker-{name}")
            if name == "light":
                for key in list(w.device_bar.shown):
                    old = app.bridge.pipeline
                    w.device_bar.withouts[key].click()
                    wait(lambda o=old: app.bridge.pipeline is not o and w.status.ready())
                w.question.setText(QUESTION)
                w.ask_typed()
                wait(lambda: finished(w) >= 1)
                w.view.render_now()
                shot(w, f"window-continued-{name}")
            app.close()
            QTest.qWait(100)
            continue
        shot(w, f"window-at-rest-{name}")
        w.describe_now()
        wait(lambda: finished(w) >= 1)
        w.question.setText(QUESTION)
        w.ask_typed()
        wait(lambda: finished(w) >= 2)
        w.view.render_now()
        shot(w, f"window-answered-{name}")
        answers[f"window-answered-{name}.png"] = {
            "picture": PICTURE,
            "turns": [{"mode": t.mode, "question": t.question if t.mode == "ask" else "",
                       "answer": t.answer} for t in w.conversation.turns]}
        help_dialog = app.open_help()
        wait(help_dialog.isVisible)
        shot(help_dialog, f"help-{name}")
        help_dialog.reject()
        w.resize(w.minimumSize())
        shot(w, f"window-minimum-size-{name}")
        app.close()
        QTest.qWait(100)
    (tmp / "answers.json").write_text(json.dumps(answers, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
