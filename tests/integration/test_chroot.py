"""Stages and `run` inside a chroot whose / is not a mount point (sbuild,
pbuilder, debootstrap'd CI roots).  Before chroot_root.c every run there
failed with "making / a slave mount: Invalid argument".

Each test builds a chroot of host directories in a private mount namespace
of its own (unshare -m), whose mounts are then made shared so that anything
the runner mounted without care would show in that namespace's
mountinfo."""
import os
import shutil
import subprocess

import pytest

from conftest import BINARY, ROOT, root_only
from test_stages import PIPELINE

pytestmark = [root_only, pytest.mark.untimed]

# CHROOT is a directory (not a mount); the namespace's mounts are shared,
# mountinfo is saved before and after the command.
SETUP = r"""
set -e
mount --make-rshared /
R=$CHROOT
mkdir -p "$R/usr" "$R/etc" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/var/tmp" "$R/opt"
for l in bin lib lib64 sbin; do ln -sfn "usr/$l" "$R/$l"; done
mount --bind /usr "$R/usr"
mount --bind /etc "$R/etc"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
cat /proc/self/mountinfo > "$OUT/before"
set +e
chroot "$R" "$@"
echo $? > "$OUT/rc"
cat /proc/self/mountinfo > "$OUT/after"
"""


def in_chroot(tmp_path, *command, timeout=180):
    """Run COMMAND (paths inside the chroot) in a fresh chroot; returns its
    exit status, output, and whether the namespace's mounts changed."""
    chroot = tmp_path / "root"
    out = tmp_path / "out"
    chroot.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    (chroot / "opt").mkdir(exist_ok=True)
    shutil.copy(BINARY, chroot / "opt" / "pgo-sandbox")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", SETUP, "sh",
                        *command], env={**os.environ, "CHROOT": str(chroot), "OUT": str(out)},
                       capture_output=True, text=True, timeout=timeout)
    assert (out / "rc").exists(), r.stderr
    rc = int((out / "rc").read_text())
    moved = (out / "before").read_text() != (out / "after").read_text()
    return rc, r.stdout, r.stderr, moved


def test_run_in_a_chroot_works_and_mounts_nothing_outside(tmp_path):
    rc, out, err, moved = in_chroot(tmp_path, "/opt/pgo-sandbox", "run", "--tmpfs", "/scratch",
                                    "--", "sh", "-c", "echo inside; ls /")
    assert rc == 0, err
    assert "inside" in out and "scratch" in out
    assert "slave mount" not in err
    assert not moved, "a mount propagated out of the sandbox into the chroot's namespace"


def test_private_tree_is_readable_through_an_idmapped_bind_in_a_chroot(tmp_path):
    chroot = tmp_path / "root"
    private = chroot / "tmp" / "private"
    private.mkdir(parents=True)
    os.chmod(private, 0o700)
    (private / "secret").write_text("only root reads me\n")
    os.chmod(private / "secret", 0o600)
    rc, out, err, moved = in_chroot(tmp_path, "/opt/pgo-sandbox", "run", "--strict",
                                    "--ro-bind-idmap", "/tmp/private", "/src", "--",
                                    "cat", "/src/secret")
    assert rc == 0, err
    assert "only root reads me" in out
    assert not moved


def test_pipeline_stages_run_in_a_chroot(tmp_path):
    chroot = tmp_path / "root"
    work = chroot / "work"
    (work / "src").mkdir(parents=True)
    (work / "src" / "greeting.txt").write_text("hello\n")
    shutil.copytree(os.path.join(ROOT, "profiles"), work / "profiles")
    (work / "pipeline.ini").write_text(PIPELINE.format(profiles="/work/profiles"))
    rc, out, err, moved = in_chroot(tmp_path, "/opt/pgo-sandbox", "pipeline", "--pipeline",
                                    "/work/pipeline.ini", "--artifacts", "/work/art")
    assert rc == 0, out + err
    assert (work / "art" / "b.tar.zst").exists()
    assert not moved
