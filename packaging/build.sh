#!/usr/bin/env bash
# Build the one-folder Glimpse bundle: dist/glimpse/glimpse (window + command line).
#
#   packaging/build.sh                     with the offline model pack (works with no download)
#   GLIMPSE_BUNDLE_OFFLINE_PACK=0 packaging/build.sh   without it (about 300 MB smaller)
#
# Uses the project's virtual environment (VENV, default .venv at the repo root; `make env` creates
# it) and installs PyInstaller there, pinned by constraints.txt so torch is not replaced.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "build.sh: no virtual environment at $VENV; run 'make env' first (or set VENV=...)" >&2
  exit 1
fi

"$VENV/bin/python" -m pip install -q -c constraints.txt "pyinstaller>=6.10" "pyinstaller-hooks-contrib>=2024.8"

start=$(date +%s)
"$VENV/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/glimpse.spec
end=$(date +%s)

echo "build.sh: built dist/glimpse in $((end - start)) s" >&2
du -sh dist/glimpse >&2
