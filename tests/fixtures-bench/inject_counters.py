#!/usr/bin/env python3
"""inject_counters.py RECORDED.json OUT.json [VARIANT:COUNTER=FACTOR ...]

The host these fixtures were recorded on has no PMU (perf_event_open of
hardware events fails with ENOENT), so the hardware counters of the forensics
fixtures are added here to real `pgo-sandbox bench --counters` recordings:
every measured run gets the counts of a nominal 3 ms run (its wall time would
carry the recording's noise into the instruction count) with the ratios of a
typical x86-64 interpreter loop (2.9 GHz, IPC 2.1, 20 % branches, 0.9 %
of them mispredicted...), a fixed-seed 0.5 % jitter, and then the given
factors for the given variant index ("1:cycles=1.09" makes variant 1 spend
9 % more cycles for the same instructions).  Everything else in the file
(software counters, times, conditions, analysis) is as recorded, except the
"counters" condition, which says the counts were injected.
"""
import json
import random
import sys

RATIOS = {
    "instructions": 2.1,            # per cycle
    "branches": 0.20,               # per instruction
    "branch-misses": 0.009,         # per branch
    "cache-references": 0.02,       # per instruction
    "cache-misses": 0.08,           # per cache reference
    "L1-dcache-load-misses": 0.012, # per instruction
    "dTLB-load-misses": 0.0003,     # per instruction
}


def counts(wall_s, rng):
    j = lambda: 1.0 + rng.uniform(-0.005, 0.005)
    c = {"cycles": wall_s * 2.9e9 * j()}
    c["instructions"] = c["cycles"] * RATIOS["instructions"] * j()
    c["branches"] = c["instructions"] * RATIOS["branches"] * j()
    c["branch-misses"] = c["branches"] * RATIOS["branch-misses"] * j()
    c["cache-references"] = c["instructions"] * RATIOS["cache-references"] * j()
    c["cache-misses"] = c["cache-references"] * RATIOS["cache-misses"] * j()
    c["L1-dcache-load-misses"] = c["instructions"] * RATIOS["L1-dcache-load-misses"] * j()
    c["dTLB-load-misses"] = c["instructions"] * RATIOS["dTLB-load-misses"] * j()
    return c


def main():
    src, dst, *specs = sys.argv[1:]
    factors = {}
    for spec in specs:
        variant, rest = spec.split(":", 1)
        name, value = rest.split("=", 1)
        factors.setdefault(int(variant), {})[name] = float(value)
    doc = json.load(open(src))
    rng = random.Random(20240601)
    for run in doc["runs"]:
        if run["warmup"]:
            continue
        base = counts(0.003, rng)
        for name, f in factors.get(run["variant"], {}).items():
            base[name] *= f
        merged = dict(run["counters"] or {})
        merged.update({k: int(round(v)) for k, v in base.items()})
        run["counters"] = merged
        run["counters_running"] = 1.0
    doc["conditions"]["counters"] = ("available (hardware counts injected by "
                                     "tests/fixtures-bench/inject_counters.py)")
    json.dump(doc, open(dst, "w"), indent=2, sort_keys=True)
    open(dst, "a").write("\n")


if __name__ == "__main__":
    main()
