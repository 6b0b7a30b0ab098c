#!/bin/sh
# `make bench`: the benchmarks (never timed assertions in the test suite).
# Longer measurements, run by hand: bench/noise.sh (CV against hyperfine)
# and bench/gate-quality.sh (A/A false alarms, smallest slowdown detected).
set -e
cd "$(dirname "$0")/.."
python3 bench/startup.py build/pgo-sandbox "${ROUNDS:-200}"
sh bench/pack.sh
sh bench/pipeline.sh
