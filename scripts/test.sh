#!/usr/bin/env bash
# The one test command for ocgo (README: "Run every test"):
#   gofmt check, go vet, golangci-lint (scripts/lint.sh: pinned, config in
#   .golangci.yml), go test -race -short, build the binary and the fake
#   model (tests/fakellm), then the JS SDK tests (tests/js, node --test)
#   against them; the node runner must report more than zero passed tests.
# Exits non-zero on the first failing step. Needs Go, git, node >= 20 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n== %s\n' "$*"; }
fail() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }

step "gofmt"
# Tracked and new Go files only: bench/_out holds generated trees.
unformatted=$(git ls-files -co --exclude-standard '*.go' | xargs -r gofmt -l)
[ -z "$unformatted" ] || fail "gofmt needed on: $unformatted"
echo "ok"

step "go vet ./..."
go vet ./... || fail "go vet"
echo "ok"

step "golangci-lint (scripts/lint.sh)"
scripts/lint.sh || fail "golangci-lint: fix the findings above (exclusions only with a reason, in .golangci.yml)"

step "go test -race -short ./..."
# The end-to-end package runs many real servers, browsers and model runs: on
# two busy cores it can pass the default 10 min, which is no failure of ours.
go test -race -short -count=1 -timeout 30m ./... || fail "go test"

step "go build"
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
scripts/build.sh "$BUILD/ocgo" || fail "go build (scripts/build.sh)"
go build -o "$BUILD/fakellm" ./tests/fakellm || fail "go build ./tests/fakellm"
echo "built $BUILD/ocgo and $BUILD/fakellm"

step "node --test (tests/js, @opencode-ai/sdk 0.5.29)"
command -v node >/dev/null || fail "node is not installed (need node >= 20 and npm for tests/js)"
if [ ! -d tests/js/node_modules/@opencode-ai/sdk ]; then
  (cd tests/js && npm ci --no-audit --no-fund) || fail "npm ci in tests/js"
fi
log=$BUILD/node-test.log
if (cd tests/js && OCGO_BIN="$BUILD/ocgo" FAKELLM_BIN="$BUILD/fakellm" node --test --test-reporter=spec) >"$log" 2>&1; then
  grep -E '^ℹ (tests|pass|fail|cancelled|skipped|duration_ms) ' "$log" || tail -n 12 "$log"
else
  cat "$log"
  fail "node --test"
fi
# A runner that found no test file, or tests that skipped, passes silently:
# both are failures here.
ran=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log")
skipped=$(sed -n 's/^ℹ skipped \([0-9]*\)$/\1/p' "$log")
[ "${ran:-0}" -gt 0 ] || { cat "$log"; fail "node --test ran no tests"; }
[ "${skipped:-0}" -eq 0 ] || { cat "$log"; fail "node --test skipped $skipped tests"; }

printf '\nALL TESTS PASSED\n'
