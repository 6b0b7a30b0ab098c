"""BOLT after PGO (issue 16): bolt-instrument (llvm-bolt -instrument),
bolt-train (sharded, the release's knobs), bolt (merge-fdata, llvm-bolt
with block and function reordering and hot/cold splitting) for gcc, clang
and rustc outputs, reproducible; and the refusals users hit: a binary
linked without relocations, a stripped binary, a profile that matches
nothing."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, ROOTLESS, run
from test_pgo import provenance

MINILANG = os.path.join(ROOT, "fixtures", "minilang")
MONOCHECK = os.path.join(ROOT, "fixtures", "monocheck")
BOLT_STAGES = ["bolt-instrument", "bolt-train.1of2", "bolt-train.2of2", "bolt"]

pytestmark = [
    pytest.mark.skipif(ROOTLESS, reason="the root run covers it"),
    pytest.mark.skipif(not os.path.exists("/usr/lib/llvm-19/bin/llvm-bolt"),
                       reason="bolt-19 is not installed (make deps installs it)"),
    pytest.mark.untimed,
]


def variant(src, name, where, edit=()):
    text = open(os.path.join(src, name)).read().replace("source = .\n", f"source = {src}\n")
    for old, new in edit:
        assert old in text, old
        text = text.replace(old, new)
    path = os.path.join(where, "variant-" + name)
    with open(path, "w") as f:
        f.write(text)
    return path


@pytest.fixture(scope="module")
def gcc_bolt(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bolt-gcc")
    src = str(tmp / "minilang")
    shutil.copytree(MINILANG, src, ignore=shutil.ignore_patterns("artifacts"))
    art = str(tmp / "art")
    pipeline = os.path.join(src, "pipeline-gcc-bolt.ini")
    r = run("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "bolt",
            timeout=600)
    return src, pipeline, art, r


def check_bolt_artifact(art, r):
    assert r.returncode == 0, r.stdout + r.stderr
    for stage in BOLT_STAGES:
        assert os.path.exists(os.path.join(art, f"{stage}.tar.zst")), stage
    bolt = provenance(os.path.join(art, "bolt.tar.zst"))["results"]["bolt"]
    assert bolt["functions_with_profile"] > 0 and bolt["stale_samples_pct"] < 50
    # the options pgo-bolt ran (the runner's default here) are the ones recorded
    env = dict(kv.split("=", 1) for kv in provenance(os.path.join(art, "bolt.tar.zst"))["environment"])
    assert bolt["options"] == env["PGO_BOLT_OPTIONS"]
    assert "-reorder-blocks=" in bolt["options"]
    assert bolt["fdata_files"] >= 2     # both shards' processes
    train = provenance(os.path.join(art, "bolt-train.2of2.tar.zst"))
    assert train["shard"] == {"index": 2, "count": 2}
    assert "release tarball: " + os.path.join(art, "bolt.tar.zst") in r.stdout
    return bolt


def test_gcc_pgo_build_is_bolted_reproducibly(gcc_bolt, tmp_path):
    src, pipeline, art, r = gcc_bolt
    check_bolt_artifact(art, r)
    knobs = provenance(os.path.join(art, "bolt-train.1of2.tar.zst"))["results"]["training_knobs"]
    assert knobs == {"MINILANG_GC_THRESHOLD": "4M"}   # the release's, as for PGO
    names = subprocess.run(["tar", "-tf", os.path.join(art, "bolt.tar.zst")],
                           capture_output=True, text=True).stdout.split()
    assert "minilang" in names and "profile/merged.fdata" in names
    v = run("verify", "bolt", "--pipeline", pipeline, "--artifacts", art, timeout=600)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "identical" in v.stdout
    bench = provenance(os.path.join(art, "bolt.tar.zst"))["stage"]
    assert bench["inputs"] == ["build", "bolt-train"]


def test_unfollowed_jump_tables_are_named(gcc_bolt, tmp_path):
    # gcc's PIE build: llvm-bolt 19 cannot follow the interpreter loop's jump
    # table, copies run_source unchanged, and the stage says so; linked
    # without PIE, every jump table is followed and nothing is said.
    src, pipeline, art, r = gcc_bolt
    bolt = provenance(os.path.join(art, "bolt.tar.zst"))["results"]["bolt"]
    assert "run_source" in bolt["jump_tables_not_followed"], bolt
    assert bolt["not_optimized"] > 0
    assert "bolt: BOLT cannot follow the jump tables of " in r.stdout, r.stdout
    nopie = variant(src, "pipeline-gcc-bolt.ini", str(tmp_path), edit=[(
        " $PGO_BOLT_LDFLAGS -o /build/out/minilang",
        " $PGO_BOLT_LDFLAGS -fno-pie -no-pie -o /build/out/minilang")])
    other = str(tmp_path / "art")
    r2 = run("pipeline", "--pipeline", nopie, "--artifacts", other, "--until", "bolt",
             timeout=600)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    bolt = provenance(os.path.join(other, "bolt.tar.zst"))["results"]["bolt"]
    assert bolt["jump_tables_not_followed"] == [], bolt
    assert "BOLT cannot follow" not in r2.stdout


def test_clang_pgo_build_is_bolted(tmp_path):
    src = str(tmp_path / "minilang")
    shutil.copytree(MINILANG, src, ignore=shutil.ignore_patterns("artifacts"))
    art = str(tmp_path / "art")
    r = run("pipeline", "--pipeline", os.path.join(src, "pipeline-clang-bolt.ini"),
            "--artifacts", art, "--until", "bolt", timeout=600)
    check_bolt_artifact(art, r)


def test_rustc_pgo_build_is_bolted(tmp_path):
    from test_rust import SYSROOT, has_profiler, rust_env
    if SYSROOT is None or not has_profiler(SYSROOT):
        pytest.skip("no rustc with a profiler runtime (test_rust.py says why)")
    src = str(tmp_path / "monocheck")
    shutil.copytree(MONOCHECK, src, ignore=shutil.ignore_patterns("artifacts", "target"))
    art = str(tmp_path / "art")
    r = run("pipeline", "--pipeline", os.path.join(src, "pipeline-rust-bolt.ini"),
            "--artifacts", art, "--until", "bolt", timeout=900, env=rust_env())
    check_bolt_artifact(art, r)


def test_binary_without_relocations_is_named(gcc_bolt, tmp_path):
    src, pipeline, art, r = gcc_bolt
    other = variant(src, "pipeline-gcc-bolt.ini", str(tmp_path), edit=[(
        " $PGO_BOLT_LDFLAGS -o /build/out/minilang", " -o /build/out/minilang")])
    r = run("pipeline", "--pipeline", other, "--artifacts", str(tmp_path / "art"),
            "--until", "bolt-instrument", timeout=600)
    assert r.returncode != 0
    assert "stage bolt-instrument failed" in r.stderr, r.stderr
    assert "link the input with $PGO_BOLT_LDFLAGS (-Wl,--emit-relocs" in r.stderr


def test_stripped_binary_is_named(gcc_bolt, tmp_path):
    src, pipeline, art, r = gcc_bolt
    other = variant(src, "pipeline-gcc-bolt.ini", str(tmp_path), edit=[(
        "\t/build/out/minilang --selftest >/dev/null\noutputs = minilang\n\n[stage bolt-instrument]",
        "\tstrip /build/out/minilang\n\t/build/out/minilang --selftest >/dev/null\n"
        "outputs = minilang\n\n[stage bolt-instrument]")])
    r = run("pipeline", "--pipeline", other, "--artifacts", str(tmp_path / "art"),
            "--until", "bolt-instrument", timeout=600)
    assert r.returncode != 0
    assert "cannot rewrite a stripped binary" in r.stderr, r.stderr


def test_profile_that_matches_nothing_fails_the_bolt_stage(gcc_bolt, tmp_path):
    src, pipeline, module_art, r = gcc_bolt
    art = str(tmp_path / "art")
    shutil.copytree(module_art, art)
    for shard in ("bolt-train.1of2", "bolt-train.2of2"):
        work = str(tmp_path / shard)
        tarball = os.path.join(art, f"{shard}.tar.zst")
        assert run("unpack", tarball, work).returncode == 0
        for dirpath, _, files in os.walk(work):
            for f in files:
                if f.endswith(".fdata"):
                    with open(os.path.join(dirpath, f), "w") as out:
                        out.write("1 no_such_function 10 1 no_such_function 20 0 1000\n")
        os.unlink(tarball)
        assert run("pack", work, tarball, "--mtime", "1700000000").returncode == 0
        digest = subprocess.run(["sha256sum", tarball], capture_output=True,
                                text=True).stdout.split()[0]
        with open(tarball + ".sha256", "w") as f:
            f.write(f"{digest}  {shard}.tar.zst\n")
    r = run("stage", "bolt", "--pipeline", pipeline, "--artifacts", art, timeout=600)
    assert r.returncode != 0
    assert "the BOLT profile matches little of the binary" in r.stderr or \
        "holds no profile" in r.stderr, r.stdout + r.stderr
