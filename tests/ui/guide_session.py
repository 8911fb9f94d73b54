"""The first start, as a newcomer meets it (run by tests/ui/test_gui_first_start.py in a
subprocess on a private X server): a fresh config with `--offline`'s override, the real model
store (no vision model on this computer), the first-run guide over the window. The pipeline runs
on the test fakes (injected through `ui.bootstrap.bootstrap`): what is checked here is what the
guide, the banner, Settings and Models say, each against the others.

Steps: the guide at start (and no banner behind it); the small preset (no banner); the guide again
with the balanced preset (the banner, for the vision model it needs); Models' Download of that
model with Offline on; Settings changing the speech model while the banner is shown; the banner's
Keep using the offline describer (which must keep that change); the guide again with Keep my
settings. After each, the banner's state, the running config, and what Settings and Models show.

    python -m tests.ui.guide_session OUT.json --shots DIR
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ui.window.app import clean_qt_environment

STEP_TIMEOUT_S = 120.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--shots", required=True)
    args = parser.parse_args()
    clean_qt_environment()

    from PySide6.QtWidgets import QApplication

    from assistant import config as config_mod
    from tests.support.window import DialogWatch, FakeFactory, Steps, grab_window
    from ui import labels
    from ui.window import theme
    from ui.window.app import App
    from ui.window.dialogs.first_run import detect

    qapp = QApplication(sys.argv[:1])
    dialogs = DialogWatch(qapp)
    config = config_mod.load(overrides={"models.offline": "true"})  # glimpse --offline
    app = App(config, pipeline_factory=FakeFactory(), config_path=config_mod.config_path(),
              global_shortcut=False)
    w = app.window
    shots = Path(args.shots)
    result: dict = {"screenshots": [], "steps": {}}
    checked: set[str] = set()
    app.bridge.task_finished.connect(lambda task, _r, _e: checked.add(task))

    def check_done():
        """The newest missing-model check has come back (and its banner is shown or gone)."""
        task = f"missing-models-{app._checks}"
        return lambda: app._checks > 0 and task in checked

    def shot(widget, name: str, whole_screen: bool = False):
        yield lambda: True, 1
        yield lambda: True, 1
        path = shots / f"{name}.png"
        if whole_screen:
            path.parent.mkdir(parents=True, exist_ok=True)
            w.screen().grabWindow(0).copy(0, 0, 1200, 800).save(str(path))
            result["screenshots"].append(str(path))
        else:
            result["screenshots"].append(grab_window(widget, path))

    def banner() -> dict:
        b = app.banner
        shown = b is not None and b.isVisible()
        return {"shown": shown, "model": b.ref if shown else "",
                "text": b.text.text() if shown else ""}

    def settings_show() -> dict:
        dialog = app.open_settings()
        seen = {"asr.model": dialog.editors["asr.model"].currentText(),
                "vlm.backend": dialog.editors["vlm.backend"].currentText(),
                "global key": dialog.editors["ui.global_shortcut"].text()}
        dialog.reject()
        return seen

    def state(step: str) -> None:
        cfg = app.bridge.config
        result["steps"][step] = {"banner": banner(), "asr.model": cfg.asr.model,
                                 "vlm.backend": cfg.vlm.backend, "settings": settings_show(),
                                 "checks": app._checks}

    def guide_again(key: str | None):
        """The guide again; pick `key`'s preset and use it, or Keep my settings (None)."""
        guide = app.open_first_run(detect(use_torch=False))
        yield guide.isVisible, STEP_TIMEOUT_S
        before = app._checks
        if key is None:
            guide.keep.click()
        else:
            guide.radios[key].click()
            guide.use.click()
        yield lambda: app._checks > before, STEP_TIMEOUT_S
        yield check_done(), STEP_TIMEOUT_S

    def steps():
        app.start()
        w.move(0, 0)
        w.resize(1200, 760)
        guide = app.first_run
        yield lambda: guide is not None and guide.isVisible(), STEP_TIMEOUT_S
        guide.move(260, 120)
        # Long enough for the old behaviour to have shown the banner: the pipeline is running
        # and the guide's hardware check (torch, seconds) is back.
        yield lambda: app.bridge.state == "running" and "first-run-hardware" in checked, \
            STEP_TIMEOUT_S
        result["guide"] = {"recommended": guide.recommended.key,
                           "choices": [p.key for p in guide.choices],
                           "sentences": {k: v.text() for k, v in guide.sentences.items()}}
        result["steps"]["guide open"] = {"banner": banner(), "checks": app._checks}
        yield from shot(w, "first-start", whole_screen=True)
        # 1. The small preset (the recommendation on a 2-core machine).
        guide.radios["small-cpu"].click()
        guide.use.click()
        yield check_done(), STEP_TIMEOUT_S
        state("small preset")
        yield from shot(w, "after-small-preset")
        # 2. The balanced preset: it needs the vision model, which is not here.
        yield from guide_again("balanced-cpu")
        state("balanced preset")
        yield from shot(w, "banner-after-balanced-preset")
        # Models: the missing model's own Download, with Offline on.
        for name in ("light", "high-contrast"):
            theme.apply(qapp, name)
            models = app.open_models(focus=app.banner.ref)
            yield models.isVisible, STEP_TIMEOUT_S
            models.resize(900, 480)
            row = next(r for r, row in enumerate(models.rows) if row["name"] == app.banner.ref)
            button = models.table.cellWidget(row, 4)
            button.click()
            yield lambda: models._task is None, STEP_TIMEOUT_S
            models.refresh()
            button = models.table.cellWidget(row, 4)
            yield from shot(models, f"models-offline-download-{name}")
            result.setdefault("models", {})[name] = {
                "message": models.message.text(), "progress": models.progress.format(),
                "source": models.table.item(row, 3).text(),
                "names": [models.table.item(r, 0).text() for r in range(len(models.rows))],
                "sizes": [models.table.item(r, 2).text() for r in range(len(models.rows))],
                "button": button.text() if button else "",
                "button_fits": bool(button) and button.width() >= button.sizeHint().width()
                and button.height() >= button.sizeHint().height() - 2}
            models.accept()
        theme.apply(qapp, app.bridge.config.ui.theme)
        # Settings: the speech model changed while the banner is shown.
        dialog = app.open_settings()
        dialog.set_raw("asr.model", "whisper:tiny.en")
        dialog.save()
        yield check_done(), STEP_TIMEOUT_S
        state("speech model changed")
        # 3. The banner's Keep using the offline describer: that change stays.
        app.banner.keep.click()
        yield lambda: app.banner is None or not app.banner.isVisible(), STEP_TIMEOUT_S
        yield check_done(), STEP_TIMEOUT_S
        state("kept the describer")
        result["on disk"] = {k: config_mod.load(environ={}).get(k)
                             for k in ("asr.model", "vlm.backend", "models.offline")}
        # 4. The guide again: Keep my settings changes nothing.
        yield from guide_again(None)
        state("kept my settings")
        result["dialogs"] = dialogs.shown
        result["plain"] = {"global key help": labels.HELP["ui.global_shortcut"],
                           "status details": w.status_text.toolTip()}

    ok = Steps(qapp, steps(), result).run()
    app.close()
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
