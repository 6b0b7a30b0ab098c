#!/bin/bash
# bench/techniques.sh minilang-gcc|minilang-clang|monocheck-rustc OUT - the gain
# of each technique over plain PGO on a fixture, measured.
#
# Builds, with pgo-sandbox pipelines written into OUT/pipelines (one per
# technique, each the fixture's own stage commands), plain PGO + LTO (the
# reference), LTO only, and PGO + one technique: context-sensitive PGO
# (cs-* stages), function ordering (function-order = on), machine-function
# splitting (split-machine-functions = on), all three, and BOLT with the
# runner's default options (or BOLT_OPTIONS: the pipeline's bolt-options) —
# what the toolchain can do: gcc has no CS-PGO or temporal profile, rustc
# has only BOLT (the runner refuses the others, naming why).  Then one
# interleaved `pgo-sandbox bench` of every build against plain PGO (wall
# and CPU, RUNS runs, default 12), and, with CG_RUNS > 0, the same under
# cachegrind (est-cycles); BENCH=0 builds only, WALL=0 skips the wall
# bench.  Results: OUT/wall.{json,md,txt},
# OUT/est-cycles.{json,md,txt}.  clang is clang-19 (temporal profiles need
# clang >= 17).  A benchmark, never a test: the machine's load shows.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sandbox=${PGO_SANDBOX:-$root/${BUILD:-build}/pgo-sandbox}
runs=${RUNS:-12}
max_runs=${MAX_RUNS:-$runs}
cg_runs=${CG_RUNS:-0}

[ $# -eq 2 ] || {
	echo "usage: bench/techniques.sh minilang-gcc|minilang-clang|monocheck-rustc OUT" >&2
	exit 2
}
target=$1 out=$2
mkdir -p "$out/pipelines"
out=$(cd "$out" && pwd)

case $target in
minilang-gcc)
	compiler=gcc cc="" techniques="pgo lto mfs bolt"
	;;
minilang-clang)
	compiler=clang cc="cc = clang-19" techniques="pgo lto cs order mfs all bolt"
	;;
monocheck-rustc)
	compiler=rustc cc="" techniques="pgo lto bolt"
	;;
*)
	echo "bench/techniques.sh: unknown target '$target'" >&2
	exit 2
	;;
esac
fixture=${target%-*}
src=$root/fixtures/$fixture

# The fixture's stage commands.  $1: the binary's path under /build/in.
case $fixture in
minilang)
	bin=minilang
	compile='cd /src && $PGO_CC -std=c11 -O2 $PGO_LTO_FLAGS'
	train_cmd() {
		printf 'set -e\n\tcd /src\n\tfor f in $(pgo-shard train/*.ml); do %s "$f" >/dev/null; done' "$1"
	}
	build_cmd() {
		printf 'set -e\n\t%s $PGO_CFLAGS %s -o /build/out/minilang src/*.c -lm\n\t/build/out/minilang --selftest >/dev/null' \
			"$compile" "$1"
	}
	instrument_cmd="$compile \$PGO_GENERATE_FLAGS -o /build/out/minilang src/*.c -lm"
	release='[release]
env = MINILANG_GC_THRESHOLD=4M'
	benchmarks=${BENCHMARKS:-fib_full_check_flow,strings_full_check_flow,dict}
	bench_cmd() { echo "./$1/minilang bench/{bench}.ml"; }
	bench_env=(--setenv MINILANG_GC_THRESHOLD=4M)
	check_cmd='/build/out/minilang --selftest >/dev/null'
	;;
monocheck)
	bin=monocheck
	cargo='cargo build --release --offline --locked --target x86_64-unknown-linux-gnu'
	copy='cp /build/target/x86_64-unknown-linux-gnu/release/monocheck /build/out/monocheck'
	train_cmd() {
		printf 'set -e\n\tfor repo in $(pgo-shard /src/tests/fixtures/*); do %s check "$repo" >/dev/null || [ $? -eq 1 ]; done\n\tif [ "$PGO_SHARD" = 2 ]; then\n\t\t%s gen /tmp/mono-large --packages 2000 --seed 1 >/dev/null\n\t\t%s check /tmp/mono-large >/dev/null || [ $? -eq 1 ]\n\tfi' \
			"$1" "$1" "$1"
	}
	build_cmd() {
		printf 'set -e\n\tcd /src\n\tRUSTFLAGS="%s" %s\n\t%s\n\t/src/check.sh /build/out/monocheck >/dev/null' \
			"$1" "$cargo" "$copy"
	}
	instrument_cmd="set -e
	cd /src
	RUSTFLAGS=\"\$PGO_GENERATE_FLAGS\" $cargo
	$copy"
	release=""
	benchmarks=${BENCHMARKS:-small_full_check_flow,large_full_check_flow,tag_index_build}
	bench_cmd() { echo "./$1/monocheck bench --iters 60 {bench}"; }
	bench_env=()
	check_cmd='/src/check.sh /build/out/monocheck >/dev/null'
	;;
esac
# Every build keeps its relocations (they do not change .text), so that
# plain PGO and BOLT's input are the same code.
use_flags='$PGO_USE_FLAGS $PGO_BOLT_LDFLAGS'

