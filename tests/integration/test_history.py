"""`pgo-sandbox history`: the results store, run against a real SQLite
file and a real PostgreSQL server this file starts itself (a throwaway
cluster of Debian's postgresql on a Unix socket in a temporary directory).
Every test taking the `store` fixture runs once per backend.

Bench result documents are generated here (synthetic() below): the runs'
wall times are what the test plants, so a 10 % step or a 20 % slowdown is
known exactly; they go through `history record` / `import` like real ones.
One test records a real `pgo-sandbox bench` result."""
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import pytest

from conftest import BINARY, run

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def history(*args, store, **kw):
    return run("history", *args, "--store", store.location, **kw)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r


def fingerprint(host):
    return "sha256:" + hashlib.sha256(host.encode()).hexdigest()


def synthetic(values, host="ci-1", metrics=None, reported=None, created=1_700_000_000):
    """A bench result document: values[(benchmark, variant)] = wall times
    (seconds); reported[(benchmark, variant)] = values of the v3 metric
    metrics[0] when given."""
    benches = sorted({b for b, _ in values})
    variants = sorted({v for _, v in values}, key=lambda v: (v != "base", v))
    runs, summaries = [], []
    for (b, v), walls in sorted(values.items()):
        for i, w in enumerate(walls):
            r = {"benchmark": benches.index(b), "variant": variants.index(v), "cell": 0,
                 "block": i // 2, "seq": len(runs), "warmup": False, "wall_s": w,
                 "cpu_s": w * 0.9, "unknown_member": {"ignored": True}}
            if reported:
                r["reported"] = {b: {metrics[0]["name"]: reported[(b, v)][i]}}
            runs.append(r)
        s = sorted(walls)
        summaries.append({"benchmark": benches.index(b), "variant": variants.index(v),
                          "cell": 0, "metric": "wall", "n": len(s), "mean": sum(s) / len(s),
                          "median": (s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2,
                          "stdev": 0.0, "cv": 0.0, "min": s[0], "max": s[-1]})
    runs.append(dict(runs[0], warmup=True, wall_s=99.0))  # a warm-up: never recorded
    doc = {
        "schema": "pgo-sandbox-bench", "schema_version": 3 if metrics else 2,
        "tool": {"name": "pgo-sandbox", "version": "0.1.0", "commit": "test"},
        "created_unix": created,
        "settings": {"metric": "wall", "runs": 6, "confidence": 0.95, "threshold_pct": 2.0},
        "variants": [{"name": v, "role": "baseline" if i == 0 else "candidate",
                      "digest": "sha256:" + "0" * 64} for i, v in enumerate(variants)],
        "benchmarks": [{"name": b, "value": b, "blocks": 3} for b in benches],
        "knobs": [], "cells": [{"index": 0, "label": "", "env": {}}],
        "conditions": {"cpus": "1",
                       "host": {"hostname": host, "cpu_model": "Test CPU", "machine": "x86_64",
                                "kernel": "6.1", "online_cpus": 4,
                                "fingerprint": fingerprint(host)},
                       "host_tuning": [{"name": "host.turbo", "state": "degraded",
                                        "detail": "no boost switch"}],
                       "sandbox_controls": [{"name": "cgroup", "state": "applied",
                                             "detail": "x"}]},
        "runs": runs,
        "analysis": {"metrics": ["wall"], "summaries": summaries, "comparisons": [],
                     "gate": {"status": "off", "exit_code": 0, "reasons": []}},
    }
    if metrics:
        doc["metrics"] = metrics
    return doc


def noisy(level, n=6, cv=0.01, rng=None):
    rng = rng or random.Random(1)
    return [level * (1 + rng.gauss(0, cv)) for _ in range(n)]


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


# --- the two backends ------------------------------------------------------

class SqliteStore:
    kind = "sqlite"

    def __init__(self, tmp):
        self.location = os.path.join(tmp, "store", "history.sqlite")
        os.makedirs(os.path.dirname(self.location))

    def writing(self):
        """Whether another process holds the write lock (is inside its
        transaction)."""
        db = sqlite3.connect(self.location, timeout=0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as e:
            assert "locked" in str(e)
            return True
        finally:
            db.close()

    def sql(self, query):
        db = sqlite3.connect(self.location)
        try:
            rows = db.execute(query).fetchall()
            db.commit()
            return rows
        finally:
            db.close()


class PgStore:
    kind = "postgresql"

    def __init__(self, server, name):
        self.server = server
        self.location = f"host={server.sockdir} dbname={name} user={server.user}"
        server.psql("postgres", f"CREATE DATABASE {name}")

    def writing(self):
        """Whether another connection is inserting samples (is inside the
        transaction of a record)."""
        return int(self.sql("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                            " current_database() AND pid <> pg_backend_pid() AND"
                            " query LIKE 'INSERT INTO samples%'")[0][0]) > 0

    def sql(self, query):
        out = self.server.psql(self.location.split("dbname=")[1].split()[0], query)
        return [tuple(line.split("|")) for line in out.splitlines() if line]


class PgServer:
    """initdb + pg_ctl start on a socket in a temporary directory, as a
    non-root user (PostgreSQL refuses to run as root)."""

    def __init__(self):
        self.bindir = os.path.dirname(PG_BIN[-1])
        self.dir = tempfile.mkdtemp(prefix="pgo-history-pg.")
        self.sockdir = self.dir
        self.data = os.path.join(self.dir, "data")
        self.user = "postgres"
        self.as_user = []
        if os.getuid() == 0:
            shutil.chown(self.dir, user="postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        else:
            import pwd
            self.user = pwd.getpwuid(os.getuid()).pw_name
        self.pg([f"{self.bindir}/initdb", "-D", self.data, "-A", "trust", "-U", self.user,
                 "--no-sync"])
        self.pg([f"{self.bindir}/pg_ctl", "-D", self.data, "-l", f"{self.dir}/log", "-w",
                 "-o", f"-k {self.sockdir} -c listen_addresses='' -c fsync=off", "start"])
        self.n = 0

    def pg(self, argv):
        r = subprocess.run(self.as_user + argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

    def psql(self, db, query):
        r = subprocess.run(["psql", "-At", "-v", "ON_ERROR_STOP=1",
                            f"host={self.sockdir} dbname={db} user={self.user}", "-c", query],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def new_store(self):
        self.n += 1
        return PgStore(self, f"history{self.n}")

    def stop(self):
        subprocess.run(self.as_user + [f"{self.bindir}/pg_ctl", "-D", self.data, "-m",
                                       "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_server():
    if not PG_BIN or not shutil.which("psql"):
        pytest.fail("Debian's postgresql is missing (make deps installs it)")
    server = PgServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return SqliteStore(str(tmp_path))
    return request.getfixturevalue("pg_server").new_store()


def count(store, table):
    return int(store.sql(f"SELECT count(*) FROM {table}")[0][0])


# --- the suite, once per backend -------------------------------------------

def test_record_list_show(store, tmp_path):
    doc = synthetic({("a", "base"): noisy(1e-3), ("a", "pgo"): noisy(0.9e-3),
                     ("b", "base"): noisy(2e-3), ("b", "pgo"): noisy(1.8e-3)})
    path = write(tmp_path, "r.json", doc)
    r = ok(history("record", path, "--project", "alloc", "--pipeline", "pgo",
                   "--stage", "bench", "--commit", "1234567890abcdef", "--branch", "main",
                   "--time", "1700000100", "--shipped", "pgo", store=store))
    assert "as run 1 " in r.stdout
    runs = json.loads(ok(history("list", "--json", store=store)).stdout)
    assert len(runs) == 1
    assert runs[0]["project"] == "alloc" and runs[0]["commit"] == "1234567890abcdef"
    assert runs[0]["branch"] == "main" and runs[0]["time_unix"] == 1700000100
    assert runs[0]["shipped"] == "pgo" and runs[0]["host_fingerprint"] == fingerprint("ci-1")
    assert json.loads(ok(history("list", "--json", "--project", "other",
                                 store=store)).stdout) == []
    assert json.loads(ok(history("list", "--json", "--benchmark", "b",
                                 store=store)).stdout)[0]["id"] == 1
    show = ok(history("show", "1", store=store)).stdout
    assert "alloc" in show and "host.turbo" in show and "degraded" in show
    assert "pgo" in show and "wall" in show
    # 4 series x 6 samples x 2 metrics (wall, cpu); the warm-up left out.
    assert count(store, "samples") == 48
    assert count(store, "summaries") == 4
    assert count(store, "controls") == 2
    assert ok(history("show", "latest", store=store)).stdout == show
    ok(history("record", path, "--commit", "second", store=store))
    runs = json.loads(ok(history("list", "--json", "--limit", "1", store=store)).stdout)
    assert [r["commit"] for r in runs] == ["second"]  # the newest N, oldest first


def test_document_without_analysis(store, tmp_path):
    """Summaries are computed from the samples when the document has none;
    members this version does not know are ignored."""
    doc = synthetic({("a", "base"): [1e-3, 2e-3, 3e-3]})
    del doc["analysis"]
    doc["decision"] = {"rule": "ship if faster", "outcome": "baseline"}
    doc["ship"] = {"build": "baseline"}
    doc["future_member"] = [1, 2, 3]
    doc["conditions"]["host"]["online_cpus"] = "0-3"  # an unexpected type: stored as NULL
    doc["settings"]["threshold_pct"] = "two"
    ok(history("record", write(tmp_path, "x.json", doc), store=store))
    rows = store.sql("SELECT metric, n, median, min_value, max_value, role FROM summaries"
                     " ORDER BY metric")
    assert [(r[0], int(r[1])) for r in rows] == [("cpu", 3), ("wall", 3)]
    assert float(rows[1][2]) == pytest.approx(2e-3) and rows[1][5] == "baseline"
    assert json.loads(ok(history("list", "--json", store=store)).stdout)[0]["shipped"] == \
        "baseline"
    assert "ship if faster" in ok(history("show", "1", store=store)).stdout


def test_real_bench_result(store, tmp_path):
    """A document the bench itself wrote, whatever its exact members."""
    out = str(tmp_path / "bench.json")
    r = run("bench", "--runs", "4", "--warmup", "0", "--max-runs", "4", "--benchmarks", "a",
            "--variant", "x=/bin/true", "--variant", "y=/bin/true", "--json", out,
            cwd=str(tmp_path), timeout=120)
    if r.returncode != 0 or not os.path.exists(out):
        pytest.skip(f"bench cannot run here: {r.stderr.strip()[-200:]}")
    ok(history("record", out, store=store))
    assert count(store, "samples") >= 8
    exported = ok(history("export", "1", "--format", "bench-json", store=store)).stdout
    assert json.loads(exported) == json.load(open(out))


def test_planted_step_found_at_its_commit(store, tmp_path):
    rng = random.Random(15)
    for i in range(12):
        level = 1e-3 * (1.10 if i >= 7 else 1.0)
        doc = synthetic({("a", "base"): noisy(level, cv=0.02, rng=rng)},
                        created=1_700_000_000 + 100 * i)
        path = write(tmp_path, f"c{i:02d}.json", doc)
        if i % 2:
            ok(history("record", path, "--commit", f"c{i:02d}", "--time",
                       str(1_700_000_000 + 100 * i), store=store))
        else:
            ok(history("import", path, "--commit", f"c{i:02d}", store=store))
    # Importing the same file again does not double the history.
    assert "already recorded" in ok(history("import", str(tmp_path / "c00.json"),
                                            store=store)).stdout
    assert count(store, "runs") == 12
    res = json.loads(ok(history("steps", "--benchmark", "a", "--metric", "wall", "--json",
                                store=store)).stdout)
    assert len(res["steps"]) == 1, res
    step = res["steps"][0]
    assert (step["before"], step["after"]) == ("c06", "c07")
    assert 5 < step["pct"] < 15 and step["pct_lo"] > 0
    text = ok(history("steps", "--benchmark", "a", "--metric", "wall", store=store)).stdout
    assert "between c06 and c07" in text and "0 runs left out" in text


def test_flat_series_has_no_step(store, tmp_path):
    rng = random.Random(3)
    for i in range(10):
        path = write(tmp_path, f"f{i}.json", synthetic({("a", "base"): noisy(1e-3, cv=0.03,
                                                                            rng=rng)}))
        ok(history("record", path, "--commit", f"f{i}", "--time", str(1_700_000_000 + i),
                   store=store))
    res = json.loads(ok(history("steps", "--benchmark", "a", "--metric", "wall", "--json",
                                store=store)).stdout)
    assert res["steps"] == []


def test_compare_two_runs(store, tmp_path):
    a = write(tmp_path, "a.json", synthetic({("a", "base"): noisy(1e-3, n=10)}))
    b = write(tmp_path, "b.json", synthetic({("a", "base"): noisy(1.2e-3, n=10,
                                                                  rng=random.Random(2))}))
    ok(history("record", a, "--commit", "aaa", store=store))
    ok(history("record", b, "--commit", "bbb", store=store))
    r = ok(history("compare", "1", "2", "--metric", "wall", store=store))
    assert "unpaired, across time" in r.stdout
    line = [x for x in r.stdout.splitlines() if x.startswith("a ")][0]
    assert "worse" in line and "+19." in line or "+20." in line or "+21." in line, line
    res = json.loads(ok(history("compare", "1", "2", "--json", store=store)).stdout)
    wall = [s for s in res["series"] if s["metric"] == "wall"][0]
    assert wall["verdict"] == "worse" and 17 < wall["pct"] < 23 and wall["pct_lo"] > 2
    assert (wall["n_a"], wall["n_b"], wall["direction"]) == (10, 10, "lower")
    assert res["regressions"] == 2 and res["method"].startswith("unpaired, across time")
    # The gate: exit 1 on a regression when asked.
    assert history("compare", "1", "2", "--fail-on-regression", store=store).returncode == 1
    assert history("compare", "2", "1", "--fail-on-regression", store=store).returncode == 0
    # A new result against a recorded one, without recording it.
    r = ok(history("compare", "1", "--against", b, "--metric", "wall", store=store))
    assert "worse" in r.stdout and "(not recorded)" in r.stdout
    assert count(store, "runs") == 2


def test_higher_is_better_metric(store, tmp_path):
    metrics = [{"name": "ops", "unit": "M ops/s", "direction": "higher", "source": "regex"}]
    docs = []
    for level in (62.63, 53.81):  # the allocator scorecard: a drop is a regression
        docs.append(synthetic({("a", "base"): noisy(1e-3, n=8)}, metrics=metrics,
                              reported={("a", "base"): noisy(level, n=8)}))
    for i, d in enumerate(docs):
        ok(history("record", write(tmp_path, f"h{i}.json", d), store=store))
    r = history("compare", "1", "2", "--metric", "ops", "--fail-on-regression", store=store)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "worse" in r.stdout and "higher is better" in r.stdout
    bmf = json.loads(ok(history("export", "2", "--format", "bmf", store=store)).stdout)
    assert 50 < bmf["a"]["ops"]["value"] < 58


def test_promote_and_compare_against_baseline(store, tmp_path):
    for i, level in enumerate((1e-3, 1.01e-3)):
        path = write(tmp_path, f"p{i}.json", synthetic({("a", "base"): noisy(level)}))
        ok(history("record", path, "--commit", f"p{i}", store=store))
    ok(history("promote", "1", "--as", "phase-69", store=store))
    r = ok(history("baselines", store=store))
    assert "phase-69: run 1" in r.stdout and "median 1.00 ms" in r.stdout
    by_name = ok(history("compare", "phase-69", "2", store=store)).stdout
    by_option = ok(history("compare", "--baseline", "phase-69", "2", store=store)).stdout
    assert by_name == by_option and "= phase-69" in by_name
    # Promoting again moves the name.
    ok(history("promote", "2", "--as", "phase-69", store=store))
    assert "phase-69: run 2" in ok(history("baselines", store=store)).stdout
    assert history("promote", "9", "--as", "x", store=store).returncode == 125


def test_other_host_refused_unless_asked(store, tmp_path):
    a = write(tmp_path, "a.json", synthetic({("a", "base"): noisy(1e-3)}, host="ci-1"))
    b = write(tmp_path, "b.json", synthetic({("a", "base"): noisy(1e-3)}, host="laptop"))
    ok(history("record", a, "--commit", "c1", store=store))
    ok(history("record", b, "--commit", "c2", store=store))
    r = history("compare", "1", "2", store=store)
    assert r.returncode == 125 and "different hosts" in r.stderr and "--any-host" in r.stderr
    r = ok(history("compare", "1", "2", "--any-host", store=store))
    assert "different hosts" in r.stdout
    assert json.loads(ok(history("compare", "1", "2", "--any-host", "--json",
                                 store=store)).stdout)["other_host"] is True
    res = json.loads(ok(history("steps", "--benchmark", "a", "--metric", "wall", "--json",
                                store=store)).stdout)
    assert res["runs_kept"] == 1 and res["runs_left_out"] == 1
    assert res["host"] == fingerprint("laptop")  # the newest run's host
    text = ok(history("steps", "--benchmark", "a", "--metric", "wall", "--run", "1",
                      store=store)).stdout
    assert "1 runs left out: recorded on other hosts" in text
    res = json.loads(ok(history("steps", "--benchmark", "a", "--metric", "wall", "--json",
                                "--any-host", store=store)).stdout)
    assert res["runs_kept"] == 2 and res["runs_left_out"] == 0


def test_export_bmf_and_bench_json(store, tmp_path):
    walls = [1e-3, 2e-3, 3e-3, 4e-3]
    doc = synthetic({("a", "base"): walls, ("a", "pgo"): [5e-3, 6e-3]})
    path = write(tmp_path, "e.json", doc)
    ok(history("record", path, store=store))
    out = tmp_path / "bmf.json"
    ok(history("export", "1", "--format", "bmf", "-o", str(out), store=store))
    bmf = json.loads(out.read_text())
    assert set(bmf) == {"a/base", "a/pgo"}
    lat = bmf["a/base"]["latency"]
    assert lat["value"] == pytest.approx(2.5e6) and lat["lower_value"] == pytest.approx(1e6)
    assert lat["upper_value"] == pytest.approx(4e6)
    assert bmf["a/pgo"]["cpu"]["value"] == pytest.approx(5.5e-3 * 0.9)
    exported = ok(history("export", "1", "--format", "bench-json", store=store)).stdout
    assert json.loads(exported) == doc


def test_trend_pages(store, tmp_path):
    rng = random.Random(5)
    for i in range(10):
        doc = synthetic({("a", "base"): noisy(1e-3 * (1.1 if i >= 5 else 1), cv=0.01, rng=rng),
                         ("a", "pgo"): noisy(0.9e-3, cv=0.01, rng=rng)})
        ok(history("record", write(tmp_path, f"t{i}.json", doc), "--commit", f"commit{i}",
                   "--time", str(1_700_000_000 + i), store=store))
    outdir = tmp_path / "pages"
    r = ok(history("trend", "--benchmark", "a", "--metric", "wall", "--out", str(outdir),
                   store=store))
    page = r.stdout.strip()
    assert page == str(outdir / "trend-a-wall.html")
    html = open(page).read()
    svg = (outdir / "trend-a-wall.svg").read_text()
    assert svg.startswith("<svg") and "<svg" in html
    assert "commit0" in svg and "commit9" in svg and "class='step'" in svg
    assert "src=" not in html and "<script" not in html and "<link" not in html
    assert "commit4" in html and "commit5" in html  # the step's commits in the table
    # Without --benchmark: every page and an index.
    r = ok(history("trend", "--out", str(outdir), store=store))
    assert r.stdout.strip() == str(outdir / "index.html")
    assert "trend-a-cpu.html" in (outdir / "index.html").read_text()


def test_newer_schema_refused(store, tmp_path):
    path = write(tmp_path, "n.json", synthetic({("a", "base"): noisy(1e-3)}))
    ok(history("record", path, store=store))
    store.sql("INSERT INTO schema_migrations (version, name, applied_unix)"
              " VALUES (7, 'from the future', 0)")
    for args in (("record", path), ("list",)):
        r = history(*args, store=store)
        assert r.returncode == 125
        assert "has schema version 7, this pgo-sandbox knows up to 1" in r.stderr
    assert count(store, "runs") == 1


def test_concurrent_writers_lose_nothing(store, tmp_path):
    n = 8
    procs = []
    for i in range(n):
        path = write(tmp_path, f"w{i}.json",
                     synthetic({("a", "base"): noisy(1e-3, n=20), ("b", "base"): noisy(1e-3)}))
        procs.append(subprocess.Popen([BINARY, "history", "record", path, "--commit", f"w{i}",
                                       "--store", store.location],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    runs = json.loads(ok(history("list", "--json", store=store)).stdout)
    assert sorted(r["commit"] for r in runs) == sorted(f"w{i}" for i in range(n))
    assert count(store, "samples") == n * 26 * 2


def test_killed_writer_leaves_store_consistent(store, tmp_path):
    ok(history("record", write(tmp_path, "s.json", synthetic({("a", "base"): noisy(1e-3)})),
               store=store))
    big = write(tmp_path, "big.json", synthetic({("a", "base"): noisy(1e-3, n=30000)}))
    p = subprocess.Popen([BINARY, "history", "record", big, "--store", store.location],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Stop the writer while its transaction is open (it holds SQLite's
    # write lock / PostgreSQL shows it inserting samples), check it is still
    # in there, then kill it.
    deadline = time.monotonic() + 30
    while not store.writing():
        assert p.poll() is None, "the writer finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    p.send_signal(signal.SIGSTOP)
    assert p.poll() is None and store.writing(), "not stopped inside the transaction"
    # Readers neither wait for the writer nor see its uncommitted run.
    t0 = time.monotonic()
    assert len(json.loads(ok(history("list", "--json", store=store, timeout=10)).stdout)) == 1
    assert time.monotonic() - t0 < 5
    p.send_signal(signal.SIGKILL)
    p.wait()
    # All or nothing: the killed run is absent, its samples with it.
    assert count(store, "runs") == 1
    assert count(store, "samples") == 12
    if store.kind == "sqlite":
        assert store.sql("PRAGMA integrity_check") == [("ok",)]
    ok(history("record", write(tmp_path, "t.json", synthetic({("a", "base"): noisy(1e-3)})),
               store=store))
    assert count(store, "runs") == 2


# --- SQLite only ------------------------------------------------------------

def test_corrupt_store_is_never_overwritten(tmp_path):
    bad = tmp_path / "history.sqlite"
    garbage = os.urandom(8192)
    bad.write_bytes(garbage)
    path = write(tmp_path, "r.json", synthetic({("a", "base"): noisy(1e-3)}))
    for args in (("record", path), ("list",), ("import", path)):
        r = run("history", *args, "--store", str(bad))
        assert r.returncode == 125, r.stdout
        assert str(bad) in r.stderr and "file is not a database" in r.stderr, r.stderr
    assert bad.read_bytes() == garbage


def test_missing_store_and_defaults(tmp_path):
    r = run("history", "list", "--store", str(tmp_path / "none.sqlite"))
    assert r.returncode == 125 and "none.sqlite" in r.stderr
    assert not (tmp_path / "none.sqlite").exists()
    # The default store: $PGO_SANDBOX_STORE, else .pgo-sandbox/history.sqlite.
    path = write(tmp_path, "r.json", synthetic({("a", "base"): noisy(1e-3)}))
    env = dict(os.environ)
    env.pop("PGO_SANDBOX_STORE", None)
    ok(run("history", "record", path, cwd=str(tmp_path), env=env))
    assert (tmp_path / ".pgo-sandbox" / "history.sqlite").exists()
    env["PGO_SANDBOX_STORE"] = str(tmp_path / "env.sqlite")
    ok(run("history", "record", path, cwd=str(tmp_path), env=env))
    assert (tmp_path / "env.sqlite").exists()
    assert sqlite3.connect(str(tmp_path / "env.sqlite")).execute(
        "PRAGMA journal_mode").fetchone()[0] == "wal"
    r = run("history", "trend", "--store", str(tmp_path / "env.sqlite"), cwd=str(tmp_path))
    assert ok(r).stdout.strip() == str(tmp_path / "trend" / "index.html")


def test_usage_errors():
    assert run("history").returncode == 125
    assert run("history", "frobnicate").returncode == 125
    assert run("history", "record").returncode == 125
    assert run("history", "list", "--bogus").returncode == 125
    assert run("history", "--help").returncode == 0


def test_unreachable_postgres_names_the_store(tmp_path):
    r = run("history", "list", "--store", f"host={tmp_path} dbname=nope user=nobody")
    assert r.returncode == 125
    assert f"store host={tmp_path} dbname=nope" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    # A password never reaches a message.
    r = run("history", "list", "--store", "postgresql://ci:s3cret@127.0.0.1:1/bench")
    assert r.returncode == 125 and "s3cret" not in r.stderr and "ci:******@" in r.stderr
    r = run("history", "list", "--store", f"host={tmp_path} password=s3cret dbname=x")
    assert r.returncode == 125 and "s3cret" not in r.stderr


# --- bench --record: refused before the first run, kept when it fails at the end ----

def bench_marking(tmp_path, *opts, store_arg):
    """A bench whose runs each touch a marker: whether any run happened."""
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    os.chmod(marks, 0o777)
    os.chmod(tmp_path, 0o755)
    return run("bench", "--runs", "2", "--warmup", "0", "--max-runs", "2", *opts,
               "--bind", str(marks), str(marks), "--record", store_arg, "--",
               "sh", "-c", f"touch {marks}/ran", cwd=str(tmp_path), timeout=120), marks / "ran"


def test_bench_record_refuses_a_bad_store_before_the_first_run(store, tmp_path):
    cases = {}
    if store.kind == "sqlite":
        (tmp_path / "adir").mkdir()
        cases["a directory"] = (str(tmp_path / "adir"), "not a regular file")
        (tmp_path / "corrupt.sqlite").write_text("not a database\n" * 100)
        cases["corrupt"] = (str(tmp_path / "corrupt.sqlite"), "file is not a database")
        (tmp_path / "afile").write_text("")
        cases["unwritable (parent is a file)"] = (str(tmp_path / "afile" / "h.sqlite"), "afile")
    else:
        cases["unreachable"] = ("postgresql://127.0.0.1:1/none", "connecting")
    # a newer schema, on either backend
    path = write(tmp_path, "n.json", synthetic({("a", "base"): noisy(1e-3)}))
    ok(history("record", path, store=store))
    store.sql("INSERT INTO schema_migrations (version, name, applied_unix)"
              " VALUES (7, 'from the future', 0)")
    cases["newer schema"] = (store.location, "has schema version 7")
    for what, (location, why) in cases.items():
        r, ran = bench_marking(tmp_path, store_arg=location)
        assert r.returncode == 125, (what, r.stderr)
        assert f"--record {location}" in r.stderr and why in r.stderr, (what, r.stderr)
        assert not ran.exists(), f"{what}: the bench ran before refusing"


def test_bench_record_failing_at_the_end_keeps_the_result_and_the_gate_exit(tmp_path):
    """The store is fine when the bench starts; the benchmark itself breaks
    it (replaces it by a directory), so recording fails after every run."""
    sdir = tmp_path / "s"
    sdir.mkdir()
    os.chmod(sdir, 0o777)
    os.chmod(tmp_path, 0o755)
    location = str(sdir / "h.sqlite")
    breaker = f"rm -f {location} {location}-wal {location}-shm; mkdir -p {location}"
    r = run("bench", "--runs", "12", "--warmup", "0", "--max-runs", "12",
            "--bind", str(sdir), str(sdir), "--fail-on-regression", "2",
            "--baseline", f"sh -c '{breaker}'", "--candidate", f"sh -c '{breaker}; sleep 0.2'",
            "--record", location, cwd=str(tmp_path), timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr          # the gate's regression, not 125
    kept = sorted(sdir.glob("h.sqlite.unrecorded-*.json"))
    assert len(kept) == 1, r.stderr
    assert f"the result is kept in {kept[0]}" in r.stderr
    doc = json.loads(kept[0].read_text())
    assert doc["schema"] == "pgo-sandbox-bench" and len(doc["runs"]) == 24
    ok(run("history", "record", str(kept[0]), "--store", str(tmp_path / "later.sqlite")))


def test_record_outside_git_warns_and_bench_takes_commit_and_branch(tmp_path):
    os.chmod(tmp_path, 0o755)
    location = str(tmp_path / "h.sqlite")
    env = {k: v for k, v in os.environ.items()
           if k not in ("GITHUB_SHA", "CI_COMMIT_SHA", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME")}
    env["GIT_CEILING_DIRECTORIES"] = str(tmp_path.parent)
    args = ("bench", "--runs", "2", "--warmup", "0", "--max-runs", "2", "--record", location)
    r = run(*args, "--", "true", cwd=str(tmp_path), env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "warning: recording with commit unknown, branch unknown" in r.stderr
    assert "--commit C --branch B" in r.stderr
    r = run(*args, "--commit", "abc123", "--branch", "main", "--", "true", cwd=str(tmp_path),
            env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "warning: recording" not in r.stderr
    db = sqlite3.connect(location)
    rows = db.execute("SELECT git_commit, branch FROM runs ORDER BY id").fetchall()
    db.close()
    assert rows == [("unknown", "unknown"), ("abc123", "main")]
    r = run("bench", "--commit", "x", "--", "true", cwd=str(tmp_path))
    assert r.returncode == 125 and "give --record STORE" in r.stderr


def test_history_without_a_store_says_nothing_was_recorded_and_how(tmp_path):
    os.chmod(tmp_path, 0o755)
    env = {k: v for k, v in os.environ.items() if k != "PGO_SANDBOX_STORE"}
    r = run("history", "list", cwd=str(tmp_path), env=env)
    assert r.returncode == 125
    assert "nothing has been recorded yet" in r.stderr
    assert "--record .pgo-sandbox/history.sqlite" in r.stderr
    assert "No such file or directory" not in r.stderr
    assert not (tmp_path / ".pgo-sandbox").exists()          # reading creates nothing


def test_history_prints_values_with_units(tmp_path):
    location = str(tmp_path / "u.sqlite")
    for i, level in enumerate((0.0188095, 0.0190)):
        path = write(tmp_path, f"u{i}.json", synthetic({("a", "base"): noisy(level)}))
        ok(run("history", "record", path, "--commit", f"c{i}", "--store", location))
    show = ok(run("history", "show", "1", "--store", location)).stdout
    assert re.search(r"\bwall\b.*\b18\.\d\d ms\b", show), show
    assert "0.0188" not in show
    ok(run("history", "promote", "1", "--as", "main", "--store", location))
    base = ok(run("history", "baselines", "--store", location)).stdout
    assert re.search(r"median 18\.\d\d ms", base), base
    cmp = ok(run("history", "compare", "1", "2", "--store", location)).stdout
    assert re.search(r"18\.\d\d ms\s+19\.\d\d ms", cmp), cmp
