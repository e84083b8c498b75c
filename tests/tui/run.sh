#!/usr/bin/env bash
# Smoke check of the stock opencode 0.5.29 terminal UI against ocgo (see README.md).
#
#   tests/tui/run.sh            build ocgo, get the TUI, run tests/tui/smoke_test.go
#
# Environment:
#   OCGO_TUI_BIN   an opencode 0.5.29 TUI binary to use (skips the download)
#   OCGO_TUI_CACHE where a downloaded TUI is kept (default ${XDG_CACHE_HOME:-$HOME/.cache}/ocgo-tests)
#   OCGO_BIN       an ocgo binary to test (default: go build of this checkout)
#
# Exit status: 0 when the check passed or was skipped (a line starting with SKIP says why:
# no tmux, no npm, or the TUI could not be downloaded), non-zero when it failed.
# Bounded: the download step is limited to 5 minutes, the test to 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TUI_VERSION=0.5.29

skip() { echo "SKIP: $*"; exit 0; }

command -v tmux >/dev/null || skip "tmux is not installed (apt-get install -y tmux)"
command -v go >/dev/null || { echo "FAIL: go is not installed" >&2; exit 1; }

WORK=$(mktemp -d)
cleanup() {
  status=$?
  if [ -S "$WORK/get/tmux.sock" ]; then tmux -S "$WORK/get/tmux.sock" kill-server 2>/dev/null || true; fi
  rm -rf "$WORK" || true
  exit "$status"
}
trap cleanup EXIT

# get_tui DEST: install opencode-linux-x64@0.5.29 from npm into a scratch dir and let its
# launcher unpack the embedded Go TUI (it does so into $HOME/.cache/opencode/tui/ when it
# starts in TUI mode); then copy that binary to DEST. HOME is a scratch dir, so nothing of
# the user's opencode setup is read or written.
get_tui() {
  local dest=$1 g=$WORK/get
  mkdir -p "$g/home" "$g/proj"
  command -v npm >/dev/null || return 1
  (cd "$g" && npm init -y >/dev/null && timeout 240 npm install --no-audit --no-fund --silent "opencode-linux-x64@$TUI_VERSION" >/dev/null) || return 1
  local bin=$g/node_modules/opencode-linux-x64/bin/opencode
  [ -x "$bin" ] || return 1
  (cd "$g/proj" && git init -q .)
  tmux -S "$g/tmux.sock" -f /dev/null new-session -d -s get -x 120 -y 40 \
    "cd '$g/proj' && env -i PATH='$PATH' HOME='$g/home' TERM=xterm-256color OPENCODE_DISABLE_DEFAULT_PLUGINS=1 OPENCODE_DISABLE_AUTOUPDATE=1 '$bin'"
  local src=""
  for _ in $(seq 1 120); do
    src=$(ls "$g"/home/.cache/opencode/tui/tui-* 2>/dev/null | head -n 1 || true)
    [ -n "$src" ] && break
    sleep 0.5
  done
  sleep 1 # let the unpacking finish writing
  tmux -S "$g/tmux.sock" kill-server 2>/dev/null || true
  [ -n "$src" ] || return 1
  mkdir -p "$(dirname "$dest")"
  cp "$src" "$dest.tmp" && chmod +x "$dest.tmp" && mv "$dest.tmp" "$dest"
}

TUI=${OCGO_TUI_BIN:-}
if [ -z "$TUI" ]; then
  cache=${OCGO_TUI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocgo-tests}
  TUI=$cache/opencode-tui-$TUI_VERSION
  if [ ! -x "$TUI" ]; then
    echo "== getting the opencode $TUI_VERSION TUI (npm opencode-linux-x64@$TUI_VERSION) into $TUI"
    get_tui "$TUI" || skip "the opencode $TUI_VERSION TUI could not be downloaded (npm registry unreachable?)"
  fi
fi
[ -x "$TUI" ] || { echo "FAIL: OCGO_TUI_BIN=$TUI is not executable" >&2; exit 1; }

OCGO=${OCGO_BIN:-}
if [ -z "$OCGO" ]; then
  echo "== go build"
  OCGO=$WORK/ocgo
  go build -o "$OCGO" . || { echo "FAIL: go build" >&2; exit 1; }
fi

echo "== TUI smoke test (tmux-driven, tests/tui/smoke_test.go)"
OCGO_TUI_BIN=$TUI OCGO_BIN=$OCGO go test -tags tui -count=1 -timeout 180s -v -run TestTUISmoke ./tests/tui/
