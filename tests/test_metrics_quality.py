"""Perceptual quality indices: Qcb (Chen-Blum), Qcv (Chen-Varshney) and Qp (Zhao, phase
congruency).

Checked against
- literal re-implementations written here from the formulas (2-D filter2 with the unnormalised
  31 x 31 Gaussians, per-block loops for blkproc, direct complex FFT filtering) on small images;
- values frozen from GNU Octave 7.3 running the reference MATLAB code (VIFB metricsQcb.m and
  metricsQcv.m @5d29ee7, MEFB metricsQcb.m, metricsQcv.m and metricsQp.m with myphasecong3
  @82014f4; Octave lacks freqspace and blkproc, which were supplied from MATLAB's documented
  behaviour) on VIFB's fight/ADF triple: full size, a 151 x 203 crop (odd sizes) and a colour crop;
- VIFB's stored MATLAB values (Qcb and Qcv, all 13 methods x 21 scenes);
- identities (F = A = B) and the documented edge cases.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from tests.metric_inputs import metric_triple
from bench.metrics import MetricUndefined, compute
from bench.metrics.matlab import matlab_round, rgb2gray
from bench.metrics.phase_congruency import _PCBank, phase_congruency
from bench.metrics.quality import freqspace_radius, normalize1


def triple(shape=(64, 80), seed=0):
    return metric_triple(shape, seed)


# ------------------------------------------------------------------------------------------------
# literal oracles
# ------------------------------------------------------------------------------------------------

def oracle_normalize1(x):
    lo, hi = x.min(), x.max()
    if lo == 0 and hi == 0:
        return x
    return matlab_round((x - lo) / (hi - lo) * 255)


def oracle_freq_filter(x, transfer):
    """ifft2(ifftshift(fftshift(fft2(x)) .* H)), complex, as the MATLAB code does it."""
    return np.fft.ifft2(np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(x)) * transfer))


def oracle_qcb(a, b, f):
    rows, cols = a.shape
    u, v = np.meshgrid((np.arange(cols) - cols // 2) * (2 / cols),
                       (np.arange(rows) - rows // 2) * (2 / rows))
    r = np.sqrt((cols / 30 * u) ** 2 + (rows / 30 * v) ** 2)
    sd = np.exp(-(r / 15.3870) ** 2) - 0.7622 * np.exp(-(r / 1.3456) ** 2)
    x, y = np.meshgrid(np.arange(-15, 16), np.arange(-15, 16))

    def gauss(s):
        return np.exp(-(x * x + y * y) / (2 * s * s)) / (2 * np.pi * s * s)

    def cp(img):
        im = oracle_freq_filter(oracle_normalize1(img), sd)
        c = np.abs(signal.correlate2d(im, gauss(2), "same") /
                   signal.correlate2d(im, gauss(4), "same") - 1)
        return c ** 3 / (c ** 2 + 1e-4)

    c1, c2, cf = cp(a), cp(b), cp(f)
    q1 = np.where(c1 < cf, c1 / cf, cf / c1)
    q2 = np.where(c2 < cf, c2 / cf, cf / c2)
    l1 = c1 ** 2 / (c1 ** 2 + c2 ** 2)
    return float(np.mean(l1 * q1 + (1 - l1) * q2))


def oracle_qcv(a, b, f):
    im1, im2, fu = (oracle_normalize1(x) for x in (a, b, f))
    rows, cols = im1.shape
    h = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    u, v = np.meshgrid((np.arange(cols) - cols // 2) * (2 / cols),
                       (np.arange(rows) - rows // 2) * (2 / rows))
    r = np.sqrt((cols / 8 * u) ** 2 + (rows / 8 * v) ** 2)
    csf = 2.6 * (0.0192 + 0.144 * r) * np.exp(-(0.144 * r) ** 1.1)
    num = den = 0.0
    for src in (im1, im2):
        g = np.hypot(signal.correlate2d(src, h, "same"), signal.correlate2d(src, h.T, "same"))
        d = oracle_freq_filter(src - fu, csf)
        for i in range(0, rows, 16):
            for j in range(0, cols, 16):
                lam = float((g[i:i + 16, j:j + 16] ** 5).sum())
                blk = d[i:i + 16, j:j + 16]
                dd = float(np.real((blk ** 2).sum())) / 256.0  # blkproc pads with zeros
                num += lam * dd
                den += lam
    return num / den


# ------------------------------------------------------------------------------------------------
# Qcb
# ------------------------------------------------------------------------------------------------

def test_normalize1_and_freqspace():
    x = np.array([[3.0, 5.0], [7.0, 4.0]])
    assert np.array_equal(normalize1(x), [[0, 128], [255, 64]])  # 127.5 rounds away from zero
    assert np.array_equal(normalize1(np.zeros((2, 2))), np.zeros((2, 2)))
    with pytest.raises(MetricUndefined, match="constant non-zero"):
        normalize1(np.full((2, 2), 9.0))
    r = freqspace_radius((4, 5), 1.0, 1.0)
    assert r[2, 2] == 0 and r[0, 0] == pytest.approx(np.hypot(-1.0, -0.8))


def test_qcb_matches_the_literal_oracle():
    for shape, seed in (((40, 52), 1), ((33, 47), 2)):
        a, b, f = triple(shape, seed)
        assert compute("Qcb", a, b, f) == pytest.approx(oracle_qcb(a, b, f), rel=1e-10)


def test_qcb_identity_symmetry_and_range():
    a, b, f = triple(seed=3)
    assert compute("Qcb", a, a, a) == pytest.approx(1.0, rel=1e-12)
    v = compute("Qcb", a, b, f)
    assert compute("Qcb", b, a, f) == pytest.approx(v, rel=1e-12)
    assert 0 < v < 1
    # normalize1 first: an affine change of F's grey levels that keeps its rounding is invisible
    assert compute("Qcb", a, b, 2 * f + 10) == pytest.approx(
        compute("Qcb", a, b, normalize1(2 * f + 10)), rel=1e-12)


def test_qcb_mefb_im2double_moves_normalize1_ties_only():
    a, b, f = triple(seed=4)
    v, m = compute("Qcb", a, b, f, profile="vifb"), compute("Qcb", a, b, f, profile="mefb")
    assert m == pytest.approx(v, rel=1e-3)
    x = np.array([0.0, 127.0, 254.0, 30.0])  # range 254: 127 -> 127.5 exactly in double
    assert normalize1(x)[1] == 128 and normalize1(x, im2double=True)[1] in (127, 128)
    # grey sources with a colour F: MEFB scores F's red channel, VIFB every channel
    fc = np.dstack([f, a, b])
    red = compute("Qcb", a, b, fc, profile="mefb")
    assert red == compute("Qcb", a, b, fc[:, :, 0], profile="mefb")
    assert abs(red - compute("Qcb", a, b, fc, profile="vifb")) > 1e-3


# ------------------------------------------------------------------------------------------------
# Qcv
# ------------------------------------------------------------------------------------------------

def test_qcv_matches_the_literal_oracle_with_partial_blocks():
    for shape, seed in (((40, 52), 5), ((33, 47), 6), ((16, 16), 7)):
        a, b, f = triple(shape, seed)
        assert compute("Qcv", a, b, f) == pytest.approx(oracle_qcv(a, b, f), rel=1e-10)


def test_qcv_identity_and_symmetry():
    a, b, f = triple(seed=8)
    assert compute("Qcv", a, a, a) == pytest.approx(0.0, abs=1e-20)
    v = compute("Qcv", a, b, f)
    assert v > 0 and compute("Qcv", b, a, f) == pytest.approx(v, rel=1e-12)
    assert compute("Qcv", a, b, f, profile="vifb") == v == compute("Qcv", a, b, f, profile="mefb")


# ------------------------------------------------------------------------------------------------
# Qp
# ------------------------------------------------------------------------------------------------

def test_phase_congruency_basic_properties():
    a, _, _ = triple((48, 64), seed=9)
    pc, big, small = phase_congruency(a)
    assert pc.shape == a.shape and np.all((pc >= 0) & (pc <= 1))
    # M >= m; m >= -eps/2 (the moments' denominator carries myphasecong3's epsilon = 1e-4)
    assert np.all(big >= small) and np.all(small >= -0.5e-4 - 1e-12)
    pc2, big2, small2 = phase_congruency(3 * a + 5)  # nearly invariant to affine grey changes
    assert np.allclose(pc2, pc, atol=1e-3)


def oracle_phase_congruency(im):
    """myphasecong3 written out literally in double precision (numpy complex128 FFTs, the
    spatial noise filters by inverse FFT, MeanE/MeanO per scale, np.median)."""
    nscale, norient, k, cut_off, g, eps = 4, 6, 2.0, 0.5, 10.0, 1e-4
    rows, cols = im.shape
    spectrum = np.fft.fft2(im)

    def grid(n):
        return (np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1) if n % 2
                else np.arange(-n / 2, n / 2) / n)

    x, y = np.meshgrid(grid(cols), grid(rows))
    radius = np.sqrt(x ** 2 + y ** 2)
    radius[rows // 2, cols // 2] = 1
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    radius = np.fft.ifftshift(radius)
    xl = (np.arange(1, cols + 1) - (cols // 2 + 1)) / cols
    yl = (np.arange(1, rows + 1) - (rows // 2 + 1)) / rows
    lp = np.fft.fftshift(1 / (1 + (np.sqrt(xl[None] ** 2 + yl[:, None] ** 2) / 0.45) ** 30))
    log_gabor = []
    for s in range(nscale):
        fo = 1 / (3 * 2.1 ** s)
        lg = np.exp(-np.log(radius / fo) ** 2 / (2 * np.log(0.55) ** 2)) * lp
        lg[0, 0] = 0
        log_gabor.append(lg)
    theta_sigma = np.pi / norient / 1.2
    total_energy = total_sum_an = covx2 = covy2 = covxy = 0
    for o in range(norient):
        angl = o * np.pi / norient
        ds = np.sin(theta) * np.cos(angl) - np.cos(theta) * np.sin(angl)
        dc = np.cos(theta) * np.cos(angl) + np.sin(theta) * np.sin(angl)
        spread = np.exp(-np.arctan2(ds, dc) ** 2 / (2 * theta_sigma ** 2))
        eo, spatial = [], []
        for s in range(nscale):
            filt = log_gabor[s] * spread
            spatial.append(np.real(np.fft.ifft2(filt)) * np.sqrt(rows * cols))
            eo.append(np.fft.ifft2(spectrum * filt))
            if s == 0:
                em_n = np.sum(filt ** 2)
        an = [np.abs(e) for e in eo]
        sum_an, max_an = sum(an), np.max(an, axis=0)
        sum_e, sum_o = sum(e.real for e in eo), sum(e.imag for e in eo)
        x_energy = np.sqrt(sum_e ** 2 + sum_o ** 2) + eps
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = sum(e.real * mean_e + e.imag * mean_o - np.abs(e.real * mean_o - e.imag * mean_e)
                     for e in eo)
        noise_power = -np.median(an[0] ** 2) / np.log(0.5) / em_n
        sum_an2 = sum(np.sum(a ** 2) for a in spatial)
        sum_aiaj = sum(np.sum(spatial[i] * spatial[j])
                       for i in range(nscale - 1) for j in range(i + 1, nscale))
        tau = np.sqrt((2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj) / 2)
        threshold = (tau * np.sqrt(np.pi / 2) + k * np.sqrt((2 - np.pi / 2) * tau ** 2)) / 1.7
        energy = np.maximum(energy - threshold, 0)
        weight = 1 / (1 + np.exp((cut_off - sum_an / (max_an + eps) / nscale) * g))
        total_sum_an = total_sum_an + sum_an
        total_energy = total_energy + weight * energy
        pc = weight * energy / sum_an
        covx2 = covx2 + (pc * np.cos(angl)) ** 2
        covy2 = covy2 + (pc * np.sin(angl)) ** 2
        covxy = covxy + pc * np.cos(angl) * pc * np.sin(angl)
    covx2, covy2, covxy = covx2 / (norient / 2), covy2 / (norient / 2), covxy / norient
    denom = np.sqrt(covxy ** 2 + (covx2 - covy2) ** 2) + eps
    return (total_energy / (total_sum_an + eps), (covy2 + covx2 + denom) / 2,
            (covy2 + covx2 - denom) / 2)


def test_phase_congruency_matches_the_literal_double_precision_oracle():
    # single-precision transforms: the maps agree to ~1e-6 of their range
    for shape, seed in (((48, 64), 14), ((33, 47), 15)):
        a, _, _ = triple(shape, seed)
        for ours, ref in zip(phase_congruency(a), oracle_phase_congruency(a)):
            assert np.abs(ours - ref).max() < 1e-5 * max(1.0, np.abs(ref).max())


def test_phase_congruency_noise_constants_by_parseval():
    # sum(a_s^2) and sum(a_i a_j) of the spatial filters real(ifft2(H)) * sqrt(n), from the
    # even part of H in the frequency domain, equal the literal spatial sums
    rows, cols = 21, 30
    bank = _PCBank(rows, cols)
    for o, (em_n, an2, aiaj) in enumerate(bank.noise):
        spread = bank.spread[o][:, ::2].astype(np.float64)
        lg = bank.log_gabor[:, :, ::2].astype(np.float64) * (rows * cols)
        filters = lg * spread  # the stored filters are float32-rounded: rel 1e-6 below
        spatial = [np.real(np.fft.ifft2(h)) * np.sqrt(rows * cols) for h in filters]
        assert an2 == pytest.approx(sum(np.sum(a * a) for a in spatial), rel=1e-6)
        assert aiaj == pytest.approx(sum(np.sum(spatial[i] * spatial[j])
                                         for i in range(3) for j in range(i + 1, 4)), rel=1e-6)
        assert em_n == pytest.approx(float(np.sum(filters[0] ** 2)), rel=1e-6)


def oracle_qp(a, b, f):
    """metricZhao.m's pc_assessFusion and correlation_coeffcient written out literally."""
    (pc1, big1, small1), (pc2, big2, small2), (pcf, bigf, smallf) = (
        oracle_phase_congruency(x) for x in (a, b, f))
    mask = pc1 > pc2
    m1, m2 = pc1 > 0.1, pc2 > 0.1
    m3 = np.where(mask, pc1, pc2) > 0.1
    x, y = np.meshgrid(np.arange(-5, 6), np.arange(-5, 6))
    window = np.exp(-(x * x + y * y) / (2 * 1.5 ** 2))
    window /= window.sum()

    def filt(img):
        return signal.correlate2d(img, window, "same")

    def corr(i1, i2, imax, imf):
        c = 1e-4
        muf = filt(imf)
        sf = filt(imf * imf) - muf * muf
        res = []
        for im, m in ((i1 * m1, m1), (i2 * m2, m2), (imax * m3, m3)):
            mu = filt(im)
            s2 = filt(im * im) - mu * mu
            sxf = filt(im * imf) - mu * muf
            res.append(np.where(m, (sxf + c) / (np.sqrt(np.abs(s2 * sf)) + c), 0.0))
        return float(np.max(res, axis=0).sum()) / m3.sum()

    return (corr(pc1, pc2, np.where(mask, pc1, pc2), pcf)
            * corr(big1, big2, np.where(mask, big1, big2), bigf)
            * corr(small1, small2, np.where(mask, small1, small2), smallf))


