"""SSIM-based fusion indices of Yang (Qy), Cvejic (Qc) and Piella (Qs, Qw), family 'structural',
as Z. Liu's implementations compute them (zhengliu6699/imageFusionMetrics @d6f7f1a, and as MEFB
ships them, xingchenzhang/MEFB @82014f4).

Every index combines local SSIM maps of F against the sources, weighted by local source
variances; the windowed statistics and their conventions are those of `bench.metrics.windows`
(a window over which a plane is exactly constant has variance exactly 0; MATLAB's filter2 leaves
rounding noise there, which matters only for Qy and Qc: see their docstrings). Re-implemented
from the papers and from the behaviour of the reference code (read, not copied). Within one
`compute_many()` call Qs and Qw share their maps (`memo`).

Speed (480 x 640, one core, `compute()` including its ~4 ms colour conversion; best of repeated
runs on a shared 2-core VM): Qy ~22 ms, Qc ~19 ms, Qs/Qw ~22 ms (before the whole-image layout:
29, 24, -, 35 ms).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .registry import register_metric
from .ssim import _ssim_from_moments
from .windows import (Arena, Moments, _check_size, _mean, _undefined, buffer, gaussian_1d, memo,
                      valid_view)


_C_YANG = 2e-16
_ZERO_MEAN = 1e-6  # a constant window whose mean is below this is a window of zeros


def _yang_moments(planes: Sequence[np.ndarray]) -> Moments:
    _check_size(planes[0], 11, "this SSIM-based index", "Liu's ssim_yang returns -Inf below 11")
    return Moments(planes, gaussian_1d(7, 1.5), "zero", snap_flat=True)


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
        st = _yang_moments([a, b, f])
        ma, mb, mf = st.mean(0), st.mean(1), st.mean(2)
        va, vb, vf = st.cov(0, 0), st.cov(1, 1), st.cov(2, 2)
        c = _C_YANG
        s_ab = _ssim_from_moments(ma, mb, va, vb, st.cov(0, 1), c, c)
        s_af = _ssim_from_moments(ma, mf, va, vf, st.cov(0, 2), c, c)
        s_bf = _ssim_from_moments(mb, mf, vb, vf, st.cov(1, 2), c, c)
        lam = np.add(va, vb, out=buffer(va.shape))
        np.divide(va, lam, out=lam)
        fa, fb = st.flat(0), st.flat(1)
        matlab_nan = None  # windows where MATLAB's lambda is exactly 0/0 too (both sources 0)
        if fa is not None and fb is not None:
            za, zb = np.abs(ma) <= _ZERO_MEAN, np.abs(mb) <= _ZERO_MEAN
            matlab_nan = fa & fb & za & zb
            if flat_lambda == "matlab":
                # both sources constant: MATLAB's lambda where it is determined (equal constants:
                # 1/2; one constant 0: 0 or 1); two zero constants stay 0/0
                equal = np.abs(np.subtract(ma, mb, out=va)) <= _ZERO_MEAN  # va: not needed
                exact = fa & fb & (equal | za | zb) & ~(za & zb)
                np.copyto(lam, 0.5, where=exact & equal)
                np.copyto(lam, 0.0, where=exact & za)
                np.copyto(lam, 1.0, where=exact & zb)
        binary = s_ab >= 0.75
        # where SSIM(A,B) >= 0.75: lam SSIM(A,F) + (1 - lam) SSIM(B,F) = SSIM(B,F) + lam (
        # SSIM(A,F) - SSIM(B,F)); elsewhere the larger of the two. NaN (0/0) times 0 stays NaN,
        # so those pixels are NaN in both branches, as in MATLAB.
        q = np.subtract(s_af, s_bf, out=s_ab)
        q *= lam
        q += s_bf
        q *= binary
        big = np.maximum(s_af, s_bf, out=s_af)
        big *= ~binary
        q += big
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
        st = _yang_moments([a, b, f])
        ma, mb, mf = st.mean(0), st.mean(1), st.mean(2)
        va, vb, vf = st.cov(0, 0), st.cov(1, 1), st.cov(2, 2)
        caf, cbf = st.cov(0, 2), st.cov(1, 2)
        s_af = _ssim_from_moments(ma, mf, va, vf, caf, _C_YANG, _C_YANG)
        s_bf = _ssim_from_moments(mb, mf, vb, vf, cbf, _C_YANG, _C_YANG)
        mu = np.add(caf, cbf, out=buffer(caf.shape))
        np.divide(caf, mu, out=mu)
        # sim = mu SSIM(A,F) + (1 - mu) SSIM(B,F) = SSIM(B,F) + mu (SSIM(A,F) - SSIM(B,F))
        sim = np.subtract(s_af, s_bf, out=s_af)
        sim *= mu
        sim += s_bf
        np.copyto(sim, 0.0, where=mu < 0)
        np.copyto(sim, 1.0, where=mu > 1)
        matlab_nan = None
        if not drop_nan:
            # MATLAB's covariances are exactly 0 (so mu is 0/0) only where F, or both sources,
            # are 0 over the whole window; elsewhere a constant window leaves rounding noise
            def zeros(i: int, m: np.ndarray) -> np.ndarray:
                fl = st.flat(i)
                return np.zeros(m.shape, bool) if fl is None else fl & (np.abs(m) <= _ZERO_MEAN)
            matlab_nan = zeros(2, mf) | (zeros(0, ma) & zeros(1, mb))
        return _finish(sim, "Qc", drop_nan, "F has no covariance with either source",
                       "F, or both sources, are 0 over the window", "Liu's metricCvejic.m",
                       matlab_nan)


def _piella_terms(x: np.ndarray, y: np.ndarray, fz: np.ndarray):
    """Liu's metricPeilla.m statistics with Wang's ssim_index (11 x 11 Gaussian 1.5 'valid',
    K = (0.01, 0.03), L = 255): -> (Q map = lambda SSIM(F,A) + (1 - lambda) SSIM(F,B),
    c = max(s_A^2, s_B^2)), both 'valid' views; lambda = s_A^2 / (s_A^2 + s_B^2) after adding 0.5
    to both variances where their sum is 0."""
    _check_size(x, 11, "Piella's index", "Wang's ssim_index needs 11 x 11")
    k = gaussian_1d(11, 1.5)
    st = Moments([x, y, fz], k, "zero", snap_flat=True)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my, mf = st.mean(0), st.mean(1), st.mean(2)
    va, vb, vf = st.cov(0, 0), st.cov(1, 1), st.cov(2, 2)
    s_fa = _ssim_from_moments(mf, mx, vf, va, st.cov(0, 2), c1, c2)
    s_fb = _ssim_from_moments(mf, my, vf, vb, st.cov(1, 2), c1, c2)
    va, vb = st.pop_cov(0, 0), st.pop_cov(1, 1)
    tot = np.add(va, vb, out=mx)
    both0 = tot == 0
    va += 0.5 * both0
    vb += 0.5 * both0
    lam = np.add(va, vb, out=tot)
    with np.errstate(invalid="ignore", divide="ignore"):  # zero-padded borders are cropped
        np.divide(va, lam, out=lam)
    # lam SSIM(F,A) + (1 - lam) SSIM(F,B) = SSIM(F,B) + lam (SSIM(F,A) - SSIM(F,B))
    q = np.subtract(s_fa, s_fb, out=s_fa)
    q *= lam
    q += s_fb
    cw = np.maximum(va, vb, out=va)
    return valid_view(q, 11), valid_view(cw, 11)


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
