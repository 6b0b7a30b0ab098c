#!/bin/bash
# bench/pack.sh - `pgo-sandbox pack/unpack` against GNU tar piped to zstd,
# over a generated ~200 MB tree shaped like PGO build output: object
# files, sources, profile counters (very compressible) and already
# compressed blobs (incompressible).  Rounds are interleaved so drift in
# machine load hits both sides alike; medians are printed, plus whether
# two packs of the tree were byte-identical.  The page cache is warm for
# both sides (the tree is read once before timing).
#
# usage: bench/pack.sh [ROUNDS]
#   PGO_SANDBOX  binary to test (default build/pgo-sandbox)
#   BENCH_DIR    where the scratch directory is made (default /tmp); /dev/shm
#                takes disk writeback noise out of the unpack times
#   ZSTD_LEVEL   level for both sides (default: the runner's default, 3)
#   BENCH_MB     approximate tree size in MB (default 200)
set -euo pipefail

ROUNDS=${1:-5}
BIN=$(realpath "${PGO_SANDBOX:-build/pgo-sandbox}")
LEVEL=${ZSTD_LEVEL:-3}
MB=${BENCH_MB:-200}

for tool in tar zstd python3; do
	command -v "$tool" >/dev/null || { echo "bench/pack.sh: needs $tool" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench/pack.sh: no binary at $BIN (make first)" >&2; exit 1; }

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/pgo-pack-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TREE="$WORK/tree"

python3 - "$TREE" "$MB" <<'EOF'
import os, random, sys

root, total_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240229)
scale = total_mb / 200.0

def tokens(n, lo, hi, alphabet=None):
    if alphabet is None:
        return [rng.randbytes(rng.randint(lo, hi)) for _ in range(n)]
    return [bytes(rng.choice(alphabet) for _ in range(rng.randint(lo, hi))) for _ in range(n)]

def zipf_weights(n):
    return [1.0 / (i + 1) for i in range(n)]

def fill(vocab, weights, size):
    out, have = [], 0
    while have < size:
        chunk = b"".join(rng.choices(vocab, weights, k=4096))
        out.append(chunk)
        have += len(chunk)
    return b"".join(out)[:size]

def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)

# object files: a vocabulary of "instruction" byte strings, Zipf-used (~3x)
ops = tokens(8192, 2, 12)
opw = zipf_weights(len(ops))
obj_bytes = int(80e6 * scale)
n = 0
while obj_bytes > 0:
    size = rng.randint(20_000, 300_000)
    write(f"{root}/build/obj/m{n // 40:02d}/unit{n:04d}.o", fill(ops, opw, size))
    obj_bytes -= size
    n += 1
for i in range(4):
    size = int(3e6 * scale)
    write(f"{root}/build/bin/tool{i}", fill(ops, opw, size), 0o755)
os.symlink("tool0", f"{root}/build/bin/tool")
os.makedirs(f"{root}/build/lib", exist_ok=True)
write(f"{root}/build/lib/libpgo.so.1.2.3", fill(ops, opw, int(4e6 * scale)), 0o755)
os.symlink("libpgo.so.1.2.3", f"{root}/build/lib/libpgo.so.1")
os.symlink("libpgo.so.1", f"{root}/build/lib/libpgo.so")
os.link(f"{root}/build/bin/tool1", f"{root}/build/bin/tool1-hardlink")

# sources: text from a word vocabulary (~5x), many small files
words = [w + b" " for w in tokens(20000, 2, 10, b"abcdefghijklmnopqrstuvwxyz_();{}=\n\t")]
ww = zipf_weights(len(words))
src_bytes = int(40e6 * scale)
n = 0
while src_bytes > 0:
    size = rng.randint(1_000, 40_000)
    write(f"{root}/src/d{n // 100:02d}/f{n:05d}.c", fill(words, ww, size))
    src_bytes -= size
    n += 1