def test_qp_matches_the_literal_double_precision_oracle():
    for shape, seed in (((48, 64), 16), ((33, 47), 17)):
        a, b, f = triple(shape, seed)
        assert compute("Qp", a, b, f) == pytest.approx(oracle_qp(a, b, f), rel=1e-5)


def test_liu_profile_reproduces_the_vifb_and_mefb_computations_on_grey_images():
    a, b, f = triple(seed=18)
    assert compute("Qcb", a, b, f, profile="liu") == compute("Qcb", a, b, f, profile="vifb")
    assert compute("Qcv", a, b, f, profile="liu") == compute("Qcv", a, b, f, profile="vifb")
    assert compute("Qp", a, b, f, profile="liu") == compute("Qp", a, b, f, profile="mefb")
    # colour inputs: liu reduces every image with rgb2gray (fusionAssess reads grey images)
    fc = np.dstack([f, a, b])
    assert compute("Qcb", a, b, fc, profile="liu") == pytest.approx(
        compute("Qcb", a, b, rgb2gray(fc), profile="liu"), rel=1e-12)


def test_qp_identity_symmetry_and_range():
    a, b, f = triple((48, 64), seed=10)
    # F = A = B does not give 1: the sources' feature maps are masked (PC > 0.1) before the local
    # correlation with F's unmasked map
    same = compute("Qp", a, a, a)
    v = compute("Qp", a, b, f)
    assert v < same <= 1
    assert 0 < v < 1 and compute("Qp", b, a, f) == pytest.approx(v, rel=1e-12)
    assert compute("Qp", a, b, f, profile="mefb") == v  # the same computation on grey inputs


