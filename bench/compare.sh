#!/usr/bin/env bash
# Side-by-side figures for ocgo and the original opencode 0.5.29 server on
# loopback: cold start to the first 200 from GET /app, idle RSS, GET /session
# throughput with 205 and 10,000 sessions (and the CPU time the server and the
# load generator spend per request), the latency of one GET /session with
# 10,000 sessions, and the snapshot figures: the first snapshot of an 11.5k-file
# git project and the snapshot after a 3-file edit, ocgo's snapshot package
# against the git command sequence the original runs (snapshot/bench_test.go:
# a copy of $(go env GOROOT)/src committed as a git repository, so the tree is
# the Go toolchain's and the same on every run with that toolchain). Prints a
# table with ratios.
#
# Usage: bench/compare.sh            (ocgo and the original)
#        NO_ORIGINAL=1 bench/compare.sh   (ocgo alone; the snapshot rows still compare with git)
# Env:   ANCHOR   where the original is installed (default bench/_out/anchor; reuses an install)
#        RUNS     cold starts per server (default 7), C clients (default 8), N requests (default 3000)
#        SNAP_RUNS  snapshots timed per snapshot row (default 10); SNAP=0 leaves the snapshot rows out
# The original is installed and configured by ../shared/tools/start-anchor.sh (npm opencode-linux-x64@0.5.29);
# if that is not available, only ocgo is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# bench/_out: the leading underscore keeps the go tool (go vet ./..., go build ./...)
# out of the copied project's .go files.
OUT=$ROOT/bench/_out
RUNS=${RUNS:-7}
SNAP=${SNAP:-1}
SNAP_RUNS=${SNAP_RUNS:-10}
C=${C:-8}
N=${N:-3000}
OCGO_PORT=${OCGO_PORT:-4481}
ORIG_PORT=${ORIG_PORT:-4482}
START_ANCHOR=${START_ANCHOR:-$ROOT/../shared/tools/start-anchor.sh}
[ -f "$START_ANCHOR" ] || START_ANCHOR=/work/shared/tools/start-anchor.sh
export ANCHOR=${ANCHOR:-$OUT/anchor}

LOAD_START=$(cut -d' ' -f1 /proc/loadavg) # the figures depend on what else runs
rm -rf "$OUT/run"
mkdir -p "$OUT/run"
RUN=$OUT/run
scripts/build.sh "$OUT/ocgo" # the shipped build (static, stripped)
go build -o "$OUT/load" ./bench/load
LOAD=$OUT/load

