"""Error metrics of F against the sources: MSE, RMSE and PSNR.

Each is computed for (A, F) and (B, F) and the two are averaged. The toolkits disagree on the
scale of the error and on the PSNR peak; every convention is reproduced by an option and named
by the profile. Re-implemented from the formulas and from the behaviour of the reference code as
read (not copied):

- VIFB: xingchenzhang/VIFB metrics/metricsPsnr.m, metricsRmse.m @5d29ee7 and MEFB
  metrics/metricsPsnr.m @82014f4: their `mse(a, b)` is sqrt(sum((a - b).^2)) / (m n), i.e.
  sqrt(SSE) / MN = RMSE / sqrt(MN), not the mean squared error;
- Tang: the published toolkit (Linfeng-Tang/Image-Fusion `General Evaluation Metric/
  Evaluation` @53f5542 = SeAFusion Evaluation/ @d3ae78e): analysis_Reference.m calls
  PSNR_evaluation.m / MSE_evaluation.m on the im2double images (MSE on [0, 1]) but the PSNR
  peak stays 255, so its PSNR is the true PSNR + 20 log10(255) = + 48.13 dB;
- CDDFuse: Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py @40de058: MSE on 0..255 and PSNR
  with peak max(F).
"""
from __future__ import annotations

import numpy as np

from . import MetricUndefined
from .registry import register_metric
from .windows import Arena, buffer, memo


def _sse(x: np.ndarray, f: np.ndarray) -> float:
    """sum((x - f)^2), memoised on read-only planes (MSE, RMSE and PSNR of one compute_many()
    call share it)."""
    def compute() -> float:
        with Arena():
            xx, ff = np.asarray(x, dtype=np.float64), np.asarray(f, dtype=np.float64)
            d = np.subtract(xx, ff, out=buffer(np.broadcast_shapes(xx.shape, ff.shape)))
            return float(np.multiply(d, d, out=d).sum())
    return memo([x, f], ("sse",), compute)


def _mse_pair(a, b, f, scale: float = 1.0) -> tuple[float, float]:
    """(MSE_AF, MSE_BF) with all values multiplied by `scale` first (1/255 -> [0, 1])."""
    if scale != 1.0:
        a, b, f = (np.asarray(x, dtype=np.float64) / (1.0 / scale) for x in (a, b, f))
    n = np.size(f)
    return _sse(a, f) / n, _sse(b, f) / n


def _vifb_mse(x: np.ndarray, f: np.ndarray) -> float:
    """VIFB/MEFB `mse(a, b)`: sqrt(sum((a - b)^2)) / (m n)."""
    return float(np.sqrt(_sse(x, f)) / np.size(f))


@register_metric(
    "MSE", direction="lower", family="error",
    aliases=("mean_squared_error", "mse"),
    description="mean squared error of F against the sources, averaged over sources "
                "(0..255 scale; Tang on [0, 1])",
    conventions={
        "default": {},
        "tang": {"scale": 1.0 / 255.0},
        "cddfuse": {},
    })
def mse(a, b, f, scale: float = 1.0) -> float:
    """MSE = [MSE(A, F) + MSE(B, F)] / 2, MSE(X, F) = mean((X - F)^2) over all pixels. Mean
    over the two sources. Units: squared grey levels on the 0..255 scale (scale=1), or on
    [0, 1] (scale=1/255, Tang's MSE_evaluation on im2double images: values 255^2 = 65025
    times smaller).

    Conventions: default and cddfuse (Evaluator.MSE) on 0..255; tang on [0, 1].
    """
    ma, mb = _mse_pair(a, b, f, scale)
    return (ma + mb) / 2.0


@register_metric(
    "RMSE", direction="lower", family="error",
    aliases=("root_mean_squared_error", "rmse"),
    description="root mean squared error of F against the sources (0..255 scale; VIFB: its "
                "sqrt(SSE)/MN, averaged over sources)",
    conventions={
        "default": {},
        "vifb": {"form": "vifb", "_colour": "vifb-loop"},
        "mefb": {"form": "vifb", "_colour": "mefb-loop"},
    })
