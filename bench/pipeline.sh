#!/bin/bash
# bench/pipeline.sh [ROUNDS] - what running the fixture pipeline through
# pgo-sandbox costs: `pgo-sandbox pipeline --force` (instrument, train,
# merge, build, baseline: sandboxes, digests, extraction, packing,
# provenance) against the same compiler commands run by hand in a shell,
# interleaved round by round (ABBA order).  Prints every round's wall
# time, the medians and the overhead in percent.  COMPILER=clang for the
# clang pipeline.  A benchmark, never a test: the machine's load shows.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${PGO_SANDBOX:-$root/${BUILD:-build}/pgo-sandbox}
rounds=${1:-5}
compiler=${COMPILER:-gcc}
src=$root/fixtures/minilang
pipeline=$src/pipeline-$compiler.ini
work=$(mktemp -d /var/tmp/pgo-bench-pipeline.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ "$compiler" = clang ]; then
	lto="-flto -fuse-ld=lld" gen="-fprofile-generate" extra=""
else
	lto="-flto" gen="-fprofile-generate -fno-profile-values -frandom-seed=pgo-sandbox"
	extra="-frandom-seed=pgo-sandbox"
fi

# The pipeline's commands, by hand: same flags, same training inputs and
# knobs, profiles in the same places relative to one fixed root.
by_hand() {
	local d=$work/hand
	rm -rf "$d"
	mkdir -p "$d/out" "$d/profile" "$d/merged" "$d/base"
	cd "$src"
	$compiler -std=c11 -O2 $lto $gen -o "$d/out/minilang" src/*.c -lm
	for f in train/*.ml; do
		MINILANG_GC_THRESHOLD=4M GCOV_PREFIX=$d/profile GCOV_PREFIX_STRIP=0 \
			LLVM_PROFILE_FILE=$d/profile/%m-%p.profraw "$d/out/minilang" "$f" >/dev/null
	done
	if [ "$compiler" = clang ]; then
		llvm-profdata merge -o "$d/merged/merged.profdata" "$d"/profile/*.profraw
		use="-fprofile-use=$d/merged/merged.profdata"
	else
		cp -R "$d/profile/." "$d/merged/"
		use="-fprofile-use=$d/merged -Wmissing-profile"
	fi
	$compiler -std=c11 -O2 $lto $extra $use -o "$d/out/minilang" src/*.c -lm
	"$d/out/minilang" --selftest >/dev/null
	$compiler -std=c11 -O2 $lto $extra -o "$d/base/minilang" src/*.c -lm
	"$d/base/minilang" --selftest >/dev/null
	cd - >/dev/null
}

sandboxed() {
	"$bin" pipeline --pipeline "$pipeline" --artifacts "$work/art" --until baseline \
		--force >/dev/null 2>&1
}

now() { date +%s.%N; }

timed() {
	local t0 t1
	t0=$(now)
	"$@"
	t1=$(now)
	awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "pipeline overhead, $compiler, $rounds rounds (ABBA), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
by_hand    # warm the page cache and the compilers
sandboxed
: >"$work/hand.txt"
: >"$work/sandbox.txt"
for i in $(seq 1 "$rounds"); do
	if [ $((i % 2)) -eq 1 ]; then
		h=$(timed by_hand); s=$(timed sandboxed)
	else
		s=$(timed sandboxed); h=$(timed by_hand)
	fi
	echo "$h" >>"$work/hand.txt"
	echo "$s" >>"$work/sandbox.txt"
	printf 'round %2d: by hand %6.2f s   pgo-sandbox %6.2f s\n' "$i" "$h" "$s"
done
mh=$(median <"$work/hand.txt")
ms=$(median <"$work/sandbox.txt")
printf 'median:   by hand %6.2f s   pgo-sandbox %6.2f s   overhead %+.1f %%\n' "$mh" "$ms" \
	"$(awk -v s="$ms" -v h="$mh" 'BEGIN { print (s - h) * 100 / h }')"
