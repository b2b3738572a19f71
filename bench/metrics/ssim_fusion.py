"""SSIM-based fusion indices of Yang (Qy), Cvejic (Qc) and Piella (Qs, Qw), family 'structural',
as Z. Liu's implementations compute them (zhengliu6699/imageFusionMetrics @d6f7f1a, and as MEFB
ships them, xingchenzhang/MEFB @82014f4).

Every index combines local SSIM maps of F against the sources, weighted by local source
variances; the windowed statistics and their conventions are those of `bench.metrics.windows`
(a window over which a plane is exactly constant has variance exactly 0; MATLAB's filter2 leaves
rounding noise there, which matters only for Qy and Qc: see their docstrings). Re-implemented
from the papers and from the behaviour of the reference code (read, not copied). Within one
`compute_many()` call Qs and Qw share their maps, Qy and Qc their SSIM(A,F) and SSIM(B,F) maps
and window statistics, and Qs/Qw the 11 x 11 statistics of SSIM and MEF-SSIM (`memo`,
`raw_moments`). The per-pixel formulas are compiled passes (numba) over the shared statistics,
with the operations of the numpy formulation they replaced, in the same order.

Speed (480 x 640, one core, `compute()` including its colour conversion; best of repeated runs
on a shared 2-core VM): Qy ~14 ms, Qc ~12 ms, Qs/Qw ~13 ms (numpy formulas: 18, 15, 18 ms;
before the whole-image layout: 29, 24, 35 ms); inside compute_many, after the shared
statistics exist: Qy ~3 ms, Qs ~2 ms.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .registry import register_metric
from .windows import (SHIFT, Arena, Kept, _check_size, _mean, _undefined, buffer, gaussian_1d,
                      memo, raw_moments, valid_view)


_C_YANG = 2e-16
_ZERO_MEAN = 1e-6  # a constant window whose mean is below this is a window of zeros


def _yang_statistics(planes: Sequence[np.ndarray]):
    """Liu's ssim_yang window statistics of (A, B, F) (7 x 7 Gaussian 1.5, zero padding):
    -> (stats, pos, shared, flats) as `raw_moments` gives them (shared by Qy and Qc within
    compute_many), with the flat-window masks of the three planes (all-False where none)."""
    _check_size(planes[0], 11, "this SSIM-based index", "Liu's ssim_yang returns -Inf below 11")
    st, pos, shared = raw_moments(planes, gaussian_1d(7, 1.5), "zero")
    for i in pos:
        st.cov(i, i)  # computes the flat masks
    none = np.zeros(np.shape(planes[0]), bool)
    flats = [none if st.flat.get(i) is None else st.flat[i] for i in pos]
    return st, pos, shared, flats


class _YangMaps(Kept):
    """SSIM(A,F) and SSIM(B,F) of Liu's ssim_yang (read-only, kept past the Arena)."""


