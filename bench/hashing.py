"""Content hashes of files, cached by (path, size, mtime) so large datasets are hashed once.

Digest: BLAKE2b-128 of the file's bytes, hex. The cache is an SQLite file in the cache folder;
if it cannot be written (read-only location, concurrent lock), hashing still works uncached.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading

from . import paths

_lock = threading.Lock()
_memory: dict[tuple[str, int, int], str] = {}
_db: sqlite3.Connection | None = None
_db_pid: int | None = None


def digest_bytes(payload: bytes) -> str:
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def _digest_file(path: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _connection() -> sqlite3.Connection | None:
    global _db, _db_pid
    if _db is not None and _db_pid == os.getpid():
        return _db
    try:
        location = paths.cache_dir()
        location.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(location / "file_hashes.sqlite", timeout=5, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS hashes(path TEXT PRIMARY KEY, size INTEGER, "
                   "mtime INTEGER, digest TEXT)")
        _db, _db_pid = db, os.getpid()
    except (sqlite3.Error, OSError):
        _db, _db_pid = None, os.getpid()
    return _db


def file_digest(path: str | os.PathLike) -> str:
    """BLAKE2b-128 hex digest of a file, memoised on (realpath, size, mtime_ns)."""
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    with _lock:
        if key in _memory:
            return _memory[key]
        db = _connection()
        if db is not None:
            try:
                row = db.execute("SELECT digest FROM hashes WHERE path=? AND size=? AND mtime=?",
                                 key).fetchone()
                if row:
                    _memory[key] = row[0]
                    return row[0]
            except sqlite3.Error:
                pass
    digest = _digest_file(real)
    with _lock:
        _memory[key] = digest
        db = _connection()
        if db is not None:
            try:
                with db:
                    db.execute("INSERT OR REPLACE INTO hashes VALUES (?,?,?,?)", (*key, digest))
            except sqlite3.Error:
                pass
    return digest


def digest_strings(parts: list[str]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