# ------------------------------------------------------------------------------------------------
# Octave-frozen values
# ------------------------------------------------------------------------------------------------

@pytest.mark.shared_data
def test_octave_frozen_values(shared_data):
    from tests.vifb_reference import triple as vifb_triple
    ir, vi, fu = vifb_triple(shared_data, "fight", "ADF")
    gvi, gfu = rgb2gray(vi), rgb2gray(fu)  # the grey PNGs Octave read
    cases = {
        "g": ((slice(None), slice(None)), 0.46236265688117195, 1214.5783398245117,
              0.42662030472245438),
        "o": ((slice(0, 151), slice(0, 203)), 0.5437347144525243, 326.92516242237161,
              0.40954539609438617),
    }
    for _, ((rs, cs), qcb, qcv, qp) in cases.items():
        v, i, f = gvi[rs, cs], ir[rs, cs], gfu[rs, cs]
        for prof in ("vifb", "mefb"):
            assert compute("Qcb", v, i, f, profile=prof) == pytest.approx(qcb, rel=1e-12)
            assert compute("Qcv", v, i, f, profile=prof) == pytest.approx(qcv, rel=1e-12)
        # single-precision log-Gabor transforms: 2.3e-6 on the full image (one mask pixel)
        assert compute("Qp", v, i, f, profile="mefb") == pytest.approx(qp, rel=1e-5)
    c = (slice(0, 120), slice(0, 161))  # colour VI and F, grey IR: per channel
    assert compute("Qcb", vi[c], ir[c], fu[c], profile="vifb") == pytest.approx(
        0.58230839085884756, rel=1e-12)
    assert compute("Qcv", vi[c], ir[c], fu[c], profile="vifb") == pytest.approx(
        193.39356763594847, rel=1e-12)
    # MEFB with grey sources and a colour F scores F's red channel only
    assert compute("Qcb", ir[c], ir[c], fu[c], profile="mefb") == pytest.approx(
        0.61812840791676715, rel=1e-12)
    assert compute("Qp", ir[c], ir[c], fu[c], profile="mefb") == pytest.approx(
        0.48073623136750016, rel=1e-5)


