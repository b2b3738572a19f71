"""The FMI family: feature mutual information FMI_pixel, FMI_edge, FMI_gradient, FMI_dct and
FMI_w (Haghighat, Aghagolzadeh & Seyedarabi 2011, in the Fast-FMI form of Haghighat & Razian
2014), family 'information'. This module holds the sliding-window machinery and the five
registered metrics; the feature maps are in bench.metrics.fmi_features.

Re-implemented from the papers and from the behaviour of the reference code as read (not copied);
provenance is cited as repo/path@commit. The reference toolkits are
- MEFB: xingchenzhang/MEFB metrics/metricsFMI.m @82014f4;
- Tang: the published toolkit, Linfeng-Tang/Image-Fusion `General Evaluation Metric/
  Evaluation` analysis_fmi.m @53f5542 (identical to Linfeng-Tang/SeAFusion
  Evaluation/analysis_fmi.m @d3ae78e), driven by Linfeng-Tang/Evaluation-for-Image-Fusion
  Evaluation_for_Single_Image.m @5d6c43a: IR first, rgb2gray on uint8 images, FMI on im2double
  images.
The reference loops over pixels; here the windows of a row are scored together, in compiled
code (bench.metrics._fmi_numba) for real-valued features and through a table of window bit
patterns for the binary edge feature; `_fmi_windows` / `_pair_fmi` are the vectorised NumPy
form of the same algorithm (used by the edge path, and the kernel's reference in the tests).

MEFB conventions select the wrapper's channel loop (`mefb-loop-u8`, see
bench.metrics.profiles.channel_loop).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .fmi_features import fmi_feature, matlab_edge_sobel
from .registry import register_metric


# Window data are held "transposed": an (n, C) array has one column per window and one row per
# window element (n = w*w, in MATLAB's column-major sub(:) order), so that every per-window sum
# or cumulative sum is n vector operations over C windows.
def _seq_sum(x: np.ndarray) -> np.ndarray:
    """Left-to-right sum over the first axis (the order of MATLAB's scalar loops and small
    sums; it decides the reference's exact-zero tests on uniform windows)."""
    s = x[0].copy()
    for k in range(1, x.shape[0]):
        s += x[k]
    return s


def _cumsum0(x: np.ndarray) -> np.ndarray:
    """Cumulative sum over the first axis, left to right (np.cumsum along axis 0 is slow)."""
    out = np.empty_like(x)
    out[0] = x[0]
    for k in range(1, x.shape[0]):
        np.add(out[k - 1], x[k], out=out[k])
    return out


def _normalised(win: np.ndarray) -> np.ndarray:
    """(sub - min) / (max - min) per window; a constant window becomes all ones."""
    mn = win.min(axis=0)
    rng = win.max(axis=0) - mn
    const = rng == 0
    xn = win - mn
    xn /= np.where(const, 1.0, rng)
    if const.any():
        xn[:, const] = 1.0
    return xn


_TINY = np.finfo(np.float64).tiny


@lru_cache(maxsize=8)
def _merge_layout(n: int):
    """How two columns of n CDF values are merged by one integer sort per window.

    Each value's float64 bit pattern (order-preserving for values >= 0) gets a code in its
    lowest bits: side * (n + 1) + index (fused side 0, source side 1, index 0..n-1), so a
    sorted row says where every value came from (ties: the fused side first; masking the
    code bits moves a value by < 2^-47 of itself). The codes also index a per-window pdf
    table laid out [f_0 .. f_(n-1), 0, s_0 .. s_(n-1), 0]."""
    stride = n + 1
    mask = np.int64((1 << (2 * stride - 1).bit_length()) - 1)
    codes = np.concatenate([np.arange(n), stride + np.arange(n)]).astype(np.int64)[:, None]
    weights = (n - np.arange(2 * n)).astype(np.float64)
    return stride, mask, codes, weights


@lru_cache(maxsize=8)
def _table_index(n: int, windows: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat index offsets into a (C, 2n + 2) pdf table for a (C, 2n) array of codes: the row
    offsets, and the base of the other side's entry. The value at merged position k with own
    index i lies in the other side's entry k - i, table column stride + k - code for either
    side, i.e. flat index base - own."""
    stride = _merge_layout(n)[0]
    rows = np.repeat((np.arange(windows, dtype=np.intp) * (2 * stride))[:, None], 2 * n, axis=1)
    return rows, 2 * rows + stride + np.arange(2 * n, dtype=np.intp)[None, :]


class _CdfSums(dict):
    """n -> the (2, n) matrix giving (sum_k C_k, sum_k k C_k) of CDF columns."""

    def __missing__(self, n):
        self[n] = np.stack([np.ones(n), np.arange(n, dtype=np.float64)])
        return self[n]


_CDF_SUMS = _CdfSums()
# above this |phi| the joint-entropy terms are evaluated in float64 (large cancelling terms)
_F32_MAX_PHI = 4.0
_TINY32 = np.finfo(np.float32).tiny


class _WindowStats:
    """Per-window terms of one image's feature windows (n, C), computed once and shared by
    the (A, F) and (B, F) pairs. Arrays are held element-major: (n, C), one column per window,
    rows in MATLAB's column-major sub(:) order."""

    def __init__(self, win: np.ndarray, keep_normalised: bool = False):
        n = win.shape[0]
        w = int(round(np.sqrt(n)))
        xn = _normalised(win)
        self.normalised = xn.copy() if keep_normalised else None
        # pdf = sub(:) ./ sum(sum(sub)): column sums top to bottom, then across the columns,
        # left to right (MATLAB's order: it decides the exact-zero tests on uniform windows)
        tot = None
        for c in range(w):
            col = _seq_sum(xn[c * w:(c + 1) * w])
            tot = col if tot is None else tot + col
        pdf = xn
        pdf /= tot
        self.pdf = pdf
        self.cdf = _cumsum0(pdf)
        self.cen = pdf - self.cdf[-1] / n  # mean(pdf) = sum(pdf) / n, summed left to right
        ones = np.ones(n)
        self.ss = ones @ (self.cen * self.cen)
        idx = np.arange(1, n + 1, dtype=np.float64)
        e, e2, self.total = np.stack([idx, idx * idx, ones]) @ pdf
        # a (near-)delta pdf can round e2 - e^2 below 0, where MATLAB's sqrt turns complex:
        # taken as 0 (then phi = 0, the independent joint pdf)
        self.sd = np.sqrt(np.maximum(e2 - e * e, 0.0))
        self.plogp = ones @ (pdf * np.log2(pdf + _TINY))  # 0 log 0 = 0
        self.ent = -self.plogp
        self.ctot, self.isum = _CDF_SUMS[n] @ self.cdf
        self._merge = None

    def take(self, sel: np.ndarray) -> "_WindowStats":
        out = object.__new__(_WindowStats)
        for key, val in vars(self).items():
            setattr(out, key, None if key == "_merge" or val is None else val[..., sel])
        return out

    def merge_buffers(self) -> tuple[np.ndarray, np.ndarray]:
        """The fused side's half of the sort keys (2n, C) and of the float32 pdf table
        (C, 2n + 2); each pair fills in the source's half."""
        if self._merge is None:
            n, c = self.pdf.shape
            keys = np.empty((2 * n, c))
            keys[:n] = self.cdf
            table = np.zeros((c, 2 * n + 2), dtype=np.float32)
            table[:, :n] = self.pdf.T
            self._merge = keys, table
        return self._merge


def _xlog2x_rowsum(x: np.ndarray, tiny, nonnegative: bool = False) -> np.ndarray:
    """sum over the last axis of x log2|x| (0 at 0: |x| + tiny is logged, which is |x| for
    every x the metric meets; np.maximum would be 4x slower)."""
    t = np.add(x, tiny) if nonnegative else np.abs(x)
    if not nonnegative:
        t += tiny
    np.log2(t, out=t)
    t *= x
    return t @ np.ones(x.shape[-1], dtype=x.dtype)


def _pair_fmi(fs: _WindowStats, ss: _WindowStats) -> np.ndarray:
    """Normalised MI of (source, fused) per window as analysis_fmi.m (Haghighat's Fast-FMI)
    computes it for windows whose raw contents differ.

    c is the Pearson correlation of the two pdf vectors. For c >= 0 the joint pdf is
    phi U + (1 - phi) pf ps with U the upper Frechet bound (comonotone coupling: cell (i, j)
    holds the overlap of [F_(i-1), F_i] and [S_(j-1), S_j] of the two CDFs) and
    phi = c / corr_U, corr_U = sum_ij (min(F_i, S_j) - F_i S_j) / (sd_f sd_s) (Hoeffding's
    covariance over the indices 1..9); phi = 0 if c == 0 or an sd is 0. For c < 0 the lower
    bound L takes U's place (theta = c / corr_L); L of (f, s) is U of (f, reversed s), which is
    how it is computed here. FMI = 2 MI / (H_s + H_f) in bits, 0 where MI == 0.

    U > 0 only on the <= 2n - 1 cells crossed by the merged sequence of the two CDFs (one
    integer sort per window): merged value k ends an interval of length d_k inside one cell,
    whose pdfs are those of the value's own entry and of the other side's entry it falls in
    (index k - own index). Off those cells J = (1 - phi) pf_i ps_j, whose sum of -J log2|J| is
    separable; on them g(phi d_k + (1 - phi) p_k) - g((1 - phi) p_k) is added,
    g(x) = -x log2|x|. sum_ij min(F_i, S_j) = sum_k t_k (n - k) + sum_i i F_i + sum_j j S_j
    over the merged values t_k (k, i, j from 0: each value is the min of itself and of the
    other side's values above it).

    Everything that decides a branch of the reference (exact zeros of c, of the sds, the
    sign of c) is computed in float64 in MATLAB's summation order; the joint-entropy cell
    terms are evaluated in float32 (|phi| <= 4; else float64), which moves a window's value
    by ~1e-7 at most."""
    n, c = fs.pdf.shape
    stride, mask, codes, weights = _merge_layout(n)
    num = _seq_sum(ss.cen * fs.cen)  # MATLAB's order: exact zeros decide c = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        cc = np.where(num == 0, 0.0, num / np.sqrt(ss.ss * fs.ss))
    keys, table = fs.merge_buffers()
    keys[n:] = ss.cdf
    table[:, stride:stride + n] = ss.pdf.T
    sctot, sisum = ss.ctot, ss.isum
    neg = np.nonzero(cc < 0)[0]
    if len(neg):
        # the lower bound max(0, F_i + S_j - 1) = F_i - min(F_i, 1 - S_j): the upper bound of F
        # and the reversed source, whose CDF is 1 - S_(n-2), .., 1 - S_0, 1
        rcdf = np.ones((n, len(neg)))
        np.subtract(1.0, ss.cdf[n - 2::-1, neg], out=rcdf[:n - 1])
        keys[n:, neg] = rcdf
        table[neg, stride:stride + n] = ss.pdf[::-1, neg].T
        sctot, sisum = sctot.copy(), sisum.copy()
        sctot[neg], sisum[neg] = _CDF_SUMS[n] @ rcdf
    key = keys.view(np.int64)
    key &= ~mask
    key |= codes
    key = key.T.copy()  # (C, 2n): one row per window
    key.sort(axis=1)
    code = key & mask  # table column of the value's own pdf entry
    key &= ~mask
    t = key.view(np.float64)
    smin = t @ weights + (fs.isum + sisum)
    d = np.empty_like(t)
    np.subtract(t.ravel()[1:], t.ravel()[:-1], out=d.ravel()[1:])
    d[:, 0] = t[:, 0]
    rows, base = _table_index(n, c)
    own = code + rows
    other = base - own  # the other side's entry the value falls in
    flat = table.ravel()
    p32 = flat.take(own)
    p32 *= flat.take(other)
    cov = smin - fs.ctot * sctot
    sdp = fs.sd * ss.sd
    live = (sdp > 0) & (cc != 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = np.where(live, np.abs(cc) / (cov / np.where(live, sdp, 1.0)), 0.0)
    # near-degenerate windows (a pdf that is almost a delta) can make corr_U vanish in
    # rounding; MATLAB then goes on with Inf/NaN values. Taken as w = 0.
    w[~np.isfinite(w)] = 0.0
    k1 = 1.0 - w
    ak1 = np.abs(k1)
    lk = np.log2(np.where(ak1 > 0, ak1, 1.0))
    # separable sum over all n x n cells of g(k1 pf_i ps_j)
    hj = -k1 * (lk * fs.total * ss.total + fs.plogp * ss.total + fs.total * ss.plogp)
    # cell corrections: - sum (k1 p) log2|k1 p| + sum J log2|J|, J = w d + k1 p, and
    # sum (k1 p) log2|k1 p| = k1 (log2|k1| sum p + sum p log2 p)
    big = np.abs(w) > _F32_MAX_PHI
    jj = d.astype(np.float32)
    jj -= p32
    jj *= w.astype(np.float32)[:, None]
    jj += p32  # J = p + w (d - p)
    ones = np.ones(2 * n, dtype=np.float32)
    corr = (k1 * (lk * (p32 @ ones) + _xlog2x_rowsum(p32, _TINY32, nonnegative=True))
            - _xlog2x_rowsum(jj, _TINY32))
    if big.any():  # float64 from the float64 pdfs
        sel = np.nonzero(big)[0]
        sub = np.zeros((len(sel), 2 * stride))
        sub[:, :n] = fs.pdf[:, sel].T
        spdf = ss.pdf[:, sel]
        sub[:, stride:stride + n] = np.where(cc[sel] < 0, spdf[::-1], spdf).T
        own_sub = code[sel] + (np.arange(len(sel)) * (2 * stride))[:, None]
        other_sub = own_sub + (other[sel] - own[sel])  # the same offset within the row
        flat = sub.ravel()
        ps = flat.take(own_sub) * flat.take(other_sub)
        js = ps + w[sel, None] * (d[sel] - ps)
        corr[sel] = (k1[sel] * (lk[sel] * ps.sum(axis=1) + _xlog2x_rowsum(ps, _TINY, True))
                     - _xlog2x_rowsum(js, _TINY))
    hj += corr
    hsum = ss.ent + fs.ent
    mi = hsum - hj
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((mi == 0) | (hsum == 0), 0.0, 2.0 * mi / np.where(hsum == 0, 1.0, hsum))
    out[~np.isfinite(out)] = 0.0
    return out


def _windows(x: np.ndarray, w: int) -> np.ndarray:
    """All w x w windows of x as an (w*w, C) array, rows in MATLAB's column-major sub(:) order."""
    v = np.lib.stride_tricks.sliding_window_view(x, (w, w))  # (R, S, row, col)
    return v.transpose(3, 2, 0, 1).reshape(w * w, -1)


def _fmi_windows(wa: np.ndarray, wb: np.ndarray, wf: np.ndarray, reuse_normalised_f: bool,
                 eq_af: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(FMI_AF, FMI_BF) per window of raw feature windows (n, C)."""
    if eq_af is None:
        eq_af = (wa == wf).all(axis=0)
    # analysis_fmi.m overwrites fSub with its normalised copy inside the (a, f) branch and then
    # tests `bSub == fSub` against that copy
    fs = _WindowStats(wf, keep_normalised=reuse_normalised_f)
    ftest = np.where(eq_af, wf, fs.normalised) if reuse_normalised_f else wf
    eq_bf = (wb == ftest).all(axis=0)
    vals = []
    for raw, eq in ((wa, eq_af), (wb, eq_bf)):
        todo = int((~eq).sum())
        if todo == 0:
            val = np.ones(wf.shape[1])
        elif 2 * todo > len(eq):  # most windows differ: score all, then set the equal ones
            val = _pair_fmi(fs, _WindowStats(raw))
            val[eq] = 1.0
        else:
            val = np.ones(wf.shape[1])
            sel = np.nonzero(~eq)[0]
            val[sel] = _pair_fmi(fs.take(sel), _WindowStats(raw[:, sel]))
        vals.append(val)
    return vals[0], vals[1]


def _readonly_c64(x) -> np.ndarray:
    """x as a C-contiguous float64 array, read-only: the compiled kernel gets one argument type
    whether the feature map is a fresh array or a shared read-only plane (numba compiles a
    separate copy, ~15 s, for each), and the view costs nothing."""
    v = np.ascontiguousarray(x, dtype=np.float64).view()
    v.flags.writeable = False
    return v


def fmi(a: np.ndarray, b: np.ndarray, f: np.ndarray, feature: str = "edge", window: int = 3,
        reuse_normalised_f: bool = True, input_scale: float = 1.0) -> float:
    """Feature mutual information (Haghighat et al. 2011; Fast-FMI, Haghighat & Razian 2014):
    the mean over all w x w sliding windows ('valid', w = 3) of (FMI_AF + FMI_BF) / 2.
    input_scale multiplies the images first (1/255: the im2double inputs of Tang's toolkit,
    which only matter to the edge feature's tie-breaking). Binary (edge) features go through
    the pattern table of _fmi_binary, the others through the compiled window loop of
    bench.metrics._fmi_numba (the algorithm of _fmi_windows / _pair_fmi; its 3 x 3 kernel in
    float32 where that is well conditioned, see that module)."""
    if min(np.shape(f)[:2]) < window:
        raise ValueError(f"FMI needs images of at least {window} x {window} pixels, got "
                         f"{np.shape(f)}")
    if input_scale != 1.0:
        a, b, f = (np.asarray(x, dtype=np.float64) / (1.0 / input_scale) for x in (a, b, f))
    if feature == "edge":  # binary maps (fmi_feature's, before its float conversion)
        fa, fb, ff = (matlab_edge_sobel(np.asarray(x, dtype=np.float64)) for x in (a, b, f))
        return _fmi_binary(fa, fb, ff, window, reuse_normalised_f)
    fa, fb, ff = (fmi_feature(x, feature) for x in (a, b, f))
    from ._fmi_numba import fmi_window_map
    fa, fb, ff = (_readonly_c64(x) for x in (fa, fb, ff))
    return float(fmi_window_map(fa, fb, ff, window, bool(reuse_normalised_f),
                                float(_F32_MAX_PHI)).mean())


def _fmi_binary(fa, fb, ff, window, reuse_normalised_f) -> float:
    """FMI of binary feature maps: a window's value depends only on the three windows' bit
    patterns (and, for the (b, f) term, on whether a == f), so it is computed once per
    distinct pattern pair and weighted by its count."""
    from ._pattern_numba import pair_pattern_keys
    n = window * window
    if 2 * n + 1 > 63:  # the keys are int64
        raise ValueError(f"binary FMI supports windows up to 5 x 5, got {window} x {window}")
    ea, eb, ef = (np.ascontiguousarray(np.asarray(x) != 0).view(np.uint8) for x in (fa, fb, ff))
    size = (ef.shape[0] - window + 1) * (ef.shape[1] - window + 1)
    key_a, key_b = np.empty(size, np.int64), np.empty(size, np.int64)
    pair_pattern_keys(ea, eb, ef, window, key_a, key_b)  # compiled: one pass per window row
    shifts = np.arange(n)[:, None]
    total = 0.0
    for first, key in ((True, key_a), (False, key_b)):
        if n <= 9:  # a count per possible key (at most 2^19)
            counts = np.bincount(key)
            uniq = np.flatnonzero(counts)
            counts = counts[uniq]
        else:
            uniq, counts = np.unique(key, return_counts=True)
        ws = (((uniq >> n) & ((1 << n) - 1))[None, :] >> shifts & 1).astype(np.float64)
        wf = ((uniq & ((1 << n) - 1))[None, :] >> shifts & 1).astype(np.float64)
        fl = (uniq >> (2 * n)).astype(bool)
        if first:
            val, _ = _fmi_windows(ws, ws, wf, False, eq_af=(ws == wf).all(axis=0))
        else:
            # the (b, f) term as _fmi_windows computes it, given whether a == f
            ftest = np.where(fl, wf, _normalised(wf)) if reuse_normalised_f else wf
            eq = (ws == ftest).all(axis=0)
            val = np.ones(len(uniq))
            sel = np.nonzero(~eq)[0]
            if len(sel):
                val[sel] = _pair_fmi(_WindowStats(wf[:, sel]), _WindowStats(ws[:, sel]))
        total += float((val * counts).sum())
    return total / (2.0 * size)


_FMI_DOC = """Feature mutual information FMI_{feature} (Haghighat, Aghagolzadeh & Seyedarabi,
    Comput. Electr. Eng. 37(5), 2011, in the Fast-FMI form of Haghighat & Razian 2014).
    Feature maps of A, B and F ({feature_doc}); for every 3 x 3 sliding window ('valid'), each
    source/fused pair of windows is min-max normalised (a constant window becomes ones) and
    divided by its sum to give two 9-bin marginal pdfs; their joint pdf is interpolated between
    independence and the Frechet bound of the sign of their Pearson correlation c
    (phi U + (1 - phi) p_a p_f, phi = c / corr(U)), and FMI_XF = 2 I(X;F) / (H_X + H_F) in bits
    (1 where the two raw windows are identical, 0 where I == 0). The value is the mean over
    windows of (FMI_AF + FMI_BF) / 2 (mean over sources), range 0..1, unitless. Data range:
    any (the normalisation is per window). Compiled (numba); the reference loops over pixels.

    Conventions (all use the reference algorithm; `reuse_normalised_f` keeps its quirk that the
    (B, F) equality test compares the raw B window with the F window already normalised in the
    (A, F) branch, so B == F windows score ~0 instead of 1 when A differs):
    - mefb: MEFB metricsFMI.m @82014f4 (feature 'edge' by default there), per RGB channel
      averaged, F's red channel when both sources are grey; reuse_normalised_f=True.
    - tang: analysis_fmi.m (Image-Fusion @53f5542 = SeAFusion Evaluation/analysis_fmi.m
      @d3ae78e) as analysis_Reference.m calls it: on the im2double rgb2gray images
      (input_scale=1/255; it changes only the edge feature's tie-breaking, see
      matlab_edge_sobel), reuse_normalised_f=True.
    - default: the same algorithm with reuse_normalised_f=False (the equality test uses the raw
      F window, as intended).
    The degenerate tests of the reference (exact zeros of c, of the pdf standard deviations
    and of MI) are reproduced with MATLAB's left-to-right summation order; on two different
    constant windows this decides 1 (MATLAB: mean of nine 1/9 is not exactly 1/9, so c = 1).
    Speed: a numba kernel walks the windows row by row (bench.metrics._fmi_numba): the
    per-window terms of each image are computed once (the fused side's serve both pairs), the
    two CDFs are merged by ranks (3 x 3 windows: a straight-line kernel vectorised across the
    windows of a row) or in one pass per pair, and the joint entropy needs only the <= 2n - 1
    cells on the merge path (the others are summed in closed form). The branch decisions and
    the per-window normalisation are float64 in MATLAB's order; the 3 x 3 pair kernel runs in
    float32 (16 windows per vector), with the ill-conditioned windows (~0.1%) redone in
    float64: a window's value moves by ~1e-6 (at most 4e-5 seen), the mean by < 5e-8. The
    edge feature (binary) is scored once per distinct window bit pattern with the NumPy form
    (_pair_fmi, float32 cell terms: ~1e-9 on the mean).
    Options: input_scale multiplies the images first (1/255 = MATLAB's im2double);
    reuse_normalised_f as above."""


def _register_fmi(name: str, feature: str, feature_doc: str, aliases: tuple[str, ...],
                  conventions: dict):
    def metric(a, b, f, feature: str = feature, reuse_normalised_f: bool = False,
               input_scale: float = 1.0) -> float:
        return fmi(a, b, f, feature=feature, reuse_normalised_f=reuse_normalised_f,
                   input_scale=input_scale)

    metric.__name__ = f"fmi_{feature}"
    metric.__doc__ = _FMI_DOC.format(feature=feature, feature_doc=feature_doc)
    register_metric(name, direction="higher", family="information", aliases=aliases,
                    description=f"feature mutual information, {feature_doc}",
                    conventions=conventions)(metric)
    return metric


fmi_edge = _register_fmi(
    "FMI_edge", "edge", "edge feature: MATLAB edge() Sobel map",
    ("fmi", "fmi_e", "fmi-edge"),
    {"default": {}, "mefb": {"reuse_normalised_f": True, "_colour": "mefb-loop-u8"},
     "tang": {"reuse_normalised_f": True, "input_scale": 1.0 / 255.0}})
fmi_pixel = _register_fmi(
    "FMI_pixel", "none", "pixel feature: the raw grey values",
    ("fmi_p", "fmi-pixel", "fmi_none"),
    # Tang's "FMI_pixel" is analysis_fmi(...) with no feature argument, i.e. 'edge'
    {"default": {}, "tang": {"feature": "edge", "reuse_normalised_f": True,
                             "input_scale": 1.0 / 255.0}})
fmi_pixel.__doc__ += """

    Name collision: under profile 'tang', FMI_pixel is EDGE-based -- Tang's analysis_Reference.m
    computes `FMI_pixel = analysis_fmi(img1, img2, img_f)` without a feature argument, and
    analysis_fmi.m's default feature is 'edge' -- so compute('FMI_pixel', ..., profile='tang')
    equals compute('FMI_edge', ..., profile='tang')."""
fmi_gradient = _register_fmi(
    "FMI_gradient", "gradient", "gradient feature: MATLAB gradient() x derivative",
    ("fmi_g", "fmi-gradient"),
    {"default": {}})
fmi_dct = _register_fmi(
    "FMI_dct", "dct", "DCT feature: orthonormal dct2 of the whole image",
    ("fmi_d", "fmi-dct"),
    {"default": {}, "tang": {"reuse_normalised_f": True, "input_scale": 1.0 / 255.0}})
fmi_w = _register_fmi(
    "FMI_w", "wavelet", "wavelet feature: dwt2 'dmey' sub-bands [cA cH; cV cD], rescaled to 0..1",
    ("fmi_wavelet", "fmi-w", "fmi_dwt"),
    {"default": {}, "tang": {"reuse_normalised_f": True, "input_scale": 1.0 / 255.0}})
