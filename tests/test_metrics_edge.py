"""Edge-based metrics: Qabf (Xydeas-Petrovic), Nabf (Shreyamsha Kumar) and Labf (Petrovic).

Checked against
- identities with closed-form values (F = A = B, F = 2A, scale invariance, Qabf + Labf + Nabf);
- values frozen from GNU Octave 7.3 running the reference MATLAB code (VIFB metricsQabf.m @5d29ee7,
  MEFB metricsQabf.m @82014f4, Tang's analysis_Qabf.m / analysis_nabf.m / sobel_fn.m from
  Linfeng-Tang/SeAFusion Evaluation @d3ae78e) on VIFB's fight/ADF triple, grey and cropped;
- CDDFuse Evaluator.Qabf run in Python on the same triples (bit for bit, float32);
- VIFB's stored MATLAB values (all 13 methods x 21 scenes).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage, signal

from tests.metric_inputs import metric_triple
from bench.metrics import MetricUndefined, compute, conventions
from bench.metrics.nabf import petrovic_terms
from bench.metrics.sobel import conv2_sobel_matlab, sobel, sobel_fn_matlab
from bench.metrics.matlab import rgb2gray
from bench.metrics.profiles import PROFILES

TG, KG, DG, TA, KA, DA = 0.9994, -15.0, 0.5, 0.9879, -22.0, 0.8


def triple(shape=(64, 80), seed=0):
    return metric_triple(shape, seed)


def qg(g):
    return TG / (1 + math.exp(KG * (g - DG)))


def qa(a):
    return TA / (1 + math.exp(KA * (a - DA)))


# ------------------------------------------------------------------------------------------------
# primitives
# ------------------------------------------------------------------------------------------------

H1 = np.array([[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]])
H3 = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def test_sobel_primitives_match_conv2_and_sobel_fn():
    x = np.random.default_rng(3).integers(0, 256, (9, 11)).astype(float)
    sax, say = conv2_sobel_matlab(x)
    assert np.array_equal(sax, signal.convolve2d(x, H3, mode="same"))
    assert np.array_equal(say, signal.convolve2d(x, H1, mode="same"))
    sx, sy = sobel(x)
    assert np.array_equal(-sx, sax) and np.array_equal(sy, say)
    # sobel_fn.m: correlation with [-1 0 1; -2 0 2; -1 0 1]/8 on the mirror (reflect-101) extension
    gv, gh = sobel_fn_matlab(x)
    assert np.allclose(gv, ndimage.correlate(x, H3 / 8, mode="mirror"), atol=1e-12)
    assert np.allclose(gh, ndimage.correlate(x, H3.T / 8, mode="mirror"), atol=1e-12)
    mx, my = sobel(x, border=4)  # cv2.BORDER_REFLECT_101
    assert np.array_equal(mx / 8, gv) and np.array_equal(my / 8, gh)


def test_separable_sobel_gives_exact_zero_on_symmetric_non_integer_patches():
    x = np.tile(np.array([0.1, 0.7, 1 / 3, 0.2]) / 255, (6, 1)).T.copy()  # constant along rows
    sx, _ = sobel(x)
    assert np.all(sx[1:-1, 1:-1] == 0)  # rows are constant: no horizontal gradient at all


# ------------------------------------------------------------------------------------------------
# Qabf
# ------------------------------------------------------------------------------------------------

def test_qabf_identity_f_equals_sources():
    a, _, _ = triple((40, 50), seed=1)
    want = qg(1.0) * qa(1.0)  # G = 1 and A = 1 at every pixel with an edge
    assert compute("Qabf", a, a, a) == pytest.approx(want, rel=1e-12)


def test_qabf_f_twice_the_source_halves_strength():
    a, _, _ = triple((40, 50), seed=2)
    # gF = 2 gA and the same orientation: G = 0.5, A = 1 everywhere the source has an edge
    assert compute("Qabf", a, a, 2 * a) == pytest.approx(qg(0.5) * qa(1.0), rel=1e-12)


def test_qabf_symmetry_scale_invariance_and_range():
    a, b, f = triple(seed=3)
    v = compute("Qabf", a, b, f)
    assert compute("Qabf", b, a, f) == pytest.approx(v, rel=1e-12)
    assert compute("Qabf", 0.5 * a, 0.5 * b, 0.5 * f) == pytest.approx(v, rel=1e-12)
    assert 0 < v < TG * TA


def oracle_qabf(a, b, f, scale=255.0):
    """Literal per-pixel Qabf as the MATLAB loops compute it (conv2 'same', atan(SAy/SAx) with
    pi/2 where SAx == 0, GAF = gF where gA == gF), for small images."""
    def feats(x):
        sx = signal.convolve2d(scale * x, H3, mode="same")
        sy = signal.convolve2d(scale * x, H1, mode="same")
        g = np.sqrt(sx ** 2 + sy ** 2)
        al = np.empty_like(g)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                al[i, j] = math.pi / 2 if sx[i, j] == 0 else math.atan(sy[i, j] / sx[i, j])
        return g, al

    (ga, aa), (gb, ab), (gf, af) = feats(a), feats(b), feats(f)
    num = den = 0.0
    for gs, as_ in ((ga, aa), (gb, ab)):
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                s_, t = gs[i, j], gf[i, j]
                big = s_ if s_ > t else t
                g = t if s_ == t else min(s_, t) / big
                o = 1 - abs(as_[i, j] - af[i, j]) / (math.pi / 2)
                num += qg(g) * qa(o) * s_
                den += s_
    return num / den


def test_qabf_matches_a_literal_oracle_on_quantised_images():
    rng = np.random.default_rng(11)
    for shape in ((12, 14), (9, 16)):
        # coarse levels make SAx == 0, gA == gF and sign flips of SAy frequent
        a, b, f = (rng.integers(0, 4, shape) * 60.0 for _ in range(3))
        want = oracle_qabf(a, b, f)
        assert compute("Qabf", a, b, f, profile="vifb") == pytest.approx(want, rel=1e-12)
        got = compute("Qabf", a, b, f, equal_rule="gF", scale=255.0)  # separable path
        assert got == pytest.approx(want, rel=1e-12)


def test_qabf_gf_branch_depends_on_data_scale():
    a, b, f = triple(seed=4)
    ratio = compute("Qabf", a, b, f, equal_rule="ratio")
    # gF >= 1 on 0..255 data: the branch is almost neutral (VIFB's x255 and CDDFuse's scale)
    assert compute("Qabf", a, b, f, equal_rule="gF", scale=255.0) == pytest.approx(ratio, abs=2e-3)
    assert compute("Qabf", a, b, f, equal_rule="gF") == pytest.approx(ratio, abs=2e-3)
    # F = A = B on Tang's im2double data: G = gF/255-ish < 0.5, identical edges scored as lost
    x = a
    tang = compute("Qabf", x, x, x, profile="tang")
    sax, say = conv2_sobel_matlab(x / 255)
    g = np.sqrt(sax ** 2 + say ** 2)
    qgs = TG / (1 + np.exp(KG * (g - DG)))
    assert tang == pytest.approx(float((qgs * qa(1.0) * g).sum() / g.sum()), rel=1e-9)
    assert tang < 0.9 * compute("Qabf", x, x, x)  # here 0.65 against 0.97


@pytest.mark.shared_data
def test_qabf_octave_frozen_values(shared_data):
    """GNU Octave 7.3 running VIFB/MEFB metricsQabf.m and Tang's analysis_Qabf.m (on
    im2double(rgb2gray) images, IR first) on VIFB fight/ADF: 'g' full size grey, 'o' the
    151 x 203 crop (odd size), 'c' a 120 x 161 colour crop (VI colour, IR grey, F colour)."""
    from tests.vifb_reference import triple as vifb_triple
    ir, vi, fu = vifb_triple(shared_data, "fight", "ADF")
    gvi, gfu = rgb2gray(vi), rgb2gray(fu)
    crops = {"g": (slice(None), slice(None)), "o": (slice(0, 151), slice(0, 203))}
    want = {"g": (0.48017428058397249, 0.48857245101780938),
            "o": (0.53261669746400531, 0.53403566658767743)}
    for key, (rs, cs) in crops.items():
        i, v, f = ir[rs, cs], gvi[rs, cs], gfu[rs, cs]
        assert compute("Qabf", i, v, f, profile="tang") == pytest.approx(want[key][0], rel=1e-12)
        assert compute("Qabf", v, i, f, profile="vifb") == pytest.approx(want[key][1], rel=1e-12)
        assert compute("Qabf", v, i, f, profile="mefb") == pytest.approx(want[key][1], rel=1e-12)
    c = (slice(0, 120), slice(0, 161))
    assert compute("Qabf", vi[c], ir[c], fu[c], profile="vifb") == pytest.approx(
        0.53337493707800609, rel=1e-12)
    # MEFB, both sources grey and F colour: only F's red channel is scored
    assert compute("Qabf", ir[c], ir[:151, :203][:120, :161], fu[c], profile="mefb") == \
        pytest.approx(0.67778458597314784, rel=1e-12)
    # CDDFuse Evaluator.Qabf (float32) on cv2-grey images, bit for bit
    cdd = {"g": 0.48857244849205017, "o": 0.5340356230735779}
    for key, (rs, cs) in crops.items():
        assert compute("Qabf", ir[rs, cs], gvi[rs, cs], gfu[rs, cs], profile="cddfuse") == cdd[key]


def test_qabf_vifb_colour_rules():
    a, b, f = triple((32, 40), seed=9)
    vi, fc = np.dstack([a, b, f]), np.dstack([f, a, b])
    per = np.mean([compute("Qabf", vi[:, :, c], b, fc[:, :, c], profile="vifb")
                   for c in range(3)])
    assert compute("Qabf", vi, b, fc, profile="vifb") == pytest.approx(per, rel=1e-12)
    # grey F: metricsQabf.m applies rgb2gray to double(VI), i.e. without rounding
    want = compute("Qabf", rgb2gray(vi, integer=False), b, f, profile="vifb")
    assert compute("Qabf", vi, b, f, profile="vifb") == pytest.approx(want, rel=1e-12)
    # MEFB: grey sources and colour F -> F's first channel only
    assert compute("Qabf", a, b, fc, profile="mefb") == pytest.approx(
        compute("Qabf", a, b, fc[:, :, 0], profile="mefb"), rel=1e-12)
    assert compute("Qabf", a, b, fc, profile="vifb") != compute("Qabf", a, b, fc, profile="mefb")


def test_qabf_profiles_differ_where_documented():
    a, b, f = triple((96, 128), seed=12)
    f[:, :64] = a[:, :64]  # F copies A on the left: many identical edges (gA == gF)
    d = compute("Qabf", a, b, f)
    v = compute("Qabf", a, b, f, profile="vifb")
    c = compute("Qabf", a, b, f, profile="cddfuse")
    t = compute("Qabf", a, b, f, profile="tang")
    assert abs(v - d) < 1e-3 and v != d        # only the gA == gF branch differs
    assert c == pytest.approx(v, rel=1e-6)     # same branch and scale class; float32 rounding
    assert v - t > 0.05                        # im2double: identical edges count as lost


# ------------------------------------------------------------------------------------------------
# Qabf: Liu's metricXydeas parameterisation (profile liu)
# ------------------------------------------------------------------------------------------------

def oracle_liu_xydeas(img1, img2, fuse):
    """metricXydeas.m (zhengliu6699/imageFusionMetrics) written out literally: filter2 'same'
    with flt1 = H3 and flt2 = H3', buffers of 1e-5 added in the code's order, mean2 of the
    per-pixel weighted ratio."""
    def features(x):
        gx = signal.correlate2d(x, H3, "same")
        gy = signal.correlate2d(x, H3.T, "same")
        g = np.sqrt(gx * gx + gy * gy)
        gx = gx + (gx == 0) * 0.00001
        return g, np.arctan(gy / gx)

    fuse_g, fuse_a = features(fuse)
    g1, a1 = features(img1)
    g2, a2 = features(img2)
    bimap = g1 > fuse_g
    g1 = g1 + (g1 == 0) * 0.00001
    buffer1 = fuse_g / g1
    fuse_g = fuse_g + (fuse_g == 0) * 0.00001
    buffer2 = g1 / fuse_g
    gaf = bimap * buffer1 + (1 - bimap) * buffer2
    aaf = np.abs(np.abs(a1 - fuse_a) - np.pi / 2) * 2 / np.pi
    bimap = g2 > fuse_g
    g2 = g2 + (g2 == 0) * 0.00001
    buffer1 = fuse_g / g2
    fuse_g = fuse_g + (fuse_g == 0) * 0.00001
    buffer2 = g2 / fuse_g
    gbf = bimap * buffer1 + (1 - bimap) * buffer2
    abf = np.abs(np.abs(a2 - fuse_a) - np.pi / 2) * 2 / np.pi

    def q(gs, as_):
        return 1 / (1 + np.exp(-10 * (gs - 0.5))) * 1 / (1 + np.exp(-20 * (as_ - 0.75)))

    return float(np.mean((q(gaf, aaf) * g1 + q(gbf, abf) * g2) / (g1 + g2)))


LIU_FULL = (1 / (1 + math.exp(-5))) ** 2  # G = 1 and A = 1: 1/(1+e^-5) each


def test_qabf_liu_matches_the_literal_oracle():
    a, b, f = triple((40, 52), seed=20)
    zero, const = np.zeros_like(a), np.full_like(a, 90.0)
    for x, y, z in ((a, b, f), (b, a, f), (a, b, zero), (a, const, f), triple((33, 47), 21)):
        assert compute("Qabf", x, y, z, profile="liu") == pytest.approx(
            oracle_liu_xydeas(x, y, z), rel=1e-12)
    assert conventions("Qabf", "liu") == {"variant": "liu"}


def test_qabf_liu_identities_and_differences():
    a, b, f = triple(seed=22)
    # F = A = B: every pixel (flat ones too, through the buffers) has G = 1 and A = 1
    assert compute("Qabf", a, a, a, profile="liu") == pytest.approx(LIU_FULL, rel=1e-12)
    const = np.full_like(a, 50.0)
    assert compute("Qabf", const, const, const, profile="liu") == pytest.approx(LIU_FULL,
                                                                             rel=1e-12)
    v = compute("Qabf", a, b, f, profile="liu")
    assert 0 < v < 1 and abs(v - compute("Qabf", a, b, f)) > 1e-2  # another parameterisation
    assert compute("Qabf", b, a, f, profile="liu") == pytest.approx(v, rel=1e-9)
    assert compute("Qabf", a, b, np.zeros_like(f), profile="liu") < 0.01
    with pytest.raises(ValueError, match="variant"):
        compute("Qabf", a, b, f, variant="liu2012")


# ------------------------------------------------------------------------------------------------
# Nabf and Labf
# ------------------------------------------------------------------------------------------------

Q_FULL = math.sqrt(0.9999 / (1 + math.exp(-19 * 0.5)) * 0.9995 / (1 + math.exp(-22 * 0.5)))
Q_FLAT = math.sqrt(0.9999 / (1 + math.exp(19 * 0.5)) * 0.9995 / (1 + math.exp(-22 * 0.5)))


def test_nabf_labf_identity_f_equals_sources():
    a, _, _ = triple((30, 36), seed=5)
    assert compute("Nabf", a, a, a) == 0.0  # no pixel where F is stronger than both sources
    g = np.hypot(ndimage.correlate(a, H3 / 8, mode="mirror"),
                 ndimage.correlate(a, H3.T / 8, mode="mirror"))
    w = np.where(g >= 2, g ** 1.5, 0.001)
    q = np.where(g > 0, Q_FULL, Q_FLAT)  # flat pixels: G = 0, both orientations 0
    assert compute("Labf", a, a, a) == pytest.approx(float(((1 - q) * w).sum() / w.sum()),
                                                     rel=1e-9)


def test_petrovic_terms_sum_to_one_and_artefacts_are_seen():
    a, b, f = triple(seed=6)
    t = petrovic_terms(a, b, f)
    assert t["Qabf"] + t["Labf"] + t["Nabf"] == pytest.approx(1.0, abs=1e-12)
    f2 = f.copy()
    f2[10:14, 10:30] = 255 - f2[10:14, 10:30]  # an artefact: edges in F absent from A and B
    assert compute("Nabf", a, b, f2) > compute("Nabf", a, b, f)
    assert compute("Nabf", a, b, f) == compute("Nabf", b, a, f)


def test_nabf_swapped_flag_is_off_everywhere_and_emulates_the_call():
    for name in ("Nabf", "Labf"):
        for prof in PROFILES:
            assert conventions(name, prof).get("tang_swapped_arguments", False) is False
    a, b, f = triple(seed=7)
    swapped = compute("Nabf", a, b, f, profile="tang", tang_swapped_arguments=True)
    # analysis_nabf(ir, vi, fused) with signature (fused, src1, src2): a is scored as F
    assert swapped == compute("Nabf", b, f, a, profile="tang")
    assert swapped != compute("Nabf", a, b, f, profile="tang")


def test_nabf_tang_uses_unit_weights_on_im2double_data():
    a, b, f = triple(seed=8)
    t = compute("Nabf", a, b, f, profile="tang")
    d = compute("Nabf", a, b, f)
    # 0..1 data: no gradient reaches Td = 2, so every weight is 0.001 (an unweighted mean); the
    # rest differs only by sobel_fn's rounding residues (orientation of near-flat pixels)
    assert t == pytest.approx(compute("Nabf", a / 255, b / 255, f / 255), rel=1e-3)
    assert abs(t - d) > 1e-3


@pytest.mark.shared_data
def test_nabf_labf_octave_frozen_values(shared_data):
    """GNU Octave 7.3 running Tang's analysis_nabf.m (with sobel_fn.m, per_extn_im_fn.m) on
    VIFB fight/ADF (rgb2gray, IR first): im2double images as Tang's analysis_Reference.m passes
    them, the swapped call analysis_nabf(ir, vi, fused), and 0..255 doubles (our default)."""
    from tests.vifb_reference import triple as vifb_triple
    ir, vi, fu = vifb_triple(shared_data, "fight", "ADF")
    gvi, gfu = rgb2gray(vi), rgb2gray(fu)
    frozen = {  # (Nabf, Labf) tang; (Nabf, Labf) swapped; (Nabf, Labf) on 0..255
        "g": ((0.053331450519632138, 0.42404323512852499), (0.21433804310016802,
              0.28804423114424305), (0.0028476175416797291, 0.24454464613398541)),
        "o": ((0.04117293697680894, 0.34947959096091968), (0.23831483378941551,
              0.18477615796005425), (0.003578123116482524, 0.17940421147557217)),
    }
    crops = {"g": (slice(None), slice(None)), "o": (slice(0, 151), slice(0, 203))}
    for key, (rs, cs) in crops.items():
        i, v, f = ir[rs, cs], gvi[rs, cs], gfu[rs, cs]
        tang, swap, plain = frozen[key]
        for k, name in enumerate(("Nabf", "Labf")):
            assert compute(name, i, v, f, profile="tang") == pytest.approx(tang[k], rel=1e-12)
            assert compute(name, i, v, f, profile="tang", tang_swapped_arguments=True) == \
                pytest.approx(swap[k], rel=1e-12)
            assert compute(name, i, v, f) == pytest.approx(plain[k], rel=1e-12)
    # METRICS.md 5.4's emulation (0..255 data): 0.0028 correct order, 0.0896 Tang's call order
    assert compute("Nabf", ir, gvi, gfu) == pytest.approx(0.0028, abs=5e-5)
    assert compute("Nabf", gvi, gfu, ir) == pytest.approx(0.0896, abs=5e-5)


# ------------------------------------------------------------------------------------------------
# edge cases
# ------------------------------------------------------------------------------------------------

def test_edge_cases():
    a, b, f = triple((48, 57), seed=13)
    const = np.full_like(a, 77.0)
    zero = np.zeros_like(a)
    # zero padding ('same' conv2) gives a constant image edges along its border, so only
    # all-zero sources leave Qabf without any source gradient
    with pytest.raises(MetricUndefined, match="neither source has any gradient"):
        compute("Qabf", zero, zero, f)
    assert 0 < compute("Qabf", const, const, f) < 1
    for prof in ("default", "vifb", "tang", "cddfuse", "liu"):
        v = compute("Qabf", a, b, zero, profile=prof)  # all-zero F: nothing preserved
        assert 0 <= v < 0.05
        assert 0 < compute("Qabf", a, const, f, profile=prof) < 1  # one constant source
    # Nabf/Labf are always defined: weights are at least 0.001
    assert compute("Nabf", const, const, const) == 0.0
    assert compute("Labf", const, const, const) == pytest.approx(1 - Q_FLAT, rel=1e-12)
    assert compute("Nabf", a, b, zero) == 0.0
    assert 0 < compute("Labf", a, b, zero) <= 1
    # near-binary, 16 x 16 and odd sizes
    rng = np.random.default_rng(0)
    binary = (rng.random((16, 16)) > 0.5) * 255.0
    nb = np.where(rng.random((16, 16)) > 0.9, 1.0, 0.0)
    for x, y, z in ((binary, 255 - binary, binary), (nb, 1 - nb, nb), triple((16, 16), 3),
                    triple((17, 23), 4)):
        for name in ("Qabf", "Nabf", "Labf"):
            for prof in ("default", "vifb", "tang", "cddfuse", "mefb", "liu"):
                v = compute(name, x, y, z, profile=prof)
                assert np.isfinite(v) and 0 <= v <= 1
    with pytest.raises(ValueError, match="at least 2 x 2"):
        compute("Nabf", a[:1], b[:1], f[:1])


# ------------------------------------------------------------------------------------------------
# VIFB calibration
# ------------------------------------------------------------------------------------------------

def _vifb_qabf(row):
    from pathlib import Path

    from tests.vifb_reference import triple as vifb_triple
    root, scene, method, stored = row
    ir, vi, f = vifb_triple(Path(root), scene, method)
    return scene, method, compute("Q_abf", vi, ir, f, profile="vifb"), stored  # VI first


@pytest.mark.shared_data
def test_vifb_qabf_all_273_triples(shared_data):
    from tests.vifb_reference import reference_rows, within_tolerance
    rows = [(str(shared_data), s, m, v) for s, m, k, v in reference_rows(shared_data)
            if k == "Qabf"]
    assert len(rows) == 273
    worst, bad, digits = 0.0, [], 0
    for scene, method, ours, stored in map(_vifb_qabf, rows):
        worst = max(worst, abs(ours - stored) / abs(stored))
        digits += f"{ours:.5g}" == f"{stored:.5g}"  # VIFB's dlmwrite keeps 5 significant digits
        if not within_tolerance(ours, stored):
            bad.append((scene, method, ours, stored))
    print(f"VIFB Qabf: worst relative deviation {worst:.2e} over {len(rows)} triples, "
          f"{digits} equal to the last stored digit")
    assert not bad, bad[:5]
    assert digits == len(rows)