# ------------------------------------------------------------------------------------------------
# edge cases
# ------------------------------------------------------------------------------------------------

def test_edge_cases():
    a, b, f = triple((48, 57), seed=13)
    const = np.full_like(a, 77.0)
    zero = np.zeros_like(a)
    for name in ("Qcb", "Qcv"):
        with pytest.raises(MetricUndefined, match="constant non-zero"):
            compute(name, a, b, const)
    with pytest.raises(MetricUndefined, match="zero or undefined masked local contrast"):
        compute("Qcb", a, b, zero)  # all-zero F: its contrast is 0/0
    assert compute("Qcv", a, b, zero) > compute("Qcv", a, b, f)  # all-zero F: a large distortion
    with pytest.raises(MetricUndefined, match="neither source has any gradient"):
        compute("Qcv", zero, zero, f)
    for img in (const, zero):
        with pytest.raises(MetricUndefined, match="constant image"):
            compute("Qp", a, b, img)
    # near-binary, 16 x 16 and odd sizes: defined values
    rng = np.random.default_rng(0)
    binary = (rng.random((16, 16)) > 0.5) * 255.0
    nb = np.where(rng.random((16, 16)) > 0.9, 1.0, 0.0)
    for x, y, z in ((binary, 255 - binary, binary), (nb, 1 - nb, nb), triple((16, 16), 3),
                    triple((17, 23), 4)):
        for name in ("Qcb", "Qcv", "Qp"):
            for prof in ("default", "liu"):
                v = compute(name, x, y, z, profile=prof)
                assert np.isfinite(v) and v >= 0
    for name in ("Qcb", "Qcv", "Qp"):
        with pytest.raises(ValueError, match="at least 2 x 2"):
            compute(name, a[:1], b[:1], f[:1])


