"""Forensics without a hardware PMU (issue 16): cachegrind's simulated
counters (`bench --cachegrind`, metric est-cycles) classify the three
fixture pairs of fixtures/layout, each differing by one kind of layout
only, as that kind; and a classification is printed for the minilang PGO
build against its LTO build.  The counts are deterministic, so the
comparisons need few runs and no quiet machine."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, ROOTLESS, run

LAYOUT = os.path.join(ROOT, "fixtures", "layout")
pytestmark = [
    pytest.mark.skipif(ROOTLESS, reason="the root run covers it (valgrind is slow)"),
    pytest.mark.untimed,
]

EXPECTED = {
    "code": "code layout / inlining / placement",
    "branch": "branch hints / control flow reshaped",
    "data": "data layout / TLS bloat / spills",
}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is missing (make deps installs it)")
    out = tmp_path_factory.mktemp("layout")
    r = subprocess.run(["make", "-s", "-C", LAYOUT, f"OUT={out}"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return out


def bench_sim(a, b, where, *opts):
    result = str(where / "result.json")
    r = run("bench", "--baseline", a, "--candidate", b, "--cachegrind", "--metric",
            "est-cycles", "--runs", "2", "--warmup", "0", "--no-host-tuning", *opts,
            "--json", result, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return result, r


def forensics(result, where):
    out = str(where / "forensics.json")
    r = run("forensics", result, "--json", out)
    assert r.returncode == 0, r.stderr
    return json.load(open(out))["comparisons"][0], r.stdout


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_layout_pair_is_classified_from_simulated_counters(pairs, kind, tmp_path):
    result, r = bench_sim(str(pairs / f"{kind}_a"), str(pairs / f"{kind}_b"), tmp_path,
                          "--ro-bind-idmap", str(pairs), str(pairs))
    doc = json.load(open(result))
    assert doc["schema_version"] == 3
    from test_bench import SCHEMA, validate
    validate(doc, json.load(open(SCHEMA)))
    runs = [x for x in doc["runs"] if x.get("cachegrind")]
    assert runs and all("simulated" in x["cachegrind"]["source"] for x in runs)
    # deterministic: every block measured the same ratio, the interval is that ratio
    cmp = [c for c in doc["analysis"]["comparisons"] if c["metric"] == "est-cycles"][0]
    assert cmp["ci_low_pct"] == cmp["ci_high_pct"] == cmp["estimate_pct"]
    assert cmp["verdict"] == "slower"
    f, text = forensics(result, tmp_path)
    assert f["classes"] == [EXPECTED[kind]], text
    assert f["source"].startswith("simulated (cachegrind")
    assert "a model, not hardware counts" in text
    if kind == "code":
        assert "instruction cache pressure" in text


def test_minilang_pgo_against_lto_gets_a_classification(minilang_gcc, tmp_path):
    # the session's PGO build (conftest.minilang_gcc), copied: only the
    # baseline stage runs here
    src, pipeline, built, r = minilang_gcc
    assert r.returncode == 0, r.stdout + r.stderr
    art = str(tmp_path / "art")
    shutil.copytree(built, art)
    r = run("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "baseline",
            timeout=600)
    assert r.returncode == 0, r.stderr
    for name, stage in (("pgo", "build"), ("lto", "baseline")):
        assert run("unpack", os.path.join(art, f"{stage}.tar.zst"),
                   str(tmp_path / name)).returncode == 0
    train = os.path.join(src, "train")
    result, r = bench_sim(f"{tmp_path}/lto/minilang /train/recursion.ml",
                          f"{tmp_path}/pgo/minilang /train/recursion.ml", tmp_path,
                          "--ro-bind-idmap", str(tmp_path), str(tmp_path), "--ro-bind-idmap", train, "/train")
    f, text = forensics(result, tmp_path)
    assert "classification:" in text and "counters: simulated (cachegrind" in text
    assert "est. front-end IPC" in text and "branch-miss rate" in text
