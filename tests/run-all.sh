#!/usr/bin/env bash
# Every test tier of `make check`, each printing its own counts, then one
# closing line "check: N passed, N failed" summed over the tiers.
set -u
cd "$(dirname "$0")/.."
total_passed=0
total_failed=0
tier_results=()

# count "N passed" / "N failed" (pytest, our unit and VM runners) from a log
count_log() {
	local log=$1 p f
	p=$(grep -Eo '[0-9]+ passed' "$log" | tail -1 | grep -Eo '[0-9]+')
	f=$(grep -Eo '[0-9]+ failed' "$log" | tail -1 | grep -Eo '[0-9]+')
	echo "${p:-0} ${f:-0}"
}

tier() {
	local name=$1
	shift
	local log="build/tier-$name.log"
	mkdir -p build
	local start=$SECONDS
	echo "=== $name"
	"$@" 2>&1 | tee "$log" | tail -n 15
	local rc=${PIPESTATUS[0]}
	read -r p f < <(count_log "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1   # the tier failed without counting (build error, crash)
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	tier_results+=("$name: $p passed, $f failed ($((SECONDS - start)) s)")
}

JOBS=2
ASAN_BUILD=build-asan
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

# A tier run in the background: its output goes to its log only (two
# streams would interleave on the terminal); tier_collect prints and counts
# it once it has finished.
tier_bg() {
	local name=$1
	shift
	mkdir -p build
	(
		start=$SECONDS
		"$@" >"build/tier-$name.log" 2>&1
		echo $? >"build/tier-$name.rc"
		echo $((SECONDS - start)) >"build/tier-$name.secs"
	) &
}
tier_collect() {
	local name=$1 log="build/tier-$1.log" rc
	rc=$(cat "build/tier-$name.rc" 2>/dev/null || echo 1)
	echo "=== $name"
	tail -n 15 "$log"
	read -r p f < <(count_log "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	tier_results+=("$name: $p passed, $f failed ($(cat "build/tier-$name.secs" 2>/dev/null || echo ?) s)")
}
# The tiers one background stream runs in order (lint, unit, the untimed
# rootless tests, the ASan build and unit tests, fuzz).
stream_tiers() {
	local name start
	for name in "$@"; do
		start=$SECONDS
		case $name in
		lint) make lint ;;
		unit) make -j"$JOBS" unit ;;
		integration-rootless-untimed) rootless_tests -m "untimed and not timed" ;;
		asan-unit) make -j"$JOBS" BUILD="$ASAN_BUILD" SAN="$SAN_FLAGS" CFLAGS="-O1 -g" unit ;;
		fuzz) bash tests/fuzz/run.sh 20 ;;
		integration-root-untimed-b)
			sh tests/run-integration.sh build $ROOT_UNTIMED_B -m "untimed and not timed" \
				--durations=10
			;;
		esac >"build/tier-$name.log" 2>&1
		echo $? >"build/tier-$name.rc"
		echo $((SECONDS - start)) >"build/tier-$name.secs"
	done
}

tier build make -j"$JOBS" all
# Rootless: the same suite as an unprivileged user (user namespaces); the
# root-only tests (image builds, release, host tuning) skip themselves.
# `nobody` cannot read a checkout in a private directory (mktemp -d, a
# clone under /root): it then runs a world-readable copy of the tree and
# the binaries, removed afterwards.
rootless_copy=
cleanup_rootless() {
	if [ -n "$rootless_copy" ]; then
		rm -rf "$rootless_copy"
		rootless_copy=
	fi
}
# Sets rootless_tree to a tree `nobody` can read: this one, or a copy.
stage_rootless_tree() {
	rootless_tree=$PWD
	# absolute paths: from inside the tree a relative lookup would not
	# meet the private directory above it
	if runuser -u nobody -- sh -c 'cd "$1" && test -r tests/run-integration.sh &&
	        test -r tests/integration/conftest.py && test -x build/pgo-sandbox' sh "$PWD" \
		2>/dev/null; then
		return 0
	fi
	rootless_copy=$(mktemp -d /tmp/pgo-sandbox-rootless.XXXXXX) || return 1
	rootless_tree=$rootless_copy
	chmod 0755 "$rootless_copy" || return 1
	if [ -d .git ]; then
		git ls-files -z --cached --others --exclude-standard |
			tar --null -T - -cf - | tar -C "$rootless_copy" -xf - || return 1
	else
		tar --exclude=./build --exclude=./build-asan -cf - . | tar -C "$rootless_copy" -xf - ||
			return 1
	fi
	mkdir -p "$rootless_copy/build" &&
		cp -r build/pgo-sandbox build/probes "$rootless_copy/build/" &&
		chmod -R a+rX "$rootless_copy"
}
rootless_ok=no
rootless_tests() {
	if [ "$rootless_ok" != yes ]; then
		echo "rootless tier: staging a copy for nobody failed"
		return 1
	fi
	runuser -u nobody -- sh -c 'cd "$1" && shift && sh tests/run-integration.sh build "$@"' \
		sh "$rootless_tree" tests/integration "$@"
}
trap cleanup_rootless EXIT
if stage_rootless_tree; then
	rootless_ok=yes
	if [ "$rootless_tree" != "$PWD" ]; then
		echo "rootless tier: nobody cannot read $PWD; running a copy in $rootless_tree"
	fi
fi

# Two streams on the machine's CPUs, for the tests that assert nothing a
# loaded machine could change (marked `untimed`: pipelines, reproducibility,
# image and release builds) and the tiers that do not measure time: the
# untimed root tests in one, everything else untimed in the other.  Timed
# tests (benches, gates, timeouts: everything not marked `untimed`) run
# afterwards with the machine to themselves: they have been flaky under load.
# The untimed root files of the second stream: it finishes its other
# tiers minutes before the first (measured: 9.5 against 17 min under load).
ROOT_UNTIMED_B="tests/integration/test_image.py tests/integration/test_release.py"
stream2=(lint unit integration-rootless-untimed asan-unit fuzz integration-root-untimed-b)
stream_tiers "${stream2[@]}" &
# shellcheck disable=SC2046 # one --ignore per file
tier_bg integration-root-untimed sh tests/run-integration.sh build tests/integration \
	$(printf -- '--ignore=%s ' $ROOT_UNTIMED_B) -m "untimed and not timed" --durations=15
wait
tier_collect integration-root-untimed
for name in "${stream2[@]}"; do
	tier_collect "$name"
done

tier integration-root-timed sh tests/run-integration.sh build tests/integration \
	-m "not untimed or timed"
tier integration-rootless-timed rootless_tests -m "not untimed or timed"
if [ "$rootless_ok" = yes ]; then
	sh tests/rootless-gaps.sh "$rootless_tree/build/pgo-sandbox"
fi
cleanup_rootless
tier asan-integration env ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	sh -c "make -j$JOBS BUILD=$ASAN_BUILD SAN='$SAN_FLAGS' CFLAGS='-O1 -g' all >/dev/null &&
	       sh tests/run-integration.sh $ASAN_BUILD tests/integration/test_run.py \
	          tests/integration/test_controls.py tests/integration/test_stages.py \
	          tests/integration/test_bench.py"
if [ -x tests/vm/run.sh ] || [ -f tests/vm/run.sh ]; then
	tier vm make vm
fi

echo "=== summary"
for t in "${tier_results[@]}"; do
	echo "  $t"
done
echo "check: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
