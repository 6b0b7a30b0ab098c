#!/bin/sh
# The allocator's 2x2 knob matrix as a throughput benchmark: KNOB_X and
# KNOB_Y (0 or 1) scale the throughput it reports by GAIN_X and GAIN_Y
# (percent, default +3 and +2), so a test can plant each outcome.
x=${KNOB_X:-0}; y=${KNOB_Y:-0}
gx=${GAIN_X:-3}; gy=${GAIN_Y:-2}
scale=$(awk -v x="$x" -v y="$y" -v gx="$gx" -v gy="$gy" \
	'BEGIN { printf "%.6f", (1 + x * gx / 100) * (1 + y * gy / 100) }')
THROUGHPUT_SCALE=$scale exec "$(dirname "$0")/throughput.sh"
