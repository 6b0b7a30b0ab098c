#!/bin/sh
# `make release`: build pgo-sandbox reproducibly and pack
# pgo-sandbox-VERSION-x86_64-linux.tar.gz with the binary, man page,
# profiles, completion and docs.  Same commit => same bytes, whatever the
# checkout path, umask, TZ or locale (tests/integration/test_release.py).
set -eu
cd "$(dirname "$0")/.."
version=$1
build=build-release
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
export TZ=UTC LC_ALL=C
umask 022
# -ffile-prefix-map (in the Makefile) strips the checkout path from debug
# info and __FILE__; the build-id then depends only on the sources.
make -s BUILD="$build" CFLAGS="-O2 -g" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$build/pgo-sandbox"
name="pgo-sandbox-$version-x86_64-linux"
root="$build/release-root"
stage="$root/$name"
rm -rf "$root"
mkdir -p "$stage/bin" "$stage/share/man/man1" "$stage/share/pgo-sandbox/profiles" \
	"$stage/share/bash-completion/completions" "$stage/share/doc/pgo-sandbox"
install -m 0755 "$build/pgo-sandbox" "$stage/bin/pgo-sandbox"
install -m 0644 man/pgo-sandbox.1 "$stage/share/man/man1/"
install -m 0644 profiles/*.ini "$stage/share/pgo-sandbox/profiles/"
install -m 0644 completions/pgo-sandbox.bash "$stage/share/bash-completion/completions/pgo-sandbox"
install -m 0644 README.md SECURITY.md "$stage/share/doc/pgo-sandbox/"
out="$name.tar.gz"
"$build/pgo-sandbox" pack "$root" "$out.tmp" --compression gzip \
	--mtime "$SOURCE_DATE_EPOCH" >/dev/null
mv "$out.tmp" "$out"
sha256sum "$out"
