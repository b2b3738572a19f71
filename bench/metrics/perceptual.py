"""Perceptual (visual-information-fidelity) metrics: VIF (Sheikh-Bovik multi-scale pixel VIF, as
the IVIF toolkits sum it over the sources) and VIFF (Han et al. 2013, MEFB's "VIF").

Both rest on the same per-scale statistics (LIVE's vifp_mscale.m, re-implemented from the paper
and the behaviour of the MATLAB code, vectorised): at scale s = 1..4 a Gaussian window of size
N = 2^(5-s) + 1 and sigma N/5; from scale 2 on, both images are low-passed with that window
('valid') and subsampled by 2; local variances s1 (reference), s2 (distorted), covariance s12
under the window ('valid'); gain g = s12 / s1, distortion noise sv^2 = s2 - g s12, with the
reference code's clamping (variances below 1e-10 treated as 0, negative gains set to 0 with
sv^2 = s2, sv^2 floored at 1e-10).

F's pyramid and statistics are computed once for both sources. Speed (480 x 640, one core):
VIF ~40 ms, VIFF ~40 ms.
"""
from __future__ import annotations

import numpy as np

from .matlab import to_uint8
from .registry import register_metric
from .structural import Arena, _undefined, buffer, gaussian_1d, sep_filter

_TINY = 1e-10


def vif_scale_maps(refs: list[np.ndarray], dist: np.ndarray, sigma_nsq: float,
                   uint8_products: bool = False):
    """Per reference, per scale (1..4): (num map, den map, g map) of vifp_mscale / Han's
    ComVidVindG, with `dist` (F) filtered once for all references.

    num = log10(1 + g^2 s1 / (sv^2 + sigma_nsq)), den = log10(1 + s1 / sigma_nsq). A scale whose
    image is smaller than its window gives empty maps (MATLAB filter2 'valid' returns empty).

    uint8_products: at scale 1 the products x.*y are taken as MATLAB takes them for uint8
    images, rounded and saturated to 0..255, before filter2 converts them to double."""
    refs = [np.asarray(r, np.float64) for r in refs]
    dist = np.asarray(dist, np.float64)
    out: list[list[tuple]] = [[] for _ in refs]
    c = 127.5  # centring constant: (co)variances do not change, fewer digits are lost
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        k = gaussian_1d(n, n / 5.0)
        if scale > 1:
            refs = [sep_filter(r, k, "valid")[::2, ::2] for r in refs]
            dist = sep_filter(dist, k, "valid")[::2, ::2]
        if dist.shape[0] < n or dist.shape[1] < n:
            empty = np.zeros((0, 0))
            for lst in out:
                lst.append((empty, empty, empty))
            refs = [np.zeros((0, 0)) for _ in refs]
            dist = np.zeros((0, 0))
            continue
        sat = uint8_products and scale == 1
        cc = 0.0 if sat else c
        d0 = np.subtract(dist, cc, out=buffer(dist.shape))
        mu2 = sep_filter(d0, k, "valid")
        buf = np.multiply(d0, d0, out=buffer(dist.shape))
        if sat:
            _sat_u8(buf)
        s2 = sep_filter(buf, k, "valid")
        s2 -= mu2 * mu2
        np.maximum(s2, 0.0, out=s2)
        low2 = s2 < _TINY
        for lst, ref in zip(out, refs):
            r0 = np.subtract(ref, cc, out=buffer(ref.shape))
            mu1 = sep_filter(r0, k, "valid")
            np.multiply(r0, r0, out=buf)
            if sat:
                _sat_u8(buf)
            s1 = sep_filter(buf, k, "valid")
            s1 -= mu1 * mu1
            np.multiply(r0, d0, out=buf)
            if sat:
                _sat_u8(buf)
            s12 = sep_filter(buf, k, "valid")
            mu1 *= mu2
            s12 -= mu1
            np.maximum(s1, 0.0, out=s1)
            g = np.add(s1, _TINY, out=buffer(s1.shape))
            np.divide(s12, g, out=g)
            sv = np.multiply(g, s12, out=s12)  # s12 is not needed again
            np.subtract(s2, sv, out=sv)
            low1 = s1 < _TINY
            g[low1] = 0.0
            sv[low1] = s2[low1]
            s1[low1] = 0.0
            g[low2] = 0.0
            sv[low2] = 0.0
            neg = g < 0
            sv[neg] = s2[neg]
            g[neg] = 0.0
            sv[sv <= _TINY] = _TINY
            sv += sigma_nsq
            num = np.multiply(g, g, out=buffer(g.shape))
            num *= s1
            num /= sv
            num += 1.0
            np.log10(num, out=num)
            den = np.divide(s1, sigma_nsq, out=s1)  # s1 is not needed again
            den += 1.0
            np.log10(den, out=den)
            lst.append((num, den, g))
    return out


