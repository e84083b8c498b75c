#!/usr/bin/env bash
# Kill storm: SIGKILL a real, writing ocgo N times (default 1000) and check
# after each kill that it starts, every JSON file parses, every acknowledged
# write is there, no temp file is left and no reply is left unfinished.
# Prints the figures. CI runs 20 kills as part of `go test` (TestKillStorm).
#   bench/killstorm.sh [N] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
export OCGO_KILLSTORM=$N
if [ -n "${2:-}" ]; then export OCGO_KILLSTORM_SEED=$2; fi
go test -count=1 -v -timeout 6h -run '^TestKillStorm$' . 2>&1 | grep --line-buffered -E 'killstorm_test.go|^(FAIL|ok|---)'
