"""Entry script of the PyInstaller bundle: the same `glimpse` command pip installs."""
from ui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