# One pipeline per technique: instrument, train (2 shards), merge, the CS
# pass when asked, build; the pgo one also builds the LTO-only baseline,
# the bolt one adds the BOLT stages.
write_pipeline() { # NAME KEYS CS(0/1) BOLT(0/1)
	local name=$1 keys=$2 cs=$3 bolt=$4 build_in=merge
	{
		printf '# written by bench/techniques.sh\n[pipeline]\nname = %s-%s\nsource = %s\n' \
			"$target" "$name" "$src"
		printf 'compiler = %s\n%s\n%s\nartifacts = %s/artifacts/%s\nsource-date-epoch = 1700000000\n\n' \
			"$compiler" "$cc" "$keys" "$out" "$name"
		[ -z "$release" ] || printf '%s\n\n' "$release"
		printf '[stage instrument]\nprofile = build\ninputs = source\ncommand = %s\noutputs = %s\n\n' \
			"$instrument_cmd" "$bin"
		printf '[stage train]\nprofile = train\ninputs = instrument source\nshards = 2\ncommand = %s\noutputs = profile\n\n' \
			"$(train_cmd /build/in/instrument/$bin)"
		printf '[stage merge]\nprofile = merge\ninputs = train\ncommand = pgo-merge\noutputs = profile\n\n'
		if [ "$cs" = 1 ]; then
			build_in=cs-merge
			printf '[stage cs-instrument]\nprofile = build\ninputs = merge source\ncommand = %s\noutputs = %s\n\n' \
				"$instrument_cmd" "$bin"
			printf '[stage cs-train]\nprofile = train\ninputs = cs-instrument source\ncommand = %s\noutputs = profile\n\n' \
				"$(train_cmd /build/in/cs-instrument/$bin)"
			printf '[stage cs-merge]\nprofile = merge\ninputs = merge cs-train\ncommand = pgo-merge\noutputs = profile\n\n'
		fi
		printf '[stage build]\nprofile = build\ninputs = %s source\ncommand = %s\noutputs = %s\n\n' \
			"$build_in" "$(build_cmd "$use_flags")" "$bin"
		if [ "$name" = pgo ]; then
			printf '[stage baseline]\nprofile = build\ninputs = source\ncommand = %s\noutputs = %s\n\n' \
				"$(build_cmd '')" "$bin"
		fi
		if [ "$bolt" = 1 ]; then
			printf '[stage bolt-instrument]\nprofile = build\ninputs = build\ncommand = pgo-bolt-instrument /build/in/build/%s /build/out/%s\noutputs = %s\n\n' \
				"$bin" "$bin" "$bin"
			printf '[stage bolt-train]\nprofile = train\ninputs = bolt-instrument source\nshards = 2\ncommand = %s\noutputs = profile\n\n' \
				"$(train_cmd /build/in/bolt-instrument/$bin)"
			printf '[stage bolt]\nprofile = build\ninputs = build bolt-train source\ncommand = set -e\n\tpgo-bolt /build/in/build/%s /build/out/%s\n\t%s\noutputs = %s profile/merged.fdata\n' \
				"$bin" "$bin" "$check_cmd" "$bin"
		fi
	} >"$out/pipelines/$name.ini"
}

bolt_keys=""
[ -n "${BOLT_OPTIONS:-}" ] && bolt_keys="bolt-options = $BOLT_OPTIONS"
for t in $techniques; do
	case $t in
	pgo) write_pipeline pgo "" 0 0 ;;
	lto) ;;
	cs) write_pipeline cs "" 1 0 ;;
	order) write_pipeline order "function-order = on" 0 0 ;;
	mfs) write_pipeline mfs "split-machine-functions = on" 0 0 ;;
	all) write_pipeline all "function-order = on
split-machine-functions = on" 1 0 ;;
	bolt) write_pipeline bolt "$bolt_keys" 0 1 ;;
	esac
done

work=$(mktemp -d /var/tmp/pgo-techniques.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # the bench's commands run as an unprivileged user
variants=()
for t in $techniques; do
	[ "$t" = lto ] && continue
	echo "techniques: $t: pipeline $out/pipelines/$t.ini" >&2
	"$sandbox" pipeline --pipeline "$out/pipelines/$t.ini" >"$out/pipeline-$t.log" 2>&1 || {
		echo "techniques: $t: the pipeline failed (see $out/pipeline-$t.log)" >&2
		exit 1
	}
	stage=build
	[ "$t" = bolt ] && stage=bolt
	mkdir -p "$work/$t"
	tar -I zstd -xf "$out/artifacts/$t/$stage.tar.zst" -C "$work/$t"
	if [ "$t" = pgo ]; then
		mkdir -p "$work/lto"
		tar -I zstd -xf "$out/artifacts/pgo/baseline.tar.zst" -C "$work/lto"
	fi
done
for t in $techniques; do
	variants+=(--variant "$t=$(bench_cmd "$t")")
done
[ "$fixture" = minilang ] && cp -R "$src/bench" "$work/bench"
sha256sum "$work"/*/"$bin" | sed "s|$work/||" >"$out/binaries.sha256"

# BENCH=0: build only (the pipelines' cache makes the next run bench at once)
[ "${BENCH:-1}" = 0 ] && exit 0
cd "$work"
[ "${WALL:-1}" = 0 ] || "$sandbox" bench --benchmarks "$benchmarks" --runs "$runs" \
	--max-runs "$max_runs" "${bench_env[@]}" "${variants[@]}" \
	--json "$out/wall.json" --markdown "$out/wall.md" 2>&1 | tee "$out/wall.txt" || true
if [ "$cg_runs" -gt 0 ]; then
	"$sandbox" bench --benchmarks "$benchmarks" --runs "$cg_runs" --max-runs "$cg_runs" \
		--warmup 0 --cachegrind --metric est-cycles "${bench_env[@]}" "${variants[@]}" \
		--json "$out/est-cycles.json" --markdown "$out/est-cycles.md" 2>&1 |
		tee "$out/est-cycles.txt" || true
fi
