"""`pgo-sandbox bench` and `pgo-sandbox forensics` end to end: the gate on
the minilang fixture (A/A passes, a 2x slowdown fails, a speed-up passes),
the knob matrix on a workload with known additive and non-additive effects,
the environment and layout modes, counters/callgrind, the reports (JSON
against tests/integration/bench_schema.json, SVG parsed as XML), --rerun,
and forensics on the recorded files of tests/fixtures-bench.  Runs are kept
few and short; nothing here asserts a duration."""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest

from conftest import BINARY, ROOT

SCHEMA = os.path.join(os.path.dirname(__file__), "bench_schema.json")
FIXTURES = os.path.join(ROOT, "tests", "fixtures-bench")

WORKLOAD_ML = """
fn fib(n) {
	if (n < 2) return n;
	return fib(n - 1) + fib(n - 2);
}
let total = 0;
for (let r = 0; r < scale(); r += 1) {
	total += fib(%d);
}
print(total);
"""

# time = c0 + u*A*B, or c0 + u*(A+B) with MODE=sum: log-additive knobs, or not.
# A unit u (~5 ms) is ten times the start-up cost c0, so that c0 barely
# bends the product: with A, B in {1, 2}, I = ln(t11 t00 / t10 t01) ~ +2..4 %.
WORK_C = r"""
#include <stdlib.h>
#include <string.h>
static long knob(const char *name) { const char *v = getenv(name); return v ? atol(v) : 1; }
int main(void)
{
	const char *mode = getenv("MODE");
	long units = mode && strcmp(mode, "sum") == 0 ? knob("A") + knob("B") : knob("A") * knob("B");
	long unit = getenv("UNIT") ? atol(getenv("UNIT")) : 20000000L;
	volatile unsigned long x = 0;
	for (long i = 0; i < units * unit; i++)
		x += (unsigned long)i;
	return 0;
}
"""


@pytest.fixture(scope="module")
def work():
    """A world-readable directory with minilang, a few programs and the C
    workload; the bench binds it read-only (its working directory)."""
    d = tempfile.mkdtemp(prefix="pgo-bench-test.")
    os.chmod(d, 0o755)
    src = os.path.join(ROOT, "fixtures", "minilang", "src")
    sources = sorted(os.path.join(src, f) for f in os.listdir(src) if f.endswith(".c"))
    subprocess.run(["cc", "-O2", "-o", os.path.join(d, "minilang"), *sources, "-lm"], check=True)
    with open(os.path.join(d, "work.c"), "w") as f:
        f.write(WORK_C)
    subprocess.run(["cc", "-O1", "-o", os.path.join(d, "work"), os.path.join(d, "work.c")],
                   check=True)
    for name, n in (("w", 25), ("a_full_check_flow", 22), ("b", 22)):
        with open(os.path.join(d, name + ".ml"), "w") as f:
            f.write(WORKLOAD_ML % n)
    # the -y programs: the same for a, twice the work for b
    shutil.copy(os.path.join(d, "a_full_check_flow.ml"), os.path.join(d, "a_full_check_flow-y.ml"))
    with open(os.path.join(d, "b-y.ml"), "w") as f:
        f.write((WORKLOAD_ML % 22).replace("total += fib(22);", "total += fib(22);\n\ttotal += fib(22);"))
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o755)
    yield d
    shutil.rmtree(d)


def bench(work, *args, timeout=300):
    return subprocess.run([BINARY, "bench", *args], cwd=work, capture_output=True, text=True,
                          timeout=timeout)


def result(path):
    with open(path) as f:
        return json.load(f)


def comparisons(doc, metric="wall", kind="ab"):
    return [c for c in doc["analysis"]["comparisons"]
            if c["metric"] == metric and c["kind"] == kind]


# ---- a small JSON Schema validator (the subset bench_schema.json uses) -------------

def _resolve(root, ref):
    node = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _type_ok(value, t):
    types = t if isinstance(t, list) else [t]
    for ty in types:
        if ty == "null" and value is None:
            return True
        if ty == "boolean" and isinstance(value, bool):
            return True
        if ty == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if ty == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if ty == "string" and isinstance(value, str):
            return True
        if ty == "array" and isinstance(value, list):
            return True
        if ty == "object" and isinstance(value, dict):
            return True
    return False


