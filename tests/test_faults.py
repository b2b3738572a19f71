"""Fault tolerance of whole runs: SIGKILL at three points then restart; two runs on one store.

The runs are real `python -m bench run` processes with two worker processes each. A run is
killed with SIGKILL on its whole process group (workers included) when it reaches a given
point, then started again with the same arguments; its records must then equal those of an
uninterrupted run (timings aside), with no duplicates and an intact store and cache.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.imageio import read_image
from tests.fixtures import make_pairs, pairs_spec

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses process groups and SIGKILL")


def bench_cmd(out: Path, data: Path, methods="slow,half") -> list[str]:
    return [sys.executable, "-m", "bench", "run", "--methods", methods, "--datasets",
            pairs_spec(data), "--plugins", "tests.plugins.faulty", "--workers", "2",
            "--metrics", "EN,SD,SF",
            "--no-progress", "--out", str(out)]


def env() -> dict:
    out = dict(os.environ, FUSEBENCH_TEST_SLOW="0.08", PYTHONPATH=str(REPO))
    out.pop("FUSEBENCH_CACHE", None)  # each run keeps its cache under its own --out
    return out


def records(out: Path) -> list[tuple]:
    db = sqlite3.connect(out / "store.sqlite")
    rows = db.execute("SELECT dataset, split, method, sample, metric, value, profile, status, "
                      "reason FROM records ORDER BY 1,2,3,4,5,7").fetchall()
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    return rows


def count_records(out: Path) -> int:
    try:
        db = sqlite3.connect(out / "store.sqlite", timeout=1)
        n = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        db.close()
        return n
    except sqlite3.Error:
        return 0


def cached_pngs(out: Path) -> int:
    return len(list((out / "cache" / "fused").rglob("*.png"))) if (out / "cache").exists() else 0


def run_and_kill(cmd, when, timeout=120) -> bool:
    """Start the run, SIGKILL its process group once when(): True; False if it ended first."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        if when():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("run neither finished nor reached the kill point")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_pairs(tmp_path_factory.mktemp("faults") / "d", n=24, shape=(40, 48))


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    subprocess.run(bench_cmd(out, dataset), cwd=REPO, env=env(), check=True,
                   capture_output=True)
    rows = records(out)
    assert len(rows) == 2 * 24 * 4
    return rows


TOTAL = 2 * 24 * 4


@pytest.mark.parametrize("point", ["first-fused-image", "first-batch", "past-half"])
def test_sigkill_then_restart_gives_the_same_records(tmp_path, dataset, reference, point):
    out = tmp_path / "runs"
    when = {"first-fused-image": lambda: cached_pngs(out) >= 1,
            "first-batch": lambda: count_records(out) >= 1,
            "past-half": lambda: count_records(out) > TOTAL // 2}[point]
    killed = run_and_kill(bench_cmd(out, dataset), when)
    assert killed, "the run finished before the kill point; make the test method slower"
    partial = count_records(out)
    assert partial < TOTAL
    subprocess.run(bench_cmd(out, dataset), cwd=REPO, env=env(), check=True, capture_output=True)
    rows = records(out)
    assert rows == reference
    assert len(set(r[:5] + (r[6],) for r in rows)) == len(rows)  # no duplicate keys
    for png in (out / "cache" / "fused").rglob("*.png"):
        if not png.name.startswith(".tmp-"):  # a killed writer may leave a temp file, unused
            read_image(png)  # every cached image is complete
    linked = list((out).glob("run-*/fused/pairs/*/*.png"))
    assert len(linked) == 48


def test_two_runs_on_one_store_at_once(tmp_path, dataset):
    out = tmp_path / "shared"
    cmds = [bench_cmd(out, dataset, methods="slow"), bench_cmd(out, dataset, methods="half")]
    procs = [subprocess.Popen(c, cwd=REPO, env=env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for c in cmds]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err.decode()[-2000:]
    db = sqlite3.connect(out / "store.sqlite")
    runs = db.execute("SELECT run_id, COUNT(*), COUNT(DISTINCT method) FROM records GROUP BY run_id").fetchall()
    assert len(runs) == 2 and all(n == 24 * 4 and m == 1 for _, n, m in runs)
    assert db.execute("SELECT COUNT(*) FROM records WHERE status != 'ok'").fetchone()[0] == 0
