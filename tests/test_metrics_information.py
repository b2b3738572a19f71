"""Information-theoretic metrics: EN, CE, MI, NMI, QNCIE, TE, TE_nava and
FMI_{pixel,edge,gradient,dct,w}.

Checked against
- closed-form values on small hand-computable arrays and identities (F = A = B, symmetry);
- a plain per-window loop written from the behaviour of analysis_fmi.m / metricsFMI.m (the
  vectorised FMI must agree to 1e-12 with its float64 path, and to 1e-6 per window with the
  float32 joint-entropy terms it uses by default);
- VIFB's stored MATLAB values for CE, EN and MI (all 13 methods x 21 scenes, profile vifb);
- GNU Octave running the reference code (tests/fixtures/metric_reference/values.json, written by
  the reference run; used here only where present): VIFB, MEFB, Tang's published toolkit and
  Z. Liu's imageFusionMetrics (TE_nava);
- the edge cases of the metrics contract (constant, near-binary, 16 x 16, odd-sized, all-zero F).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.metric_inputs import metric_triple, smooth
from bench.metrics import MetricUndefined, compute, conventions
from bench.metrics import fmi, fmi_features
from bench.metrics import information as info
from bench.metrics.profiles import PROFILES

LN2 = math.log(2.0)
INFO_METRICS = ["EN", "CE", "MI", "NMI", "QNCIE", "TE", "TE_nava", "FMI_pixel", "FMI_edge",
                "FMI_gradient", "FMI_dct", "FMI_w"]


def triple(shape=(48, 64), seed=0):
    return metric_triple(shape, seed)


def two_levels(shape=(8, 8)):
    """Half the pixels 0, half 255 (columns): every entropy is exactly 1 bit."""
    x = np.zeros(shape)
    x[:, shape[1] // 2:] = 255.0
    return x


# ------------------------------------------------------------------------------------------------
# registration, aliases, conventions
# ------------------------------------------------------------------------------------------------

def test_registered_with_metadata_and_aliases():
    from bench.registry import METRICS
    for name in INFO_METRICS:
        e = METRICS.get(name)
        assert e.meta["family"] == "information" and e.meta["description"]
        assert "default" in e.meta["conventions"]
        assert e.obj.__doc__ and len(e.obj.__doc__) > 200, name
    assert METRICS.get("Entropy").name == "EN"
    assert METRICS.get("cross_entropy").name == "CE"
    assert METRICS.get("Mutinf").name == "MI"
    assert METRICS.get("qncie").name == "QNCIE"
    assert METRICS.get("fmi").name == "FMI_edge"
    assert METRICS.get("CE").meta["direction"] == "lower"
    assert METRICS.get("EN").meta["needs"] == ("fused",)
    assert METRICS.get("nava").name == "TE_nava"
    for name in ("CE", "MI", "NMI", "QNCIE", "TE", "TE_nava", "FMI_edge"):
        assert METRICS.get(name).meta["needs"] == ("sources", "fused")


def test_toolkit_metric_sets_are_covered():
    for prof, names in (("vifb", ["CE", "EN", "MI"]), ("mefb", ["CE", "EN", "FMI_edge", "NMI",
                        "QNCIE", "TE"]), ("tang", ["EN", "MI", "FMI_pixel", "FMI_dct", "FMI_w"]),
                        ("cddfuse", ["EN", "MI"]), ("liu", ["NMI", "QNCIE", "TE", "TE_nava"])):
        for name in names:
            assert name in PROFILES[prof].metrics
            from bench.registry import METRICS
            assert prof in METRICS.get(name).meta["conventions"], (prof, name)
    assert conventions("MI", "vifb")["base"] == "e"
    assert conventions("FMI_pixel", "tang")["feature"] == "edge"
    # Tang's analysis_Reference.m hands analysis_fmi the im2double images
    for name in ("FMI_pixel", "FMI_edge", "FMI_dct", "FMI_w"):
        assert conventions(name, "tang")["input_scale"] == pytest.approx(1 / 255)
    # Liu's metricMI / metricWang are the code MEFB copied (grey images: no channel rule)
    for name in ("NMI", "QNCIE", "TE"):
        want = {k: v for k, v in conventions(name, "mefb").items() if k != "_colour"}
        assert conventions(name, "liu") == want
    assert conventions("TE_nava", "liu") == {"transposed_marginals": True, "constant": "error"}
    # MEFB's name FMI is the edge feature
    a, b, f = triple((24, 32))
    assert compute("FMI", a, b, f, profile="mefb") == compute("FMI_edge", a, b, f, profile="mefb")


# ------------------------------------------------------------------------------------------------
# EN, CE
# ------------------------------------------------------------------------------------------------

def test_entropy_known_values():
    z = np.zeros((8, 8))
    assert compute("EN", z, z, two_levels()) == pytest.approx(1.0, abs=1e-15)
    assert compute("EN", z, z, np.full((8, 8), 77.0)) == 0.0
    ramp = np.arange(256.0).reshape(16, 16)
    assert compute("EN", ramp, ramp, ramp) == pytest.approx(8.0, abs=1e-12)
    # four levels with p = 1/2, 1/4, 1/8, 1/8 -> 1.75 bits
    f = np.array([0] * 4 + [1] * 2 + [2] + [3], dtype=float).reshape(2, 4)
    assert compute("EN", f, f, f) == pytest.approx(1.75, abs=1e-15)
    assert compute("EN", f, f, f, base=math.e) == pytest.approx(1.75 * LN2, abs=1e-15)


def test_entropy_binning_rules():
    f = np.array([[10.4, 10.6], [11.5, 12.5]])
    # rint: 10, 11, 12, 12 ; floor: 10, 10, 11, 12
    assert compute("EN", f, f, f) == pytest.approx(1.5)
    assert compute("EN", f, f, f, profile="vifb") == pytest.approx(1.5)  # 10,10,11,12 -> 1.5 too
    g = np.array([[0.2, 0.7], [0.2, 0.7]])
    assert compute("EN", g, g, g) == pytest.approx(1.0)  # rint: 0, 1
    assert compute("EN", g, g, g, profile="vifb") == 0.0  # floor: all 0


def test_cross_entropy_known_values_and_identity():
    a, b, f = triple((24, 32))
    assert compute("CE", f, f, f) == 0.0
    # sources all level 0 / F half 0 half 255: D(P_A || P_F) = 1 * log2(1 / 0.5) = 1 bit each
    z = np.zeros((8, 8))
    assert compute("CE", z, z, two_levels()) == pytest.approx(1.0)
    # bins empty in F are skipped, as in the reference (finite, and here even negative):
    # only bin 0 counts, 0.5 log2(0.5 / 1) = -0.5
    assert compute("CE", two_levels(), two_levels(), z) == pytest.approx(-0.5)
    assert compute("CE", a, b, f) == pytest.approx(compute("CE", b, a, f))  # symmetric in sources


# ------------------------------------------------------------------------------------------------
# MI, NMI, QNCIE, TE
# ------------------------------------------------------------------------------------------------

def test_mutual_information_units_and_profiles():
    x = two_levels()
    # F = A = B with two equiprobable levels: MI(A,F) = MI(B,F) = H = 1 bit
    assert compute("MI", x, x, x) == pytest.approx(2.0)
    assert compute("MI", x, x, x, profile="tang") == pytest.approx(2.0)
    assert compute("MI", x, x, x, profile="cddfuse") == pytest.approx(2 * LN2)
    assert compute("MI", x, x, x, profile="vifb") == pytest.approx(2 * LN2)
    # independent source: MI = 0
    y = x.T.copy()
    assert compute("MI", y, y, x) == pytest.approx(0.0, abs=1e-15)
    c = np.full((8, 8), 9.0)
    assert compute("MI", c, c, c) == 0.0


def test_mi_tang_is_cddfuse_over_ln2_on_grey_inputs():
    a, b, f = triple((40, 50), seed=3)
    a, b, f = (np.clip(x, 0, 253) for x in (a, b, f))  # Tang's Hab merges levels 254/255
    tang = compute("MI", a, b, f, profile="tang")
    cdd = compute("MI", a, b, f, profile="cddfuse")
    assert tang == pytest.approx(cdd / LN2, rel=1e-12)
    assert compute("MI", a, b, f) == pytest.approx(tang, rel=1e-12)  # default: bits, raw levels


def test_mi_tang_uint8_saturation_merges_254_and_255_in_the_joint_histogram():
    # F takes levels 254 and 255 in equal parts, A copies F, B is constant: the joint histograms
    # of Hab.m cannot tell 254 from 255 (uint8 255 + 1 = 255), so H(A,F) = H(B,F) = 0 while
    # H(A) = H(F) = 1: MI(A,F) = 2 and MI(B,F) = 1 bit instead of 1 and 0.
    f = np.full((4, 4), 254.0)
    f[:, 2:] = 255.0
    a, b = f.copy(), np.zeros((4, 4))
    assert compute("MI", a, b, f) == pytest.approx(1.0)
    assert compute("MI", a, b, f, profile="tang") == pytest.approx(3.0)


def test_vifb_mi_min_max_normalisation_keeps_integer_levels_distinct():
    # VIFB stretches each image to 0..255 before its histogram; on integer images the stretch
    # maps distinct levels to distinct levels, and MI does not depend on the labels: VIFB's MI
    # equals CDDFuse's (both nats) on grey integer input.
    a, b, f = triple((24, 32), seed=4)
    squeezed = [np.round(20 + x * 0.5) for x in (a, b, f)]
    assert compute("MI", *squeezed, profile="vifb") == pytest.approx(
        compute("MI", *squeezed, profile="cddfuse"), rel=1e-12)
    assert info._vifb_mutinf_levels(squeezed[0]).max() == 255


def test_normalize1():
    x = np.array([[10.0, 20.0], [30.0, 12.5]])
    assert info.normalize1(x).tolist() == [[0, 128], [255, 32]]  # 127.5 rounds up (MATLAB)
    assert info.normalize1(np.zeros((2, 2))).tolist() == [[0, 0], [0, 0]]
    assert info.normalize1(np.full((2, 2), 7.0)).tolist() == [[0, 0], [0, 0]]
    with pytest.raises(MetricUndefined, match="normalize1.*constant image"):
        info.normalize1(np.full((2, 2), 7.0), constant="error")


def test_nmi_identities():
    x = two_levels()
    assert compute("NMI", x, x, x) == pytest.approx(2.0)  # 2 (H/(2H) + H/(2H))
    a, b, f = triple((32, 40), seed=5)
    assert 0 < compute("NMI", a, b, f) < 4
    assert compute("NMI", a, b, f) == pytest.approx(compute("NMI", b, a, f))
    assert compute("NMI", a, b, f, profile="mefb") == compute("NMI", a, b, f)  # grey: same


def test_qncie_closed_form():
    # F = A = B with two equiprobable levels: NCC = 1/8 everywhere, eigenvalues 1.25, .875, .875
    x = two_levels()
    r = np.array([1.25, 0.875, 0.875])
    want = 1 + float((r / 3 * np.log2(r / 3)).sum()) / 8
    assert compute("QNCIE", x, x, x) == pytest.approx(want, rel=1e-12)
    # independent images: R = I, QNCIE = 1 - log2(3)/8
    y = x.T.copy()
    assert compute("QNCIE", np.zeros((8, 8)) + 5, y, x) == pytest.approx(1 - math.log2(3) / 8)


def test_tsallis_closed_form_and_mefb_transposed_marginals():
    q = 1.85
    x = two_levels()
    one = (1 - 2 ** (q - 1)) / (1 - q)  # I_q of a variable with itself, two equiprobable levels
    assert compute("TE", x, x, x) == pytest.approx(2 * one, rel=1e-12)
    assert compute("TE", x, x, x, profile="mefb") == pytest.approx(2 * one, rel=1e-12)
    # unequal marginals: P(A=0)=3/4, F copies A; tsallis.m divides h(i,j) by p_F(i) p_A(j)
    a = np.zeros((4, 4))
    a[:, 3] = 255.0
    f = a.copy()
    p0, p1 = 0.75, 0.25
    right = (1 - (p0 ** q / (p0 * p0) ** (q - 1) + p1 ** q / (p1 * p1) ** (q - 1))) / (1 - q)
    assert compute("TE", a, a, f) == pytest.approx(2 * right, rel=1e-12)
    # transposed: the diagonal cells still pair p_i with p_i here, so build an asymmetric case
    f2 = np.zeros((4, 4))
    f2[:2, :] = 255.0  # P(F=255) = 1/2, and the joint with A is not symmetric
    d = compute("TE", a, a, f2)
    m = compute("TE", a, a, f2, profile="mefb")
    assert d != pytest.approx(m)
    h = info.joint_histogram(info.normalize1(a), info.normalize1(f2))
    px, py = h.sum(axis=1), h.sum(axis=0)
    buff = np.outer(py, px)
    keep = buff > 0
    want = 2 * (1 - (h[keep] ** q / buff[keep] ** (q - 1)).sum()) / (1 - q)
    assert m == pytest.approx(want, rel=1e-12)


def test_te_nava_closed_form_and_liu_convention():
    q = 0.43137
    x = two_levels()
    one = (1 - 2 ** (q - 1)) / (1 - q)  # I_q of a variable with itself, two equiprobable levels
    # F = A = B: (I + I) / (H^q + H^q + I), H = 1 bit
    want = 2 * one / (2.0 + one)
    assert compute("TE_nava", x, x, x) == pytest.approx(want, rel=1e-12)
    assert compute("TE_nava", x, x, x, profile="liu") == pytest.approx(want, rel=1e-12)
    # independent sources, F copies A: I_q(B, F) = I_q(A, B) = 0
    y = x.T.copy()
    assert compute("TE_nava", x, y, x) == pytest.approx(one / 2.0, rel=1e-12)
    a, b, f = triple((32, 40), seed=9)
    assert compute("TE_nava", a, b, f) == pytest.approx(compute("TE_nava", b, a, f), rel=1e-12)
    # liu: tsallis.m's transposed marginals, as in MEFB's TE
    h = [info.joint_histogram(info.normalize1(s), info.normalize1(t))
         for s, t in ((a, f), (b, f), (a, b))]

    def tq(hh):
        px, py = hh.sum(axis=1), hh.sum(axis=0)
        buff = np.outer(py, px)
        keep = buff > 0
        return (1 - (hh[keep] ** q / buff[keep] ** (q - 1)).sum()) / (1 - q)

    pa, pb = h[2].sum(axis=1), h[2].sum(axis=0)
    ha = -(pa[pa > 0] * np.log2(pa[pa > 0])).sum()
    hb = -(pb[pb > 0] * np.log2(pb[pb > 0])).sum()
    want = (tq(h[0]) + tq(h[1])) / (ha ** q + hb ** q + tq(h[2]))
    assert compute("TE_nava", a, b, f, profile="liu") == pytest.approx(want, rel=1e-12)
    assert compute("TE_nava", a, b, f, profile="liu") != pytest.approx(compute("TE_nava", a, b, f))
    # both sources constant: the normaliser is 0
    c = np.full((8, 8), 3.0)
    with pytest.raises(MetricUndefined, match="normaliser"):
        compute("TE_nava", c, c, x)
    with pytest.raises(MetricUndefined, match="normalize1"):
        compute("TE_nava", c, y, x, profile="liu")


def test_qncie_negative_eigenvalue_is_a_clear_error(monkeypatch):
    a, b, f = triple((8, 8))
    # NCC_AB = 0, NCC_AF = NCC_BF = 0.95: R is indefinite (det < 0)
    calls = iter([0.0, 0.95, 0.95])
    monkeypatch.setattr(info, "_ncc", lambda x, y: next(calls))
    with pytest.raises(MetricUndefined, match="negative eigenvalue"):
        compute("QNCIE", a, b, f)


# ------------------------------------------------------------------------------------------------
# FMI
# ------------------------------------------------------------------------------------------------

def _naive_pair(a_sub, f_sub):
    """One window pair as analysis_fmi.m / metricsFMI.m compute it (written from its behaviour:
    scalar loops, MATLAB's column-major order, left-to-right sums) -> (fmi, f_sub as left)."""
    if np.all(a_sub == f_sub):
        return 1.0, f_sub

    def norm(s):
        lo, hi = s.min(), s.max()
        return np.ones_like(s) if hi == lo else (s - lo) / (hi - lo)

    a_n, f_n = norm(a_sub), norm(f_sub)

    def pdf(s):
        total = 0.0
        for c in range(s.shape[1]):
            col = 0.0
            for r in range(s.shape[0]):
                col += s[r, c]
            total += col
        return s.T.ravel() / total

    ap, fp = pdf(a_n), pdf(f_n)
    n = len(ap)
    ac, fc = np.cumsum(ap), np.cumsum(fp)

    def seq(v):
        s = 0.0
        for x in v:
            s += x
        return s

    at, ft = ap - seq(ap) / n, fp - seq(fp) / n
    num = seq(at * ft)
    c = 0.0 if num == 0 else num / math.sqrt(seq(at * at) * seq(ft * ft))
    ea = e2a = ef = e2f = 0.0
    for i in range(1, n + 1):
        ea += i * ap[i - 1]
        e2a += i * i * ap[i - 1]
        ef += i * fp[i - 1]
        e2f += i * i * fp[i - 1]
    sa, sf = math.sqrt(max(e2a - ea * ea, 0)), math.sqrt(max(e2f - ef * ef, 0))
    upper = c >= 0

    def bound(i, j):
        if i < 0 or j < 0:
            return 0.0
        if upper:
            return 0.5 * (fc[i] + ac[j] - abs(fc[i] - ac[j]))
        return 0.5 * (fc[i] + ac[j] - 1 + abs(fc[i] + ac[j] - 1))

    if (upper and (c == 0 or sa == 0 or sf == 0)) or (not upper and (sa == 0 or sf == 0)):
        w = 0.0
    else:
        cov = 0.0
        for i in range(n):
            for j in range(n):
                cov += bound(i, j) - fc[i] * ac[j]
        w = c / (cov / (sf * sa))

    def g(x):
        return 0.0 if x == 0 else -x * math.log2(abs(x))

    hj = 0.0
    for i in range(n):
        for j in range(n):
            u = bound(i, j) - bound(i - 1, j) - bound(i, j - 1) + bound(i - 1, j - 1)
            hj += g(w * u + (1 - w) * fp[i] * ap[j])
    ha, hf = sum(g(x) for x in ap), sum(g(x) for x in fp)
    mi = ha + hf - hj
    return (0.0 if mi == 0 else 2 * mi / (ha + hf)), f_n


def naive_fmi_windows(fa, fb, ff, reuse, positions):
    """Per-window (FMI_AF + FMI_BF) / 2 of the reference's loop at the given window centres."""
    out = []
    for p, q in positions:
        win = (slice(p - 1, p + 2), slice(q - 1, q + 2))
        v1, f_left = _naive_pair(fa[win], ff[win])
        v2, _ = _naive_pair(fb[win], f_left if reuse else ff[win])
        out.append((v1 + v2) / 2)
    return np.array(out)


@pytest.mark.parametrize("exact", [True, False], ids=["float64", "float32-cells"])
@pytest.mark.parametrize("feature", ["none", "edge", "gradient", "dct", "wavelet"])
def test_vectorised_fmi_equals_the_per_window_loop(feature, exact, monkeypatch):
    # exact: every window through the float64 path (as for |phi| > _F32_MAX_PHI); otherwise the
    # default float32 joint-entropy cell terms (1e-6 per window)
    if exact:
        monkeypatch.setattr(fmi, "_F32_MAX_PHI", -1.0)
    tol = 1e-12 if exact else 1e-6
    rng = np.random.default_rng(11)
    for k in range(3):
        a = np.round(rng.random((9, 11)) * 255)
        b = np.round(rng.random((9, 11)) * 255)
        f = np.where(rng.random((9, 11)) < 0.5, a, b)  # shares windows with both sources
        if k == 1:
            a, b = np.round(a / 85) * 85, np.round(b / 85) * 85  # few levels: ties, flat windows
            f = np.round((a + b) / 2)
        if k == 2:
            f[:4, :5] = 0  # a flat patch in F
        fa, fb, ff = (fmi_features.fmi_feature(x, feature) for x in (a, b, f))
        rows, cols = ff.shape[0] - 2, ff.shape[1] - 2
        every = [(p, q) for p in range(1, rows + 1) for q in range(1, cols + 1)]
        pick = every if len(every) <= 120 else [every[i] for i in
                                               rng.choice(len(every), 120, replace=False)]
        flat = [(p - 1) * cols + (q - 1) for p, q in pick]
        for reuse in (True, False):
            af, bf = fmi._fmi_windows(fmi._windows(fa, 3), fmi._windows(fb, 3),
                                      fmi._windows(ff, 3), reuse)
            got = ((af + bf) / 2)[flat]
            want = naive_fmi_windows(fa, fb, ff, reuse, pick)
            assert np.allclose(got, want, rtol=0, atol=tol), (feature, k, reuse)
            if feature != "edge":  # the compiled window loop
                from bench.metrics._fmi_numba import fmi_window_map
                # every window through its float64 path: rounding-level agreement
                kernel = fmi_window_map(fa, fb, ff, 3, reuse, -1.0).ravel()
                assert np.allclose(kernel[flat], want, rtol=0, atol=1e-12), (feature, k, reuse)
                # the float32 kernel (|phi| <= 4): ~1e-6 typical, 2.3e-5 the largest seen per
                # window on 480 x 640 images
                kernel = fmi_window_map(fa, fb, ff, 3, reuse, 4.0).ravel()
                assert np.allclose(kernel[flat], want, rtol=0, atol=5e-5), (feature, k, reuse)
            total = fmi.fmi(a, b, f, feature=feature, reuse_normalised_f=reuse)
            # exact: the kernel (all float64) and the edge path's float64 cells agree to
            # rounding; otherwise the float32 kernel and float32 cell terms, to 5e-5 per window
            assert total == pytest.approx(float(((af + bf) / 2).mean()),
                                          abs=1e-12 if exact else 5e-5)


def test_fmi_pair9_kernel_is_the_generator_output():
    # bench/metrics/_fmi_pair9.py is generated (straight-line code): it must be up to date
    from pathlib import Path
    from bench.metrics import _fmi_gen
    path = Path(_fmi_gen.__file__).with_name("_fmi_pair9.py")
    assert path.read_text() == _fmi_gen.generate()
    # numba's disk cache of fmi_window_map is keyed on _fmi_numba.py only: its fingerprint of
    # the kernel makes a regenerated kernel invalidate that cache
    import hashlib
    from bench.metrics import _fmi_numba
    assert _fmi_numba.PAIR9_SHA256 == hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_dwt2_symmetric_equals_pywavelets():
    import pywt
    rng = np.random.default_rng(5)
    for w in (fmi_features.matlab_dmey(), pywt.Wavelet("dmey"), pywt.Wavelet("db2"),
              pywt.Wavelet("haar")):  # haar: 2 taps, the one-row path of the kernel
        for shape in ((37, 23), (5, 130), (64, 48)):
            x = rng.random(shape) * 255
            want = pywt.dwt2(x, w, mode="symmetric")
            got = fmi_features.dwt2_symmetric(x, w)
            for g, r in zip((got[0], *got[1]), (want[0], *want[1])):
                assert g.shape == r.shape
                assert np.allclose(g, r, rtol=0, atol=1e-13 * np.abs(want[0]).max())


def test_fmi_binary_pattern_path_equals_the_window_path():
    a, b, f = triple((30, 40), seed=7)
    fa, fb, ff = (fmi_features.fmi_feature(x, "edge") for x in (a, b, f))
    for reuse in (True, False):
        fast = fmi._fmi_binary(fa, fb, ff, 3, reuse)
        af, bf = fmi._fmi_windows(fmi._windows(fa, 3), fmi._windows(fb, 3),
                                  fmi._windows(ff, 3), reuse)
        assert fast == pytest.approx((af.sum() + bf.sum()) / (2 * len(af)), abs=1e-13)


def test_fmi_binary_pattern_path_other_window_sizes():
    # 2 x 2 windows go through the same pattern keys (bincount), 4 x 4 through np.unique
    a, b, f = triple((20, 24), seed=9)
    fa, fb, ff = (fmi_features.fmi_feature(x, "edge") for x in (a, b, f))
    for w in (2, 4):
        fast = fmi._fmi_binary(fa, fb, ff, w, True)
        af, bf = fmi._fmi_windows(fmi._windows(fa, w), fmi._windows(fb, w),
                                  fmi._windows(ff, w), True)
        assert fast == pytest.approx((af.sum() + bf.sum()) / (2 * len(af)), abs=1e-13)


def test_fmi_accepts_a_mix_of_read_only_and_writable_planes():
    # shared colour planes are read-only, fresh features writable: a mix once made the
    # compiled kernel fail to type (numba: enumerate over a tuple of differing array types)
    a, b, f = triple((24, 32), seed=10)
    a = np.array(a)
    a.flags.writeable = False
    for feature in ("none", "gradient", "edge"):
        assert fmi.fmi(a, b, f, feature=feature) == fmi.fmi(np.array(a), b, f, feature=feature)


def test_fmi_identities_and_names():
    a, b, f = triple((24, 32), seed=8)
    for name in ("FMI_pixel", "FMI_edge", "FMI_gradient", "FMI_dct", "FMI_w"):
        assert compute(name, f, f, f) == 1.0  # every window identical
        v = compute(name, a, b, f)
        assert 0 < v < 1
        assert v == pytest.approx(compute(name, b, a, f), abs=1e-12)
    # Tang's FMI_pixel is edge-based; fusebench's FMI_pixel is the pixel feature
    assert compute("FMI_pixel", a, b, f, profile="tang") == compute("FMI_edge", a, b, f,
                                                                    profile="tang")
    assert compute("FMI_pixel", a, b, f) != pytest.approx(compute("FMI_edge", a, b, f))


def test_fmi_reference_quirk_b_window_equal_to_raw_f():
    # B equals F, A differs. The reference tests `bSub == fSub` against the F window it already
    # normalised in the (A, F) branch, so B == F windows are scored by the algorithm instead of
    # 1; where that window's pdf is a delta (one bright pixel on a flat background) the
    # algorithm gives 0 (sd = 0 -> independent joint pdf -> MI = 0).
    f = np.full((13, 13), 40.0)
    f[2::4, 2::4] = 200.0  # isolated bright pixels
    a = smooth((13, 13), 3)
    fixed = compute("FMI_pixel", a, f, f)
    quirk = compute("FMI_pixel", a, f, f, reuse_normalised_f=True)
    assert fixed > quirk + 0.1
    fa, fb, ff = (fmi_features.fmi_feature(x, "none") for x in (a, f, f))
    af, bf = fmi._fmi_windows(fmi._windows(fa, 3), fmi._windows(fb, 3),
                              fmi._windows(ff, 3), True)
    assert np.all(bf[(fmi._windows(ff, 3) == 200).sum(axis=0) == 1] == 0.0)
    assert conventions("FMI_dct", "tang")["reuse_normalised_f"] is True
    assert conventions("FMI_dct", "default") == {}


def test_matlab_edge_on_a_step():
    x = np.zeros((6, 10))
    x[:, 5:] = 255.0
    e = fmi_features.matlab_edge_sobel(x)
    assert e[:, 5].all() and e.sum() == 6  # the thinning keeps the right side of the step
    assert not fmi_features.matlab_edge_sobel(np.full((5, 5), 3.0)).any()


def _edge_reference(x):
    """MATLAB edge(I) (Sobel) in NumPy, each filter summed term by term in Octave conv2's order
    (180-degree rotated kernel, column-major; |c| x added or subtracted)."""
    op = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]) / 8.0
    p = np.pad(x, 1, mode="edge")
    h, w = x.shape
    mags = []
    for k in (op.T, op):
        out = None
        for col in (2, 1, 0):
            for row in (2, 1, 0):
                c = k[row, col]
                if c != 0:
                    term = abs(c) * p[row:row + h, col:col + w]
                    out = (term.copy() if c > 0 else -term) if out is None else (
                        out + term if c > 0 else out - term)
        mags.append(np.abs(out))
    bx, by = mags
    b = bx * bx + by * by
    t = np.ones((h, 1), bool), np.ones((1, w), bool)
    b1 = np.hstack([t[0], b[:, :-1] <= b[:, 1:]])
    b2 = np.hstack([b[:, :-1] > b[:, 1:], t[0]])
    b3 = np.vstack([t[1], b[:-1] <= b[1:]])
    b4 = np.vstack([b[:-1] > b[1:], t[1]])
    tol = 100.0 * np.finfo(np.float64).eps
    return (b > 4.0 * b.sum() / b.size) & (((bx >= by - tol) & b1 & b2)
                                            | ((by >= bx - tol) & b3 & b4))


