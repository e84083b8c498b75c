#!/usr/bin/env bash
# Scale figures on a synthetic monorepo (bench/genrepo: 100,000 files in
# 2,000 directories, committed to git): cold start to the first GET /app,
# RSS once the background work (watcher walk, search index, first snapshot)
# is done, a rare-word /find against `rg --json` on the same tree, and the
# snapshot and index benchmarks (go test -bench) on the same tree.
#
# Usage: bench/monorepo.sh      Env: FILES (100000), DIRS (2000), RUNS (5)
# The tree is generated once into bench/_out/monorepo-$FILES and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/_out
FILES=${FILES:-100000}
DIRS=${DIRS:-2000}
RUNS=${RUNS:-5}
PORT=${PORT:-4491}
REPO=$OUT/monorepo-$FILES
command -v rg >/dev/null || { echo "bench/monorepo.sh: rg (ripgrep) is needed for the /find comparison: apt-get install ripgrep" >&2; exit 1; }
mkdir -p "$OUT"
scripts/build.sh "$OUT/ocgo"
go build -o "$OUT/load" ./bench/load
[ -d "$REPO/.git" ] || go run ./bench/genrepo -out "$REPO" -files "$FILES" -dirs "$DIRS"
DATA=$OUT/monorepo-data
rm -rf "$DATA"
base=http://127.0.0.1:$PORT
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p"; }
ms() { # command... -> wall milliseconds
  local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }

echo "== cold start ($RUNS runs)" >&2
start=$("$OUT/load" start -runs "$RUNS" -url "$base/app" -- "$OUT/ocgo" serve -p "$PORT" --dir "$REPO" --data-dir "$DATA" --log-level error | field start_ms_median)

"$OUT/ocgo" serve -p "$PORT" --dir "$REPO" --data-dir "$DATA" --log-level error >"$OUT/monorepo.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs -o /dev/null -m 1 "$base/app" && break; sleep 0.05; done
# The watcher's walk, the search index and the first snapshot run in the
# background after start: wait until the process has been idle for 2 s.
prev=-1
for _ in $(seq 1 300); do
  cpu=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  [ "$cpu" = "$prev" ] && break
  prev=$cpu; sleep 2
done
rss_bg=$("$OUT/load" rss -pid "$PID" | field rss_mb)

find_ms=() rg_ms=()
for _ in $(seq 1 "$RUNS"); do
  find_ms+=("$(ms curl -fs "$base/find?pattern=zqxrareword")")
  rg_ms+=("$(cd "$REPO" && ms rg --json zqxrareword)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
f=$(median "${find_ms[@]}") r=$(median "${rg_ms[@]}")

printf '\n%-48s %10s %10s\n' "monorepo ($FILES files, $DIRS dirs)" ocgo goal
printf '%-48s %8s ms %10s\n' "cold start to first GET /app (median)" "$start" "≤ 50 ms"
printf '%-48s %8s MB %10s\n' "RSS after walk, index and first snapshot" "$rss_bg" "≤ 80 MB"
printf '%-48s %8s ms %10s\n' "/find rare word (median of $RUNS)" "$f" ""
printf '%-48s %8s ms %10s\n' "rg --json, same word and tree (median)" "$r" ""
awk -v f="$f" -v r="$r" 'BEGIN { printf "%-48s %10.2f %10s\n", "/find ÷ rg", f / r, "≤ 0.5" }'

echo >&2
echo "== go test -bench on the same tree" >&2
OCGO_MONOREPO=$REPO go test -run '^$' -bench 'FirstSnapshotMonorepo' -benchtime 1x ./snapshot/ | grep Benchmark
OCGO_MONOREPO=$REPO go test -run '^$' -bench 'GrepRareWordMonorepo' -benchtime 10x ./search/ | grep Benchmark
