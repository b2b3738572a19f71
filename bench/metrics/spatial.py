"""Spatial statistics of the fused image: SD, SF, AG and EI; and Qsf, F's spatial frequency
against the sources'.

SD, SF, AG and EI are no-reference measures of F alone (the sources are unused).
Re-implemented from the formulas and from the behaviour of the reference code as read (not
copied):

- VIFB: xingchenzhang/VIFB metrics/metricsVariance.m, metricsSpatial_frequency.m,
  metricsAvg_gradient.m, metricsEdge_intensity.m @5d29ee7;
- MEFB: xingchenzhang/MEFB metrics/metricsSD.m, metricsSpatial_frequency.m,
  metricsAvg_gradient.m, metricsEdge_intensity.m @82014f4;
- Tang: the published toolkit (Linfeng-Tang/Image-Fusion `General Evaluation Metric/
  Evaluation` @53f5542, identical to Linfeng-Tang/SeAFusion Evaluation/ @d3ae78e):
  analysis_Reference.m calls SD_evaluation(image_f) on the uint8 image, SF_evaluation on the
  im2double image and AG_evaluation(image_f); the `tang` profile reproduces that code as it
  runs, bugs included;
- CDDFuse: Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py @40de058;
- Z. Liu: zhengliu6699/imageFusionMetrics metricZheng.m @d6f7f1a (Qsf).

VIFB's SF uses the `vifb-fold-fused` colour rule, MEFB's AG `mefb-loop-rgb2gray` (both in
bench.metrics.profiles).
"""
from __future__ import annotations

import numpy as np

from . import MetricUndefined
from .matlab import gradient, imfilter, matlab_round, sobel_kernels
from .registry import register_metric
from .windows import Arena, buffer


def _check_size(name: str, f: np.ndarray, minimum: int = 2) -> None:
    if f.shape[0] < minimum or f.shape[1] < minimum:
        raise ValueError(f"{name} needs an image of at least {minimum} x {minimum} pixels, "
                         f"got {f.shape[0]} x {f.shape[1]}")


# --------------------------------------------------------------------------- SD
@register_metric(
    "SD", direction="higher", family="spatial", needs=("fused",),
    aliases=("variance", "std", "sd", "standard_deviation"),
    description="standard deviation of the fused image (0..255 scale; tang: the toolkit's "
                "uint8-saturating value)",
    conventions={
        "default": {},
        "vifb": {"_colour": "vifb-loop-u8"},
        "mefb": {"_colour": "mefb-loop-u8"},
        "tang": {"uint8_saturation": True},
        "cddfuse": {},
    })
def standard_deviation(a, b, f, uint8_saturation: bool = False) -> float:
    """SD = sqrt(mean((F - mean F)^2)): the population form (divide by MN), values on the
    0..255 scale, so SD is in grey levels (0..127.5). Sources unused.

    This is the correct statistic and what `default`, `vifb`, `mefb` and `cddfuse` compute:
    VIFB metricsVariance.m (called 'Variance' but returns the standard deviation) and MEFB
    metricsSD.m per RGB channel averaged (MEFB: F's red channel when both sources are grey);
    CDDFuse Evaluator.SD = np.std (on float32; the difference is below 1e-6 relative).

    tang (uint8_saturation=True) reproduces a BUG of Tang's published toolkit: its
    analysis_Reference.m (Linfeng-Tang/Image-Fusion @53f5542 = SeAFusion Evaluation/
    @d3ae78e) passes the uint8 fused image to SD_evaluation.m, so `F - u` is uint8
    arithmetic: deviations are rounded (MATLAB rounds halves away from zero), negative ones
    saturate to 0, and their squares saturate at 255. Only the pixels above the mean count,
    each by at most 255: values around 7-14 where the true SD is 25-110 (Octave running the
    toolkit: 9.2305 vs 24.737 on the gen_smooth_grey fixture). The input is taken as uint8
    (rounded and clipped to 0..255) first. Use it only to reproduce numbers published with
    Tang's toolkit; it is not a measure of contrast.
    """
    x = np.asarray(f, dtype=np.float64)
    if uint8_saturation:
        x = np.clip(matlab_round(x), 0.0, 255.0)
        u = x.mean(axis=0).mean()  # mean(mean(F)): column means first
        dev = np.clip(matlab_round(x - u), 0.0, 255.0)
        return float(np.sqrt(np.minimum(dev * dev, 255.0).sum() / x.size))
    return float(np.std(x))


# --------------------------------------------------------------------------- SF
@register_metric(
    "SF", direction="higher", family="spatial", needs=("fused",),
    aliases=("spatial_frequency", "sf"),
    description="spatial frequency of the fused image (0..255 scale; tang: on [0, 1])",
    conventions={
        "default": {},
        "vifb": {"divisor": "mn", "_colour": "vifb-fold-fused"},
        "mefb": {"divisor": "mn", "_colour": "mefb-loop-u8"},
        "tang": {"scale": 1.0 / 255.0},
        "cddfuse": {},
    })
