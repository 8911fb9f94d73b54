#!/usr/bin/env bash
# Smoke test of a built bundle (run packaging/build.sh first). Not part of the test suite: the
# build takes 10+ minutes. Each check prints PASS/FAIL/SKIP; the exit status is 1 if any failed.
#   packaging/smoke_test.sh [dist/glimpse]
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${1:-dist/glimpse}
EXE="$BUNDLE/glimpse"
export GLIMPSE_CONFIG_DIR=$(mktemp -d)   # a fresh config: also shows the first-run privacy note
failed=0
check() {  # check NAME COMMAND...
  local name=$1; shift
  local out; out=$("$@" 2>&1); local rc=$?
  if [ $rc -eq 0 ]; then echo "PASS  $name"; else
    echo "FAIL  $name (exit $rc)"; echo "$out" | tail -5 | sed 's/^/      /'; failed=1; fi
}
[ -x "$EXE" ] || { echo "FAIL  no bundle at $EXE; run packaging/build.sh" >&2; exit 1; }

check "--version" "$EXE" --version
check "--help lists the commands" bash -c "'$EXE' --help | grep -q install-desktop"
check "install-desktop into a temp XDG dir" bash -c \
  "d=\$(mktemp -d); XDG_DATA_HOME=\$d '$EXE' install-desktop >/dev/null && \
   grep -q \"Exec=.*glimpse\" \$d/applications/io.github.glimpse_assistant.Glimpse.desktop && \
   XDG_DATA_HOME=\$d '$EXE' uninstall-desktop >/dev/null"
check "doctor" "$EXE" doctor
check "transcribe tests/data/jfk.flac (offline pack)" bash -c \
  "'$EXE' --offline transcribe tests/data/jfk.flac | grep -qi 'ask not what your country'"
if command -v xvfb-run >/dev/null; then
  # The window: start it under Xvfb and expect it to stay up for 15 s (timeout's 124 = still up).
  out=$(timeout 15 xvfb-run -a "$EXE" 2>&1); rc=$?
  if [ $rc -eq 124 ]; then echo "PASS  window stays open under Xvfb"; else
    echo "FAIL  window under Xvfb (exit $rc)"; echo "$out" | tail -5 | sed 's/^/      /'; failed=1; fi
else
  echo "SKIP  window under Xvfb (xvfb-run not installed)"
fi
exit $failed
