"""Structural metrics (SSIM, MS-SSIM, MEF-SSIM, Qy, Qc, Qs, Qw) and the reference-based metrics.

The vectorised implementations are checked against
- slow, literal re-implementations of the reference algorithms written here from the formulas
  (per-pixel loops, MATLAB-style filter2 / imfilter from bench.metrics.matlab) on small images;
- scikit-image's structural_similarity for CDDFuse's convention (bit for bit);
- VIFB's stored MATLAB values (all 13 methods x 21 scenes);
- the measured values in METRICS.md section 5.4;
- hand-computable inputs and identities.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from tests.metric_inputs import metric_triple, smooth
from bench.metrics import MetricUndefined, compute, conventions
from bench.metrics.matlab import filter2, fspecial_gaussian, imfilter
from bench.metrics.mef_ssim import mef_ssim_value

RNG = np.random.default_rng(7)


def triple(shape=(64, 80), seed=0):
    return metric_triple(shape, seed)


# ------------------------------------------------------------------------------------------------
# literal oracles (slow, small images only)
# ------------------------------------------------------------------------------------------------

def oracle_ssim_index(x, y, win=11, sigma=1.5, L=255.0, K=(0.01, 0.03)):
    """Wang's ssim_index: filter2 'valid' with a 2-D fspecial window."""
    w = fspecial_gaussian(win, sigma)
    c1, c2 = (K[0] * L) ** 2, (K[1] * L) ** 2
    mx, my = filter2(w, x, "valid"), filter2(w, y, "valid")
    vx = filter2(w, x * x, "valid") - mx * mx
    vy = filter2(w, y * y, "valid") - my * my
    cxy = filter2(w, x * y, "valid") - mx * my
    m = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return m, vx, vy, cxy


def oracle_matlab_ssim(x, y, L=1.0):
    """MATLAB IPT ssim on [0,1] images: imfilter 'replicate' with an 11x11 sigma-1.5 Gaussian."""
    x, y = x / 255.0, y / 255.0
    w = fspecial_gaussian(11, 1.5)
    f = lambda im: imfilter(im, w, "replicate")  # noqa: E731
    mx, my = f(x), f(y)
    vx, vy, cxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    return np.mean(num / ((mx * mx + my * my + c1) * (vx + vy + c2)))


def oracle_mef_ssim(seq, fused, K=0.03):
    """mef_ssim.m, one pixel at a time (as Ma et al. describe the index)."""
    seq = [np.asarray(s, float) for s in seq]
    fused = np.asarray(fused, float)
    n, bd = 11, 5
    window = fspecial_gaussian(11, 1.5).ravel()
    eps = np.finfo(float).eps
    h, w = fused.shape
    q = np.zeros((h - 2 * bd, w - 2 * bd))
    c = (K * 255) ** 2
    for i in range(bd, h - bd):
        for j in range(bd, w - bd):
            vecs = [s[i - bd:i + bd + 1, j - bd:j + bd + 1].ravel() for s in seq]
            mus = [v.mean() for v in vecs]
            eds = [np.linalg.norm(v - m) + 0.001 for v, m in zip(vecs, mus)]
            total = sum(vecs)
            num = np.linalg.norm(total - total.mean())
            den = sum(np.linalg.norm(v - m) for v, m in zip(vecs, mus))
            r = (num + eps) / (den + eps)
            r = 1 - eps if r > 1 else (eps if r < 0 else r)
            p = min(math.tan(math.pi / 2 * r), 10.0)
            wts = np.array([(e / n) ** p + eps for e in eds])
            wts /= wts.sum()
            ref = sum(wt * (v - m) / e for wt, v, m, e in zip(wts, vecs, mus, eds))
            if np.linalg.norm(ref) > 0:
                ref = ref / np.linalg.norm(ref) * max(eds)
            fv = fused[i - bd:i + bd + 1, j - bd:j + bd + 1].ravel()
            m1, m2 = np.sum(window * ref), np.sum(window * fv)
            s1 = np.sum(window * (ref - m1) ** 2)
            s2 = np.sum(window * (fv - m2) ** 2)
            s12 = np.sum(window * (ref - m1) * (fv - m2))
            q[i - bd, j - bd] = (2 * s12 + c) / (s1 + s2 + c)
    return q.mean()