def _yang_source_maps(a: np.ndarray, b: np.ndarray, f: np.ndarray, stats
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(SSIM(A,F), SSIM(B,F)) maps of Liu's ssim_yang (C1 = C2 = 2e-16, variances of constant
    windows exactly 0) from `_yang_statistics` of (a, b, f), memoised on read-only planes: Qy
    and Qc of one compute_many() call share them. Nobody may modify them."""
    st, (ia, ib, i_f), _, flats = stats

    def compute() -> _YangMaps:
        kept = _YangMaps()
        shape = np.shape(f)
        kept.maps = (kept.take(shape), kept.take(shape))
        _yang_kernels()[0](st.mu[ia], st.mu[ib], st.mu[i_f], st.cov(ia, ia), st.cov(ib, ib),
                           st.cov(i_f, i_f), st.cov(ia, i_f), st.cov(ib, i_f), *flats, SHIFT,
                           _C_YANG, *kept.maps)
        return kept
    return memo([a, b, f], ("yang_source_maps",), compute).maps


_YANG_KERNELS = None


def _yang_kernels():
    """Compiled per-pixel passes of Qy and Qc (numba, compiled on first use, cached on disk),
    every operation as the numpy formulation they replaced (`_ssim_from_moments` on the
    snapped statistics of `Moments(snap_flat=True)`), in the same order."""
    global _YANG_KERNELS
    if _YANG_KERNELS is not None:
        return _YANG_KERNELS
    from numba import njit
    zero_mean = _ZERO_MEAN

    @njit(cache=True, error_model="numpy")
    def ssim2(mi, mj, vi, vj, cij, c):
        return (((mi * mj) * 2.0 + c) * (cij * 2.0 + c)) / (
            ((mi * mi + mj * mj) + c) * ((vi + vj) + c))

    @njit(cache=True, error_model="numpy")
    def source_maps(mua, mub, muf, vaa, vbb, vff, vaf, vbf, fla, flb, flf, shift, c,
                    s_af, s_bf):
        rows, cols = s_af.shape
        for y in range(rows):
            mar, mbr, mfr, aar, bbr, ffr = mua[y], mub[y], muf[y], vaa[y], vbb[y], vff[y]
            afr, bfr, far, fbr, fff = vaf[y], vbf[y], fla[y], flb[y], flf[y]
            sar, sbr = s_af[y], s_bf[y]
            for x in range(cols):
                fa, fb, ff = far[x], fbr[x], fff[x]
                va = 0.0 if fa else aar[x]
                vb = 0.0 if fb else bbr[x]
                vf = 0.0 if ff else ffr[x]
                caf = 0.0 if fa | ff else afr[x]
                cbf = 0.0 if fb | ff else bfr[x]
                mf = mfr[x] + shift
                sar[x] = ssim2(mar[x] + shift, mf, va, vf, caf, c)
                sbr[x] = ssim2(mbr[x] + shift, mf, vb, vf, cbf, c)

    @njit(cache=True, error_model="numpy")
    def yang(mua, mub, vaa, vbb, vab, fla, flb, shift, c, matlab, s_af, s_bf, q):
        rows, cols = q.shape
        for y in range(rows):
            mar, mbr, aar, bbr, abr = mua[y], mub[y], vaa[y], vbb[y], vab[y]
            far, fbr, sar, sbr, qr = fla[y], flb[y], s_af[y], s_bf[y], q[y]
            for x in range(cols):
                fa, fb = far[x], fbr[x]
                va = 0.0 if fa else aar[x]
                vb = 0.0 if fb else bbr[x]
                cab = 0.0 if fa | fb else abr[x]
                ma = mar[x] + shift
                mb = mbr[x] + shift
                s_ab = ssim2(ma, mb, va, vb, cab, c)
                lam = va / (va + vb)
                if matlab and fa and fb:
                    za = abs(ma) <= zero_mean
                    zb = abs(mb) <= zero_mean
                    equal = abs(ma - mb) <= zero_mean
                    if (equal | za | zb) and not (za and zb):
                        if equal:
                            lam = 0.5
                        if za:
                            lam = 0.0
                        if zb:
                            lam = 1.0
                sa, sb = sar[x], sbr[x]
                big = sa if sa >= sb else sb  # numpy's maximum: NaN wins
                if sb != sb:
                    big = sb
                if sa != sa:
                    big = sa
                on = 1.0 if s_ab >= 0.75 else 0.0
                qr[x] = ((sa - sb) * lam + sb) * on + big * (1.0 - on)

    @njit(cache=True, error_model="numpy")
    def cvejic(vaf, vbf, fla, flb, flf, s_af, s_bf, sim):
        rows, cols = sim.shape
        for y in range(rows):
            afr, bfr, far, fbr, fff = vaf[y], vbf[y], fla[y], flb[y], flf[y]
            sar, sbr, simr = s_af[y], s_bf[y], sim[y]
            for x in range(cols):
                ff = fff[x]
                caf = 0.0 if far[x] | ff else afr[x]
                cbf = 0.0 if fbr[x] | ff else bfr[x]
                mu = caf / (caf + cbf)
                sb = sbr[x]
                v = (sar[x] - sb) * mu + sb
                v = 0.0 if mu < 0.0 else v
                simr[x] = 1.0 if mu > 1.0 else v

    _YANG_KERNELS = (source_maps, yang, cvejic)
    return _YANG_KERNELS


def _finish(q: np.ndarray, metric: str, drop_nan: bool, why: str, why_matlab: str,
            toolkit: str, matlab_nan: np.ndarray | None = None) -> float:
    """Mean of a map's 'valid' part; NaN pixels (0/0) dropped as MEFB does
    (`A = A(~isnan(A))`), or, as Liu's code averages them (`mean2`), an undefined value.
    matlab_nan: where MATLAB's value is NaN too (default: every NaN pixel); the other NaN
    pixels are dropped even when drop_nan is False."""
    q = valid_view(q, 7)
    nan = np.isnan(q)
    if not nan.any():
        return _mean(q)
    if not drop_nan:
        hard = nan if matlab_nan is None else nan & valid_view(matlab_nan, 7)
        if hard.any():
            raise _undefined(f"{metric} is not defined for this input under {toolkit}: "
                             f"{why_matlab} in {int(hard.sum())} windows (0/0), and the mean2 "
                             "of its map is NaN")
    keep = q[~nan]
    if keep.size == 0:
        raise _undefined(f"{metric} is not defined for this input: {why} in every window")
    return float(np.mean(keep))


@register_metric(
    "Qy", direction="higher", family="structural", aliases=("Q_Y", "metricYang", "metricsQy"),
    description="Yang et al.'s SSIM-based fusion quality (2008)",
    conventions={"default": {}, "mefb": {"_colour": "mefb-loop-u8"}, "liu": {"drop_nan": False}})
def q_yang(a, b, f, *, flat_lambda: str = "matlab", drop_nan: bool = True) -> float:
    """Qy (C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, "A novel similarity based quality metric for
    image fusion", Inf. Fusion 9(2), 2008). Unitless, <= 1.

    SSIM maps with a 7 x 7 Gaussian window (sigma 1.5, 'valid') and C1 = C2 = 2e-16 (Liu's
    ssim_yang). Where SSIM(A,B) >= 0.75 the score is lambda SSIM(A,F) + (1 - lambda) SSIM(B,F),
    lambda = s_A^2 / (s_A^2 + s_B^2) (local variances); elsewhere max(SSIM(A,F), SSIM(B,F)); the
    map is averaged. Sources combined inside the formula.

    Windows where BOTH sources are constant (lambda = 0/0 in exact arithmetic), flat_lambda:
    - 'matlab' (all profiles): lambda as MATLAB's filter2 leaves it where that is determined.
      There MATLAB's variances are not 0 but rounding noise, the same for equal windows and
      exactly 0 only for a window of zeros: so lambda is exactly 1/2 for two equal constants, 0
      (1) when A's (B's) constant is 0 and the other's is not, and NaN when both are 0. This is
      what makes MEFB's 0.84273 on the near-binary 0/255 triple of the reference fixtures
      (dropping every both-constant window instead gives 0.84159). For two different non-zero
      constants MATLAB's lambda is a ratio of rounding noise (any value, even outside [0, 1]):
      NaN here, dropped like the other 0/0 windows. The SSIM maps stay exact on constant
      windows (structure term 1), where MATLAB's noise would give about 2 c_A c_B / (c_A^2 +
      c_B^2) for different constants: the reference records of constant images are therefore
      not reproducible (marked ill-conditioned in the fixtures).
    - 'drop': lambda is NaN wherever both sources are constant (the windows are dropped).

    NaN windows: drop_nan=True drops them and averages the rest, as MEFB does
    (`A = A(~isnan(A))`); drop_nan=False is Liu's metricYang.m (`mean2` of the map): a window of
    zeros in both sources, NaN in MATLAB too, makes it MetricUndefined; the windows of two
    different constants (MATLAB: a noise value) are still dropped.

    - mefb / default: MEFB metricsQy.m@82014f4 (Liu's metricYang.m plus the NaN removal). MEFB
      scores only F's red channel when both sources are grey ('mefb-loop-u8' colour rule).
    - liu: zhengliu6699/imageFusionMetrics metricYang.m@d6f7f1a (drop_nan=False), grey images.

    Needs at least 11 x 11 pixels (ValueError); constant sources leave no pixel
    (MetricUndefined).
    """
    if flat_lambda not in ("matlab", "drop"):
        raise ValueError(f"flat_lambda must be 'matlab' or 'drop', got {flat_lambda!r}")
    with Arena(), np.errstate(invalid="ignore", divide="ignore"):
        stats = _yang_statistics([a, b, f])
        st, (ia, ib, _), shared, flats = stats
        s_af, s_bf = _yang_source_maps(a, b, f, stats)  # read-only (shared with Qc)
        # per pixel: SSIM(A,B); lambda = s_A^2 / (s_A^2 + s_B^2), where both sources are
        # constant (flat_lambda 'matlab') MATLAB's lambda where it is determined (equal
        # constants: 1/2; one constant 0: 0 or 1; two zero constants stay 0/0); where
        # SSIM(A,B) >= 0.75: lam SSIM(A,F) + (1 - lam) SSIM(B,F) = SSIM(B,F) + lam (SSIM(A,F) -
        # SSIM(B,F)), elsewhere the larger of the two (both as products with the 0/1
        # indicator, so NaN (0/0) pixels stay NaN in both branches, as in MATLAB)
        q = buffer(np.shape(f))
        _yang_kernels()[1](st.mu[ia], st.mu[ib], st.cov(ia, ia), st.cov(ib, ib),
                           st.cov(ia, ib), flats[0], flats[1], SHIFT, _C_YANG,
                           flat_lambda == "matlab", s_af, s_bf, q)
        fa, fb = st.flat.get(ia), st.flat.get(ib)
        matlab_nan = None  # windows where MATLAB's lambda is exactly 0/0 too (both sources 0)
        if fa is not None and fb is not None:
            za = np.abs(np.add(st.mu[ia], SHIFT, out=buffer(q.shape))) <= _ZERO_MEAN
            zb = np.abs(np.add(st.mu[ib], SHIFT, out=buffer(q.shape))) <= _ZERO_MEAN
            matlab_nan = fa & fb & za & zb
        if not shared:
            st.release()
        return _finish(q, "Qy", drop_nan, "both sources are constant (lambda = 0/0)",
                       "both sources are 0 over the window", "Liu's metricYang.m", matlab_nan)


@register_metric(
    "Qc", direction="higher", family="structural", aliases=("Q_C", "metricCvejic", "metricsQc"),
    description="Cvejic et al.'s SSIM-based fusion quality (2006)",
    conventions={"default": {}, "mefb": {"_colour": "mefb-loop-u8"}, "liu": {"drop_nan": False}})
def q_cvejic(a, b, f, *, drop_nan: bool = True) -> float:
    """Qc (N. Cvejic, A. Loza, D. Bull, N. Canagarajah, "A similarity metric for assessment of
    image fusion algorithms", Int. J. Signal Process. 2(3), 2006); Liu's metricCvejic.m metric 2.
    Unitless, <= 1.

    SSIM maps SSIM(A,F), SSIM(B,F) with Liu's ssim_yang (7 x 7 Gaussian, sigma 1.5, 'valid',
    C1 = C2 = 2e-16); sim = mu SSIM(A,F) + (1 - mu) SSIM(B,F) with mu = s_AF / (s_AF + s_BF) (local
    covariances with F), sim = 0 where mu < 0 and 1 where mu > 1 (so also where the denominator
    is 0 with a nonzero numerator), mean. Not symmetric in A and B: where s_AF and s_BF have
    opposite signs the clamps give 0 or 1 depending on the order (MEFB passes its two exposures
    in file order).

    Windows with mu = 0/0 (F, or both sources, constant over the window): drop_nan=True drops
    them (MEFB: `sim = sim(~isnan(sim))`); drop_nan=False is Liu's code (`mean2(sim)`): where
    MATLAB's mu is 0/0 too (F, or both sources, 0 over the whole window: their covariances are
    exactly 0 there) the result is MetricUndefined; the other constant windows (MATLAB: a ratio of
    rounding noise) are dropped.

    - mefb / default: MEFB metricsQc.m@82014f4; 'mefb-loop-u8' colour rule under mefb.
    - liu: zhengliu6699/imageFusionMetrics metricCvejic.m@d6f7f1a with sw = 2 (drop_nan=False).

    Same note on MATLAB rounding noise as Qy (in windows where F is constant MATLAB's mu is a
    ratio of rounding noise: such records are marked ill-conditioned). Needs at least 11 x 11
    pixels; an F without covariance with either source anywhere (e.g. a constant F) raises
    MetricUndefined.
    """
    with Arena(), np.errstate(invalid="ignore", divide="ignore"):
        stats = _yang_statistics([a, b, f])
        st, pos, shared, flats = stats
        s_af, s_bf = _yang_source_maps(a, b, f, stats)  # read-only (shared with Qy)
        # sim = mu SSIM(A,F) + (1 - mu) SSIM(B,F) = SSIM(B,F) + mu (SSIM(A,F) - SSIM(B,F)),
        # mu = s_AF / (s_AF + s_BF); 0 where mu < 0, 1 where mu > 1
        sim = buffer(np.shape(f))
        _yang_kernels()[2](st.cov(pos[0], pos[2]), st.cov(pos[1], pos[2]), *flats, s_af, s_bf,
                           sim)
        matlab_nan = None
        if not drop_nan:
            # MATLAB's covariances are exactly 0 (so mu is 0/0) only where F, or both sources,
            # are 0 over the whole window; elsewhere a constant window leaves rounding noise
            def zeros(i: int) -> np.ndarray:
                fl = st.flat.get(pos[i])
                if fl is None:
                    return np.zeros(sim.shape, bool)
                return fl & (np.abs(np.add(st.mu[pos[i]], SHIFT, out=buffer(sim.shape)))
                             <= _ZERO_MEAN)
            matlab_nan = zeros(2) | (zeros(0) & zeros(1))
        if not shared:
            st.release()
        return _finish(sim, "Qc", drop_nan, "F has no covariance with either source",
                       "F, or both sources, are 0 over the window", "Liu's metricCvejic.m",
                       matlab_nan)


def _piella_terms(x: np.ndarray, y: np.ndarray, fz: np.ndarray):
    """Liu's metricPeilla.m statistics with Wang's ssim_index (11 x 11 Gaussian 1.5 'valid',
    K = (0.01, 0.03), L = 255): -> (Q map = lambda SSIM(F,A) + (1 - lambda) SSIM(F,B),
    c = max(s_A^2, s_B^2)), both 'valid' views; lambda = s_A^2 / (s_A^2 + s_B^2) after adding 0.5
    to both variances where their sum is 0. Variances of windows over which a plane is constant
    are exactly 0 (`Moments(snap_flat=True)`). The window statistics are `raw_moments` (shared
    with SSIM, MS-SSIM and MEF-SSIM in compute_many); the per-pixel formula is one compiled pass
    (`_piella_kernel`) with the operations of the numpy formulation it replaced, in order."""
    _check_size(x, 11, "Piella's index", "Wang's ssim_index needs 11 x 11")
    k = gaussian_1d(11, 1.5)
    st, pos, shared = raw_moments([x, y, fz], k, "zero")
    ia, ib, i_f = pos
    shape = np.shape(fz)
    covs = [st.cov(ia, ia), st.cov(ib, ib), st.cov(i_f, i_f), st.cov(ia, i_f), st.cov(ib, i_f)]
    none = None
    masks = []
    for i in (ia, ib, i_f):
        m = st.flat.get(i)
        if m is None:
            if none is None:
                none = np.zeros(shape, bool)
            m = none
        masks.append(m)
    q, cw = buffer(shape), buffer(shape)
    _piella_kernel()(st.mu[ia], st.mu[ib], st.mu[i_f], *covs, *masks, SHIFT,
                     (0.01 * 255) ** 2, (0.03 * 255) ** 2, q, cw)
    if not shared:
        st.release()
    return valid_view(q, 11), valid_view(cw, 11)


_PIELLA_KERNEL = None


def _piella_kernel():
    """The compiled per-pixel pass of `_piella_terms` (numba, compiled on first use, cached on
    disk): snapped (co)variances, SSIM(F,A) and SSIM(F,B) as `_ssim_from_moments` forms them,
    lambda, the Q map and the window weight max(s_A^2, s_B^2)."""
    global _PIELLA_KERNEL
    if _PIELLA_KERNEL is None:
        from numba import njit

        @njit(cache=True, error_model="numpy")
        def piella(mua, mub, muf, vaa, vbb, vff, vaf, vbf, fla, flb, flf, shift, c1, c2, q, cw):
            rows, cols = q.shape
            for y in range(rows):
                mar, mbr, mfr = mua[y], mub[y], muf[y]
                var, vbr, vfr, afr, bfr = vaa[y], vbb[y], vff[y], vaf[y], vbf[y]
                far, fbr, ffr = fla[y], flb[y], flf[y]
                qr, cwr = q[y], cw[y]
                for x in range(cols):
                    fa, fb, ff = far[x], fbr[x], ffr[x]
                    va = 0.0 if fa else var[x]
                    vb = 0.0 if fb else vbr[x]
                    vf = 0.0 if ff else vfr[x]
                    caf = 0.0 if fa | ff else afr[x]
                    cbf = 0.0 if fb | ff else bfr[x]
                    mx = mar[x] + shift
                    my = mbr[x] + shift
                    mf = mfr[x] + shift
                    s_fa = (((mf * mx) * 2.0 + c1) * (caf * 2.0 + c2)) / (
                        ((mf * mf + mx * mx) + c1) * ((vf + va) + c2))
                    s_fb = (((mf * my) * 2.0 + c1) * (cbf * 2.0 + c2)) / (
                        ((mf * mf + my * my) + c1) * ((vf + vb) + c2))
                    if va + vb == 0.0:
                        va += 0.5
                        vb += 0.5
                    lam = va / (va + vb)
                    qr[x] = (s_fa - s_fb) * lam + s_fb
                    cwr[x] = va if va >= vb else vb

        _PIELLA_KERNEL = piella
    return _PIELLA_KERNEL


def _piella_scores(x: np.ndarray, y: np.ndarray, fz: np.ndarray) -> tuple[float, float]:
    """(Qs, Qw) from the same maps (Qw is NaN when the window weights sum to 0), memoised on
    read-only planes."""
    def both() -> tuple[float, float]:
        with Arena():
            q, cw = _piella_terms(x, y, fz)
            total = float(cw.sum())
            qw = float(np.sum(cw * q) / total) if total > 0 else float("nan")
            return _mean(q), qw
    return memo([x, y, fz], ("piella",), both)


_PREWITT_X = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
_PREWITT_Y = _PREWITT_X.T.copy()


def _edge_magnitude(img: np.ndarray) -> np.ndarray:
    """Liu's metricPeilla.m edge image: sqrt(gx^2 + gy^2) with filter2([1 0 -1; 1 0 -1; 1 0 -1],
    x, 'same') and its transpose (zero padding)."""
    gx = cv2.filter2D(img, cv2.CV_64F, _PREWITT_X, borderType=cv2.BORDER_CONSTANT)
    gy = cv2.filter2D(img, cv2.CV_64F, _PREWITT_Y, borderType=cv2.BORDER_CONSTANT)
    return np.sqrt(gx * gx + gy * gy)


@register_metric(
    "Qs", direction="higher", family="structural",
    aliases=("Q_S", "Piella_Q", "metricPeilla_sw1"),
    description="Piella's fusion quality index (2003), unweighted mean over windows",
    conventions={"default": {}, "liu": {}})
def q_piella_mean(a, b, f) -> float:
    """Qs: Piella and Heijmans' fusion quality index Q(a, b, f) (G. Piella, H. Heijmans, "A new
    quality metric for image fusion", ICIP 2003, eq. (5)), as Z. Liu implements it with SSIM in
    place of the universal image quality index and names it $Q_S$ (zhengliu6699/imageFusionMetrics
    fusionAssess.m@d6f7f1a: `Q(i,8)=metricPeilla(im1,im2,fused{i},1)`, "Piella ... $Q_S$"; Liu et
    al., IEEE TPAMI 34(1), 2012). Unitless, <= 1.

    Q = mean over windows of lambda SSIM(F,A) + (1 - lambda) SSIM(F,B), lambda = s_A^2 /
    (s_A^2 + s_B^2) (local variances; 0.5 added to both where they sum to 0); SSIM is Wang's
    ssim_index (11 x 11 Gaussian, sigma 1.5, 'valid', K = (0.01, 0.03), L = 255). Sources combined
    by the saliency weight lambda. Unlike Qw the windows are not weighted by their saliency.

    - liu / default: metricPeilla.m case 1 (`res = mean2(Q)`), grey images.

    Needs at least 11 x 11 pixels (ValueError).
    """
    return _piella_scores(a, b, f)[0]


@register_metric(
    "Qw", direction="higher", family="structural",
    aliases=("Q_W", "metricPeilla", "metricPiella", "metricsQw"),
    description="Piella's weighted fusion quality index (2003)",
    conventions={"default": {}, "mefb": {"features": "edges", "_colour": "mefb-loop-u8"},
                 "liu": {"features": "intensity"}})
def q_piella(a, b, f, *, features: str = "intensity") -> float:
    """Qw, Piella and Heijmans' weighted fusion quality index (ICIP 2003, eq. (6)); Liu's
    metricPeilla.m. Unitless, <= 1. Sources combined by local-variance saliency lambda and
    window weights c(w) = max(s_A^2, s_B^2) normalised to sum 1: Qw = sum_w c(w) (lambda(w)
    SSIM(F,A|w) + (1 - lambda(w)) SSIM(F,B|w)); SSIM is Wang's ssim_index (11 x 11 Gaussian,
    sigma 1.5, 'valid', K = (0.01, 0.03), L = 255). (Qs is the same without the window weights.)

    - default / liu: features='intensity', Piella's Q_W on the images (Liu's metricPeilla.m
      `sw = 2`, zhengliu6699/imageFusionMetrics@d6f7f1a).
    - mefb: features='edges'. MEFB's metricsQw.m@82014f4 hard-codes `sw = 3` and returns
      `Qe = Qw^alpha` with alpha = 1, where Qw is the weighted index computed on the edge-magnitude
      images (3 x 3 Prewitt-like filters, filter2 'same'); Liu's sw = 3 would multiply by the
      intensity index (`Qe = Q*Qw^alpha`) but never defines Q. So MEFB's "Qw" is the weighted
      index of the edge maps, not of the images. 'mefb-loop-u8' colour rule.

    Needs at least 11 x 11 pixels. Constant sources give lambda = 1/2 everywhere (the +0.5 rule).
    """
    if features not in ("intensity", "edges"):
        raise ValueError(f"features must be 'intensity' or 'edges', got {features!r}")
    if features == "edges":
        a, b, f = _edge_magnitude(a), _edge_magnitude(b), _edge_magnitude(f)
    qw = _piella_scores(a, b, f)[1]
    if np.isnan(qw):
        raise _undefined("Qw is not defined: the source variances sum to 0")
    return qw