# profiles: 64-bit counters, mostly zero, small values otherwise (very compressible)
def counters(size):
    vals = []
    for _ in range(size // 8):
        if rng.random() < 0.7:
            vals.append(0)
        else:
            vals.append(min(int(rng.expovariate(1e-4)), 2**63))
    return b"".join(v.to_bytes(8, "little") for v in vals)
for i in range(6):
    write(f"{root}/profiles/run{i}.profraw", counters(int(6e6 * scale)))
prof_small = int(14e6 * scale)
n = 0
while prof_small > 0:
    size = rng.randint(2_000, 60_000) // 8 * 8
    write(f"{root}/build/obj/m{n % 20:02d}/unit{n:04d}.gcda", counters(size))
    prof_small -= size
    n += 1

# already compressed artifacts: incompressible
for i in range(6):
    write(f"{root}/artifacts/blob{i}.zst", rng.randbytes(int(5e6 * scale)))
EOF

du -sm "$TREE" | awk '{print "tree: " $1 " MB"}'
echo "files: $(find "$TREE" -type f | wc -l), zstd level $LEVEL, $ROUNDS rounds, $(nproc) cpus"
tar -cf - -C "$TREE" . >/dev/null   # warm the page cache

ours_pack() { "$BIN" pack "$TREE" "$WORK/ours.tar.zst" --mtime 0 --level "$LEVEL" >/dev/null; }
tar_pack() {
	tar --sort=name --format=posix --mtime=@0 --owner=0 --group=0 --numeric-owner \
		--pax-option=delete=atime,delete=ctime -C "$TREE" -cf - . |
		zstd -q -T0 -"$LEVEL" -o "$WORK/tar.tar.zst" -f
}
ours_unpack() { "$BIN" unpack "$WORK/ours.tar.zst" "$WORK/u1"; }
tar_unpack() { zstd -q -dc "$WORK/tar.tar.zst" | tar -xf - -C "$WORK/u2"; }
# untimed: an empty destination, and the previous round's writeback done
prep() { rm -rf "$WORK/$1"; mkdir "$WORK/$1"; sync; }

timeit() {
	local t0=$EPOCHREALTIME
	"$@"
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}

declare -a P_OURS P_TAR U_OURS U_TAR
for ((r = 0; r < ROUNDS; r++)); do
	sync
	if ((r % 2 == 0)); then
		P_OURS+=("$(timeit ours_pack)"); P_TAR+=("$(timeit tar_pack)")
		prep u1; U_OURS+=("$(timeit ours_unpack)")
		prep u2; U_TAR+=("$(timeit tar_unpack)")
	else
		P_TAR+=("$(timeit tar_pack)"); P_OURS+=("$(timeit ours_pack)")
		prep u2; U_TAR+=("$(timeit tar_unpack)")
		prep u1; U_OURS+=("$(timeit ours_unpack)")
	fi
	echo "round $((r + 1)): pack ours ${P_OURS[r]}s tar ${P_TAR[r]}s;" \
		"unpack ours ${U_OURS[r]}s tar ${U_TAR[r]}s" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

cp "$WORK/ours.tar.zst" "$WORK/first.tar.zst"
ours_pack
if cmp -s "$WORK/first.tar.zst" "$WORK/ours.tar.zst"; then same=yes; else same=NO; fi
if diff -r --no-dereference "$WORK/u1" "$WORK/u2" >/dev/null; then trees=yes; else trees=NO; fi

printf '%-34s %10s %10s\n' "" "ours" "tar|zstd"
printf '%-34s %10s %10s\n' "pack, median wall s" "$(median "${P_OURS[@]}")" "$(median "${P_TAR[@]}")"
printf '%-34s %10s %10s\n' "unpack, median wall s" "$(median "${U_OURS[@]}")" "$(median "${U_TAR[@]}")"
printf '%-34s %10s %10s\n' "compressed MB" \
	"$(du -m "$WORK/ours.tar.zst" | cut -f1)" "$(du -m "$WORK/tar.tar.zst" | cut -f1)"
echo "two packs byte-identical: $same"
echo "unpacked trees identical: $trees"
