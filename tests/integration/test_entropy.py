"""Deterministic entropy (docs/entropy.md): getrandom(2) answers ENOSYS and
/dev/urandom, /dev/random are a stream keyed by a seed, so programs that
seed hash tables from the OS (Rust's HashMap, CPython's str hash, a C table
seeded with getrandom) train the same way in every run.  The fixtures
fixtures/hashwork (Rust, std-only) and fixtures/seedtab (C, gcc) give
byte-identical train, merge and build tarballs from two checkout paths,
and with `entropy = host` in the train profile the difference comes back."""
import json
import os
import shutil

import pytest

from conftest import ROOT, ROOTLESS, root_only, run, sandbox
from test_rust import SYSROOT, has_profiler, rust_env

pytestmark = pytest.mark.untimed

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else None
GETRANDOM = ("import os\n"
             "try:\n    os.getrandom(8); print('getrandom ok')\n"
             "except OSError as e:\n    print('getrandom errno', e.errno)\n"
             "print(open('/dev/urandom', 'rb').read(16).hex())\n"
             "print(open('/dev/random', 'rb').read(16).hex())\n"
             "print(hash('pgo-sandbox'))\n"
             "import random; print(random.random())\n")


def python_in_sandbox(*opts):
    r = sandbox(PYTHON, "-c", GETRANDOM, opts=opts)
    assert r.returncode == 0, r.stderr
    return r.stdout.split("\n")


@pytest.mark.skipif(PYTHON is None, reason="no /usr/bin/python3 in the host image")
def test_seed_gives_the_same_bytes_and_python_hashes():
    one = python_in_sandbox("--entropy-seed", "stage-a")
    two = python_in_sandbox("--entropy-seed", "stage-a")
    other = python_in_sandbox("--entropy-seed", "stage-b")
    host1 = python_in_sandbox()
    host2 = python_in_sandbox()
    assert one[0] == "getrandom errno 38"          # ENOSYS
    assert one == two                              # bytes, str hash, random
    assert one[1] == one[2]                        # random is urandom
    assert other[1] != one[1] and other[3] != one[3]
    assert host1[0] == "getrandom ok"
    assert host1[1] != host2[1] and host1[3] != host2[3]


def test_report_records_the_control(tmp_path):
    det, host = str(tmp_path / "det.json"), str(tmp_path / "host.json")
    assert sandbox("true", opts=("--entropy-seed", "s1", "--report", det)).returncode == 0
    assert sandbox("true", opts=("--report", host)).returncode == 0
    control = json.load(open(det))["controls"]["entropy"]
    assert control == {"state": "applied", "detail": "deterministic (seed s1)"}
    assert json.load(open(host))["controls"]["entropy"] == {"state": "applied", "detail": "host"}


@root_only  # rootless, --strict stops first at the cgroup it cannot create
def test_strict_refuses_entropy_only_logged():
    r = sandbox("true", opts=("--strict", "--seccomp-log", "--entropy-seed", "s1"))
    assert r.returncode == 125
    assert "entropy" in r.stderr or "seccomp" in r.stderr


def test_empty_seed_is_refused():
    r = sandbox("true", opts=("--entropy-seed", ""))
    assert r.returncode == 125 and "--entropy-seed: empty seed" in r.stderr


def test_stream_is_not_writable():
    r = sandbox("sh", "-c", "echo x > /dev/urandom", opts=("--entropy-seed", "s1"))
    assert r.returncode != 0


# ---- the fixtures: two checkout paths ----

STAGES = ("instrument", "train.1of2", "train.2of2", "merge", "build")


def digest(art, name):
    return open(os.path.join(art, f"{name}.tar.zst.sha256")).read().split()[0]


def copy_fixture(name, dst):
    shutil.copytree(os.path.join(ROOT, "fixtures", name), dst,
                    ignore=shutil.ignore_patterns("artifacts", "target"))
    return dst


