"""Perceptual metrics: VIF (multi-scale pixel VIF, summed over sources) and VIFF (Han et al.).

Checked against slow literal re-implementations written here from the published algorithm
(MATLAB-style filter2 with 2-D fspecial windows, no vectorisation tricks), identities, the
per-profile conventions and the edge cases.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from tests.metric_inputs import metric_triple
from bench.metrics import MetricUndefined, compute
from bench.metrics.matlab import filter2, fspecial_gaussian


def triple(shape=(64, 80), seed=0):
    return metric_triple(shape, seed, weight_a=0.6)


def oracle_maps(ref, dist, sigma_nsq, uint8=False):
    """Sheikh & Bovik's pixel VIF statistics per scale, written out plainly. uint8: products at
    scale 1 as MATLAB forms them for uint8 images (saturated at 255)."""
    ref, dist = np.asarray(ref, float), np.asarray(dist, float)
    out = []
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        win = fspecial_gaussian(n, n / 5)
        if scale > 1:
            ref = filter2(win, ref, "valid")[::2, ::2]
            dist = filter2(win, dist, "valid")[::2, ::2]
        prod = (lambda x, y: np.minimum(x * y, 255.0)) if uint8 and scale == 1 else \
            (lambda x, y: x * y)
        mu1, mu2 = filter2(win, ref, "valid"), filter2(win, dist, "valid")
        s1 = filter2(win, prod(ref, ref), "valid") - mu1 * mu1
        s2 = filter2(win, prod(dist, dist), "valid") - mu2 * mu2
        s12 = filter2(win, prod(ref, dist), "valid") - mu1 * mu2
        s1[s1 < 0] = 0
        s2[s2 < 0] = 0
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        m = s1 < 1e-10
        g[m], sv[m], s1[m] = 0, s2[m], 0
        m = s2 < 1e-10
        g[m], sv[m] = 0, 0
        m = g < 0
        sv[m], g[m] = s2[m], 0
        sv[sv <= 1e-10] = 1e-10
        out.append((np.log10(1 + g * g * s1 / (sv + sigma_nsq)), np.log10(1 + s1 / sigma_nsq), g))
    return out


def oracle_vifp(ref, dist, uint8=False):
    maps = oracle_maps(ref, dist, 2.0, uint8)
    return sum(n.sum() for n, _, _ in maps) / sum(d.sum() for _, d, _ in maps)


def oracle_viff(a, b, f):
    sq = 0.005 * 255 * 255
    ma, mb = oracle_maps(a, f, sq), oracle_maps(b, f, sq)
    p = np.array([1, 0, 0.15, 1]) / 2.15
    total = 0.0
    for w, (za, da, ga), (zb, db, gb) in zip(p, ma, mb):
        pick = ga < gb
        z = np.where(pick, za, zb)
        d = np.where(pick, da, db)
        total += w * np.sum(z + 1e-7) / np.sum(d + 1e-7)
    return total


def test_vif_matches_literal_oracle_all_profiles():
    a, b, f = triple((67, 83), seed=1)  # odd sizes
    want = oracle_vifp(a, f) + oracle_vifp(b, f)
    for prof in ("default", "cddfuse"):
        assert compute("VIF", a, b, f, profile=prof) == pytest.approx(want, rel=1e-10)
    assert compute("VIF", a, b, f, aggregate="mean") == pytest.approx(want / 2, rel=1e-10)
    assert compute("VIF", a, b, f, profile="tang", uint8_products=False) == pytest.approx(
        want, rel=1e-10)


def test_vif_tang_multiplies_uint8_images_as_matlab_does():
    # vifp_mscale.m gets Tang's uint8 images: ref.*ref saturates at 255 before filter2
    a, b, f = triple((67, 83), seed=1)
    want = oracle_vifp(a, f, uint8=True) + oracle_vifp(b, f, uint8=True)
    got = compute("VIF", a, b, f, profile="tang")
    assert got == pytest.approx(want, rel=1e-10)
    assert got != pytest.approx(compute("VIF", a, b, f), rel=1e-3)
    # in windows darker than 16 nothing saturates: a dark image scores as the true VIF
    dark = [np.round(x / 17.0) for x in (a, b, f)]
    assert compute("VIF", *dark, profile="tang") == pytest.approx(compute("VIF", *dark),
                                                                  rel=1e-10)
    # non-integer planes are taken as MATLAB uint8() would store them (round half away, clip)
    assert compute("VIF", a + 0.5, b - 0.4, f, profile="tang") == pytest.approx(
        compute("VIF", np.minimum(a + 1, 255), b, f, profile="tang"), rel=1e-12)


def test_vif_identity_and_order():
    a, b, f = triple((64, 64), seed=2)
    # F equal to both sources: each VIF is 1 up to the 1e-10 noise floor, the sum 2
    assert compute("VIF", a, a, a) == pytest.approx(2.0, abs=1e-8)
    # the source is the reference, F the distorted image: VIF is not symmetric in (X, F)
    assert oracle_vifp(a, f) != pytest.approx(oracle_vifp(f, a), rel=1e-3)
    assert compute("VIF", a, b, f) == pytest.approx(compute("VIF", b, a, f), rel=1e-12)


def test_vif_aliases_per_profile():
    a, b, f = triple((64, 64), seed=3)
    # CDDFuse calls the pixel-VIF sum "VIFF"; MEFB calls Han's VIFF "VIF"
    assert compute("VIFF", a, b, f, profile="cddfuse") == compute("VIF", a, b, f, profile="cddfuse")
    assert compute("VIF", a, b, f, profile="mefb") == compute("VIFF", a, b, f, profile="mefb")
    assert compute("VIF", a, b, f, profile="mefb") != compute("VIF", a, b, f)


def test_vif_constant_source_rules():
    a, b, f = triple((48, 48), seed=4)
    const = np.full_like(a, 90.0)
    with pytest.raises(MetricUndefined, match="no local variance"):
        compute("VIF", const, b, f, profile="tang")
    # CDDFuse: `if np.isnan(vifp): return 1.0` for the pair whose reference is constant
    assert compute("VIF", const, b, f, profile="cddfuse") == pytest.approx(
        1.0 + oracle_vifp(b, f), rel=1e-10)


def test_vif_small_images_follow_matlab():
    a, b, f = triple((30, 33), seed=5)  # scales 3 and 4 do not fit: they contribute nothing
    maps = oracle_maps(a, f, 2.0)[:2]
    want_a = sum(n.sum() for n, _, _ in maps) / sum(d.sum() for _, d, _ in maps)
    maps = oracle_maps(b, f, 2.0)[:2]
    want_b = sum(n.sum() for n, _, _ in maps) / sum(d.sum() for _, d, _ in maps)
    assert compute("VIF", a, b, f) == pytest.approx(want_a + want_b, rel=1e-10)
    with pytest.raises(ValueError, match="at least 17 x 17"):
        compute("VIF", a[:16], b[:16], f[:16])


def oracle_cddfuse_vifp(ref, dist):
    """CDDFuse's compare_viff as its code runs: every window operation is
    scipy.signal.convolve2d(x, rot90(win, 2), mode='valid'), which swaps its operands when the
    window is larger than the image."""
    from scipy.signal import convolve2d
    ref, dist = np.asarray(ref, float), np.asarray(dist, float)
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        win = np.rot90(fspecial_gaussian(n, n / 5), 2)
        conv = lambda x: convolve2d(x, win, mode="valid")  # noqa: E731
        if scale > 1:
            ref, dist = conv(ref)[::2, ::2], conv(dist)[::2, ::2]
        mu1, mu2 = conv(ref), conv(dist)
        s1 = np.maximum(conv(ref * ref) - mu1 * mu1, 0)
        s2 = np.maximum(conv(dist * dist) - mu2 * mu2, 0)
        s12 = conv(ref * dist) - mu1 * mu2
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        m = s1 < 1e-10
        g[m], sv[m], s1[m] = 0, s2[m], 0
        m = s2 < 1e-10
        g[m], sv[m] = 0, 0
        m = g < 0
        sv[m], g[m] = s2[m], 0
        sv[sv <= 1e-10] = 1e-10
        num += np.sum(np.log10(1 + g * g * s1 / (sv + 2.0)))
        den += np.sum(np.log10(1 + s1 / 2.0))
    v = num / den
    return 1.0 if np.isnan(v) else v


def test_vif_cddfuse_small_images_follow_scipy_convolve2d():
    # 16 x 16 and 33 x 47: a scale's window is larger than the image; scipy swaps the operands
    for shape, seed in (((16, 16), 8), ((33, 47), 9), ((20, 20), 10)):
        a, b, f = triple(shape, seed=seed)
        want = oracle_cddfuse_vifp(a, f) + oracle_cddfuse_vifp(b, f)
        assert compute("VIFF", a, b, f, profile="cddfuse") == pytest.approx(want, rel=1e-10)
        if min(shape) >= 17:  # MATLAB's reading: the empty scales contribute nothing
            assert compute("VIF", a, b, f) != pytest.approx(want, rel=1e-6)
        else:
            with pytest.raises(ValueError, match="at least 17 x 17"):
                compute("VIF", a, b, f)
    # where every scale fits, both readings agree (and the fast path is used)
    a, b, f = triple((67, 83), seed=11)
    assert compute("VIF", a, b, f, profile="cddfuse") == pytest.approx(
        oracle_cddfuse_vifp(a, f) + oracle_cddfuse_vifp(b, f), rel=1e-10)
    assert compute("VIF", a, b, f, profile="cddfuse") == compute("VIF", a, b, f)
    # larger than a window in one dimension, smaller in the other: scipy (and CDDFuse) fail
    a, b, f = triple((20, 60), seed=12)
    with pytest.raises(ValueError, match="convolve2d"):
        compute("VIF", a, b, f, profile="cddfuse")
    with pytest.raises(ValueError, match="small_images"):
        compute("VIF", a, b, f, small_images="swap")


def test_viff_matches_literal_oracle():
    a, b, f = triple((71, 65), seed=6)
    want = oracle_viff(a, b, f)
    assert compute("VIFF", a, b, f) == pytest.approx(want, rel=1e-10)
    assert compute("VIFF", a, b, f, profile="mefb") == pytest.approx(want, rel=1e-10)


def test_viff_identity_range_and_colour():
    a, b, f = triple((64, 64), seed=7)
    assert compute("VIFF", a, a, a) == pytest.approx(1.0, abs=1e-8)
    v = compute("VIFF", a, b, f)
    assert 0.0 < v < 1.0
    # MEFB: grey sources with a colour F score F's red channel
    fc = np.dstack([f, a, b])
    assert compute("VIFF", a, b, fc, profile="mefb") == compute("VIFF", a, b, f, profile="mefb")
    # colour sources and F: per channel, averaged
    ca, cb = np.dstack([a, b, f]), np.dstack([b, f, a])
    per = np.mean([compute("VIFF", ca[..., c], cb[..., c], fc[..., c]) for c in range(3)])
    assert compute("VIFF", ca, cb, fc, profile="mefb") == pytest.approx(per, rel=1e-12)


def edge_cases():
    a, b, f = triple((60, 70), seed=31)
    const = np.full((60, 70), 128.0)
    binary = np.where(a > 127, 255.0, 0.0)
    near_binary = np.where(b > 127, 254.0, 1.0)
    return {
        "constant": (const, const, const),
        "near-binary": (binary, near_binary, np.round((binary + near_binary) / 2)),
        "16x16": tuple(x[:16, :16] for x in (a, b, f)),
        "odd-size": triple((99, 121), seed=32),
        "zero-fused": (a, b, np.zeros_like(f)),
    }


EXPECTED = {
    ("VIF", "default", "constant"): "no local variance",
    ("VIF", "tang", "constant"): "no local variance",
    ("VIF", "default", "16x16"): "at least 17 x 17",
    ("VIF", "tang", "16x16"): "at least 17 x 17",
    ("VIFF", "default", "16x16"): "at least 41 x 41",
    ("VIFF", "mefb", "16x16"): "at least 41 x 41",
}


@pytest.mark.parametrize("metric,profile", [("VIF", "default"), ("VIF", "tang"),
                                            ("VIF", "cddfuse"), ("VIFF", "default"),
                                            ("VIFF", "mefb")])
def test_edge_cases_give_a_value_or_a_clear_error(metric, profile):
    for case, (a, b, f) in edge_cases().items():
        want = EXPECTED.get((metric, profile, case))
        if want is None:
            v = compute(metric, a, b, f, profile=profile)
            assert isinstance(v, float) and math.isfinite(v), (metric, profile, case, v)
        else:
            with pytest.raises(ValueError, match=want):
                compute(metric, a, b, f, profile=profile)
    # specific values: a zero F carries no information; constant images under CDDFuse's rule
    a, b, f = edge_cases()["zero-fused"]
    if metric == "VIF":
        assert compute(metric, a, b, f, profile=profile) == 0.0
    c = edge_cases()["constant"]
    if (metric, profile) == ("VIF", "cddfuse"):
        assert compute(metric, *c, profile=profile) == 2.0
    if metric == "VIFF":
        assert compute(metric, *c, profile=profile) == pytest.approx(1.0, abs=1e-12)


def test_registered_with_documentation():
    from bench.registry import METRICS
    for name in ("VIF", "VIFF"):
        e = METRICS.get(name)
        assert e.meta["family"] == "perceptual" and e.meta["direction"] == "higher"
        assert "sum" in e.obj.__doc__.lower() or name == "VIFF"
    assert set(METRICS.get("VIF").meta["conventions"]) >= {"default", "tang", "cddfuse"}
    assert set(METRICS.get("VIFF").meta["conventions"]) >= {"default", "mefb"}
