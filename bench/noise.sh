#!/bin/bash
# noise.sh - run-to-run noise of `pgo-sandbox bench` against hyperfine on the
# same binary, in the same session, idle and with a CPU-bound neighbour; and
# the per-run cost of the bench beyond a bare sandbox start.
#
#   bench/noise.sh [PGO_SANDBOX] [RUNS]
#
# Workload: the fixture benchmark fixtures/minilang/bench/fib_full_check_flow.ml
# run by minilang built with cc -O2.  Both tools get RUNS measured runs after 3
# warm-ups.  hyperfine runs the binary directly (-N, no shell), unpinned;
# pgo-sandbox runs each in a fresh sandbox pinned to one CPU with ASLR off and
# a fixed environment.  The neighbour is one unpinned `while :; do :; done`.
# CV = sample stdev / mean of the wall times (for pgo-sandbox also of the CPU
# time, which the bench analyses as well).  Nothing is asserted: the numbers
# are printed, for docs/bench.md.
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-build/pgo-sandbox}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
RUNS=${2:-30}
command -v hyperfine >/dev/null || { echo "noise.sh: hyperfine is not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/pgo-noise.XXXXXX)
neighbour=""
cleanup() {
	[ -n "$neighbour" ] && kill "$neighbour" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
cc -O2 -o "$work/minilang" fixtures/minilang/src/*.c -lm
cp fixtures/minilang/bench/fib_full_check_flow.ml "$work/"
chmod 755 "$work"/*
cd "$work"

cv_hyperfine() {
	python3 -c 'import json,statistics as s,sys; t=json.load(open(sys.argv[1]))["results"][0]["times"]; print("%.2f %.2f" % (100*s.stdev(t)/s.mean(t), 1000*s.median(t)))' "$1"
}
cv_bench() {
	python3 - "$1" <<'PY'
import json, statistics as s, sys
d = json.load(open(sys.argv[1]))
runs = [r for r in d["runs"] if not r["warmup"]]
w = [r["wall_s"] for r in runs]
c = [r["cpu_s"] for r in runs]
h = [r["harness_us"] for r in runs]
print("%.2f %.2f %.2f %.0f %s" % (100 * s.stdev(w) / s.mean(w), 1000 * s.median(w),
                                 100 * s.stdev(c) / s.mean(c), s.median(h), runs[0]["cpu_source"]))
PY
}

measure() {
	local label=$1
	hyperfine -N --style none --warmup 3 --runs "$RUNS" --export-json hf.json \
		"./minilang fib_full_check_flow.ml" >/dev/null
	"$BIN" bench --runs "$RUNS" --warmup 3 --max-runs "$RUNS" --json pb.json \
		-- ./minilang fib_full_check_flow.ml >/dev/null
	read -r hf_cv hf_med <<<"$(cv_hyperfine hf.json)"
	read -r pb_cv pb_med pb_cpu_cv pb_harness cpu_src <<<"$(cv_bench pb.json)"
	printf '%-10s hyperfine: CV %5.2f %% (median %6.1f ms)   pgo-sandbox: wall CV %5.2f %% (median %6.1f ms), cpu CV %5.2f %% (%s)   load %s\n' \
		"$label" "$hf_cv" "$hf_med" "$pb_cv" "$pb_med" "$pb_cpu_cv" "$cpu_src" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
}

echo "noise.sh: $RUNS runs of fib_full_check_flow.ml, $(nproc) CPUs, $(uname -r)"
measure idle
sh -c 'while :; do :; done' &
neighbour=$!
sleep 1
measure neighbour
kill "$neighbour"
wait "$neighbour" 2>/dev/null || true
neighbour=""

# Per-run cost: a bench of /bin/true against a bare `pgo-sandbox run -- true`.
hyperfine -N --style none --warmup 5 --runs 100 --export-json bare.json "$BIN run -- /bin/true" >/dev/null
n=100
t0=$(date +%s%N)
"$BIN" bench --runs $n --max-runs $n --warmup 0 --json true.json -- /bin/true >/dev/null
t1=$(date +%s%N)
python3 - bare.json true.json "$t0" "$t1" "$n" <<'PY'
import json, statistics as s, sys
bare = s.mean(json.load(open(sys.argv[1]))["results"][0]["times"])
d = json.load(open(sys.argv[2]))
n = len(d["runs"])
per_run = (int(sys.argv[4]) - int(sys.argv[3])) / 1e9 / n
h = s.median(r["harness_us"] for r in d["runs"])
print("per run:   bare 'pgo-sandbox run -- true' %.2f ms (a whole process: exec, parse, one sandbox);"
      " inside bench %.2f ms per run (%d runs, one process); bench bookkeeping per run"
      " (harness_us median) %.0f us" % (1000 * bare, 1000 * per_run, n, h))
PY
