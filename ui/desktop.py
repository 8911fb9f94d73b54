"""Desktop integration on Linux: the menu entry, icons and AppStream data in the user's XDG dirs.

`install(data_home, command)` writes
  <data_home>/applications/io.github.glimpse_assistant.Glimpse.desktop
  <data_home>/icons/hicolor/<N>x<N>/apps/io.github.glimpse_assistant.Glimpse.png  (16..512)
  <data_home>/icons/hicolor/scalable/apps/io.github.glimpse_assistant.Glimpse.svg
  <data_home>/metainfo/io.github.glimpse_assistant.Glimpse.metainfo.xml
and `uninstall(data_home)` removes exactly those files. `data_home` is $XDG_DATA_HOME, or
~/.local/share when it is unset (`default_data_home()`). The same texts are committed under
packaging/ for distributions (`packaging/make_icons.py` rewrites them from here).
"""
from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import resources
from assistant.errors import GlimpseError

log = logging.getLogger(__name__)

APP_ID = "io.github.glimpse_assistant.Glimpse"
DESKTOP_FILE = f"{APP_ID}.desktop"
METAINFO_FILE = f"{APP_ID}.metainfo.xml"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
HOMEPAGE = "https://github.com/glimpse-assistant/glimpse"
# Newest first; AppStream shows these as the release history.
RELEASES = (("0.1.0", "2026-11-22"),)

SUMMARY = "Ask about what the camera sees and hear the answer"
DESCRIPTION = (
    "Glimpse is a voice and vision assistant that runs entirely on your computer. Hold a key, "
    "ask a question about what the camera sees, let go, and hear the answer a moment later.",
    "Its scene description mode reads out what is in front of the camera, including printed "
    "text, for blind and low-vision users. Speech recognition (Whisper), image understanding "
    "and the voice (Piper) all run locally; nothing leaves the computer unless you set up a "
    "remote answer server.",
)


def icon_dir() -> Path:
    """Where the app's icons are (inside the installed package or the bundle)."""
    return Path(resources.__file__).resolve().parent / "icons"


def default_data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share when unset or not absolute (as the XDG spec says)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def glimpse_command() -> list[str]:
    """The command that starts the Glimpse that is running now, as absolute paths.

    A bundle runs its own executable; a pip install runs the `glimpse` script (argv[0], or the
    one on PATH); `python -m ui.cli` is written as exactly that, with this interpreter.
    """
    if getattr(sys, "frozen", False):
        return [os.path.abspath(sys.executable)]
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0).startswith("glimpse") and os.path.isfile(argv0):
        return [os.path.abspath(argv0)]
    found = shutil.which("glimpse")
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "ui.cli"]


def _exec_quote(arg: str) -> str:
    """Quote one Exec argument as the Desktop Entry spec asks (double quotes, backslash escapes)."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if arg and not (set(arg) & reserved):
        return arg.replace("%", "%%")
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return '"' + escaped.replace("%", "%%") + '"'


def desktop_entry(command: list[str] | str) -> str:
    """The .desktop file text; `command` is the program (and arguments) Exec runs."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    exec_line = " ".join(_exec_quote(a) for a in argv)
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",  # 1.5 is newer than many validators (desktop-file-utils 0.26)
        "Name=Glimpse",
        "GenericName=Voice and Vision Assistant",
        f"Comment={SUMMARY}",
        f"Exec={exec_line}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "StartupNotify=true",
        "Categories=Accessibility;AudioVideo;Utility;",
        "Keywords=assistant;voice;vision;camera;describe;scene;blind;low vision;speech;ocr;",
        "",
    ])


