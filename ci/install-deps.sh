#!/bin/sh
# Install the Debian packages pgo-sandbox needs to build and test, when
# missing.  Idempotent; quiet when everything is present.
# `install-deps.sh demo` installs only what `make demo` needs (DEMO_PKGS);
# no argument (`make deps`, `make check`): every package below.
set -eu
DEMO_PKGS="build-essential pkg-config libseccomp-dev libcap-dev libarchive-dev libjansson-dev
libinih-dev nettle-dev python3 zstd gzip tar bolt-19 libsqlite3-dev libpq-dev"
PKGS="build-essential pkg-config libseccomp-dev libcap-dev libarchive-dev libjansson-dev
libinih-dev nettle-dev libcmocka-dev python3 python3-pytest zstd gzip tar clang llvm lld
valgrind hyperfine bubblewrap util-linux iproute2 busybox-static cpio qemu-system-x86 debootstrap
clang-format clang-tidy cppcheck python3-yaml faketime llvm-19 bolt-19 rustc cargo
libsqlite3-dev sqlite3 libpq-dev postgresql
libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4
clang-19 lld-19 libclang-rt-19-dev"
case "${1:-check}" in
demo) PKGS=$DEMO_PKGS ;;
check) ;;
*)
	echo "usage: install-deps.sh [demo|check]" >&2
	exit 2
	;;
esac
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "pgo-sandbox: missing Debian packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "pgo-sandbox: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
