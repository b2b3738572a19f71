"""bench.faithfulness: the protocol that compares our ports with the original implementations'
published outputs (issue #5), and the registry's reference declarations."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import faithfulness as fa


def _average(a, b, task):
    return (a + b) / 2


def test_compare_identical_is_infinite_psnr_and_unit_ssim():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (40, 50, 3)).astype(np.float64)
    psnr, ssim = fa.compare(ref / 255.0, ref)
    assert psnr == float("inf") and ssim == pytest.approx(1.0)


def test_compare_one_grey_level_everywhere_is_48_13_db():
    ref = np.full((32, 32), 100.0)
    psnr, _ = fa.compare(np.full((32, 32), 101.0) / 255.0, ref)
    assert psnr == pytest.approx(10 * np.log10(255.0 ** 2), abs=1e-9)  # 48.13 dB


def test_grey_output_is_compared_with_rgb2gray_of_the_reference():
    rgb = np.zeros((16, 16, 3))
    rgb[..., 0] = 255.0
    grey = fa.rgb2gray(rgb)
    assert grey[0, 0] == pytest.approx(255 * 0.298936021293776)
    psnr, _ = fa.compare(np.round(grey) / 255.0, rgb)
    assert psnr > 50


def test_colour_modes():
    rng = np.random.default_rng(1)
    ir = rng.random((16, 20)).astype(np.float32)
    vis = rng.random((16, 20, 3)).astype(np.float32)
    per_channel = fa.port_output(_average, [ir, vis], "ivf", "per-channel")
    assert per_channel.shape == (16, 20, 3)
    np.testing.assert_allclose(per_channel[..., 1], (ir + vis[..., 1]) / 2, atol=1e-6)
    grey = fa.port_output(_average, [ir, vis], "ivf", "grey")
    np.testing.assert_allclose(grey, (ir + fa.rgb2gray(vis)) / 2, atol=1e-6)
    y = fa.port_output(_average, [ir, vis], "ivf", "y")
    assert y.shape == (16, 20, 3) and np.isfinite(y).all()
    with pytest.raises(TypeError, match="fuse_colour"):
        fa.port_output(_average, [ir, vis], "ivf", "native")
    with pytest.raises(ValueError, match="colour mode"):
        fa.port_output(_average, [ir, vis], "ivf", "rgb")


def test_summary_applies_the_bar():
    rows = [{"psnr": 31.0, "ssim": 0.5, "seconds": 1.0}, {"psnr": 30.0, "ssim": 0.5, "seconds": 1.0}]
    assert fa.summarise(rows)["meets_bar"]
    rows = [{"psnr": 25.0, "ssim": 0.96, "seconds": 1.0}]
    assert fa.summarise(rows)["meets_bar"]
    rows = [{"psnr": 25.0, "ssim": 0.94, "seconds": 1.0}]
    assert not fa.summarise(rows)["meets_bar"]


REFERENCES = fa.registered_references()


def test_every_declared_reference_is_well_formed():
    assert len(REFERENCES) >= 10, REFERENCES
    for method, refset, folder, colour in REFERENCES:
        assert refset in fa.REFSETS, (method, refset)
        assert colour in fa.COLOUR_MODES, (method, colour)


REPORT = Path(__file__).resolve().parent.parent / "reports" / "faithfulness" / "summary.csv"


def test_committed_report_covers_every_declared_reference_and_meets_the_bar_or_says_why():
    """reports/faithfulness/summary.csv (written by `python -m bench.faithfulness`, full
    reference sets) names every registered (method, reference) pair; each meets the bar or
    the method declares a shortfall with its measured values. The ports themselves are run
    against the references in each baseline test file (a few images each)."""
    import pandas as pd
    from bench.registry import METHODS
    table = pd.read_csv(REPORT).rename(columns={"reference set": "refset", "PSNR dB": "psnr"})
    rows = {(r.method, r.refset): r for r in table.itertuples()}
    for method, refset, folder, colour in REFERENCES:
        row = rows.get((method, refset))
        assert row is not None, f"{method}/{refset} is missing from {REPORT}: rerun bench.faithfulness"
        assert row.reference == folder and row.colour == colour, (method, refset)
        if not (row.psnr >= fa.PSNR_BAR_DB or row.SSIM >= fa.SSIM_BAR):
            why = METHODS.get(method).meta.get("shortfall", {}).get(refset, "")
            assert "PSNR" in why and "SSIM" in why, f"{method}/{refset} below the bar, unexplained"
