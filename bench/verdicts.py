#!/usr/bin/env python3
"""verdicts.py - how sharp are bench's intervals for a fixed budget, against
hyperfine with a Welch interval?  (issue 25; docs/bench.md "Sharper
verdicts: measured")

    python3 bench/verdicts.py [--reps 10] [--runs 20] [--ms 30]
                              [--conditions quiet,drift] [--deltas 0,2,5]
                              LABEL=PGO_SANDBOX [LABEL=PGO_SANDBOX ...]

Workload: a C loop (cc -O1, a volatile counter) of about --ms milliseconds;
the candidate runs the same loop doing 0, 2 or 5 % more iterations.  Per
condition, delta and repetition (interleaved, in that order, so that every
tool sees the same moment of the machine):

  * hyperfine -N --runs RUNS --warmup 1 --export-json, both commands in one
    call (hyperfine runs all of A, then all of B); the Welch 95 % interval
    of mean(B) - mean(A) on its exported times, in % of mean(A) (the t
    quantile from the Cornish-Fisher expansion, below);
  * every given pgo-sandbox: bench --runs RUNS --max-runs RUNS (no
    extension) --warmup 1; its own 95 % interval (ci_low_pct, ci_high_pct)
    of the wall-time comparison and its method.

"Detected" means the interval lies above 0 (the change is real, whatever
its size); a "false alarm" (delta 0) means it excludes 0.  Width is
ci_high - ci_low in percentage points; the table gives the median.
Conditions: quiet (nothing of ours running; the load average is printed,
because others may be) and drift (a neighbour process busy for 3 s, idle
for 3 s, unpinned).  Default: 2 conditions x 3 deltas x 10 repetitions of
40 runs per tool, about 12 minutes with one pgo-sandbox on this VM.
Nothing here is asserted: it prints what the machine gave."""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

LOOP_C = r"""
#include <stdlib.h>
int main(int argc, char **argv)
{
	volatile unsigned long x = 0;
	long n = argc > 1 ? atol(argv[1]) : 1000000L;
	for (long i = 0; i < n; i++)
		x += (unsigned long)i;
	return 0;
}
"""

NEIGHBOUR = """
import time
while True:
    t = time.monotonic()
    while time.monotonic() - t < 3.0:
        pass
    time.sleep(3.0)
"""


def norm_quantile(p):
    """Inverse normal CDF by bisection on erfc (plenty for 0.975)."""
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def t_quantile(p, df):
    """Student t quantile, Cornish-Fisher expansion in 1/df (error < 1e-3
    for df >= 5, e.g. 2.0930 for t(0.975, 19) against 2.0930)."""
    z = norm_quantile(p)
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


def welch(a, b, confidence=0.95):
    """Welch interval of mean(b) - mean(a), in % of mean(a)."""
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    t = t_quantile(1 - (1 - confidence) / 2, df)
    d = mb - ma
    return 100 * d / ma, 100 * (d - t * se) / ma, 100 * (d + t * se) / ma


def calibrate(work, ms):
    """Iterations of the loop for about `ms` milliseconds."""
    n = 10_000_000
    t0 = time.monotonic()
    subprocess.run([os.path.join(work, "loop"), str(n)], check=True)
    dt = time.monotonic() - t0
    return max(1_000_000, int(n * (ms / 1000.0) / max(dt, 1e-3)))


def hyperfine_trial(work, runs, n0, n1):
    out = os.path.join(work, "h.json")
    subprocess.run(["hyperfine", "-N", "--runs", str(runs), "--warmup", "1", "--style", "none",
                    "--export-json", out, f"./loop {n0}", f"./loop {n1}"],
                   cwd=work, check=True, capture_output=True)
    with open(out) as f:
        res = json.load(f)["results"]
    return welch(res[0]["times"], res[1]["times"])


