#!/bin/sh
# tests/vm/run.sh BINARY PROBE_DIR - the VM test tier.
#
# Boots a Debian cloud kernel in qemu with a pure cgroup v2 hierarchy (every
# controller) and an initramfs holding busybox, BINARY (pgo-sandbox) with its
# shared libraries, the probes of PROBE_DIR, and tests/vm/guest.sh.  Prints
# the guest's "ok N - name" / "not ok N - name" lines and its summary
# "vm: N passed, N failed"; exits non-zero on any failure, on a missing
# summary, or when the VM does not finish.
#
# When BINARY's build directory also holds tests/test_cgroup, that unit test
# runs in the guest too (its real-cgroup cases then see every controller).
#
# Environment: PGO_VM_CACHE (kernel cache, default build-vm-cache/ in the
# repository), PGO_VM_ACCEL (qemu accelerators, default tcg; "kvm" where
# nested KVM works), PGO_VM_TIMEOUT (seconds, default 150),
# PGO_VM_KEEP=1 keeps the work directory.
set -eu

usage() {
	echo "usage: tests/vm/run.sh BINARY PROBE_DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=$(realpath "$1")
probes=$(realpath "$2")
cache=${PGO_VM_CACHE:-$repo/build-vm-cache}
vm_timeout=${PGO_VM_TIMEOUT:-150}
start=$(date +%s)

die() {
	echo "vm: $*" >&2
	exit 1
}

[ -x "$binary" ] || die "$binary is not an executable"
[ -d "$probes" ] || die "$probes is not a directory"

# ---- tools ----

need_install=
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_install="$need_install qemu-system-x86"
command -v cpio >/dev/null 2>&1 || need_install="$need_install cpio"
[ -x /bin/busybox ] || need_install="$need_install busybox-static"
# shellcheck disable=SC2086 # $need_install is a list of package names
if [ -n "$need_install" ]; then
	echo "vm: installing$need_install"
	apt-get install -y --no-install-recommends $need_install >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends $need_install >/dev/null; } ||
		die "cannot install$need_install"
fi

# ---- kernel (cached) ----

fetch_kernel() {
	dl="$cache/download"
	rm -rf "$dl"
	mkdir -p "$dl"
	(
		cd "$dl"
		apt-get download linux-image-cloud-amd64 >/dev/null 2>&1 ||
			{ apt-get update >/dev/null && apt-get download linux-image-cloud-amd64 >/dev/null 2>&1; } ||
			die "apt-get download linux-image-cloud-amd64 failed"
		meta=$(ls linux-image-cloud-amd64_*.deb)
		# Depends: linux-image-6.1.0-NN-cloud-amd64 (= 6.1.x-y)
		pkg=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
		[ -n "$pkg" ] || die "no versioned kernel in the Depends of $meta"
		apt-get download "$pkg" >/dev/null 2>&1 || die "apt-get download $pkg failed"
		dpkg-deb -x "${pkg}"_*.deb x
		cp x/boot/vmlinuz-* "$cache/vmlinuz.tmp"
		echo "$pkg" >"$cache/kernel-package"
	) || exit 1
	mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
	rm -rf "$dl"
}

mkdir -p "$cache"
[ -s "$cache/vmlinuz" ] || fetch_kernel
echo "vm: kernel $(cat "$cache/kernel-package" 2>/dev/null || echo '?')"

# ---- initramfs ----

work=$(mktemp -d "${TMPDIR:-/tmp}/pgo-vm.XXXXXX")
cleanup() {
	[ "${PGO_VM_KEEP:-0}" = 1 ] && { echo "vm: kept $work"; return; }
	rm -rf "$work"
}
trap cleanup EXIT
root=$work/root
libdir=usr/lib/x86_64-linux-gnu
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/$libdir" "$root/usr/lib64" \
	"$root/usr/lib/pgo-sandbox/probes" "$root/tests" \
	"$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" "$root/etc" "$root/newroot"
# merged-usr, as the sandbox's --image host expects
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

# Copy the shared libraries of $1 (and the dynamic loader) into the tree,
# dereferenced, at their merged-usr location.
copy_libs() {
	ldd "$1" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' |
	while read -r lib; do
		case $lib in
		/lib64/*|/usr/lib64/*) dest=usr/lib64/${lib##*/} ;;
		*) dest=$libdir/${lib##*/} ;;
		esac
		[ -e "$root/$dest" ] || cp -L "$lib" "$root/$dest"
	done
}

cp /bin/busybox "$root/usr/bin/busybox"
copy_libs /bin/busybox
/bin/busybox --list-full | while read -r applet; do
	case $applet in
	bin/*) link=usr/$applet ;;
	sbin/*) link=usr/$applet ;;
	*) link=$applet ;;
	esac
	[ -e "$root/$link" ] || ln -s /usr/bin/busybox "$root/$link"
done

cp "$binary" "$root/usr/bin/pgo-sandbox"
copy_libs "$binary"
for p in "$probes"/*; do
	if [ ! -f "$p" ] || [ ! -x "$p" ]; then
		continue
	fi
	cp "$p" "$root/usr/lib/pgo-sandbox/probes/"
	copy_libs "$p"
done
unit=$(dirname "$binary")/tests/test_cgroup
if [ -x "$unit" ]; then
	cp "$unit" "$root/tests/test_cgroup"
	copy_libs "$unit"
fi
# The loader at its canonical path too: binaries name /lib64/ld-linux-x86-64.so.2.
[ -e "$root/$libdir/ld-linux-x86-64.so.2" ] || cp "$root/usr/lib64/ld-linux-x86-64.so.2" "$root/$libdir/"

cp "$here/init" "$root/init"
cp "$here/init2" "$root/init2"
cp "$here/guest.sh" "$root/tests/guest.sh"
chmod 0755 "$root/init" "$root/init2" "$root/tests/guest.sh"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

# ---- boot ----

# TCG by default: nested KVM here aborts on MSR writes (-cpu max or host).
accel=${PGO_VM_ACCEL:-tcg}
accel_args=
for a in $accel; do
	accel_args="$accel_args -accel $a"
done

log=$work/console.log
echo "vm: booting (accel: $accel, timeout ${vm_timeout}s)"
set +e
# shellcheck disable=SC2086 # one word per -accel option
timeout "$vm_timeout" qemu-system-x86_64 $accel_args -cpu max -smp 4 -m 1024 \
	-kernel "$cache/vmlinuz" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet loglevel=1 cgroup_no_v1=all panic=-1" \
	-nographic -no-reboot </dev/null >"$log" 2>&1
qemu_rc=$?
set -e

tr -d '\r' <"$log" >"$log.txt"
# The console may prefix the first marker with terminal resets.
results=$(sed -n '/=== pgo-vm-tests begin ===$/,/^=== pgo-vm-tests end ===$/p' "$log.txt")
summary=$(printf '%s\n' "$results" | sed -n 's/^\(vm: [0-9]* passed, [0-9]* failed\)$/\1/p' | tail -n 1)
printf '%s\n' "$results" | grep -v '=== pgo-vm-tests' || true
elapsed=$(($(date +%s) - start))

if [ -z "$summary" ]; then
	echo "vm: no summary from the guest (qemu exit $qemu_rc); console tail:" >&2
	tail -n 40 "$log.txt" >&2
	echo "vm: FAILED in ${elapsed}s" >&2
	exit 1
fi
echo "$summary (${elapsed}s)"
failed=$(echo "$summary" | sed 's/.* \([0-9]*\) failed/\1/')
passed=$(echo "$summary" | sed 's/^vm: \([0-9]*\) passed.*/\1/')
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || exit 1
