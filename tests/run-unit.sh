#!/bin/sh
# Run the cmocka unit-test binaries; print "unit: N passed, N failed".
# Usage: tests/run-unit.sh BUILD_DIR TEST_BIN...
build="$1"
shift
passed=0
failed=0
log="$build/unit.log"
: >"$log"
for t in "$@"; do
	out=$(PGO_PROBE_DIR="$build/probes" "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" >>"$log"
	p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		failed=$((failed + 1))   # crashed before cmocka could count
	fi
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -E 'FAILED|ERROR|error|Sanitizer' | head -20
		echo "unit: $(basename "$t") FAILED (exit $rc)"
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
