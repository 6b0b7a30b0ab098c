#!/bin/sh
# A benchmark that reports its own throughput, as the allocator team's
# does: "... = 53.81 M ops/s" (higher is better), measured inside the
# process.  The knobs change the number it reports: THROUGHPUT_BASE (M ops/s,
# default 50) scaled by THROUGHPUT_SCALE (default 1), with +/-0.5 % noise.
base=${THROUGHPUT_BASE:-50}
scale=${THROUGHPUT_SCALE:-1}
noise=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
awk -v b="$base" -v s="$scale" -v n="$noise" 'BEGIN {
	v = b * s * (1 + (n / 65535 - 0.5) * 0.01)
	printf "setup done\nalloc-bench: throughput = %.2f M ops/s\n", v
}'
