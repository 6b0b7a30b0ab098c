#!/usr/bin/env bash
# Build the libFuzzer target with clang (ASan+UBSan) and run it for
# SECONDS (default 20; `make fuzz FUZZ_SECONDS=600` for a longer run).
# Prints "fuzz: 1 passed, 0 failed" or the crash and "fuzz: 0 passed, 1 failed".
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-20}
out=build/fuzz
mkdir -p "$out/corpus"
cp -n tests/fuzz/corpus/* "$out/corpus/" 2>/dev/null
srcs="runner/util.c runner/report.c runner/spec.c runner/cli.c runner/environment.c runner/privileges.c"
if ! clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Irunner \
	-DPGO_VERSION='"fuzz"' -DPGO_COMMIT='"fuzz"' -DPGO_SOURCE_DATE_EPOCH='"0"' \
	tests/fuzz/fuzz_cli.c $srcs -o "$out/fuzz_cli" -lcap; then
	echo "fuzz: 0 passed, 1 failed (build)"
	exit 1
fi
if "$out/fuzz_cli" -max_total_time="$seconds" -max_len=512 -print_final_stats=1 \
	"$out/corpus" >"$out/fuzz.log" 2>&1; then
	grep -E 'stat::number_of_executed_units' "$out/fuzz.log"
	echo "fuzz: 1 passed, 0 failed"
else
	tail -40 "$out/fuzz.log"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
