#!/bin/bash
# bench/bolt-sweep.sh FIXTURE ARTIFACTS OUT [SET...] - which llvm-bolt layout
# options pay on a fixture, measured.
#
# FIXTURE is minilang or monocheck; ARTIFACTS the directory of a BOLT
# pipeline run up to its bolt stage, e.g.
#
#   build/pgo-sandbox pipeline --pipeline fixtures/minilang/pipeline-gcc-bolt.ini \
#       --artifacts /var/tmp/gcc-bolt --until bolt
#   bench/bolt-sweep.sh minilang /var/tmp/gcc-bolt /var/tmp/sweep-gcc
#
# The PGO binary (the build stage's, linked with --emit-relocs) and the
# BOLT profile (the bolt stage's merged.fdata) are made once by the
# pipeline; this script runs llvm-bolt by hand on that same input and
# profile with each option set below, checks every output against the
# fixture's expected outputs, then benches all of them against the PGO
# binary in one interleaved `pgo-sandbox bench` (so every set sees the same
# machine), and optionally once more under cachegrind (est-cycles).
# Without SET arguments every set of SETS runs.
#
# Environment: RUNS (wall runs per variant and benchmark, default 10),
# MAX_RUNS (default RUNS: no adaptive extension, so the sweep's time is
# bounded), CG_RUNS (cachegrind runs, default 0 = skip; 4 is two
# blocks, the fewest that give a count an interval), CG_SETS (the sets run under cachegrind, default all
# of the sweep), CPUS (bench --cpus), BOLT (llvm-bolt, default llvm-19's),
# BENCHMARKS (a comma list, default the fixture's three), PGO_SANDBOX
# (default build/pgo-sandbox), WALL=0 (skip the wall bench), EXTRA
# (below).
# Results: OUT/wall.{json,md},
# OUT/est-cycles.{json,md}, OUT/bolt-NAME.log (llvm-bolt's output),
# OUT/layout.txt (where each variant's hot functions start).
# A benchmark, never a test: the machine's load shows in the intervals.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sandbox=${PGO_SANDBOX:-$root/${BUILD:-build}/pgo-sandbox}
bolt=${BOLT:-/usr/lib/llvm-19/bin/llvm-bolt}
runs=${RUNS:-10}
max_runs=${MAX_RUNS:-$runs}
cg_runs=${CG_RUNS:-0}

usage() {
	echo "usage: bench/bolt-sweep.sh minilang|monocheck ARTIFACTS OUT [SET...]" >&2
	exit 2
}
[ $# -ge 3 ] || usage
fixture=$1 artifacts=$2 out=$3
shift 3

# The option sets: "default" is the default before issue 23's measurement
# (BOLT_OPTIONS is now "preserve-align"'s set), then one change at a time
# (block order, function order, splitting, alignment, peepholes, ICF, PLT,
# huge pages), and a rewrite with no layout change at all ("identity": what
# BOLT's rewriting alone costs).  NAME=OPTIONS, OPTIONS without -data.
base="-reorder-blocks=ext-tsp -reorder-functions=hfsort -split-functions -split-all-cold"
SETS=(
	"default=$base -dyno-stats"
	"identity=-reorder-blocks=none -reorder-functions=none"
	"rb-none=-reorder-blocks=none -reorder-functions=hfsort -split-functions -split-all-cold"
	"rb-normal=-reorder-blocks=normal -reorder-functions=hfsort -split-functions -split-all-cold"
	"rb-cache+=-reorder-blocks=cache+ -reorder-functions=hfsort -split-functions -split-all-cold"
	"rf-none=-reorder-blocks=ext-tsp -reorder-functions=none -split-functions -split-all-cold"
	"rf-cdsort=-reorder-blocks=ext-tsp -reorder-functions=cdsort -split-functions -split-all-cold"
	"no-split=-reorder-blocks=ext-tsp -reorder-functions=hfsort"
	"align-blocks=$base -align-blocks"
	"align-fn16=$base -align-functions=16"
	"align-fn32=$base -align-functions=32"
	"preserve-align=$base -preserve-blocks-alignment"
	"use-old-text=$base -use-old-text"
	"peepholes=$base -peepholes=all"
	"icf=$base -icf"
	"plt-hot=$base -plt=hot"
	"hugify=$base -hugify"
	"no-split-old-text=-reorder-blocks=ext-tsp -reorder-functions=hfsort -use-old-text"
	"combo=-reorder-blocks=ext-tsp -reorder-functions=cdsort -plt=hot"
)

case $fixture in
minilang)
	bin=minilang
	src=$root/fixtures/minilang
	benchmarks=${BENCHMARKS:-fib_full_check_flow,strings_full_check_flow,dict}
	cmd_of() { echo "./$1/minilang bench/{bench}.ml"; }
	check() { "$src/check.sh" "$1" >/dev/null; }
	bench_env=(--setenv MINILANG_GC_THRESHOLD=4M)
	;;
