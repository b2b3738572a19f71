"""Numba kernel of the FMI metrics' sliding-window loop (private; use bench.metrics.fmi.fmi).

`fmi_window_map(fa, fb, ff, w, reuse)` -> (R, C) map of (FMI_AF + FMI_BF) / 2 for every w x w
window ('valid', R = H - w + 1, C = W - w + 1) of three float64 feature maps, computed as
bench.metrics.fmi._fmi_windows / _pair_fmi compute it (see _pair_fmi for the algorithm: the
comonotone or antitone coupling of the two window CDFs, merged in one pass, with the off-path
cells of the joint pdf summed in closed form), in float64 throughout.

Layout: one row of windows at a time. For each of the three images the per-window terms
(normalised window, pdf, CDF, log2 pdf, moments, entropy) are computed for the whole row,
element-major ((n + 1, C) buffers, one column per window, the last row a merge sentinel: CDF
+inf, pdf 0), in loops over the windows that compile to SIMD code. Each (source, fused) pair of
a window then merges the two CDFs branch-free (two pointers) into the cell values
p = pf_i ps_j, the interval lengths d and the joint-pdf cells J = p + phi (d - p), and sums
J log2|J| over the 2n path cells in a vectorised loop: log2 is written here with vectorisable
operations only (no libm call; absolute error < 1e-12). Sums that decide a branch of the
reference (the exact-zero tests of the pdf normaliser, of the correlation numerator and of MI)
keep MATLAB's left-to-right order: the kernel is compiled without fastmath (error_model='numpy':
a division by zero gives inf/nan, handled as _pair_fmi handles it, instead of raising).

Differences from the NumPy path, all at rounding level: cell terms in float64 (the NumPy path
evaluates them in float32 for |phi| <= 4), exact comparisons in the merge (the NumPy path sorts
keys whose lowest 5 mantissa bits hold the origin code), sequential instead of BLAS sums for
magnitudes that decide no branch. Compiled on first use (a few seconds) and cached on disk
(cache=True).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_TINY = 2.2250738585072014e-308  # smallest normal float64: 0 log 0 = 0, |x| + tiny is normal
_SQRT2 = 1.4142135623730951
_LOG2E = 1.4426950408889634
_MANT = 0x000FFFFFFFFFFFFF
_ONE = 0x3FF0000000000000


@intrinsic
def _as_bits(typingctx, x):
    """float64 -> its int64 bit pattern (an LLVM bitcast)."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, v):
    """int64 bit pattern -> float64 (an LLVM bitcast)."""
    if not isinstance(v, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(inline="always", error_model="numpy")
def _log2(x):
    """log2(x) for a normal float64 x > 0, absolute error < 1e-12, vectorisable.

    x = 2^e m with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(z), z = (m - 1) / (m + 1),
    |z| <= 0.172, by its odd series to z^15."""
    bits = _as_bits(x)
    e = (bits >> 52) - 1023
    m = _from_bits((bits & _MANT) | _ONE)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    z = (m - 1.0) / (m + 1.0)
    z2 = z * z
    s = 1.0 / 15.0
    s = s * z2 + 1.0 / 13.0
    s = s * z2 + 1.0 / 11.0
    s = s * z2 + 1.0 / 9.0
    s = s * z2 + 1.0 / 7.0
    s = s * z2 + 1.0 / 5.0
    s = s * z2 + 1.0 / 3.0
    s = s * z2 + 1.0
    return e + (2.0 * _LOG2E) * z * s


@njit(error_model="numpy")
def _row_stats(x, r, w, xn, pdf, cdf, lpdf, cen, sc, tmp):
    """Per-window terms of the windows x[r:r+w, c:c+w], c = 0..C-1, as _WindowStats forms them,
    element-major (one column per window; the sums over a window's elements run left to right
    in MATLAB's order, as in _WindowStats). Each loop over the windows writes one array, so
    that it vectorises.

    xn, cen: (n, C); pdf, cdf, lpdf: (n + 1, C) with the sentinel row n (pdf 0, CDF +inf,
    log 0); sc: (6, C) = sum cen^2, pdf sd over the indices 1..n, sum p log2 p, sum p,
    sum CDF, sum k CDF_k (k from 0); tmp: (4, C) scratch."""
    n = w * w
    cols = xn.shape[1]
    # the window in MATLAB's column-major sub(:) order: element k = col * w + row
    for j in range(w):
        for i in range(w):
            src = x[r + i, j:j + cols]
            dst = xn[j * w + i]
            for c in range(cols):
                dst[c] = src[c]
    mn, rng, col, tot = tmp[0], tmp[1], tmp[2], tmp[3]
    mn[:] = xn[0]
    rng[:] = xn[0]
    for k in range(1, n):
        xk = xn[k]
        for c in range(cols):
            mn[c] = min(mn[c], xk[c])
        for c in range(cols):
            rng[c] = max(rng[c], xk[c])
    for c in range(cols):
        rng[c] = rng[c] - mn[c]
    for k in range(n):
        xk = xn[k]
        for c in range(cols):
            xk[c] = 1.0 if rng[c] == 0 else (xk[c] - mn[c]) / rng[c]
    # sum(sum(sub)): each column top to bottom, then the columns left to right
    for j in range(w):
        col[:] = xn[j * w]
        for i in range(1, w):
            xk = xn[j * w + i]
            for c in range(cols):
                col[c] = col[c] + xk[c]
        if j == 0:
            tot[:] = col
        else:
            for c in range(cols):
                tot[c] = tot[c] + col[c]
    for k in range(n):
        xk, pk, ck = xn[k], pdf[k], cdf[k]
        for c in range(cols):
            pk[c] = xk[c] / tot[c]
        if k == 0:
            ck[:] = pk
        else:
            cp = cdf[k - 1]
            for c in range(cols):
                ck[c] = cp[c] + pk[c]
    pdf[n, :] = 0.0
    cdf[n, :] = np.inf
    e1, e2, mean = tmp[0], tmp[1], tmp[2]
    e1[:] = 0.0
    e2[:] = 0.0
    for k in range(n):
        idx = k + 1.0
        pk = pdf[k]
        for c in range(cols):
            e1[c] += idx * pk[c]
        for c in range(cols):
            e2[c] += idx * idx * pk[c]
    sd = sc[1]
    for c in range(cols):
        sd[c] = np.sqrt(max(e2[c] - e1[c] * e1[c], 0.0))
    last = cdf[n - 1]
    for c in range(cols):
        mean[c] = last[c] / n  # mean(pdf) = sum(pdf) / n
    ss, pl, total, ctot, isum = sc[0], sc[2], sc[3], sc[4], sc[5]
    ss[:] = 0.0
    pl[:] = 0.0
    total[:] = 0.0
    ctot[:] = 0.0
    isum[:] = 0.0
    for k in range(n):
        pk, ck, ek, lk = pdf[k], cdf[k], cen[k], lpdf[k]
        for c in range(cols):
            ek[c] = pk[c] - mean[c]
        for c in range(cols):
            ss[c] += ek[c] * ek[c]
        for c in range(cols):
            lk[c] = _log2(pk[c] + _TINY)
        for c in range(cols):
            pl[c] += pk[c] * lk[c]
        for c in range(cols):
            total[c] += pk[c]
        for c in range(cols):
            ctot[c] += ck[c]
        for c in range(cols):
            isum[c] += k * ck[c]
    lpdf[n, :] = 0.0


@njit(inline="always", error_model="numpy")
def _pair_cells(c, q, n, pdf, cdf, lpdf, cen, sc, loc, jrow, terms):
    """The pair (source q + 1, fused 0) of window c up to the J log J sum: fills jrow (4n) with
    the joint-pdf cells J on the merge path (2n), then the interval lengths (2n), and
    terms[:3] with the separable entropy part plus sum_path (k1 p) log2|k1 p| (k1 = 1 - phi),
    H_s + H_f and 0. loc: (6, n + 1) scratch: the window's fused CDF, pdf, log2 pdf and the
    source's (reversed for the antitone coupling), contiguous, with the merge sentinel."""
    s = q + 1
    num = cen[s, 0, c] * cen[0, 0, c]
    for k in range(1, n):  # MATLAB's order: exact zeros decide c = 0
        num += cen[s, k, c] * cen[0, k, c]
    cc = 0.0 if num == 0 else num / np.sqrt(sc[s, 0, c] * sc[0, 0, c])
    fc, fp, fl, sv, sp, sl = loc[0], loc[1], loc[2], loc[3], loc[4], loc[5]
    for k in range(n + 1):
        fc[k] = cdf[0, k, c]
        fp[k] = pdf[0, k, c]
        fl[k] = lpdf[0, k, c]
    if cc < 0:
        # the lower bound: the upper bound of F and the reversed source, whose CDF is
        # 1 - S_(n-2), .., 1 - S_0, 1
        sctot = 0.0
        sisum = 0.0
        for k in range(n):
            v = 1.0 - cdf[s, n - 2 - k, c] if k < n - 1 else 1.0
            sv[k] = v
            sp[k] = pdf[s, n - 1 - k, c]
            sl[k] = lpdf[s, n - 1 - k, c]
            sctot += v
            sisum += k * v
    else:
        for k in range(n):
            sv[k] = cdf[s, k, c]
            sp[k] = pdf[s, k, c]
            sl[k] = lpdf[s, k, c]
        sctot = sc[s, 4, c]
        sisum = sc[s, 5, c]
    sv[n] = np.inf
    sp[n] = 0.0
    sl[n] = 0.0
    # merge the two CDFs, branch-free (ties: the fused side first); the value ending merged
    # interval k lies in cell (i, j) of the coupling, whose independent part is pf_i ps_j
    i = 0
    j = 0
    prev = 0.0
    smin = 0.0
    psum = 0.0
    plog = 0.0
    for k in range(2 * n):
        a = fc[i]
        b = sv[j]
        take_f = a <= b
        t = min(a, b)
        p = fp[i] * sp[j]
        jrow[k] = p
        jrow[2 * n + k] = t - prev
        prev = t
        smin += t * (n - k)
        psum += p
        plog += p * (fl[i] + sl[j])
        i += take_f
        j += 1 - take_f
    smin += sc[0, 5, c] + sisum
    cov = smin - sc[0, 4, c] * sctot
    sdp = sc[0, 1, c] * sc[s, 1, c]
    wt = abs(cc) / (cov / sdp)
    wt = wt if sdp > 0 and cc != 0 and np.isfinite(wt) else 0.0
    k1 = 1.0 - wt
    ak1 = abs(k1)
    lk = _log2(ak1 if ak1 > 0 else 1.0)
    ft = sc[0, 3, c]
    st = sc[s, 3, c]
    # separable sum over all cells of g(k1 pf_i ps_j), minus its path cells' part
    terms[0] = -k1 * (lk * ft * st + sc[0, 2, c] * st + ft * sc[s, 2, c]) \
        + k1 * (lk * psum + plog)
    terms[1] = -sc[s, 2, c] - sc[0, 2, c]
    for k in range(2 * n):
        p = jrow[k]
        jv = jrow[2 * n + k] - p
        jv *= wt
        jrow[k] = jv + p  # J = p + phi (d - p)


@njit(cache=True, error_model="numpy")
def fmi_window_map(fa, fb, ff, w, reuse):
    """(R, C) map of (FMI_AF + FMI_BF) / 2 per window; reuse: the reference's quirk of testing
    B == F against the F window already normalised in the (A, F) branch."""
    rows = ff.shape[0] - w + 1
    cols = ff.shape[1] - w + 1
    n = w * w
    res = np.empty((rows, cols))
    xn = np.empty((3, n, cols))
    cen = np.empty((3, n, cols))
    pdf = np.empty((3, n + 1, cols))
    cdf = np.empty((3, n + 1, cols))
    lpdf = np.empty((3, n + 1, cols))
    sc = np.empty((3, 6, cols))
    tmp = np.empty((4, cols))
    loc = np.empty((6, n + 1))
    jbuf = np.zeros((2, cols, 4 * n))  # per pair and window: J (2n), then d (2n)
    terms = np.zeros((2, cols, 2))
    jl = np.empty(2 * n)
    eq = np.empty((2, cols), dtype=np.bool_)
    for r in range(rows):
        _row_stats(ff, r, w, xn[0], pdf[0], cdf[0], lpdf[0], cen[0], sc[0], tmp)
        _row_stats(fa, r, w, xn[1], pdf[1], cdf[1], lpdf[1], cen[1], sc[1], tmp)
        _row_stats(fb, r, w, xn[2], pdf[2], cdf[2], lpdf[2], cen[2], sc[2], tmp)
        eq[:] = True
        for j in range(w):
            for i in range(w):
                for c in range(cols):
                    eq[0, c] &= fa[r + i, c + j] == ff[r + i, c + j]
        for j in range(w):
            for i in range(w):
                k = j * w + i
                for c in range(cols):
                    fv = xn[0, k, c] if reuse and not eq[0, c] else ff[r + i, c + j]
                    eq[1, c] &= fb[r + i, c + j] == fv
        for c in range(cols):
            va = 1.0
            vb = 1.0
            for q in range(2):
                if eq[q, c]:
                    continue
                row = jbuf[q, c]
                t = terms[q, c]
                _pair_cells(c, q, n, pdf, cdf, lpdf, cen, sc, loc, row, t)
                for k in range(2 * n):  # vectorised
                    v = row[k]
                    jl[k] = v * _log2(abs(v) + _TINY)
                jsum = 0.0
                for k in range(2 * n):
                    jsum += jl[k]
                hj = t[0] - jsum
                hsum = t[1]
                mi = hsum - hj
                val = 2.0 * mi / hsum
                val = 0.0 if mi == 0 or hsum == 0 or not np.isfinite(val) else val
                if q == 0:
                    va = val
                else:
                    vb = val
            res[r, c] = (va + vb) / 2.0
    return res
