"""Spatial, correlation and error metrics: SD, SF, AG, EI, Qsf, CC, SCD, MSE, RMSE, PSNR.

Checked against
- closed-form values on small arrays and identities;
- VIFB's stored MATLAB values for SD (Variance), SF, AG, EI, PSNR and RMSE (all 13 methods x
  21 scenes, profile vifb);
- METRICS.md 5.4 (fight/ADF under the cddfuse and tang conventions);
- GNU Octave running the reference code (tests/fixtures/metric_reference/values.json, where
  present): VIFB, MEFB, Tang's published toolkit (its uint8 SD and [0, 1] SF included) and
  Z. Liu's imageFusionMetrics (Qsf);
- the edge cases of the metrics contract.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.metric_inputs import metric_triple, smooth
from bench.metrics import MetricUndefined, compute, conventions
from bench.metrics.profiles import PROFILES

METRICS = ["SD", "SF", "AG", "EI", "Qsf", "CC", "SCD", "MSE", "RMSE", "PSNR"]
DB255 = 20 * math.log10(255)


def triple(shape=(48, 64), seed=0):
    return metric_triple(shape, seed)


def test_registered_with_metadata():
    from bench.registry import METRICS as REG
    fam = {"SD": "spatial", "SF": "spatial", "AG": "spatial", "EI": "spatial", "Qsf": "spatial",
           "CC": "correlation", "SCD": "correlation", "MSE": "error", "RMSE": "error",
           "PSNR": "error"}
    for name, family in fam.items():
        e = REG.get(name)
        assert e.meta["family"] == family and e.obj.__doc__ and len(e.obj.__doc__) > 200
    for alias, name in (("Variance", "SD"), ("Spatial_frequency", "SF"), ("Avg_gradient", "AG"),
                        ("Edge_intensity", "EI"), ("Psnr", "PSNR"), ("Rmse", "RMSE")):
        assert REG.get(alias).name == name
    assert REG.get("MSE").meta["direction"] == "lower" == REG.get("RMSE").meta["direction"]
    assert REG.get("SD").meta["needs"] == ("fused",)
    assert REG.get("Qsf").meta["needs"] == ("sources", "fused")
    assert REG.get("rSFe").name == "Qsf" and REG.get("zheng").name == "Qsf"
    for prof, names in (("vifb", ["PSNR", "AG", "EI", "SD", "SF", "RMSE"]),
                        ("tang", ["SF", "SD", "PSNR", "MSE", "AG", "CC", "SCD"]),
                        ("cddfuse", ["SD", "SF", "SCD", "AG", "CC", "PSNR", "MSE"]),
                        ("mefb", ["PSNR", "AG", "EI", "SD", "SF"]), ("liu", ["Qsf"])):
        for name in names:
            assert prof in REG.get(name).meta["conventions"], (prof, name)


# ------------------------------------------------------------------------------------------------
# known values
# ------------------------------------------------------------------------------------------------

def test_sd_known_values():
    f = np.array([[0.0, 255.0], [255.0, 0.0]])
    assert compute("SD", f, f, f) == 127.5
    assert compute("SD", f, f, np.full((2, 2), 3.0)) == 0.0


def test_sd_tang_uint8_saturation():
    # Tang's toolkit: SD_evaluation on the uint8 image. mean 2.5: deviations -2.5, -0.5, 0.5,
    # 2.5 -> uint8 0, 0, 1, 3 (MATLAB rounds halves away from zero, negatives saturate to 0)
    f = np.array([[0.0, 2.0], [3.0, 5.0]])
    assert compute("SD", f, f, f, profile="tang") == pytest.approx(math.sqrt(10 / 4))
    assert compute("SD", f, f, f, uint8_saturation=True) == pytest.approx(math.sqrt(10 / 4))
    assert compute("SD", f, f, f) == pytest.approx(math.sqrt(13 / 4))  # the true SD
    # squares cap at 255: one pixel 100 above the mean of an otherwise flat image
    g = np.zeros((1, 101))
    g[0, 0] = 101.0  # mean 1, deviation 100 -> 10000 -> 255
    assert compute("SD", g, g, g, profile="tang") == pytest.approx(math.sqrt(255 / 101))
    # the input is taken as uint8 first (MATLAB round, clip)
    assert compute("SD", f + 0.4, f, f + 0.4, profile="tang") == pytest.approx(math.sqrt(10 / 4))
    assert conventions("SD", "tang") == {"uint8_saturation": True}


def test_sf_known_values_and_divisors():
    f = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert compute("SF", f, f, f) == pytest.approx(math.sqrt(1 + 4))  # 'terms'
    assert compute("SF", f, f, f, profile="vifb") == pytest.approx(math.sqrt(2 / 4 + 8 / 4))
    assert compute("SF", f, f, f, profile="mefb") == compute("SF", f, f, f, profile="vifb")
    assert compute("SF", f, f, f, scale=1 / 255) == pytest.approx(math.sqrt(5) / 255)
    # Tang's toolkit: SF_evaluation on the im2double image
    assert compute("SF", f, f, f, profile="tang") == pytest.approx(math.sqrt(5) / 255)
    with pytest.raises(ValueError, match="at least 2 x 2"):
        compute("SF", np.zeros((1, 5)), np.zeros((1, 5)), np.zeros((1, 5)))


def test_sf_vifb_folds_colour_channels():
    rng = np.random.default_rng(1)
    f = np.round(rng.random((6, 7, 3)) * 255)
    a = b = f[..., 0]
    folded = np.hstack([f[..., c] for c in range(3)])
    rf2 = (np.diff(folded, axis=1) ** 2).sum() / folded.size
    cf2 = (np.diff(folded, axis=0) ** 2).sum() / folded.size
    assert compute("SF", a, b, f, profile="vifb") == pytest.approx(math.sqrt(rf2 + cf2))
    # MEFB (two grey sources): F's red channel only, no folding
    assert compute("SF", a, b, f, profile="mefb") == pytest.approx(
        compute("SF", a, b, f[..., 0], profile="mefb"))
    # a grey F is not replicated by VIFB (even with a colour source)
    g = f[..., 1]
    assert compute("SF", f, a, g, profile="vifb") == compute("SF", a, a, g, profile="vifb")


def test_ag_known_values_and_divisors():
    f = np.tile(np.arange(6.0), (4, 1))  # d/dx = 1, d/dy = 0: sqrt(1/2) everywhere
    assert compute("AG", f, f, f) == pytest.approx(math.sqrt(0.5))
    assert compute("AG", f, f, f, profile="cddfuse") == pytest.approx(math.sqrt(0.5))
    want = math.sqrt(0.5) * 24 / (3 * 5)
    for p in ("vifb", "mefb", "tang"):
        assert compute("AG", f, f, f, profile=p) == pytest.approx(want)


def test_ag_mefb_rgb2gray_for_grey_sources():
    from bench.metrics.matlab import rgb2gray
    a, b = smooth((12, 14), 2), smooth((12, 14), 3)
    f = np.stack([a, b, np.round((a + b) / 2)], axis=2)
    assert compute("AG", a, b, f, profile="mefb") == pytest.approx(
        compute("AG", a, b, rgb2gray(f, integer=False), profile="mefb"))
    assert compute("AG", f, b, f, profile="mefb") == pytest.approx(  # colour source: per channel
        np.mean([compute("AG", a, b, f[..., c], profile="mefb") for c in range(3)]))


def test_ei_known_values():
    f = np.tile(np.arange(6.0), (4, 1))
    # horizontal Sobel of a unit ramp: 8 inside, 4 at the replicated left/right columns
    want = (2 * 4 + 4 * 8) / 6
    assert compute("EI", f, f, f) == pytest.approx(want)
    assert compute("EI", f, f, np.full((4, 6), 9.0)) == 0.0


def test_qsf_known_values_and_identities():
    wd = math.sqrt(2) / 2
    # a horizontal unit ramp: every horizontal and diagonal difference is 1, vertical 0
    f = np.tile(np.arange(5.0), (4, 1))
    sf2 = (4 * 4 + 0 + wd * 3 * 4 + wd * 3 * 4) / 20
    flat = np.zeros((4, 5))
    # the reference takes the larger source difference: A = ramp, B flat -> SF_R = SF(ramp)
    assert compute("Qsf", f, flat, f) == pytest.approx(0.0, abs=1e-15)
    assert compute("Qsf", f, flat, 2 * f) == pytest.approx(1.0)  # twice the activity
    assert compute("Qsf", f, flat, flat + 7) == -1.0  # no activity at all
    assert compute("Qsf", f, flat, 0.5 * f) == pytest.approx(-0.5)
    assert math.sqrt(sf2) == pytest.approx(math.sqrt((16 + 24 * wd) / 20))
    a, b, g = triple((24, 30), seed=4)
    v = compute("Qsf", a, b, g)
    assert -1 < v < 0  # a blend has less activity than the larger source gradients
    assert v == pytest.approx(compute("Qsf", b, a, g), rel=1e-12)
    assert v == pytest.approx(compute("Qsf", 3 * a, 3 * b, 3 * g), rel=1e-12)  # scale-free
    assert compute("Qsf", a, a, a) == pytest.approx(0.0, abs=1e-15)
    assert compute("Qsf", a, b, g, profile="liu") == v
    c = np.full((6, 6), 9.0)
    with pytest.raises(MetricUndefined, match="both sources are constant"):
        compute("Qsf", c, c + 1, a[:6, :6])


def test_cc_and_scd_known_values():
    a, b, _ = triple((20, 24), seed=3)
    assert compute("CC", a, a, a) == pytest.approx(1.0)
    assert compute("CC", a, 255 - a, a) == pytest.approx(0.0, abs=1e-12)
    assert compute("CC", a, b, a) == pytest.approx((1 + np.corrcoef(a.ravel(), b.ravel())[0, 1]) / 2)
    # F = A + B: corr(F - B, A) = corr(F - A, B) = 1
    assert compute("SCD", a, b, a + b) == pytest.approx(2.0)
    f = np.round((a + b) / 2)
    want = (np.corrcoef((f - b).ravel(), a.ravel())[0, 1]
            + np.corrcoef((f - a).ravel(), b.ravel())[0, 1])
    assert compute("SCD", a, b, f) == pytest.approx(want)
    # Tang's mean(A) in the B term changes only the last bits
    assert compute("CC", a, b, f, profile="tang") == pytest.approx(compute("CC", a, b, f),
                                                                   rel=1e-12)


def test_error_metrics_known_values():
    a, b, f = np.zeros((4, 5)), np.full((4, 5), 10.0), np.full((4, 5), 5.0)
    assert compute("MSE", a, b, f) == 25.0
    assert compute("MSE", a, b, f, profile="tang") == pytest.approx(25 / 255 ** 2)
    assert compute("RMSE", a, b, f) == 5.0
    assert compute("RMSE", a, b, f, profile="vifb") == pytest.approx(5 / math.sqrt(20))
    assert compute("PSNR", a, b, f) == pytest.approx(10 * math.log10(255 ** 2 / 25))
    assert compute("PSNR", a, b, f, profile="tang") == pytest.approx(
        10 * math.log10(255 ** 2 / 25) + DB255)
    assert compute("PSNR", a, b, f, profile="cddfuse") == pytest.approx(0.0, abs=1e-12)  # peak 5
    # VIFB: 20 log10(255 / sqrt(mean of sqrt(SSE)/MN))
    m = (math.sqrt(25 * 20) / 20 + math.sqrt(25 * 20) / 20) / 2
    assert compute("PSNR", a, b, f, profile="vifb") == pytest.approx(20 * math.log10(255 / math.sqrt(m)))
    assert compute("PSNR", a, b, f, profile="mefb") == compute("PSNR", a, b, f, profile="vifb")


# ------------------------------------------------------------------------------------------------
# cross-profile relations (METRICS.md 5.3)
# ------------------------------------------------------------------------------------------------

def test_profiles_differ_where_the_toolkits_do():
    a, b, f = triple((40, 50), seed=6)
    assert compute("PSNR", a, b, f, profile="tang") == pytest.approx(
        compute("PSNR", a, b, f) + DB255, rel=1e-12)
    f255 = f.copy()
    f255[0, 0] = 255.0
    assert compute("PSNR", a, b, f255, profile="cddfuse") == pytest.approx(
        compute("PSNR", a, b, f255), rel=1e-12)
    # VIFB's "mse" is sqrt(SSE)/MN: its PSNR grows with the image size (+10 log10 sqrt(MN))
    vifb = compute("PSNR", a, b, f, profile="vifb")
    assert vifb > 40 > compute("PSNR", a, b, f) > 10
    big = [np.kron(x, np.ones((2, 2))) for x in (a, b, f)]
    assert compute("PSNR", *big, profile="vifb") == pytest.approx(vifb + 10 * math.log10(2),
                                                                 rel=1e-12)
    assert compute("MSE", a, b, f) / compute("MSE", a, b, f, profile="tang") == pytest.approx(255 ** 2)
    assert compute("AG", a, b, f, profile="tang") / compute("AG", a, b, f, profile="cddfuse") == \
        pytest.approx(40 * 50 / (39 * 49))
    assert compute("SF", a, b, f, profile="vifb") < compute("SF", a, b, f)  # divides by MN
    assert compute("RMSE", a, b, f, profile="vifb") < compute("RMSE", a, b, f) / 40
    for name in ("SD", "CC", "SCD", "EI"):  # one formula everywhere on grey input (but Tang)
        vals = {round(compute(name, a, b, f, profile=p), 10) for p in PROFILES
                if p in _conventions_of(name) and not (name == "SD" and p == "tang")}
        assert len(vals) == 1, name
    # Tang's toolkit bugs: SD on uint8 (saturating, far below the true SD), SF on [0, 1]
    assert compute("SD", a, b, f, profile="tang") < compute("SD", a, b, f) / 2
    assert compute("SF", a, b, f, profile="tang") == pytest.approx(compute("SF", a, b, f) / 255,
                                                                  rel=1e-12)


def _conventions_of(name):
    from bench.registry import METRICS as REG
    return REG.get(name).meta["conventions"]


@pytest.mark.shared_data
def test_metrics_md_fight_adf_other_conventions(shared_data):
    from tests.vifb_reference import triple as vifb_triple
    ir, vi, fu = vifb_triple(shared_data, "fight", "ADF")
    assert compute("PSNR", ir, vi, fu, profile="cddfuse") == pytest.approx(17.50, abs=0.005)
    assert compute("PSNR", ir, vi, fu, profile="tang") == pytest.approx(65.64, abs=0.005)
    assert compute("AG", ir, vi, fu, profile="cddfuse") == pytest.approx(4.909, abs=0.0005)
    assert compute("AG", ir, vi, fu, profile="tang") == pytest.approx(4.935, abs=0.0005)
    assert compute("SF", vi, ir, fu, profile="vifb") == pytest.approx(13.708, abs=0.0005)
    assert compute("MI", ir, vi, fu, profile="cddfuse") == pytest.approx(1.702, abs=0.0005)


# ------------------------------------------------------------------------------------------------
# edge cases: a defined value or a clear error
# ------------------------------------------------------------------------------------------------

def _cases():
    rng = np.random.default_rng(5)
    nb_a = (rng.random((20, 24)) < 0.1) * 255.0
    nb_b = (rng.random((20, 24)) < 0.9) * 1.0
    za, zb, _ = triple((20, 24), seed=16)
    c = np.full((12, 14), 100.0)
    return {
        "constant": (c, np.full((12, 14), 128.0), np.full((12, 14), 77.0)),
        "all_equal": (c, c, c),
        "near_binary": (nb_a, nb_b, np.maximum(nb_a, nb_b)),
        "16x16": triple((16, 16), seed=14),
        "odd": triple((15, 17), seed=15),
        "zero_fused": (za, zb, np.zeros((20, 24))),
        "colour": (np.stack([smooth((15, 17), s) for s in (1, 2, 3)], axis=2),
                   smooth((15, 17), 4), np.stack([smooth((15, 17), s) for s in (5, 6, 7)], 2)),
    }


CASES = _cases()
CORR = "correlation with a constant image is undefined"
EXPECTED_ERRORS = {
    ("constant", "CC"): CORR, ("constant", "SCD"): CORR,
    ("all_equal", "CC"): CORR, ("all_equal", "SCD"): CORR,
    ("all_equal", "PSNR"): "PSNR is infinite: F equals both sources",
    ("zero_fused", "CC"): CORR,
    ("constant", "Qsf"): "both sources are constant",
    ("all_equal", "Qsf"): "both sources are constant",
}
PROFILE_ERRORS = {("zero_fused", "PSNR", "cddfuse"): "all-zero fused image"}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("profile", ["default", "vifb", "mefb", "tang", "cddfuse", "liu"])
def test_edge_cases_give_a_value_or_a_clear_error(case, profile):
    a, b, f = CASES[case]
    for name in METRICS:
        msg = PROFILE_ERRORS.get((case, name, profile)) or EXPECTED_ERRORS.get((case, name))
        if msg:
            with pytest.raises(MetricUndefined, match=msg):
                compute(name, a, b, f, profile=profile)
            continue
        v = compute(name, a, b, f, profile=profile)
        assert math.isfinite(v), (case, name, profile, v)


def test_edge_case_values():
    a, b, f = CASES["constant"]
    for name in ("SD", "SF", "AG", "EI"):
        assert compute(name, a, b, f) == 0.0
    assert compute("MSE", a, b, f) == ((23 ** 2) + (51 ** 2)) / 2
    a, b, f = CASES["zero_fused"]
    assert compute("SD", a, b, f) == 0.0 and compute("EI", a, b, f) == 0.0
    assert compute("Qsf", a, b, f) == -1.0 and compute("SD", a, b, f, profile="tang") == 0.0
    # SCD is defined for an all-zero F: corr(-B, A) + corr(-A, B)
    assert compute("SCD", a, b, f) == pytest.approx(-2 * np.corrcoef(a.ravel(), b.ravel())[0, 1])
    assert conventions("PSNR", "cddfuse") == {"form": "cddfuse"}


# ------------------------------------------------------------------------------------------------
# VIFB calibration: SD, SF, AG, EI, PSNR, RMSE against VIFB's stored MATLAB values
# ------------------------------------------------------------------------------------------------

@pytest.mark.shared_data
def test_vifb_calibration_spatial_and_error_metrics(shared_data):
    from tests.vifb_reference import VIFB_NAMES, reference_rows, triple as vifb_triple, \
        within_tolerance
    names = {"Variance", "Spatial_frequency", "Avg_gradient", "Edge_intensity", "Psnr", "Rmse"}
    rows = [r for r in reference_rows(shared_data) if r[2] in names]
    assert len(rows) == 6 * 13 * 21
    worst, failures = {}, []
    for scene, method, metric, stored in rows:
        ir, vi, fused = vifb_triple(shared_data, scene, method)
        got = compute(VIFB_NAMES[metric], vi, ir, fused, profile="vifb")  # VIFB passes VI first
        worst[metric] = max(worst.get(metric, 0.0), abs(got - stored) / abs(stored))
        if not within_tolerance(got, stored):
            failures.append((scene, method, metric, got, stored))
    assert not failures, failures[:5]
    print("VIFB worst relative deviation:", {k: f"{v:.2e}" for k, v in worst.items()})


# ------------------------------------------------------------------------------------------------
# GNU Octave running the reference code (fixture written by the reference run, where present)
# ------------------------------------------------------------------------------------------------

REF = Path(__file__).parent / "fixtures" / "metric_reference"


def test_octave_reference_values_spatial_and_error_metrics():
    path = REF / "values.json"
    if not path.is_file():
        pytest.skip("tests/fixtures/metric_reference/values.json not present")
    recs = json.loads(path.read_text())
    triples = json.loads((REF / "triples.json").read_text())
    from bench.imageio import read_image

    def load(tid):
        t = triples[tid]
        return [read_image(REF / t[k]).data.astype(np.float64) for k in ("a", "b", "f")]

    n = 0
    for r in recs:
        if (r["metric"] not in METRICS or triples[r["triple"]]["shared_data"]
                or r["trust"] != "exact" or r["value"] is None):
            continue
        a, b, f = load(r["triple"])
        x, y = (a, b) if r["order"] == "ab" else (b, a)
        opts = dict(r["options"])  # Tang's uint8 SD and [0, 1] SF are its profile's conventions
        if r["triple"] == "gen_constant" and r["metric"] in ("CC", "SCD"):
            # the toolkit divides 0 by 0 and returns rounding noise (8.8e14, 0); fusebench
            # raises MetricUndefined instead
            with pytest.raises(MetricUndefined):
                compute(r["metric"], x, y, f, profile=r["profile"], **opts)
            continue
        got = compute(r["metric"], x, y, f, profile=r["profile"], **opts)
        # CDDFuse works in float32 (and its grey conversion is cv2's): 1e-4 there
        tol = 1e-4 if r["toolkit"] == "cddfuse" else 1e-9
        assert got == pytest.approx(r["value"], rel=tol, abs=1e-12), r["id"]
        n += 1
    assert n > 100
