#!/bin/sh
# An allocator benchmark that reports two metrics itself, as mimalloc-bench
# does: "throughput = 50.00 M ops/s" (higher is better) and "peak memory =
# 100.0 MiB" (lower is better).  OPS_SCALE and MEM_SCALE (default 1) scale
# them, except for the benchmark named in UNCHANGED ($1 is the benchmark),
# each with +/-0.5 % noise, so a test can plant a gain on one metric and a
# loss on the other, or on some benchmarks only.
bench=${1:-default}
ops=${OPS_SCALE:-1}
mem=${MEM_SCALE:-1}
if [ "$bench" = "${UNCHANGED:-}" ]; then
	ops=1
	mem=1
fi
set -- $(od -An -N4 -tu2 /dev/urandom)
awk -v o="$ops" -v m="$mem" -v n1="$1" -v n2="$2" 'BEGIN {
	printf "throughput = %.2f M ops/s\n", 50 * o * (1 + (n1 / 65535 - 0.5) * 0.01)
	printf "peak memory = %.1f MiB\n", 100 * m * (1 + (n2 / 65535 - 0.5) * 0.01)
}'
