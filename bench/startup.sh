#!/bin/sh
# `make bench`: the benchmarks (never timed assertions in the test suite).
set -e
cd "$(dirname "$0")/.."
python3 bench/startup.py build/pgo-sandbox "${ROUNDS:-200}"
if [ -f bench/pack.sh ]; then
	sh bench/pack.sh
fi
