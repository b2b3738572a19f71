"""Train/validation split files shared by the downstream tasks (detection, segmentation).

A split file is JSON: `{"version": 1, "train": [...ids], "val": [...ids], "groups": {id: group}}`
written with sorted keys and a trailing newline, so the same split always has the same bytes.
Its SHA-256 (hex, of those bytes) names the split in records and caches.

Grouping: ids that share a group (a scene, a video sequence) must land on the same side, so
near-duplicate frames cannot leak from training into validation. `write_split` refuses a split
that breaks this; `group_split` makes one deterministically from a seed.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path
from typing import Iterable, Mapping

SPLIT_VERSION = 1


def _payload(train_ids: Iterable[str], val_ids: Iterable[str],
             groups: Mapping[str, str] | None) -> bytes:
    train, val = [str(i) for i in train_ids], [str(i) for i in val_ids]
    overlap = set(train) & set(val)
    if overlap:
        raise ValueError(f"ids in both train and val: {sorted(overlap)[:5]}")
    groups = {str(k): str(v) for k, v in (groups or {}).items()}
    train_groups = {groups[i] for i in train if i in groups}
    leaked = sorted({groups[i] for i in val if i in groups} & train_groups)
    if leaked:
        raise ValueError(f"groups on both sides of the split: {leaked[:5]}")
    doc = {"version": SPLIT_VERSION, "train": train, "val": val, "groups": groups}
    return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode()


def split_digest(train_ids: Iterable[str], val_ids: Iterable[str],
                 groups: Mapping[str, str] | None = None) -> str:
    """SHA-256 hex of the split file `write_split` would write (without writing it)."""
    return hashlib.sha256(_payload(train_ids, val_ids, groups)).hexdigest()


def write_split(path: str | os.PathLike, train_ids: Iterable[str], val_ids: Iterable[str],
                groups: Mapping[str, str] | None = None) -> str:
    """Write the split atomically to `path`; return the SHA-256 hex of the file's bytes.

    Raises ValueError when an id is on both sides or a group is split across train and val.
    """
    payload = _payload(train_ids, val_ids, groups)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)
    return hashlib.sha256(payload).hexdigest()


def read_split(path: str | os.PathLike) -> dict:
    """Read a split file: {"train": [...], "val": [...], "groups": {...}, "sha256": hex}."""
    payload = Path(path).read_bytes()
    doc = json.loads(payload)
    if doc.get("version") != SPLIT_VERSION:
        raise ValueError(f"{path}: unsupported split version {doc.get('version')!r}")
    return {"train": list(doc["train"]), "val": list(doc["val"]),
            "groups": dict(doc.get("groups", {})),
            "sha256": hashlib.sha256(payload).hexdigest()}


def group_split(ids: Iterable[str], groups: Mapping[str, str] | None = None,
                val_fraction: float = 0.25, seed: int = 0) -> tuple[list[str], list[str]]:
    """Deterministic grouped split: whole groups (default: each id its own group) go to val
    until at least `val_fraction` of the ids are there. Returns (train_ids, val_ids), each in
    the input order."""
    ids = [str(i) for i in ids]
    groups = {str(k): str(v) for k, v in (groups or {}).items()}
    members: dict[str, list[str]] = {}
    for i in ids:
        members.setdefault(groups.get(i, i), []).append(i)
    order = sorted(members)
    random.Random(seed).shuffle(order)
    target = max(1, round(val_fraction * len(ids))) if len(ids) > 1 else 0
    val_set: set[str] = set()
    for g in order:
        if len(val_set) >= target or len(members) - 1 <= 0:
            break
        if len(val_set) + len(members[g]) >= len(ids):
            continue  # never leave training empty
        val_set.update(members[g])
    return [i for i in ids if i not in val_set], [i for i in ids if i in val_set]
