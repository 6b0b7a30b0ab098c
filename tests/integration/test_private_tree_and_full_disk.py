"""What a new user hits first (issue 11): a source tree only its owner can
read (a `mktemp -d` copy, umask 077), and an artifacts filesystem too small
for a stage's files.  The stage's tarball, .sha256 and .run.json appear
together or not at all."""
import hashlib
import json
import os
import pathlib
import random
import shutil
import subprocess

import pytest

from conftest import ROOT, ROOTLESS, root_only, run

pytestmark = pytest.mark.untimed

MINILANG = os.path.join(ROOT, "fixtures", "minilang")


def copy_tree(src, dst, umask):
    """`cp -r` under `umask`, as a user's copy into a fresh directory is:
    modes are the source's masked by the umask."""
    subprocess.run(["cp", "-r", src, dst], check=True, preexec_fn=lambda: os.umask(umask))
    shutil.rmtree(os.path.join(dst, "artifacts"), ignore_errors=True)


def pipeline(*args, timeout=600):
    return run("pipeline", *args, timeout=timeout)


def release_digest(src):
    return open(os.path.join(src, "artifacts", "gcc", "build.tar.zst.sha256")).read()


def test_private_tree_builds_the_same_release_as_a_public_copy(tmp_path):
    """0700 directories and 0600 files (umask 077) against 0755/0644: every
    stage runs from both, and the release tarballs are byte-identical."""
    private_parent = tmp_path / "private"
    private_parent.mkdir(mode=0o700)
    os.chmod(private_parent, 0o700)
    private = str(private_parent / "minilang")
    (tmp_path / "public").mkdir()
    public = str(tmp_path / "public" / "minilang")
    copy_tree(MINILANG, private, 0o077)
    copy_tree(MINILANG, public, 0o022)
    assert os.stat(private).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(private, "src", "vm.c")).st_mode & 0o777 == 0o600
    for src in (private, public):
        r = pipeline("--pipeline", os.path.join(src, "pipeline-gcc.ini"), "--until", "build")
        assert r.returncode == 0, r.stdout + r.stderr
    assert release_digest(private) == release_digest(public)
    report = json.load(open(os.path.join(private, "artifacts", "gcc", "build.run.json")))
    idmap = report["controls"]["mount.idmap"]
    assert idmap["state"] == "applied", idmap
    assert ("not needed" if ROOTLESS else "idmapped") in idmap["detail"]


TINY = """\
[pipeline]
name = tiny
source = src
source-date-epoch = 1700000000
profiles = {profiles}

[stage a]
profile = {profile}
inputs = source
command = cat /src/blob > /build/out/blob
outputs = blob
"""


def tiny_pipeline(tmp_path, profile="build", profiles=None, src_mode=0o755, blob=b"x\n"):
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob").write_bytes(blob)
    os.chmod(src / "blob", 0o600 if src_mode == 0o700 else 0o644)
    os.chmod(src, src_mode)
    p = tmp_path / "pipeline.ini"
    p.write_text(TINY.format(profiles=profiles or os.path.join(ROOT, "profiles"),
                             profile=profile))
    return p


def stage(p, art, *args):
    return run("stage", "a", *args, "--pipeline", str(p), "--artifacts", str(art), timeout=120)


@root_only
def test_private_tree_without_idmap_is_refused_before_the_command(tmp_path):
    p = tiny_pipeline(tmp_path, src_mode=0o700)
    art = tmp_path / "art"
    r = stage(p, art, "--no-idmap")
    assert r.returncode == 125, r.stderr
    src = str(tmp_path / "src")
    # names the path, its owner and mode, the stage's uid and the fix
    assert f"{src} (bound at /src) is owned by 0:0 with mode 0700" in r.stderr
    assert "the command runs as uid 65534, which cannot read it" in r.stderr
    assert "chmod -R a+rX" in r.stderr
    assert "failed at step 'running the command'" in r.stderr
    assert not (art / "a.tar.zst").exists() and not (art / "a.run.json").exists()
    report = json.loads((art / "a.failure.json").read_text())
    assert "cannot read it" in report["failure"]["error"]
    # with idmapped mounts the same tree runs
    r = stage(p, art)
    assert r.returncode == 0, r.stderr


