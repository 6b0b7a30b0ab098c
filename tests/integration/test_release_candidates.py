"""A release that picks the best proven build among several candidates
(pipeline/ship_pick.h, docs/bench.md): the bench stage measures every
candidate against the baseline, [release] ships the one whose win is real
by the margin and that no other candidate beats by a real difference, ties
within the margin go to the simpler build (the bench stage's input order).
The benchmarks report throughputs planted by their knobs (0.5 % noise), so
every verdict here is planted, never timed."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import BINARY, ROOT

FIX = os.path.join(ROOT, "tests", "fixtures-bench")

STAGE = """
[stage {name}]
profile = build
inputs = source
command = printf '#!/bin/sh\\nTHROUGHPUT_BASE={base} exec /src/throughput.sh\\n' > /build/out/tp && chmod +x /build/out/tp
outputs = tp
"""

HEAD = """\
[pipeline]
name = candidates-test
source = src
artifacts = artifacts
source-date-epoch = 1700000000

[release]
ship-pgo-if = faster by 5%
otherwise = {otherwise}
"""

BENCH = """
[stage bench]
profile = bench
inputs = baseline {candidates} source
command = {{input}}/tp
env = PGO_BENCH_RUNS=10
env = PGO_BENCH_METRIC_REGEX=ops:M ops/s:higher:throughput = ([0-9.]+) M ops/s
"""


def pipeline(tmp_path, candidates, otherwise="baseline"):
    """Baseline at 50 M ops/s and the candidates (name, M ops/s) in the
    order given: the simplest first."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(os.path.join(FIX, "throughput.sh"), src / "throughput.sh")
    os.chmod(src / "throughput.sh", 0o755)
    for p in (tmp_path, src):
        os.chmod(p, 0o755)
    text = HEAD.format(otherwise=otherwise) + STAGE.format(name="baseline", base=50)
    for name, base in candidates:
        text += STAGE.format(name=name, base=base)
    text += BENCH.format(candidates=" ".join(n for n, _ in candidates))
    pl = tmp_path / "pipeline.ini"
    pl.write_text(text)
    r = subprocess.run([BINARY, "pipeline", "--pipeline", str(pl)], capture_output=True,
                       text=True, timeout=600)
    art = tmp_path / "artifacts"
    rel = json.loads((art / "release.json").read_text()) if (art / "release.json").exists() else None
    return r, rel, art


def by_name(rel):
    return {c["name"]: c for c in rel["candidates"]}


def test_clear_winner_ships(tmp_path):
    # +20 % and +32 %: both proven, the second beats the first by 12 points
    r, rel, art = pipeline(tmp_path, [("pgo", 60), ("pgo-cs", 66)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert rel["shipped"] == "pgo-cs" and rel["artifact"] == "pgo-cs.tar.zst"
    c = by_name(rel)
    assert c["pgo"]["proven"] and c["pgo-cs"]["proven"]
    assert c["pgo"]["beaten_by"] == ["pgo-cs"] and c["pgo-cs"]["beaten_by"] == []
    assert c["pgo-cs"]["winner"] and not c["pgo"]["winner"]
    ev = c["pgo-cs"]["evidence"][0]
    assert ev["gain_low_pct"] <= ev["gain_pct"] <= ev["gain_high_pct"]
    assert 25 < ev["gain_pct"] < 40 and ev["verdict"] in ("faster", "better")
    md = (art / "release.md").read_text()
    assert "### Release: pgo-cs" in md and "| pgo-cs (ships) | yes |" in md
    assert "| pgo | yes |" in md and "| pgo-cs |" in md.split("| pgo | yes |")[1]
    assert rel["reason"] in r.stdout


def test_tie_within_the_margin_goes_to_the_simpler_build(tmp_path):
    # +20 % and +23 %: both proven, 3 points apart (< the 5 % margin)
    r, rel, _ = pipeline(tmp_path, [("pgo", 60), ("pgo-bolt", 61.5)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert rel["shipped"] == "pgo"
    c = by_name(rel)
    assert c["pgo"]["proven"] and c["pgo-bolt"]["proven"]
    assert c["pgo"]["beaten_by"] == [] and c["pgo-bolt"]["beaten_by"] == []
    assert "simpler builds first: pgo, pgo-bolt" in rel["reason"]


@pytest.mark.parametrize("otherwise,code,shipped", [
    ("baseline", 10, "baseline"),
    ("fail", 11, None),
])
def test_every_candidate_losing_ships_the_baseline_or_nothing(tmp_path, otherwise, code,
                                                               shipped):
    # -10 %, and +4 % (real, but below the 5 % margin)
    r, rel, _ = pipeline(tmp_path, [("pgo", 45), ("pgo-order", 52)], otherwise)
    assert r.returncode == code, r.stdout + r.stderr
    assert rel["shipped"] == shipped
    c = by_name(rel)
    assert not c["pgo"]["proven"] and not c["pgo-order"]["proven"]
    assert rel["reason"].startswith(f"{shipped or 'nothing'} ships: no candidate won")
    assert "pgo-order: " in rel["reason"]