# One project served by both: a git repo with ~100 Go files.
PROJ=$RUN/proj
mkdir -p "$PROJ"
cp "$(go env GOROOT)"/src/net/http/*.go "$PROJ"/
(cd "$PROJ" && git init -q . && git add -A && git -c user.name=bench -c user.email=bench@example.invalid commit -qm init)

declare -A R # results: R[server,metric]
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

ocgo_cmd() { echo "$OUT/ocgo serve -p $OCGO_PORT -h 127.0.0.1 --data-dir $RUN/ocgo-data --log-level error"; }
orig_cmd() {
  echo "env -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_CACHE_HOME -u XDG_STATE_HOME HOME=$RUN/orig-home" \
    "OPENCODE_DISABLE_DEFAULT_PLUGINS=1 OPENCODE_DISABLE_AUTOUPDATE=1 $ORIG_BIN serve --port $ORIG_PORT --hostname 127.0.0.1"
}

HAVE_ORIG=0
if [ -z "${NO_ORIGINAL:-}" ] && [ -f "$START_ANCHOR" ]; then
  ORIG_BIN=$ANCHOR/node_modules/opencode-linux-x64/bin/opencode
  # start-anchor.sh installs (once) and starts the original; we only keep the install.
  if ANCHOR_HOME=$RUN/anchor-probe-home NO_APT=1 bash "$START_ANCHOR" "$RUN/anchor-probe-proj" "$ORIG_PORT" >"$RUN/anchor.log" 2>&1; then
    kill "$(cat "$ANCHOR/serve-$ORIG_PORT.pid")" 2>/dev/null || true
    sleep 0.5
    HAVE_ORIG=1
  else
    echo "original opencode could not start here (see $RUN/anchor.log); measuring ocgo alone" >&2
  fi
fi
SERVERS=(ocgo)
[ "$HAVE_ORIG" = 1 ] && SERVERS=(orig ocgo)

port_of() { [ "$1" = ocgo ] && echo "$OCGO_PORT" || echo "$ORIG_PORT"; }
cmd_of() { [ "$1" = ocgo ] && ocgo_cmd || orig_cmd; }

PID=
start_bg() { # server
  local port; port=$(port_of "$1")
  (cd "$PROJ" && exec $(cmd_of "$1") >"$RUN/$1.log" 2>&1) &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null -m 1 "http://127.0.0.1:$port/app" && return 0
    sleep 0.05
  done
  echo "$1 did not start; log:" >&2; cat "$RUN/$1.log" >&2; exit 1
}
stop_bg() {
  # env(1) execs the server, so PID is the server itself.
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
}
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p"; }

for s in "${SERVERS[@]}"; do
  port=$(port_of "$s")
  base=http://127.0.0.1:$port
  echo "== $s: cold start x$RUNS" >&2
  line=$(cd "$PROJ" && $LOAD start -runs "$RUNS" -url "$base/app" -- $(cmd_of "$s"))
  R[$s,start]=$(echo "$line" | field start_ms_median)

  echo "== $s: idle RSS, 205 sessions" >&2
  start_bg "$s"
  for path in app session config agent; do curl -fs -o /dev/null "$base/$path" || true; done
  sleep 1
  line=$($LOAD rss -pid "$PID")
  R[$s,rss]=$(echo "$line" | field rss_mb)
  R[$s,rssanon]=$(echo "$line" | field anon_mb)
  R[$s,rssfile]=$(echo "$line" | field file_mb)
  for i in $(seq 1 205); do
    curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"title\":\"bench $i\"}" "$base/session"
  done
  line=$($LOAD hit -url "$base/session" -c "$C" -n "$N" -pid "$PID")
  R[$s,rps205]=$(echo "$line" | field rps)
  R[$s,p50_205]=$(echo "$line" | field p50_ms)
  R[$s,srvcpu205]=$(echo "$line" | field srv_cpu_us)
  R[$s,gencpu205]=$(echo "$line" | field gen_cpu_us)
  stop_bg

  echo "== $s: 10,000 sessions" >&2
  if [ "$s" = ocgo ]; then
    info=$(find "$RUN/ocgo-data" -type d -path '*/storage/session/info' | head -1)
  else
    info=$(find "$RUN/orig-home/.local/share/opencode/project" -type d -path '*/storage/session/info' | head -1)
  fi
  [ -n "$info" ] || { echo "no session/info folder for $s" >&2; exit 1; }
  $LOAD seed -dir "$info" -n $((10000 - 205)) >/dev/null
  count=$(ls "$info" | wc -l)
  start_bg "$s"
  line=$($LOAD hit -url "$base/session" -c 1 -n 20 -warm 1)
  R[$s,first10k]=$(echo "$line" | field first_ms)
  R[$s,p50_10k]=$(echo "$line" | field p50_ms)
  listed=$(curl -fs "$base/session" | grep -o '"id":"ses_' | wc -l)
  [ "$listed" = "$count" ] || echo "warning: $s lists $listed of $count sessions" >&2
  n10k=$N
  [ "$s" = orig ] && n10k=$((N / 10))
  line=$($LOAD hit -url "$base/session" -c "$C" -n "$n10k")
  R[$s,rps10k]=$(echo "$line" | field rps)
  R[$s,rss10k]=$($LOAD rss -pid "$PID" | field rss_mb)
  stop_bg
done

