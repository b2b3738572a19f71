"""Shared pytest fixtures and the test environment.

Every test session writes its caches and default run folders under a temporary directory
(FUSEBENCH_HOME; the cache defaults to $FUSEBENCH_HOME/cache), never into the checkout; ultralytics and matplotlib are kept
offline and headless.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SESSION_HOME = tempfile.mkdtemp(prefix="fusebench-tests-")
os.environ.setdefault("FUSEBENCH_HOME", os.path.join(_SESSION_HOME, "runs"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(_SESSION_HOME, "yolo"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (FUSEBENCH_DATA, default <repo>/../shared/data), or skip."""
    from bench.paths import shared_data as locate
    root = locate()
    if not root.is_dir():
        pytest.skip("../shared/data not present (set FUSEBENCH_DATA)")
    return root