def oracle_mef_ms_ssim(seq, fused, levels=3):
    weights = np.array([0.0448, 0.2856, 0.3001])[:levels]
    weights = weights / weights.sum()
    ds = np.ones((2, 2)) / 4
    qs = []
    for level in range(levels):
        qs.append(oracle_mef_ssim(seq, fused))
        if level < levels - 1:
            seq = [imfilter(s, ds, "symmetric")[::2, ::2] for s in seq]
            fused = imfilter(fused, ds, "symmetric")[::2, ::2]
    return float(np.prod(np.array(qs) ** weights))


def oracle_ssim_yang(x, y):
    w = fspecial_gaussian(7, 1.5)
    c = 2e-16
    mx, my = filter2(w, x, "valid"), filter2(w, y, "valid")
    vx = filter2(w, x * x, "valid") - mx * mx
    vy = filter2(w, y * y, "valid") - my * my
    cxy = filter2(w, x * y, "valid") - mx * my
    m = ((2 * mx * my + c) * (2 * cxy + c)) / ((mx * mx + my * my + c) * (vx + vy + c))
    return m, vx, vy, cxy


def oracle_qy(a, b, f):
    s_ab, va, vb, _ = oracle_ssim_yang(a, b)
    s_af = oracle_ssim_yang(a, f)[0]
    s_bf = oracle_ssim_yang(b, f)[0]
    with np.errstate(invalid="ignore"):
        lam = va / (va + vb)
    binmap = s_ab >= 0.75
    q = (lam * s_af + (1 - lam) * s_bf) * binmap + np.maximum(s_af, s_bf) * (~binmap)
    return q[~np.isnan(q)].mean()


def oracle_qc(a, b, f):
    s_af, _, _, caf = oracle_ssim_yang(a, f)
    s_bf, _, _, cbf = oracle_ssim_yang(b, f)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = caf / (caf + cbf)
        sim = mu * s_af + (1 - mu) * s_bf
    sim[mu < 0] = 0
    sim[mu > 1] = 1
    return sim[~np.isnan(sim)].mean()


def oracle_qw(a, b, f):
    _, va, vb, _ = oracle_ssim_index(a, b)
    both = (va + vb) == 0
    va, vb = va + 0.5 * both, vb + 0.5 * both
    lam = va / (va + vb)
    s1 = oracle_ssim_index(f, a)[0]
    s2 = oracle_ssim_index(f, b)[0]
    cw = np.maximum(va, vb)
    return np.sum(cw / cw.sum() * (lam * s1 + (1 - lam) * s2))


def oracle_qs(a, b, f):
    """Liu's metricPeilla.m case 1: the mean of lambda SSIM(F,A) + (1 - lambda) SSIM(F,B)."""
    _, va, vb, _ = oracle_ssim_index(a, b)
    both = (va + vb) == 0
    va, vb = va + 0.5 * both, vb + 0.5 * both
    lam = va / (va + vb)
    return np.mean(lam * oracle_ssim_index(f, a)[0] + (1 - lam) * oracle_ssim_index(f, b)[0])


def oracle_ms_ssim(x, y, levels=5):
    weights = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    ds = np.ones((2, 2)) / 4
    out = 1.0
    for level in range(levels):
        m, vx, vy, cxy = oracle_ssim_index(x, y)
        c2 = (0.03 * 255) ** 2
        cs = np.mean((2 * cxy + c2) / (vx + vy + c2))
        if level < levels - 1:
            out *= cs ** weights[level]
            h, w = x.shape
            x = filter2(ds, x, "valid")[0:h - 1:2, 0:w - 1:2]
            y = filter2(ds, y, "valid")[0:h - 1:2, 0:w - 1:2]
        else:
            out *= np.mean(m) ** weights[level]
    return out


# ------------------------------------------------------------------------------------------------
# SSIM
# ------------------------------------------------------------------------------------------------

def test_ssim_hand_computed_constant_images():
    a = np.full((16, 16), 100.0)
    b = np.full((16, 16), 50.0)
    f = np.full((16, 16), 200.0)
    c1 = (0.01 * 255) ** 2
    lum = lambda x, y: (2 * x * y + c1) / (x * x + y * y + c1)  # noqa: E731
    expected = (lum(200, 100) + lum(200, 50)) / 2  # variances 0: contrast-structure term is 1
    assert compute("SSIM", a, b, f) == pytest.approx(expected, rel=1e-12)
    assert compute("SSIM", a, b, f, profile="vifb") == pytest.approx(2 * expected, rel=1e-12)
    assert compute("SSIM", f, f, f) == pytest.approx(1.0, abs=1e-12)


