"""`pgo-sandbox image`: the host image's digest and the compiler facts behind
it, directory and tarball digests, and a pinned Debian image built with
debootstrap, rebuilt to the same digest, and used by `run --image` for a
PGO compile.

The image build needs root and a Debian mirror.  snapshot.debian.org is
the definitions' source; where it cannot be reached (as on the project's
CI machines) the build uses `--mirror apt`, the mirror this machine's apt
uses, and the image's JSON records that the snapshot pin was not
honoured.  The .debs are cached in build-image-cache/ (PGO_IMAGE_CACHE)."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request

import pytest

from conftest import ROOT, run, root_only

pytestmark = pytest.mark.untimed

CACHE = os.environ.get("PGO_IMAGE_CACHE", os.path.join(ROOT, "build-image-cache"))
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
# minbase plus what a C compile needs: about 70 MB of .debs, ~35 s cold
TINY = """[image]
suite = bookworm
variant = minbase
snapshot = 20261101T000000Z
arch = amd64
packages = gcc libc6-dev
"""
BUILD_TIMEOUT = 600
HELLO = r"""#include <stdio.h>
static int work(int n) { int s = 0; for (int i = 0; i < n; i++) s += i % 7 ? i : -i; return s; }
int main(void) { printf("hello from the image %d\n", work(10000)); return 0; }
"""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def readable_dir():
    """A temporary directory others may read (tmp_path is 0700)."""
    d = tempfile.mkdtemp(prefix="pgo-image-def.")
    os.chmod(d, 0o755)
    return d


def write_definition(directory, name, text=TINY):
    path = os.path.join(directory, name + ".ini")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return os.path.join(directory, name)


def build(definition, out, *extra):
    return run("image", "build", definition, "--out", out, "--mirror", "apt",
               "--cache-dir", CACHE, *extra, timeout=BUILD_TIMEOUT)


def skip_unless_built(r):
    """Skip (saying why) when no Debian mirror answers; fail otherwise."""
    if r.returncode != 0 and ("is unreachable" in r.stderr or "no apt source" in r.stderr):
        pytest.skip("no Debian mirror reachable from this machine, so no image can be "
                    "built: " + r.stderr.strip())
    assert r.returncode == 0, r.stderr


# ---- command line ----

@pytest.mark.parametrize("args", [("image", "--help"), ("image", "build", "--help"),
                                  ("image", "digest", "--help")])
def test_help(args):
    r = run(*args)
    assert r.returncode == 0, r.stderr
    assert "pgo-sandbox image build DEFINITION" in r.stdout
    assert "Examples:" in r.stdout


def test_usage_errors():
    assert run("image").returncode == 125
    r = run("image", "digest")
    assert r.returncode == 125 and "needs one IMAGE" in r.stderr
    r = run("image", "build", "/nonexistent/images/nothing")
    assert r.returncode == 125
    assert "/nonexistent/images/nothing.ini" in r.stderr


# ---- digests ----

def test_host_digest_is_stable_and_names_the_compiler():
    a = run("image", "digest", "host", "--json")
    b = run("image", "digest", "host", "--json")
    plain = run("image", "digest", "host")
    assert a.returncode == 0 and b.returncode == 0 and plain.returncode == 0, a.stderr
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert DIGEST_RE.match(da["digest"])
    assert da["digest"] == db["digest"] == plain.stdout.strip()
    assert da["facts"] == db["facts"]
    tools = da["facts"]["tools"]
    assert "gcc" in tools, "gcc is in /usr/bin on every machine that builds pgo-sandbox"
    gcc = tools["gcc"]
    assert gcc["path"].startswith("/usr/") and os.path.isfile(gcc["path"])
    assert gcc["sha256"] == sha256_file(gcc["path"])
    assert "gcc" in gcc["version"] and re.search(r"\d+\.\d+", gcc["version"])
    if os.path.exists("/etc/debian_version"):
        assert da["facts"]["debian_version"] == open("/etc/debian_version").read().strip()


def test_directory_digest_ignores_mtimes_not_contents(tmp_path):
    tree = tmp_path / "root"
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "usr" / "bin" / "tool").write_text("v1")
    first = run("image", "digest", str(tree))
    assert first.returncode == 0, first.stderr
    os.utime(tree / "usr" / "bin" / "tool", (1, 1))
    assert run("image", "digest", str(tree)).stdout == first.stdout
    (tree / "usr" / "bin" / "tool").write_text("v2")
    assert run("image", "digest", str(tree)).stdout != first.stdout


def test_tarball_digest_is_the_file_digest(tmp_path):
    tarball = tmp_path / "x.tar"
    tarball.write_bytes(b"\0" * 10240)
    r = run("image", "digest", str(tarball))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == sha256_file(tarball)


# ---- building an image ----

@root_only
def test_build_refused_without_root():
    d = readable_dir()
    try:
        definition = write_definition(d, "tiny")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            os.environ.get("PGO_SANDBOX", os.path.join(ROOT, "build",
                                                                       "pgo-sandbox")),
                            "image", "build", definition, "--out", d + "/out"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 125
        assert "needs root" in r.stderr
        assert not os.path.exists(d + "/out")
    finally:
        shutil.rmtree(d)


def snapshot_reachable():
    try:
        urllib.request.urlopen("https://snapshot.debian.org/", timeout=10)
        return True
    except OSError:
        return False


@root_only
def test_unreachable_snapshot_is_named(tmp_path):
    if snapshot_reachable():
        pytest.skip("snapshot.debian.org answers here, so the unreachable case cannot be shown")
    d = readable_dir()
    try:
        definition = write_definition(d, "tiny")
        r = run("image", "build", definition, "--out", str(tmp_path / "out"), timeout=120)
        assert r.returncode == 125
        assert "snapshot 20261101T000000Z is unreachable" in r.stderr
        assert "--mirror" in r.stderr
        assert not (tmp_path / "out").exists()
    finally:
        shutil.rmtree(d)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if os.getuid() != 0:
        pytest.skip("image build needs root")
    d = readable_dir()
    out = str(tmp_path_factory.mktemp("images"))
    definition = write_definition(d, "tiny")
    r = build(definition, out)
    shutil.rmtree(d)
    try:
        skip_unless_built(r)
        with open(os.path.join(out, "tiny.json")) as f:
            meta = json.load(f)
        yield {"stdout": r.stdout, "tarball": os.path.join(out, "tiny.tar.zst"), "meta": meta}
    finally:
        shutil.rmtree(out)  # ~100 MB; pytest would keep it for three runs


def test_build_writes_tarball_digest_and_package_list(built):
    digest, path = built["stdout"].split()
    assert path == built["tarball"] and DIGEST_RE.match(digest)
    assert sha256_file(path) == digest
    meta = built["meta"]
    assert meta["digest"] == digest and meta["tarball"] == "tiny.tar.zst"
    assert meta["definition"]["packages"] == ["gcc", "libc6-dev"]
    assert meta["definition"]["snapshot"] == "20261101T000000Z"
    assert meta["snapshot_honoured"] is False, "built from --mirror apt, not the snapshot"
    assert meta["snapshot_url"].endswith("/20261101T000000Z")
    assert meta["mirror"] != meta["snapshot_url"]
    assert re.match(r"^\d+\.\d+", meta["debian_version"])
    for pkg in ("gcc-12", "libc6", "libc6-dev", "dpkg"):
        assert pkg in meta["packages"], pkg
    assert "/var/log/dpkg.log" in meta["cleaned"]

    r = run("image", "digest", path, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["digest"] == digest
    assert doc["facts"]["packages"]["gcc-12"] == meta["packages"]["gcc-12"]


def test_image_tarball_holds_no_devices_logs_or_host_files(built):
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    names = set(subprocess.run(["tar", "--zstd", "-tf", built["tarball"]], capture_output=True,
                               text=True, check=True, env=env).stdout.splitlines())
    verbose = subprocess.run(["tar", "--zstd", "--full-time", "-tvf", built["tarball"]],
                             capture_output=True, text=True, check=True,
                             env=env).stdout.splitlines()
    assert "dev/" in names and not any(n.startswith("dev/") and n != "dev/" for n in names)
    assert "usr/bin/gcc-12" in names
    for gone in ("var/log/dpkg.log", "etc/hostname", "etc/resolv.conf",
                 "var/cache/ldconfig/aux-cache"):
        assert gone not in names, gone
    assert not any(line[0] in "cbps" for line in verbose), "device, fifo or socket"
    # every entry carries the snapshot's time, whatever day it was built
    assert all(" 2026-11-01 00:00:00 " in line for line in verbose), verbose[:3]


def test_run_in_image(built):
    r = run("run", "--image", built["tarball"], "--", "/bin/sh", "-c",
            "cat /etc/debian_version", timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == built["meta"]["debian_version"]


def test_pgo_compile_in_image(built, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    (src / "hello.c").write_text(HELLO)
    os.chmod(tmp_path, 0o755)
    os.chmod(src, 0o755)
    os.chown(out, 65534, 65534)
    # instrument, train, rebuild with the profile: the same output name both
    # times, so the second compile finds the .gcda the first one's binary wrote
    script = ("set -e; cd /out; "
              "gcc -O2 -fprofile-generate -o hello /src/hello.c; ./hello; ls *.gcda; "
              "gcc -O2 -fprofile-use -Werror=missing-profile -o hello /src/hello.c; ./hello")
    r = run("run", "--image", built["tarball"], "--ro-bind", str(src), "/src",
            "--bind", str(out), "/out", "--", "/bin/sh", "-c", script, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "hello from the image 35710716" and lines[-1] == lines[0]
    assert any(line.endswith(".gcda") for line in lines)
    assert (out / "hello").exists()


def test_rebuild_gives_the_same_digest(built, tmp_path_factory):
    d = readable_dir()
    out = str(tmp_path_factory.mktemp("images-again"))
    definition = write_definition(d, "tiny")
    r = build(definition, out)
    shutil.rmtree(d)
    try:
        skip_unless_built(r)
        with open(os.path.join(out, "tiny.json")) as f:
            again = json.load(f)
    finally:
        shutil.rmtree(out)
    if again["packages"] != built["meta"]["packages"]:
        pytest.skip("the mirror published new package versions between the two builds")
    assert again["digest"] == built["meta"]["digest"], \
        "same definition, same packages, different image: see images/README.md"
    assert r.stdout.split()[0] == built["stdout"].split()[0]


def test_pipeline_stage_inside_the_image(built, tmp_path):
    """A pipeline stage with `image = TARBALL`: the stage runs in the pinned
    image and its provenance records the image's digest."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.c").write_text(HELLO)
    os.chmod(tmp_path, 0o755)
    os.chmod(src, 0o755)
    (src / "p.ini").write_text(
        "[pipeline]\nname = hello\nsource = .\n"
        f"image = {built['tarball']}\n"
        f"profiles = {os.path.join(ROOT, 'profiles')}\n"
        f"artifacts = {tmp_path / 'artifacts'}\nsource-date-epoch = 1700000000\n\n"
        "[stage instrument]\nprofile = build\ninputs = source\n"
        "command = cd /src && $PGO_CC -O2 $PGO_GENERATE_FLAGS -o /build/out/hello hello.c\n"
        "outputs = hello\n")
    r = run("stage", "instrument", "--pipeline", str(src / "p.ini"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    artifact = tmp_path / "artifacts" / "instrument.tar.zst"
    assert artifact.exists()
    r = run("inspect", str(artifact), "--json")
    assert r.returncode == 0, r.stderr
    digest = built["stdout"].split()[0]
    assert digest in r.stdout, "provenance does not name the image's digest"
