"""The contract every runnable baseline keeps (issue #5): a finite H x W output in [0, 1] for odd
sizes, sizes that are not multiples of a pyramid's depth, tiny 16 x 16 images, constant and
all-zero inputs, identical sources; and the registry shows at least 20 runnable baselines with
their paper, year and tasks."""
from __future__ import annotations

import numpy as np
import pytest

import methods  # noqa: F401
from bench.registry import METHODS
from methods.base import checked_output, resolve

BASELINES = sorted(e.name for e in METHODS
                   if e.meta.get("baseline") and e.meta.get("kind") == "classical" and e.available)


def _smooth(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = 0.5 + 0.3 * np.sin(7 * xx + seed) * np.cos(5 * yy) + 0.05 * rng.standard_normal((h, w))
    return np.clip(img, 0, 1).astype(np.float32)


CASES = {
    "odd 37x53": lambda: (_smooth(37, 53, 1), _smooth(37, 53, 2)),
    "not a power of two 70x90": lambda: (_smooth(70, 90, 3), _smooth(70, 90, 4)),
    "tiny 16x16": lambda: (_smooth(16, 16, 5), _smooth(16, 16, 6)),
    "both constant": lambda: (np.full((33, 41), 0.4, np.float32), np.full((33, 41), 0.7, np.float32)),
    "one constant": lambda: (np.full((33, 41), 0.5, np.float32), _smooth(33, 41, 7)),
    "other constant": lambda: (_smooth(33, 41, 7), np.full((33, 41), 0.5, np.float32)),
    "all one": lambda: (np.ones((20, 27), np.float32), np.ones((20, 27), np.float32)),
    "all zero": lambda: (np.zeros((24, 31), np.float32), np.zeros((24, 31), np.float32)),
    "identical": lambda: (_smooth(40, 48, 8), _smooth(40, 48, 8)),
}


def test_at_least_twenty_runnable_baselines_with_paper_metadata():
    assert len(BASELINES) >= 20, BASELINES
    for name in BASELINES:
        if name in ("average", "max"):  # textbook rules, no paper
            continue
        meta = METHODS.get(name).meta
        assert meta["tasks"], name
        assert meta.get("paper") and meta.get("year"), f"{name}: paper and year must be registered"


def test_every_task_has_baselines():
    for task in ("ivf", "medical", "mff", "mef"):
        names, _ = METHODS.expand(["baselines"], context={"task": task})
        classical = [n for n in names if n in BASELINES and n not in ("average", "max")]
        assert len(classical) >= 3, (task, names)


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("case", list(CASES))
def test_baseline_output_contract(name, case):
    a, b = CASES[case]()
    method = resolve(name)
    task = sorted(method.tasks)[0]
    raw = method.fuse_pair(a, b, task)
    # raises on a wrong shape, a non-numeric dtype or any NaN/inf; then clips to [0, 1]
    out = checked_output(raw, a.shape, name)
    assert out.shape == a.shape
    # a port may overshoot a little (the originals saved uint8, which clips), never wildly
    raw = np.asarray(raw, dtype=np.float64)
    assert -0.25 <= raw.min() and raw.max() <= 1.25, (raw.min(), raw.max())
    if case in ("all zero", "all one"):
        # a flat scene stays flat (its level may move: e.g. GD's contrast stretch maps black to 16)
        assert np.ptp(raw) < 1e-3, f"flat sources gave a non-flat output (range {np.ptp(raw):.4f})"
