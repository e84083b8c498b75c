#!/usr/bin/env bash
# Load: N mixed requests (default 1,000,000) against the real ocgo binary on
# loopback, over 16 keep-alive clients, while S clients (default 50) hold
# GET /event open and S/5 of them vanish without closing (half stop reading,
# half are reset mid-run; opencode#17908). The mix (bench/loadmix): session
# reads and writes, prompts answered by the fake model (tests/fakellm), file
# routes, find, config. The project is a git copy of this repository at HEAD.
# Prints errors (must be 0), throughput, RSS (cold, baseline after a warm-up,
# peak, once idle again), threads and open descriptors. TestLoadShort runs a
# short form of it in `go test`.
#   bench/load.sh [N] [S]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
SSE=${2:-50}
OUT=$(mktemp -d /tmp/ocgo-load.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT

scripts/build.sh "$OUT/ocgo"
go build -o "$OUT/fakellm" ./tests/fakellm
go build -o "$OUT/load" ./bench/load

mkdir -p "$OUT/proj" "$OUT/home" "$OUT/data"
git archive HEAD | tar -x -C "$OUT/proj"
(cd "$OUT/proj" && git init -q && git add -A && git -c user.name=load -c user.email=load@ocgo.invalid commit -qm load)

# waitline FILE PREFIX: print the rest of the first line of FILE starting with PREFIX.
waitline() {
  for _ in $(seq 300); do
    if line=$(grep -m1 "^$2" "$1" 2>/dev/null); then echo "${line#"$2"}"; return; fi
    sleep 0.1
  done
  echo "no '$2' in $1" >&2; cat "$1" >&2; exit 1
}

mkfifo "$OUT/fake.in"
"$OUT/fakellm" <"$OUT/fake.in" >"$OUT/fake.out" 2>"$OUT/fake.err" &
PIDS+=($!)
exec 3>"$OUT/fake.in" # fakellm serves until its stdin closes
FAKE=$(waitline "$OUT/fake.out" "fakellm listening on ")
cat >"$OUT/proj/opencode.json" <<JSON
{"model": "fake/fake-model",
 "provider": {"fake": {"npm": "@ai-sdk/openai-compatible", "name": "Fake", "options": {"baseURL": "$FAKE"},
   "models": {"fake-model": {"name": "Fake Model", "limit": {"context": 100000, "output": 4000}}}}}}
JSON

env -i PATH="$PATH" HOME="$OUT/home" SHELL=/bin/sh OPENCODE_DISABLE_MODELS_FETCH=1 \
  "$OUT/ocgo" serve --port 0 --dir "$OUT/proj" --data-dir "$OUT/data" --log-level warn \
  >"$OUT/ocgo.out" 2>"$OUT/ocgo.err" &
OCGO=$!
PIDS+=($OCGO)
URL=$(waitline "$OUT/ocgo.out" "opencode server listening on ")
echo "ocgo $URL (pid $OCGO), $N requests, $SSE subscribers ($((SSE / 5)) vanishing), project $(git rev-parse --short HEAD)"
"$OUT/load" mixed -url "$URL" -pid "$OCGO" -n "$N" -c 16 -sse "$SSE" -vanish $((SSE / 5)) \
  -model fake/fake-model -file README.md -pattern ConstantTimeCompare -symbol newApp
if [ -s "$OUT/ocgo.err" ]; then
  echo "ocgo logged $(wc -l <"$OUT/ocgo.err") warnings or errors; the first:"
  head -5 "$OUT/ocgo.err"
fi
