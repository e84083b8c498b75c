#!/usr/bin/env bash
# Lint ocgo with golangci-lint, pinned (README: "Run every test"; run by
# scripts/test.sh). The linters and their few exclusions, each with its
# reason, are in .golangci.yml. Installs the pinned version with `go install`
# when the one on PATH/GOBIN is missing or another version (a few minutes of
# build once; the Go build cache makes later installs quick).
# Arguments go to `golangci-lint run` (default ./...); `--install` only
# installs.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=2.15.0
bindir=$(go env GOBIN)
[ -n "$bindir" ] || bindir="$(go env GOPATH)/bin"
lint="$bindir/golangci-lint"
if ! "$lint" version 2>/dev/null | grep -q "version $VERSION "; then
  echo "installing golangci-lint v$VERSION into $bindir"
  go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$VERSION"
fi
if [ "${1:-}" = --install ]; then
  "$lint" version
  exit 0
fi
[ $# -gt 0 ] || set -- ./...
exec "$lint" run "$@"
