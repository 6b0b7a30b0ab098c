"""The README's two commands on a machine where the build dependencies are
missing when make parses the Makefile (issue 21, point 1).

A PATH of shims plays the fresh machine: `pkg-config` and `dpkg-query`
fail until `apt-get` (which `make deps` calls) has "installed" the
packages, then both hand over to the real tools.  A make that read
pkg-config before its deps step compiled without -I/usr/include/postgresql
and failed on libpq-fe.h.  The tree is a copy in a 0700 directory (the
README: "from a clone anywhere"), and its objects are copied too, except
the one that needs libpq's header and the binary, so the test rebuilds only
those; the full tier on a bare debootstrap'd root is tests/fresh-machine.sh."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, root_only

pytestmark = [root_only, pytest.mark.untimed]

SHIM = """#!/bin/sh
# fresh-machine shim: {name} fails until apt-get has run
if [ -e "$FRESH_MARK" ]; then
	exec {real} "$@"
fi
{before}
"""


def write_shim(bindir, name, before):
    real = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    assert real, f"{name} is not installed"
    path = bindir / name
    path.write_text(SHIM.format(name=name, real=real, before=before))
    path.chmod(0o755)


def fresh_machine_path(tmp_path):
    bindir = tmp_path / "shims"
    bindir.mkdir()
    write_shim(bindir, "pkg-config",
               'for p in "$@"; do case $p in -*) ;; *) echo "Package $p was not found" >&2;; esac;'
               ' done\nexit 1')
    write_shim(bindir, "dpkg-query", "exit 1")
    apt = bindir / "apt-get"
    apt.write_text('#!/bin/sh\necho "apt-get $*" >> "$FRESH_MARK.log"\n'
                   'case "$1" in install) touch "$FRESH_MARK";; esac\n')
    apt.chmod(0o755)
    return f"{bindir}:{os.environ['PATH']}"


def copy_tree(dest):
    """This checkout's files (tracked and new, not ignored) and its build/obj."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
    dest.mkdir(mode=0o700)
    subprocess.run(["tar", "--null", "-T", "-", "-cf", "-"], cwd=ROOT, input=files.stdout,
                   stdout=open(dest / ".tree.tar", "wb"), check=True)
    subprocess.run(["tar", "-xf", ".tree.tar"], cwd=dest, check=True)
    os.unlink(dest / ".tree.tar")
    for sub in ("obj", "probes"):
        shutil.copytree(os.path.join(ROOT, "build", sub), dest / "build" / sub,
                        symlinks=True, copy_function=shutil.copy2)
    os.unlink(dest / "build" / "obj" / "history" / "libpq_lazy.o")


@pytest.fixture
def fresh(tmp_path):
    tree = tmp_path / "private" / "pgo-sandbox"
    (tmp_path / "private").mkdir(mode=0o700)
    copy_tree(tree)
    env = {**os.environ, "PATH": fresh_machine_path(tmp_path),
           "FRESH_MARK": str(tmp_path / "installed")}
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)
    return tree, env, tmp_path / "installed"


def test_make_demo_builds_in_one_invocation_when_deps_come_late(fresh):
    tree, env, mark = fresh
    # the demo's pipelines are the demo tier's business: here, what make
    # built is what matters
    (tree / "fixtures" / "demo.sh").write_text(
        '#!/bin/bash\nset -e\nbuild/pgo-sandbox version\necho "demo: ran"\n')
    r = subprocess.run(["make", "-j2", "demo"], cwd=tree, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert mark.exists(), "the deps step did not run"
    assert "install" in open(f"{mark}.log").read()
    assert "demo: ran" in r.stdout
    assert (tree / "build" / "obj" / "history" / "libpq_lazy.o").exists()


def test_make_check_builds_in_one_invocation_when_deps_come_late(fresh):
    tree, env, mark = fresh
    # run-all.sh's first tier is the build; the rest is the check tiers'
    (tree / "tests" / "run-all.sh").write_text(
        '#!/bin/bash\nset -e\nmake -j2 build/obj/history/libpq_lazy.o\n'
        'echo "check: 1 passed, 0 failed"\n')
    r = subprocess.run(["make", "check"], cwd=tree, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert mark.exists()
    assert (tree / "build" / "obj" / "history" / "libpq_lazy.o").exists()


def test_building_without_deps_names_the_missing_packages(fresh):
    tree, env, mark = fresh
    r = subprocess.run(["make", "build/obj/history/libpq_lazy.o"], cwd=tree, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "libpq" in r.stderr and "make deps" in r.stderr, r.stderr
    assert "No such file or directory" not in r.stderr
