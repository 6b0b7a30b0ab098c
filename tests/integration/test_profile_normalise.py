"""Normalising the merged profile (issue 20.3, docs/entropy.md): with
`profile-normalise = N` on the merge stage, each function's counters are
rounded to N significant figures of its largest counter inside the merge
sandbox, so training noise that stays (here planted: fixtures/seedtab
trained with `entropy = host`, its hash table seeded from getrandom) no
longer reaches the profile or the PGO binary."""
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from conftest import ROOT, run

pytestmark = [
    pytest.mark.skipif(shutil.which("clang") is None, reason="no clang"),
    pytest.mark.untimed,
]


def copy_fixture(dst):
    shutil.copytree(os.path.join(ROOT, "fixtures", "seedtab"), dst,
                    ignore=shutil.ignore_patterns("artifacts"))
    return dst


def pipeline(src, where, normalise, name="pipeline-clang.ini"):
    """seedtab's pipeline with a train profile that says entropy = host
    (written outside the source tree) and, when asked, the merge stage's
    profile-normalise."""
    profiles = os.path.join(where, "profiles")
    if not os.path.isdir(profiles):
        shutil.copytree(os.path.join(ROOT, "profiles"), profiles)
        with open(os.path.join(profiles, "train.ini"), "a") as f:
            f.write("\nentropy = host\n")
    text = open(os.path.join(src, name)).read()
    text = text.replace("source = .\n", f"source = {src}\nprofiles = {profiles}\n")
    if normalise:
        text = text.replace("command = pgo-merge\n",
                            f"command = pgo-merge\nprofile-normalise = {normalise}\n")
    path = os.path.join(where, f"pipeline-{normalise}.ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def digest(art, name):
    return open(os.path.join(art, f"{name}.tar.zst.sha256")).read().split()[0]


def member(art, stage, name):
    """A file's bytes from a stage tarball (zstd through the CLI)."""
    raw = subprocess.run(["zstd", "-dc", os.path.join(art, f"{stage}.tar.zst")],
                         check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        return t.extractfile(name).read()


def one_checkout(tmp_path, where):
    """Plain, then normalised over the same (cached) training."""
    src = copy_fixture(str(tmp_path / where / "seedtab"))
    plain = str(tmp_path / where / "art-plain")
    r = run("pipeline", "--pipeline", pipeline(src, str(tmp_path / where), 0),
            "--artifacts", plain, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    norm = str(tmp_path / where / "art-norm")
    shutil.copytree(plain, norm)
    r = run("pipeline", "--pipeline", pipeline(src, str(tmp_path / where), 2),
            "--artifacts", norm, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "train.1of2           cached" in r.stdout, r.stdout
    assert "merge                ran" in r.stdout, r.stdout
    return plain, norm


def test_normalised_profile_and_build_are_identical_from_two_paths(tmp_path):
    (plain1, norm1), (plain2, norm2) = (one_checkout(tmp_path, w)
                                        for w in ("one", "a/deeper/two"))
    profile = "profile/merged.profdata"
    # the planted noise: training differs between the checkouts...
    assert digest(plain1, "train.1of2") != digest(plain2, "train.1of2")
    # ...and so does the merged profile without normalisation
    assert member(plain1, "merge", profile) != member(plain2, "merge", profile)
    # with it, the profile and the PGO binary are byte-identical
    assert member(norm1, "merge", profile) == member(norm2, "merge", profile)
    assert member(norm1, "build", "seedtab") == member(norm2, "build", "seedtab")
    # it is not the plain profile (the rounding did something)
    assert member(norm1, "merge", profile) != member(plain1, "merge", profile)
    # provenance: the merge definition and its results say so
    prov = json.loads(member(norm1, "merge", "provenance.json"))
    assert prov["stage"]["profile_normalise"] == 2
    assert prov["results"]["profile_normalise"]["significant_figures"] == 2
    plain_prov = json.loads(member(plain1, "merge", "provenance.json"))
    assert "profile_normalise" not in plain_prov["stage"]
    assert "profile_normalise" not in plain_prov["results"]


def check(tmp_path, name, edit):
    src = copy_fixture(str(tmp_path / "seedtab"))
    path = pipeline(src, str(tmp_path), 0, name=name)
    text = edit(open(path).read())
    with open(path, "w") as f:
        f.write(text)
    return run("pipeline", "--check", "--pipeline", path)


def test_gcc_is_refused_naming_the_line(tmp_path):
    r = check(tmp_path, "pipeline.ini",
              lambda t: t.replace("command = pgo-merge\n",
                                  "command = pgo-merge\nprofile-normalise = 2\n"))
    assert r.returncode == 125
    assert "pipeline-0.ini:" in r.stderr and ": profile-normalise: compiler = gcc: " \
        "normalising is supported for LLVM profiles" in r.stderr, r.stderr


def test_only_the_merge_stage_and_sane_figures(tmp_path):
    r = check(tmp_path, "pipeline-clang.ini",
              lambda t: t.replace("shards = 2\n", "shards = 2\nprofile-normalise = 2\n"))
    assert r.returncode == 125
    assert "only the merge stage normalises its profile (this is [stage train])" in r.stderr
    r = check(tmp_path / "b", "pipeline-clang.ini",
              lambda t: t.replace("command = pgo-merge\n",
                                  "command = pgo-merge\nprofile-normalise = 10\n"))
    assert r.returncode == 125
    assert "'10' is not a number of significant figures from 1 to 9" in r.stderr


def test_internal_command_names_the_bad_line_and_leaves_nothing(tmp_path):
    bad = tmp_path / "in.proftext"
    bad.write_text("# IR level Instrumentation Flag\n:ir\nf\n# Func Hash:\n1\n"
                   "# Num Counters:\n2\n# Counter Values:\n10\n1e5\n")
    out = tmp_path / "out.proftext"
    r = run("profile-normalise", str(bad), str(out), "2")
    assert r.returncode == 125
    assert f"{bad}:10: '1e5' is not a counter value" in r.stderr, r.stderr
    assert not out.exists() and not (tmp_path / "out.proftext.tmp").exists()
