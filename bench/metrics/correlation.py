"""Correlation metrics: CC and SCD.

Re-implemented from the formulas and from the behaviour of the reference code as read (not
copied): Tang's published toolkit CC_evaluation.m and analysis_SCD.m (Linfeng-Tang/Image-Fusion
`General Evaluation Metric/Evaluation` @53f5542 = SeAFusion Evaluation/ @d3ae78e; called on the
im2double images, which neither correlation depends on) and CDDFuse's utils/Evaluator.py
(Zhaozixiang1228/MMIF-CDDFuse @40de058). VIFB and MEFB do not compute them.

A correlation with a constant image is 0/0: MetricUndefined says so instead of a NaN.
"""
from __future__ import annotations

import numpy as np

from . import MetricUndefined
from .registry import register_metric
from .windows import Arena, buffer


def _corr(x: np.ndarray, y: np.ndarray, name: str, x_mean: float | None = None) -> float:
    """Pearson correlation (MATLAB corr2): sum((x - mx)(y - my)) / sqrt(sum((x-mx)^2) sum((y-my)^2)).
    x_mean replaces mx in the numerator only (Tang's CC_evaluation quirk)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with Arena():  # scratch arrays from the pool (pages already faulted in)
        dx = np.subtract(x, x.mean(), out=buffer(x.shape))
        dy = np.subtract(y, y.mean(), out=buffer(y.shape))
        t = np.multiply(dx, dx, out=buffer(x.shape))
        sxx = float(t.sum())
        syy = float(np.multiply(dy, dy, out=t).sum())
        if sxx == 0 or syy == 0:
            raise MetricUndefined(f"{name}: correlation with a constant image is undefined "
                                  "(0/0)")
        if x_mean is not None:
            np.subtract(x, x_mean, out=dx)
        num = float(np.multiply(dx, dy, out=t).sum())
    return num / np.sqrt(sxx * syy)


@register_metric(
    "CC", direction="higher", family="correlation",
    aliases=("correlation_coefficient", "cc"),
    description="mean over sources of the Pearson correlation of each source with F",
    conventions={
        "default": {},
        "tang": {"tang_mean_quirk": True},
        "cddfuse": {},
    })
def correlation_coefficient(a, b, f, tang_mean_quirk: bool = False) -> float:
    """CC = [corr(A, F) + corr(B, F)] / 2, Pearson correlation over all pixels (-1..1,
    unitless; any data range). Mean over the two sources.

    Conventions: one formula everywhere (Tang CC_evaluation.m; CDDFuse Evaluator.CC).
    tang_mean_quirk=True (profile tang) reproduces CC_evaluation.m's use of mean(A) instead of
    mean(B) in the numerator of the B term; it changes nothing mathematically (the centred F
    sums to 0) and only the last bits numerically. MetricUndefined if an image is constant.
    """
    r_af = _corr(a, f, "CC")
    r_bf = _corr(b, f, "CC", x_mean=float(np.mean(a)) if tang_mean_quirk else None)
    return (r_af + r_bf) / 2.0


@register_metric(
    "SCD", direction="higher", family="correlation",
    aliases=("sum_of_correlations_of_differences", "scd"),
    description="sum of the correlations of differences: corr(F-B, A) + corr(F-A, B)",
    conventions={
        "default": {},
        "tang": {},
        "cddfuse": {},
    })
def scd(a, b, f) -> float:
    """SCD = corr2(F - B, A) + corr2(F - A, B) (Aslantas & Bendes, AEU 69(12), 2015): how much
    of each source's information the fused image carries beyond the other source. Sum over
    the two sources; each term -1..1, so -2..2; unitless, any data range.

    Conventions: one formula everywhere (Tang analysis_SCD.m on the im2double images; CDDFuse
    Evaluator.SCD). MetricUndefined when a source is constant or F - A (F - B) is constant
    (e.g. F equal to a source).
    """
    with Arena():  # the differences are scratch
        fb = np.subtract(f, b, out=buffer(np.shape(f)), dtype=np.float64)
        fa = np.subtract(f, a, out=buffer(np.shape(f)), dtype=np.float64)
        return _corr(fb, a, "SCD") + _corr(fa, b, "SCD")
