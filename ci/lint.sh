#!/bin/sh
# `make lint`: cppcheck over the runner (warnings are errors), the layer
# check (ci/layers.py: no upward include, no include cycle, no command
# line below cli/; its --self-test first proves each rule fires), and a
# clang-format check that the tree is formatted (`make format` fixes it).
set -e
cd "$(dirname "$0")/.."
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	--inline-suppr --suppress=missingIncludeSystem --include=ci/cppcheck-macros.h -D_GNU_SOURCE -DPGO_VERSION='"x"' \
	-DPGO_COMMIT='"x"' -DPGO_SOURCE_DATE_EPOCH='"0"' -Irunner runner tests/probes
echo "lint: cppcheck clean"
python3 ci/layers.py --self-test
python3 ci/layers.py
unformatted=""
for f in $(find runner -name '*.[ch]' | sort); do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		unformatted="$unformatted $f"
	fi
done
if [ -n "$unformatted" ]; then
	echo "lint: not clang-formatted (run make format):$unformatted"
	exit 1
fi
echo "lint: clang-format clean"
