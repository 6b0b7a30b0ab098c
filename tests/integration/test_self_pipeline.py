"""The second demo: pgo-sandbox builds itself with its own pipeline
(pgo-pipeline.ini at the repository root), and the PGO build really used
the profile its training wrote."""
import os
import re
import subprocess

import pytest

from conftest import BINARY, ROOT, ROOTLESS

pytestmark = [
    pytest.mark.skipif(ROOTLESS, reason="the root run covers it"),
    pytest.mark.untimed,
]


def test_pgo_sandbox_builds_itself_with_pgo(tmp_path):
    r = subprocess.run([BINARY, "pipeline", "--until", "build", "--artifacts", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"profile coverage: (\d+) of (\d+) instrumented functions", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    assert int(m.group(1)) > 20   # pack, unpack, inspect, config parsing ran
    assert (tmp_path / "build.tar.zst").exists()
    out = tmp_path / "unpacked"
    out.mkdir()
    subprocess.run([BINARY, "unpack", str(tmp_path / "build.tar.zst"), str(out)], check=True,
                   capture_output=True)
    v = subprocess.run([str(out / "pgo-sandbox"), "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("pgo-sandbox ")