def test_ssim_identities_and_symmetry():
    a, b, f = triple()
    for prof in ("default", "vifb", "tang", "cddfuse"):
        top = 1.0 if conventions("SSIM", prof).get("aggregate", "mean") == "mean" else 2.0
        # tang's MEF-SSIM adds 0.001 to the patch strengths: 1 up to that offset
        assert compute("SSIM", a, a, a, profile=prof) == pytest.approx(
            top, abs=2e-3 if prof == "tang" else 1e-6)
        assert compute("SSIM", a, b, f, profile=prof) == pytest.approx(
            compute("SSIM", b, a, f, profile=prof), rel=1e-12)


def test_ssim_matches_literal_oracles():
    a, b, f = triple((40, 52), seed=3)
    want = np.mean([oracle_ssim_index(f, s)[0].mean() for s in (a, b)])
    assert compute("SSIM", a, b, f) == pytest.approx(want, rel=1e-11)
    assert compute("SSIM", a, b, f, profile="vifb") == pytest.approx(2 * want, rel=1e-11)
    # tang: the published code's "SSIM" is single-scale MEF-SSIM of F against the stack
    assert compute("SSIM", a, b, f, profile="tang") == pytest.approx(
        oracle_mef_ssim([a, b], f), rel=1e-10)
    # the older "SSIM_a" block, MATLAB ssim on im2double images (L = 1 on [0, 1])
    want_tang = np.mean([oracle_matlab_ssim(f, s) for s in (a, b)])
    for prof in ("tang", "default"):
        assert compute("SSIM", a, b, f, profile=prof, variant="tang-ssim-im2double") == \
            pytest.approx(want_tang, rel=1e-10)
    # ... and METRICS.md's reading of it: data range 1 on 0..255 doubles
    want_r1 = np.mean([oracle_matlab_ssim(f * 255.0, s * 255.0) for s in (a, b)])
    assert compute("SSIM", a, b, f, profile="tang", variant="tang-ssim-range1") == \
        pytest.approx(want_r1, rel=1e-10)
    with pytest.raises(ValueError, match="variant"):
        compute("SSIM", a, b, f, variant="matlab")


def test_ssim_cddfuse_is_skimage_float32_bit_for_bit():
    from skimage.metrics import structural_similarity
    a, b, f = (x.astype(np.float32) for x in triple((48, 60), seed=5))
    want = (structural_similarity(f, a, data_range=2) + structural_similarity(f, b, data_range=2))
    got = compute("SSIM", a.astype(float), b.astype(float), f.astype(float), profile="cddfuse")
    assert got == want


def test_ssim_vifb_colour_rules():
    a, b, f = triple((32, 40), seed=9)
    vi = np.dstack([a, b, f])
    fc = np.dstack([f, a, b])
    # colour F: each channel against the same channel of VI (IR grey), averaged
    per = np.mean([compute("SSIM", vi[:, :, c], b, fc[:, :, c], profile="vifb") for c in range(3)])
    assert compute("SSIM", vi, b, fc, profile="vifb") == pytest.approx(per, rel=1e-12)
    # grey F: VI reduced with MATLAB rgb2gray (uint8) first
    from bench.metrics.matlab import rgb2gray
    want = compute("SSIM", rgb2gray(vi), b, f, profile="vifb")
    assert compute("SSIM", vi, b, f, profile="vifb") == pytest.approx(want, rel=1e-12)


def test_ssim_profiles_differ_as_documented():
    a, b, f = triple((64, 64), seed=11)
    d = compute("SSIM", a, b, f)
    assert compute("SSIM", a, b, f, profile="vifb") == pytest.approx(2 * d, rel=1e-12)  # sum
    t = compute("SSIM", a, b, f, profile="tang")  # MEF-SSIM, one scale: not Wang's SSIM
    assert t == compute("MEF-SSIM", a, b, f, profile="tang", levels=1)
    assert t != pytest.approx(d, rel=1e-3)
    # options other than the variant do not apply to the stack score
    assert compute("SSIM", a, b, f, profile="tang", data_range=1.0) == t
    m = compute("SSIM", a, b, f, profile="tang", variant="tang-ssim-im2double")
    assert m != d and abs(m - d) < 0.05  # replicate-padded full map vs 'valid': close, not equal
    assert m == compute("SSIM", a, b, f, border="replicate")
    assert compute("SSIM", a, b, f, profile="tang", variant="tang-ssim-range1") < m
    c = compute("SSIM", a, b, f, profile="cddfuse")
    c255 = compute("SSIM", a, b, f, profile="cddfuse", data_range=255.0)
    assert c < c255  # data_range 2 makes C1, C2 negligible


