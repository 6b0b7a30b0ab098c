"""`[pipeline] training = threaded` on fixtures/threads: a four-thread
program calling hot() 2 000 000 times per thread.  The merged count of
hot() must be the 8 000 000 calls it made (within 1 %); the same program
instrumented without atomic updates and run on two CPUs shows how far off
plain counters are (reported, not asserted: a loss is likely, not certain).
Unreadable raw profiles are quarantined while 90 % of them remain, and fail
the merge, named, below that."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, run

pytestmark = pytest.mark.untimed

FIXTURE = os.path.join(ROOT, "fixtures", "threads")
CALLS = 4 * 2000000


def provenance(tarball):
    out = subprocess.run(["tar", "-xOf", tarball, "provenance.json"], capture_output=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def pipeline_copy(tmp, edit=()):
    src = str(tmp / "threads")
    shutil.copytree(FIXTURE, src, ignore=shutil.ignore_patterns("artifacts"))
    path = os.path.join(str(tmp), "pipeline.ini")
    text = open(os.path.join(src, "pipeline.ini")).read().replace(
        "source = .\n", f"source = {src}\n")
    for old, new in edit:
        assert old in text, old
        text = text.replace(old, new)
    with open(path, "w") as f:
        f.write(text)
    return path, os.path.join(str(tmp), "artifacts")


def hot_count(profdata):
    """hot()'s entry count in an indexed profile, by llvm-profdata show."""
    out = subprocess.run(["llvm-profdata", "show", "--function=hot", "--counts", profdata],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    at = lines.index("  hot:")
    counts = next(l for l in lines[at:] if "Block counts:" in l)
    return int(counts.split("[")[1].split(",")[0].rstrip("]"))


def merged_hot(art, where):
    os.makedirs(where, exist_ok=True)
    subprocess.run(["tar", "-xf", os.path.join(art, "merge.tar.zst"), "-C", where],
                   check=True)
    return hot_count(os.path.join(where, "profile", "merged.profdata"))


def test_threaded_training_counts_every_call(tmp_path):
    pipeline, art = pipeline_copy(tmp_path)
    r = run("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "merge",
            timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    count = merged_hot(art, str(tmp_path / "merged"))
    print(f"training = threaded: hot() counted {count} of {CALLS}")
    assert abs(count - CALLS) <= CALLS // 100, count

    inst = provenance(os.path.join(art, "instrument.tar.zst"))
    env = dict(e.split("=", 1) for e in inst["environment"])
    assert "-fprofile-update=atomic" in env["PGO_GENERATE_FLAGS"]
    assert inst["pipeline"]["training"] == "threaded"
    train = provenance(os.path.join(art, "train.tar.zst"))
    t = train["results"]["training"]
    assert t["mode"] == "threaded"
    if len(os.sched_getaffinity(0)) >= 2:
        assert t["cpu_count"] >= 2, t
    # the train profile pins one CPU; threaded training widened it
    assert train["profile"]["cpus"] == "1"


def test_threaded_training_with_gcc(tmp_path):
    """gcc: -fprofile-update=atomic; the merged .gcda's hot() (the one
    function with a single arc counter, its entry) counts every call."""
    pipeline, art = pipeline_copy(tmp_path, [("compiler = clang", "compiler = gcc")])
    r = run("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "merge",
            timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    inst = provenance(os.path.join(art, "instrument.tar.zst"))
    env = dict(e.split("=", 1) for e in inst["environment"])
    assert env["PGO_GENERATE_FLAGS"].endswith(" -fprofile-update=atomic")
    where = str(tmp_path / "merged")
    os.makedirs(where)
    subprocess.run(["tar", "-xf", os.path.join(art, "merge.tar.zst"), "-C", where], check=True)
    gcda = os.path.join(where, "profile", "build", "out", "hot.gcda")
    lines = subprocess.run(["gcov-dump", "-l", gcda], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    single = [int(lines[i + 1].split(":")[-1]) for i, l in enumerate(lines)
              if l.endswith("COUNTERS arcs 1 counts")]
    count = max(single)
    print(f"gcc, training = threaded: hot() counted {count} of {CALLS}")
    assert abs(count - CALLS) <= CALLS // 100, single


def test_without_atomic_updates_on_two_cpus(tmp_path):
    """The same program with plain counters, run on two CPUs: the count is
    printed (how far off it is), and can only be at most the calls made."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs")
    binary = str(tmp_path / "hot")
    subprocess.run(["clang", "-std=c11", "-O2", "-pthread", "-fprofile-generate", "-o", binary,
                    os.path.join(FIXTURE, "hot.c")], check=True)
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:2])
    env = dict(os.environ, LLVM_PROFILE_FILE=str(tmp_path / "plain-%p.profraw"))
    subprocess.run(["taskset", "-c", cpus, binary], env=env, check=True,
                   capture_output=True, timeout=120)
    raws = [str(p) for p in tmp_path.glob("plain-*.profraw")]
    merged = str(tmp_path / "plain.profdata")
    subprocess.run(["llvm-profdata", "merge", "-o", merged, *raws], check=True)
    count = hot_count(merged)
    print(f"no atomic updates, CPUs {cpus}: hot() counted {count} of {CALLS} "
          f"({100 * (CALLS - count) / CALLS:.1f} % lost)")
    assert 0 < count <= CALLS


@pytest.fixture(scope="module")
def ten_runs(tmp_path_factory):
    """A threaded training of 10 processes, instrument to train, run once:
    each damage test below damages a copy of it."""
    tmp = tmp_path_factory.mktemp("threads-10")
    pipeline, art = pipeline_copy(tmp, [("PGO_TRAIN_RUNS=1", "PGO_TRAIN_RUNS=10")])
    r = run("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "train",
            timeout=300)
    return pipeline, art, r


def damaged_train(ten_runs, tmp_path, damage):
    """A copy of the 10-process training whose first `damage` raw profiles
    are truncated (the train artifact repacked with a true digest record,
    so only the merge's checks can object)."""
    pipeline, trained, r = ten_runs
    assert r.returncode == 0, r.stdout + r.stderr
    art = str(tmp_path / "artifacts")
    shutil.copytree(trained, art)
    work = str(tmp_path / "train-unpacked")
    tarball = os.path.join(art, "train.tar.zst")
    assert run("unpack", tarball, work).returncode == 0
    raws = sorted(f for f in os.listdir(os.path.join(work, "profile")) if f.endswith(".profraw"))
    assert len(raws) == 10, raws
    for name in raws[:damage]:
        victim = os.path.join(work, "profile", name)
        with open(victim, "r+b") as f:
            f.truncate(os.path.getsize(victim) // 2)
    os.unlink(tarball)
    assert run("pack", work, tarball, "--mtime", "1700000000").returncode == 0
    digest = subprocess.run(["sha256sum", tarball], capture_output=True, text=True,
                            check=True).stdout.split()[0]
    with open(tarball + ".sha256", "w") as f:
        f.write(f"{digest}  train.tar.zst\n")
    return pipeline, art, raws[:damage]


def test_unreadable_profile_is_quarantined_while_the_rest_cover(ten_runs, tmp_path):
    pipeline, art, bad = damaged_train(ten_runs, tmp_path, 1)
    r = run("stage", "merge", "--pipeline", pipeline, "--artifacts", art, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "quarantined under /build/out/profile/quarantine/" in r.stderr, r.stderr
    merge = os.path.join(art, "merge.tar.zst")
    skipped = provenance(merge)["results"]["skipped_profiles"]
    assert len(skipped) == 1 and bad[0] in skipped[0]["profile"]
    assert "truncated" in skipped[0]["why"]
    listed = subprocess.run(["tar", "-tf", merge], capture_output=True, text=True).stdout
    assert skipped[0]["kept_as"] in listed.split(), listed
    assert skipped[0]["kept_as"].endswith(".quarantined")
    reasons = subprocess.run(["tar", "-xOf", merge, "profile/quarantine/REASONS"],
                             capture_output=True, text=True, check=True).stdout
    assert bad[0] in reasons and "truncated" in reasons
    # the nine readable processes of 8 000 000 calls each are merged
    count = merged_hot(art, str(tmp_path / "merged"))
    assert abs(count - 9 * CALLS) <= 9 * CALLS // 100, count


def test_merge_fails_naming_the_files_below_the_threshold(ten_runs, tmp_path):
    pipeline, art, bad = damaged_train(ten_runs, tmp_path, 2)
    r = run("stage", "merge", "--pipeline", pipeline, "--artifacts", art, timeout=300)
    assert r.returncode != 0
    for name in bad:
        assert name in r.stderr, r.stderr
    assert "at least 90 % of the raw profiles are readable: 8 of 10 are" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(art, "merge.tar.zst"))
