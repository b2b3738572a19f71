"""The SQLite results store: tidy records, idempotent writes, concurrent writers."""
import multiprocessing
import sqlite3

from bench.store import Record, Store


def rec(sample, metric="EN", value=1.0, status="ok", run="r1"):
    return Record(run, "ds", "test", "m", sample, metric, value, "default", status, "", 0.1)


def test_wal_schema_and_roundtrip(tmp_path):
    with Store(tmp_path / "s.sqlite") as st:
        assert st.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert st.start_run("r1", {"a": 1}, {"machine": "x"}) is True
        assert st.start_run("r1", {"a": 1}, {"machine": "y"}) is False
        assert st.run_info("r1")["attempts"] == 2
        st.add([rec("s1"), rec("s2", value=2.5)])
        got = st.records("r1")
        assert [(r.sample, r.value) for r in got] == [("s1", 1.0), ("s2", 2.5)]


def test_rewriting_a_record_replaces_it(tmp_path):
    with Store(tmp_path / "s.sqlite") as st:
        st.add([rec("s1", value=1.0, status="failed")])
        st.add([rec("s1", value=3.0)])
        rows = st.records("r1")
        assert len(rows) == 1 and rows[0].value == 3.0 and rows[0].ok


def test_completed_samples(tmp_path):
    with Store(tmp_path / "s.sqlite") as st:
        st.add([rec("a", "fuse", None), rec("a", "EN"), rec("a", "SD"),
                rec("b", "fuse", None), rec("b", "EN"),
                rec("c", "fuse", None, status="failed"),
                rec("d", "fuse", None), rec("d", "EN", None, status="failed"), rec("d", "SD")])
        done = st.completed_samples("r1", "ds", "m", ["EN", "SD"], "default")
        assert done == {"a", "c", "d"}
        retry = st.completed_samples("r1", "ds", "m", ["EN", "SD"], "default", retry_failed=True)
        assert retry == {"a"}


def test_bad_status_is_rejected(tmp_path):
    import pytest
    with Store(tmp_path / "s.sqlite") as st:
        with pytest.raises(sqlite3.IntegrityError):
            st.add([rec("x", status="maybe")])


def _writer(path, run, n):
    with Store(path) as st:
        st.start_run(run, {}, {})
        for i in range(n):
            st.add([rec(f"s{i}", metric=m, run=run) for m in ("EN", "SD", "SF")])


def test_two_processes_write_one_store(tmp_path):
    path = tmp_path / "s.sqlite"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, f"r{k}", 60)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as st:
        assert len(st.records("r0")) == 180 and len(st.records("r1")) == 180
        assert st.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
