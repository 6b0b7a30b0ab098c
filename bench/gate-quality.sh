#!/bin/bash
# gate-quality.sh - how good is the bench gate on this machine?
#
#   bench/gate-quality.sh [PGO_SANDBOX] [AA_TRIALS] [TRIALS_PER_SLOWDOWN]
#
# Method (docs/bench.md, "Quality of the gate"): the fixture interpreter
# (minilang, cc -O2) runs a program doing N calls of fib(15) (~25 ms).
#  - False alarms: AA_TRIALS (default 30) A/A comparisons, the same command
#    as baseline and candidate, 10 blocks each (--runs 20 --max-runs 20: no
#    extension), default threshold (2 %).  A false alarm is a "slower"
#    verdict (what fails --fail-on-regression 0); "faster" is counted too.
#  - Sensitivity: for candidates doing 1, 2, 3, 5 and 10 % more calls,
#    TRIALS_PER_SLOWDOWN (default 10) comparisons of 10 blocks each; the
#    detection rate is the share of "slower" verdicts.  The smallest
#    slowdown detected is the smallest one caught in at least 90 % of trials.
#  Both analysed metrics are reported from the same trials: wall time (the
#  default gate metric) and CPU time (--metric cpu).
# Both idle and with one CPU-bound neighbour (`while :; do :; done`).
# "Idle" is whatever else the machine runs: the load average is printed.
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-build/pgo-sandbox}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
AA=${2:-30}
PER=${3:-10}

work=$(mktemp -d /tmp/pgo-gate.XXXXXX)
neighbour=""
cleanup() {
	[ -n "$neighbour" ] && kill "$neighbour" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
cc -O2 -o "$work/minilang" fixtures/minilang/src/*.c -lm
for pct in 0 1 2 3 5 10; do
	n=$((400 + 4 * pct))
	cat >"$work/calls$pct.ml" <<ML
fn fib(n) {
	if (n < 2) return n;
	return fib(n - 1) + fib(n - 2);
}
let total = 0;
for (let i = 0; i < $n; i += 1) {
	total += fib(15);
}
print(total);
ML
done
chmod 755 "$work"/*

trials() {
	python3 - "$BIN" "$work" "$AA" "$PER" "$1" <<'PY'
import json, os, statistics, subprocess, sys
binary, work, aa, per, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
METRICS = ("wall", "cpu")

def trial(pct, seed):
    """{metric: (verdict, estimate)} of one 10-block comparison, and the CPU."""
    out = os.path.join(work, "r.json")
    subprocess.run([binary, "bench", "--runs", "20", "--max-runs", "20", "--warmup", "1",
                    "--seed", str(seed), "--json", out,
                    "--variant", "a=./minilang calls0.ml",
                    "--variant", f"b=./minilang calls{pct}.ml"],
                   cwd=work, check=True, capture_output=True)
    doc = json.load(open(out))
    res = {c["metric"]: (c["verdict"], c["estimate_pct"]) for c in doc["analysis"]["comparisons"]}
    return res, doc["conditions"]["cpus"]

load = " ".join(open("/proc/loadavg").read().split()[:3])
runs = [trial(0, 1000 + i) for i in range(aa)]
cpus = ",".join(sorted({c for _, c in runs}))
print(f"{label}: load {load}, bench CPU {cpus}")
for m in METRICS:
    v = [r[m][0] for r, _ in runs]
    n = {k: v.count(k) for k in ("slower", "faster", "no-change", "inconclusive")}
    print(f"{label} [{m}]: A/A x{aa}: {n['slower']} slower (false-alarm rate "
          f"{100.0 * n['slower'] / aa:.1f} %), {n['faster']} faster, {n['no-change']} no-change, "
          f"{n['inconclusive']} inconclusive")
smallest = {m: None for m in METRICS}
for pct in (1, 2, 3, 5, 10):
    res = [trial(pct, 2000 + 100 * pct + i)[0] for i in range(per)]
    line = []
    for m in METRICS:
        hit = sum(1 for r in res if r[m][0] == "slower")
        est = statistics.median(r[m][1] for r in res if r[m][1] is not None)
        line.append(f"[{m}] detected {hit}/{per}, median estimate {est:+.2f} %")
        if smallest[m] is None and hit >= 0.9 * per:
            smallest[m] = pct
    print(f"{label}: +{pct} % calls: " + "; ".join(line))
for m in METRICS:
    print(f"{label} [{m}]: smallest slowdown detected in >= 90 % of trials with 10 blocks: "
          + (f"+{smallest[m]} % more calls" if smallest[m] else "none up to +10 %"))
PY
}

echo "gate-quality.sh: $(nproc) CPUs, $(uname -r), $AA A/A trials, $PER trials per slowdown"
trials idle
sh -c 'while :; do :; done' &
neighbour=$!
sleep 1
trials neighbour
