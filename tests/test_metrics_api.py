"""The public metric API: names, aliases, profiles, the batch forms, and the edge-case contract
(every registered metric under every profile gives a finite value or a clear ValueError, never a
crash and never NaN)."""
import numpy as np
import pytest

from bench import metrics
from bench.metrics import MetricUndefined, available, compute, compute_many
from bench.metrics.profiles import PROFILES
from bench.registry import METRICS

RNG = np.random.default_rng(11)


def smooth(shape, seed):
    import cv2
    x = np.random.default_rng(seed).random(shape).astype(np.float32)
    x = cv2.GaussianBlur(x, (0, 0), 3)
    x = (x - x.min()) / (x.max() - x.min())
    return np.rint(x * 255).astype(np.float64)


def triple(shape=(64, 80)):
    return smooth(shape, 1), smooth(shape, 2), smooth(shape, 3)


EDGE_CASES = {
    "constant": lambda: (np.full((64, 80), 100.0), np.full((64, 80), 150.0), np.full((64, 80), 128.0)),
    "near_binary": lambda: tuple(np.where(smooth((64, 80), s) > 127, 255.0, 0.0) for s in (4, 5, 6)),
    "16x16": lambda: triple((16, 16)),
    "odd_33x47": lambda: triple((33, 47)),
    "all_zero_fused": lambda: (smooth((64, 80), 7), smooth((64, 80), 8), np.zeros((64, 80))),
}


def test_vifb_spellings_are_aliases():
    for vifb, ours in {"Entropy": "EN", "Mutinf": "MI", "Avg_gradient": "AG", "Variance": "SD",
                       "Spatial_frequency": "SF", "Edge_intensity": "EI", "Cross_entropy": "CE",
                       "Psnr": "PSNR", "Rmse": "RMSE", "Ssim": "SSIM"}.items():
        assert METRICS.get(vifb).name == ours
        assert METRICS.get(vifb.upper()).name == ours


def test_issue_metric_list_is_registered():
    wanted = ["EN", "CE", "MI", "NMI", "FMI_pixel", "FMI_edge", "FMI_gradient", "FMI_dct", "FMI_w",
              "QNCIE", "TE", "SD", "SF", "AG", "EI", "CC", "SCD", "PSNR", "MSE", "RMSE", "SSIM",
              "MS-SSIM", "MEF-SSIM", "VIF", "VIFF", "Qabf", "Nabf", "Labf", "Qcb", "Qcv", "Qy",
              "Qc", "Qw", "Qp", "PSNR_gt", "SSIM_gt", "MAE_gt"]
    for name in wanted:
        entry = METRICS.get(name)
        assert entry.meta["direction"] in ("higher", "lower")
        assert entry.meta["family"] and entry.meta["needs"]
        assert entry.obj.__doc__ and len(entry.obj.__doc__) > 80, f"{name} needs a docstring"
    assert METRICS.get("Qcv").meta["direction"] == "lower"
    assert METRICS.get("Nabf").meta["direction"] == "lower"


def test_available_lists_names_and_profiles():
    table = available()
    assert set(table) == set(METRICS.names())
    assert all("default" in profiles for profiles in table.values())
    assert "vifb" in table["MI"] and "tang" in table["MI"] and "cddfuse" in table["MI"]
    assert {"default", "vifb", "mefb", "tang", "cddfuse", "liu"} <= set(PROFILES)


def test_profiles_differ_where_the_toolkits_do():
    a, b, f = triple((96, 112))
    mi = {p: compute("MI", a, b, f, profile=p) for p in ("tang", "cddfuse", "default")}
    assert mi["cddfuse"] == pytest.approx(mi["default"] * np.log(2), rel=1e-9)  # nats vs bits
    assert compute("PSNR", a, b, f, profile="tang") == pytest.approx(
        compute("PSNR", a, b, f, profile="default") + 20 * np.log10(255), abs=1e-6)
    # VIFB sums SSIM over the sources, the default averages (same window and L = 255)
    assert compute("SSIM", a, b, f, profile="vifb") == pytest.approx(2 * compute("SSIM", a, b, f))
    # Tang's toolkit name MS_SSIM means MEF-SSIM; elsewhere MS-SSIM is Wang's
    assert metrics.resolve("MS_SSIM", "tang")[0].name == "MEF-SSIM"
    assert metrics.resolve("MS_SSIM", "default")[0].name == "MS-SSIM"


def test_compute_many_matches_compute_and_leaves_inputs_alone():
    a, b, f = triple((48, 56))
    a_copy = a.copy()
    names = ["EN", "MI", "SSIM", "Qabf", "SF", "nosuch"]
    values, errors = compute_many(names, a, b, f)
    for n in names[:-1]:
        assert values[n] == compute(n, a, b, f)
    assert "nosuch" in errors
    assert a.flags.writeable and np.array_equal(a, a_copy)


def test_colour_inputs_and_explicit_errors():
    a = smooth((40, 48), 1)
    b = np.dstack([smooth((40, 48), s) for s in (2, 3, 4)])
    f = np.dstack([smooth((40, 48), s) for s in (5, 6, 7)])
    for p in PROFILES:
        assert np.isfinite(compute("EN", a, b, f, profile=p))
    with pytest.raises(ValueError, match="different sizes"):
        compute("MI", a, b[:-1], f)
    with pytest.raises(ValueError, match="ground-truth"):
        compute("PSNR_gt", a, b, f)
    with pytest.raises(ValueError, match="unknown metric profile"):
        compute("EN", a, b, f, profile="matlab")


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_edge_cases_give_a_value_or_a_clear_error(case, profile):
    a, b, f = EDGE_CASES[case]()
    gt = a
    for entry in METRICS:
        try:
            value = compute(entry.name, a, b, f, profile=profile, gt=gt)
        except ValueError as exc:  # MetricUndefined is a ValueError
            assert str(exc), f"{entry.name}/{profile}/{case}: empty error message"
            continue
        assert np.isfinite(value), f"{entry.name}/{profile}/{case} returned {value}"


def test_metric_undefined_is_a_value_error():
    assert issubclass(MetricUndefined, ValueError)