# ------------------------------------------------------------------------------------------------
# MS-SSIM
# ------------------------------------------------------------------------------------------------

def test_ms_ssim_matches_oracle_and_identity():
    a, b, f = triple((181, 197), seed=2)  # odd sizes: trailing row/column dropped when halving
    want = np.mean([oracle_ms_ssim(f, s) for s in (a, b)])
    assert compute("MS-SSIM", a, b, f) == pytest.approx(want, rel=1e-10)
    assert compute("MS-SSIM", a, a, a) == pytest.approx(1.0, abs=1e-12)
    assert compute("MS-SSIM", a, b, f, aggregate="sum") == pytest.approx(2 * want, rel=1e-10)
    with pytest.raises(ValueError, match="at least 176 x 176"):
        compute("MS-SSIM", a[:100], b[:100], f[:100])


def test_ms_ssim_negative_scale_score_default_clips_strict_raises():
    from bench.metrics import MetricUndefined
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:192, :192]
    a = 128 + 100 * np.sin(xx / 9.0) + rng.normal(0, 2, (192, 192))
    f = 255.0 - a  # anti-correlated at every scale: negative contrast-structure scores
    val = compute("MS-SSIM", a, a, f)
    assert val == 0.0  # clipped to 0 at the first negative scale, for both sources
    with pytest.raises(MetricUndefined, match="negative score at scale"):
        compute("MS-SSIM", a, a, f, nonnegative=False)
    # where no scale is negative, clipping changes nothing
    a2, b2, f2 = triple((181, 197), seed=2)
    assert compute("MS-SSIM", a2, b2, f2) == compute("MS-SSIM", a2, b2, f2, nonnegative=False)


def test_ms_ssim_is_not_tangs_ms_ssim():
    a, b, f = triple((180, 180), seed=4)
    assert compute("MS_SSIM", a, b, f, profile="tang") == compute("MEF-SSIM", a, b, f,
                                                                    profile="tang")
    assert compute("MS_SSIM", a, b, f) == compute("MS-SSIM", a, b, f)


# ------------------------------------------------------------------------------------------------
# MEF-SSIM
# ------------------------------------------------------------------------------------------------

def test_mef_ssim_single_scale_matches_per_pixel_oracle():
    a, b, f = triple((23, 29), seed=12)
    b[:12, :14] = 77.0  # a constant patch in one source
    a[15:, 18:] = 0.0  # and a constant patch in the other
    f[:6, :] = 30.0
    got = mef_ssim_value([a, b], f, levels=1)
    assert got == pytest.approx(oracle_mef_ssim([a, b], f), rel=1e-10)
    # three sources work the same way
    c = smooth((23, 29), 40)
    assert mef_ssim_value([a, b, c], f, levels=1) == pytest.approx(
        oracle_mef_ssim([a, b, c], f), rel=1e-10)


def test_mef_ssim_three_scales_matches_oracle():
    a, b, f = triple((45, 47), seed=13)  # odd sizes: 'symmetric' padding when halving
    want = oracle_mef_ms_ssim([a, b], f)
    for prof in ("default", "tang", "mefb"):
        assert compute("MEF-SSIM", a, b, f, profile=prof) == pytest.approx(want, rel=1e-10)
    assert compute("MEF-SSIM", a, b, f) == pytest.approx(compute("MEF-SSIM", b, a, f), rel=1e-12)
    assert compute("MEF-SSIM", a, a, a) == pytest.approx(1.0, abs=2e-3)


def test_mef_ssim_mefb_reduces_colour_with_rgb2gray():
    from bench.metrics.matlab import rgb2gray
    a, b, f = triple((48, 48), seed=14)
    ca, cb, cf = np.dstack([a, b, f]), np.dstack([b, f, a]), np.dstack([f, a, b])
    want = compute("MEF-SSIM", rgb2gray(ca), rgb2gray(cb), rgb2gray(cf), profile="mefb")
    assert compute("MEF-SSIM", ca, cb, cf, profile="mefb") == pytest.approx(want, rel=1e-12)


# ------------------------------------------------------------------------------------------------
# Qy, Qc, Qw
# ------------------------------------------------------------------------------------------------

