#!/bin/sh
# Install the Debian packages pgo-sandbox needs to build and test, when
# missing.  Idempotent; quiet when everything is present.
set -eu
PKGS="build-essential pkg-config libseccomp-dev libcap-dev libarchive-dev libjansson-dev
libinih-dev nettle-dev libcmocka-dev python3 python3-pytest zstd gzip tar clang llvm lld
valgrind hyperfine bubblewrap util-linux iproute2 busybox-static cpio qemu-system-x86 debootstrap
clang-format clang-tidy cppcheck python3-yaml faketime llvm-19 bolt-19 rustc cargo
clang-19 lld-19 libclang-rt-19-dev
libsqlite3-dev sqlite3 libpq-dev postgresql"
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
