#!/bin/sh
# Run the pytest integration tests against BUILD_DIR/pgo-sandbox.
# Usage: tests/run-integration.sh BUILD_DIR [pytest args...]
build="$1"
shift
PGO_SANDBOX="$(cd "$build" && pwd)/pgo-sandbox"
PGO_PROBE_DIR="$(cd "$build" && pwd)/probes"
export PGO_SANDBOX PGO_PROBE_DIR
# Extra arguments select test files or options; default: every test.
if [ $# -eq 0 ]; then
	set -- tests/integration
fi
exec /usr/bin/python3 -m pytest -p no:cacheprovider -q "$@"
