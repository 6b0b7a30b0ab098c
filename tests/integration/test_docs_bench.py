"""docs/bench.md describes what the binary writes: the JSON schema version
of a result file, and the verdicts as each output spells them (the
terminal says "no change", the JSON "no-change")."""
import json
import os
import re
import subprocess

import pytest

from conftest import BINARY, ROOT

pytestmark = pytest.mark.untimed

DOC = os.path.join(ROOT, "docs", "bench.md")


def doc_text():
    with open(DOC) as f:
        return f.read()


def test_docs_describe_the_schema_version_the_binary_writes(tmp_path):
    out = tmp_path / "r.json"
    r = subprocess.run([BINARY, "bench", "--runs", "2", "--max-runs", "2", "--warmup", "0",
                        "--json", str(out), "--", "true"], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    version = json.loads(out.read_text())["schema_version"]
    text = doc_text()
    headings = re.findall(r"^## JSON result, schema version (\d+)$", text, re.M)
    assert headings == [str(version)], headings
    assert f'"schema_version": {version}' in text


def test_docs_spell_no_change_as_each_output_does():
    text = doc_text()
    for m in re.finditer(r"no-change", text):
        before = text[max(0, m.start() - 60):m.start()]
        assert "JSON" in before or "verdict (" in before, \
            f"'no-change' outside a JSON context: ...{before}no-change"
    assert "`no change`" in text
    # the verdicts a comparison can have in JSON, all named
    for v in ("slower", "no-change", "faster", "inconclusive"):
        assert f"`{v}`" in text
