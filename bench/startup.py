#!/usr/bin/env python3
"""Start-up cost of `pgo-sandbox run -- /bin/true` against plain exec, raw
`unshare` of the same namespaces and bubblewrap doing the equivalent
isolation.  Variants are interleaved in random order within each round so
machine drift falls on all of them alike; medians and ratios are printed.
With --against OLD_BINARY, OLD_BINARY's `run` is one more variant and the
paired per-round difference (new - old) is reported with its median and a
bootstrap 95 % interval: a refactoring must not make start-up slower.
Usage: bench/startup.py [BINARY] [ROUNDS] [--against OLD_BINARY]"""
import os
import random
import statistics
import subprocess
import sys
import time

args = sys.argv[1:]
old = None
if "--against" in args:
    i = args.index("--against")
    old = args[i + 1]
    del args[i:i + 2]
binary = args[0] if len(args) > 0 else "build/pgo-sandbox"
rounds = int(args[1]) if len(args) > 1 else 200

variants = {
    "plain exec": ["/bin/true"],
    "unshare (mnt,pid,ipc,uts,net)": ["unshare", "--mount", "--pid", "--fork", "--ipc",
                                      "--uts", "--net", "/bin/true"],
    "bwrap --unshare-all": ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
                            "--clearenv", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr",
                            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                            "--symlink", "usr/lib64", "/lib64", "--proc", "/proc",
                            "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"],
    "pgo-sandbox run": [binary, "run", "--", "/bin/true"],
}
if old:
    variants["pgo-sandbox run (old)"] = [old, "run", "--", "/bin/true"]

samples = {name: [] for name in variants}
rng = random.Random(20261124)
for name, cmd in variants.items():   # warm up, and fail loudly if one is broken
    subprocess.run(cmd, check=True)
for _ in range(rounds):
    order = list(variants.items())
    rng.shuffle(order)
    for name, cmd in order:
        t0 = time.perf_counter_ns()
        subprocess.run(cmd, check=True)
        samples[name].append((time.perf_counter_ns() - t0) / 1e6)
paired = {name: list(xs) for name, xs in samples.items()}

base = statistics.median(samples["plain exec"])
bwrap = statistics.median(samples["bwrap --unshare-all"])
print(f"start-up of /bin/true, {rounds} interleaved rounds (medians, ms):")
for name, xs in samples.items():
    xs.sort()
    med = statistics.median(xs)
    q1, q3 = xs[len(xs) // 4], xs[3 * len(xs) // 4]
    print(f"  {name:32s} {med:7.2f} ms  (IQR {q1:.2f}-{q3:.2f})  "
          f"x{med / base:4.1f} plain  x{med / bwrap:4.2f} bwrap")
ours = statistics.median(samples["pgo-sandbox run"])
print(f"target: pgo-sandbox <= bwrap: {'met' if ours <= bwrap else 'NOT met'} "
      f"({ours:.2f} vs {bwrap:.2f} ms)")
if old:
    new_s, old_s = samples["pgo-sandbox run"], samples["pgo-sandbox run (old)"]
    # samples were sorted above: pair again from the unsorted rounds
    diffs = [a - b for a, b in zip(paired["pgo-sandbox run"], paired["pgo-sandbox run (old)"])]
    med = statistics.median(diffs)
    boot = sorted(statistics.median(rng.choices(diffs, k=len(diffs))) for _ in range(2000))
    lo, hi = boot[50], boot[1949]
    print(f"new - old, paired per round: median {med:+.3f} ms, 95% CI [{lo:+.3f}, {hi:+.3f}] ms "
          f"({med / statistics.median(old_s) * 100:+.1f} % of old's {statistics.median(old_s):.2f} ms)")
    print("start-up: " + ("no slowdown detected (the interval reaches zero or below)" if lo <= 0
                          else "SLOWER than the old binary (the whole interval is above zero)"))