# Snapshots: ocgo's snapshot package and the original's git commands on the
# same tree, in one `go test -bench` run (the benchmarks build the tree).
if [ "$SNAP" != 0 ]; then
  echo "== snapshots: $SNAP_RUNS runs per row (builds an 11.5k-file git tree first)" >&2
  snapout=$(go test -run '^$' -bench 'FirstSnapshotGitProject$|Track3FilesWatcherFed$' -benchtime "${SNAP_RUNS}x" ./snapshot/ 2>&1) ||
    { echo "$snapout" >&2; exit 1; }
  metric() { # benchmark unit
    echo "$snapout" | awk -v b="$1" -v u="$2" '$1 ~ "^Benchmark" b "(-[0-9]+)?$" { for (i = 2; i <= NF; i++) if ($i == u) print $(i-1) }'
  }
  R[ocgo,snapfirst]=$(metric FirstSnapshotGitProject ms/op)
  R[orig,snapfirst]=$(metric FirstSnapshotGitProject cli-ms/op)
  R[ocgo,snap3]=$(metric Track3FilesWatcherFed ms/op)
  R[orig,snap3]=$(metric Track3FilesWatcherFed cli-ms/op)
  SNAP_FILES=$(metric FirstSnapshotGitProject files)
fi

row() { # label metric unit better(lower|higher)
  local o=${R[orig,$2]:-} g=${R[ocgo,$2]:-} ratio="-"
  if [ -n "$o" ] && [ -n "$g" ]; then
    if [ "$4" = lower ]; then ratio=$(awk -v o="$o" -v g="$g" 'BEGIN{ if (g>0) printf "%.1fx less", o/g; else print "-" }')
    else ratio=$(awk -v o="$o" -v g="$g" 'BEGIN{ if (o>0) printf "%.1fx more", g/o; else print "-" }'); fi
  fi
  printf '| %-56s | %12s | %12s | %14s |\n' "$1 ($3)" "${o:--}" "${g:--}" "$ratio"
}
echo
echo "ocgo vs opencode 0.5.29 on loopback ($(nproc) cores, $C clients, $(date -u '+%F %H:%M UTC'))"
echo "load average (1 min) at the start $LOAD_START, at the end $(cut -d' ' -f1 /proc/loadavg); ocgo binary $(awk -v b="$(stat -c %s "$OUT/ocgo")" 'BEGIN{printf "%.1f", b/1e6}') MB"
printf '| %-56s | %12s | %12s | %14s |\n' metric original ocgo "ocgo vs orig"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..58})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..16})"
row "cold start to first GET /app, median of $RUNS" start ms lower
row "idle RSS after start + a few requests" rss MB lower
row "  of which anonymous (heap, stacks, runtime)" rssanon MB lower
row "  of which file-backed (mostly the binary)" rssfile MB lower
row "GET /session throughput, 205 sessions" rps205 'req/s' higher
row "GET /session p50 under load, 205 sessions" p50_205 ms lower
row "  server CPU per request under that load" srvcpu205 us lower
row "  load generator CPU per request (same tool)" gencpu205 us lower
row "GET /session throughput, 10,000 sessions" rps10k 'req/s' higher
row "GET /session, 10k, first after restart" first10k ms lower
row "GET /session, 10k, one request (p50 of 20)" p50_10k ms lower
row "RSS after the 10k load" rss10k MB lower
if [ "$SNAP" != 0 ]; then
  row "first snapshot, ${SNAP_FILES:-?}-file git project, mean of $SNAP_RUNS" snapfirst ms lower
  row "snapshot after a 3-file edit, mean of $SNAP_RUNS" snap3 ms lower
  echo "snapshot rows: the original's column is its own git commands (init with GIT_DIR and GIT_WORK_TREE, then"
  echo "git --git-dir G add . && git --git-dir G write-tree) on the same tree: a copy of $(go env GOVERSION)'s src, committed;"
  echo "its first-snapshot figure is one run, the 3-file edit the median of 5; ocgo's 3-file edit is watcher-fed (MarkChanged)"
fi
