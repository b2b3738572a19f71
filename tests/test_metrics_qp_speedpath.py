"""The compiled fast paths of Qp (bench.metrics._pc_numba) against plain NumPy/OpenCV."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from bench.metrics._pc_numba import (median_f32, orientation_pass, overall_pc_and_moments,
                                     qp_correlation)


@pytest.mark.parametrize("n", [1, 2, 7, 10, 4096, 30001])
def test_median_f32_is_exact(n):
    rng = np.random.default_rng(n)
    for v in (np.abs(rng.standard_normal(n)).astype(np.float32),
              np.round(rng.random(n) * 3).astype(np.float32)):  # many ties
        nscale_eo = np.zeros((4, 2 * n), np.float32)
        nscale_eo[0, ::2] = v  # |EO_0| = v, so orientation_pass fills the histogram of v
        an0, arg, sa, en = (np.empty(n, np.float32) for _ in range(4))
        hist = np.empty(1 << 16, np.int32)
        orientation_pass(nscale_eo, 1e-4, -2.5, 5.0, an0, arg, sa, en, hist)
        assert np.array_equal(an0, v)
        lo, hi = median_f32(an0, hist)
        want = np.partition(v, [(n - 1) // 2, n // 2])[[(n - 1) // 2, n // 2]]
        assert (lo, hi) == (want[0], want[1])


def test_overall_pass_applies_the_noise_threshold_and_weight():
    rng = np.random.default_rng(4)
    n, f32 = 777, np.float32
    energies = (rng.standard_normal((6, n)) * 0.3).astype(f32)
    sums_an = (rng.random((6, n)) + 0.1).astype(f32)
    expo = np.exp(rng.standard_normal((6, n)).astype(f32))
    thresholds = (rng.random(6) * 0.2).astype(f32)
    weights = rng.random((3, 6)).astype(f32)
    out = np.empty((3, n))
    overall_pc_and_moments(energies, sums_an, expo, thresholds, weights, 1e-4, *out)
    # the NumPy sequence, float32 and in order: weight each orientation, then sum
    e = [np.maximum(energies[o] - thresholds[o], f32(0)) / (expo[o] + f32(1)) for o in range(6)]
    r = [(e[o] / sums_an[o]) ** 2 for o in range(6)]
    tot_e, tot_s = e[0], sums_an[0]
    x2, y2, xy = (weights[k, 0] * r[0] for k in range(3))
    for o in range(1, 6):
        tot_e, tot_s = tot_e + e[o], tot_s + sums_an[o]
        x2, y2, xy = x2 + weights[0, o] * r[o], y2 + weights[1, o] * r[o], xy + weights[2, o] * r[o]
    x2, y2, xy = (v.astype(np.float64) for v in (x2, y2, xy))
    denom = np.sqrt((x2 - y2) ** 2 + xy ** 2) + 1e-4
    assert np.array_equal(out[0], tot_e.astype(np.float64) / (tot_s.astype(np.float64) + 1e-4))
    assert np.array_equal(out[1], (x2 + y2 + denom) / 2)
    assert np.array_equal(out[2], (x2 + y2 - denom) / 2)


def test_qp_correlation_equals_full_plane_filters():
    rng = np.random.default_rng(3)
    shape = (37, 53)
    f1, f2, ff = (rng.random(shape) for _ in range(3))
    pc1, pc2 = rng.random(shape) * 0.3, rng.random(shape) * 0.3
    t, c = 0.1, 1e-4
    sel = pc1 > pc2
    m1, m2, m3 = pc1 > t, pc2 > t, np.where(sel, pc1, pc2) > t

    def filt(x):
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_CONSTANT)

    muf = filt(ff)
    sf = filt(ff * ff) - muf * muf
    res = []
    for x, m in ((f1 * m1, m1), (f2 * m2, m2), (np.where(sel, f1, f2) * m3, m3)):
        mu = filt(x)
        var = filt(x * x) - mu * mu
        cov = filt(x * ff) - mu * muf
        res.append(np.where(m, (cov + c) / (np.sqrt(np.abs(var * sf)) + c), 0.0))
    want = np.max(res, axis=0)[m3].sum()
    total, count = qp_correlation(f1, f2, ff, pc1, pc2, t,
                                  cv2.getGaussianKernel(11, 1.5).ravel(), c)
    assert count == int(m3.sum())
    assert total == pytest.approx(want, rel=1e-13)
    assert qp_correlation(f1, f2, ff, pc1, pc2, 1.0, cv2.getGaussianKernel(11, 1.5).ravel(),
                          c) == (0.0, 0)


def test_qp_correlation_dense_mask_and_nan():
    rng = np.random.default_rng(5)
    shape = (30, 41)  # rows not a multiple of 4
    f1, f2, ff = (rng.random(shape) for _ in range(3))
    pc1, pc2 = rng.random(shape), rng.random(shape)
    kern = cv2.getGaussianKernel(11, 1.5).ravel()
    total, count = qp_correlation(f1, f2, ff, pc1, pc2, -1.0, kern, 1e-4)  # every pixel in m3
    assert count == f1.size and np.isfinite(total)
    f1[7, 9] = np.nan  # NaN propagates (np.maximum), as in the reference
    assert np.isnan(qp_correlation(f1, f2, ff, pc1, pc2, -1.0, kern, 1e-4)[0])


def test_phase_congruency_reused_buffers():
    from bench.metrics.phase_congruency import phase_congruency
    rng = np.random.default_rng(8)
    a, b = rng.random((40, 52)) * 255, rng.random((40, 52)) * 255
    first = [x.copy() for x in phase_congruency(a)]
    phase_congruency(rng.random((33, 47)) * 255)  # another size in between
    phase_congruency(b)
    out = np.empty((3, 40, 52))
    again = phase_congruency(a, out=out)
    for x, y in zip(first, again):
        assert np.array_equal(x, y)
    assert all(np.shares_memory(x, out) for x in again)
    with pytest.raises(ValueError):
        phase_congruency(a, out=np.empty((3, 40, 51)))