def bench_trial(binary, work, runs, n0, n1, seed):
    out = os.path.join(work, "b.json")
    subprocess.run([binary, "bench", "--runs", str(runs), "--max-runs", str(runs),
                    "--warmup", "1", "--seed", str(seed), "--json", out,
                    "--variant", f"a=./loop {n0}", "--variant", f"b=./loop {n1}"],
                   cwd=work, check=False, capture_output=True)
    with open(out) as f:
        doc = json.load(f)
    (c,) = [c for c in doc["analysis"]["comparisons"]
            if c["metric"] == "wall" and c["kind"] == "ab"]
    lo = c["ci_low_pct"] if c["ci_low_pct"] is not None else -math.inf
    hi = c["ci_high_pct"] if c["ci_high_pct"] is not None else math.inf
    return c["estimate_pct"], lo, hi, c.get("method", "block-means")


def summarise(rows, delta):
    """detections (or false alarms at 0), median width, trials."""
    n = len(rows)
    if delta == 0:
        hits = sum(1 for _, lo, hi, *_ in rows if lo > 0 or hi < 0)
    else:
        hits = sum(1 for _, lo, _, *_ in rows if lo > 0)
    width = statistics.median(hi - lo for _, lo, hi, *_ in rows)
    return hits, n, width


def start_neighbour():
    return subprocess.Popen([sys.executable, "-c", NEIGHBOUR])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--ms", type=float, default=30.0)
    ap.add_argument("--conditions", default="quiet,drift")
    ap.add_argument("--deltas", default="0,2,5")
    ap.add_argument("tools", nargs="+", metavar="LABEL=PGO_SANDBOX")
    args = ap.parse_args()
    tools = []
    for t in args.tools:
        label, _, path = t.partition("=")
        tools.append((label, os.path.abspath(path)))
    if shutil.which("hyperfine") is None:
        sys.exit("verdicts.py: hyperfine is not installed")
    work = tempfile.mkdtemp(prefix="pgo-verdicts.")
    os.chmod(work, 0o755)
    neighbour = None
    try:
        with open(os.path.join(work, "loop.c"), "w") as f:
            f.write(LOOP_C)
        subprocess.run(["cc", "-O1", "-o", os.path.join(work, "loop"),
                        os.path.join(work, "loop.c")], check=True)
        os.chmod(os.path.join(work, "loop"), 0o755)
        n0 = calibrate(work, args.ms)
        deltas = [float(d) for d in args.deltas.split(",")]
        results = {}
        print(f"workload: ./loop {n0} (~{args.ms:.0f} ms), {args.runs} runs per variant, "
              f"{args.reps} repetitions", flush=True)
        for cond in args.conditions.split(","):
            if cond == "drift":
                neighbour = start_neighbour()
            load = " ".join(open("/proc/loadavg").read().split()[:3])
            print(f"[{cond}] load average {load}", flush=True)
            for delta in deltas:
                n1 = int(round(n0 * (1 + delta / 100)))
                for rep in range(args.reps):
                    key = (cond, delta)
                    h = hyperfine_trial(work, args.runs, n0, n1)
                    results.setdefault(key + ("hyperfine+Welch",), []).append(h + ("welch",))
                    line = f"  {cond} +{delta:g} % #{rep + 1}: hyperfine {h[0]:+.2f} " \
                           f"[{h[1]:+.2f}, {h[2]:+.2f}]"
                    for label, binary in tools:
                        b = bench_trial(binary, work, args.runs, n0, n1, 7000 + rep)
                        results.setdefault(key + (label,), []).append(b)
                        line += f"; {label} {b[0]:+.2f} [{b[1]:+.2f}, {b[2]:+.2f}] {b[3]}"
                    print(line, flush=True)
            if neighbour:
                neighbour.kill()
                neighbour.wait()
                neighbour = None
        print()
        names = ["hyperfine+Welch"] + [label for label, _ in tools]
        print("| condition | delta | " + " | ".join(names) + " |")
        print("|---|---|" + "---|" * len(names))
        for cond in args.conditions.split(","):
            for delta in deltas:
                cells = []
                for name in names:
                    hits, n, width = summarise(results[(cond, delta, name)], delta)
                    what = "false alarms" if delta == 0 else "detected"
                    cells.append(f"{what} {hits}/{n}, median width {width:.2f}")
                print(f"| {cond} | +{delta:g} % | " + " | ".join(cells) + " |")
    finally:
        if neighbour:
            neighbour.kill()
            neighbour.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