monocheck)
	bin=monocheck
	src=$root/fixtures/monocheck
	benchmarks=${BENCHMARKS:-small_full_check_flow,large_full_check_flow,tag_index_build}
	cmd_of() { echo "./$1/monocheck bench --iters 60 {bench}"; }
	check() { "$src/check.sh" "$1" >/dev/null; }
	bench_env=()
	;;
*) usage ;;
esac

if [ $# -gt 0 ]; then
	wanted=" $* "
	kept=()
	for s in "${SETS[@]}"; do
		case $wanted in *" ${s%%=*} "*) kept+=("$s") ;; esac
	done
	SETS=("${kept[@]}")
fi

mkdir -p "$out"
work=$(mktemp -d /var/tmp/pgo-bolt-sweep.XXXXXX)
trap 'rm -rf "$work"' EXIT
# the bench runs its commands as an unprivileged user: they must reach them
chmod 755 "$work"
mkdir -p "$work/pgo" "$work/pipeline"
tar -I zstd -xf "$artifacts/build.tar.zst" -C "$work/pgo"
tar -I zstd -xf "$artifacts/bolt.tar.zst" -C "$work/pipeline"
fdata=$work/pipeline/profile/merged.fdata
[ -s "$fdata" ] || {
	echo "bolt-sweep: no profile/merged.fdata in $artifacts/bolt.tar.zst" >&2
	exit 1
}
[ "$fixture" = minilang ] && cp -R "$src/bench" "$work/bench"

variants=(--variant "pgo=$(cmd_of pgo)")
cg_variants=(--variant "pgo=$(cmd_of pgo)")
# EXTRA=NAME=TARBALL: one more build to bench beside them (e.g. the PIE
# PGO build when ARTIFACTS links without PIE)
if [ -n "${EXTRA:-}" ]; then
	extra=${EXTRA%%=*}
	mkdir -p "$work/$extra"
	tar -I zstd -xf "${EXTRA#*=}" -C "$work/$extra"
	variants+=(--variant "$extra=$(cmd_of "$extra")")
	cg_variants+=(--variant "$extra=$(cmd_of "$extra")")
fi
for s in "${SETS[@]}"; do
	name=${s%%=*} opts=${s#*=}
	mkdir -p "$work/$name"
	# shellcheck disable=SC2086 # opts are words
	if ! "$bolt" "$work/pgo/$bin" -o "$work/$name/$bin" -data="$fdata" $opts \
		>"$out/bolt-$name.log" 2>&1; then
		echo "bolt-sweep: $name: llvm-bolt failed (see $out/bolt-$name.log): skipped" >&2
		continue
	fi
	if ! (cd "$work" && check "$work/$name/$bin"); then
		echo "bolt-sweep: $name: output fails $src/check.sh: skipped" >&2
		continue
	fi
	variants+=(--variant "$name=$(cmd_of "$name")")
	case " ${CG_SETS:-${SETS[*]%%=*}} " in
	*" $name "*) cg_variants+=(--variant "$name=$(cmd_of "$name")") ;;
	esac
	echo "bolt-sweep: $name: $(stat -c %s "$work/$name/$bin") bytes: $opts" >&2
done

# Where the hot code landed: the start address of the fixture's hottest
# functions (mod 64: their alignment) in every variant.
hot_syms() {
	case $fixture in
	minilang) echo "run_source vm_run execute dict_set dict_find advance gc_collect" ;;
	monocheck) echo "" ;;
	esac
}
: >"$out/layout.txt"
for d in pgo "${SETS[@]%%=*}"; do
	[ -x "$work/$d/$bin" ] || continue
	for sym in $(hot_syms); do
		nm "$work/$d/$bin" | while read -r addr _ name; do
			[ "$name" = "$sym" ] || continue
			echo "$d $sym 0x$addr mod64=$((16#$addr % 64))"
		done
	done >>"$out/layout.txt"
done

cpus=()
[ -n "${CPUS:-}" ] && cpus=(--cpus "$CPUS")
cd "$work"
[ "${WALL:-1}" = 0 ] || "$sandbox" bench --benchmarks "$benchmarks" --runs "$runs" \
	--max-runs "$max_runs" "${cpus[@]}" "${bench_env[@]}" "${variants[@]}" \
	--json "$out/wall.json" --markdown "$out/wall.md" 2>&1 | tee "$out/wall.txt" || true
if [ "$cg_runs" -gt 0 ]; then
	"$sandbox" bench --benchmarks "$benchmarks" --runs "$cg_runs" --max-runs "$cg_runs" \
		--warmup 0 --cachegrind --metric est-cycles "${cpus[@]}" "${bench_env[@]}" \
		"${cg_variants[@]}" --json "$out/est-cycles.json" --markdown "$out/est-cycles.md" \
		2>&1 | tee "$out/est-cycles.txt" || true
fi