def metainfo() -> str:
    """The AppStream metainfo XML text."""
    paragraphs = "\n".join(f"    <p>{escape(p)}</p>" for p in DESCRIPTION)
    releases = "\n".join(f'    <release version="{v}" date="{d}"/>' for v, d in RELEASES)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>{APP_ID}</id>
  <metadata_license>CC0-1.0</metadata_license>
  <project_license>GPL-3.0-or-later</project_license>
  <name>Glimpse</name>
  <summary>{escape(SUMMARY)}</summary>
  <developer id="io.github.glimpse_assistant">
    <name>The Glimpse developers</name>
  </developer>
  <description>
{paragraphs}
  </description>
  <launchable type="desktop-id">{DESKTOP_FILE}</launchable>
  <url type="homepage">{HOMEPAGE}</url>
  <url type="bugtracker">{HOMEPAGE}/issues</url>
  <categories>
    <category>Accessibility</category>
    <category>AudioVideo</category>
    <category>Utility</category>
  </categories>
  <keywords>
    <keyword>assistant</keyword>
    <keyword>voice</keyword>
    <keyword>camera</keyword>
    <keyword>scene description</keyword>
    <keyword>blind</keyword>
  </keywords>
  <provides>
    <binary>glimpse</binary>
  </provides>
  <requires>
    <display_length compare="ge">360</display_length>
  </requires>
  <supports>
    <control>keyboard</control>
    <control>pointing</control>
    <control>voice</control>
  </supports>
  <content_rating type="oars-1.1"/>
  <releases>
{releases}
  </releases>
</component>
"""


def planned_files(data_home: Path) -> dict[Path, Path | None]:
    """Every file install() writes, mapped to its source icon (None for generated texts)."""
    data_home = Path(data_home)
    icons = icon_dir()
    hicolor = data_home / "icons" / "hicolor"
    files: dict[Path, Path | None] = {
        data_home / "applications" / DESKTOP_FILE: None,
        data_home / "metainfo" / METAINFO_FILE: None,
        hicolor / "scalable" / "apps" / f"{APP_ID}.svg": icons / "glimpse.svg",
    }
    for size in ICON_SIZES:
        files[hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = icons / f"glimpse-{size}.png"
    return files


def install(data_home: Path, command: list[str] | str | None = None) -> list[Path]:
    """Write the menu entry, icons and metainfo under `data_home`; returns the files written.

    `command` defaults to the Glimpse running now (`glimpse_command()`). Existing files are
    replaced, so running it again after moving the bundle fixes the menu entry.
    """
    files = planned_files(data_home)
    missing = [str(src) for src in files.values() if src is not None and not src.is_file()]
    if missing:
        raise GlimpseError(f"The app icons are missing from this installation ({missing[0]})",
                           "Reinstall Glimpse; in a source checkout run "
                           "`python packaging/make_icons.py`.")
    texts = {DESKTOP_FILE: desktop_entry(command or glimpse_command()), METAINFO_FILE: metainfo()}
    written = []
    try:
        for target, source in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            if source is None:
                target.write_text(texts[target.name], encoding="utf-8")
            else:
                shutil.copyfile(source, target)
            written.append(target)
    except OSError as exc:
        raise GlimpseError(f"Could not write {exc.filename or target}: {exc.strerror or exc}",
                           "Check that the folder is writable, or choose another with "
                           "--data-dir.") from exc
    _refresh_caches(Path(data_home))
    return written


def uninstall(data_home: Path) -> list[Path]:
    """Remove what install() wrote under `data_home`; returns the files that were removed."""
    removed = []
    for target in planned_files(data_home):
        if target.is_file():
            target.unlink()
            removed.append(target)
    if removed:
        _refresh_caches(Path(data_home))
    return removed


def _refresh_caches(data_home: Path) -> None:
    """Ask the desktop to re-read the menu (the tools are optional; menus also notice by mtime)."""
    for tool, args in (("update-desktop-database", ["-q", str(data_home / "applications")]),
                       ("gtk-update-icon-cache", ["-q", "-t", str(data_home / "icons/hicolor")])):
        path = shutil.which(tool)
        if path is None:
            continue
        result = subprocess.run([path, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log.info("%s failed (%s); the menu updates at next login", tool,
                     result.stderr.strip() or result.returncode)
