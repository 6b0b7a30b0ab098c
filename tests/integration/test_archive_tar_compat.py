"""`pgo-sandbox pack` against GNU tar's reproducible-archive recipe.

The same tree is packed by `pgo-sandbox pack` (uncompressed) and by
`tar --sort=name --format=posix ... --mode=go-w,u+rw,a+rX`; Python's tarfile
must read the same entries, in the same order, with the same name, type,
mode, ids, names, size, mtime and link target.  The one deliberate
difference: pack clears setuid/setgid/sticky bits (extraction refuses
them), where tar keeps them.  Compressed packs must be byte-identical across
runs, source paths, umasks, on-disk times, TZ and locale, and `unpack` must
restore the tree and refuse a hostile tarball."""
import hashlib
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

from conftest import BINARY, run

pytestmark = pytest.mark.untimed

SDE = 1700000000
LONG_NAME = "n" * 120 + ".txt"                                 # > 100 bytes
LONG_DIR = "/".join(["directory-with-a-fairly-long-name-%d" % i for i in range(6)])
LONG_TARGET = "../" + "t" * 140                                 # > 100 bytes
UTF8_NAME = "caf\u00e9-\u00fcber.txt"


def write(path, data, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mode is not None:
        os.chmod(path, mode)


def make_tree(root):
    """Files, dirs, symlinks, a hardlink, exec bits, odd modes, long names."""
    os.makedirs(root)
    write(f"{root}/a/x", b"x\n")
    write(f"{root}/a-b", b"sorts after a/ in tar order\n")
    write(f"{root}/bin/tool", b"#!/bin/sh\necho hi\n", 0o700)
    os.link(f"{root}/bin/tool", f"{root}/bin/tool-hardlink")
    write(f"{root}/bin/group-exec", b"x", 0o610)
    write(f"{root}/lib/libx.so.1", b"\x7fELF" + bytes(range(256)) * 40, 0o664)
    os.symlink("libx.so.1", f"{root}/lib/libx.so")
    os.symlink(LONG_TARGET, f"{root}/lib/dangling-long-target")
    write(f"{root}/private", b"p\n", 0o600)
    write(f"{root}/readonly", b"r\n", 0o400)
    write(f"{root}/world-writable", b"w\n", 0o666)
    write(f"{root}/empty", b"")
    os.makedirs(f"{root}/emptydir")
    write(f"{root}/{LONG_NAME}", b"long name\n")
    write(f"{root}/{LONG_DIR}/{LONG_NAME}", b"long path\n")
    write(f"{root}/{UTF8_NAME}", b"utf-8\n")
    os.makedirs(f"{root}/sgid")
    os.chmod(f"{root}/sgid", 0o2775)
    os.makedirs(f"{root}/ro-dir")
    write(f"{root}/ro-dir/inside", b"i\n")
    os.chmod(f"{root}/ro-dir", 0o500)


def pack(src, out, *extra, env=None):
    r = run("pack", src, out, *extra, env=env)
    if r.returncode != 0 and "pack" in r.stderr and "usage" in r.stderr.lower():
        pytest.fail(f"{BINARY} has no working pack subcommand: {r.stderr}")
    assert r.returncode == 0, r.stderr
    return r


def gnu_tar(src, out):
    names = sorted(os.listdir(os.fsencode(src)))
    env = dict(os.environ, LC_ALL="C.UTF-8", TZ="UTC")
    subprocess.run(
        ["tar", "-C", src, "--sort=name", "--format=posix",
         "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
         f"--mtime=@{SDE}", "--owner=0", "--group=0", "--numeric-owner",
         "--mode=go-w,u+rw,a+rX", "-cf", out, "--", *names],
        check=True, env=env)


def listing(path):
    with tarfile.open(path, encoding="utf-8", errors="surrogateescape") as t:
        return [(m.name, m.type, m.mode, m.uid, m.gid, m.uname, m.gname,
                 m.size, m.mtime, m.linkname) for m in t.getmembers()]


@pytest.fixture
def tree(tmp_path):
    src = str(tmp_path / "src")
    make_tree(src)
    yield src
    for base, dirs, _ in os.walk(tmp_path):
        for d in dirs:
            p = os.path.join(base, d)
            if not os.path.islink(p):
                os.chmod(p, 0o755)


def test_pack_matches_gnu_tar(tree, tmp_path):
    ours, theirs = str(tmp_path / "ours.tar"), str(tmp_path / "tar.tar")
    pack(tree, ours, "--mtime", str(SDE))
    gnu_tar(tree, theirs)
    a, b = listing(ours), listing(theirs)
    assert [e[0] for e in a] == [e[0] for e in b], "entry order differs"
    for mine, gnu in zip(a, b):
        if mine[0] == "sgid":
            assert gnu[2] == 0o2755 and mine[2] == 0o755
            gnu = gnu[:2] + (gnu[2] & 0o777,) + gnu[3:]
        assert mine == gnu
    names = [e[0] for e in a]
    assert f"{LONG_DIR}/{LONG_NAME}" in names and UTF8_NAME in names
    assert ("bin/tool-hardlink", tarfile.LNKTYPE) in [(e[0], e[1]) for e in a]
    assert ("lib/dangling-long-target", tarfile.SYMTYPE) in [(e[0], e[1]) for e in a]


def test_gnu_tar_reads_ours_cleanly(tree, tmp_path):
    ours = str(tmp_path / "ours.tar")
    pack(tree, ours, "--mtime", str(SDE))
    out = tmp_path / "by-tar"
    out.mkdir()
    r = subprocess.run(["tar", "-xf", ours, "-C", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (out / LONG_DIR / LONG_NAME).read_bytes() == b"long path\n"
    os.chmod(out / "ro-dir", 0o755)


def test_compressed_packs_are_reproducible(tree, tmp_path):
    # the same tree elsewhere, with other times and modes that normalise
    # the same (as another umask would leave them)
    copy = str(tmp_path / "other" / "place" / "copy")
    shutil.copytree(tree, copy, symlinks=True)
    os.chmod(os.path.join(copy, "ro-dir"), 0o755)
    for base, dirs, files in os.walk(copy):
        for n in dirs + files:
            os.utime(os.path.join(base, n), (1, 2), follow_symlinks=False)
    for rel, mode in (("private", 0o640), ("a/x", 0o600), ("lib", 0o700),
                      ("emptydir", 0o700), ("bin/tool", 0o744)):
        os.chmod(os.path.join(copy, rel), mode)
    # copytree made separate inodes: re-create the hardlink
    os.unlink(os.path.join(copy, "bin/tool-hardlink"))
    os.link(os.path.join(copy, "bin/tool"), os.path.join(copy, "bin/tool-hardlink"))
    os.chmod(os.path.join(copy, "ro-dir"), 0o500)
    for suffix in (".tar.zst", ".tar.gz"):
        first, second = str(tmp_path / f"1{suffix}"), str(tmp_path / f"2{suffix}")
        third = str(tmp_path / f"3{suffix}")
        r = pack(tree, first, env=dict(os.environ, SOURCE_DATE_EPOCH=str(SDE)))
        digest = hashlib.sha256(open(first, "rb").read()).hexdigest()
        assert r.stdout.split() == [f"sha256:{digest}", first]
        pack(tree, second, "--mtime", str(SDE))
        env = dict(os.environ, TZ="Asia/Kathmandu", LC_ALL="C.UTF-8", LANG="C.UTF-8")
        subprocess.run(["sh", "-c", 'umask 077 && exec "$@"', "sh", BINARY, "pack",
                        copy, third, "--mtime", str(SDE)], check=True, env=env,
                       capture_output=True)
        data = open(first, "rb").read()
        assert data == open(second, "rb").read()
        assert data == open(third, "rb").read()
    # and a different mtime does change the bytes: the check above can fail
    pack(tree, str(tmp_path / "4.tar.zst"), "--mtime", str(SDE + 1))
    assert open(tmp_path / "4.tar.zst", "rb").read() != open(tmp_path / "1.tar.zst", "rb").read()


def test_unpack_restores_tree(tree, tmp_path):
    ours = str(tmp_path / "ours.tar.zst")
    pack(tree, ours, "--mtime", str(SDE))
    dest = str(tmp_path / "dest")
    r = run("unpack", ours, dest)
    assert r.returncode == 0, r.stderr
    for base, dirs, files in os.walk(tree):
        for n in dirs + files:
            src = os.path.join(base, n)
            rel = os.path.relpath(src, tree)
            got = os.path.join(dest, rel)
            s, g = os.lstat(src), os.lstat(got)
            assert stat.S_IFMT(s.st_mode) == stat.S_IFMT(g.st_mode), rel
            if stat.S_ISLNK(s.st_mode):
                assert os.readlink(src) == os.readlink(got)
                continue
            assert g.st_mtime == SDE, rel
            want = s.st_mode & 0o777 & ~0o022 | 0o644
            if stat.S_ISDIR(s.st_mode) or s.st_mode & 0o111:
                want |= 0o111
            assert stat.S_IMODE(g.st_mode) == want, rel
            if stat.S_ISREG(s.st_mode):
                assert open(src, "rb").read() == open(got, "rb").read(), rel
    assert os.lstat(f"{dest}/bin/tool").st_ino == os.lstat(f"{dest}/bin/tool-hardlink").st_ino
    os.chmod(f"{dest}/ro-dir", 0o755)


def test_unpack_refuses_hostile_tarball(tmp_path):
    evil = str(tmp_path / "evil.tar")
    with tarfile.open(evil, "w", format=tarfile.PAX_FORMAT) as t:
        ok = tarfile.TarInfo("ok")
        ok.size = 0
        t.addfile(ok)
        bad = tarfile.TarInfo("../escaped")
        bad.size = 0
        t.addfile(bad)
    dest = tmp_path / "dest"
    r = run("unpack", evil, str(dest))
    assert r.returncode == 125
    assert "entry '../escaped'" in r.stderr and "'..' component" in r.stderr
    assert not dest.exists()        # unpack made DIR, so a refusal removes it again
    assert not (tmp_path / "escaped").exists()
    dest.mkdir()                    # a DIR that was there before is emptied, not removed
    r = run("unpack", evil, str(dest))
    assert r.returncode == 125 and list(dest.iterdir()) == []