def test_qy_qc_qw_match_literal_oracles():
    a, b, f = triple((30, 37), seed=21)
    a[:10, :10] = 0.0  # zero patches: exact zero variance in MATLAB too -> lambda 0/0 dropped
    b[:10, :10] = 0.0
    assert compute("Qy", a, b, f, profile="mefb") == pytest.approx(oracle_qy(a, b, f), rel=1e-9)
    assert compute("Qc", a, b, f, profile="mefb") == pytest.approx(oracle_qc(a, b, f), rel=1e-9)
    assert compute("Qw", a, b, f) == pytest.approx(oracle_qw(a, b, f), rel=1e-10)
    assert compute("Qs", a, b, f) == pytest.approx(oracle_qs(a, b, f), rel=1e-10)
    for name in ("Qw", "Qs"):  # Liu's metricPeilla sw = 2 / sw = 1
        assert compute(name, a, b, f, profile="liu") == compute(name, a, b, f)
    # Liu's metricYang / metricCvejic average with mean2: the zero patch makes them NaN
    for name in ("Qy", "Qc"):
        with pytest.raises(MetricUndefined, match="Liu's metric"):
            compute(name, a, b, f, profile="liu")
    a, b, f = triple((30, 37), seed=21)
    assert compute("Qy", a, b, f, profile="liu") == compute("Qy", a, b, f, profile="mefb")
    assert compute("Qc", a, b, f, profile="liu") == compute("Qc", a, b, f, profile="mefb")


def test_qy_lambda_on_windows_where_both_sources_are_constant():
    """MATLAB's filter2 leaves rounding noise, not 0, as the variance of a constant non-zero
    window: lambda is 1/2 where both sources are the same constant and 0 or 1 where one of them
    is 0 (a window of zeros has exactly 0 variance, as here). The literal oracle (direct
    convolution, as Octave's filter2) shows it."""
    a, b, f = triple((40, 46), seed=25)
    a[:14, :14] = b[:14, :14] = 255.0   # equal constants: lambda 1/2
    a[20:34, :14], b[20:34, :14] = 255.0, 0.0  # 255 vs 0: lambda 1
    a[:14, 25:39], b[:14, 25:39] = 0.0, 254.0  # 0 vs 254: lambda 0
    a[25:, 30:] = b[25:, 30:] = 0.0      # zeros in both: 0/0, dropped (NaN under liu)
    want = oracle_qy(a, b, f)
    got = compute("Qy", a, b, f, profile="mefb")
    assert got == pytest.approx(want, rel=1e-9)
    assert compute("Qy", a, b, f, profile="mefb", flat_lambda="drop") != pytest.approx(
        want, rel=1e-4)
    with pytest.raises(MetricUndefined, match="both sources are 0"):
        compute("Qy", a, b, f, profile="liu")
    # two different non-zero constants: MATLAB's lambda is a ratio of rounding noise; dropped
    c = np.full((30, 30), 100.0)
    with pytest.raises(MetricUndefined, match="constant"):
        compute("Qy", c, c + 50, triple((30, 30))[2])
    with pytest.raises(ValueError, match="flat_lambda"):
        compute("Qy", a, b, f, flat_lambda="half")


def test_qw_mefb_is_the_weighted_index_of_edge_maps():
    from bench.metrics.ssim_fusion import _edge_magnitude
    a, b, f = triple((40, 44), seed=22)
    edges = [_edge_magnitude(x) for x in (a, b, f)]
    prewitt = np.array([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]])
    gx = filter2(prewitt, a, "same")
    gy = filter2(prewitt.T, a, "same")
    assert np.allclose(edges[0], np.sqrt(gx * gx + gy * gy), atol=1e-12)
    assert compute("Qw", a, b, f, profile="mefb") == pytest.approx(oracle_qw(*edges), rel=1e-10)
    assert compute("Qw", a, b, f, profile="mefb") != compute("Qw", a, b, f)


def test_q_indices_identity_and_symmetry():
    a, b, f = triple((40, 40), seed=23)
    for name in ("Qy", "Qc", "Qw", "Qs"):
        assert compute(name, a, a, a) == pytest.approx(1.0, abs=1e-12), name
    assert compute("Qs", a, b, f) == pytest.approx(compute("Qs", b, a, f), rel=1e-12)
    # constant sources: every window weight c(w) is 1/2 (the +0.5 rule), so Qs and Qw coincide
    c = np.full_like(a, 90.0)
    assert compute("Qs", c, c + 20, f) == pytest.approx(compute("Qw", c, c + 20, f), rel=1e-12)
    assert compute("Qs", a, b, f) != pytest.approx(compute("Qw", a, b, f), rel=1e-3)
    assert compute("Qy", a, b, f) == pytest.approx(compute("Qy", b, a, f), rel=1e-12)
    # Qc is not symmetric: where the covariances with F have opposite signs, mu < 0 scores 0 and
    # mu > 1 scores 1, and swapping the sources swaps those two cases (as in Liu's code)
    assert compute("Qc", a, b, f) != pytest.approx(compute("Qc", b, a, f), rel=1e-6)
    assert compute("Qw", a, b, f) == pytest.approx(compute("Qw", b, a, f), rel=1e-12)