def host_entropy_pipeline(src, where):
    """The fixture's pipeline with a train profile that says entropy =
    host, written outside the source tree (the source digest stays)."""
    profiles = os.path.join(where, "profiles")
    shutil.copytree(os.path.join(ROOT, "profiles"), profiles)
    with open(os.path.join(profiles, "train.ini"), "a") as f:
        f.write("\nentropy = host\n")
    text = open(os.path.join(src, "pipeline.ini")).read()
    text = text.replace("source = .\n", f"source = {src}\nprofiles = {profiles}\n")
    path = os.path.join(where, "pipeline-host.ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def two_paths(name, tmp_path, env=None):
    """Both checkouts through `build` (deterministic entropy, the default),
    then both trained again with host entropy (instrument is cached)."""
    arts, hosts = [], []
    for where in ("one", "a/deeper/two"):
        src = copy_fixture(name, str(tmp_path / where / name))
        art = str(tmp_path / where / "art")
        r = run("pipeline", "--pipeline", os.path.join(src, "pipeline.ini"),
                "--artifacts", art, timeout=600, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        arts.append(art)
        host_art = str(tmp_path / where / "art-host")
        shutil.copytree(art, host_art)
        r = run("pipeline", "--pipeline", host_entropy_pipeline(src, str(tmp_path / where)),
                "--artifacts", host_art, "--until", "merge", timeout=600, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "instrument           cached" in r.stdout, r.stdout
        hosts.append(host_art)
    return arts, hosts


def assert_reproducible_only_with_deterministic_entropy(arts, hosts):
    for stage in STAGES:
        assert digest(arts[0], stage) == digest(arts[1], stage), stage
    run_json = json.load(open(os.path.join(arts[0], "train.1of2.run.json")))
    assert run_json["controls"]["entropy"]["detail"] == \
        f"deterministic (seed {run_json['cache_key']})"
    # a different shard reads another stream
    other = json.load(open(os.path.join(arts[0], "train.2of2.run.json")))
    assert other["cache_key"] != run_json["cache_key"]
    # host entropy: the training, and so the merged profile, differ again
    for stage in ("train.1of2", "train.2of2", "merge"):
        assert digest(hosts[0], stage) != digest(hosts[1], stage), stage
    host_json = json.load(open(os.path.join(hosts[0], "train.1of2.run.json")))
    assert host_json["controls"]["entropy"]["detail"] == "host"


def test_c_fixture_seeding_from_getrandom_is_reproducible(tmp_path):
    arts, hosts = two_paths("seedtab", tmp_path)
    assert_reproducible_only_with_deterministic_entropy(arts, hosts)


@pytest.mark.skipif(ROOTLESS, reason="root's rustup toolchain is not readable by nobody")
@pytest.mark.skipif(SYSROOT is None or not has_profiler(SYSROOT),
                    reason="no rustc with a profiler runtime")
def test_rust_hashmap_fixture_is_reproducible(tmp_path):
    arts, hosts = two_paths("hashwork", tmp_path, env=rust_env())
    assert_reproducible_only_with_deterministic_entropy(arts, hosts)


# ---- verify names what varied ----

def verify_train(tmp_path, host_entropy):
    """`verify train` (shard 1 of 2) on seedtab built by clang, whose LLVM
    profiles verify compares function by function."""
    src = copy_fixture("seedtab", str(tmp_path / "seedtab"))
    text = open(os.path.join(src, "pipeline-clang.ini")).read()
    text = text.replace("source = .\n", f"source = {src}\n")
    if host_entropy:
        profiles = str(tmp_path / "profiles")
        shutil.copytree(os.path.join(ROOT, "profiles"), profiles)
        with open(os.path.join(profiles, "train.ini"), "a") as f:
            f.write("\nentropy = host\n")
        text = text.replace(f"source = {src}\n", f"source = {src}\nprofiles = {profiles}\n")
    pipeline = str(tmp_path / "pipeline.ini")
    with open(pipeline, "w") as f:
        f.write(text)
    art = str(tmp_path / "art")
    r = run("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "instrument",
            timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return run("verify", "train", "--shard", "1/2", "--pipeline", pipeline, "--artifacts", art,
               timeout=300)


@pytest.mark.skipif(shutil.which("clang") is None, reason="no clang")
def test_verify_names_the_functions_a_planted_seed_changed(tmp_path):
    r = verify_train(tmp_path, host_entropy=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "verify: DIFFERENT" in r.stdout
    assert "functions have different counts (run 1 -> run 2):" in r.stdout
    line = next(l for l in r.stdout.splitlines() if "hash_probe:" in l)
    assert "counters differ; likely cause: randomness" in line, line
    assert "entropy was the host's" in r.stdout


@pytest.mark.skipif(shutil.which("clang") is None, reason="no clang")
def test_verify_train_is_identical_with_deterministic_entropy(tmp_path):
    r = verify_train(tmp_path, host_entropy=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verify: identical" in r.stdout
