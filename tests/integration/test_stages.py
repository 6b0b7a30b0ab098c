"""`pgo-sandbox stage|pipeline|verify|inspect` on small pipelines: artifacts,
provenance, the cache, hostile and damaged inputs, killed stages, config
errors.  The PGO pipelines themselves are in test_pgo.py."""
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

from conftest import BINARY, ROOT, ROOTLESS, root_only, run

CGROUP_PARENT = "/sys/fs/cgroup/unified/pgo-sandbox"

PIPELINE = """\
[pipeline]
name = tiny
source = src
source-date-epoch = 1700000000
profiles = {profiles}

[stage a]
profile = build
inputs = source
command = set -e
\tcat /src/greeting.txt > /build/out/greeting
\tmkdir -p /build/out/sub && printf 'x' > /build/out/sub/x && ln -s ../greeting /build/out/sub/link
outputs = greeting sub

[stage b]
profile = build
inputs = a
command = tr a-z A-Z < /build/in/a/greeting > /build/out/loud
outputs = loud
"""


def sha256(path):
    return "sha256:" + hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def tiny(tmp_path):
    """A two-stage pipeline: a copies a source file, b transforms a's output."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "greeting.txt").write_text("hello\n")
    pipeline = tmp_path / "pipeline.ini"
    pipeline.write_text(PIPELINE.format(profiles=os.path.join(ROOT, "profiles")))
    art = tmp_path / "art"
    return tmp_path, pipeline, art


def stage(pipeline, art, *args, timeout=120):
    return run("stage", *args, "--pipeline", str(pipeline), "--artifacts", str(art),
               timeout=timeout)


def test_stage_writes_artifact_digest_report_and_provenance(tiny):
    tmp, pipeline, art = tiny
    r = stage(pipeline, art, "a")
    assert r.returncode == 0, r.stderr
    tarball = art / "a.tar.zst"
    side = (art / "a.tar.zst.sha256").read_text()
    assert side == f"{sha256(tarball)[7:]}  a.tar.zst\n"
    report = json.loads((art / "a.run.json").read_text())
    assert report["artifact"]["sha256"] == sha256(tarball)
    assert report["outcome"]["exit_code"] == 0
    assert [s["step"] for s in report["steps"]][-2:] == ["packing", "committing"]
    listing = subprocess.run(["tar", "-tvf", str(tarball)], capture_output=True, text=True)
    names = [line.split()[-1] if "->" not in line else line.split()[-3]
             for line in listing.stdout.splitlines()]
    assert names == ["greeting", "provenance.json", "sub/", "sub/link", "sub/x"], listing.stdout
    prov = json.loads(subprocess.run(["tar", "-xOf", str(tarball), "provenance.json"],
                                     capture_output=True).stdout)
    assert prov["stage"]["name"] == "a" and prov["role"] == "plain"
    assert prov["inputs"][0]["name"] == "source"
    assert prov["inputs"][0]["digest"].startswith("sha256:")
    assert "SOURCE_DATE_EPOCH=1700000000" in prov["environment"]
    assert prov["image"]["digest"].startswith("sha256:")
    # nothing that varies between identical runs: no host paths, no times
    text = json.dumps(prov)
    assert str(tmp) not in text and "seconds" not in text


def test_cache_skips_unchanged_stages_and_reruns_on_change(tiny):
    tmp, pipeline, art = tiny
    assert stage(pipeline, art, "a").returncode == 0
    first = sha256(art / "a.tar.zst")
    r = stage(pipeline, art, "a")
    assert r.returncode == 0 and "cached" in r.stdout
    r = stage(pipeline, art, "a", "--force")
    assert r.returncode == 0 and "running" in r.stdout
    assert sha256(art / "a.tar.zst") == first
    (tmp / "src" / "greeting.txt").write_text("bonjour\n")
    r = stage(pipeline, art, "a")
    assert "running" in r.stdout and sha256(art / "a.tar.zst") != first
    r = stage(pipeline, art, "b")
    assert r.returncode == 0, r.stderr
    assert b"BONJOUR" in subprocess.run(["tar", "-xOf", str(art / "b.tar.zst"), "loud"],
                                        capture_output=True).stdout


def test_artifacts_inside_the_source_tree_are_not_source(tiny):
    tmp, pipeline, art = tiny
    pipeline.write_text(pipeline.read_text().replace(
        "source = src\n", "source = src\nartifacts = src/artifacts/one\n").replace(
        "outputs = greeting sub", "").replace(
        "\tcat /src/greeting.txt > /build/out/greeting",
        "\tcat /src/greeting.txt > /build/out/greeting\n\tls -A /src/artifacts > /build/out/seen"))
    r = run("stage", "a", "--pipeline", str(pipeline))
    assert r.returncode == 0, r.stderr
    tarball = tmp / "src" / "artifacts" / "one" / "a.tar.zst"
    seen = subprocess.run(["tar", "-xOf", str(tarball), "seen"], capture_output=True)
    assert seen.stdout == b"", "the stage saw the artifacts directory"
    other = tmp / "src" / "artifacts" / "two"
    other.mkdir()
    (other / "x.tar.zst").write_bytes(b"another pipeline's artifact")
    r = run("stage", "a", "--pipeline", str(pipeline))
    assert r.returncode == 0 and "cached" in r.stdout, r.stdout + r.stderr


def test_pipeline_runs_stages_in_order_and_inspect_shows_provenance(tiny):
    tmp, pipeline, art = tiny
    r = run("pipeline", "--pipeline", str(pipeline), "--artifacts", str(art))
    assert r.returncode == 0, r.stderr
    assert re.search(r"^a\s+ran", r.stdout, re.M) and re.search(r"^b\s+ran", r.stdout, re.M)
    r = run("inspect", str(art / "b.tar.zst"), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["digest_verified"] is True
    assert doc["provenance"]["inputs"][0]["artifacts"][0]["digest"] == sha256(art / "a.tar.zst")
    assert [e["path"] for e in doc["entries"]] == ["loud", "provenance.json"]
    r = run("inspect", str(art / "b.tar.zst"))
    assert "matches its .sha256 record" in r.stdout and "loud" in r.stdout


def test_gzip_artifacts_are_selectable_and_consumed(tiny):
    tmp, pipeline, art = tiny
    r = stage(pipeline, art, "a", "--compression", "gzip")
    assert r.returncode == 0, r.stderr
    gz = (art / "a.tar.gz").read_bytes()
    assert gz[:2] == b"\x1f\x8b" and gz[4:8] == b"\0\0\0\0"   # no gzip timestamp
    assert not (art / "a.tar.zst").exists()
    assert stage(pipeline, art, "b").returncode == 0
    r = stage(pipeline, art, "a")   # zstd again: the gzip artifact goes
    assert r.returncode == 0 and not (art / "a.tar.gz").exists()


def test_failed_stage_names_the_step_and_leaves_no_artifact(tiny):
    tmp, pipeline, art = tiny
    assert stage(pipeline, art, "a").returncode == 0
    pipeline.write_text(pipeline.read_text().replace(
        "command = tr a-z A-Z < /build/in/a/greeting > /build/out/loud",
        "command = echo partial > /build/out/loud; exit 3"))
    r = stage(pipeline, art, "b")
    assert r.returncode == 3
    assert "failed at step 'running the command'" in r.stderr
    assert "exited with status 3" in r.stderr
    assert not (art / "b.tar.zst").exists() and not (art / "b.tar.zst.sha256").exists()
    assert not (art / "b.run.json").exists()
    report = json.loads((art / "b.failure.json").read_text())
    assert report["failure"]["step"] == "running the command"
    assert [p for p in os.listdir(art) if p.endswith(".part")] == []


def test_missing_declared_output_fails(tiny):
    tmp, pipeline, art = tiny
    pipeline.write_text(pipeline.read_text().replace("outputs = greeting sub",
                                                     "outputs = greeting sub nothere"))
    r = stage(pipeline, art, "a")
    assert r.returncode != 0
    assert "declared output /build/out/nothere is missing" in r.stderr
    assert not (art / "a.tar.zst").exists()


def test_verify_passes_for_a_deterministic_stage(tiny):
    tmp, pipeline, art = tiny
    r = run("verify", "a", "--pipeline", str(pipeline), "--artifacts", str(art), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verify: identical" in r.stdout
    assert not (art / "a.tar.zst").exists()   # verify never touches the artifacts


def test_verify_fails_and_names_the_entry_that_differs(tiny):
    tmp, pipeline, art = tiny
    pipeline.write_text(pipeline.read_text().replace(
        "outputs = greeting sub", "").replace(
        "\tcat /src/greeting.txt > /build/out/greeting",
        "\tcat /src/greeting.txt > /build/out/greeting\n\tdate +%s%N > /build/out/stamp"))
    r = run("verify", "a", "--pipeline", str(pipeline), "--artifacts", str(art), timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "verify: DIFFERENT" in r.stdout
    assert "stamp: content differs" in r.stdout
    assert "greeting" not in [l.split(":")[0].strip() for l in r.stdout.splitlines()
                              if "differs" in l]


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


@pytest.mark.skipif(not os.path.exists(FAKETIME), reason="faketime is not installed")
def test_verify_moves_the_clock_inside_the_sandbox(tiny):
    tmp, pipeline, art = tiny
    pipeline.write_text(pipeline.read_text().replace(
        "outputs = greeting sub", "").replace(
        "\tcat /src/greeting.txt > /build/out/greeting",
        "\tcat /src/greeting.txt > /build/out/greeting\n\tdate +%Y-%m > /build/out/month"))
    r = run("verify", "a", "--pipeline", str(pipeline), "--artifacts", str(art), timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "faketime +400 days inside" in r.stdout
    assert "month: content differs" in r.stdout


# ---- hostile and damaged inputs ----

def write_input(art, members, name="a", mode="w:gz"):
    """A hand-made artifact for stage a, with a correct digest record, so
    only the extraction can refuse it."""
    art.mkdir(exist_ok=True)
    path = art / f"{name}.tar.gz"
    with tarfile.open(path, mode) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    (art / f"{name}.tar.gz.sha256").write_text(f"{sha256(path)[7:]}  {name}.tar.gz\n")
    return path


def member(name, data=b"", kind=tarfile.REGTYPE, mode=0o644, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = link
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None


PROVENANCE = member("provenance.json", b"{}")

HOSTILE = {
    "absolute path": ([PROVENANCE, member("/tmp/pgo-hostile-abs", b"x")], "/tmp/pgo-hostile-abs"),
    "dotdot": ([PROVENANCE, member("../escape", b"x")], "../escape"),
    "symlink out": ([PROVENANCE, member("out", kind=tarfile.SYMTYPE, link="../../../etc")],
                    "out"),
    "hardlink out": ([PROVENANCE, member("hl", kind=tarfile.LNKTYPE, link="/etc/passwd")], "hl"),
    "device node": ([PROVENANCE, member("dev", kind=tarfile.CHRTYPE, mode=0o600)], "dev"),
    "setuid": ([PROVENANCE, member("suid", b"#!/bin/sh\n", mode=0o4755)], "suid"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_tarball_is_refused_naming_the_entry(tiny, case):
    tmp, pipeline, art = tiny
    members, entry = HOSTILE[case]
    write_input(art, members)
    r = stage(pipeline, art, "b")
    assert r.returncode != 0
    assert "failed at step 'extracting the inputs'" in r.stderr, r.stderr
    assert entry in r.stderr, r.stderr
    assert not (art / "b.tar.zst").exists()
    assert not (tmp / "escape").exists() and not os.path.exists("/tmp/pgo-hostile-abs")


def test_decompression_bomb_is_refused(tiny):
    tmp, pipeline, art = tiny
    # 64 MiB of zeros compress to a few hundred bytes with bzip2
    info = tarfile.TarInfo("bomb")
    info.size = 64 << 20
    art.mkdir()
    path = art / "a.tar.gz"
    with tarfile.open(path, "w:bz2") as tf:
        pinfo, pdata = PROVENANCE
        tf.addfile(pinfo, io.BytesIO(pdata))
        tf.addfile(info, io.BytesIO(bytes(info.size)))
    (art / "a.tar.gz.sha256").write_text(f"{sha256(path)[7:]}  a.tar.gz\n")
    r = stage(pipeline, art, "b")
    assert r.returncode != 0
    assert "bomb" in r.stderr and "ratio" in r.stderr, r.stderr


def test_corrupted_input_is_refused_by_digest(tiny):
    tmp, pipeline, art = tiny
    assert stage(pipeline, art, "a").returncode == 0
    tarball = art / "a.tar.zst"
    data = bytearray(tarball.read_bytes())
    data[len(data) // 2] ^= 0xff
    tarball.write_bytes(bytes(data))
    r = stage(pipeline, art, "b")
    assert r.returncode != 0
    assert "failed at step 'checking the inputs'" in r.stderr
    assert "digest mismatch" in r.stderr and "a.tar.zst" in r.stderr


def test_truncated_input_is_refused_even_with_a_matching_digest(tiny):
    tmp, pipeline, art = tiny
    assert stage(pipeline, art, "a").returncode == 0
    tarball = art / "a.tar.zst"
    tarball.write_bytes(tarball.read_bytes()[:200])
    (art / "a.tar.zst.sha256").write_text(f"{sha256(tarball)[7:]}  a.tar.zst\n")
    r = stage(pipeline, art, "b")
    assert r.returncode != 0
    assert "failed at step 'extracting the inputs'" in r.stderr, r.stderr
    assert "input a" in r.stderr


def test_missing_digest_record_is_refused(tiny):
    tmp, pipeline, art = tiny
    assert stage(pipeline, art, "a").returncode == 0
    os.unlink(art / "a.tar.zst.sha256")
    r = stage(pipeline, art, "b")
    assert r.returncode != 0 and "digest record" in r.stderr


# ---- killed stages ----

def own_cgroups(pid):
    if not os.path.isdir(CGROUP_PARENT):
        return []
    return [d for d in os.listdir(CGROUP_PARENT) if d.startswith(f"{pid}-")]


def stage_tmp_dirs():
    return {d for d in os.listdir("/var/tmp") if d.startswith("pgo-sandbox-stage.")}


def test_killed_stage_leaves_no_artifact_no_temporaries_and_no_cgroup(tiny):
    tmp, pipeline, art = tiny
    pipeline.write_text(pipeline.read_text().replace(
        "\tcat /src/greeting.txt > /build/out/greeting",
        "\tcat /src/greeting.txt > /build/out/greeting\n\techo started > /build/out/started\n"
        "\tsleep 60"))
    before = stage_tmp_dirs()
    p = subprocess.Popen([BINARY, "stage", "a", "--pipeline", str(pipeline), "--artifacts",
                          str(art)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        started = False
        while time.monotonic() < deadline and not started:
            time.sleep(0.2)
            started = any(os.path.exists(os.path.join("/var/tmp", d, "work/out/started"))
                          for d in stage_tmp_dirs() - before)
        assert started, "the stage command never started"
        if not ROOTLESS:
            assert own_cgroups(p.pid), "the run cgroup should exist while the stage runs"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        leftovers = (stage_tmp_dirs() - before) or own_cgroups(p.pid) or \
            [f for f in os.listdir(art) if f.startswith(".")]
        if not leftovers:
            break
        time.sleep(0.2)
    assert not (stage_tmp_dirs() - before), "temporary tree left behind"
    assert not own_cgroups(p.pid), "run cgroup left behind"
    assert not (art / "a.tar.zst").exists() and not (art / "a.tar.zst.sha256").exists()
    assert [f for f in os.listdir(art) if f.startswith(".")] == []


# ---- configuration errors ----

def test_malformed_pipeline_gives_file_and_line(tiny):
    tmp, pipeline, art = tiny
    text = pipeline.read_text().replace("[stage b]\n", "[stage b]\ncolour = blue\n")
    pipeline.write_text(text)
    line = text.splitlines().index("colour = blue") + 1
    r = stage(pipeline, art, "a")
    assert r.returncode == 125
    assert f"{pipeline}:{line}" in r.stderr and "colour" in r.stderr, r.stderr


def test_malformed_profile_gives_file_and_line(tiny):
    tmp, pipeline, art = tiny
    profiles = tmp / "profiles"
    profiles.mkdir()
    (profiles / "build.ini").write_text("[sandbox]\n# fine\nmemory = 12Q\n")
    pipeline.write_text(pipeline.read_text().replace(os.path.join(ROOT, "profiles"),
                                                     str(profiles)))
    r = stage(pipeline, art, "a")
    assert r.returncode == 125
    assert "build.ini:3" in r.stderr and "memory" in r.stderr, r.stderr


def test_unknown_stage_and_bad_shard_are_usage_errors(tiny):
    tmp, pipeline, art = tiny
    r = stage(pipeline, art, "nope")
    assert r.returncode == 125 and "has no stage 'nope'" in r.stderr
    r = stage(pipeline, art, "a", "--shard", "2/2")
    assert r.returncode == 125 and "1 shard" in r.stderr
    r = stage(pipeline, art, "a", "--shard", "3/2")
    assert r.returncode == 125 and "1 <= I <= N" in r.stderr


def test_pipeline_refuses_a_results_store_it_cannot_record_in_before_the_first_stage(tiny):
    tmp, pipeline, art = tiny
    (tmp / "hist").mkdir()                      # a directory is no store
    text = pipeline.read_text().replace("profiles = ", "history = hist\nprofiles = ", 1)
    pipeline.write_text(text + "\n[stage bench]\nprofile = bench\ninputs = a b\n"
                        "command = cat {artifact}/greeting\n")
    r = run("pipeline", "--pipeline", str(pipeline), "--artifacts", str(art))
    assert r.returncode == 125, r.stdout + r.stderr
    assert f"stage bench: results store {tmp / 'hist'}" in r.stderr
    assert "not a regular file" in r.stderr
    assert not (art / "a.tar.zst").exists()     # refused before any stage ran


def test_missing_input_hint_is_a_command_that_works_as_written(tiny):
    tmp, pipeline, art = tiny
    custom = tmp / "elsewhere.ini"
    pipeline.rename(custom)
    r = stage(custom, art, "b")
    assert r.returncode == 125
    hint = f"(run `pgo-sandbox stage a --pipeline {custom} --artifacts {art}` first)"
    assert hint in r.stderr, r.stderr
    command = hint[len("(run `"):-len("` first)")].split()
    assert run(*command[1:]).returncode == 0               # the hint, as written
    assert stage(custom, art, "b").returncode == 0


def test_profile_cpus_not_online_fail_the_stage_naming_the_online_set(tiny):
    tmp, pipeline, art = tiny
    profiles = tmp / "profiles"
    shutil.copytree(os.path.join(ROOT, "profiles"), profiles)
    offline = os.cpu_count() + 64
    with open(profiles / "build.ini", "a") as f:
        f.write(f"cpus = {offline}\n")
    pipeline.write_text(pipeline.read_text().replace(os.path.join(ROOT, "profiles"),
                                                     str(profiles)))
    online = open("/sys/devices/system/cpu/online").read().strip()
    r = stage(pipeline, art, "a")
    assert r.returncode == 125, r.stderr
    assert f"CPU {offline} not online on this host (online CPUs: {online})" in r.stderr
    assert not (art / "a.tar.zst").exists()