def test_mefb_red_channel_rule():
    a, b, f = triple((32, 32), seed=24)
    fc = np.dstack([f, a, b])
    for name in ("Qy", "Qc", "Qw", "VIFF"):
        if name == "VIFF":
            a2, b2, f2 = (np.kron(x, np.ones((2, 2))) for x in (a, b, f))
            fc2 = np.dstack([f2, a2, b2])
            assert compute(name, a2, b2, fc2, profile="mefb") == compute(name, a2, b2, f2,
                                                                         profile="mefb")
            continue
        # grey sources, colour F: MEFB scores F's red channel only
        assert compute(name, a, b, fc, profile="mefb") == compute(name, a, b, f, profile="mefb")


def test_shared_scores_are_reused_only_for_the_same_read_only_planes():
    from bench.metrics import compute_many
    from bench.metrics.mef_ssim import mef_ssim_level
    a, b, f = triple((64, 64), seed=50)
    names = ["SSIM", "MS_SSIM", "Qs", "Qw"]
    vals, errors = compute_many(names, a, b, f, profile="tang")
    assert not errors
    for name in names:  # Tang's SSIM is MS_SSIM's first scale; Qs and Qw share their maps
        assert vals[name] == compute(name, a, b, f, profile="tang"), name
    # writable arrays are never memoised: a changed plane gives a new score
    seq = [a.copy(), b.copy()]
    before = mef_ssim_level(seq, f)
    seq[0][:20] = 0.0
    assert mef_ssim_level(seq, f) != before
    # read-only planes: the same objects give the stored score, other objects their own
    ro = [x.copy() for x in (a, b, f)]
    for x in ro:
        x.flags.writeable = False
    first = mef_ssim_level(ro[:2], ro[2])
    assert mef_ssim_level(ro[:2], ro[2]) == first == before
    other = [x.copy() for x in (a, b, f)]
    other[2][:20] = 0.0
    for x in other:
        x.flags.writeable = False
    assert mef_ssim_level(other[:2], other[2]) != first


def test_compute_many_shares_work_without_changing_a_bit():
    """compute_many shares window statistics, SSIM maps, 2 x 2 pyramids, normalised planes,
    level maps and joint histograms between metrics (bench.metrics.windows); every value (and
    every failure) equals a separate compute() call's, bit for bit."""
    from bench.metrics import compute_many
    a, b, f = triple((180, 192), seed=61)  # MS-SSIM needs 176 x 176
    a[10:40, 10:50] = 0.0  # constant windows: snapped variances and Qy's flat-lambda rules
    b[20:50, 30:70] = 200.0
    b[100:130, 100:140] = 0.0
    a[100:130, 100:140] = 0.0
    f[60:90, 5:40] = 77.0
    names = ["MEF-SSIM", "MS-SSIM", "SSIM", "Qs", "Qw", "Qc", "Qy", "VIF", "VIFF", "Labf",
             "Nabf", "Qabf", "Qcb", "Qcv", "NMI", "QNCIE", "TE", "TE_nava", "MI", "EN", "CE",
             "MSE", "RMSE", "PSNR", "Qsf", "CC", "SCD"]
    for profile in ("default", "liu", "mefb", "tang"):
        vals, errors = compute_many(names, a, b, f, profile=profile)
        for name in names:
            if name in errors:
                with pytest.raises(ValueError):
                    compute(name, a, b, f, profile=profile)
            else:
                assert vals[name] == compute(name, a, b, f, profile=profile), (profile, name)


def test_mef_ssim_two_source_passes_equal_the_general_ones():
    from bench.metrics.mef_ssim import _mef_ssim_level
    a, b, f = triple((40, 52), seed=62)
    b[:15, :20] = 77.0
    a[25:, 30:] = 0.0
    f[:5] = 0.0
    for k in (0.03, 1e-6):
        assert _mef_ssim_level([a, b], f, k) == _mef_ssim_level([a, b], f, k, generic=True)


# ------------------------------------------------------------------------------------------------
# reference-based metrics
# ------------------------------------------------------------------------------------------------

