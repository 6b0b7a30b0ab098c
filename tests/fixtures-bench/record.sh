#!/bin/bash
# record.sh [PGO_SANDBOX] - re-record the forensics fixtures of this directory.
#
# nocounters.json and callgrind.json are real recordings of this host
# (bench --counters on a host without a PMU; bench --callgrind of two
# programs, the candidate doing fib(18) on top of fib(23)).  The hardware
# counts of layout-*.json, branch.json and data.json are injected into real
# recordings by inject_counters.py (see its header): the host these were made
# on has no PMU.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$here/../../build/pgo-sandbox}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
work=$(mktemp -d /tmp/pgo-fixtures.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
cc -O2 -o "$work/minilang" "$here"/../../fixtures/minilang/src/*.c -lm
body='fn fib(n) {
	if (n < 2) return n;
	return fib(n - 1) + fib(n - 2);
}
let total = 0;
for (let r = 0; r < scale(); r += 1) {
	total += fib(23);'
printf '%s\n}\nprint(total);\n' "$body" >"$work/fib.ml"
printf '%s\n\ttotal += fib(18);\n}\nprint(total);\n' "$body" >"$work/fib2.ml"
chmod 755 "$work"/*
cd "$work"
b="--runs 6 --warmup 0 --benchmark fib_full_check_flow=fib"
"$BIN" bench $b --seed 11 --counters --json rec-a.json -- ./minilang fib.ml >/dev/null
"$BIN" bench $b --seed 12 --counters --json rec-b.json -- ./minilang fib.ml >/dev/null
"$BIN" bench $b --seed 13 --counters --json rec-two.json \
	--variant baseline='./minilang {bench}.ml' --variant candidate='./minilang {bench}.ml' >/dev/null
"$BIN" bench $b --seed 14 --counters --json nocounters.json -- ./minilang fib.ml >/dev/null
"$BIN" bench $b --seed 15 --callgrind --metric instructions --json callgrind.json \
	--variant baseline='./minilang fib.ml' --variant candidate='./minilang fib2.ml' >/dev/null
inject="python3 $here/inject_counters.py"
$inject rec-a.json "$here/layout-a.json"
$inject rec-b.json "$here/layout-b.json" 0:cycles=1.09
$inject rec-two.json "$here/branch.json" 1:branch-misses=1.35
$inject rec-two.json "$here/data.json" 1:dTLB-load-misses=1.4 1:L1-dcache-load-misses=1.15 1:cycles=1.01
for f in nocounters callgrind; do
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); json.dump(d, open(sys.argv[2], "w"), indent=2, sort_keys=True); open(sys.argv[2], "a").write("\n")' \
		"$f.json" "$here/$f.json"
done
echo "record.sh: fixtures written to $here"
