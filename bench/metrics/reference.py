"""Reference-based metrics: F against a ground-truth image (multi-focus, multi-exposure and
synthetic benchmarks that have one). They ignore the sources.

All work on the profile's grey planes on the 0..255 scale; colour images follow the profile's
colour rule (per RGB channel, averaged, under vifb/mefb; one grey plane elsewhere).
"""
from __future__ import annotations

import numpy as np

from .registry import register_metric
from .ssim import ssim_map
from .windows import Arena, _mean, _undefined, buffer


@register_metric(
    "PSNR_gt", direction="higher", family="reference", needs=("gt", "fused"),
    aliases=("PSNR-gt", "PSNR_ref", "psnr_reference"),
    description="peak signal-to-noise ratio of F against the ground truth, dB (peak 255)")
def psnr_gt(a, b, f, *, gt, peak: float = 255.0) -> float:
    """PSNR = 10 log10(peak^2 / MSE), MSE = mean((F - GT)^2) on the 0..255 scale; peak = 255 (the
    format's full range, not max(F)). Units: dB. F equal to GT has infinite PSNR: MetricUndefined
    (no capped stand-in value such as 100 dB)."""
    with Arena():
        diff = np.subtract(f, gt, out=buffer(np.shape(f)), dtype=np.float64)
        mse = float(np.vdot(diff, diff)) / diff.size
    if mse == 0:
        raise _undefined("PSNR_gt is infinite: F equals the ground truth exactly")
    return float(10.0 * np.log10(peak * peak / mse))


@register_metric(
    "SSIM_gt", direction="higher", family="reference", needs=("gt", "fused"),
    aliases=("SSIM-gt", "SSIM_ref", "ssim_reference"),
    description="SSIM of F against the ground truth (Gaussian 11/1.5, 'valid', L = 255)")
def ssim_gt(a, b, f, *, gt, data_range: float = 255.0, window: str = "gaussian",
            win_size: int = 11, sigma: float = 1.5, border: str = "valid") -> float:
    """SSIM(F, GT), Wang et al. 2004: K1 = 0.01, K2 = 0.03, L = data_range = 255 on the 0..255
    scale, Gaussian window 11 x 11 with sigma 1.5, 'valid' (Wang's ssim_index.m), the mean of the
    map. Unitless, <= 1; 1 for F = GT. The window options are those of SSIM. Images smaller than
    the window raise ValueError."""
    with Arena():
        return _mean(ssim_map(f, gt, data_range=data_range, window=window, win_size=win_size,
                              sigma=sigma, border=border))


@register_metric(
    "MAE_gt", direction="lower", family="reference", needs=("gt", "fused"),
    aliases=("MAE-gt", "MAE_ref", "mae_reference"),
    description="mean absolute error of F against the ground truth (0..255 scale)")
def mae_gt(a, b, f, *, gt) -> float:
    """MAE = mean(|F - GT|) on the 0..255 scale (divide by 255 for the [0, 1] scale). 0 for
    F = GT."""
    with Arena():
        diff = np.subtract(f, gt, out=buffer(np.shape(f)), dtype=np.float64)
        return float(np.mean(np.abs(diff, out=diff)))
