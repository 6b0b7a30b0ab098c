"""The second demo: pgo-sandbox builds itself with its own pipeline
(pgo-pipeline.ini at the repository root), and the PGO build really used
the profile its training wrote.  It runs on a copy of the checkout's files
(as a fresh clone has them): the pipeline's source is the whole tree, whose
digest must not meet files that other work of `make check` (tests/run-all.sh
runs the ASan build and fuzz beside this test) writes and removes under
build/."""
import re
import subprocess

import pytest

from conftest import BINARY, ROOTLESS
from test_release import checkout_copy

pytestmark = [
    pytest.mark.skipif(ROOTLESS, reason="the root run covers it"),
    pytest.mark.untimed,
]


def test_pgo_sandbox_builds_itself_with_pgo(tmp_path):
    tree = tmp_path / "checkout"
    checkout_copy(tree)
    art = tmp_path / "art"
    r = subprocess.run([BINARY, "pipeline", "--until", "build", "--artifacts", str(art)],
                       cwd=tree, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"profile coverage: (\d+) of (\d+) instrumented functions", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    assert int(m.group(1)) > 20   # pack, unpack, inspect, config parsing ran
    assert (art / "build.tar.zst").exists()
    out = tmp_path / "unpacked"
    out.mkdir()
    subprocess.run([BINARY, "unpack", str(art / "build.tar.zst"), str(out)], check=True,
                   capture_output=True)
    v = subprocess.run([str(out / "pgo-sandbox"), "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("pgo-sandbox ")
