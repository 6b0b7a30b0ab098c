#!/usr/bin/env python3
"""bench/sweep-table.py RESULT.json [METRIC...] - one Markdown table of a
multi-variant `pgo-sandbox bench` result (bench/bolt-sweep.sh,
bench/techniques.sh): a row per candidate, a column per benchmark, each
cell the change against the first variant with its interval and verdict
(`+3.1 % [+0.4, +5.9] slower`).  METRIC defaults to wall and cpu (and
est-cycles when the result has it).  Also prints the model/clock alarms."""
import json
import sys


def cell(c):
    if c is None:
        return "-"

    def pct(v):  # null: no finite bound (an unbounded interval)
        return "inf" if v is None else f"{v:+.1f}"
    return (f"{pct(c['estimate_pct'])} % [{pct(c['ci_low_pct'])}, {pct(c['ci_high_pct'])}] "
            f"{c['verdict']}")


def table(d, metric):
    names = [v["name"] for v in d["variants"]]
    benches = [b["name"] for b in d["benchmarks"]]
    by = {}
    for c in d["analysis"]["comparisons"]:
        if c["metric"] == metric and c["kind"] == "ab" and c["baseline"] == 0:
            by[(c["candidate"], c["benchmark"])] = c
    if not by:
        return
    print(f"\n{metric}: change against `{names[0]}` (95 % interval, verdict)\n")
    print("| variant | " + " | ".join(benches) + " |")
    print("|---|" + "---|" * len(benches))
    for i, name in enumerate(names[1:], start=1):
        print(f"| {name} | " + " | ".join(cell(by.get((i, b))) for b in range(len(benches)))
              + " |")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bench/sweep-table.py RESULT.json [METRIC...]")
    with open(sys.argv[1]) as f:
        d = json.load(f)
    metrics = sys.argv[2:] or ["wall", "cpu", "est-cycles"]
    for m in metrics:
        table(d, m)
    for a in d["analysis"].get("model_clock_alarms") or []:
        print(f"\nalarm: {json.dumps(a)}")


if __name__ == "__main__":
    main()
