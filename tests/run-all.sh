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
	echo "=== $name"
	"$@" 2>&1 | tee "$log" | tail -n 15
	local rc=${PIPESTATUS[0]}
	read -r p f < <(count_log "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1   # the tier failed without counting (build error, crash)
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	tier_results+=("$name: $p passed, $f failed")
}

JOBS=2
ASAN_BUILD=build-asan
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

tier build make -j"$JOBS" all
tier lint make lint
tier unit make -j"$JOBS" unit
tier integration-root sh tests/run-integration.sh build
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
trap cleanup_rootless EXIT
if stage_rootless_tree; then
	if [ "$rootless_tree" != "$PWD" ]; then
		echo "rootless tier: nobody cannot read $PWD; running a copy in $rootless_tree"
	fi
	tier integration-rootless runuser -u nobody -- \
		sh -c 'cd "$1" && sh tests/run-integration.sh build' sh "$rootless_tree"
	sh tests/rootless-gaps.sh "$rootless_tree/build/pgo-sandbox"
else
	tier integration-rootless sh -c 'echo "rootless tier: staging a copy for nobody failed"; exit 1'
fi
cleanup_rootless
tier asan-unit make -j"$JOBS" BUILD="$ASAN_BUILD" SAN="$SAN_FLAGS" CFLAGS="-O1 -g" unit
tier asan-integration env ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	sh -c "make -j$JOBS BUILD=$ASAN_BUILD SAN='$SAN_FLAGS' CFLAGS='-O1 -g' all >/dev/null &&
	       sh tests/run-integration.sh $ASAN_BUILD tests/integration/test_run.py \
	          tests/integration/test_controls.py tests/integration/test_stages.py \
	          tests/integration/test_bench.py"
if [ -x tests/vm/run.sh ] || [ -f tests/vm/run.sh ]; then
	tier vm make vm
fi
if [ -f tests/fuzz/run.sh ]; then
	tier fuzz bash tests/fuzz/run.sh 20
fi

echo "=== summary"
for t in "${tier_results[@]}"; do
	echo "  $t"
done
echo "check: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
