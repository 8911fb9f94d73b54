"""Data files that ship with Glimpse: prompts, icons, class names, word lists.

`ROOT` is this folder; code reads its files through it, so no module needs to know how deep
it sits below the repository."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent
