#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan+UBSan) and run each for
# SECONDS (default 20; `make fuzz FUZZ_SECONDS=600` for a longer run):
#   fuzz_cli     `pgo-sandbox run` argument parsing and value parsers
#   fuzz_config  profile and pipeline INI files (runner/pipeline/config_*.c)
# FUZZ_OUT (default build/fuzz) holds binaries, corpora and logs.
# Prints "fuzz: N passed, N failed" (one count per target) as its last line.
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-20}
out=${FUZZ_OUT:-build/fuzz}
# includes name their folder below runner/, as in the Makefile
cflags="-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -iquote runner
	-DPGO_VERSION=\"fuzz\" -DPGO_COMMIT=\"fuzz\" -DPGO_SOURCE_DATE_EPOCH=\"0\""
passed=0
failed=0

# fuzz_one NAME MAX_LEN SOURCES... -- LIBS...
fuzz_one() {
	local name=$1 max_len=$2
	shift 2
	local srcs=() libs=()
	while [ "$1" != "--" ]; do srcs+=("$1"); shift; done
	shift
	libs=("$@")
	# shellcheck disable=SC2086
	if ! clang $cflags "${srcs[@]}" -o "$out/$name" "${libs[@]}"; then
		echo "fuzz: $name: build failed"
		failed=$((failed + 1))
		return
	fi
	if "$out/$name" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 \
		-artifact_prefix="$out/$name-" "$out/corpus_$name" >"$out/$name.log" 2>&1; then
		echo "fuzz: $name: $(grep -E 'stat::number_of_executed_units' "$out/$name.log")"
		passed=$((passed + 1))
	else
		tail -40 "$out/$name.log"
		echo "fuzz: $name: FAILED (log: $out/$name.log)"
		failed=$((failed + 1))
	fi
}

mkdir -p "$out/corpus_fuzz_cli" "$out/corpus_fuzz_config"
cp -n tests/fuzz/corpus/* "$out/corpus_fuzz_cli/" 2>/dev/null
# config seeds: the shipped profiles, inputs that once failed, and a small
# pipeline
cp -n profiles/*.ini tests/fuzz/corpus-config/* "$out/corpus_fuzz_config/" 2>/dev/null
printf '%s\n' '[pipeline]' 'name = seed' 'source = src' 'source-date-epoch = 1' \
	'[stage build]' 'profile = base' 'inputs = source' 'command = make' '  make check' \
	'outputs = a b/c' '[stage run]' 'profile = base' 'inputs = build' 'command = ./a' \
	'shards = 2' 'env = K=V' '[release]' 'env = X=1' >"$out/corpus_fuzz_config/pipeline.ini"

# a runner module's source, wherever its folder
src() {
	find runner -name "$1.c" | head -1
}
core="$(src util) $(src report) $(src spec) $(src privileges)"
fuzz_one fuzz_cli 512 tests/fuzz/fuzz_cli.c $core $(src run_options) $(src options) $(src environment) \
	$(src strv) $(src mount_plan) $(src string_table) -- -lcap
# config checks `compiler = NAME` against the toolchain table
toolchains="$(src toolchains) $(src toolchain_gcc) $(src toolchain_clang) $(src toolchain_rustc)
	$(src pgo) $(src profile_objects) $(src tool_cache) $(src digest) $(src json_file) $(src strbuf)
	$(src environment) $(src shellwords) $(src strv) $(src bytes_json)"
fuzz_one fuzz_config 4096 tests/fuzz/fuzz_config.c $core $(src config_ini) $(src config_profile) \
	$(src config_pipeline) $toolchains -- \
	$(pkg-config --libs inih jansson nettle) -lcap

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