def validate(value, schema, root=None, path="$"):
    """Errors as a list of strings."""
    root = root or schema
    errors = []
    if "$ref" in schema:
        errors += validate(value, _resolve(root, schema["$ref"]), root, path)
    for sub in schema.get("allOf", []):
        errors += validate(value, sub, root, path)
    if "type" in schema and not _type_ok(value, schema["type"]):
        return errors + [f"{path}: {value!r} is not of type {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append(f"{path}: {value} <= {schema['exclusiveMinimum']}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            errors.append(f"{path}: {value} >= {schema['exclusiveMaximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: too short")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1 << 60):
            errors.append(f"{path}: {len(value)} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += validate(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing {key}")
        props = schema.get("properties", {})
        for key, item in value.items():
            if "propertyNames" in schema:
                errors += validate(key, schema["propertyNames"], root, f"{path}.<{key}>")
            if key in props:
                errors += validate(item, props[key], root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += validate(item, schema["additionalProperties"], root, f"{path}.{key}")
    return errors


def check_schema(doc):
    with open(SCHEMA) as f:
        schema = json.load(f)
    errors = validate(doc, schema)
    assert not errors, "\n".join(errors[:20])
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.Draft202012Validator(schema).validate(doc)


def test_validator_rejects_what_the_schema_forbids():
    with open(SCHEMA) as f:
        schema = json.load(f)
    with open(os.path.join(FIXTURES, "nocounters.json")) as f:
        doc = json.load(f)
    assert validate(doc, schema) == []
    broken = json.loads(json.dumps(doc))
    broken["runs"][0]["cpu_source"] = "guess"
    del broken["analysis"]["gate"]
    broken["settings"]["surprise"] = 1
    errors = validate(broken, schema)
    assert any("cpu_source" in e for e in errors)
    assert any("missing gate" in e for e in errors)
    assert any("unexpected surprise" in e for e in errors)


# ---- usage --------------------------------------------------------------------------

def test_help_and_usage_errors(work):
    r = bench(work, "--help")
    assert r.returncode == 0 and "--fail-on-regression" in r.stdout and "Exit codes" in r.stdout
    r = bench(work)
    assert r.returncode == 125 and "no command" in r.stderr
    r = bench(work, "--variant", "a=./minilang 'w.ml", "--variant", "b=x")
    assert r.returncode == 125 and "unterminated quote" in r.stderr
    r = bench(work, "--runs", "0", "--", "true")
    assert r.returncode == 125 and "--runs" in r.stderr
    r = subprocess.run([BINARY, "forensics"], capture_output=True, text=True)
    assert r.returncode == 125 and "A.json" in r.stderr


def test_failing_command_stops_the_bench_with_4(work):
    r = bench(work, "--runs", "2", "--warmup", "0", "--", "sh", "-c", "echo boom >&2; exit 3")
    assert r.returncode == 4, r.stderr
    assert "exited with 3" in r.stderr and "boom" in r.stderr


def test_a_fresh_directory_as_workdir_is_refused(work):
    """From /tmp the read-only workdir bind would cover the sandbox's own
    /tmp: the bench says so instead of failing inside the command."""
    cmd = ["--runs", "2", "--warmup", "0", "--", "sh", "-c", "touch /tmp/scratch"]
    r = subprocess.run([BINARY, "bench", *cmd], cwd="/tmp", capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 125, r.stderr
    assert "working directory /tmp" in r.stderr and "--no-workdir" in r.stderr
    r = subprocess.run([BINARY, "bench", "--no-workdir", *cmd], cwd="/tmp",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = bench(work, *cmd)
    assert r.returncode == 0, r.stderr


# ---- the gate on the fixture ------------------------------------------------------------

def variants(scale_a, scale_b, program="w.ml"):
    return ("--variant", f"a=env MINILANG_WORK_SCALE={scale_a} ./minilang {program}",
            "--variant", f"b=env MINILANG_WORK_SCALE={scale_b} ./minilang {program}")


def test_aa_passes_the_gate(work, tmp_path):
    out = tmp_path / "aa.json"
    r = bench(work, "--runs", "12", "--fail-on-regression", "5", "--json", str(out),
              *variants(2, 2))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = result(out)
    (cmp,) = comparisons(doc)
    assert cmp["verdict"] != "slower"
    assert doc["analysis"]["gate"]["status"] == "pass"
    assert r.stderr == ""      # not a terminal: no progress line


def test_twice_the_work_fails_the_gate(work, tmp_path):
    out, md, svg = tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.svg"
    r = bench(work, "--runs", "12", "--fail-on-regression", "5", "--json", str(out),
              "--markdown", str(md), "--svg", str(svg), *variants(1, 2))
    assert r.returncode == 1, r.stdout + r.stderr
    doc = result(out)
    check_schema(doc)
    (cmp,) = comparisons(doc)
    assert cmp["verdict"] == "slower" and cmp["gated"]
    assert cmp["estimate_pct"] > 30 and cmp["ci_low_pct"] > 5    # twice the work + start-up
    assert doc["analysis"]["gate"]["status"] == "fail"
    assert doc["analysis"]["gate"]["exit_code"] == 1
    # CPU time is analysed too
    (cpu,) = comparisons(doc, "cpu")
    assert cpu["verdict"] == "slower"
    # blocks: every block holds each variant twice, mirrored (ABBA or BAAB)
    runs = [x for x in doc["runs"] if not x["warmup"]]
    for block in {x["block"] for x in runs}:
        order = [x["variant"] for x in sorted(runs, key=lambda x: x["seq"]) if x["block"] == block]
        assert order in ([0, 1, 1, 0], [1, 0, 0, 1])
    markdown = md.read_text()
    assert "| benchmark | variant | mean | median |" in markdown and "**slower**" in markdown
    assert "gate FAILED" in markdown
    tree = ET.parse(svg)
    root = tree.getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    circles = root.findall(".//{http://www.w3.org/2000/svg}circle")
    assert len(circles) == len(runs)
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "a (baseline)" in texts and "slower" in texts


def test_a_speedup_passes_the_gate(work, tmp_path):
    out = tmp_path / "r.json"
    r = bench(work, "--runs", "12", "--fail-on-regression", "5", "--json", str(out),
              *variants(2, 1))
    assert r.returncode == 0, r.stdout + r.stderr
    (cmp,) = comparisons(result(out))
    assert cmp["verdict"] == "faster" and cmp["estimate_pct"] < -20


def test_inconclusive_fails_only_with_strict(work, tmp_path):
    args = ("--runs", "4", "--max-runs", "4", "--warmup", "0", *variants(1, 1))
    r = bench(work, *args)
    assert r.returncode == 0, r.stderr
    assert "inconclusive" in r.stdout
    out = tmp_path / "s.json"
    r = bench(work, "--strict", "--json", str(out), *args)
    assert r.returncode == 2, r.stdout + r.stderr
    doc = result(out)
    assert doc["analysis"]["gate"]["status"] == "inconclusive"
    assert doc["benchmarks"][0]["blocks"] == 2      # --max-runs 4: no extension


def test_a_gate_that_cannot_decide_does_not_pass(work, tmp_path):
    """Issue 21: two blocks give no finite 95 % interval; a 2x slower
    candidate used to print `inconclusive` then `gate passed`, exit 0."""
    out = tmp_path / "u.json"
    r = bench(work, "--runs", "4", "--max-runs", "4", "--warmup", "0",
              "--fail-on-regression", "2", "--json", str(out), *variants(1, 2))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "gate passed" not in r.stdout
    assert "gate FAILED: inconclusive (no finite interval)" in r.stdout
    # said before the first run, with the number of blocks needed
    assert "allows 2 blocks; a 95 % interval needs at least 3 (6 when it falls back" in r.stderr, r.stderr
    gate = result(out)["analysis"]["gate"]
    assert gate["status"] == "inconclusive" and gate["exit_code"] == 2
    assert gate["undecidable"] is True
    assert any("no finite 95 % interval from" in x for x in gate["reasons"])
    (cmp,) = comparisons(result(out))
    # issue 25: the method and the values it used are recorded
    assert (cmp["method"], cmp["n_values"]) in (("paired-runs", 4), ("block-means", 2))


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_two_blocks_decide_a_count_gate(work, tmp_path):
    """A count's interval is the range of its blocks: with est-cycles as the
    gate, two blocks decide, and the warning before the first run says so
    instead of predicting an inconclusive gate and exit 2."""
    out = tmp_path / "c.json"
    r = bench(work, "--cachegrind", "--metric", "est-cycles", "--runs", "4", "--max-runs", "4",
              "--warmup", "0", "--fail-on-regression", "2", "--json", str(out), *variants(1, 2),
              timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "comparisons will be inconclusive" not in r.stderr
    assert "the gate's est-cycles (a count) decides from 2" in r.stderr, r.stderr
    gate = result(out)["analysis"]["gate"]
    assert gate["status"] == "fail" and not gate["undecidable"], gate
    cmp = [c for c in comparisons(result(out), metric="est-cycles")][0]
    assert cmp["method"] == "range" and cmp["verdict"] == "slower"


def test_only_glob_and_holm_over_benchmarks(work, tmp_path):
    common = ("--runs", "16", "--benchmarks", "a_full_check_flow,b",
              "--variant", "x=./minilang {bench}.ml", "--variant", "y=./minilang {bench}-y.ml",
              "--fail-on-regression", "10")
    out = tmp_path / "o.json"
    r = bench(work, *common, "--only", "*_full_check_flow", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = result(out)
    by_name = {doc["benchmarks"][c["benchmark"]]["name"]: c for c in comparisons(doc)}
    assert by_name["b"]["verdict"] == "slower" and not by_name["b"]["gated"]
    assert by_name["a_full_check_flow"]["gated"]
    assert by_name["a_full_check_flow"]["verdict"] != "slower"
    # Holm: the adjusted p-value is never below the raw one
    for c in comparisons(doc):
        assert c["p_adjusted"] >= c["p_greater"] - 1e-12
    r = bench(work, *common)
    assert r.returncode == 1, r.stdout + r.stderr


def test_aa_control_is_reported(work, tmp_path):
    out = tmp_path / "r.json"
    r = bench(work, "--runs", "12", "--aa-control", "--json", str(out), *variants(1, 1))
    doc = result(out)
    assert [v["role"] for v in doc["variants"]] == ["baseline", "candidate", "aa-control"]
    (aa,) = comparisons(doc, kind="aa")
    assert aa["candidate"] == 2 and not aa["gated"]
    noisy = aa["verdict"] in ("slower", "faster")
    assert r.returncode == (3 if noisy else 0), r.stdout
    assert doc["analysis"]["gate"]["aa_failed"] == noisy


# ---- the matrix -----------------------------------------------------------------------

def interaction(doc):
    (x,) = [i for i in doc["analysis"]["interactions"] if i["metric"] == "instructions"]
    return x


def test_matrix_additive_and_interacting_knobs(work, tmp_path):
    # Instruction counts (callgrind), not time: the classification is
    # about the analysis, and on a shared machine CPU time failed it now and
    # then even with 30 blocks (a burst widening the interval: "unclear").
    # Deterministic counts make every block's I the same, so two blocks
    # decide.  A unit of 200000 iterations (~1 M instructions) is ten times
    # the start-up's instructions, so with a 15 % threshold I ~ +2 % must
    # land inside it and ~ -43 % beyond it.
    common = ("--runs", "4", "--warmup", "0", "--callgrind", "--metric", "instructions",
              "--threshold", "15", "--setenv", "UNIT=200000")
    out = tmp_path / "product.json"
    r = bench(work, *common, "--matrix", "A=1,2", "--matrix", "B=1,2", "--json", str(out),
              "--", "./work")
    assert r.returncode == 0, r.stderr
    doc = result(out)
    check_schema(doc)
    assert len(doc["cells"]) == 4
    # every block runs all four cells, twice, mirrored
    runs = [x for x in doc["runs"] if not x["warmup"]]
    for block in {x["block"] for x in runs}:
        cells = [x["cell"] for x in sorted(runs, key=lambda x: x["seq"]) if x["block"] == block]
        assert sorted(cells) == [0, 0, 1, 1, 2, 2, 3, 3] and cells == cells[::-1]
    x = interaction(doc)
    assert x["class"] == "additive", x
    effects = {(e["knob"], e["value"]): e for e in doc["analysis"]["effects"]
               if e["metric"] == "instructions"}
    assert 70 < effects[("A", "2")]["estimate_pct"] < 110      # x2 work (+ c0): ~ +90 %
    assert effects[("A", "2")]["verdict"] == "slower"

    out = tmp_path / "sum.json"
    r = bench(work, *common, "--matrix", "A=1,4", "--matrix", "B=1,4", "--setenv", "MODE=sum",
              "--json", str(out), "--", "./work")
    assert r.returncode == 0, r.stderr
    x = interaction(result(out))
    # t00=2 t10=5 t01=5 t11=8 units: I = ln(8*2/25) = -44.6 % (~ -43 % with c0)
    assert x["class"] == "interacting", x
    assert -55 < x["estimate_pct"] < -30


# ---- environment and layout -------------------------------------------------------------

PROBE = "cat /proc/self/personality; env | wc -c"


def probe_lines(stdout):
    lines = [l.strip() for l in stdout.splitlines()]
    pers = [l for l in lines if re.fullmatch(r"[0-9a-f]{8}", l)]
    sizes = [int(l) for l in lines if re.fullmatch(r"\d+", l) and len(l) < 8]
    return pers, sizes


def test_fixed_environment_and_no_aslr_by_default(work):
    r = bench(work, "--runs", "4", "--warmup", "0", "--show-output", "--matrix", "K=1,22222",
              "--", "sh", "-c", PROBE)
    assert r.returncode == 0, r.stderr
    pers, sizes = probe_lines(r.stdout)
    assert len(sizes) == 8 and len(set(sizes)) == 1, sizes     # knob lengths padded away
    assert pers and all(int(p, 16) & 0x0040000 for p in pers)   # ADDR_NO_RANDOMIZE


def test_randomized_layout_pads_per_block(work, tmp_path):
    out = tmp_path / "r.json"
    r = bench(work, "--runs", "6", "--warmup", "0", "--show-output", "--randomize-layout",
              "--seed", "5", "--matrix", "K=1,22", "--json", str(out), "--", "sh", "-c", PROBE)
    assert r.returncode == 0, r.stderr
    pers, sizes = probe_lines(r.stdout)
    assert pers and not any(int(p, 16) & 0x0040000 for p in pers)
    blocks = [sizes[i:i + 4] for i in range(0, len(sizes), 4)]
    assert len(blocks) == 3 and all(len(set(b)) == 1 for b in blocks), sizes
    assert len({b[0] for b in blocks}) > 1
    doc = result(out)
    assert doc["conditions"]["aslr"] == "on"
    pads = {}
    for x in doc["runs"]:
        pads.setdefault(x["block"], set()).add(x["pad"])
    assert all(len(p) == 1 for p in pads.values())


# ---- measurements, conditions ----------------------------------------------------------

def test_conditions_counters_and_explain(work, tmp_path):
    out = tmp_path / "r.json"
    r = bench(work, "--runs", "2", "--warmup", "0", "--explain", "--json", str(out),
              *variants(1, 1))
    assert r.returncode == 0, r.stderr
    doc = result(out)
    check_schema(doc)
    cond = doc["conditions"]
    assert re.fullmatch(r"\d+", cond["cpus"])        # one CPU
    assert os.path.exists(f"/sys/devices/system/cpu/cpu{cond['cpus']}")
    assert cond["cpu_choice"].startswith("the least busy online CPU")
    assert cond["nice"] == (-20 if os.getuid() == 0 else 0) or "nice_refused" in cond
    assert cond["aslr"] == "off"
    assert any(e.startswith("PATH=") for e in cond["environment"])
    assert doc["settings"]["counters"] is True and cond["counters_requested"] is True
    assert "forensics:" in r.stdout
    (f,) = doc["forensics"]
    runs = [x for x in doc["runs"] if not x["warmup"]]
    if cond["counters"] == "available":
        assert all("cycles" in x["counters"] for x in runs)
    else:
        assert cond["counters"].startswith("unavailable: ")
        assert "cannot judge" in r.stdout and f["missing"]
        for x in runs:
            assert x["counters"] is None or "cycles" not in x["counters"]
    for x in runs:
        assert x["harness_us"] >= 0 and x["wall_s"] > 0
        if os.path.exists("/proc/pressure/cpu"):
            assert x["psi_some_us"] is not None
        assert x["steal_s"] is not None


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_callgrind_gives_deterministic_instruction_counts(work, tmp_path):
    out = tmp_path / "r.json"
    r = bench(work, "--runs", "2", "--warmup", "0", "--callgrind", "--metric", "instructions",
              "--json", str(out), "--", "./minilang", "w.ml")
    assert r.returncode == 0, r.stderr
    doc = result(out)
    irs = [x["callgrind_ir"] for x in doc["runs"] if not x["warmup"]]
    assert len(irs) == 2 and irs[0] > 1000000 and len(set(irs)) == 1
    assert doc["variants"][0]["argv"] == ["./minilang", "w.ml"]


def test_artifacts_tarball_and_directory(work, tmp_path):
    art = tmp_path / "art"
    (art / "bin").mkdir(parents=True)
    shutil.copy(os.path.join(work, "minilang"), art / "bin" / "minilang")
    for d in (tmp_path, art, art / "bin"):
        os.chmod(d, 0o755)
    tarball = tmp_path / "art.tar.zst"
    packed = subprocess.run([BINARY, "pack", str(art), str(tarball)], capture_output=True,
                            text=True)
    assert packed.returncode == 0, packed.stderr
    digest = packed.stdout.split()[0]
    out = tmp_path / "r.json"
    r = bench(work, "--runs", "2", "--warmup", "0", "--baseline", str(tarball), "--candidate",
              str(art), "--json", str(out), "--", "{artifact}/bin/minilang", "w.ml")
    assert r.returncode == 0, r.stdout + r.stderr
    base, cand = result(out)["variants"]
    assert base["artifact"] == str(tarball) and base["digest"] == digest
    assert cand["artifact"] == str(art) and cand["argv"][0] == "{artifact}/bin/minilang"
    # an ARTIFACT needs the command to run against it
    r = bench(work, "--baseline", str(tarball), "--candidate", "./minilang w.ml")
    assert r.returncode == 125 and "after --" in r.stderr, r.stderr


def test_rerun_compares_with_the_recorded_numbers(work, tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    r = bench(work, "--runs", "6", "--seed", "77", "--json", str(first), *variants(1, 2))
    assert r.returncode == 0, r.stderr
    r = bench(work, "--rerun", str(first), "--runs", "6", "--json", str(second))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rerun of" in r.stdout
    doc, rec = result(second), result(first)
    check_schema(doc)
    assert doc["settings"]["seed"] == 77
    assert [v["command"] for v in doc["variants"]] == [v["command"] for v in rec["variants"]]
    assert len(doc["rerun"]["arms"]) == 2
    (v,) = doc["rerun"]["verdicts"]
    assert v["recorded_verdict"] == comparisons(rec)[0]["verdict"]
    assert v["new_verdict"] == comparisons(doc)[0]["verdict"]


def test_non_utf8_arguments_are_recorded_losslessly_and_rerun_exactly(work, tmp_path):
    """echo one $'a\\xe9b' three: the word that is not UTF-8 used to vanish
    from argv, and --rerun ran another command."""
    marks = tmp_path / "marks"
    marks.mkdir()
    os.chmod(marks, 0o777)
    os.chmod(tmp_path, 0o755)
    word = b"a\xe9b"
    script = f"printf %s \"$1\" > {marks}/out"
    argv = [BINARY.encode(), b"bench", b"--runs", b"2", b"--warmup", b"0", b"--max-runs", b"2",
            b"--bind", str(marks).encode(), str(marks).encode(), b"--json",
            str(tmp_path / "first.json").encode(), b"--", b"sh", b"-c", script.encode(), b"sh",
            word, b"three"]
    r = subprocess.run(argv, cwd=work, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (marks / "out").read_bytes() == word
    doc = result(tmp_path / "first.json")
    check_schema(doc)
    (v,) = doc["variants"]
    assert v["argv"] == ["sh", "-c", script, "sh", "a\ufffdb", "three"]
    assert [base64.b64decode(a) for a in v["argv_b64"]] == \
        [b"sh", b"-c", script.encode(), b"sh", word, b"three"]
    (marks / "out").unlink()
    r = bench(work, "--rerun", str(tmp_path / "first.json"), "--runs", "2", "--max-runs", "2",
              "--json", str(tmp_path / "second.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (marks / "out").read_bytes() == word             # exactly what ran
    assert result(tmp_path / "second.json")["variants"][0]["argv_b64"] == v["argv_b64"]


def test_non_utf8_command_string_of_a_variant_is_recorded(work, tmp_path):
    out = tmp_path / "v.json"
    argv = [BINARY.encode(), b"bench", b"--runs", b"2", b"--warmup", b"0", b"--max-runs", b"2",
            b"--json", str(out).encode(), b"--variant", b"a=echo x\xe9", b"--variant",
            b"b=echo y"]
    r = subprocess.run(argv, cwd=work, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = result(out)
    check_schema(doc)
    a, b = doc["variants"]
    assert a["command"] == "echo x\ufffd" and base64.b64decode(a["command_b64"]) == b"echo x\xe9"
    assert base64.b64decode(a["argv_b64"][1]) == b"x\xe9"
    assert "command_b64" not in b and "argv_b64" not in b


def test_json_dash_writes_the_result_to_stdout_only(work, tmp_path):
    r = bench(work, "--runs", "2", "--warmup", "0", "--max-runs", "2", "--json", "-", "--",
              "true")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)                       # nothing but the document on stdout
    check_schema(doc)
    assert "lower is better" in r.stderr             # the summary went to stderr
    assert not os.path.exists(os.path.join(work, "-"))


# ---- forensics on recorded files ---------------------------------------------------------

def forensics(tmp_path, *files):
    out = tmp_path / "f.json"
    r = subprocess.run([BINARY, "forensics", *files, "--json", str(out)], cwd=FIXTURES,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout, result(out)["comparisons"]


def test_fixtures_are_valid_results():
    for name in sorted(os.listdir(FIXTURES)):
        if name.endswith(".json"):
            check_schema(result(os.path.join(FIXTURES, name)))


def test_forensics_ipc_drop_is_code_layout(tmp_path):
    text, (c,) = forensics(tmp_path, "layout-a.json", "layout-b.json")
    assert c["classes"] == ["code layout / inlining / placement"]
    assert re.search(r"IPC .*2\.\d+ -> 1\.9\d+ .*beyond -3 %", text), text


def test_forensics_branch_and_data(tmp_path):
    text, (c,) = forensics(tmp_path, "branch.json")
    assert c["classes"] == ["branch hints / control flow reshaped"]
    assert "candidate" in c["b"] and "baseline" in c["a"]
    text, (c,) = forensics(tmp_path, "data.json")
    assert c["classes"] == ["data layout / TLS bloat / spills"]
    assert "dTLB-load-misses/kinstr" in text


def test_forensics_says_when_counters_are_missing(tmp_path):
    text, (c,) = forensics(tmp_path, "nocounters.json", "layout-a.json")
    assert c["classes"] == [] and len(c["missing"]) == 6
    assert "cannot judge" in text and "unavailable: perf_event_open" in text
    assert "the counters needed are missing" in text
    text, (c,) = forensics(tmp_path, "callgrind.json")
    assert c["classes"] == ["more instructions executed"]
    assert "not requested" in text
