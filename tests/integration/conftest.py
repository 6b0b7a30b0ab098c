"""Shared helpers for the integration tests: they run the real
build/pgo-sandbox binary and probe the sandbox from inside."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("PGO_SANDBOX", os.path.join(ROOT, "build", "pgo-sandbox"))
PROBES = os.environ.get("PGO_PROBE_DIR", os.path.join(ROOT, "build", "probes"))
ROOTLESS = os.getuid() != 0


def run(*args, timeout=60, env=None, **kw):
    """Run `pgo-sandbox ARGS...`, capturing text output."""
    return subprocess.run([BINARY, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def sandbox(*command, opts=(), **kw):
    """Run COMMAND inside a default sandbox."""
    return run("run", *opts, "--", *command, **kw)


def probe(name):
    path = os.path.join(PROBES, name)
    if not os.path.exists(path):
        pytest.fail(f"probe {path} is missing: run `make` first")
    return path


def busybox():
    path = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(path):
        pytest.fail("busybox-static is missing (make deps installs it)")
    return path


root_only = pytest.mark.skipif(ROOTLESS, reason="needs root")


def pytest_configure(config):
    # tests/run-all.sh runs the `untimed` tests of root and rootless side by
    # side, and everything else (benches, gates, timeouts, whatever a loaded
    # machine could change) afterwards on a machine left to them.  A test
    # file is timed unless it says otherwise: a new file cannot be slowed
    # into a flaky verdict by mistake.
    config.addinivalue_line("markers", "untimed: asserts nothing that load on the machine "
                            "could change; tests/run-all.sh runs it alongside other work")
    config.addinivalue_line("markers", "timed: a test of an `untimed` file that measures "
                            "time after all (a bench); run with the machine to itself")


@pytest.fixture(scope="session")
def minilang_gcc(tmp_path_factory):
    """fixtures/minilang's gcc pipeline (pipeline-gcc.ini), instrument to
    build, run once per session.  Tests that only read its artifacts share
    it; a test that runs more stages copies the artifacts first (the copies'
    stages are then cached).  Returns (src, pipeline, artifacts, result)."""
    tmp = tmp_path_factory.mktemp("minilang-gcc")
    src = str(tmp / "minilang")
    shutil.copytree(os.path.join(ROOT, "fixtures", "minilang"), src,
                    ignore=shutil.ignore_patterns("artifacts"))
    pipeline = os.path.join(src, "pipeline-gcc.ini")
    art = str(tmp / "art")
    r = run("pipeline", "--pipeline", pipeline, "--artifacts", art, "--until", "build",
            timeout=600)
    return src, pipeline, art, r


@pytest.fixture
def probe_dir_ro():
    """Options that expose the probe directory read-only at /probes."""
    return ("--ro-bind", PROBES, "/probes")
