#!/bin/bash
# The README's first command on a bare Debian 12 (issue 21, point 1): a
# debootstrap'd minbase root with only make and git added, this checkout
# cloned into a 0700 directory inside it, then `make demo` once, in a
# chroot of that root.  That one invocation must install its packages with
# apt, build, and run the demo's pipelines: stages running in a chroot
# whose / is not a mount point (sbuild and pbuilder build roots are such
# chroots).  Needs root and the network for the Debian mirror (apt only):
# when the mirror is unreachable the tier says so and counts as skipped,
# never as passed.  Prints "fresh-machine: N passed, N failed" (or "1
# skipped").  Usage: tests/fresh-machine.sh [KEEP_DIR]
set -u
cd "$(dirname "$0")/.."
tree=$PWD
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

if [ "$(id -u)" != 0 ]; then
	echo "fresh-machine: needs root (debootstrap, chroot); 1 skipped"
	exit 0
fi
if ! timeout 20 curl -fs -o /dev/null "$mirror/dists/$suite/Release"; then
	echo "fresh-machine: the Debian mirror $mirror is unreachable; 1 skipped"
	exit 0
fi
work=${1:-$(mktemp -d /var/tmp/pgo-fresh.XXXXXX)}
rootfs=$work/rootfs
cleanup() {
	[ -z "${1:-}" ] && rm -rf "$work"
}
trap 'cleanup "${1:-}"' EXIT
log=$work/log
mkdir -p "$rootfs"
: >"$log"

fail() {
	echo "fresh-machine: $*"
	tail -n 40 "$log"
	echo "fresh-machine: 0 passed, 1 failed"
	exit 1
}

start=$(date +%s)
echo "fresh-machine: debootstrap --variant=minbase $suite (+ make, git) into $rootfs"
debootstrap --variant=minbase --include=make,git,ca-certificates "$suite" "$rootfs" "$mirror" \
	>>"$log" 2>&1 || fail "debootstrap failed"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
# a checkout in a private directory of the bare root: what the README
# promises ("from a clone anywhere, also in a 0700 directory")
mkdir -m 0700 "$rootfs/root/private"
git clone -q --no-local "$tree" "$rootfs/root/private/pgo-sandbox" >>"$log" 2>&1 ||
	fail "cloning $tree failed"
echo "fresh-machine: root ready after $(($(date +%s) - start)) s; make demo in the chroot"

# A private mount namespace holds the chroot's /proc, /sys and /dev: they
# go away with it, and nothing is mounted on the host.
unshare -m --propagation private sh -c '
	set -e
	r=$1
	mount -t proc proc "$r/proc"
	mount --rbind /sys "$r/sys"
	mount --rbind /dev "$r/dev"
	exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 sh -c "cd /root/private/pgo-sandbox && make demo"
' sh "$rootfs" >>"$log" 2>&1
rc=$?
took=$(($(date +%s) - start))
grep -E '^(demo:|  [a-z_]+ .*%|stage |[a-z]+ +(ran|cached|FAILED))' "$log" | tail -n 30
if [ "$rc" -ne 0 ]; then
	fail "make demo in the bare root exited $rc after $took s"
fi
grep -q "making / a slave mount" "$log" && fail "a stage could not set up its mounts"
echo "fresh-machine: make demo passed in one invocation in a bare $suite chroot ($took s in all)"
echo "fresh-machine: 1 passed, 0 failed"
