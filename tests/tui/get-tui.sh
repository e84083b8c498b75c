#!/usr/bin/env bash
# Puts the stock opencode 0.5.29 terminal UI where TestStockTUI (tui_test.go)
# looks for it: ${OCGO_TUI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocgo-tests}/opencode-tui-0.5.29.
#
# The TUI is a Go binary embedded in the npm package opencode-linux-x64@0.5.29
# (from the npm registry); that package's launcher unpacks it into
# $HOME/.cache/opencode/tui/ when it starts in TUI mode. This script installs
# the package in a scratch directory, starts the launcher once in a private
# tmux server with a scratch HOME (nothing of the user's is read or written),
# copies the unpacked binary and checks its SHA-256.
#
# Needs npm, tmux and git. Exits non-zero when the TUI could not be had.
set -euo pipefail
VERSION=0.5.29
SHA256=ed3fb5787c4f15b875e5cf1564230df87dccc4a6947935d699d7fdcc7eeab988
cache=${OCGO_TUI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocgo-tests}
dest=$cache/opencode-tui-$VERSION

if [ -x "$dest" ] && echo "$SHA256  $dest" | sha256sum -c --quiet - 2>/dev/null; then
  echo "$dest"
  exit 0
fi
for tool in npm tmux git sha256sum; do
  command -v "$tool" >/dev/null || { echo "get-tui.sh: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
sock=$work/tmux.sock
cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/npm" "$work/home" "$work/proj"
(cd "$work/npm" && echo '{"private":true}' > package.json &&
  timeout 300 npm install --no-audit --no-fund --no-save --silent "opencode-linux-x64@$VERSION" </dev/null)
launcher=$work/npm/node_modules/opencode-linux-x64/bin/opencode
[ -x "$launcher" ] || { echo "get-tui.sh: $launcher missing after npm install" >&2; exit 1; }
git init -q "$work/proj"

# OPENCODE_DISABLE_DEFAULT_PLUGINS: 0.5.29 would `bun add` two plugins at
# start, one of which is gone from the registry.
tmux -S "$sock" -f /dev/null new-session -d -s get -x 120 -y 40 \
  "cd '$work/proj' && exec env -i PATH='$PATH' HOME='$work/home' TERM=xterm-256color OPENCODE_DISABLE_DEFAULT_PLUGINS=1 OPENCODE_DISABLE_AUTOUPDATE=1 '$launcher'"
src=""
for _ in $(seq 1 120); do
  for f in "$work"/home/.cache/opencode/tui/tui-*; do
    if [ -f "$f" ] && echo "$SHA256  $f" | sha256sum -c --quiet - 2>/dev/null; then src=$f; break 2; fi
  done
  sleep 0.5
done
[ -n "$src" ] || { echo "get-tui.sh: the launcher did not unpack a TUI with SHA-256 $SHA256" >&2; ls -la "$work/home/.cache/opencode/tui" >&2 || true; exit 1; }
mkdir -p "$cache"
cp "$src" "$dest.tmp"
chmod 755 "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "$dest"