def spatial_frequency(a, b, f, divisor: str = "terms", scale: float = 1.0) -> float:
    """SF = sqrt(RF^2 + CF^2), RF^2 the mean squared horizontal neighbour difference, CF^2 the
    mean squared vertical one. Values on the 0..255 scale (times `scale`). Sources unused.
    Needs at least 2 x 2 pixels.

    divisor: 'terms' -> RF^2 over its M(N-1) terms and CF^2 over its (M-1)N terms (default,
    Tang SF_evaluation, CDDFuse Evaluator.SF); 'mn' -> both sums divided by MN (VIFB/MEFB
    metricsSpatial_frequency.m).

    Conventions:
    - default, cddfuse: 'terms' on the 0..255 grey image -- the SF of the literature (Eskicioglu
      & Fisher 1995), in grey levels.
    - vifb: 'mn', and a colour F is folded: `[m,n]=size(fused)` on an H x W x 3 array gives
      n = 3W, so the loops run over the channels laid side by side, seams included (rule
      `vifb-fold-fused`; fight_ADF: 13.708 as stored, 13.614 without the folding).
    - mefb: 'mn', per RGB channel averaged (no folding; F's red channel when both sources are
      grey).
    - tang: 'terms' with scale=1/255, a BUG of Tang's published toolkit reproduced as it runs:
      analysis_Reference.m (Linfeng-Tang/Image-Fusion @53f5542 = SeAFusion Evaluation/
      @d3ae78e) passes the im2double image (values 0..1) to SF_evaluation.m, so its SF is
      1/255 of the 0..255 value (~0.03-0.1 instead of 8-25) while the other metrics of the
      same table are on 0..255. Multiply by 255 to compare with `default`.
    """
    _check_size("SF", f)
    x = np.asarray(f, dtype=np.float64)
    dx2 = np.square(np.diff(x, axis=1))
    dy2 = np.square(np.diff(x, axis=0))
    if divisor == "terms":
        rf2, cf2 = dx2.mean(), dy2.mean()
    elif divisor == "mn":
        rf2, cf2 = dx2.sum() / x.size, dy2.sum() / x.size
    else:
        raise ValueError(f"divisor must be 'terms' or 'mn', got {divisor!r}")
    return float(np.sqrt(rf2 + cf2)) * scale


# --------------------------------------------------------------------------- AG
@register_metric(
    "AG", direction="higher", family="spatial", needs=("fused",),
    aliases=("avg_gradient", "average_gradient", "ag"),
    description="average gradient of the fused image (0..255 scale)",
    conventions={
        "default": {},
        "vifb": {"divisor": "(m-1)(n-1)", "_colour": "vifb-loop-u8"},
        "mefb": {"divisor": "(m-1)(n-1)", "_colour": "mefb-loop-rgb2gray"},
        "tang": {"divisor": "(m-1)(n-1)"},
        "cddfuse": {},
    })
def average_gradient(a, b, f, divisor: str = "mn") -> float:
    """AG = sum over all MN pixels of sqrt((Gx^2 + Gy^2) / 2) / divisor, with Gx, Gy from
    MATLAB `gradient` (central differences, one-sided at the borders). Values on the 0..255
    scale (grey levels per pixel). Sources unused. Needs at least 2 x 2 pixels.

    divisor: 'mn' (a true mean; default and CDDFuse Evaluator.AG, np.mean) or '(m-1)(n-1)'
    (VIFB/MEFB metricsAvg_gradient.m and Tang AG_evaluation: the sum over MN gradient values
    divided by (M-1)(N-1), which Cui et al.'s forward-difference definition uses; ~0.5% higher
    at 480 x 640). fusebench's default takes the mean, so that the divisor matches the number
    of terms.

    Conventions: vifb per RGB channel averaged; mefb per channel, but a colour F with two grey
    sources goes through rgb2gray on doubles first (metricsAvg_gradient.m @82014f4); tang on
    the rgb2gray image.
    """
    _check_size("AG", f)
    gx, gy = gradient(f)
    s = np.sqrt((gx * gx + gy * gy) / 2.0).sum()
    m, n = f.shape
    if divisor == "mn":
        return float(s / (m * n))
    if divisor == "(m-1)(n-1)":
        return float(s / ((m - 1) * (n - 1)))
    raise ValueError(f"divisor must be 'mn' or '(m-1)(n-1)', got {divisor!r}")


# --------------------------------------------------------------------------- EI
@register_metric(
    "EI", direction="higher", family="spatial", needs=("fused",),
    aliases=("edge_intensity", "ei"),
    description="edge intensity: mean Sobel gradient magnitude of the fused image",
    conventions={
        "default": {},
        "vifb": {"_colour": "vifb-loop-u8"},
        "mefb": {"_colour": "mefb-loop-u8"},
    })
