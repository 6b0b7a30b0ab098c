"""`pgo-sandbox init` on copies of the fixtures (issue 21, point 8): the
starter pipeline it writes passes `pipeline --check` as is, names what the
project lacks, never overwrites a file, and its generated build commands
really build with PGO once the placeholder training is written."""
import os
import re
import shutil

import pytest

from conftest import ROOT, ROOTLESS, run

pytestmark = pytest.mark.untimed

MONOCHECK = os.path.join(ROOT, "fixtures", "monocheck")
MINILANG = os.path.join(ROOT, "fixtures", "minilang")


def copy_fixture(src, dest):
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("artifacts", "target"))
    return dest


def init(*args):
    return run("init", *args)


def check(pipeline):
    return run("pipeline", "--check", "--pipeline", str(pipeline))


def test_cargo_project_gets_a_pipeline_that_checks(tmp_path):
    proj = copy_fixture(MONOCHECK, tmp_path / "monocheck")
    r = init(str(proj))
    assert r.returncode == 0, r.stderr
    pipeline = proj / "pgo-pipeline.ini"
    text = pipeline.read_text()
    assert "binary targets: monocheck" in r.stdout
    assert 'lto = "fat": fat LTO' in r.stdout and "codegen-units = 1: yes" in r.stdout
    assert "no dependencies: cargo builds offline" in r.stdout
    assert "compiler = rustc" in text
    assert "--offline --locked --target x86_64-unknown-linux-gnu" in text
    assert "MISSING" not in text
    # the placeholders are marked and fail rather than train on nothing
    assert re.search(r"^command = echo \"PLACEHOLDER: the train stage", text, re.M)
    assert "env = PGO_BENCHMARKS=PLACEHOLDER" in text
    c = check(pipeline)
    assert c.returncode == 0, c.stderr
    assert "valid: pipeline monocheck, compiler rustc, 6 stages" in c.stdout


def test_existing_file_is_never_overwritten(tmp_path):
    proj = copy_fixture(MONOCHECK, tmp_path / "monocheck")
    assert init(str(proj)).returncode == 0
    pipeline = proj / "pgo-pipeline.ini"
    pipeline.write_text("# mine\n")
    r = init(str(proj))
    assert r.returncode == 125
    assert "exists; init never overwrites a file" in r.stderr
    assert pipeline.read_text() == "# mine\n"
    # --output to an existing file: the same
    other = tmp_path / "other.ini"
    other.write_text("keep\n")
    r = init(str(proj), "--output", str(other))
    assert r.returncode == 125 and other.read_text() == "keep\n"
    assert [p for p in os.listdir(proj) if ".tmp." in p] == []


def test_missing_release_settings_and_vendoring_are_named(tmp_path):
    proj = copy_fixture(MONOCHECK, tmp_path / "monocheck")
    cargo = (proj / "Cargo.toml").read_text()
    cargo = cargo.replace('lto = "fat"\n', "").replace("codegen-units = 1\n", "")
    cargo = cargo.replace("[dependencies]\n", '[dependencies]\nregex = "1"\n')
    (proj / "Cargo.toml").write_text(cargo)
    os.unlink(proj / "Cargo.lock")
    r = init(str(proj))
    assert r.returncode == 0, r.stderr
    text = (proj / "pgo-pipeline.ini").read_text()
    for missing in ('MISSING: [profile.release] lto = "fat" in Cargo.toml (found: none)',
                    "MISSING: [profile.release] codegen-units = 1",
                    "MISSING: vendored sources: stages run without network",
                    "MISSING: Cargo.lock"):
        assert missing in r.stdout and missing in text
    assert "--offline --target" in text  # no --locked without a Cargo.lock
    assert check(proj / "pgo-pipeline.ini").returncode == 0


def test_vendored_sources_in_cargo_config_are_detected(tmp_path):
    proj = copy_fixture(MONOCHECK, tmp_path / "monocheck")
    cargo = (proj / "Cargo.toml").read_text()
    (proj / "Cargo.toml").write_text(cargo.replace("[dependencies]\n",
                                                   '[dependencies]\nregex = "1"\n'))
    (proj / ".cargo").mkdir()
    (proj / ".cargo" / "config.toml").write_text(
        '[source.crates-io]\nreplace-with = "vendored-sources"\n\n'
        '[source.vendored-sources]\ndirectory = "vendor"\n')
    r = init(str(proj))
    assert "MISSING: .cargo/config.toml names vendored sources in vendor, which does not exist" \
        in r.stdout
    os.unlink(proj / "pgo-pipeline.ini")
    (proj / "vendor").mkdir()
    r = init(str(proj))
    assert "vendored sources: .cargo/config.toml replaces crates-io with vendor" in r.stdout
    assert "MISSING: vendored" not in r.stdout


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_plain_c_project_gets_the_compiler_variant(tmp_path, compiler):
    proj = copy_fixture(MINILANG, tmp_path / "minilang")
    r = init(str(proj), "--compiler", compiler)
    assert r.returncode == 0, r.stderr
    text = (proj / "pgo-pipeline.ini").read_text()
    assert f"compiler = {compiler}" in text
    assert "$PGO_GENERATE_FLAGS -o /build/out/minilang src/*.c" in text
    assert "CHECK: the binary is assumed to be named minilang" in r.stdout
    assert check(proj / "pgo-pipeline.ini").returncode == 0


