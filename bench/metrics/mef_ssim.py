"""MEF-SSIM (Ma, Zeng, Wang 2015): the multi-exposure-fusion structural similarity of F to the
source stack, family 'structural'; also Tang's "SSIM" (one scale) and "MS_SSIM" (three scales).

Re-implemented from the paper and from the behaviour of mef_ssim.m / mef_ms_ssim.m (read, not
copied), vectorised: MATLAB's mef_ssim.m loops over every pixel, here every windowed statistic
is a box sum or separable filter over the whole image (conventions in `bench.metrics.windows`;
a source window that is exactly constant has variance exactly 0). Within one `compute_many()`
call Tang's "SSIM" (MEF-SSIM, one scale) is reused by its "MS_SSIM" (`memo`).

Speed (480 x 640, one core, `compute()` including its colour conversion; best of repeated runs
on a shared 2-core VM): MEF-SSIM ~25 ms (box sums by OpenCV on product planes: ~29 ms; numpy
per-pixel formula: ~41 ms; before the whole-image layout: 54 ms). Its Gaussian window statistics
(first scale) and its 2 x 2 pyramid are shared with SSIM, MS-SSIM and Qs/Qw inside
`compute_many()` (see `bench.metrics.windows`), which charges them to MEF-SSIM (the first of
them by name).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .registry import register_metric
from .windows import (EPS, SHIFT, Arena, _check_size, _downsample_symmetric, _mean, _undefined,
                      box_sum_same, buffer, gaussian_1d, memo, raw_moments, shared_half,
                      valid_view)

MEF_WEIGHTS = (0.0448, 0.2856, 0.3001)


def mef_ssim_level(seq: Sequence[np.ndarray], fused: np.ndarray, K: float = 0.03,
                   win_size: int = 11, sigma: float = 1.5) -> float:
    """One scale of Ma et al.'s MEF-SSIM (see `_mef_ssim_level`), memoised on read-only planes
    (Tang's "SSIM" is the first scale of its "MS_SSIM")."""
    return memo([*seq, fused], ("mef_ssim_level", K, win_size, sigma),
                lambda: _mef_ssim_level(seq, fused, K, win_size, sigma))


def _mef_ssim_level(seq: Sequence[np.ndarray], fused: np.ndarray, K: float = 0.03,
                    win_size: int = 11, sigma: float = 1.5, generic: bool = False) -> float:
    """One scale of Ma et al.'s MEF-SSIM (mef_ssim.m), vectorised.

    Per window position (win_size x win_size, 'valid'): each source patch x_k is split into its
    box mean mu_k, signal strength ed_k = ||x_k - mu_k|| + 0.001 and structure; the desired
    structure is the weighted sum of the sources' structures, weights (ed_k/win)^p + eps with
    p = tan(pi/2 * R) (clipped at 10), R = ||sum_k x_k - mean|| / sum_k ||x_k - mu_k|| the
    structural consistency; it is rescaled to the largest ed_k and compared with the fused patch
    by the SSIM structure term (2 s_rf + C) / (s_r^2 + s_f^2 + C), C = (K 255)^2, with the
    statistics under the Gaussian window. The score is the mean of that map.

    Because the reference patch is linear in the source patches, its windowed statistics follow
    from the sources' box and Gaussian (co)variances, so no per-pixel loop over windows is
    needed. All maps are same-size arrays (zero padding) whose 'valid' part is averaged at the
    end. The Gaussian moments are OpenCV filters (shared with the other metrics of a
    compute_many() call through `raw_moments`); the per-pixel formula runs in three compiled
    passes (`_kernels`) around numpy's log, tan and exp, every operation in the order of the
    numpy formulation it replaced (the same values). Two sources (the registered metrics) take
    straight-line passes that the compiler vectorises, the first of which also forms the box
    sums of the sources and their products, with OpenCV boxFilter's roundings, from the planes
    themselves; other stack sizes (or generic=True) take the general passes on OpenCV box sums,
    which give the same values.
    """
    n = win_size
    npix = float(n * n)
    g = gaussian_1d(n, sigma)
    kk = len(seq)
    shape = np.shape(fused)
    pairs = [(i, j) for i in range(kk) for j in range(i, kk)]
    kern = _kernels()
    two = kk == 2 and not generic
    stage1, stage2, stage3 = (kern[3], kern[1], kern[4]) if two else kern[:3]

    # box (square-window) statistics: sums and co-scatter S_kl = sum (x_k - mu_k)(x_l - mu_l),
    # exact for integer-valued planes; a source constant over a window has S_kk = 0 exactly
    scatter = buffer((len(pairs), *shape))
    edn = buffer((kk, *shape))
    r = buffer(shape)
    if two:
        p0, p1 = (np.ascontiguousarray(x, np.float64) for x in seq)
        stage1(p0, p1, SHIFT, n, npix, scatter, edn, r)
    else:
        xs = [np.subtract(x, SHIFT, out=buffer(shape), dtype=np.float64) for x in seq]
        sums = tuple(box_sum_same(x, n) for x in xs)
        buf = buffer(shape)
        boxes = tuple(box_sum_same(np.multiply(xs[i], xs[j], out=buf), n) for i, j in pairs)
        stage1(sums, boxes, npix, float(n), scatter, edn, r)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        np.log(edn, out=edn)
        np.tan(r, out=r)
        stage2(r, edn)                     # p log(ed_k / n), p = min(tan(.), 10)
        np.exp(edn, out=edn)
        # Gaussian-window statistics of the sources and F
        st, pos, shared = raw_moments([*seq, fused], g, "zero")
        gpairs = tuple(st.cov(pos[i], pos[j]) for i, j in pairs)
        gf = tuple(st.cov(pos[i], pos[kk]) for i in range(kk))
        out = r
        if two:
            stage3(edn, scatter, *gpairs, *gf, st.cov(pos[kk], pos[kk]), (K * 255.0) ** 2, out)
        else:
            stage3(edn, scatter, gpairs, gf, st.cov(pos[kk], pos[kk]), (K * 255.0) ** 2, out)
        value = _mean(valid_view(out, n))
    if not shared:
        st.release()
    return value


_KERNELS = None


def _kernels():
    """The compiled passes of `_mef_ssim_level` (numba, compiled on first use, cached on disk).

    stage1: box scatter (snapped to 0 in flat windows) -> scatter, ed_k / n, and the tangent's
        argument pi/2 min(R, 1 - eps) (two sources: from the planes, box sums included);
    stage2: p log(ed_k / n) with p = min(tan, 10), in place;
    stage3: the weights w_k = exp(.) + eps, their normalisation, the rescaling to max ed and the
        SSIM structure term from the Gaussian (co)variances -> the map.
    Flat windows (S_kk = 0 after snapping) zero that source's Gaussian covariances."""
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    from numba import njit

    from ._llvm_options import raise_vectorizer_check_limit
    raise_vectorizer_check_limit()  # before these kernels compile: their fused loops need it

    eps = EPS
    tol_flat = 128 * EPS
    tol_ref = 64 * EPS
    half_pi = np.pi / 2
    top = 1 - EPS

    @njit(cache=True, error_model="numpy")
    def _pair(i, j, kk):
        # index of (i, j), i <= j, in the order (0,0), (0,1), .., (0,kk-1), (1,1), ..
        return i * kk - (i * (i - 1)) // 2 + (j - i)

    @njit(cache=True, error_model="numpy")
    def stage1(sums, boxes, npix, n, scatter, edn, r):
        kk = len(sums)
        rows, cols = r.shape
        for y in range(rows):
            for x in range(cols):
                p = 0
                for i in range(kk):
                    for j in range(i, kk):
                        b = boxes[p][y, x]
                        d = b - (sums[i][y, x] * sums[j][y, x]) / npix
                        if i == j:
                            if d <= b * tol_flat:
                                d = 0.0
                        scatter[p, y, x] = d
                        p += 1
                # covariances of a flat source are 0
                p = 0
                for i in range(kk):
                    for j in range(i, kk):
                        if i != j:
                            if scatter[_pair(i, i, kk), y, x] == 0.0 or \
                                    scatter[_pair(j, j, kk), y, x] == 0.0:
                                scatter[p, y, x] = 0.0
                        p += 1
                total = 0.0
                den = 0.0
                p = 0
                for i in range(kk):
                    for j in range(i, kk):
                        if i == j:
                            total += scatter[p, y, x]
                        else:
                            total += scatter[p, y, x] * 2.0
                        p += 1
                for i in range(kk):
                    nk = np.sqrt(scatter[_pair(i, i, kk), y, x])
                    den = nk if i == 0 else den + nk
                    edn[i, y, x] = (nk + 0.001) / n
                if total < 0.0:
                    total = 0.0
                q = np.sqrt(total) + eps
                q /= den + eps
                if q > top:
                    q = top
                r[y, x] = q * half_pi

    @njit(cache=True, error_model="numpy")
    def stage2(t, edn):
        kk = edn.shape[0]
        rows, cols = t.shape
        for y in range(rows):
            tr = t[y]
            for i in range(kk):
                er = edn[i, y]
                for x in range(cols):
                    p = tr[x]
                    er[x] = er[x] * (10.0 if p > 10.0 else p)

    @njit(cache=True, error_model="numpy")
    def stage3(w, scatter, gpairs, gf, gff, c, out):
        kk = w.shape[0]
        rows, cols = out.shape
        coef = np.empty(kk)
        for y in range(rows):
            for x in range(cols):
                norm = 0.0
                for i in range(kk):
                    coef[i] = w[i, y, x] + eps
                    norm = coef[i] if i == 0 else norm + coef[i]
                max_ed = 0.0
                for i in range(kk):
                    e = np.sqrt(scatter[_pair(i, i, kk), y, x]) + 0.001
                    coef[i] = coef[i] / norm / e
                    max_ed = e if i == 0 else max(max_ed, e)
                raw2 = 0.0
                var_r = 0.0
                tol = 0.0
                p = 0
                for i in range(kk):
                    fi = scatter[_pair(i, i, kk), y, x] == 0.0
                    for j in range(i, kk):
                        cc = coef[i] * coef[j]
                        t = cc * scatter[p, y, x]
                        gc = gpairs[p][y, x]
                        if fi or scatter[_pair(j, j, kk), y, x] == 0.0:
                            gc = 0.0
                        v = cc * gc
                        if i != j:
                            t *= 2.0
                            v *= 2.0
                        else:
                            tol += t
                        raw2 += t
                        var_r += v
                        p += 1
                tol *= tol_ref
                if raw2 > tol:
                    scale = max_ed / np.sqrt(raw2)
                else:
                    scale = 1.0  # a (rare) zero reference patch: not rescaled
                cov_rf = 0.0
                for i in range(kk):
                    gc = gf[i][y, x]
                    if scatter[_pair(i, i, kk), y, x] == 0.0:
                        gc = 0.0
                    cov_rf += coef[i] * gc
                cov_rf *= scale
                var_r *= scale
                var_r *= scale
                num = cov_rf * 2.0 + c
                out[y, x] = num / ((var_r + gff[y, x]) + c)

    @njit(cache=True, error_model="numpy")
    def row_sums(p0, p1, y, shift, n, pad0, pad1, out):
        """Running n-sums along image row y of x0, x1, x0^2, x0 x1, x1^2 (x_k = p_k - shift,
        0 beyond the row: pad0, pad1 hold the padded row) into out[0..4], as OpenCV's box-filter
        row pass takes them: the sum of the first n padded samples from 0, then
        s += (entering - leaving sample), so the same roundings."""
        cols = out.shape[1]
        a = n // 2
        r0, r1 = p0[y], p1[y]
        for x in range(cols):
            pad0[a + x] = r0[x] - shift
            pad1[a + x] = r1[x] - shift
        o0, o1, o00, o01, o11 = out[0], out[1], out[2], out[3], out[4]
        t0 = t1 = t00 = t01 = t11 = 0.0
        for i in range(n):
            v0 = pad0[i]
            v1 = pad1[i]
            t0 += v0
            t1 += v1
            t00 += v0 * v0
            t01 += v0 * v1
            t11 += v1 * v1
        o0[0], o1[0], o00[0], o01[0], o11[0] = t0, t1, t00, t01, t11
        for x in range(cols - 1):
            v0 = pad0[x + n]
            v1 = pad1[x + n]
            w0 = pad0[x]
            w1 = pad1[x]
            t0 += v0 - w0
            t1 += v1 - w1
            t00 += v0 * v0 - w0 * w0
            t01 += v0 * v1 - w0 * w1
            t11 += v1 * v1 - w1 * w1
            o0[x + 1], o1[x + 1], o00[x + 1], o01[x + 1], o11[x + 1] = t0, t1, t00, t01, t11

    @njit(cache=True, error_model="numpy")
    def stage1_two(p0, p1, shift, n, npix, scatter, edn, r):
        """stage1 for two sources, from the planes themselves: the n x n box sums of x0, x1 and
        their products (x_k = p_k - shift, zero padding) as OpenCV's boxFilter computes them
        (running sums along the rows, `row_sums`, then down the columns over a ring of the last
        n rows' sums: the same roundings, no product or sum planes), and the stage1 formulas in
        the same loop, straight-line over row views (vectorised)."""
        rows, cols = r.shape
        a = n // 2
        fn = float(n)
        pad0 = np.zeros(cols + n - 1)
        pad1 = np.zeros(cols + n - 1)
        # the row sums of the last n rows, row j in slot j % n; the zero-padding rows above
        # the image are the slots not yet written, those below it are cleared
        ring = np.zeros((n, 5, cols))
        acc = np.zeros((5, cols))
        # the column sums start with the first n - 1 rows (the padding rows add +0 to +0)
        for j in range(min(n - 1 - a, rows)):
            row_sums(p0, p1, j, shift, n, pad0, pad1, ring[j])
            for q in range(5):
                aq, nq = acc[q], ring[j, q]
                for x in range(cols):
                    aq[x] += nq[x]
        for y in range(rows):
            new = ring[(y + n - 1 - a) % n]  # the row entering the window
            old = ring[(y - a) % n]  # the row leaving it after this output row
            if y + n - 1 - a < rows:
                row_sums(p0, p1, y + n - 1 - a, shift, n, pad0, pad1, new)
            else:
                new[:] = 0.0
            a0, a1, a00, a01, a11 = acc[0], acc[1], acc[2], acc[3], acc[4]
            i0, i1, i00, i01, i11 = new[0], new[1], new[2], new[3], new[4]
            o0, o1, o00, o01, o11 = old[0], old[1], old[2], old[3], old[4]
            c00, c01, c11 = scatter[0, y], scatter[1, y], scatter[2, y]
            e0r, e1r, rr = edn[0, y], edn[1, y], r[y]
            for x in range(cols):
                # OpenCV's column running sums: sum = acc + entering row; acc = sum - leaving row
                s0 = a0[x] + i0[x]
                a0[x] = s0 - o0[x]
                s1 = a1[x] + i1[x]
                a1[x] = s1 - o1[x]
                b00 = a00[x] + i00[x]
                a00[x] = b00 - o00[x]
                b01 = a01[x] + i01[x]
                a01[x] = b01 - o01[x]
                b11 = a11[x] + i11[x]
                a11[x] = b11 - o11[x]
                d00 = b00 - (s0 * s0) / npix
                d00 = 0.0 if d00 <= b00 * tol_flat else d00
                d11 = b11 - (s1 * s1) / npix
                d11 = 0.0 if d11 <= b11 * tol_flat else d11
                d01 = b01 - (s0 * s1) / npix
                d01 = 0.0 if (d00 == 0.0) | (d11 == 0.0) else d01
                c00[x] = d00
                c01[x] = d01
                c11[x] = d11
                total = (d00 + d01 * 2.0) + d11
                n0 = np.sqrt(d00)
                n1 = np.sqrt(d11)
                e0r[x] = (n0 + 0.001) / fn
                e1r[x] = (n1 + 0.001) / fn
                total = 0.0 if total < 0.0 else total
                q = (np.sqrt(total) + eps) / ((n0 + n1) + eps)
                q = top if q > top else q
                rr[x] = q * half_pi

    @njit(cache=True, error_model="numpy")
    def stage3_two(w, scatter, g00, g01, g11, g0f, g1f, gff, c, out):
        """stage3 for two sources, straight-line over row views (vectorised)."""
        rows, cols = out.shape
        for y in range(rows):
            w0r, w1r = w[0, y], w[1, y]
            c00, c01, c11 = scatter[0, y], scatter[1, y], scatter[2, y]
            g00r, g01r, g11r, g0fr, g1fr, gffr = g00[y], g01[y], g11[y], g0f[y], g1f[y], gff[y]
            outr = out[y]
            for x in range(cols):
                c0 = w0r[x] + eps
                c1 = w1r[x] + eps
                norm = c0 + c1
                d00 = c00[x]
                d01 = c01[x]
                d11 = c11[x]
                e0 = np.sqrt(d00) + 0.001
                e1 = np.sqrt(d11) + 0.001
                c0 = c0 / norm / e0
                c1 = c1 / norm / e1
                max_ed = e1 if e1 > e0 else e0
                f0 = d00 == 0.0
                f1 = d11 == 0.0
                cc00 = c0 * c0
                cc01 = c0 * c1
                cc11 = c1 * c1
                t00 = cc00 * d00
                t11 = cc11 * d11
                raw2 = (t00 + (cc01 * d01) * 2.0) + t11
                tol = (t00 + t11) * tol_ref
                gc00 = 0.0 if f0 else g00r[x]
                gc01 = 0.0 if f0 | f1 else g01r[x]
                gc11 = 0.0 if f1 else g11r[x]
                var_r = (cc00 * gc00 + (cc01 * gc01) * 2.0) + cc11 * gc11
                # a (rare) zero reference patch is not rescaled
                scale = max_ed / np.sqrt(raw2) if raw2 > tol else 1.0
                gf0 = 0.0 if f0 else g0fr[x]
                gf1 = 0.0 if f1 else g1fr[x]
                cov_rf = (c0 * gf0 + c1 * gf1) * scale
                var_r = var_r * scale * scale
                outr[x] = (cov_rf * 2.0 + c) / ((var_r + gffr[x]) + c)

    _KERNELS = (stage1, stage2, stage3, stage1_two, stage3_two)
    return _KERNELS


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
            # memoised (read-only) halves: the next scale's statistics are shared with
            # MS-SSIM's, whose block means are the same on even sizes
            seq = [shared_half(x, _downsample_symmetric) for x in seq]
            fused = shared_half(fused, _downsample_symmetric)
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
