"""Results store: SQLite in WAL mode, tidy records, one manifest per run.

A record is one row: run, dataset, split, method, sample, metric, value, profile, status
('ok' | 'failed'), reason, seconds. The key is (run, dataset, split, method, sample, metric,
profile); writing a record again replaces it, so a restarted run never duplicates rows.

Special metric names:
- 'fuse': the fusion of one sample (value NULL, seconds = fusion time). Its failure says why the
  sample has no metric records.
- 'load': a dataset-level problem found while discovering files (method '-').
Everything reports read is records. Several processes may write one store at once: each batch is
one transaction, and writers wait for each other (busy timeout) instead of failing.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id   TEXT PRIMARY KEY,
    created  TEXT NOT NULL,
    updated  TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    config   TEXT NOT NULL,
    manifest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    run_id  TEXT NOT NULL,
    dataset TEXT NOT NULL,
    split   TEXT NOT NULL,
    method  TEXT NOT NULL,
    sample  TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   REAL,
    profile TEXT NOT NULL,
    status  TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    reason  TEXT NOT NULL DEFAULT '',
    seconds REAL,
    PRIMARY KEY (run_id, dataset, split, method, sample, metric, profile)
);
"""

FUSE = "fuse"
LOAD = "load"
NO_PROFILE = "-"


@dataclass(frozen=True)
class Record:
    run_id: str
    dataset: str
    split: str
    method: str
    sample: str
    metric: str
    value: float | None
    profile: str
    status: str
    reason: str = ""
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


COLUMNS = [f.name for f in fields(Record)]


class Store:
    """One SQLite file. Open it in every process that writes; connections are not shared."""

    def __init__(self, path: str | Path, timeout: float = 120.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self.db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        self._retry(lambda: self.db.execute("PRAGMA journal_mode=WAL"))
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._retry(lambda: self.db.executescript(SCHEMA))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _retry(fn, attempts: int = 50):
        for i in range(attempts):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or i == attempts - 1:
                    raise
                time.sleep(0.05 * (i + 1))

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, run_id: str, config: dict, manifest: dict) -> bool:
        """Register a run (True) or note a restart of an existing one (False)."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S")

        def write():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                row = self.db.execute("SELECT attempts FROM runs WHERE run_id=?", (run_id,)).fetchone()
                if row is None:
                    self.db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?)",
                                    (run_id, now, now, 1, json.dumps(config, sort_keys=True),
                                     json.dumps(manifest, sort_keys=True, default=str)))
                else:
                    self.db.execute("UPDATE runs SET updated=?, attempts=attempts+1, manifest=? "
                                    "WHERE run_id=?",
                                    (now, json.dumps(manifest, sort_keys=True, default=str), run_id))
                self.db.execute("COMMIT")
                return row is None
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

        return self._retry(write)

    def run_info(self, run_id: str) -> dict | None:
        row = self.db.execute("SELECT run_id, created, updated, attempts, config, manifest FROM runs "
                              "WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            return None
        return {"run_id": row[0], "created": row[1], "updated": row[2], "attempts": row[3],
                "config": json.loads(row[4]), "manifest": json.loads(row[5])}

    def runs(self) -> list[dict]:
        rows = self.db.execute("SELECT run_id, created, updated, attempts FROM runs "
                               "ORDER BY updated DESC").fetchall()
        return [dict(zip(("run_id", "created", "updated", "attempts"), r)) for r in rows]

    # -- records ------------------------------------------------------------------------------
    def add(self, records: Iterable[Record]) -> int:
        """Write a batch of records in one transaction (replacing rows with the same key)."""
        rows = [astuple(r) for r in records]
        if not rows:
            return 0
        sql = (f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
               "ON CONFLICT (run_id, dataset, split, method, sample, metric, profile) DO UPDATE SET "
               "value=excluded.value, status=excluded.status, reason=excluded.reason, "
               "seconds=excluded.seconds")

        def write():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(sql, rows)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

        self._retry(write)
        return len(rows)

    def records(self, run_id: str, **where: str) -> list[Record]:
        clauses = ["run_id=?"] + [f"{k}=?" for k in where]
        rows = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM records WHERE "
                               f"{' AND '.join(clauses)} ORDER BY dataset, split, method, sample, "
                               "metric, profile", (run_id, *where.values())).fetchall()
        return [Record(*r) for r in rows]

    def completed_samples(self, run_id: str, dataset: str, method: str, metrics: list[str],
                          profile: str, retry_failed: bool = False) -> set[str]:
        """Samples of (dataset, method) that need no more work in this run.

        Done means: the fusion failed (unless retry_failed), or it succeeded and every requested
        metric has a record (ok, or failed unless retry_failed)."""
        rows = self.db.execute("SELECT sample, metric, profile, status FROM records WHERE run_id=? "
                               "AND dataset=? AND method=?", (run_id, dataset, method)).fetchall()
        fuse: dict[str, str] = {}
        have: dict[str, set[str]] = {}
        for sample, metric, prof, status in rows:
            if metric == FUSE:
                fuse[sample] = status
            elif prof == profile and (status == "ok" or not retry_failed):
                have.setdefault(sample, set()).add(metric)
        wanted = set(metrics)
        done = set()
        for sample, status in fuse.items():
            if status == "failed":
                if not retry_failed:
                    done.add(sample)
            elif wanted <= have.get(sample, set()):
                done.add(sample)
        return done

    def dataframe(self, run_id: str):
        import pandas as pd
        return pd.read_sql_query("SELECT * FROM records WHERE run_id=? ORDER BY dataset, split, "
                                 "method, sample, metric", self.db, params=(run_id,))