def _sat_u8(x: np.ndarray) -> None:
    """MATLAB uint8 arithmetic result, in place: round half away from zero, saturate to 0..255."""
    np.floor(x + 0.5, out=x)  # the products here are >= 0
    np.clip(x, 0.0, 255.0, out=x)


def _is_uint8_valued(x: np.ndarray) -> bool:
    return bool(np.all((x >= 0) & (x <= 255) & (x == np.round(x))))


def _check_vif_size(img: np.ndarray, metric: str, need: int) -> None:
    if img.shape[0] < need or img.shape[1] < need:
        raise ValueError(f"{metric} needs images of at least {need} x {need} pixels (its "
                         f"{'17 x 17 first-scale window' if need == 17 else 'four scales'}); "
                         f"got {img.shape[0]} x {img.shape[1]}")


def vifp_mscale(ref: np.ndarray, dist: np.ndarray, sigma_nsq: float = 2.0) -> float:
    """Multi-scale pixel-domain VIF of dist against ref: sum of num over sum of den, all scales
    (nan when the reference has no variance anywhere)."""
    return _vifp_from_maps(vif_scale_maps([ref], dist, sigma_nsq)[0])


def _vifp_from_maps(maps) -> float:
    num = den = 0.0
    for n, d, _ in maps:
        num += float(n.sum())
        den += float(d.sum())
    return num / den if den != 0 else float("nan")


@register_metric(
    "VIF", direction="higher", family="perceptual",
    aliases=("VIFP", "vifp_mscale", "vifvec_mscale"),
    description="visual information fidelity (multi-scale pixel VIF), summed over sources",
    conventions={"default": {}, "tang": {"uint8_products": True},
                 "cddfuse": {"nan_as_one": True}})
