"""Metric `rss`: the peak memory of each run (the run cgroup's memory.peak
where the memory controller is there, else wait4's ru_maxrss, and the
result says which), lower is better, in KiB: the gate, --only, the
summary, Markdown, JSON, the history and its trend page and BMF export."""
import json
import os
import subprocess

import pytest

from conftest import run

HOG = r"""
#include <stdlib.h>
#include <string.h>
/* touch argv[1] MiB, so that they are resident */
int main(int argc, char **argv)
{
	size_t n = (size_t)atoi(argv[1]) << 20;
	char *p = malloc(n);
	if (!p)
		return 1;
	memset(p, 1, n);
	return p[n / 2] == 1 ? 0 : 2;
}
"""


@pytest.fixture(scope="module")
def hog(tmp_path_factory):
    d = tmp_path_factory.mktemp("rss")
    src = d / "hog.c"
    src.write_text(HOG)
    binary = str(d / "hog")
    subprocess.run(["cc", "-O1", "-o", binary, str(src)], check=True)
    os.chmod(d, 0o755)  # the sandbox's user runs it
    return binary


def bench(hog, *args, timeout=300):
    """bench in the directory of the hog (bench binds it read-only)."""
    return run("bench", "--runs", "4", "--warmup", "0", "--no-host-tuning", *args,
               timeout=timeout, cwd=os.path.dirname(hog))


def test_rss_is_a_gate_metric_with_its_source(hog, tmp_path):
    out = str(tmp_path / "r.json")
    md = str(tmp_path / "r.md")
    r = bench(hog, "--metric", "rss", "--fail-on-regression", "5",
              "--benchmark", "small=8", "--benchmark", "big=64", "--only", "big",
              "--variant", "a=./hog {bench}", "--variant", "b=./hog {bench}",
              "--json", out, "--markdown", md)
    # same program, same size: no regression in rss (deterministic to a
    # few pages), so the gate passes
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.load(open(out))
    rss = next(m for m in doc["metrics"] if m["name"] == "rss")
    assert rss["unit"] == "KiB" and rss["direction"] == "lower"
    cg = "/sys/fs/cgroup/unified/cgroup.controllers"
    has_memory = os.path.exists(cg) and "memory" in open(cg).read().split()
    assert rss["source"] == ("memory.peak" if has_memory else "wait4")
    assert doc["settings"]["metric"] == "rss"
    runs = [x for x in doc["runs"] if not x["warmup"]]
    assert all(x["rss_kib"] > 0 and x["rss_source"] == rss["source"] for x in runs)
    assert f"rss from {rss['source']}, the gate's, lower is better" in r.stdout
    assert f"Metric **rss**, peak memory from {rss['source']}" in open(md).read()


def test_more_memory_is_a_regression(hog, tmp_path):
    """The candidate touches 64 MiB more: the rss gate fails (exit 1)."""
    out = str(tmp_path / "r.json")
    r = bench(hog, "--metric", "rss", "--fail-on-regression", "5",
              "--baseline", "./hog 8", "--candidate", "./hog 72", "--json", out)
    assert r.returncode == 1, r.stdout + r.stderr
    cmp = json.load(open(out))["analysis"]["comparisons"]
    c = next(x for x in cmp if x["metric"] == "rss")
    assert c["verdict"] == "slower" and c["ratio"] > 3, c


def test_rss_in_history_trend_and_bmf(hog, tmp_path):
    out = str(tmp_path / "r.json")
    store = str(tmp_path / "h.sqlite")
    r = bench(hog, "--benchmark", "b", "--baseline", "./hog 8", "--candidate", "./hog 40",
              "--json", out, "--record", store)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run("history", "compare", "latest", "--against", out, "--metric", "rss",
            "--store", store, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    trend = tmp_path / "trend"
    r = run("history", "trend", "--benchmark", "b", "--metric", "rss", "--out", str(trend),
            "--store", store)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "b: rss" in open(trend / "trend-b-rss.svg").read()
    assert os.path.exists(trend / "trend-b-rss.html")
    r = run("history", "export", "latest", "--format", "bmf", "--store", store)
    assert r.returncode == 0, r.stdout + r.stderr
    bmf = json.loads(r.stdout)
    cand = bmf["b/candidate"]["max-rss"]["value"]
    base = bmf["b/baseline"]["max-rss"]["value"]
    # bytes: 40 MiB touched against 8
    assert cand - base > 24 * 2**20, (base, cand)
