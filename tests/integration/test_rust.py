"""The Rust release pipeline (compiler = rustc) on fixtures/monocheck, a
std-only monorepo checker: instrument with -Cprofile-generate, train in two
shards, merge with the llvm-profdata that reads rustc's raw version, build
with -Cprofile-use on top of fat LTO.  And the pitfalls users of cargo-pgo
report: raw versions no installed tool reads, flags overridden by the
project, profiles rustc ignores or that match nothing, training knobs,
two checkout paths."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, ROOTLESS, run
from test_pgo import provenance, set_raw_version

MONOCHECK = os.path.join(ROOT, "fixtures", "monocheck")
TARGET = "x86_64-unknown-linux-gnu"


def rust_env():
    """The caller's environment with rustup's bin first when it exists
    (CI shells do not always source ~/.profile)."""
    env = dict(os.environ)
    cargo_bin = os.path.join(os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")), "bin")
    if os.path.isdir(cargo_bin):
        env["PATH"] = cargo_bin + ":" + env.get("PATH", "/usr/bin:/bin")
    return env


def sysroot():
    r = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True,
                       env=rust_env())
    return r.stdout.strip() if r.returncode == 0 else None


def has_profiler(root):
    lib = os.path.join(root, "lib", "rustlib", TARGET, "lib")
    return os.path.isdir(lib) and any(f.startswith("libprofiler_builtins-")
                                      for f in os.listdir(lib))


SYSROOT = sysroot()
pytestmark = [
    pytest.mark.skipif(ROOTLESS, reason="root's rustup toolchain is not readable by nobody; "
                                        "the root run covers it"),
    pytest.mark.untimed,
]
needs_pgo_rustc = pytest.mark.skipif(
    SYSROOT is None or not has_profiler(SYSROOT),
    reason=f"no rustc with a profiler runtime (sysroot {SYSROOT}): Debian's rustc 1.63 "
           "cannot -Cprofile-generate; test_debian_rustc_is_refused_plainly covers it")


def pgo(*args, timeout=900, env=None):
    return run(*args, timeout=timeout, env=env or rust_env())


def copy_fixture(dst):
    shutil.copytree(MONOCHECK, dst, ignore=shutil.ignore_patterns("artifacts", "target"))
    return dst


def pipeline_file(src, where, edit=()):
    text = open(os.path.join(src, "pipeline-rust.ini")).read()
    text = text.replace("source = .\n", f"source = {src}\n")
    for old, new in edit:
        assert old in text, old
        text = text.replace(old, new)
    os.makedirs(where, exist_ok=True)
    path = os.path.join(where, "pipeline-rust-variant.ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def sha256_record(tarball):
    return open(tarball + ".sha256").read().split()[0]


@pytest.fixture(scope="module")
def rust_run(tmp_path_factory):
    if SYSROOT is None or not has_profiler(SYSROOT):
        pytest.skip("no rustc with a profiler runtime")
    tmp = tmp_path_factory.mktemp("rust")
    src = copy_fixture(str(tmp / "one" / "monocheck"))
    art = str(tmp / "art")
    pipeline = os.path.join(src, "pipeline-rust.ini")
    r = pgo("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "build")
    return src, pipeline, art, r


def artifacts_copy(art, where):
    dst = str(where / "art")
    shutil.copytree(art, dst)
    return dst


@needs_pgo_rustc
def test_rust_pipeline_end_to_end(rust_run):
    src, pipeline, art, r = rust_run
    assert r.returncode == 0, r.stdout + r.stderr
    merge = provenance(os.path.join(art, "merge.tar.zst"))
    # sharded training, merged
    assert merge["results"]["shards"] == ["train.1of2", "train.2of2"]
    assert merge["results"]["raw_profiles"] >= 2
    # the llvm-profdata that reads rustc's raw version, recorded
    chosen = merge["results"]["llvm_profdata"]
    assert chosen["reads_raw_version"] == 10 and chosen["llvm_major"] >= 19
    # coverage from the merged profile
    cov = merge["results"]["coverage"]
    assert 0 < cov["executed"] <= cov["functions"]
    # the real toolchain, never rustup's proxies, is part of the definition
    toolchain = merge["toolchain"]
    assert toolchain["rustc_vV"].startswith("rustc ") and "LLVM version" in toolchain["rustc_vV"]
    assert any(k.startswith("/lib/librustc_driver-") for k in toolchain["files"])
    build = provenance(os.path.join(art, "build.tar.zst"))
    assert build["pipeline"]["compiler"] == "rustc"
    assert "function" in r.stdout and "in the profile" in r.stdout   # coverage line
    assert build["results"]["functions_without_profile"] >= 0
    env = dict(e.split("=", 1) for e in build["environment"])
    assert "-Cprofile-use=" in env["PGO_USE_FLAGS"]
    assert "-Cllvm-args=-pgo-warn-missing-function" in env["PGO_USE_FLAGS"]
    assert env["CARGO_NET_OFFLINE"] == "true"
    assert env["CARGO_HOME"].startswith("/build/")


@needs_pgo_rustc
def test_release_tarball_identical_from_two_checkout_paths(rust_run, tmp_path):
    src, pipeline, art, r = rust_run
    assert r.returncode == 0
    other = copy_fixture(str(tmp_path / "a" / "deeper" / "monocheck"))
    art2 = str(tmp_path / "art2")
    r2 = pgo("pipeline", "--pipeline", os.path.join(other, "pipeline-rust.ini"),
             "--artifacts", art2, "--until", "build")
    assert r2.returncode == 0, r2.stderr
    assert sha256_record(os.path.join(art, "build.tar.zst")) == \
        sha256_record(os.path.join(art2, "build.tar.zst"))


def repack(art, name, change):
    """Unpack NAME.tar.zst, let `change(dir)` alter it, repack it with a
    correct digest record (so only the stage's own checks can object)."""
    work = os.path.join(art, "..", f"{name}-unpacked")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tarball = os.path.join(art, f"{name}.tar.zst")
    assert pgo("unpack", tarball, work).returncode == 0
    result = change(work)
    os.unlink(tarball)
    assert pgo("pack", work, tarball, "--mtime", "1700000000").returncode == 0
    digest = subprocess.run(["sha256sum", tarball], capture_output=True, text=True).stdout.split()[0]
    with open(tarball + ".sha256", "w") as f:
        f.write(f"{digest}  {name}.tar.zst\n")
    return result


@needs_pgo_rustc
def test_raw_profile_of_another_version_is_named(rust_run, tmp_path):
    src, pipeline, art, r = rust_run
    art = artifacts_copy(art, tmp_path)

    victim = repack(art, "train.1of2", lambda work: set_raw_version(work, 11))
    r = pgo("stage", "merge", "--pipeline", pipeline, "--artifacts", art)
    assert r.returncode != 0
    assert victim in r.stderr
    assert "raw profile format version 11" in r.stderr and "reads only version 10" in r.stderr


@needs_pgo_rustc
def test_no_llvm_profdata_for_the_raw_version_names_both_and_the_package(rust_run, tmp_path):
    """A rustc whose LLVM writes a raw version no installed llvm-profdata
    reads (cargo-pgo issue 68): a fake toolchain answering like LLVM 30."""
    src, pipeline, art, r = rust_run
    art = artifacts_copy(art, tmp_path)
    fake = tmp_path / "fake-sysroot"
    (fake / "bin").mkdir(parents=True)
    lib = fake / "lib" / "rustlib" / TARGET / "lib"
    lib.mkdir(parents=True)
    (lib / "libprofiler_builtins-0.rlib").write_bytes(b"")
    (fake / "bin" / "rustc").write_text(
        "#!/bin/sh\n[ \"$1\" = --print ] && { echo %s; exit 0; }\n"
        "printf 'rustc 9.99.0 (fake)\\nLLVM version: 30.1.0\\n'\n" % fake)
    (fake / "bin" / "cargo").write_text("#!/bin/sh\necho cargo 9.99.0\n")
    for tool in ("rustc", "cargo"):
        os.chmod(fake / "bin" / tool, 0o755)
    env = rust_env()
    env["PATH"] = f"{fake}/bin:{env['PATH']}"
    r = pgo("stage", "merge", "--pipeline", pipeline, "--artifacts", art, env=env)
    assert r.returncode != 0
    assert "rustc (LLVM 30) writes raw profile format version 11" in r.stderr, r.stderr
    assert "no installed llvm-profdata reads it" in r.stderr
    assert "llvm-19" in r.stderr and "reads version 10" in r.stderr   # what was found
    assert "rustup component add llvm-tools" in r.stderr


@needs_pgo_rustc
def test_overridden_rustflags_are_caught_at_instrument(rust_run, tmp_path):
    """The project's own RUSTFLAGS replacing the generate flags (cargo-pgo
    issues 49 and 56): the binary carries no profile runtime."""
    src, pipeline, art, r = rust_run
    other = pipeline_file(src, str(tmp_path), edit=[(
        'RUSTFLAGS="$PGO_GENERATE_FLAGS" cargo build',
        'RUSTFLAGS="-Ctarget-cpu=x86-64" cargo build')])
    r = pgo("stage", "instrument", "--pipeline", other, "--artifacts", str(tmp_path / "art"))
    assert r.returncode != 0
    assert "/build/out/monocheck carries no LLVM profile runtime" in r.stderr, r.stderr
    assert "cargo-pgo issues 49 and 56" in r.stderr


def replace_merged_profile(art, data):
    def put(work):
        path = os.path.join(work, "profile", "merged.profdata")
        with open(path, "wb") as f:
            f.write(data)
    repack(art, "merge", put)


@needs_pgo_rustc
def test_unreadable_profile_fails_the_build(rust_run, tmp_path):
    """rustc only warns about a profile it cannot read (rust issue 103229)."""
    src, pipeline, art, r = rust_run
    art = artifacts_copy(art, tmp_path)
    replace_merged_profile(art, b"not a profile at all\n" * 50)
    r = pgo("stage", "build", "--pipeline", pipeline, "--artifacts", art)
    assert r.returncode != 0
    assert "rustc: the profile is not an LLVM profile" in r.stderr, r.stderr


@needs_pgo_rustc
def test_profile_of_another_program_fails_the_build(rust_run, tmp_path):
    src, pipeline, art, r = rust_run
    art = artifacts_copy(art, tmp_path)
    work = tmp_path / "other"
    work.mkdir()
    (work / "m.rs").write_text(
        "fn f(x: u64) -> u64 { if x % 3 == 0 { x / 3 } else { 3 * x + 1 } }\n"
        "fn main() { let mut s = 0; for i in 0..1000u64 { s += f(i); } println!(\"{}\", s); }\n")
    env = rust_env()
    subprocess.run(["rustc", "-O", f"-Cprofile-generate={work}/raw", "m.rs", "-o", "m"],
                   cwd=work, check=True, env=env)
    subprocess.run(["./m"], cwd=work, check=True, capture_output=True)
    raws = [str(p) for p in (work / "raw").iterdir()]
    subprocess.run(["/usr/lib/llvm-19/bin/llvm-profdata", "merge", "-o", "other.profdata", *raws],
                   cwd=work, check=True)
    replace_merged_profile(art, (work / "other.profdata").read_bytes())
    r = pgo("stage", "build", "--pipeline", pipeline, "--artifacts", art)
    assert r.returncode != 0
    assert "the profile matches" in r.stderr and "another program or build" in r.stderr, r.stderr


@needs_pgo_rustc
def test_profile_trained_with_other_knobs_is_refused(rust_run, tmp_path):
    src, pipeline, art, r = rust_run
    art = artifacts_copy(art, tmp_path)
    changed = pipeline_file(src, str(tmp_path), edit=[(
        "[release]\n", "[release]\nenv = MONOCHECK_JOBS=4\n")])
    r = pgo("stage", "build", "--pipeline", changed, "--artifacts", art)
    assert r.returncode != 0
    assert "stage build failed at step 'checking the training knobs'" in r.stderr, r.stderr
    assert "MONOCHECK_JOBS: trained with it unset, the release default is 4" in r.stderr


def test_debian_rustc_is_refused_plainly(tmp_path):
    """Debian's rustc 1.63 has no profiler runtime: the instrument stage
    says so before running cargo."""
    if not os.path.exists("/usr/bin/rustc"):
        pytest.skip("Debian's rustc is not installed")
    src = copy_fixture(str(tmp_path / "monocheck"))
    env = dict(os.environ, PATH="/usr/bin:/bin")
    r = pgo("stage", "instrument", "--pipeline", os.path.join(src, "pipeline-rust.ini"), env=env)
    assert r.returncode != 0
    assert "has no profiler runtime" in r.stderr and "install a rustup toolchain" in r.stderr


@needs_pgo_rustc
def test_crate_that_needs_the_network_fails_with_cargos_message(tmp_path):
    """No registry is reachable from a stage: cargo runs offline and says so
    (CARGO_NET_OFFLINE), the stage names itself; nothing hangs."""
    src = copy_fixture(str(tmp_path / "monocheck"))
    toml = os.path.join(src, "Cargo.toml")
    text = open(toml).read()
    assert "[dependencies]\n" in text
    with open(toml, "w") as f:
        f.write(text.replace("[dependencies]\n", '[dependencies]\nserde = "1"\n', 1))
    os.unlink(os.path.join(src, "Cargo.lock"))
    other = pipeline_file(src, str(tmp_path), edit=[(
        "cargo build --release --offline --locked --target", "cargo build --release --target")])
    r = pgo("stage", "instrument", "--pipeline", other, "--artifacts", str(tmp_path / "art"),
            timeout=300)
    assert r.returncode != 0
    assert "stage instrument failed at step 'running the command'" in r.stderr, r.stderr
    assert "offline" in r.stderr and "serde" in r.stderr


BUILD_RS = r'''
use std::process::Command;

// Compiles C the way the cc crate would, with clang's own PGO flags.
fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let obj = format!("{}/x.o", out);
    let ok = Command::new("clang")
        .args(["-c", "-O2", "-fprofile-generate", "csrc/x.c", "-o", &obj])
        .status()
        .unwrap()
        .success();
    assert!(ok, "clang failed");
    let lib = format!("{}/libx.a", out);
    assert!(Command::new("ar").args(["rcs", &lib, &obj]).status().unwrap().success());
    println!("cargo:rustc-link-search=native={}", out);
    println!("cargo:rerun-if-changed=csrc/x.c");
}
'''


@needs_pgo_rustc
def test_c_objects_of_another_llvm_are_named(tmp_path):
    """A build script compiling C with clang 14's -fprofile-generate (raw
    version 8) while rustc's LLVM writes 10: the instrument stage names the
    objects that disagree."""
    if shutil.which("clang") is None:
        pytest.skip("clang is missing")
    src = copy_fixture(str(tmp_path / "monocheck"))
    os.makedirs(os.path.join(src, "csrc"))
    with open(os.path.join(src, "csrc", "x.c"), "w") as f:
        f.write("int c_helper(int x) { return x % 3 ? x * 2 : x / 3; }\n")
    with open(os.path.join(src, "build.rs"), "w") as f:
        f.write(BUILD_RS)
    r = pgo("stage", "instrument", "--pipeline", os.path.join(src, "pipeline-rust.ini"),
            "--artifacts", str(tmp_path / "art"))
    assert r.returncode != 0
    assert "objects instrumented for another raw profile version than rustc's" in r.stderr, \
        r.stderr
    assert "libx.a(x.o) (version 8)" in r.stderr and "x.o (version 8)" in r.stderr
    assert "writes version 10" in r.stderr
