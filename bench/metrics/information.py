"""Information-theoretic metrics: EN, CE, MI, NMI, QNCIE, TE, TE_nava and the FMI family.

Every metric is re-implemented from its formula and from the behaviour of the reference code as
read (not copied); provenance is cited as repo/path@commit. The reference toolkits are

- VIFB: xingchenzhang/VIFB metrics/metrics*.m @5d29ee7 (VI is passed as the first source);
- MEFB: xingchenzhang/MEFB metrics/*.m @82014f4 (its NMI, QNCIE and TE are Z. Liu's
  zhengliu6699/imageFusionMetrics metricMI.m / metricWang.m / tsallis.m with normalize1.m
  @d6f7f1a);
- Tang: the published toolkit, Linfeng-Tang/Image-Fusion `General Evaluation Metric/
  Evaluation` @53f5542 (identical to Linfeng-Tang/SeAFusion Evaluation/ @d3ae78e), driven by
  Linfeng-Tang/Evaluation-for-Image-Fusion Evaluation_for_Single_Image.m @5d6c43a: IR first,
  rgb2gray on uint8 images; EN and MI on the uint8 images, FMI on im2double images;
- Z. Liu's imageFusionMetrics: zhengliu6699/imageFusionMetrics @d6f7f1a (metricMI.m,
  metricWang.m, tsallis.m, mutual_info.m, normalize1.m; Liu, Blasch, Xue, Zhao, Laganiere &
  Wu, IEEE TPAMI 34(1), 2012);
- CDDFuse: Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py @40de058.

Histogram-based metrics bin values on the 256 integer grey levels 0..255. The fused image and
the sources arrive as float planes on the 0..255 scale (see bench.metrics.profiles); a toolkit
that indexes a histogram with the raw uint8 values sees integers, so the binning rule (`levels`)
only matters for non-integer input: 'rint' (nearest, halves to even, numpy/CDDFuse), 'round'
(halves away from zero, MATLAB round/uint8), 'floor' (VIFB/MEFB `floor` in metricsEntropy.m).

VIFB/MEFB conventions select the wrappers' channel loops (`vifb-loop-u8`, `mefb-loop-u8`, ...,
see bench.metrics.profiles.channel_loop).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import MetricUndefined
from .matlab import imfilter, matlab_round
from .registry import register_metric

LN2 = np.log(2.0)


# --------------------------------------------------------------------------- histograms
def to_levels(img: np.ndarray, levels: str = "rint") -> np.ndarray:
    """Integer grey levels 0..255 (int64) of a plane on the 0..255 scale.

    levels: 'rint' (nearest, halves to even), 'round' (halves away from zero, as MATLAB round
    and uint8()), 'floor'. Values outside 0..255 are clipped."""
    x = np.asarray(img, dtype=np.float64)
    if levels == "rint":
        q = np.rint(x)
    elif levels == "round":
        q = matlab_round(x)
    elif levels == "floor":
        q = np.floor(x)
    else:
        raise ValueError(f"levels must be 'rint', 'round' or 'floor', got {levels!r}")
    return np.clip(q, 0, 255).astype(np.int64)


def grey_histogram(img: np.ndarray, levels: str = "rint") -> np.ndarray:
    """256-bin probability histogram of values in 0..255, binned by `levels` (see to_levels)."""
    counts = np.bincount(to_levels(img, levels).ravel(), minlength=256).astype(np.float64)
    return counts / counts.sum()


def joint_histogram(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """256 x 256 joint probability of two integer level maps (0..255): rows x, columns y."""
    counts = np.bincount((x.ravel() * 256 + y.ravel()), minlength=65536).astype(np.float64)
    return (counts / counts.sum()).reshape(256, 256)


def _entropy(p: np.ndarray, log=np.log2) -> float:
    p = p[p > 0]
    return float(-(p * log(p)).sum())


def _mutual_information(x: np.ndarray, y: np.ndarray, log=np.log2) -> tuple[float, float, float]:
    """(MI, H(x), H(y)) as H(x) + H(y) - H(x, y) from the 256 x 256 joint histogram."""
    h = joint_histogram(x, y)
    hx = _entropy(h.sum(axis=1), log)
    hy = _entropy(h.sum(axis=0), log)
    return hx + hy - _entropy(h.ravel(), log), hx, hy


def normalize1(img: np.ndarray, constant: str = "zero") -> np.ndarray:
    """Z. Liu's normalize1.m (imageFusionMetrics; MEFB metrics/normalize1.m): min-max to 0..255,
    then MATLAB round -> integer levels (int64).

    An all-zero image is returned unchanged (as normalize1.m does). Any other constant image
    divides 0 by 0 in normalize1.m and the MATLAB metric then fails on a NaN index:
    constant='error' raises MetricUndefined (the reference behaviour), constant='zero' maps the
    image to zeros (fusebench's default, as VIFB's metricsMutinf.m does)."""
    x = np.asarray(img, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        if lo == 0.0 or constant == "zero":
            return np.zeros(x.shape, dtype=np.int64)
        raise MetricUndefined("normalize1 (Z. Liu / MEFB) divides by zero on a constant image "
                              f"(all pixels {lo:g}); the MATLAB reference fails on it")
    return np.clip(matlab_round((x - lo) / (hi - lo) * 255.0), 0, 255).astype(np.int64)


# --------------------------------------------------------------------------- EN
@register_metric(
    "EN", direction="higher", family="information", needs=("fused",),
    aliases=("entropy", "en"),
    description="Shannon entropy of the fused image's 256-bin grey histogram, bits",
    conventions={
        "default": {},
        "vifb": {"levels": "floor", "_colour": "vifb-loop-u8"},
        "mefb": {"levels": "floor", "_colour": "mefb-loop-u8"},
        "tang": {},
        "cddfuse": {},
    })
def entropy(a, b, f, levels: str = "rint", base: float = 2.0) -> float:
    """EN = -sum_i p_i log2 p_i over the 256-bin histogram of F. Units: bits (base=2; 0..8).
    Data range 0..255, binned on integer levels (`levels`, see to_levels). Sources unused.

    Conventions (all agree on integer input; they differ only in how fractions are binned):
    - default, tang, cddfuse: nearest level. Tang: MATLAB `entropy` on the uint8 rgb2gray image
      (imhist, log2); CDDFuse Evaluator.EN: np.round then bincount, log2.
    - vifb, mefb: floor(h1)+1 as histogram index (VIFB metricsEntropy.m @5d29ee7), per RGB
      channel averaged; MEFB (metrics/metricsEntropy.m @82014f4) scores only F's red channel
      when both sources are grey.
    """
    p = grey_histogram(f, levels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(base)) + 0.0


# --------------------------------------------------------------------------- CE
@register_metric(
    "CE", direction="lower", family="information",
    aliases=("cross_entropy", "cross-entropy"),
    description="mean over sources of the relative entropy (KL) of each source's grey "
                "histogram to F's, bits",
    conventions={
        "default": {},
        "vifb": {"_colour": "vifb-loop-u8"},
        "mefb": {"_colour": "mefb-loop-u8"},
    })
def cross_entropy(a, b, f, levels: str = "rint") -> float:
    """CE = 1/2 [D(P_A || P_F) + D(P_B || P_F)], D(P || Q) = sum_k P_k log2(P_k / Q_k) over the
    256-bin histograms (bits; data range 0..255, integer levels by `levels`). Lower is better.

    Bins where either histogram is empty are skipped, as every reference does (so the value is
    finite even where the divergence would be infinite). This "cross entropy" of the fusion
    literature (Bulanon et al. 2009) is the relative entropy, not H(P, Q).

    Conventions: one formula everywhere. vifb: VIFB metricsCross_entropy.m @5d29ee7, per RGB
    channel averaged (colour sources are rgb2gray'd on uint8 only when F is grey); mefb: MEFB
    metricsCross_entropy.m @82014f4 (F's red channel when both sources are grey).
    """
    pf = grey_histogram(f, levels)
    total = 0.0
    for src in (a, b):
        ps = grey_histogram(src, levels)
        keep = (ps > 0) & (pf > 0)
        total += float((ps[keep] * np.log2(ps[keep] / pf[keep])).sum())
    return total / 2.0 + 0.0


# --------------------------------------------------------------------------- MI
def _vifb_mutinf_levels(img: np.ndarray) -> np.ndarray:
    """VIFB metricsMutinf.m: min-max to [0, 1] (a constant image becomes zeros), then
    int16(x * 255) (MATLAB rounds halves away from zero) as the histogram level."""
    x = np.asarray(img, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.zeros(x.shape, dtype=np.int64)
    return matlab_round((x - lo) / (hi - lo) * 255.0).astype(np.int64)


@register_metric(
    "MI", direction="higher", family="information",
    aliases=("mutinf", "mutual_information", "mi"),
    description="mutual information MI(A,F) + MI(B,F) from 256x256 joint histograms "
                "(bits by default; VIFB and CDDFuse in nats)",
    conventions={
        "default": {"base": 2.0},
        "vifb": {"base": "e", "normalise": "minmax", "_colour": "vifb-loop-u8"},
        "tang": {"base": 2.0, "uint8_joint_saturation": True},
        "cddfuse": {"base": "e"},
    })
def mutual_information(a, b, f, base: float | str = 2.0, normalise: str | None = None,
                       levels: str = "rint", uint8_joint_saturation: bool = False) -> float:
    """MI = MI(A, F) + MI(B, F), MI(X, F) = H(X) + H(F) - H(X, F) from the 256 x 256 joint
    histogram of integer grey levels (data range 0..255). Sum over the two sources.

    Units by `base`: 2 -> bits, 'e' -> nats (bits = nats / ln 2). normalise='minmax' min-max
    stretches each image to 0..255 first (int16 rounding; a constant image becomes 0).

    Conventions:
    - default: bits, raw levels (nearest integer) -- Tang's choice without its uint8 I/O.
    - vifb: nats on min-max-normalised images, per RGB channel averaged (VIFB metricsMutinf.m
      @5d29ee7: `(a-min)/(max-min)`, `int16(a*255)+1`, `log`).
    - tang: bits on the uint8 rgb2gray images (MI_evaluation.m: entropy() of A, B, F and
      Hab.m's joint entropies, log2, as the published analysis_Reference.m calls it), with
      uint8_joint_saturation=True: Hab.m indexes its 256 x 256 counter with `grey_matrix + 1`
      computed in uint8, which saturates 255 + 1 at 255, so levels 254 and 255 share a joint
      histogram row/column while the marginal entropies keep them apart (MI slightly higher;
      checked against Octave running MI_evaluation.m/Hab.m).
    - cddfuse: nats on the rounded grey images (Evaluator.MI: sklearn mutual_info_score, which
      is this histogram MI in natural log).
    A constant image has zero entropy, so its MI is 0.
    """
    log = np.log if base == "e" else (lambda p: np.log(p) / np.log(float(base)))
    if normalise == "minmax":
        lf = _vifb_mutinf_levels(f)
        la, lb = _vifb_mutinf_levels(a), _vifb_mutinf_levels(b)
    elif normalise is None:
        lf, la, lb = to_levels(f, levels), to_levels(a, levels), to_levels(b, levels)
    else:
        raise ValueError(f"normalise must be None or 'minmax', got {normalise!r}")
    if uint8_joint_saturation:
        hf = _entropy(np.bincount(lf.ravel(), minlength=256) / lf.size, log)
        total = 0.0
        for ls in (la, lb):
            hs = _entropy(np.bincount(ls.ravel(), minlength=256) / ls.size, log)
            joint = joint_histogram(np.minimum(lf, 254), np.minimum(ls, 254))
            total += hs + hf - _entropy(joint.ravel(), log)
        return total + 0.0
    return _mutual_information(la, lf, log)[0] + _mutual_information(lb, lf, log)[0] + 0.0


# --------------------------------------------------------------------------- NMI (Hossny)
@register_metric(
    "NMI", direction="higher", family="information",
    aliases=("q_mi", "qmi", "hossny", "nmi"),
    description="Hossny's normalised mutual information 2[MI(A,F)/(H_A+H_F) + MI(B,F)/(H_B+H_F)] "
                "on normalize1'd images (range 0..2)",
    conventions={
        "default": {},
        "mefb": {"constant": "error", "_colour": "mefb-loop-u8"},
        "liu": {"constant": "error"},
    })
def nmi(a, b, f, constant: str = "zero") -> float:
    """NMI = 2 [MI(A,F) / (H(A) + H(F)) + MI(B,F) / (H(B) + H(F))] (Hossny et al., Electron.
    Lett. 44(18), 2008), a sum over the two sources; each ratio is 0..1/2 (MI <= min(H)), so NMI
    is 0..2, and 2 for F = A = B. Unitless (the log base cancels). Entropies and MI from
    256 x 256 joint histograms of images first min-max normalised to integer levels 0..255
    (Z. Liu's normalize1.m, MATLAB rounding; zhengliu6699/imageFusionMetrics @d6f7f1a).

    Conventions:
    - mefb: MEFB metricsNMI.m @82014f4 (= imageFusionMetrics metricMI.m, sw=1): per RGB channel
      averaged, F's red channel when both sources are grey; a constant non-zero image raises
      MetricUndefined (normalize1 divides by zero and the MATLAB code fails).
    - liu: imageFusionMetrics metricMI.m sw=1 on grey images (the code MEFB copied: same
      values); a constant non-zero image raises MetricUndefined.
    - default: the same, but a constant image is normalised to zeros; a term whose entropies are
      both zero is 0.
    """
    lf = normalize1(f, constant)
    total = 0.0
    for src in (a, b):
        mi, hs, hf = _mutual_information(normalize1(src, constant), lf)
        den = hs + hf
        total += mi / den if den > 0 else 0.0
    return 2.0 * total + 0.0


# --------------------------------------------------------------------------- QNCIE
def _ncc(x: np.ndarray, y: np.ndarray) -> float:
    """Nonlinear correlation coefficient (Wang et al.): (H(x) + H(y) - H(x,y)) / log2(256),
    256 x 256 joint histogram, log2 (imageFusionMetrics NCC.m)."""
    return _mutual_information(x, y)[0] / 8.0


@register_metric(
    "QNCIE", direction="higher", family="information",
    aliases=("qncie", "ncie", "q_ncie", "wang"),
    description="nonlinear correlation information entropy of (A, B, F) on normalize1'd images "
                "(Wang et al.), 0..1",
    conventions={
        "default": {},
        "mefb": {"constant": "error", "_colour": "mefb-loop-u8"},
        "liu": {"constant": "error"},
    })
def qncie(a, b, f, constant: str = "zero") -> float:
    """QNCIE = 1 - H_R, H_R = -sum_k (r_k / 3) log_256(r_k / 3), r_k the eigenvalues of the
    3 x 3 nonlinear correlation matrix R = [[1, NCC_AB, NCC_AF], [NCC_AB, 1, NCC_BF],
    [NCC_AF, NCC_BF, 1]], NCC(X, Y) = MI(X, Y) / log2(256) from 256 x 256 joint histograms of
    normalize1'd images (Wang, Shen & Jin 2008; Z. Liu's metricWang.m / NCC.m). Range 0..1;
    the three images are combined jointly (no per-source sum). Unitless.

    Conventions:
    - mefb: MEFB metricsQncie.m @82014f4: per RGB channel averaged, F's red channel when both
      sources are grey; a constant non-zero image raises MetricUndefined (normalize1).
    - liu: imageFusionMetrics metricWang.m on grey images (MEFB's source; same values).
    - default: the same with constant images normalised to zeros.
    Eigenvalues that are 0 contribute 0 (the limit of r log r; MATLAB would give NaN); a
    clearly negative eigenvalue (R not positive semi-definite; MATLAB returns a complex
    number) raises MetricUndefined.
    """
    la, lb, lf = (normalize1(x, constant) for x in (a, b, f))
    nab, naf, nbf = _ncc(la, lb), _ncc(la, lf), _ncc(lb, lf)
    r = np.linalg.eigvalsh(np.array([[1.0, nab, naf], [nab, 1.0, nbf], [naf, nbf, 1.0]]))
    if r.min() < -1e-12:
        raise MetricUndefined(f"QNCIE: the correlation matrix has a negative eigenvalue "
                              f"({r.min():.3g}); the reference returns a complex number")
    r = r[r > 1e-15]
    hr = -float((r / 3.0 * np.log2(r / 3.0)).sum()) / 8.0
    return 1.0 - hr + 0.0


# --------------------------------------------------------------------------- TE (Tsallis)
def _tsallis(x: np.ndarray, y: np.ndarray, q: float, transposed: bool) -> float:
    """Tsallis mutual information of two level maps (imageFusionMetrics tsallis.m):
    (1 - sum_ij h_ij^q / (p_i p_j)^(q-1)) / (1 - q), over cells where the marginal product is
    non-zero. transposed=True reproduces tsallis.m, whose `sum(h)` / `sum(h')` marginals are
    swapped: cell (i, j) of P(x=i, y=j) is divided by p_y(i) p_x(j)."""
    h = joint_histogram(x, y)
    px, py = h.sum(axis=1), h.sum(axis=0)
    buff = np.outer(py, px) if transposed else np.outer(px, py)
    keep = buff != 0
    hq = h[keep]
    result = float((hq ** q / buff[keep] ** (q - 1.0)).sum())
    return (1.0 - result) / (1.0 - q)


@register_metric(
    "TE", direction="higher", family="information",
    aliases=("tsallis", "tsallis_entropy", "te"),
    description="Tsallis-entropy mutual information TE(A,F) + TE(B,F), q = 1.85 (Cvejic), on "
                "normalize1'd images",
    conventions={
        "default": {},
        "mefb": {"transposed_marginals": True, "constant": "error", "_colour": "mefb-loop-u8"},
        "liu": {"transposed_marginals": True, "constant": "error"},
    })
def tsallis_entropy(a, b, f, q: float = 1.85, transposed_marginals: bool = False,
                    constant: str = "zero") -> float:
    """TE = I_q(A, F) + I_q(B, F) with the Tsallis mutual information
    I_q(X, F) = (1 - sum_ij P(x_i, f_j)^q / (P(x_i) P(f_j))^(q-1)) / (1 - q), q = 1.85
    (Cvejic, Canagarajah & Bull, Electron. Lett. 42(11), 2006; q as in MEFB metricsTE.m
    @82014f4 `q=1.85`). 256 x 256 joint histograms of normalize1'd images (integer levels
    0..255). Sum over sources; unitless.

    Conventions:
    - mefb: MEFB metricsTE.m @82014f4 (= imageFusionMetrics metricMI.m sw=2): per RGB channel
      averaged, F's red channel when both sources are grey. Its tsallis() takes the marginals
      as `im1_marg=sum(h)` (column sums, i.e. F's) and `im2_marg=sum(h')` (the source's) and
      divides h(i,j) by im1_marg(i) im2_marg(j), so the two marginals are transposed relative
      to the joint histogram; reproduced with transposed_marginals=True. A constant non-zero
      image raises MetricUndefined (normalize1).
    - liu: imageFusionMetrics metricMI.m sw=2 on grey images (MEFB's source, same tsallis.m:
      transposed marginals; same values).
    - default: the textbook marginals P(x_i) P(f_j) (transposed_marginals=False), constant
      images normalised to zeros.
    """
    lf = normalize1(f, constant)
    return sum(_tsallis(normalize1(src, constant), lf, q, transposed_marginals)
               for src in (a, b)) + 0.0


@register_metric(
    "TE_nava", direction="higher", family="information",
    aliases=("te-nava", "nava", "tsallis_nava", "mi_nava", "q_te_nava"),
    description="Nava's normalised Tsallis mutual information [I_q(A,F) + I_q(B,F)] / "
                "[H_A^q + H_B^q + I_q(A,B)], q = 0.43137, on normalize1'd images (Z. Liu's "
                "metricMI sw=3)",
    conventions={
        "default": {},
        "liu": {"transposed_marginals": True, "constant": "error"},
    })
def tsallis_nava(a, b, f, q: float = 0.43137, transposed_marginals: bool = False,
                 constant: str = "zero") -> float:
    """TE_nava = [I_q(A, F) + I_q(B, F)] / [H(A)^q + H(B)^q + I_q(A, B)], q = 0.43137 ("Nava's
    constant"): the Tsallis mutual information of each source with F (as in TE, with this q)
    over a normaliser made of the sources' Shannon entropies in bits raised to the power q and
    the Tsallis mutual information of the two sources. After R. Nava, B. Escalante-Ramirez &
    G. Cristobal, "Mutual information improves image fusion quality assessments", SPIE
    Newsroom, 2007 (doi:10.1117/2.1200708.0824), in the form Z. Liu's code computes it
    (zhengliu6699/imageFusionMetrics metricMI.m @d6f7f1a, case 3, used in Liu et al., IEEE
    TPAMI 34(1), 2012); fusebench reproduces that code's formula, not a re-derivation from
    the article. 256 x 256 joint histograms of normalize1'd images (integer levels 0..255);
    the two sources are combined in the numerator (a sum) and the normaliser. Unitless; about
    0.4-0.6 on fused images.

    Conventions:
    - liu: metricMI.m sw=3 on grey images. Its tsallis() divides h(i, j) by the transposed
      product of marginals (transposed_marginals=True, see TE); the entropies come from
      mutual_info.m (log2; its two marginal entropies enter symmetrically). A constant
      non-zero image raises MetricUndefined (normalize1 divides by zero; the MATLAB code then
      fails on a NaN index).
    - default: textbook marginals P(x_i) P(y_j), constant images normalised to zeros.
    MetricUndefined where the normaliser is 0 (both sources constant).
    """
    la, lb, lf = (normalize1(x, constant) for x in (a, b, f))
    num = (_tsallis(la, lf, q, transposed_marginals)
           + _tsallis(lb, lf, q, transposed_marginals))
    _mi, ha, hb = _mutual_information(la, lb)
    den = ha ** q + hb ** q + _tsallis(la, lb, q, transposed_marginals)
    if den == 0:
        raise MetricUndefined("TE_nava: the normaliser H_A^q + H_B^q + I_q(A, B) is 0 (both "
                              "sources constant)")
    return num / den + 0.0


# --------------------------------------------------------------------------- FMI features
# MATLAB Wavelet Toolbox 'dmey' (discrete Meyer) reconstruction low-pass filter Lo_R, 102 taps,
# sum sqrt(2): the values wfilters('dmey') returns (as tabulated e.g. in JWave's Dmey.java,
# Apache-2.0). PyWavelets' 'dmey' is a different 62-tap approximation, so dwt2(...,'dmey') of
# the reference code can only be reproduced with these.
_DMEY_HALF = (
    -1.509740857423615e-06, 1.278766756823499e-06, 4.495855604488689e-07,
    -2.096568870494942e-06, 1.723223554480682e-06, 6.980822763107386e-07,
    -2.879408032654847e-06, 2.383148394518930e-06, 9.825156022293386e-07,
    -4.217789186342479e-06, 3.353501538089444e-06, 1.674721858836507e-06,
    -6.034501341860347e-06, 4.837555801559579e-06, 2.402288022882838e-06,
    -9.556309845665445e-06, 7.216527694763415e-06, 4.849078299776749e-06,
    -1.420692858056419e-05, 1.050391427078387e-05, 6.187580298111554e-06,
    -2.443800584565461e-05, 2.010638769090948e-05, 1.499352360001513e-05,
    -4.642876428365169e-05, 3.234131191367969e-05, 3.740966576024984e-05,
    -1.027790050848848e-04, 2.446195684460230e-05, 1.497135153892574e-04,
    -7.559287025516713e-05, -1.399131482174180e-04, -9.351289388011380e-05,
    1.611898197253463e-04, 8.595002137623775e-04, -5.781857952734411e-04,
    -2.702168733939080e-03, 2.194775336459444e-03, 6.045510596456078e-03,
    -6.386728618548126e-03, -1.104464190053889e-02, 1.525091315858590e-02,
    1.740388821017741e-02, -3.209406335450531e-02, -2.432178395951878e-02,
    6.366730088446831e-02, 3.062124394342457e-02, -1.326966153588617e-01,
    -3.504828739059503e-02, 4.440950307665288e-01,
)
_DMEY_CENTRE = 7.437510049037870e-01


@lru_cache(maxsize=1)
def matlab_dmey():
    """pywt.Wavelet with MATLAB's 102-tap 'dmey' filter bank, built as MATLAB's orthfilt does:
    W = Lo_R / sum; Lo_R = sqrt(2) W; Hi_R = qmf(Lo_R) (reverse, negate every second entry
    starting with the second); Lo_D, Hi_D = reversed Lo_R, Hi_R."""
    import pywt
    half = np.array(_DMEY_HALF)
    w = np.concatenate([[0.0], half, [_DMEY_CENTRE], half[::-1]])
    w = w / w.sum()
    lo_r = np.sqrt(2.0) * w
    hi_r = lo_r[::-1].copy()
    hi_r[1::2] = -hi_r[1::2]
    return pywt.Wavelet("matlab-dmey", filter_bank=[lo_r[::-1], hi_r[::-1], lo_r, hi_r])


def _correlate3_replicate(x: np.ndarray, kernels: list[np.ndarray]) -> list[np.ndarray]:
    """3 x 3 correlations with replicate padding, 'same' size, each summed term by term in the
    order of Octave's conv2 (the kernel rotated by 180 degrees, column-major): for ties that
    are exact in exact arithmetic (|bx| = |by|, equal neighbours) the rounding order decides
    edge()'s thinning. Each |coefficient| * image is computed once and added or subtracted
    (the same IEEE result as adding the signed product)."""
    p = np.pad(np.asarray(x, dtype=np.float64), 1, mode="edge")
    h, w = np.shape(x)
    scaled: dict[float, np.ndarray] = {}
    outs = []
    for k in kernels:
        out = None
        for col in (2, 1, 0):
            for row in (2, 1, 0):
                c = float(k[row, col])
                if c == 0.0:
                    continue
                if abs(c) not in scaled:
                    scaled[abs(c)] = abs(c) * p
                term = scaled[abs(c)][row:row + h, col:col + w]
                if out is None:
                    out = term.copy() if c > 0 else -term
                elif c > 0:
                    out += term
                else:
                    out -= term
        outs.append(np.zeros((h, w)) if out is None else out)
    return outs


def matlab_edge_sobel(img: np.ndarray) -> np.ndarray:
    """MATLAB `edge(I)` with its defaults (Sobel, automatic threshold, thinning) -> bool map.

    Re-implemented from the Image Processing Toolbox's documented algorithm (edge.m):
    bx, by = imfilter(I, fspecial('sobel')'/8 and fspecial('sobel')/8, 'replicate');
    b = bx^2 + by^2; cutoff = 4 mean(b); an edge where b > cutoff and b is a local maximum
    across the dominant gradient direction: (|bx| >= |by| - 100 eps and
    b(r,c-1) <= b(r,c) > b(r,c+1)) or (|by| >= |bx| - 100 eps and b(r-1,c) <= b(r,c) > b(r+1,c)),
    a neighbour test outside the image counting as passed. The filters are summed in the
    order of Octave's conv2, which the reference run used: on im2double images (Tang) exact
    ties of bx and by are broken by rounding, so the order matters there (up to 1e-4 of FMI);
    on integer-valued images every term is exact (and the fast filter is used)."""
    x = np.asarray(img, dtype=np.float64)
    op = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]) / 8.0
    if np.abs(x).max(initial=0.0) < 2.0 ** 40 and np.array_equal(x, np.rint(x)):
        # integer-valued: every term and partial sum is exact, any order gives these values
        bx = np.abs(imfilter(x, op.T, "replicate"))
        by = np.abs(imfilter(x, op, "replicate"))
    else:
        bx, by = (np.abs(r) for r in _correlate3_replicate(x, [op.T, op]))
    b = bx * bx + by * by
    cutoff = 4.0 * b.sum() / b.size
    true_col = np.ones((b.shape[0], 1), dtype=bool)
    true_row = np.ones((1, b.shape[1]), dtype=bool)
    b1 = np.hstack([true_col, b[:, :-1] <= b[:, 1:]])  # left neighbour <= centre
    b2 = np.hstack([b[:, :-1] > b[:, 1:], true_col])  # centre > right neighbour
    b3 = np.vstack([true_row, b[:-1, :] <= b[1:, :]])  # upper neighbour <= centre
    b4 = np.vstack([b[:-1, :] > b[1:, :], true_row])  # centre > lower neighbour
    tol = 100.0 * np.finfo(np.float64).eps
    return (b > cutoff) & (((bx >= by - tol) & b1 & b2) | ((by >= bx - tol) & b3 & b4))


def _snap(x: np.ndarray, bits: int = 42) -> np.ndarray:
    """Round to a grid of 2^-bits of the largest magnitude (a power of two, so exactly).

    Transform features of a constant or piecewise-constant image are exact zeros and equal
    values in exact arithmetic but carry ~1e-16 relative rounding noise, which the per-window
    min-max normalisation would blow up to full-range garbage that depends on the FFT/DWT
    library. Snapping removes that noise; it moves any other feature by < 1.2e-13 of the
    largest, far below what the metric resolves."""
    top = float(np.max(np.abs(x)))
    if top == 0 or not np.isfinite(top):
        return x
    q = 2.0 ** (np.floor(np.log2(top)) - bits)
    return np.round(x / q) * q


def _rerange(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return np.ones_like(x) if hi == lo else (x - lo) / (hi - lo)


def fmi_feature(img: np.ndarray, feature: str) -> np.ndarray:
    """Feature map of analysis_fmi.m / metricsFMI.m: 'none' (pixels), 'gradient' (MATLAB
    `gradient(I)`: the x derivative only, central differences, one-sided at the borders),
    'edge' (MATLAB `edge(I)`, binary), 'dct' (orthonormal `dct2`), 'wavelet' (one level of
    `dwt2(I, 'dmey')` in MATLAB's default 'sym' extension, laid out [cA cH; cV cD] and
    min-max rescaled to [0, 1] by the reference's rerange). DCT and wavelet coefficients are
    snapped to 2^-42 of their largest magnitude (see _snap) so that constant regions give
    exact, library-independent features."""
    x = np.asarray(img, dtype=np.float64)
    if feature == "none":
        return x
    if feature == "gradient":
        return np.gradient(x, axis=1) if x.shape[1] > 1 else np.zeros_like(x)
    if feature == "edge":
        return matlab_edge_sobel(x).astype(np.float64)
    if feature == "dct":
        from scipy.fft import dctn
        return _snap(dctn(x, type=2, norm="ortho"))
    if feature == "wavelet":
        import pywt
        ca, (ch, cv, cd) = pywt.dwt2(x, matlab_dmey(), mode="symmetric")
        return _rerange(_snap(np.block([[ca, ch], [cv, cd]])))
    raise ValueError(f"FMI feature must be one of none, gradient, edge, dct, wavelet; got {feature!r}")


# --------------------------------------------------------------------------- FMI core
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


def fmi(a: np.ndarray, b: np.ndarray, f: np.ndarray, feature: str = "edge", window: int = 3,
        reuse_normalised_f: bool = True, input_scale: float = 1.0, chunk: int = 4096) -> float:
    """Feature mutual information (Haghighat et al. 2011; Fast-FMI, Haghighat & Razian 2014):
    the mean over all w x w sliding windows ('valid', w = 3) of (FMI_AF + FMI_BF) / 2.
    input_scale multiplies the images first (1/255: the im2double inputs of Tang's toolkit,
    which only matter to the edge feature's tie-breaking)."""
    if min(np.shape(f)[:2]) < window:
        raise ValueError(f"FMI needs images of at least {window} x {window} pixels, got "
                         f"{np.shape(f)}")
    if input_scale != 1.0:
        a, b, f = (np.asarray(x, dtype=np.float64) / (1.0 / input_scale) for x in (a, b, f))
    fa, fb, ff = (fmi_feature(x, feature) for x in (a, b, f))
    if feature == "edge":
        return _fmi_binary(fa, fb, ff, window, reuse_normalised_f)
    h = (window - 1) // 2
    rows = ff.shape[0] - 2 * h
    step = max(1, chunk // max(1, ff.shape[1] - 2 * h))
    total, count = 0.0, 0
    for r0 in range(0, rows, step):
        sl = slice(r0, min(rows, r0 + step) + 2 * h)
        af, bf = _fmi_windows(_windows(fa[sl], window), _windows(fb[sl], window),
                              _windows(ff[sl], window), reuse_normalised_f)
        total += float(af.sum() + bf.sum())
        count += len(af)
    return total / (2.0 * count)


def _fmi_binary(fa, fb, ff, window, reuse_normalised_f) -> float:
    """FMI of binary feature maps: a window's value depends only on the three windows' bit
    patterns (and, for the (b, f) term, on whether a == f), so it is computed once per
    distinct pattern pair and weighted by its count."""
    n = window * window

    def keys(x):
        """Window bit patterns (bit k = element k of the column-major sub(:)), one per window,
        windows in the same row-major order as _windows."""
        kind = np.uint16 if n <= 16 else np.int64
        e = (x != 0).astype(kind)
        r, c = e.shape[0] - window + 1, e.shape[1] - window + 1
        key = np.zeros((r, c), dtype=kind)
        for col in range(window):
            for row in range(window):
                bit = e[row:row + r, col:col + c] << kind(col * window + row)
                key |= bit
        return key.ravel().astype(np.int64)

    ka, kb, kf = keys(fa), keys(fb), keys(ff)
    eq_af = ka == kf
    bits = ((np.arange(1 << n)[None, :] >> np.arange(n)[:, None]) & 1).astype(np.float64)
    total = 0.0
    for ks, flag in ((ka, np.zeros_like(kf)), (kb, eq_af.astype(np.int64))):
        key = (flag << (2 * n)) | (ks << n) | kf
        counts = np.bincount(key)
        uniq = np.nonzero(counts)[0]
        ws = bits[:, (uniq >> n) & ((1 << n) - 1)]
        wf = bits[:, uniq & ((1 << n) - 1)]
        fl = (uniq >> (2 * n)).astype(bool)
        if ks is ka:
            val, _ = _fmi_windows(ws, ws, wf, False, eq_af=(ws == wf).all(axis=0))
        else:
            # the (b, f) term as _fmi_windows computes it, given whether a == f
            ftest = np.where(fl, wf, _normalised(wf)) if reuse_normalised_f else wf
            eq = (ws == ftest).all(axis=0)
            val = np.ones(len(uniq))
            sel = np.nonzero(~eq)[0]
            if len(sel):
                val[sel] = _pair_fmi(_WindowStats(wf[:, sel]), _WindowStats(ws[:, sel]))
        total += float((val * counts[uniq]).sum())
    return total / (2.0 * len(kf))


_FMI_DOC = """Feature mutual information FMI_{feature} (Haghighat, Aghagolzadeh & Seyedarabi,
    Comput. Electr. Eng. 37(5), 2011, in the Fast-FMI form of Haghighat & Razian 2014).
    Feature maps of A, B and F ({feature_doc}); for every 3 x 3 sliding window ('valid'), each
    source/fused pair of windows is min-max normalised (a constant window becomes ones) and
    divided by its sum to give two 9-bin marginal pdfs; their joint pdf is interpolated between
    independence and the Frechet bound of the sign of their Pearson correlation c
    (phi U + (1 - phi) p_a p_f, phi = c / corr(U)), and FMI_XF = 2 I(X;F) / (H_X + H_F) in bits
    (1 where the two raw windows are identical, 0 where I == 0). The value is the mean over
    windows of (FMI_AF + FMI_BF) / 2 (mean over sources), range 0..1, unitless. Data range:
    any (the normalisation is per window). Vectorised; the reference loops over pixels.

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
    Speed: one integer sort per window merges the two CDFs (see _pair_fmi), the fused side's
    per-window terms are computed once for both pairs, and the joint-entropy cell terms are
    evaluated in float32 (each window's value moves by ~1e-7 at most; the mean by ~1e-9).
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
