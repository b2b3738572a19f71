"""VSMWLS: visual saliency map + weighted least squares fusion (Ma, Zhou, Wang & Zong, Infrared
Physics & Technology 82, 2017).

Each source (infrared a, visible b, in [0, 1]) is split into `levels` + 1 layers by a rolling
guidance filter (RGF, spatial sigma 2, 4, 8 at the first three scales, range sigma 0.05, 4
iterations, guided-filter variant) and a final Gaussian (sigma 2):
- base layer: weighted average with weights 0.5 +- 0.5 (S_a - S_b), S the histogram-contrast
  visual saliency (sum_i hist(i) |v - i| over the uint8 grey levels, min-max normalised);
- finest detail layer: choose-max-abs;
- the other detail layers: a Gaussian-smoothed (sigma 2, 13 x 13) max-abs map M, refined by the
  WLS problem  min_D ||D - M||^2 + lam * sum A (D - d_a)^2,  A = 1 / (|box7(d_b)| + 1e-6),
  lam = 0.01. Its matrix is diagonal, so the solve is elementwise:
  D = (M + lam A d_a) / (1 + lam A).
The fused image is the sum of the fused layers. Borders follow the authors' MATLAB code
(`imfilter` 'replicate' / 'symmetric', He's guided filter with truncated box windows).

Colour: VIFB's run script fuses each visible RGB channel with the grey infrared image
(faithfulness mode 'per-channel').
"""
from __future__ import annotations

import numpy as np

from bench.metrics.matlab import fspecial_gaussian, imfilter, to_uint8
from methods.base import register_method

from ._matlab import guided_filter  # truncated border windows, as the authors' code


def gauss_filter(img: np.ndarray, sigma: float) -> np.ndarray:
    """The authors' gaussFilter: (2 * round(3 sigma) + 1)^2 Gaussian, replicated borders."""
    size = 2 * int(np.floor(3 * sigma + 0.5)) + 1
    return imfilter(img, fspecial_gaussian(size, sigma), "replicate")


def rolling_guidance_filter(img: np.ndarray, sigma_s: float, sigma_r: float,
                            iterations: int) -> np.ndarray:
    """RGF with guided-filter joint steps (Zhang et al. 2014): start from a Gaussian blur, then
    `iterations` times filter the input guided by the previous result (radius sigma_s,
    eps sigma_r^2)."""
    res = gauss_filter(img, sigma_s)
    for _ in range(iterations):
        res = guided_filter(res, img, int(sigma_s), sigma_r ** 2)
    return res


def visual_saliency(img: np.ndarray) -> np.ndarray:
    """Histogram-contrast saliency of the uint8-quantised image, min-max normalised to [0, 1]
    (zero when constant)."""
    levels = to_uint8(255.0 * img)
    hist = np.bincount(levels.ravel(), minlength=256).astype(np.float64)
    grey = np.arange(256, dtype=np.float64)
    table = np.abs(grey[:, None] - grey[None, :]) @ hist
    sal = table[levels]
    lo, hi = sal.min(), sal.max()
    return (sal - lo) / (hi - lo) if hi > lo else np.zeros_like(sal)


def decompose(img: np.ndarray, levels: int, sigma_s: float, sigma_r: float,
              iterations: int) -> list[np.ndarray]:
    """[detail_1, ..., detail_levels, base]: RGF scales sigma_s * 2^k for the first levels - 1
    layers, then a Gaussian (sigma_s) for the last detail layer."""
    layers, current, s = [], img, sigma_s
    for _ in range(levels - 1):
        smoother = rolling_guidance_filter(current, s, sigma_r, iterations)
        layers.append(current - smoother)
        current, s = smoother, 2 * s
    base = gauss_filter(current, sigma_s)
    layers.append(current - base)
    layers.append(base)
    return layers


def wls_detail(selection: np.ndarray, detail_a: np.ndarray, detail_b: np.ndarray,
               lam: float) -> np.ndarray:
    """Elementwise solution of the authors' (diagonal) WLS problem: keep close to the selection,
    and to the infrared detail where the visible detail is weak."""
    weight = 1.0 / (np.abs(imfilter(detail_b, np.full((7, 7), 1.0 / 49.0), "replicate")) + 1e-6)
    return (selection + lam * weight * detail_a) / (1.0 + lam * weight)


@register_method("vsmwls", tasks=["ivf"], kind="classical", baseline=True,
                 description="visual-saliency base fusion + WLS-optimised RGF detail layers",
                 paper="Ma et al., Infrared and visible image fusion based on visual saliency map "
                       "and weighted least square optimization, Infrared Phys. Technol. 2017",
                 year=2017,
                 params={"levels": 4, "sigma_s": 2.0, "sigma_r": 0.05, "rgf_iterations": 4,
                         "lam": 0.01, "sigma0": 2.0},
                 reference={"vifb": ("VSMWLS", "per-channel")})
def vsmwls(a: np.ndarray, b: np.ndarray, task: str, levels: int = 4, sigma_s: float = 2.0,
           sigma_r: float = 0.05, rgf_iterations: int = 4, lam: float = 0.01,
           sigma0: float = 2.0) -> np.ndarray:
    """Fuse infrared `a` and visible `b` (H x W, [0, 1]); parameters as the authors' code."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    la = decompose(a64, levels, sigma_s, sigma_r, rgf_iterations)
    lb = decompose(b64, levels, sigma_s, sigma_r, rgf_iterations)
    sal_diff = visual_saliency(a64) - visual_saliency(b64)
    fused = (0.5 + 0.5 * sal_diff) * la[-1] + (0.5 - 0.5 * sal_diff) * lb[-1]
    fused += np.where(np.abs(la[0]) < np.abs(lb[0]), lb[0], la[0])
    half = int(np.floor(3 * sigma0))
    smoothing = fspecial_gaussian(2 * half + 1, sigma0)
    for k in range(levels - 1, 0, -1):
        pick_b = imfilter((np.abs(la[k]) < np.abs(lb[k])).astype(np.float64), smoothing, "symmetric")
        selection = pick_b * lb[k] + (1.0 - pick_b) * la[k]
        fused += wls_detail(selection, la[k], lb[k], lam)
    return fused.astype(np.float32)
