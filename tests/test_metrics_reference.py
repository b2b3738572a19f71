"""Frozen reference values from the reference toolkits themselves (pyiqa-style calibration).

tests/fixtures/metric_reference/values.json holds metric values computed by the toolkits' own
code: the VIFB, MEFB and Tang (SeAFusion Evaluation) MATLAB code and Z. Liu's
imageFusionMetrics, run in GNU Octave, and CDDFuse's utils/Evaluator.py, run in Python; how, with
which shims, and on which pixels is in PROVENANCE.md next to it. Each record says which fusebench
profile must reproduce it; this test calls

    bench.metrics.compute(metric, X, Y, f, profile=profile, **options)

with (X, Y) the triple's (a, b) in the order the toolkit received them ("order": "ab" or "ba")
and asserts agreement within 1e-3 relative (1e-6 absolute near 0).

- Records whose toolkit gave no finite value (NaN, Inf, or an error) assert only the fusebench
  contract for such inputs: a finite value or a ValueError (MetricUndefined), never NaN or a
  crash.
- Records whose "trust" is not "exact" (Octave could not reproduce MATLAB) are checked for what
  they can show:
  - "octave-differs: dwt2 ..." (Tang FMI_w): Octave emulated MATLAB's dwt2(x, 'dmey') with
    PyWavelets' 62-tap 'dmey'; fusebench, given that same filter instead of MATLAB's 102-tap one,
    must reproduce the Octave value within the same tolerance.
  - "ill-conditioned: ..." (constant or flat inputs, where the toolkit's value is rounding noise
    of a 0/0 and Octave and MATLAB-style filtering disagree): the fusebench contract only, a
    finite value of magnitude <= 2 (every such metric is bounded by 2) or a clear ValueError.
- Triples cut from ../shared/data skip (via the `shared_data` fixture) where the data is absent;
  the generated triples are PNGs in the fixture folder.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from bench.imageio import read_image

FIXTURES = Path(__file__).parent / "fixtures" / "metric_reference"
VALUES = json.loads((FIXTURES / "values.json").read_text())
TRIPLES = json.loads((FIXTURES / "triples.json").read_text())
REL, ABS = 1e-3, 1e-6


def _case_id(rec: dict) -> str:
    return rec["id"]


def _params():
    out = []
    for rec in VALUES:
        marks = []
        if TRIPLES[rec["triple"]]["shared_data"]:
            marks.append(pytest.mark.shared_data)
        out.append(pytest.param(rec, id=_case_id(rec), marks=marks))
    return out


def _as_float(img) -> np.ndarray:
    return img.data.astype(np.float64) * (255.0 / img.max_value)


@lru_cache(maxsize=64)
def _read_shared(root: str, rel: str) -> np.ndarray:
    return _as_float(read_image(Path(root) / rel))


@lru_cache(maxsize=64)
def _read_fixture(name: str) -> np.ndarray:
    return _as_float(read_image(FIXTURES / name))


def load_triple(tid: str, shared_root: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, f) as fusebench reads them: values 0..255, colour kept, RGB-but-grey files grey."""
    t = TRIPLES[tid]
    if not t["shared_data"]:
        return tuple(_read_fixture(t[k]) for k in ("a", "b", "f"))
    c = t["crop"]
    window = (slice(c["y0"], c["y0"] + c["h"]), slice(c["x0"], c["x0"] + c["w"]))
    a = _read_shared(str(shared_root), t["a"])[window]
    b = _read_shared(str(shared_root), t["b"])[window]
    if isinstance(t["f"], dict):  # MEF triple: F is the rounded-up pixel average of the sources
        f = np.floor((a + b + 1) / 2)
    else:
        f = _read_shared(str(shared_root), t["f"])[window]
    return a, b, f


@pytest.fixture
def triple_for(request):
    def get(tid: str):
        root = request.getfixturevalue("shared_data") if TRIPLES[tid]["shared_data"] else None
        return load_triple(tid, root)
    return get


def test_fixture_files_are_consistent():
    assert VALUES, "values.json is empty"
    ids = [r["id"] for r in VALUES]
    assert len(ids) == len(set(ids))
    for rec in VALUES:
        assert rec["triple"] in TRIPLES, rec["id"]
        assert rec["order"] in ("ab", "ba"), rec["id"]
        assert rec["toolkit"] in ("vifb", "mefb", "tang", "liu", "cddfuse"), rec["id"]
        assert (rec["value"] is None) == (rec["toolkit_result"] != "value"), rec["id"]
        if rec["value"] is not None:
            assert math.isfinite(rec["value"]), rec["id"]
    for tid, t in TRIPLES.items():
        if not t["shared_data"]:
            for k in ("a", "b", "f"):
                assert (FIXTURES / t[k]).is_file(), (tid, k)
                assert (FIXTURES / t[k]).stat().st_size < 32_000, "generated fixtures stay small"


@pytest.mark.parametrize("rec", _params())
def test_reference_value(rec, triple_for, monkeypatch):
    from bench.metrics import compute

    a, b, f = triple_for(rec["triple"])
    x, y = (a, b) if rec["order"] == "ab" else (b, a)
    if rec["value"] is None or rec["trust"].startswith("ill-conditioned"):
        # No finite toolkit value (NaN / Inf / error), or one that is rounding noise: fusebench
        # must give a finite, bounded number or a clear ValueError (MetricUndefined), never NaN
        # or a crash.
        try:
            got = compute(rec["metric"], x, y, f, profile=rec["profile"], **rec["options"])
        except ValueError as exc:
            assert str(exc), rec["id"]
            return
        assert math.isfinite(got) and abs(got) <= 2.0, (
            f"{rec['id']}: got {got!r} (toolkit: {rec['toolkit_result']}, {rec['trust']})")
        return
    if rec["trust"].startswith("octave-differs: dwt2"):
        # reproduce the Octave run: PyWavelets' 62-tap 'dmey' in place of MATLAB's 102-tap one
        import pywt
        from bench.metrics import fmi_features
        monkeypatch.setattr(fmi_features, "matlab_dmey", lambda: pywt.Wavelet("dmey"))
    else:
        assert rec["trust"] == "exact", f"{rec['id']}: no check for trust {rec['trust']!r}"
    got = compute(rec["metric"], x, y, f, profile=rec["profile"], **rec["options"])
    want = rec["value"]
    assert abs(got - want) <= max(REL * abs(want), ABS), (
        f"{rec['id']}: fusebench {got!r} vs {rec['toolkit']} {rec['toolkit_metric']} {want!r} "
        f"(profile {rec['profile']}, options {rec['options']}; {rec.get('note', '')})")