def vif(a, b, f, *, aggregate: str = "sum", sigma_nsq: float = 2.0,
        nan_as_one: bool = False, uint8_products: bool = False) -> float:
    """VIF(A,F) + VIF(B,F), each the multi-scale pixel-domain VIF of Sheikh and Bovik ("Image
    information and visual quality", IEEE TIP 2006; LIVE's vifp_mscale.m) with the source as the
    reference and F as the distorted image. Unitless; a source scores 1 against itself, so the
    sum is about 0..2 (it can exceed 1 per source when F has more contrast).

    4 scales, Gaussian windows N = 17, 9, 5, 3 with sigma N/5, 'valid'; sigma_n^2 = 2 (for the
    0..255 scale); VIF = sum over scales and pixels of log10(1 + g^2 s1/(sv^2 + sigma_n^2)) over
    the sum of log10(1 + s1/sigma_n^2).

    - default: SUM over sources, true products (aggregate='mean' gives the per-source average).
    - tang: SUM over sources (Linfeng-Tang/SeAFusion Evaluation/analysis_Reference.m@d3ae78e:
      `VIF = vifp_mscale(image_ir, image_f) + vifp_mscale(image_vis, image_f)`). Those images are
      uint8 (imread/rgb2gray), and vifp_mscale.m forms `ref.*ref`, `dist.*dist`, `ref.*dist`
      before `filter2` converts to double: MATLAB's uint8 product saturates at 255. At scale 1
      the local variances are therefore computed from clipped squares (negative, so set to 0,
      except in windows darker than 16), and scale 1 contributes almost nothing; scales 2-4 are
      computed on filtered doubles and are exact. uint8_products=True reproduces this (planes
      that are not integers in 0..255 are first converted as MATLAB's uint8() would, since
      Tang's toolkit only sees uint8 files); pass uint8_products=False for the pixel VIF as
      Sheikh and Bovik define it.
    - cddfuse: the same sum (its function is named VIFF: Evaluator.VIFF = compare_viff(A, F) +
      compare_viff(B, F)); a pair whose VIF is NaN (reference constant) counts as 1.0, as
      `if np.isnan(vifp): return 1.0` does (nan_as_one=True). Elsewhere a constant source raises
      MetricUndefined.

    Needs at least 17 x 17 pixels (ValueError). Below 41 x 41 the coarsest scales are empty and
    contribute nothing, as in MATLAB (scipy's convolve2d in CDDFuse behaves differently there).
    """
    _check_vif_size(f, "VIF", 17)
    if uint8_products:  # Tang's images are uint8: planes that are not are converted as uint8()
        a, b, f = (x if _is_uint8_valued(x) else to_uint8(x).astype(np.float64) for x in (a, b, f))
    with Arena():
        vals = [_vifp_from_maps(maps)
                for maps in vif_scale_maps([a, b], f, sigma_nsq, uint8_products)]
    for i, v in enumerate(vals):
        if np.isnan(v):
            if not nan_as_one:
                raise _undefined("VIF is not defined: a source image has no local variance at "
                                 "any scale (constant image)")
            vals[i] = 1.0
    if aggregate == "sum":
        return float(vals[0] + vals[1])
    if aggregate == "mean":
        return float((vals[0] + vals[1]) / 2)
    raise ValueError(f"aggregate must be 'sum' or 'mean', got {aggregate!r}")


_VIFF_P = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15


@register_metric(
    "VIFF", direction="higher", family="perceptual",
    aliases=("VIF_Han", "Han_VIFF", "metricsVIF"),
    description="visual information fidelity for fusion (Han et al. 2013), one score in [0, 1]",
    conventions={"default": {}, "mefb": {"_colour": "mefb-red"}})
def viff(a, b, f) -> float:
    """VIFF: Y. Han, Y. Cai, Y. Cao, X. Xu, "A new image fusion performance metric based on visual
    information fidelity", Inf. Fusion 14(2), 2013 (MEFB metrics/metricsVIF.m@82014f4, which MEFB
    reports as "VIF"). Unitless, usually in [0, 1]; one score for the pair of sources.

    Per scale (the VIF statistics above with visual noise sigma_n^2 = 0.005 * 255^2), at every
    pixel the source with the smaller gain g is kept (source B where the gains tie); its
    VID = log10(1 + g^2 s1/(sv^2 + sigma_n^2)) and VIND = log10(1 + s1/sigma_n^2) are summed,
    F_s = sum(VID + C) / sum(VIND + C) with C = 1e-7, and VIFF = sum_s p_s F_s with
    p = (1, 0, 0.15, 1)/2.15.

    - mefb / default: as above; MEFB scores F's red channel when both sources are grey
      ('mefb-red'), per RGB channel otherwise. (With a grey F and colour sources MEFB's code would
      try an sRGB-to-Lab conversion and fail; here the sources are reduced with rgb2gray.)

    Needs at least 41 x 41 pixels (all four scales non-empty; MATLAB returns NaN below):
    ValueError. Constant sources give F_s = 1 at every scale.
    """
    _check_vif_size(f, "VIFF", 41)
    sq = 0.005 * 255.0 * 255.0
    c = 1e-7
    total = 0.0
    with Arena():
        maps_a, maps_b = vif_scale_maps([a, b], f, sq)
        for p, (za, ma, ga), (zb, mb, gb) in zip(_VIFF_P, maps_a, maps_b):
            pick_a = ga < gb
            np.copyto(zb, za, where=pick_a)  # the source with the smaller gain, per pixel
            np.copyto(mb, ma, where=pick_a)
            fs = (float(zb.sum()) + c * zb.size) / (float(mb.sum()) + c * mb.size)
            total += p * fs
    return float(total)
