"""install-desktop / uninstall-desktop into a temporary XDG data dir, and the privacy note."""
from __future__ import annotations

import configparser
import os
import subprocess
import sys

from ui import desktop
from ui.privacy import first_run_notice, marker_path, privacy_note
from tests.support import ROOT


def test_install_then_uninstall_writes_and_removes_exactly_the_files(tmp_path):
    written = desktop.install(tmp_path, ["/opt/My Apps/glimpse"])
    assert len(written) == 3 + len(desktop.ICON_SIZES)
    entry = tmp_path / "applications" / desktop.DESKTOP_FILE
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(entry.read_text())
    section = parser["Desktop Entry"]
    assert section["Exec"] == '"/opt/My Apps/glimpse"'
    assert section["Icon"] == desktop.APP_ID
    assert "Accessibility;" in section["Categories"]
    png = tmp_path / "icons/hicolor/48x48/apps" / f"{desktop.APP_ID}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "metainfo" / desktop.METAINFO_FILE).read_text().startswith("<?xml")
    removed = desktop.uninstall(tmp_path)
    assert sorted(removed) == sorted(written)
    assert not any(p.exists() for p in written)
    assert desktop.uninstall(tmp_path) == []


def test_icons_have_their_nominal_sizes():
    from PIL import Image

    for size in desktop.ICON_SIZES:
        with Image.open(desktop.icon_dir() / f"glimpse-{size}.png") as img:
            assert img.size == (size, size)


def test_packaged_files_match_what_install_writes():
    packaged = (ROOT / "packaging" / desktop.DESKTOP_FILE).read_text()
    assert packaged == desktop.desktop_entry(["glimpse"])
    assert (ROOT / "packaging" / desktop.METAINFO_FILE).read_text() == desktop.metainfo()


def test_cli_install_desktop_uses_xdg_data_home_and_prints_privacy_note(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"),
               GLIMPSE_CONFIG_DIR=str(tmp_path / "config"))
    run = subprocess.run([sys.executable, "-m", "ui.cli", "install-desktop"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    entry = tmp_path / "data" / "applications" / desktop.DESKTOP_FILE
    assert str(entry) in run.stdout.splitlines()
    assert "Exec=" in entry.read_text()
    assert "stays on this computer" in run.stderr
    run = subprocess.run([sys.executable, "-m", "ui.cli", "uninstall-desktop"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert not entry.exists()


def test_privacy_note_is_returned_once(tmp_path):
    assert first_run_notice(tmp_path / "cfg") == privacy_note()
    assert marker_path(tmp_path / "cfg").is_file()
    assert first_run_notice(tmp_path / "cfg") is None