def test_reference_metrics_known_values():
    gt = smooth((32, 40), 30)
    f = gt + 1.0
    want = 20 * math.log10(255)  # MSE = 1
    assert compute("PSNR_gt", None, None, f, gt=gt) == pytest.approx(want, rel=1e-12)
    assert compute("MAE_gt", None, None, f, gt=gt) == pytest.approx(1.0)
    assert compute("SSIM_gt", None, None, gt, gt=gt) == pytest.approx(1.0, abs=1e-12)
    want = oracle_ssim_index(f, gt)[0].mean()
    assert compute("SSIM_gt", None, None, f, gt=gt) == pytest.approx(want, rel=1e-11)
    with pytest.raises(MetricUndefined, match="infinite"):
        compute("PSNR_gt", None, None, gt, gt=gt)
    with pytest.raises(ValueError, match="ground-truth"):
        compute("PSNR_gt", None, None, f)


# ------------------------------------------------------------------------------------------------
# edge cases: a finite value or a clear error, never a crash or a NaN
# ------------------------------------------------------------------------------------------------

STRUCTURAL = [("SSIM", p) for p in ("default", "vifb", "tang", "cddfuse")] + [
    ("MS-SSIM", "default"), ("MEF-SSIM", "default"), ("MEF-SSIM", "tang"), ("MEF-SSIM", "mefb"),
    ("Qy", "mefb"), ("Qc", "mefb"), ("Qw", "default"), ("Qw", "mefb"), ("Qs", "default"),
    ("Qy", "liu"), ("Qc", "liu"), ("Qw", "liu"), ("Qs", "liu"),
    ("PSNR_gt", "default"), ("SSIM_gt", "default"), ("MAE_gt", "default")]


def edge_cases():
    a, b, f = triple((60, 70), seed=31)
    const = np.full((60, 70), 128.0)
    binary = np.where(a > 127, 255.0, 0.0)
    near_binary = np.where(b > 127, 254.0, 1.0)
    small = [x[:16, :16] for x in (a, b, f)]
    odd = triple((197, 181), seed=32)
    return {
        "constant": (const, const, const),
        "constant-sources": (const, const + 20, f),
        "near-binary": (binary, near_binary, np.round((binary + near_binary) / 2)),
        "16x16": tuple(small),
        "odd-size": odd,
        "zero-fused": (a, b, np.zeros_like(f)),
    }


# (metric, profile, case) -> expected: "value" or an error-message fragment
EXPECTED_ERRORS = {
    ("MS-SSIM", "16x16"): "at least 176",
    ("MS-SSIM", "constant"): "at least 176",
    ("MS-SSIM", "constant-sources"): "at least 176",
    ("MS-SSIM", "near-binary"): "at least 176",
    ("MS-SSIM", "zero-fused"): "at least 176",
    ("MEF-SSIM", "16x16"): "at least 44",
    ("Qy", "constant-sources"): "not defined",
    ("Qc", "constant"): "not defined",
    ("Qc", "constant-sources"): "not defined",
    ("Qc", "zero-fused"): "not defined",
    ("PSNR_gt", "constant"): "infinite",
}


@pytest.mark.parametrize("metric,profile", STRUCTURAL)
def test_edge_cases_give_a_value_or_a_clear_error(metric, profile):
    for case, (a, b, f) in edge_cases().items():
        gt = a  # reference metrics: the first source as ground truth
        want = EXPECTED_ERRORS.get((metric, case, profile), EXPECTED_ERRORS.get((metric, case)))
        if want is None:
            v = compute(metric, a, b, f, profile=profile, gt=gt)
            assert isinstance(v, float) and math.isfinite(v), (metric, profile, case, v)
        else:
            with pytest.raises(ValueError, match=want):
                compute(metric, a, b, f, profile=profile, gt=gt)


def test_undefined_is_a_metric_undefined():
    c = np.full((30, 30), 9.0)
    with pytest.raises(MetricUndefined, match="sources are constant"):
        compute("Qy", c, c + 1, c)
    assert compute("Qy", c, c, c) == 1.0  # equal constants: lambda 1/2, every SSIM 1
    with pytest.raises(MetricUndefined, match="no covariance"):
        compute("Qc", *triple((30, 30))[:2], np.zeros((30, 30)))


def test_metrics_are_registered_with_documentation():
    from bench.registry import METRICS
    for name in ("SSIM", "MS-SSIM", "MEF-SSIM", "Qy", "Qc", "Qw", "Qs", "PSNR_gt", "SSIM_gt",
                 "MAE_gt"):
        e = METRICS.get(name)
        assert e.meta["direction"] in ("higher", "lower") and e.obj.__doc__
        assert "default" in e.meta["conventions"]
    assert METRICS.get("mef_ssim").name == "MEF-SSIM"
    assert METRICS.get("metricYang").name == "Qy"
    assert METRICS.get("Q_S").name == "Qs"
    for name in ("Qy", "Qc", "Qw", "Qs"):  # Z. Liu's imageFusionMetrics
        assert "liu" in METRICS.get(name).meta["conventions"], name
    assert METRICS.get("psnr-gt").meta["needs"] == ("gt", "fused")
    assert METRICS.get("MAE_gt").meta["direction"] == "lower"


