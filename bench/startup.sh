#!/bin/sh
# `make bench`: the benchmarks (never timed assertions in the test suite).
# Longer measurements, run by hand: bench/noise.sh (CV against hyperfine),
# bench/gate-quality.sh (A/A false alarms, smallest slowdown detected) and
# bench/verdicts.py (interval width and detections against hyperfine+Welch,
# quiet and under a drifting neighbour; ~12 min).
set -e
cd "$(dirname "$0")/.."
python3 bench/startup.py build/pgo-sandbox "${ROUNDS:-200}"
sh bench/pack.sh
sh bench/pipeline.sh