@root_only
def test_readable_tree_without_idmap_is_degraded_and_strict_refuses(tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(os.path.join(ROOT, "profiles"), profiles)
    with open(profiles / "build.ini") as f:
        text = f.read()
    (profiles / "strictbuild.ini").write_text(text.replace("[sandbox]", "[sandbox]\nstrict = on", 1))
    p = tiny_pipeline(tmp_path, profiles=str(profiles))
    art = tmp_path / "art"
    r = stage(p, art, "--no-idmap")
    assert r.returncode == 0, r.stderr
    idmap = json.loads((art / "a.run.json").read_text())["controls"]["mount.idmap"]
    assert idmap["state"] == "degraded"
    assert "plain read-only bind" in idmap["detail"]
    p.write_text(p.read_text().replace("profile = build", "profile = strictbuild"))
    r = stage(p, tmp_path / "art2", "--no-idmap")
    assert r.returncode == 125
    assert "idmapped bind unavailable (--strict)" in r.stderr


# ---- a full artifacts filesystem ----

PAGE = 4096


def pages(n):
    return (n + PAGE - 1) // PAGE * PAGE


def incompressible(n, seed=11):
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(n))


class SmallFs:
    """A tmpfs of our own (never a host mount) for the artifacts."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path)

    def mount(self, size):
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                        self.path], check=True)

    def resize(self, size):
        subprocess.run(["mount", "-o", f"remount,size={size}", self.path], check=True)

    def used(self):
        st = os.statvfs(self.path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    def umount(self):
        subprocess.run(["umount", self.path], check=False)


STAGE_FILES = ("a.tar.zst", "a.tar.zst.sha256", "a.run.json")


def stage_files(art):
    return {n: (art / n).read_bytes() for n in STAGE_FILES if (art / n).exists()}


def leftovers(art):
    return sorted(n for n in os.listdir(art)
                  if n.endswith(".part") or ".tmp." in n)


@pytest.fixture
def sized(tmp_path):
    """The tiny stage with a 40 KiB incompressible source file, and its
    file sizes measured on a roomy directory first."""
    p = tiny_pipeline(tmp_path, blob=incompressible(40 * 1024))
    roomy = tmp_path / "roomy"
    r = stage(p, roomy)
    assert r.returncode == 0, r.stderr
    sizes = {n: (roomy / n).stat().st_size for n in STAGE_FILES}
    fs = SmallFs(str(tmp_path / "small"))
    yield p, sizes, fs
    fs.umount()


# where the space runs out: (room for the files written before it)
FAIL_AT = {
    "a.tar.zst": lambda s: pages(s["a.tar.zst"]) - PAGE,
    "a.tar.zst.sha256": lambda s: pages(s["a.tar.zst"]),
    "a.run.json": lambda s: pages(s["a.tar.zst"]) + PAGE,
}


@root_only
@pytest.mark.parametrize("full_at", sorted(FAIL_AT))
def test_full_disk_leaves_no_file_of_the_stage(sized, full_at):
    p, sizes, fs = sized
    fs.mount(FAIL_AT[full_at](sizes))
    art = fs.path
    r = stage(p, art)
    assert r.returncode == 125, r.stdout + r.stderr
    assert "No space left on device" in r.stderr
    assert f"{art}/{full_at}" in r.stderr, r.stderr
    assert stage_files(pathlib.Path(art)) == {}
    assert leftovers(art) == []


@root_only
@pytest.mark.parametrize("full_at", sorted(FAIL_AT))
def test_full_disk_keeps_an_earlier_set_whole(sized, full_at):
    p, sizes, fs = sized
    fs.mount(4 * pages(sum(sizes.values())))
    art = pathlib.Path(fs.path)
    assert stage(p, art).returncode == 0
    before = stage_files(art)
    assert sorted(before) == sorted(STAGE_FILES)
    fs.resize(fs.used() + FAIL_AT[full_at](sizes))
    r = stage(p, art, "--force")
    assert r.returncode == 125, r.stdout + r.stderr
    assert "No space left on device" in r.stderr
    assert stage_files(art) == before
    assert leftovers(art) == []
    # with room again the new set replaces the old one whole
    fs.resize(4 * pages(sum(sizes.values())) + fs.used())
    r = stage(p, art, "--force")
    assert r.returncode == 0, r.stderr
    after = stage_files(art)
    assert sorted(after) == sorted(STAGE_FILES)
    assert after["a.tar.zst"] == before["a.tar.zst"]       # reproducible
    assert after["a.run.json"] != before["a.run.json"]     # a new run's report
    digest = hashlib.sha256(after["a.tar.zst"]).hexdigest()
    assert after["a.tar.zst.sha256"].decode() == f"{digest}  a.tar.zst\n"
    assert not (art / "a.failure.json").exists()
