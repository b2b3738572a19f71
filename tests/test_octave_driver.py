"""The Octave driver text of benchmarks/octave_reference.py (no Octave needed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.octave_reference import PREAMBLES, driver


@pytest.mark.parametrize("toolkit", sorted(PREAMBLES))
@pytest.mark.parametrize("warmup", [True, False])
def test_driver_calls_each_metric_once_timed(toolkit, warmup):
    src = driver(Path("/code"), toolkit, {"X": "metricsFoo(a, b, f)"}, "/a.png", "/b.png",
                 "/f.png", warmup=warmup)
    assert src.count("t__ = tic; v__ = metricsFoo(a, b, f);") == 1
    # the warm-up call on the corner crop only when asked for
    assert src.count("metricsFoo(a, b, f)") == (2 if warmup else 1)
    assert "VAL\\t" in src and "ERR\\t" in src