def test_make_and_cmake_projects_get_their_build_commands(tmp_path):
    proj = copy_fixture(MINILANG, tmp_path / "minilang")
    (proj / "Makefile").write_text("minilang: $(wildcard src/*.c)\n"
                                   "\t$(CC) -std=c11 $(CFLAGS) -o $@ $^ $(LDFLAGS) -lm\n")
    assert init(str(proj)).returncode == 0
    text = (proj / "pgo-pipeline.ini").read_text()
    assert 'make -C /build/src CC="$PGO_CC" CFLAGS="-O2 $flags"' in text
    assert check(proj / "pgo-pipeline.ini").returncode == 0
    cm = copy_fixture(MINILANG, tmp_path / "cm")
    (cm / "CMakeLists.txt").write_text("project(minilang C)\n"
                                       "add_executable(mini src/main.c)\n")
    r = init(str(cm), "--output", str(tmp_path / "cm.ini"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "cm.ini").read_text()
    assert "binary: mini (the first add_executable)" in r.stdout
    assert "cmake --build /build/cmake" in text and "outputs = mini" in text
    # a pipeline outside the project names it by absolute path
    assert f"source = {cm}" in text
    assert check(tmp_path / "cm.ini").returncode == 0


def test_no_project_is_refused_naming_what_init_knows(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = init(str(empty))
    assert r.returncode == 125
    assert "no Cargo.toml, CMakeLists.txt, Makefile or C sources" in r.stderr
    assert not (empty / "pgo-pipeline.ini").exists()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Cargo.toml").write_text("[package]\nname = \"x\"\n[profile.release\n")
    r = init(str(bad))
    assert r.returncode == 125 and "Cargo.toml:3: unterminated table header" in r.stderr
    assert not (bad / "pgo-pipeline.ini").exists()


@pytest.mark.skipif(ROOTLESS, reason="the private tmp_path is not readable to the stage uid")
@pytest.mark.parametrize("kind", ["sources", "make"])
def test_generated_c_commands_build_with_pgo_once_training_is_written(tmp_path, kind):
    """The placeholder train fails loudly; with a real command in its place
    the generated instrument, merge and build commands make a PGO build."""
    proj = copy_fixture(MINILANG, tmp_path / "minilang")
    if kind == "make":
        (proj / "Makefile").write_text("minilang: $(wildcard src/*.c)\n"
                                       "\t$(CC) -std=c11 $(CFLAGS) -o $@ $^ $(LDFLAGS) -lm\n")
    assert init(str(proj)).returncode == 0
    pipeline = proj / "pgo-pipeline.ini"
    r = run("pipeline", "--pipeline", str(pipeline), "--until", "train", timeout=300)
    assert r.returncode != 0
    assert "PLACEHOLDER: the train stage has no command yet" in r.stderr
    text = pipeline.read_text()
    text = re.sub(r'^command = echo "PLACEHOLDER: the train stage.*$',
                  "command = for f in /src/train/*.ml; do "
                  "/build/in/instrument/minilang \"$f\" >/dev/null; done",
                  text, count=1, flags=re.M)
    pipeline.write_text(text)
    r = run("pipeline", "--pipeline", str(pipeline), "--until", "build", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (proj / "artifacts" / "build.tar.zst").exists()


def test_pipeline_check_reports_file_and_line_and_runs_nothing(tmp_path):
    proj = copy_fixture(MINILANG, tmp_path / "minilang")
    assert init(str(proj)).returncode == 0
    pipeline = proj / "pgo-pipeline.ini"
    lines = pipeline.read_text().splitlines(keepends=True)
    at = lines.index("[stage merge]\n") + 1
    lines.insert(at, "colour = blue\n")
    pipeline.write_text("".join(lines))
    r = check(pipeline)
    assert r.returncode == 125
    assert f"pgo-pipeline.ini:{at + 1}" in r.stderr, r.stderr
    assert not (proj / "artifacts").exists()