def edge_intensity(a, b, f) -> float:
    """EI = mean over all pixels of sqrt(Sx^2 + Sy^2), Sx and Sy the 3 x 3 Sobel responses
    (fspecial('sobel') and its transpose, unscaled) with replicate padding ('same' size).
    Values on the 0..255 scale (up to 4 x 255 sqrt 2). Sources unused.

    One formula everywhere (Rajalingam & Priya 2018, as VIFB metricsEdge_intensity.m @5d29ee7
    computes it: imfilter(fused, w, 'replicate') with w = fspecial('sobel') and w'); vifb per
    RGB channel averaged (the reference filters the whole H x W x 3 array and takes the mean of
    all values, which is the same); mefb: F's red channel when both sources are grey.
    """
    h, v = sobel_kernels()
    gx = imfilter(f, h, "replicate")
    gy = imfilter(f, v, "replicate")
    return float(np.sqrt(gx * gx + gy * gy).mean())


# --------------------------------------------------------------------------- Qsf
def _sf_terms(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Neighbour differences of x: horizontal, vertical, main diagonal (x(i,j) - x(i-1,j-1))
    and secondary diagonal (x(i,j) - x(i-1,j+1)); float64 arrays from the active Arena (pooled
    pages: fresh multi-megabyte arrays each cost a page fault per 4 KiB)."""
    x = np.asarray(x, dtype=np.float64)
    pairs = ((x[:, :-1], x[:, 1:]), (x[:-1, :], x[1:, :]), (x[1:, 1:], x[:-1, :-1]),
             (x[1:, :-1], x[:-1, 1:]))
    return tuple(np.subtract(p, q, out=buffer(p.shape)) for p, q in pairs)


@register_metric(
    "Qsf", direction="higher", family="spatial",
    aliases=("q_sf", "rsfe", "zheng", "metriczheng"),
    description="ratio of spatial frequency error (Zheng et al. 2007): (SF_F - SF_R) / SF_R with "
                "SF over four directions and the reference SF_R from the sources' larger "
                "gradients; ideal 0, usually negative",
    conventions={
        "default": {},
        "liu": {},
    })
def ratio_sf_error(a, b, f) -> float:
    """Qsf = rSFe = (SF_F - SF_R) / SF_R (Y. Zheng, E. A. Essock, B. C. Hansen & A. M. Haun,
    "A new metric based on extended spatial frequency and its application to DWT based fusion
    algorithms", Information Fusion 8(2), 2007), as Z. Liu's code computes it
    (zhengliu6699/imageFusionMetrics metricZheng.m @d6f7f1a, whose comment says it modifies
    the paper's equations (7)-(8); used in Liu et al., IEEE TPAMI 34(1), 2012).

    SF_F^2 = RF^2 + CF^2 + MDF^2 + SDF^2 of F: the sums of squared horizontal, vertical,
    main-diagonal and secondary-diagonal neighbour differences, each divided by MN (all M N
    pixels, not the number of differences) and the two diagonal ones weighted by
    w_d = 1/sqrt(2). SF_R^2 is the same sum with each difference replaced by the larger of the
    two sources' absolute differences at that place (the ideal reference gradient). Values on
    the 0..255 scale cancel in the ratio: unitless. 0 means F carries exactly the reference
    activity; negative values (the usual case, > -1) mean F lost activity, positive ones that
    it has more than either source (noise, over-enhancement). Registered as 'higher is better'
    for the usual negative range; rank by |Qsf| where positive values occur.

    Conventions: one formula (default and liu: metricZheng.m on grey images).
    MetricUndefined when both sources are constant (SF_R = 0). Needs at least 2 x 2 pixels.
    """
    _check_size("Qsf", f)
    with Arena():  # the difference maps are scratch
        return _ratio_sf_error(a, b, f)


def _ratio_sf_error(a, b, f) -> float:
    mn = f.size
    wd = np.sqrt(2.0) / 2.0
    weights = (1.0, 1.0, wd, wd)

    def sumsq(x: np.ndarray) -> float:
        x = x.ravel()
        return float(x @ x)

    sf_f2 = sum(wt * sumsq(d) for wt, d in zip(weights, _sf_terms(f))) / mn
    sf_r2 = 0.0
    for wt, da, db in zip(weights, _sf_terms(a), _sf_terms(b)):
        np.abs(da, out=da)
        sf_r2 += wt * sumsq(np.maximum(da, np.abs(db, out=db), out=da))
    sf_r2 /= mn
    if sf_r2 == 0:
        raise MetricUndefined("Qsf: both sources are constant, so the reference spatial "
                              "frequency is 0 and the ratio is undefined")
    sf_r = np.sqrt(sf_r2)
    return float((np.sqrt(sf_f2) - sf_r) / sf_r)
