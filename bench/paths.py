"""Where the suite writes: run outputs, the results store and caches (all outside the package).

- FUSEBENCH_HOME (default ./runs): run folders, the SQLite store `store.sqlite`.
- FUSEBENCH_CACHE (default $FUSEBENCH_HOME/cache): fused-image cache, file-hash cache,
  materialised embedded datasets.
- FUSEBENCH_DATA (default ../shared/data next to the repository): real datasets, read in place.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    return Path(os.environ.get("FUSEBENCH_HOME", "runs"))


def cache_dir() -> Path:
    env = os.environ.get("FUSEBENCH_CACHE")
    return Path(env) if env else home() / "cache"


def shared_data() -> Path:
    env = os.environ.get("FUSEBENCH_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"
