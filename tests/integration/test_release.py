"""`make release` is byte-reproducible across checkout paths, umask, TZ and
locale; `make install` puts the binary, man page, profiles and completion
where they belong."""
import hashlib
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, ROOTLESS

pytestmark = [
    pytest.mark.skipif(ROOTLESS, reason="builds the tree; the root run covers it"),
    pytest.mark.untimed,
]


def checkout_copy(dest):
    """The tracked and untracked-but-not-ignored files, as a fresh clone has."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.split(b"\0")
    for f in filter(None, files):
        src = os.path.join(ROOT, f.decode())
        if not os.path.lexists(src):
            continue
        dst = os.path.join(dest, f.decode())
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)
    git = os.path.join(ROOT, ".git")
    if os.path.isdir(git):
        shutil.copytree(git, os.path.join(dest, ".git"), symlinks=True)
    else:   # a worktree's .git file, naming its git directory
        shutil.copy2(git, os.path.join(dest, ".git"))


def release(tree, umask, tz, lang):
    env = dict(os.environ, TZ=tz, LANG=lang, LC_ALL=lang)
    r = subprocess.run(["sh", "-c", f"umask {umask}; make -s release"], cwd=tree, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    out = [f for f in os.listdir(tree) if f.endswith("-x86_64-linux.tar.gz")]
    assert len(out) == 1, out
    return os.path.join(tree, out[0])


def test_release_tarball_is_identical_from_two_checkout_paths(tmp_path):
    a = tmp_path / "a" / "checkout"
    b = tmp_path / "another-path" / "src" / "pgo"
    checkout_copy(a)
    checkout_copy(b)
    ta = release(a, "022", "UTC", "C.UTF-8")
    tb = release(b, "077", "Asia/Tokyo", "C")
    da = hashlib.sha256(open(ta, "rb").read()).hexdigest()
    db = hashlib.sha256(open(tb, "rb").read()).hexdigest()
    assert da == db, "release tarballs differ"
    listing = subprocess.run(["tar", "-tzf", ta], capture_output=True, text=True).stdout
    for member in ("bin/pgo-sandbox", "share/man/man1/pgo-sandbox.1",
                   "share/pgo-sandbox/profiles/build.ini", "share/doc/pgo-sandbox/README.md",
                   "share/bash-completion/completions/pgo-sandbox"):
        assert member in listing, member
    # no build path leaks into the binary
    binary = subprocess.run(["tar", "-xzOf", ta, os.path.basename(ta)[:-7] + "/bin/pgo-sandbox"],
                            capture_output=True).stdout
    assert binary and str(a).encode() not in binary and str(b).encode() not in binary


def test_make_install(tmp_path):
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={tmp_path}", "PREFIX=/usr"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for f in ("usr/bin/pgo-sandbox", "usr/share/man/man1/pgo-sandbox.1",
              "usr/share/bash-completion/completions/pgo-sandbox"):
        assert (tmp_path / f).exists(), f
    assert list((tmp_path / "usr/share/pgo-sandbox/profiles").glob("*.ini"))
