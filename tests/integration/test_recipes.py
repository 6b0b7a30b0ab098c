"""What a pipeline stacks on IR PGO (fixtures/minilang/pipeline-clang-cs.ini,
clang-19): context-sensitive PGO (cs-instrument, cs-train, cs-merge),
function ordering from a temporal profile, machine-function splitting.
The generated flags, the artifacts from two checkout paths, the order file
applied at the link, a stale or foreign context-sensitive profile refused,
and the toolchains that cannot do a technique saying so."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, run
from test_pgo import copy_fixture, provenance, set_raw_version, sha256

STAGES = ["instrument", "train", "merge", "cs-instrument", "cs-train", "cs-merge", "build"]

pytestmark = [
    pytest.mark.skipif(shutil.which("clang-19") is None or
                       not os.path.exists("/usr/lib/llvm-19/bin/ld.lld"),
                       reason="needs clang-19 and lld-19 (ci/install-deps.sh)"),
    pytest.mark.untimed,
]


def pgo(*args, timeout=600):
    return run(*args, timeout=timeout)


@pytest.fixture(scope="module")
def two_checkouts(tmp_path_factory):
    """The recipe pipeline, instrument to build, from two checkout paths."""
    tmp = tmp_path_factory.mktemp("recipes")
    runs = []
    for where in ("one/deeper/checkout", "two"):
        src = copy_fixture(str(tmp / where / "minilang"))
        pipeline = os.path.join(src, "pipeline-clang-cs.ini")
        art = str(tmp / where / "art")
        r = pgo("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "build")
        assert r.returncode == 0, r.stdout + r.stderr
        runs.append((src, pipeline, art))
    return runs


def env_of(tarball):
    return dict(kv.split("=", 1) for kv in provenance(tarball)["environment"])


def test_generated_flags_present_and_recorded(two_checkouts):
    _, _, art = two_checkouts[0]
    inst = env_of(os.path.join(art, "instrument.tar.zst"))
    cs = env_of(os.path.join(art, "cs-instrument.tar.zst"))
    build = env_of(os.path.join(art, "build.tar.zst"))
    assert inst["PGO_CC"] == "clang-19"
    assert "-mllvm -pgo-temporal-instrumentation" in inst["PGO_GENERATE_FLAGS"]
    assert cs["PGO_GENERATE_FLAGS"].startswith(
        "-fprofile-use=/build/in/merge/profile/merged.profdata -fcs-profile-generate")
    use = build["PGO_USE_FLAGS"]
    assert use.startswith("-fprofile-use=/build/in/cs-merge/profile/merged.profdata")
    assert "-fsplit-machine-functions" in use
    assert "-Wl,--symbol-ordering-file=/build/in/cs-merge/profile/symbol-order.txt" in use
    recipe = provenance(os.path.join(art, "build.tar.zst"))["pipeline"]["recipe"]
    assert recipe == {"cc": "clang-19", "context_sensitive": True, "function_order": True,
                      "split_machine_functions": True}
    # the merges: llvm-profdata 19 chosen for clang-19's raw version 10,
    # the symbol order written and carried into cs-merge
    merge = provenance(os.path.join(art, "merge.tar.zst"))["results"]
    assert merge["llvm_profdata"]["llvm_major"] == 19
    assert merge["symbol_order"]["symbols"] > 20
    csm = provenance(os.path.join(art, "cs-merge.tar.zst"))["results"]
    assert csm["symbol_order"]["digest"] == merge["symbol_order"]["digest"]
    assert csm["merged_profile"] != merge["merged_profile"]


def test_artifacts_identical_from_two_checkout_paths(two_checkouts):
    digests = [{s: sha256(os.path.join(art, s + ".tar.zst")) for s in STAGES}
               for _, _, art in two_checkouts]
    assert digests[0] == digests[1]


def unpack(tarball, where):
    os.makedirs(where, exist_ok=True)
    assert pgo("unpack", tarball, where).returncode == 0
    return where


def inversions(binary, order):
    """Pairs of consecutive order-file symbols the binary lays out the
    other way round (symbols defined once, as text, only; a name listed
    twice, static functions of two files, counts where lld puts it: at
    its first line)."""
    out = subprocess.run(["nm", "-n", binary], capture_output=True, text=True).stdout
    addr, seen = {}, {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tT":
            seen[p[2]] = seen.get(p[2], 0) + 1
            addr.setdefault(p[2], int(p[0], 16))
    placed = [s for s in dict.fromkeys(order) if seen.get(s) == 1]
    return len(placed), sum(1 for a, b in zip(placed, placed[1:]) if addr[b] < addr[a])


def test_order_file_applied_at_the_link(two_checkouts, tmp_path):
    _, _, art = two_checkouts[0]
    merge = unpack(os.path.join(art, "merge.tar.zst"), str(tmp_path / "merge"))
    order = [s.strip() for s in open(os.path.join(merge, "profile", "symbol-order.txt"))
             if s.strip()]
    build = unpack(os.path.join(art, "build.tar.zst"), str(tmp_path / "build"))
    control = unpack(os.path.join(art, "cs-instrument.tar.zst"), str(tmp_path / "cs"))
    placed, bad = inversions(os.path.join(build, "minilang"), order)
    assert placed >= 20 and bad == 0, (placed, bad)
    # the control: a binary linked without the order does not follow it
    _, control_bad = inversions(os.path.join(control, "minilang"), order)
    assert control_bad > 0


def copy_art(art, where):
    dst = str(where / "art")
    shutil.copytree(art, dst)
    return dst


def repack(art, stage, change):
    """Unpack STAGE's tarball, let `change(dir)` alter it, repack it with a
    correct digest record (only the stage's own checks may object)."""
    work = os.path.join(art, "..", stage + "-unpacked")
    shutil.rmtree(work, ignore_errors=True)
    tarball = os.path.join(art, stage + ".tar.zst")
    unpack(tarball, work)
    result = change(work)
    os.unlink(tarball)
    assert pgo("pack", work, tarball, "--mtime", "1700000000").returncode == 0
    with open(tarball + ".sha256", "w") as f:
        f.write(f"{sha256(tarball)[7:]}  {stage}.tar.zst\n")
    return result


def test_stale_cs_profile_is_refused_naming_both_profiles(two_checkouts, tmp_path):
    _, pipeline, art = two_checkouts[0]
    art = copy_art(art, tmp_path)
    old = provenance(os.path.join(art, "merge.tar.zst"))["results"]["merged_profile"]

    def drop_one_profile(work):
        prof = os.path.join(work, "profile")
        os.unlink(os.path.join(prof, sorted(os.listdir(prof))[0]))

    # the first pass is retrained (one input fewer): cs-train's profiles
    # now describe a build of another first pass
    repack(art, "train", drop_one_profile)
    r = pgo("stage", "merge", "--pipeline", pipeline, "--artifacts", art)
    assert r.returncode == 0, r.stderr
    new = provenance(os.path.join(art, "merge.tar.zst"))["results"]["merged_profile"]
    assert new != old
    r = pgo("stage", "cs-merge", "--pipeline", pipeline, "--artifacts", art)
    assert r.returncode != 0
    assert "stale context-sensitive profile" in r.stderr, r.stderr
    assert old in r.stderr and new in r.stderr


def test_foreign_cs_profile_is_refused_naming_both_versions(two_checkouts, tmp_path):
    _, pipeline, art = two_checkouts[0]
    art = copy_art(art, tmp_path)
    victim = repack(art, "cs-train", lambda work: set_raw_version(work, 8))
    r = pgo("stage", "cs-merge", "--pipeline", pipeline, "--artifacts", art)
    assert r.returncode != 0
    assert victim in r.stderr
    assert "raw profile format version 8" in r.stderr and "reads only version 10" in r.stderr


def variant(src, name, tmp_path, edits):
    text = open(os.path.join(src, name)).read().replace("source = .\n", f"source = {src}\n")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = str(tmp_path / ("variant-" + name))
    with open(path, "w") as f:
        f.write(text)
    return path


CS_STAGE = """
[stage cs-instrument]
profile = build
inputs = merge source
command = true
outputs = x
"""


@pytest.mark.parametrize("compiler,expect", [
    ("gcc", "gcc has no context-sensitive PGO"),
])
def test_toolchain_without_cs_pgo_says_so(compiler, expect, tmp_path):
    src = copy_fixture(str(tmp_path / "minilang"))
    path = variant(src, "pipeline-gcc.ini", tmp_path, [("[stage bench]", CS_STAGE + "\n[stage bench]")])
    r = pgo("stage", "instrument", "--pipeline", path, "--artifacts", str(tmp_path / "art"))
    assert r.returncode == 125
    assert expect in r.stderr, r.stderr
    line = open(path).read().split("\n").index("[stage cs-instrument]") + 1
    assert f"{path}:{line}:" in r.stderr


def test_rustc_asked_for_cs_pgo_gets_a_clear_error(tmp_path):
    if shutil.which("rustc") is None and not os.path.exists(os.path.expanduser("~/.cargo/bin/rustc")):
        pytest.skip("no rustc")
    src = os.path.join(ROOT, "fixtures", "monocheck")
    path = variant(src, "pipeline-rust.ini", tmp_path, [("[stage bench]", CS_STAGE + "\n[stage bench]")])
    env = dict(os.environ, PATH=os.path.expanduser("~/.cargo/bin") + ":" + os.environ["PATH"])
    r = run("stage", "instrument", "--pipeline", path, "--artifacts", str(tmp_path / "art"),
            timeout=120, env=env)
    assert r.returncode == 125
    assert "rustc has no flag for context-sensitive PGO" in r.stderr, r.stderr


def test_function_order_needs_clang_17(tmp_path):
    src = copy_fixture(str(tmp_path / "minilang"))
    path = variant(src, "pipeline-clang.ini", tmp_path,
                   [("compiler = clang\n", "compiler = clang\ncc = clang-14\nfunction-order = on\n")])
    r = pgo("stage", "instrument", "--pipeline", path, "--artifacts", str(tmp_path / "art"))
    assert r.returncode == 125
    assert "function-order needs clang >= 17" in r.stderr and "cc = clang-19" in r.stderr