# ------------------------------------------------------------------------------------------------
# VIFB calibration
# ------------------------------------------------------------------------------------------------

def _vifb_qcb_qcv(item):
    from pathlib import Path

    from tests.vifb_reference import triple as vifb_triple
    root, scene, method, stored = item
    ir, vi, f = vifb_triple(Path(root), scene, method)
    # VIFB passes VI first
    return scene, method, {k: (compute(k, vi, ir, f, profile="vifb"), v) for k, v in stored.items()}


@pytest.mark.shared_data
def test_vifb_qcb_qcv_all_273_triples(shared_data):
    from tests.vifb_reference import reference_rows, within_tolerance
    rows = {}
    for scene, method, metric, stored in reference_rows(shared_data):
        if metric in ("Qcb", "Qcv"):
            rows.setdefault((scene, method), {})[metric] = stored
    assert len(rows) == 273
    items = [(str(shared_data), s, m, v) for (s, m), v in rows.items()]
    worst = {"Qcb": 0.0, "Qcv": 0.0}
    bad, digits = [], 0
    for scene, method, results in map(_vifb_qcb_qcv, items):
        for metric, (ours, value) in results.items():
            worst[metric] = max(worst[metric], abs(ours - value) / abs(value))
            digits += f"{ours:.5g}" == f"{value:.5g}"  # dlmwrite keeps 5 significant digits
            if not within_tolerance(ours, value):
                bad.append((scene, method, metric, ours, value))
    print("VIFB worst relative deviation: " +
          ", ".join(f"{k} {v:.2e}" for k, v in worst.items()) + f" over {len(rows)} triples, "
          f"{digits} of {2 * len(rows)} values equal to the last stored digit")
    assert not bad, bad[:5]
    assert digits == 2 * len(rows)