# ------------------------------------------------------------------------------------------------
# calibration against the toolkits' own numbers
# ------------------------------------------------------------------------------------------------

@pytest.mark.shared_data
def test_metrics_md_section_5_4_fight_adf(shared_data):
    from tests.vifb_reference import triple as vifb_triple
    ir, vi, f = vifb_triple(shared_data, "fight", "ADF")
    assert compute("SSIM", vi, ir, f, profile="vifb") == pytest.approx(1.4988, abs=1e-4)
    assert compute("SSIM", ir, vi, f, profile="cddfuse") == pytest.approx(0.954, abs=5e-4)
    assert compute("SSIM", ir, vi, f, profile="cddfuse", data_range=255.0) == pytest.approx(
        1.477, abs=5e-4)
    # METRICS.md's "tang 0.472" is Tang's older, commented-out `ssim` block read as MATLAB ssim
    # with range 1 on 0..255 doubles; that block on im2double images (range [0,1], L = 255 on our
    # planes) gives 0.754. The published code's "SSIM" is single-scale MEF-SSIM.
    assert compute("SSIM", ir, vi, f, profile="tang", variant="tang-ssim-range1") == \
        pytest.approx(0.472, abs=5e-4)
    assert compute("SSIM", ir, vi, f, profile="tang", variant="tang-ssim-im2double") == \
        pytest.approx(0.7544, abs=1e-4)
    assert compute("SSIM", ir, vi, f, profile="tang") == compute("MEF-SSIM", ir, vi, f,
                                                                 profile="tang", levels=1)


@pytest.mark.shared_data
def test_vifb_ssim_all_273_triples(shared_data):
    from tests.vifb_reference import reference_rows, triple as vifb_triple, within_tolerance
    rows = [r for r in reference_rows(shared_data) if r[2] == "Ssim"]
    assert len(rows) == 273
    worst, bad = 0.0, []
    for scene, method, _, stored in rows:
        ir, vi, f = vifb_triple(shared_data, scene, method)
        ours = compute("SSIM", vi, ir, f, profile="vifb")  # VIFB passes VI first
        worst = max(worst, abs(ours - stored) / abs(stored))
        if not within_tolerance(ours, stored):
            bad.append((scene, method, ours, stored))
    print(f"VIFB SSIM: worst relative deviation {worst:.2e} over {len(rows)} triples")
    assert not bad, bad[:5]


def test_ms_ssim_ivif_zoo_options_match_a_torch_oracle():
    """IVIF_ZOO's MS-SSIM: 'valid' Gaussian 11/1.5, avg_pool2d(2, padding=size % 2) between
    scales (zero padding counted), cs and the last SSIM clipped at 0, images x255 with
    data_range 255 (= data_range 1 on 0..255), summed over the sources."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    a, b, f = triple((199, 181), seed=41)
    w1 = torch.tensor(fspecial_gaussian((11, 1), 1.5)[:, 0])

    def gfilt(x):
        x = F.conv2d(x, w1.view(1, 1, 11, 1))
        return F.conv2d(x, w1.view(1, 1, 1, 11))

    def msssim(x, y):
        x = torch.tensor(x * 255.0)[None, None]
        y = torch.tensor(y * 255.0)[None, None]
        weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        out = 1.0
        for level, wt in enumerate(weights):
            mx, my = gfilt(x), gfilt(y)
            vx, vy = gfilt(x * x) - mx * mx, gfilt(y * y) - my * my
            cxy = gfilt(x * y) - mx * my
            cs = (2 * cxy + c2) / (vx + vy + c2)
            if level < len(weights) - 1:
                out *= max(float(cs.mean()), 0.0) ** wt
                pad = [s % 2 for s in x.shape[2:]]
                x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
            else:
                lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
                out *= max(float((lum * cs).mean()), 0.0) ** wt
        return out

    want = msssim(f, a) + msssim(f, b)
    got = compute("MS-SSIM", a, b, f, aggregate="sum", data_range=1.0, downsample="avgpool",
                  nonnegative=True)
    assert got == pytest.approx(want, rel=1e-9)
