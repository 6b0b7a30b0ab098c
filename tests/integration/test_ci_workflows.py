"""The CI examples cannot rot: their YAML parses, and every command block
that calls pgo-sandbox is executed, in workflow order, against a copy of
the fixture pipeline."""
import os
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import BINARY, ROOT, ROOTLESS

pytestmark = pytest.mark.skipif(ROOTLESS, reason="the workflows run as root; the root run covers them")

GITHUB = os.path.join(ROOT, "ci", "github", "x64-linux-pgo.yml")
GITLAB = os.path.join(ROOT, "ci", "gitlab", "pgo.gitlab-ci.yml")
RUST = os.path.join(ROOT, "ci", "github", "rust-release.yml")


def github_blocks(doc):
    for job in doc["jobs"].values():
        shards = job.get("strategy", {}).get("matrix", {}).get("shard", [None])
        for step in job["steps"]:
            if "run" in step and "pgo-sandbox" in step["run"]:
                for shard in shards:
                    yield step["run"].replace("${{ matrix.shard }}", str(shard))


def gitlab_blocks(doc):
    for name, job in doc.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        total = job.get("parallel", 1)
        script = "\n".join(job["script"])
        if "pgo-sandbox" not in script:
            continue
        for index in range(1, total + 1):
            yield (script.replace("$CI_NODE_INDEX", str(index))
                   .replace("$CI_NODE_TOTAL", str(total)))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp("ci")
    shutil.copytree(os.path.join(ROOT, "fixtures"), ws / "fixtures",
                    ignore=shutil.ignore_patterns("artifacts", "target"))
    shutil.copytree(os.path.join(ROOT, "ci"), ws / "ci")   # install-deps.sh: a no-op here
    return ws


def run_block(block, ws, pipeline="fixtures/minilang/pipeline-ci.ini", artifacts="artifacts",
              path=None):
    # The workflows call the tool they built as build/pgo-sandbox, with sudo.
    script = block.replace("sudo env \"PATH=$PATH\" ", "").replace("sudo ", "")
    script = re.sub(r"(?<![\w/])build/pgo-sandbox", BINARY, script)
    env = dict(os.environ, PIPELINE=pipeline, ARTIFACTS=str(ws / artifacts),
               GITHUB_STEP_SUMMARY=str(ws / "summary.md"))
    if path:
        env["PATH"] = path
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ws, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{script}\n{r.stdout}\n{r.stderr}"
    return r


def test_workflow_yaml_parses():
    gh = yaml.safe_load(open(GITHUB))
    gl = yaml.safe_load(open(GITLAB))
    assert {"tool", "instrument", "train", "merge-build-bench"} <= set(gh["jobs"])
    assert gh["jobs"]["train"]["strategy"]["matrix"]["shard"] == [1, 2]
    assert gl["train"]["parallel"] == 2


def test_github_workflow_commands_run_against_the_fixture(workspace):
    blocks = list(github_blocks(yaml.safe_load(open(GITHUB))))
    assert len(blocks) >= 7
    for block in blocks:
        run_block(block, workspace)
    assert (workspace / "artifacts" / "build.tar.zst").exists()
    summary = (workspace / "summary.md").read_text()
    assert "fib_full_check_flow" in summary
    assert (workspace / "report" / "bench.svg").exists()
    # the run joined the results history and the summary points at the trend
    assert (workspace / "history" / "history.sqlite").exists()
    assert "Trend: `report/trend/index.html`" in summary and "(1 runs recorded)" in summary
    assert (workspace / "report" / "trend" / "index.html").exists()


def test_gitlab_pipeline_commands_run_against_the_fixture(workspace):
    # a fresh job: reuse the artifacts (their stages are then cached) but not
    # the other workflow's unpacked report
    shutil.rmtree(workspace / "report", ignore_errors=True)
    for block in gitlab_blocks(yaml.safe_load(open(GITLAB))):
        run_block(block, workspace)
    assert (workspace / "report" / "bench.json").exists()
    # the second job records into the same store: two runs now
    r = subprocess.run([BINARY, "history", "list", "--store",
                        str(workspace / "history" / "history.sqlite")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 3, r.stdout + r.stderr


def test_pipeline_summary_as_json(workspace):
    """--json wherever a table is printed: the pipeline's summary."""
    import json
    r = subprocess.run([BINARY, "pipeline", "--json", "--pipeline",
                        "fixtures/minilang/pipeline-ci.ini", "--artifacts",
                        str(workspace / "artifacts")], cwd=workspace, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)          # progress went to stderr
    names = [s["stage"] for s in doc["stages"]]
    assert names[:4] == ["instrument", "train.1of2", "train.2of2", "merge"]
    assert doc["release"].endswith("build.tar.zst")


def test_rust_release_workflow_runs_pgo_on_x64_linux_only(workspace):
    """Only the x86_64-linux job calls pgo-sandbox; its commands run the
    Rust fixture's pipeline and package the release tarball."""
    doc = yaml.safe_load(open(RUST))
    targets = [m["target"] for m in doc["jobs"]["lto"]["strategy"]["matrix"]["include"]]
    assert len(targets) == 4 and "x86_64-unknown-linux-gnu" not in targets
    assert not any("pgo-sandbox" in s.get("run", "") for s in doc["jobs"]["lto"]["steps"])
    cargo_bin = os.path.expanduser("~/.cargo/bin")
    path = f"{cargo_bin}:{os.environ['PATH']}" if os.path.isdir(cargo_bin) else None
    probe = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True,
                           env=dict(os.environ, PATH=path or os.environ["PATH"]))
    lib = os.path.join(probe.stdout.strip(), "lib/rustlib/x86_64-unknown-linux-gnu/lib")
    if probe.returncode != 0 or not any(f.startswith("libprofiler_builtins-")
                                        for f in (os.listdir(lib) if os.path.isdir(lib) else [])):
        pytest.skip("no rustc with a profiler runtime (test_rust.py says why)")
    # a fresh job: not the C workflows' unpacked report
    shutil.rmtree(workspace / "report", ignore_errors=True)
    steps = doc["jobs"]["x64-linux-pgo"]["steps"]
    blocks = [s["run"] for s in steps if "run" in s and "pgo-sandbox" in s["run"]]
    assert len(blocks) >= 3
    for block in blocks:
        run_block(block, workspace, pipeline="fixtures/monocheck/pipeline-rust.ini",
                  artifacts="rust-artifacts", path=path)
    assert (workspace / "monocheck-x86_64-unknown-linux-gnu.tar.gz").exists()
    assert "large_full_check_flow" in (workspace / "summary.md").read_text()
