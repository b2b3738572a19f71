"""Information-theoretic metrics from grey-level histograms: EN, CE, MI, NMI, QNCIE, TE and
TE_nava. (The FMI family, feature mutual information over sliding windows, is in
bench.metrics.fmi.)

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

Within one compute_many() call the level maps (`to_levels`: EN, CE, MI), the normalize1'd maps
(NMI, QNCIE, TE, TE_nava, and Qcb/Qcv's float stretch) and the joint histograms of the same
pairs are computed once (memoised on the read-only planes; the same values as separate calls).
"""
from __future__ import annotations

import numpy as np

from . import MetricUndefined
from .matlab import matlab_round, minmax_round255
from .registry import register_metric
from .windows import memo


LN2 = np.log(2.0)


# --------------------------------------------------------------------------- histograms
def to_levels(img: np.ndarray, levels: str = "rint") -> np.ndarray:
    """Integer grey levels 0..255 (int64) of a plane on the 0..255 scale (memoised, read-only,
    on read-only planes: EN, CE and MI of one compute_many() call share them).

    levels: 'rint' (nearest, halves to even), 'round' (halves away from zero, as MATLAB round
    and uint8()), 'floor'. Values outside 0..255 are clipped."""
    if levels not in ("rint", "round", "floor"):
        raise ValueError(f"levels must be 'rint', 'round' or 'floor', got {levels!r}")

    def compute() -> np.ndarray:
        x = np.asarray(img, dtype=np.float64)
        if levels == "rint":
            q = np.rint(x)
        elif levels == "round":
            q = matlab_round(x)
        else:
            q = np.floor(x)
        return _shared(np.clip(q, 0, 255, out=q).astype(np.int64), [img])
    return memo([img], ("to_levels", levels), compute)


def _shared(x: np.ndarray, planes: list) -> np.ndarray:
    """x, read-only where it is memoised (every plane read-only), so no caller modifies it."""
    if all(isinstance(p, np.ndarray) and not p.flags.writeable for p in planes):
        x.flags.writeable = False
    return x


def grey_histogram(img: np.ndarray, levels: str = "rint") -> np.ndarray:
    """256-bin probability histogram of values in 0..255, binned by `levels` (see to_levels)."""
    counts = np.bincount(to_levels(img, levels).ravel(), minlength=256).astype(np.float64)
    return counts / counts.sum()


def joint_histogram(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """256 x 256 joint probability of two integer level maps (0..255): rows x, columns y.
    Memoised (read-only) on read-only level maps: NMI, QNCIE, TE and TE_nava of one
    compute_many() call share the normalize1'd maps and so their joint histograms."""
    def compute() -> np.ndarray:
        idx = np.multiply(x.ravel(), 256)
        idx += y.ravel()
        counts = np.bincount(idx, minlength=65536).astype(np.float64)
        return _shared((counts / counts.sum()).reshape(256, 256), [x, y])
    return memo([x, y], ("joint_histogram",), compute)


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
    image to zeros (fusebench's default, as VIFB's metricsMutinf.m does). Memoised (read-only)
    on read-only planes: NMI, QNCIE, TE and TE_nava of one compute_many() call share it."""
    x = np.asarray(img, dtype=np.float64)
    stretched = minmax_round255(x)  # shared with Qcb / Qcv in compute_many
    if stretched is None:
        lo = float(x.min())
        if lo == 0.0 or constant == "zero":
            return np.zeros(x.shape, dtype=np.int64)
        raise MetricUndefined("normalize1 (Z. Liu / MEFB) divides by zero on a constant image "
                              f"(all pixels {lo:g}); the MATLAB reference fails on it")
    return memo([stretched], ("normalize1_levels",), lambda: _shared(
        np.clip(stretched, 0, 255).astype(np.int64), [stretched]))


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
