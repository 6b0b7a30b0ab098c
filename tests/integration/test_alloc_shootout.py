"""The allocator shoot-out (docs/bench.md): fixtures/alloc/alloc-bench.c
under glibc and, by `--preload NAME=LIB` (LD_PRELOAD inside the sandbox),
Debian's jemalloc, mimalloc and tcmalloc; its own ops/s (--metric-regex)
and its peak memory (`rss`) per variant, ratios with intervals, Markdown
and SVG.  A preload library that is missing is an error naming it, before
anything runs."""
import json
import os
import subprocess

import pytest

from conftest import ROOT, run

LIBDIR = "/usr/lib/x86_64-linux-gnu"
ALLOCATORS = {
    "jemalloc": f"{LIBDIR}/libjemalloc.so.2",          # libjemalloc2
    "mimalloc": f"{LIBDIR}/libmimalloc.so.2",          # libmimalloc2.0
    "tcmalloc": f"{LIBDIR}/libtcmalloc_minimal.so.4",  # libtcmalloc-minimal4
}
OPS = "ops:ops/s:higher:ops/s: ([0-9.]+)"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    missing = [p for p in ALLOCATORS.values() if not os.path.exists(p)]
    if missing:
        pytest.fail(f"{missing} missing: ci/install-deps.sh installs libjemalloc2, "
                    "libmimalloc2.0 and libtcmalloc-minimal4")
    d = tmp_path_factory.mktemp("alloc")
    subprocess.run(["cc", "-std=c11", "-O2", "-pthread", "-o", str(d / "alloc-bench"),
                    os.path.join(ROOT, "fixtures", "alloc", "alloc-bench.c")], check=True)
    os.chmod(d, 0o755)  # the sandbox's user runs it
    return str(d)


def bench(workdir, *args):
    return run("bench", "--no-host-tuning", *args, timeout=900, cwd=workdir)


def test_shootout(workdir, tmp_path):
    out, md, svg = (str(tmp_path / f"s.{x}") for x in ("json", "md", "svg"))
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:2])
    variants = ["--variant", "glibc=./alloc-bench 20000"]
    for name, lib in ALLOCATORS.items():
        variants += ["--variant", f"{name}=./alloc-bench 20000", "--preload", f"{name}={lib}"]
    r = bench(workdir, "--cpus", cpus, "--runs", "4", "--warmup", "0", "--metric-regex", OPS,
              *variants, "--json", out, "--markdown", md, "--svg", svg)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.load(open(out))
    assert [v["preload"] for v in doc["variants"]] == [None, *ALLOCATORS.values()]
    metrics = {m["name"]: m for m in doc["metrics"]}
    assert metrics["ops"]["direction"] == "higher" and metrics["rss"]["direction"] == "lower"
    assert doc["settings"]["metric"] == "ops"
    for metric in ("ops", "rss"):
        cmps = [c for c in doc["analysis"]["comparisons"] if c["metric"] == metric]
        # every allocator against glibc, with a ratio and its interval
        assert sorted(c["candidate"] for c in cmps) == [1, 2, 3], cmps
        for c in cmps:
            assert c["baseline"] == 0
            assert c["ratio_low"] <= c["ratio"] <= c["ratio_high"], c
    table = open(md).read()
    for name in ["glibc", *ALLOCATORS]:
        assert name in table
    assert "<svg" in open(svg).read()


def test_the_preload_is_loaded_inside(workdir):
    """grep sees its own maps: with the preload it finds jemalloc (exit 0);
    the same variant without it exits 1, a failed benchmark (exit 4)."""
    maps = "grep -q libjemalloc /proc/self/maps"
    r = bench(workdir, "--runs", "2", "--warmup", "0", "--variant", f"a={maps}",
              "--variant", f"b={maps}", "--preload", f"a={ALLOCATORS['jemalloc']}",
              "--preload", f"b={ALLOCATORS['jemalloc']}")
    assert r.returncode == 0, r.stdout + r.stderr
    r = bench(workdir, "--runs", "2", "--warmup", "0", "--variant", f"a={maps}",
              "--variant", f"b={maps}", "--preload", f"a={ALLOCATORS['jemalloc']}")
    assert r.returncode == 4, r.stdout + r.stderr
    assert "b of benchmark" in r.stderr


def test_missing_preload_is_an_error_naming_it(workdir, tmp_path):
    out = str(tmp_path / "s.json")
    lib = f"{LIBDIR}/libnot-an-allocator.so.9"
    r = bench(workdir, "--runs", "2", "--variant", "glibc=./alloc-bench 1000",
              "--variant", "x=./alloc-bench 1000", "--preload", f"x={lib}", "--json", out)
    assert r.returncode == 125, r.stdout + r.stderr
    assert f"--preload x={lib}: the library {lib} is missing" in r.stderr, r.stderr
    assert not os.path.exists(out)
    r = bench(workdir, "--runs", "2", "--variant", "glibc=./alloc-bench 1000",
              "--variant", "x=./alloc-bench 1000", "--preload", f"y={ALLOCATORS['jemalloc']}")
    assert r.returncode == 125 and "no variant is named y" in r.stderr, r.stderr
