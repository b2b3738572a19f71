"""MEF-SSIM (Ma, Zeng, Wang 2015): the multi-exposure-fusion structural similarity of F to the
source stack, family 'structural'; also Tang's "SSIM" (one scale) and "MS_SSIM" (three scales).

Re-implemented from the paper and from the behaviour of mef_ssim.m / mef_ms_ssim.m (read, not
copied), vectorised: MATLAB's mef_ssim.m loops over every pixel, here every windowed statistic
is a box sum or separable filter over the whole image (conventions in `bench.metrics.windows`;
a source window that is exactly constant has variance exactly 0). Within one `compute_many()`
call Tang's "SSIM" (MEF-SSIM, one scale) is reused by its "MS_SSIM" (`memo`).

Speed (480 x 640, one core, `compute()` including its ~4 ms colour conversion; best of repeated
runs on a shared 2-core VM): MEF-SSIM ~45 ms (before the whole-image layout: 54 ms).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .registry import register_metric
from .windows import (EPS, SHIFT, Arena, Moments, _check_size, _downsample_symmetric, _mean,
                      _undefined, box_sum_same, buffer, gaussian_1d, memo, valid_view)


MEF_WEIGHTS = (0.0448, 0.2856, 0.3001)


def mef_ssim_level(seq: Sequence[np.ndarray], fused: np.ndarray, K: float = 0.03,
                   win_size: int = 11, sigma: float = 1.5) -> float:
    """One scale of Ma et al.'s MEF-SSIM (see `_mef_ssim_level`), memoised on read-only planes
    (Tang's "SSIM" is the first scale of its "MS_SSIM")."""
    return memo([*seq, fused], ("mef_ssim_level", K, win_size, sigma),
                lambda: _mef_ssim_level(seq, fused, K, win_size, sigma))


def _mef_ssim_level(seq: Sequence[np.ndarray], fused: np.ndarray, K: float = 0.03,
                    win_size: int = 11, sigma: float = 1.5) -> float:
    """One scale of Ma et al.'s MEF-SSIM (mef_ssim.m), vectorised.

    Per window position (win_size x win_size, 'valid'): each source patch x_k is split into its
    box mean mu_k, signal strength ed_k = ||x_k - mu_k|| + 0.001 and structure; the desired
    structure is the weighted sum of the sources' structures, weights (ed_k/win)^p + eps with
    p = tan(pi/2 * R) (clipped at 10), R = ||sum_k x_k - mean|| / sum_k ||x_k - mu_k|| the
    structural consistency; it is rescaled to the largest ed_k and compared with the fused patch
    by the SSIM structure term (2 s_rf + C) / (s_r^2 + s_f^2 + C), C = (K 255)^2, with the
    statistics under the Gaussian window. The score is the mean of that map.

    Because the reference patch is linear in the source patches, its windowed statistics follow
    from the sources' box and Gaussian (co)variances, so no per-pixel loop is needed. All maps
    are same-size arrays (zero padding) whose 'valid' part is averaged at the end.
    """
    n = win_size
    npix = float(n * n)
    g = gaussian_1d(n, sigma)
    kk = len(seq)
    shape = np.shape(fused)
    xs = [np.subtract(x, SHIFT, out=buffer(shape), dtype=np.float64) for x in seq]
    buf = buffer(shape)
    tmp = buffer(shape)

    # box (square-window) statistics: sums and co-scatter S_kl = sum (x_k - mu_k)(x_l - mu_l),
    # exact for integer-valued planes; a source constant over a window has S_kk = 0 exactly
    sums = [box_sum_same(x, n) for x in xs]
    scatter: dict[tuple[int, int], np.ndarray] = {}
    flat: list[np.ndarray | None] = []
    for i in range(kk):
        np.multiply(xs[i], xs[i], out=buf)
        sxx = box_sum_same(buf, n)
        tol = np.multiply(sxx, 128 * EPS, out=buf)
        np.multiply(sums[i], sums[i], out=tmp)
        tmp /= npix
        sxx -= tmp
        mask = sxx <= tol
        np.copyto(sxx, 0.0, where=mask)
        scatter[(i, i)] = sxx
        flat.append(mask if valid_view(mask, n).any() else None)
    for i in range(kk):
        for j in range(i + 1, kk):
            np.multiply(xs[i], xs[j], out=buf)
            sxy = box_sum_same(buf, n)
            np.multiply(sums[i], sums[j], out=tmp)
            tmp /= npix
            sxy -= tmp
            for mask in (flat[i], flat[j]):
                if mask is not None:
                    np.copyto(sxy, 0.0, where=mask)
            scatter[(i, j)] = scatter[(j, i)] = sxy
    norms = [np.sqrt(scatter[(i, i)], out=buffer(shape)) for i in range(kk)]
    ed = [np.add(nk, 0.001, out=buffer(shape)) for nk in norms]
    pairs = [(i, j) for i in range(kk) for j in range(i, kk)]

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # structural consistency R -> exponent p -> source weights
        total = sums[0]  # the box sums are not needed again
        total.fill(0.0)
        for i, j in pairs:
            if i == j:
                total += scatter[(i, j)]
            else:
                np.multiply(scatter[(i, j)], 2.0, out=tmp)
                total += tmp
        np.maximum(total, 0.0, out=total)
        r = np.sqrt(total, out=total)
        r += EPS
        den = tmp
        np.copyto(den, norms[0])
        for nk in norms[1:]:
            den += nk
        den += EPS
        r /= den
        # R > 1 -> 1 - eps (R >= eps / (den + eps) > 0 always, so R < 0 never happens); for R in
        # (1 - eps, 1] tan(pi/2 R) exceeds 10 either way
        np.minimum(r, 1 - EPS, out=r)
        r *= np.pi / 2
        p = np.tan(r, out=r)
        np.minimum(p, 10.0, out=p)
        coef = norms  # a_k = w_k / normalizer / ed_k, w_k = (ed_k / n)^p + eps (norms reused)
        for w, e in zip(coef, ed):
            np.divide(e, n, out=w)
            np.log(w, out=w)
            w *= p
            np.exp(w, out=w)
            w += EPS
        normalizer = tmp
        np.copyto(normalizer, coef[0])
        for w in coef[1:]:
            normalizer += w
        for w, e in zip(coef, ed):
            w /= normalizer
            w /= e
        max_ed = ed[0]
        for e in ed[1:]:
            np.maximum(max_ed, e, out=max_ed)  # ed is not needed again

        def quad(stat) -> np.ndarray:
            """sum_kl a_k a_l stat(k, l), each unordered pair once."""
            acc = buffer(shape)
            acc.fill(0.0)
            for i, j in pairs:
                t = np.multiply(coef[i], coef[j], out=tmp)
                t *= stat(i, j)
                if i != j:
                    t *= 2.0
                acc += t
            return acc

        # ||sum_k a_k (x_k - mu_k)||^2 over the window, and the rescaling to max ed
        raw2 = quad(lambda i, j: scatter[(i, j)])
        tol = buf
        tol.fill(0.0)
        for i in range(kk):
            np.multiply(coef[i], coef[i], out=tmp)
            tmp *= scatter[(i, i)]
            tol += tmp
        tol *= 64 * EPS
        positive = raw2 > tol
        scale = np.sqrt(raw2, out=raw2)
        np.divide(max_ed, scale, out=scale)
        np.copyto(scale, 1.0, where=~positive)  # a (rare) zero reference patch: not rescaled

        # Gaussian-window statistics of the sources and F (constant source windows: exactly 0)
        st = Moments([*seq, fused], g, "zero")
        fi = kk

        def gcov(i: int, j: int) -> np.ndarray:
            c = st.cov(i, j)
            for mask in (flat[i] if i < kk else None, flat[j] if j < kk else None):
                if mask is not None:
                    np.copyto(c, 0.0, where=mask)
            return c

        var_r = quad(gcov)
        var_r *= scale
        var_r *= scale
        cov_rf = buffer(shape)
        cov_rf.fill(0.0)
        for i in range(kk):
            np.multiply(coef[i], gcov(i, fi), out=tmp)
            cov_rf += tmp
        cov_rf *= scale
        c = (K * 255.0) ** 2
        num = cov_rf
        num *= 2.0
        num += c
        var_r += st.cov(fi, fi)
        var_r += c
        num /= var_r
    return _mean(valid_view(num, n))


def mef_ssim_value(seq: Sequence[np.ndarray], fused: np.ndarray, *, K: float = 0.03,
                   levels: int = 3, weights: Sequence[float] | None = MEF_WEIGHTS) -> float:
    """mef_ms_ssim.m: MEF-SSIM at `levels` scales (2 x 2 mean, 'symmetric' padding, odd samples
    kept), combined as prod Q_l^w_l with the weights normalised to sum 1. levels=1 is
    mef_ssim.m (one scale; Tang's "SSIM")."""
    if weights is None or len(weights) != levels:
        if levels == 1:
            weights = (1.0,)
        else:
            raise ValueError(f"MEF-SSIM: {levels} levels need {levels} weights, got {weights}")
    w = np.asarray(weights, np.float64)
    w = w / w.sum()
    need = 11 * 2 ** (levels - 1)
    _check_size(fused, need, "MEF-SSIM", f"{levels} scale{'s' if levels > 1 else ''} of an "
                "11 x 11 window; the toolkits return -Inf")
    seq = [np.asarray(x, np.float64) for x in seq]
    fused = np.asarray(fused, np.float64)
    if levels == 1:
        return mef_ssim_level(seq, fused, K)
    q = []
    for level in range(levels):
        q.append(mef_ssim_level(seq, fused, K))
        if level < levels - 1:
            seq = [_downsample_symmetric(x) for x in seq]
            fused = _downsample_symmetric(fused)
    q = np.asarray(q)
    if np.any(q < 0):
        raise _undefined(f"MEF-SSIM is not defined: a negative scale score {q.min():.4g} "
                         "(MATLAB would return a complex number)")
    return float(np.prod(q ** w))


@register_metric(
    "MEF-SSIM", direction="higher", family="structural",
    aliases=("MEF_SSIM", "MEFSSIM", "mef_ms_ssim", "MEF-MS-SSIM"),
    description="multi-exposure-fusion structural similarity of F to the source stack (Ma 2015)",
    conventions={
        "default": {},
        "tang": {},
        "mefb": {"_colour": "rgb2gray"},
    })
def mef_ssim(a, b, f, *, K: float = 0.03, levels: int = 3,
             weights: Sequence[float] | None = MEF_WEIGHTS) -> float:
    """MEF-SSIM (K. Ma, K. Zeng, Z. Wang, "Perceptual quality assessment for multi-exposure image
    fusion", IEEE TIP 24(11), 2015): the SSIM structure term between F and a reference patch
    synthesised from the source stack {A, B}, averaged over the image and combined over 3 scales.
    Unitless, <= 1. Symmetric in the sources (one stack, not a sum or mean of pairs).

    Window: 11 x 11 box for the patch decomposition, 11 x 11 Gaussian (sigma 1.5) for the
    statistics, 'valid'; C = (0.03 * 255)^2 (MATLAB mef_ssim.m uses 255 whatever the input range);
    3 scales with weights (0.0448, 0.2856, 0.3001)/sum, 2 x 2 mean downsampling with 'symmetric'
    padding, Q = prod Q_l^w_l.

    - tang: Tang's "MS_SSIM" (Linfeng-Tang/SeAFusion Evaluation/analysis_ms_ssim.m@d3ae78e,
      called as `analysis_ms_ssim(imgSeq, image_f)` with imgSeq = [ir, vi] after rgb2gray),
      identical to mef_ms_ssim.m. Tang's "SSIM" is the single-scale `mef_ssim(imgSeq, image_f)`:
      that is `compute("SSIM", ..., profile="tang")` (or levels=1 here).
    - mefb: MEFB metricsMEF_SSIM.m@82014f4: `rgb2gray` of each source and of F (uint8), then
      `mef_ms_ssim(imgSeq, fI1)` with the defaults above.
    - default: same algorithm on the profile's grey planes.

    Needs at least 44 x 44 pixels for 3 levels (the toolkits return -Inf): ValueError. A
    negative scale score raises MetricUndefined.
    """
    with Arena():
        return mef_ssim_value([a, b], f, K=K, levels=levels, weights=weights)