def test_compiled_edge_equals_the_term_ordered_reference():
    rng = np.random.default_rng(4)
    cases = [rng.random((37, 41)) * 255, np.round(rng.random((37, 41)) * 255),
             np.round(rng.random((37, 41)) * 3) / 255,  # im2double ties
             smooth((40, 50), 2) / 255, rng.random((1, 9)), rng.random((9, 1)),
             np.full((5, 5), 3.0)]
    for x in cases:
        got = fmi_features.matlab_edge_sobel(x)
        assert got.dtype == bool and (got == _edge_reference(x)).all(), x.shape


def test_matlab_dmey_filter_bank_and_dwt_layout():
    w = fmi_features.matlab_dmey()
    assert w.dec_len == 102
    assert sum(w.rec_lo) == pytest.approx(math.sqrt(2))
    assert w.dec_lo[-1] == 0.0 and w.rec_lo[0] == 0.0
    feat = fmi_features.fmi_feature(smooth((20, 24), 1), "wavelet")
    assert feat.shape == (2 * ((20 + 101) // 2), 2 * ((24 + 101) // 2))
    assert feat.min() == 0.0 and feat.max() == 1.0


def test_fmi_transform_features_of_constant_images_are_exact():
    c1, c2 = np.full((16, 16), 100.0), np.full((16, 16), 128.0)
    d = fmi_features.fmi_feature(c1, "dct")
    assert d[0, 0] == pytest.approx(1600.0) and np.count_nonzero(d) == 1
    w1, w2 = fmi_features.fmi_feature(c1, "wavelet"), fmi_features.fmi_feature(c2, "wavelet")
    assert np.allclose(w1, w2, rtol=0, atol=1e-12)
    for x in (w1, w2):  # constant blocks: the dmey high-pass sums to ~1e-6, not 0
        assert len(np.unique(x)) == 3
    assert compute("FMI_w", c1, c2, c1, profile="tang") == pytest.approx(1.0)
    assert compute("FMI_w", c1, c2, np.full((16, 16), 77.0)) == pytest.approx(1.0)
    # Octave running analysis_fmi.m: 0.999793217535153 for the constant fixture triple
    assert 0.99 < compute("FMI_dct", c1, c2, np.full((16, 16), 77.0)) <= 1.0


def test_fmi_too_small():
    x = np.zeros((2, 5))
    with pytest.raises(ValueError, match="at least 3 x 3"):
        compute("FMI_edge", x, x, x)


# ------------------------------------------------------------------------------------------------
# cross-profile differences (METRICS.md 5.3)
# ------------------------------------------------------------------------------------------------

def test_profiles_differ_where_the_toolkits_do():
    a, b, f = triple((40, 48), seed=12)
    # MI: bits vs nats
    assert compute("MI", a, b, f, profile="cddfuse") < compute("MI", a, b, f, profile="tang")
    # EN agrees on integer grey input
    assert len({round(compute("EN", a, b, f, profile=p), 12) for p in PROFILES}) == 1
    # TE: MEFB's transposed marginals
    assert compute("TE", a, b, f, profile="mefb") != pytest.approx(compute("TE", a, b, f))
    # colour: VIFB per channel vs BT.601 luma
    vi = np.stack([smooth((32, 40), s) for s in (20, 21, 22)], axis=2)
    ir = smooth((32, 40), 23)
    fc = np.round(0.5 * vi + 0.5 * ir[..., None])
    per_channel = np.mean([compute("EN", vi[..., c], ir, fc[..., c], profile="vifb")
                           for c in range(3)])
    assert compute("EN", vi, ir, fc, profile="vifb") == pytest.approx(per_channel)
    assert compute("EN", vi, ir, fc, profile="vifb") != pytest.approx(compute("EN", vi, ir, fc))


def test_mefb_scores_only_the_red_channel_when_both_sources_are_grey():
    a, b = smooth((24, 32), 30), smooth((24, 32), 31)
    f = np.stack([np.round((a + b) / 2), a, b], axis=2)
    for name in ("EN", "CE", "NMI", "QNCIE", "TE", "FMI_edge"):
        assert compute(name, a, b, f, profile="mefb") == pytest.approx(
            compute(name, a, b, f[..., 0], profile="mefb")), name


def test_vifb_rounds_rgb2gray_of_a_colour_source_when_f_is_grey():
    vi = np.stack([smooth((16, 20), s) for s in (40, 41, 42)], axis=2)
    ir, f = smooth((16, 20), 43), smooth((16, 20), 44)
    from bench.metrics.matlab import rgb2gray
    want = compute("MI", rgb2gray(vi), ir, f, profile="vifb")
    assert compute("MI", vi, ir, f, profile="vifb") == pytest.approx(want)


# ------------------------------------------------------------------------------------------------
# edge cases: a defined value or a clear error
# ------------------------------------------------------------------------------------------------

def _edge_cases():
    rng = np.random.default_rng(5)
    a16, b16, f16 = triple((16, 16), seed=14)
    a_odd, b_odd, f_odd = triple((15, 17), seed=15)
    nb_a = (rng.random((20, 24)) < 0.1) * 255.0  # near-binary
    nb_b = (rng.random((20, 24)) < 0.9) * 1.0
    nb_f = np.maximum(nb_a, nb_b)
    za, zb, _ = triple((20, 24), seed=16)
    return {
        "constant": (np.full((12, 14), 100.0), np.full((12, 14), 128.0), np.full((12, 14), 77.0)),
        "near_binary": (nb_a, nb_b, nb_f),
        "16x16": (a16, b16, f16),
        "odd": (a_odd, b_odd, f_odd),
        "zero_fused": (za, zb, np.zeros((20, 24))),
    }


EDGE = _edge_cases()
# (case, metric, profile) -> expected error message; everything else must be a finite value
NORMALIZE1 = "normalize1 .* divides by zero on a constant image"
EXPECTED_ERRORS = {
    **{("constant", m, "mefb"): NORMALIZE1 for m in ("NMI", "QNCIE", "TE")},
    **{("constant", m, "liu"): NORMALIZE1 for m in ("NMI", "QNCIE", "TE", "TE_nava")},
    **{("constant", "TE_nava", p): "normaliser .* is 0"
       for p in ("default", "vifb", "mefb", "tang", "cddfuse")},
}


@pytest.mark.parametrize("case", sorted(EDGE))
@pytest.mark.parametrize("profile", ["default", "vifb", "mefb", "tang", "cddfuse", "liu"])
def test_edge_cases_give_a_value_or_a_clear_error(case, profile):
    a, b, f = EDGE[case]
    for name in INFO_METRICS:
        want_error = EXPECTED_ERRORS.get((case, name, profile))
        if want_error:
            with pytest.raises(MetricUndefined, match=want_error):
                compute(name, a, b, f, profile=profile)
            continue
        v = compute(name, a, b, f, profile=profile)
        assert math.isfinite(v), (case, name, profile, v)


def test_edge_case_values():
    a, b, f = EDGE["constant"]
    assert compute("EN", a, b, f) == 0.0 and compute("MI", a, b, f) == 0.0
    assert compute("NMI", a, b, f) == 0.0 and compute("TE", a, b, f) == 0.0
    assert compute("QNCIE", a, b, f) == pytest.approx(1 - math.log2(3) / 8)
    assert compute("FMI_pixel", a, b, f) == pytest.approx(1.0)  # two uniform windows: c = 1
    a, b, f = EDGE["zero_fused"]
    assert compute("EN", a, b, f) == 0.0
    assert compute("MI", a, b, f) == pytest.approx(0.0, abs=1e-12)
    assert compute("NMI", a, b, f) == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------------------------------------
# GNU Octave running the reference code (fixture written by the reference run, where present)
# ------------------------------------------------------------------------------------------------

REF = Path(__file__).parent / "fixtures" / "metric_reference"


def _ref_records(metrics, toolkits):
    path = REF / "values.json"
    if not path.is_file():
        return []
    recs = json.loads(path.read_text())
    triples = json.loads((REF / "triples.json").read_text())
    return [r for r in recs if r["metric"] in metrics and r["toolkit"] in toolkits
            and not triples[r["triple"]]["shared_data"] and r["value"] is not None
            and r["trust"] == "exact"]


def _fixture_triple(tid):
    from bench.imageio import read_image
    triples = json.loads((REF / "triples.json").read_text())
    t = triples[tid]
    out = []
    for k in ("a", "b", "f"):
        img = read_image(REF / t[k])
        out.append(img.data.astype(np.float64) * (255.0 / img.max_value))
    return out


def test_octave_reference_values_information_metrics():
    recs = _ref_records({"EN", "CE", "MI", "NMI", "QNCIE", "TE", "TE_nava", "FMI_edge",
                         "FMI_pixel", "FMI_dct"}, {"vifb", "mefb", "tang", "liu", "cddfuse"})
    if not recs:
        pytest.skip("tests/fixtures/metric_reference/values.json not present")
    worst = 0.0
    for r in recs:
        a, b, f = _fixture_triple(r["triple"])
        x, y = (a, b) if r["order"] == "ab" else (b, a)
        got = compute(r["metric"], x, y, f, profile=r["profile"], **r["options"])
        # CDDFuse on colour files: the framework's cddfuse-gray rule and cv2.cvtColor round a
        # few pixels differently (see the report); everything else agrees to rounding
        # FMI: float32 pair kernel and cell terms (4e-8 observed)
        tol = (1e-4 if r["toolkit"] == "cddfuse" and x.ndim == 3
               else 1e-7 if r["metric"].startswith("FMI") else 1e-9)
        assert got == pytest.approx(r["value"], rel=tol, abs=1e-12), r["id"]
        if tol < 1e-6 and abs(r["value"]) > 1e-6:
            worst = max(worst, abs(got - r["value"]) / abs(r["value"]))
    assert worst < 1e-7


def test_fmi_w_reproduces_the_reference_run_with_its_dwt_filter(monkeypatch):
    # The reference run's dwt2 shim used PyWavelets' 62-tap 'dmey' (Octave has no Wavelet
    # Toolbox), so its FMI_w records are marked octave-differs; with that filter instead of
    # MATLAB's 102-tap one, fusebench reproduces them: the FMI algorithm and the dwt2 layout
    # are right, only the filter (MATLAB's, by design) differs.
    import pywt
    path = REF / "values.json"
    if not path.is_file():
        pytest.skip("tests/fixtures/metric_reference/values.json not present")
    recs = [r for r in json.loads(path.read_text()) if r["metric"] == "FMI_w"
            and r["value"] is not None
            and not json.loads((REF / "triples.json").read_text())[r["triple"]]["shared_data"]]
    assert recs and all(r["trust"].startswith("octave-differs") for r in recs)
    monkeypatch.setattr(fmi_features, "matlab_dmey", lambda: pywt.Wavelet("dmey"))
    for r in recs:
        a, b, f = _fixture_triple(r["triple"])
        x, y = (a, b) if r["order"] == "ab" else (b, a)
        got = compute("FMI_w", x, y, f, profile=r["profile"], **r["options"])
        assert got == pytest.approx(r["value"], rel=1e-7, abs=1e-15), r["id"]


# ------------------------------------------------------------------------------------------------
# VIFB calibration: CE, EN, MI against VIFB's stored MATLAB values (13 methods x 21 scenes)
# ------------------------------------------------------------------------------------------------

@pytest.mark.shared_data
def test_vifb_calibration_information_metrics(shared_data):
    from tests.vifb_reference import VIFB_NAMES, reference_rows, triple as vifb_triple, \
        within_tolerance
    names = {"Cross_entropy", "Entropy", "Mutinf"}
    rows = [r for r in reference_rows(shared_data) if r[2] in names]
    assert len(rows) == 3 * 13 * 21
    worst, failures = {}, []
    for scene, method, metric, stored in rows:
        vi_ir_f = vifb_triple(shared_data, scene, method)
        ir, vi, fused = vi_ir_f
        got = compute(VIFB_NAMES[metric], vi, ir, fused, profile="vifb")  # VIFB passes VI first
        rel = abs(got - stored) / abs(stored)
        worst[metric] = max(worst.get(metric, 0.0), rel)
        if not within_tolerance(got, stored):
            failures.append((scene, method, metric, got, stored))
    assert not failures, failures[:5]
    print("VIFB worst relative deviation:", {k: f"{v:.2e}" for k, v in worst.items()})


def test_vectorisable_log2_kernels_meet_their_stated_error():
    # the FMI kernels' log2 (no libm call): float64 to 1e-12 absolute, float32 to
    # 1.3e-7 max(1, |log2 x|), over normal inputs from the smallest to 1e30
    from numba import njit
    from bench.metrics._numba_ops import _log2, _log2f

    @njit
    def both(x64, x32):
        o64, o32 = np.empty_like(x64), np.empty_like(x32)
        for i in range(x64.size):
            o64[i] = _log2(x64[i])
        for i in range(x32.size):
            o32[i] = _log2f(x32[i])
        return o64, o32

    rng = np.random.default_rng(5)
    x64 = np.concatenate([np.logspace(-307, 30, 20000), rng.random(20000) + 0.5, [1.0, 2.0]])
    x32 = np.concatenate([np.logspace(-37.9, 30, 20000), rng.random(20000) + 0.5,
                          [1.0, 2.0]]).astype(np.float32)
    y64, y32 = both(x64, x32)
    assert y32.dtype == np.float32
    assert np.abs(y64 - np.log2(x64)).max() < 1e-12
    want = np.log2(x32.astype(np.float64))
    assert (np.abs(y32 - want) / np.maximum(1.0, np.abs(want))).max() < 1.3e-7
    assert y32[-2] == 0.0 and y32[-1] == 1.0