def rmse(a, b, f, form: str = "sqrt-mean-mse") -> float:
    """RMSE of F against the sources, 0..255 scale (grey levels).

    form:
    - 'sqrt-mean-mse' (default): sqrt([MSE(A, F) + MSE(B, F)] / 2), the root of the mean
      squared error over both sources, so that PSNR = 20 log10(255 / RMSE) with the default
      PSNR.
    - 'vifb': [m(A, F) + m(B, F)] / 2 with VIFB's m(X, F) = sqrt(sum((X - F)^2)) / (M N)
      (metricsRmse.m @5d29ee7): RMSE / sqrt(MN) of each source, averaged -- about 550 times
      smaller than the RMSE at 480 x 640, and size dependent. Per RGB channel averaged; with a
      grey F, colour sources go through rgb2gray on doubles.
    """
    if form == "vifb":
        return (_vifb_mse(a, f) + _vifb_mse(b, f)) / 2.0
    if form == "sqrt-mean-mse":
        ma, mb = _mse_pair(a, b, f)
        return float(np.sqrt((ma + mb) / 2.0))
    raise ValueError(f"form must be 'sqrt-mean-mse' or 'vifb', got {form!r}")


@register_metric(
    "PSNR", direction="higher", family="error",
    aliases=("peak_signal_to_noise_ratio", "psnr"),
    description="PSNR of F against the sources, dB (conventions differ: true PSNR, VIFB's "
                "~60 dB, Tang's +48.13 dB, CDDFuse's peak max(F))",
    conventions={
        "default": {},
        "vifb": {"form": "vifb", "_colour": "vifb-loop"},
        "mefb": {"form": "vifb", "_colour": "mefb-loop"},
        "tang": {"form": "tang"},
        "cddfuse": {"form": "cddfuse"},
    })
def psnr(a, b, f, form: str = "true", peak: float = 255.0) -> float:
    """PSNR = 10 log10(peak^2 / MSE) in dB, MSE = [MSE(A, F) + MSE(B, F)] / 2 (mean over the
    two sources), data range 0..255.

    form:
    - 'true' (default): peak 255, MSE on 0..255 -- the textbook PSNR (about 16-18 dB for a
      fused image against its sources).
    - 'vifb': 20 log10(255 / sqrt(M_e)), M_e = [m(A, F) + m(B, F)] / 2 with VIFB's
      m(X, F) = sqrt(SSE) / (M N) (metricsPsnr.m @5d29ee7, MEFB metricsPsnr.m @82014f4): about
      58-61 dB, size dependent; per RGB channel averaged.
    - 'tang': MSE on images divided by 255 but peak 255 (PSNR_evaluation.m): the true PSNR
      + 20 log10(255) = + 48.13 dB (about 60-68 dB).
    - 'cddfuse': peak = max(F), MSE on 0..255 (Evaluator.PSNR); equals the true PSNR when
      max(F) = 255.
    MetricUndefined when the error is 0 (F equals both sources: infinite PSNR) and, for
    'cddfuse', when F is all zero (peak 0).
    """
    if form == "vifb":
        me = (_vifb_mse(a, f) + _vifb_mse(b, f)) / 2.0
        if me == 0:
            raise MetricUndefined("PSNR is infinite: F equals both sources")
        return float(20.0 * np.log10(255.0 / np.sqrt(me)))
    if form == "tang":
        ma, mb = _mse_pair(a, b, f, 1.0 / 255.0)
        m = 0.5 * ma + 0.5 * mb
        if m == 0:
            raise MetricUndefined("PSNR is infinite: F equals both sources")
        return float(20.0 * np.log10(255.0 / np.sqrt(m)))
    ma, mb = _mse_pair(a, b, f)
    m = (ma + mb) / 2.0
    if m == 0:
        raise MetricUndefined("PSNR is infinite: F equals both sources")
    if form == "cddfuse":
        top = float(np.max(f))
        if top <= 0:
            raise MetricUndefined("PSNR (CDDFuse convention, peak = max(F)) is -inf for an "
                                  "all-zero fused image")
        return float(10.0 * np.log10(top * top / m))
    if form == "true":
        return float(10.0 * np.log10(peak * peak / m))
    raise ValueError(f"form must be 'true', 'vifb', 'tang' or 'cddfuse', got {form!r}")
