"""Edge-based metrics of the Petrovic framework: Qabf, Nabf and Labf.

All three compare the Sobel edge strength g and orientation alpha of each source with those of the
fused image, pixel by pixel, through sigmoid "preservation" functions, and average the result with
edge-strength weights. Everything here is vectorised (the MATLAB originals loop over pixels).

Shared definitions (re-implemented from the papers and from the behaviour of the reference code,
not copied from it):

- Qabf (Xydeas & Petrovic, Electronics Letters 36(4), 2000): 3 x 3 Sobel with zero padding
  ('same'), g = sqrt(Sx^2 + Sy^2), alpha = atan(Sy / Sx) with alpha = pi/2 where Sx == 0;
  G_AF = min(gA, gF) / max(gA, gF), A_AF = 1 - |alphaA - alphaF| / (pi/2);
  Q_AF = Tg / (1 + exp(kg (G_AF - Dg))) * Ta / (1 + exp(ka (A_AF - Da))) with Tg = 0.9994,
  kg = -15, Dg = 0.5, Ta = 0.9879, ka = -22, Da = 0.8;
  Qabf = sum(Q_AF gA + Q_BF gB) / sum(gA + gB).
  Z. Liu's metricXydeas.m (profile `liu`, option variant="liu") parameterises it differently:
  kg = -10, Dg = 0.5, ka = -20, Da = 0.75, Tg = Ta = 1, Petrovic's orientation agreement
  | |alphaA - alphaF| - pi/2 | * 2/pi, 1e-5 buffers instead of branches, and the mean over pixels
  of (Q_AF gA + Q_BF gB) / (gA + gB).
- Nabf and Labf (Petrovic & Xydeas 2005, "Objective image fusion performance characterisation",
  ICCV; Nabf as modified by B. K. Shreyamsha Kumar, SIViP 2013), as in Tang's
  `analysis_nabf.m` (Linfeng-Tang/SeAFusion Evaluation/analysis_nabf.m@d3ae78e): Sobel / 8 with
  mirror padding that does not repeat the edge pixel; orientation atan(Gx / Gy) (0 where both are
  0); G_AF = min/max (0 where gA or gF is 0); A_AF = | |alphaA - alphaF| - pi/2 | * 2/pi;
  Q_AF = sqrt(Qg Qa) with Qg = 0.9999 / (1 + exp(-19 (G_AF - 0.5))),
  Qa = 0.9995 / (1 + exp(-22 (A_AF - 0.5))); weights w = g^1.5 where g >= 2, else 0.001.
  Nabf = sum[1(gF > gA and gF > gB) ((1 - Q_AF) wA + (1 - Q_BF) wB)] / sum(wA + wB);
  Labf = sum[1(gF <= gA or gF <= gB) ((1 - Q_AF) wA + (1 - Q_BF) wB)] / sum(wA + wB).

VIFB/MEFB conventions select the wrappers' channel loops `vifb-loop` / `mefb-loop`
(bench.metrics.profiles.channel_loop).
"""
from __future__ import annotations

import cv2
import numpy as np

from . import MetricUndefined
from .registry import register_metric

HALF_PI = np.pi / 2


# --------------------------------------------------------------------------- Sobel primitives
def sobel(img: np.ndarray, border: int = cv2.BORDER_CONSTANT, dtype=np.float64
          ) -> tuple[np.ndarray, np.ndarray]:
    """(Sx, Sy): correlation with the 3 x 3 Sobel kernels [[-1,0,1],[-2,0,2],[-1,0,1]] and its
    transpose, output the size of the input.

    border: cv2.BORDER_CONSTANT (zeros, as MATLAB conv2/filter2 'same') or
    cv2.BORDER_REFLECT_101 (mirror without repeating the edge pixel, as Shreyamsha Kumar's
    per_extn_im_fn.m). Computed separably (the difference along one axis first, then the
    [1 2 1] smoothing), so a patch that is symmetric across the centre gives exactly 0 even on
    non-integer data; on integer-valued data the result is exact."""
    src = np.ascontiguousarray(img, dtype=dtype)
    depth = cv2.CV_32F if dtype == np.float32 else cv2.CV_64F
    diff = np.array([-1.0, 0.0, 1.0], dtype)
    smooth = np.array([1.0, 2.0, 1.0], dtype)
    sx = cv2.sepFilter2D(src, depth, diff, smooth, borderType=border)
    sy = cv2.sepFilter2D(src, depth, smooth, diff, borderType=border)
    return sx, sy


def _ordered_sum(padded: np.ndarray, shape: tuple[int, int], terms) -> np.ndarray:
    """sum of coef * padded[dr:dr+H, dc:dc+W] over `terms` = [(coef, dr, dc), ...], added in the
    given order (floating-point addition is not associative: used to reproduce the reference
    code's rounding on non-integer data)."""
    rows, cols = shape
    out = None
    for coef, dr, dc in terms:
        term = coef * padded[dr:dr + rows, dc:dc + cols]
        out = term if out is None else out + term
    return out


def conv2_sobel_matlab(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(conv2(img, h3, 'same'), conv2(img, h1, 'same')) with h3 = [-1 0 1; -2 0 2; -1 0 1],
    h1 = [1 2 1; 0 0 0; -1 -2 -1] (MATLAB's signs), the terms added in the order GNU Octave's
    conv2 adds them (kernel columns last to first, rows first to last; verified bit for bit).
    Only needed on non-integer data (Tang's im2double images), where the order decides which
    gradient magnitudes compare equal."""
    padded = np.pad(np.asarray(img, dtype=np.float64), 1)
    shape = img.shape

    def terms(kernel):
        # conv2: out(i, j) = sum_kl h(k, l) x(i - k, j - l) (0-based around the centre)
        return [(kernel[k, l], 2 - k, 2 - l) for l in (2, 1, 0) for k in (0, 1, 2)
                if kernel[k, l] != 0]

    h3 = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    h1 = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])
    return _ordered_sum(padded, shape, terms(h3)), _ordered_sum(padded, shape, terms(h1))


def _integer_valued(x: np.ndarray) -> bool:
    """True when every value is an integer small enough for exact Sobel sums in float64."""
    return bool(np.abs(x).max(initial=0.0) < 2.0 ** 40 and np.array_equal(x, np.rint(x)))


def check_size(name: str, img: np.ndarray, minimum: int = 2) -> None:
    if img.shape[0] < minimum or img.shape[1] < minimum:
        raise ValueError(f"{name} needs images of at least {minimum} x {minimum} pixels, "
                         f"got {img.shape[0]} x {img.shape[1]}")


# --------------------------------------------------------------------------- Qabf
_QABF = dict(Tg=0.9994, kg=-15.0, Dg=0.5, Ta=0.9879, ka=-22.0, Da=0.8)


def _qabf_features(img: np.ndarray, dtype, scale: float, im2double: bool, matlab_conv2: bool
                   ) -> tuple[np.ndarray, np.ndarray]:
    """g and alpha as the MATLAB code forms them from conv2 responses SAx (h3) and SAy (h1):
    g = sqrt(SAx^2 + SAy^2), alpha = atan(SAy / SAx), pi/2 where SAx == 0."""
    data = np.asarray(img, dtype=np.float64)
    if im2double:
        data = data / 255.0
    elif scale != 1:
        data = data * scale
    if matlab_conv2 and not _integer_valued(data):
        sax, say = conv2_sobel_matlab(data)
    else:  # exact on integer-valued data, where every summation order agrees
        sx, say = sobel(data, cv2.BORDER_CONSTANT, dtype)
        # conv2 with h3 is minus the correlation with the x kernel, conv2 with h1 equals the
        # correlation with the y kernel; the sign matters against the fixed pi/2 where SAx == 0
        sax = np.negative(sx, out=sx)
    g = np.multiply(sax, sax)
    tmp = np.multiply(say, say)
    g += tmp
    np.sqrt(g, out=g)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.divide(say, sax, out=tmp)
    np.arctan(alpha, out=alpha)
    np.copyto(alpha, dtype(HALF_PI), where=sax == 0)
    return g, alpha


def _qabf_preservation(gs, as_, gf, af, equal_rule: str, dtype) -> np.ndarray:
    """Q_SF = Qg * Qa per pixel, with the operations in the reference code's order."""
    p = _QABF
    bigger = np.maximum(gs, gf)
    np.maximum(bigger, np.nextafter(dtype(0), dtype(1)), out=bigger)  # only 0 / 0 changes
    ratio = np.minimum(gs, gf)
    ratio /= bigger
    # gA == gF (0 / 0 included): the branch of the reference code, or G = 1
    np.copyto(ratio, gf if equal_rule == "gF" else dtype(1), where=gs == gf)
    qg = ratio
    qg -= dtype(p["Dg"])
    qg *= dtype(p["kg"])
    np.exp(qg, out=qg)
    qg += dtype(1)
    np.divide(dtype(p["Tg"]), qg, out=qg)
    qa = np.subtract(as_, af, out=bigger)
    np.abs(qa, out=qa)
    qa /= dtype(HALF_PI)
    np.subtract(dtype(1), qa, out=qa)
    qa -= dtype(p["Da"])
    qa *= dtype(p["ka"])
    np.exp(qa, out=qa)
    qa += dtype(1)
    np.divide(dtype(p["Ta"]), qa, out=qa)
    qg *= qa
    return qg


_LIU_XYDEAS = dict(k1=-10.0, k2=-20.0, delta1=0.5, delta2=0.75, buffer=0.00001)


def _liu_features(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """g and alpha as Liu's metricXydeas.m forms them: filter2 with [-1 0 1; -2 0 2; -1 0 1]
    and its transpose ('same', zero padding), g = sqrt(X^2 + Y^2), and alpha = atan(Y / X')
    where X' = X + 1e-5 at the pixels where X == 0 (so alpha = 0 where X == Y == 0)."""
    x, y = sobel(img, cv2.BORDER_CONSTANT)  # correlation = filter2 with those kernels
    g = np.multiply(x, x)
    tmp = np.multiply(y, y)
    g += tmp
    np.sqrt(g, out=g)
    x[x == 0] = _LIU_XYDEAS["buffer"]
    alpha = np.divide(y, x, out=tmp)
    np.arctan(alpha, out=alpha)
    return g, alpha


def _liu_preservation(gs, as_, gf, af) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Q_SF, buffered gS, buffered gF) of metricXydeas.m for the caller's gF (buffered or not);
    strength ratio min/max by the bimap `gS > gF` (before gS's zero buffer), orientation
    | |alphaS - alphaF| - pi/2 | * 2/pi, sigmoids 1 / (1 + exp(k (x - delta)))."""
    p = _LIU_XYDEAS
    bigger = gs > gf
    gs_b = gs + p["buffer"] * (gs == 0)
    gf_b = gf + p["buffer"] * (gf == 0)
    ratio = np.divide(gf, gs_b)              # used where gS > gF (F not yet buffered)
    np.copyto(ratio, np.divide(gs_b, gf_b), where=~bigger)
    ratio -= p["delta1"]
    ratio *= p["k1"]
    np.exp(ratio, out=ratio)
    ratio += 1
    np.divide(1.0, ratio, out=ratio)
    qa = np.subtract(as_, af)
    np.abs(qa, out=qa)
    qa -= HALF_PI
    np.abs(qa, out=qa)
    qa *= 2
    qa /= np.pi
    qa -= p["delta2"]
    qa *= p["k2"]
    np.exp(qa, out=qa)
    qa += 1
    np.divide(1.0, qa, out=qa)
    ratio *= qa
    return ratio, gs_b, gf_b


def _qabf_liu(a, b, f) -> float:
    """Liu's metricXydeas.m (zhengliu6699/imageFusionMetrics@d6f7f1a): see `qabf`."""
    ga, aa = _liu_features(a)
    gb, ab = _liu_features(b)
    gf, af = _liu_features(f)
    qaf, wa, gf = _liu_preservation(ga, aa, gf, af)   # F is buffered from here on, as there
    qbf, wb, _ = _liu_preservation(gb, ab, gf, af)
    qaf *= wa
    qbf *= wb
    qaf += qbf
    wa += wb
    qaf /= wa                                         # per pixel; wa + wb >= 2e-5
    return float(np.mean(qaf))


@register_metric(
    "Qabf", direction="higher", family="edge",
    aliases=("Q_abf", "Q^{AB/F}", "Q^AB/F", "QAB/F", "Q_AB/F"),
    description="Xydeas-Petrovic gradient-based edge preservation Q^{AB/F}, 0..1",
    conventions={
        "default": {"equal_rule": "ratio", "scale": 1.0, "im2double": False,
                    "matlab_conv2": False, "precision": "float64"},
        "vifb": {"equal_rule": "gF", "scale": 255.0, "im2double": False, "matlab_conv2": True,
                 "precision": "float64", "_colour": "vifb-loop"},
        "mefb": {"equal_rule": "gF", "scale": 255.0, "im2double": False, "matlab_conv2": True,
                 "precision": "float64", "_colour": "mefb-loop"},
        "tang": {"equal_rule": "gF", "scale": 1.0, "im2double": True, "matlab_conv2": True,
                 "precision": "float64"},
        "cddfuse": {"equal_rule": "gF", "scale": 1.0, "im2double": False,
                    "matlab_conv2": False, "precision": "float32"},
        "liu": {"variant": "liu"},
    })
def qabf(a, b, f, equal_rule: str = "ratio", scale: float = 1.0, im2double: bool = False,
         matlab_conv2: bool = False, precision: str = "float64",
         variant: str = "xydeas-petrovic") -> float:
    """Qabf (Xydeas & Petrovic 2000): edge strength and orientation preserved from the sources
    in F, weighted by source edge strength. Range 0..1 (about 0.9994 * 0.9879 at most); higher
    is better. Symmetric in the two sources, which are combined by the gA/gB-weighted sum
    sum(Q_AF gA + Q_BF gB) / sum(gA + gB).

    Filters: 3 x 3 Sobel, zero padding, 'same' size (MATLAB conv2). Orientation atan(SAy/SAx),
    pi/2 where SAx == 0 (MATLAB's conv2 signs). Parameters Tg=0.9994, kg=-15, Dg=0.5,
    Ta=0.9879, ka=-22, Da=0.8. Data range: scale-free, except through the inherited
    `equal_rule="gF"` branch (below).

    Options:
    - equal_rule: where gA == gF exactly. "ratio" (default, bug-free): G = 1, full strength
      preservation. "gF": G = gF, the branch every reference implementation has
      (`if gA == gF, GAF = gF`), whose effect depends on the data scale: harmless on 0..255
      data (gF >= 1 gives G >= 1, so Qg ~ Tg), but on 0..1 data (Tang) it scores identical
      edges as almost entirely lost (gF < 0.5 gives Qg < Tg/2).
    - scale: the factor the reference code applies to 0..255 data before the Sobel filters
      (VIFB/MEFB: 255*im2double(double(x)), i.e. 255).
    - im2double: the data are divided by 255 first (Tang's im2double images).
    - matlab_conv2: sum the Sobel responses in GNU Octave's conv2 order (`conv2_sobel_matlab`)
      instead of the exact separable form. On non-integer data (im2double, or rgb2gray'd
      sources) this rounding decides which magnitudes compare equal in the "gF" branch and
      whether SAx is exactly 0 or a +-1e-17 residue whose sign flips alpha between +-pi/2,
      which moves Tang's Qabf by ~1e-2. MATLAB's own summation order is not documented.
    - precision: "float64", or "float32" to mirror CDDFuse's float32 arithmetic.
    - variant: "xydeas-petrovic" (everything above), or "liu": Z. Liu's parameterisation in
      metricXydeas.m (zhengliu6699/imageFusionMetrics@d6f7f1a, citing Xydeas & Petrovic,
      "Objective pixel-level image fusion performance measure", Proc. SPIE 4051, 89 (2000)),
      a different computation in which the options above are ignored:
      Sobel by filter2 ('same', zero padding); alpha = atan(Y / X) with X = 1e-5 where X == 0;
      G_SF = gF / gS where gS > gF, else gS / gF, with 1e-5 added to a zero gS (and then to a
      zero gF, which the second source's comparison then sees); orientation agreement
      A_SF = | |alphaS - alphaF| - pi/2 | * 2/pi (Petrovic's Nabf form);
      Q_SF = 1 / (1 + exp(-10 (G_SF - 0.5))) * 1 / (1 + exp(-20 (A_SF - 0.75)));
      weights w = g (L = 1, buffered); and the sources combined per pixel,
      Qabf = mean over pixels of (Q_AF wA + Q_BF wB) / (wA + wB) (the commented-out line of
      the code has the usual ratio of sums). So every pixel counts equally, flat ones included
      (a constant triple scores about 1, an all-zero F about 0). Always defined.

    Conventions:
    - default: profile grey planes (BT.601 luma), G = 1 where gA == gF.
    - vifb: VIFB metricsQabf.m (xingchenzhang/VIFB@5d29ee7): scale 255, gF branch; channel loop
      (per channel if F is colour; rgb2gray'd sources if F is grey: colour rule `vifb-loop`).
    - mefb: MEFB metricsQabf.m (xingchenzhang/MEFB@82014f4): as vifb; F's red channel when both
      sources are grey (`mefb-loop`).
    - tang: analysis_Qabf.m on im2double images (Linfeng-Tang/SeAFusion
      Evaluation/analysis_Reference.m@d3ae78e: `Qabf = analysis_Qabf(image1, image2,
      image_fused)` with `image1 = im2double(image_ir)`): im2double, gF branch, Octave's
      conv2 rounding, rgb2gray planes. (METRICS.md 5.4's "Tang-style 0.48857" on fight/ADF
      assumed 0..255 data; GNU Octave running the toolkit gives 0.48017, reproduced here.)
    - cddfuse: Evaluator.Qabf (Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py@40de058): scipy
      convolve2d 'same' on float32 0..255 grey, `GAF[gA == gF] = gF`, float32 arithmetic.
    - liu: Liu's metricXydeas.m as fusionAssess.m calls it (double grey images):
      `variant="liu"`.

    Undefined (MetricUndefined) when neither source has any gradient (sum(gA + gB) = 0).
    """
    if variant == "liu":
        return _qabf_liu(a, b, f)
    if variant != "xydeas-petrovic":
        raise ValueError("Qabf: variant must be 'xydeas-petrovic' or 'liu'")
    if equal_rule not in ("ratio", "gF"):
        raise ValueError("Qabf: equal_rule must be 'ratio' or 'gF'")
    dtype = np.float32 if precision == "float32" else np.float64
    dtype = np.float64 if matlab_conv2 else dtype
    gA, aA = _qabf_features(a, dtype, scale, im2double, matlab_conv2)
    gB, aB = _qabf_features(b, dtype, scale, im2double, matlab_conv2)
    gF, aF = _qabf_features(f, dtype, scale, im2double, matlab_conv2)
    qaf = _qabf_preservation(gA, aA, gF, aF, equal_rule, dtype)
    qbf = _qabf_preservation(gB, aB, gF, aF, equal_rule, dtype)
    if dtype == np.float32:  # the sums as numpy forms them on float32 arrays (CDDFuse)
        deno = np.sum(gA + gB)
        nume = np.sum(qaf * gA + qbf * gB)
    else:
        deno = float(np.sum(gA) + np.sum(gB))
        nume = float(np.vdot(qaf.ravel(), gA.ravel()) + np.vdot(qbf.ravel(), gB.ravel()))
    if deno == 0:
        raise MetricUndefined("Qabf is not defined when neither source has any gradient "
                              "(sum(gA + gB) = 0, e.g. two constant sources)")
    return float(nume / deno)


# --------------------------------------------------------------------------- Nabf / Labf
_PETROVIC = dict(Td=2.0, wt_min=0.001, Lg=1.5, Nrg=0.9999, kg=19.0, sigmag=0.5, Nra=0.9995,
                 ka=22.0, sigmaa=0.5)


def sobel_fn_matlab(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gv, gh) of Shreyamsha Kumar's sobel_fn.m: sum(sum(patch .* vtemp)) and
    sum(sum(patch .* htemp)) with vtemp = [-1 0 1; -2 0 2; -1 0 1]/8, htemp its transpose, on the
    mirror-extended image, rounded as MATLAB sums a 3 x 3 product (each column top to bottom,
    then the three column sums left to right). Only needed on non-integer data (Tang's im2double
    images); on 0..255 data every order is exact."""
    x = np.pad(np.asarray(img, dtype=np.float64), 1, mode="reflect")  # reflect-101
    rows, cols = img.shape

    def t(coef, k, c):
        return coef * x[k:k + rows, c:c + cols]

    e, q = 0.125, 0.25
    gv = ((t(-e, 0, 0) + t(-q, 1, 0)) + t(-e, 2, 0)) + ((t(e, 0, 2) + t(q, 1, 2)) + t(e, 2, 2))
    gh = ((t(-e, 0, 0) + t(e, 2, 0)) + (t(-q, 0, 1) + t(q, 2, 1))) + (t(-e, 0, 2) + t(e, 2, 2))
    return gv, gh


def _petrovic_features(img: np.ndarray, im2double: bool) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength and orientation as sobel_fn.m + analysis_nabf.m: Sobel / 8, mirror padding,
    alpha = atan(gv / gh) (IEEE division: +-pi/2 where gh is a signed zero, as MATLAB gives),
    0 where both are 0."""
    if im2double:
        gx, gy = sobel_fn_matlab(np.asarray(img, dtype=np.float64) / 255.0)
    else:
        gx, gy = sobel(img, cv2.BORDER_REFLECT_101)
        gx *= 0.125
        gy *= 0.125
    g = np.multiply(gx, gx)
    alpha = np.multiply(gy, gy)
    g += alpha
    np.sqrt(g, out=g)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(gx, gy, out=alpha)
    np.copyto(alpha, 0.0, where=np.isnan(alpha))  # gv == gh == 0: atan(0/0) is set to 0
    np.arctan(alpha, out=alpha)
    return g, alpha


_TINY = float(np.nextafter(0.0, 1.0))  # the smallest positive double


def _petrovic_q(gs, as_, gf, af) -> np.ndarray:
    """Q_SF = sqrt(Qg Qa) per pixel (Shreyamsha Kumar's parameters), operations in the
    reference code's order."""
    p = _PETROVIC
    # G = min/max, 0 where gS or gF is 0 (then min = 0; a zero max is raised to the smallest
    # positive double, which changes no other value, so that 0 / 0 cannot occur)
    bigger = np.maximum(gs, gf)
    np.maximum(bigger, _TINY, out=bigger)
    qg = np.minimum(gs, gf)
    qg /= bigger
    qg -= p["sigmag"]
    qg *= -p["kg"]
    np.exp(qg, out=qg)
    qg += 1
    np.divide(p["Nrg"], qg, out=qg)
    qa = np.subtract(as_, af, out=bigger)
    np.abs(qa, out=qa)
    qa -= HALF_PI
    np.abs(qa, out=qa)
    qa *= 2
    qa /= np.pi
    qa -= p["sigmaa"]
    qa *= -p["ka"]
    np.exp(qa, out=qa)
    qa += 1
    np.divide(p["Nra"], qa, out=qa)
    qg *= qa
    return np.sqrt(qg, out=qg)


def _petrovic_weight(g: np.ndarray) -> np.ndarray:
    """g^1.5 (as g sqrt(g)) where g >= Td = 2, else wt_min = 0.001."""
    p = _PETROVIC
    w = np.sqrt(g)
    w *= g
    np.copyto(w, p["wt_min"], where=g < p["Td"])
    return w


def petrovic_terms(a, b, f, im2double: bool = False) -> dict[str, float]:
    """Petrovic's objective fusion characterisation of one grey triple (0..255 values, or
    im2double: divided by 255 first, as Tang's toolkit passes them):
    {'Qabf': total information transferred (this parameterisation, not Xydeas' Qabf above),
     'Labf': loss, 'Nabf': Shreyamsha Kumar's modified artefacts, 'Nabf_petrovic':
     Petrovic's original artefact term}. Qabf + Labf + Nabf = 1 (every pixel is either lost,
    gF <= max(gA, gB), or an artefact, gF > both)."""
    for img in (a, b, f):
        check_size("Nabf", img, 2)
    gA, aA = _petrovic_features(a, im2double)
    gB, aB = _petrovic_features(b, im2double)
    gF, aF = _petrovic_features(f, im2double)
    qaf = _petrovic_q(gA, aA, gF, aF)
    qbf = _petrovic_q(gB, aB, gF, aF)
    wA = _petrovic_weight(gA)
    wB = _petrovic_weight(gB)
    wsum = float(wA.sum() + wB.sum())
    qabf_total = float(np.vdot(qaf.ravel(), wA.ravel()) + np.vdot(qbf.ravel(), wB.ravel()))
    artefact = np.greater(gF, gA)
    artefact &= gF > gB
    in_artefact = artefact.astype(np.float64).ravel()
    in_loss = np.logical_not(artefact).astype(np.float64).ravel()
    # per pixel (1 - Q_AF) wA + (1 - Q_BF) wB; Petrovic's original artefact term uses
    # (2 - Q_AF - Q_BF)(wA + wB)
    loss = np.subtract(1, qaf, out=aA)
    loss *= wA
    lb = np.subtract(1, qbf, out=aB)
    lb *= wB
    loss += lb
    na1 = np.subtract(2, qaf, out=qaf)
    na1 -= qbf
    na1 *= np.add(wA, wB, out=wA)
    loss, na1 = loss.ravel(), na1.ravel()
    return {
        "Qabf": qabf_total / wsum,
        "Labf": float(np.vdot(loss, in_loss)) / wsum,
        "Nabf": float(np.vdot(loss, in_artefact)) / wsum,
        "Nabf_petrovic": float(np.vdot(na1, in_artefact)) / wsum,
    }


def _tang_order(a, b, f, swapped: bool):
    # Tang's scripts pass (ir, vi, fused); analysis_nabf's signature is (fused, src1, src2).
    # The swapped call analysis_nabf(ir, vi, fused) scores the first source as the fused image.
    return (b, f, a) if swapped else (a, b, f)


_NABF_CONVENTIONS = {
    "default": {"im2double": False, "tang_swapped_arguments": False},
    "tang": {"im2double": True, "tang_swapped_arguments": False},
}


@register_metric(
    "Nabf", direction="lower", family="edge",
    aliases=("N_abf", "N^{AB/F}", "NAB/F", "N_AB/F"),
    description="Shreyamsha Kumar's modified fusion-artefact measure N^{AB/F}, 0..1",
    conventions=_NABF_CONVENTIONS)
def nabf(a, b, f, im2double: bool = False, tang_swapped_arguments: bool = False) -> float:
    """Nabf: the share of edge information in F that is artefact, i.e. stronger in F than in both
    sources, weighted by source edge strength (Shreyamsha Kumar 2013's modification of
    Petrovic's N^{AB/F}). Range 0..1; lower is better. Sources combined as
    sum[1(gF > gA and gF > gB) ((1 - Q_AF) wA + (1 - Q_BF) wB)] / sum(wA + wB).

    Filters: Sobel / 8 with mirror padding (reflect-101); Nrg=0.9999, kg=19, sigma_g=0.5,
    Nra=0.9995, ka=22, sigma_a=0.5; Q = sqrt(Qg Qa); weights g^1.5 where g >= 2 else 0.001.
    Data range matters through the threshold g >= 2.

    Options:
    - im2double: the data are divided by 255 first, and the Sobel sums are rounded as
      sobel_fn.m's sum(sum(patch .* kernel)) rounds them (`sobel_fn_matlab`); on 0..1 data no
      gradient reaches 2, so every weight is 0.001 and Nabf becomes an unweighted mean.
    - tang_swapped_arguments: reproduce the argument-order bug of some copies of Tang's toolkit,
      `analysis_nabf(ir, vi, fused)` against the signature `(fused, src1, src2)`: the first
      source `a` (IR in Tang's order) is scored as the fused image and (b, f) as the sources.
      Off in every profile; pass it explicitly.

    Conventions:
    - default: values on the 0..255 scale, the scale the threshold g >= 2 was designed for;
      F scored as the fused image; profile grey planes.
    - tang: Tang's analysis_Reference.m calls `analysis_nabf(image_fused, image1, image2)` on
      `im2double` images (Linfeng-Tang/SeAFusion Evaluation/analysis_Reference.m@d3ae78e; the
      same in Evaluation-for-Image-Fusion): `im2double=True`, correct order, rgb2gray planes.
      (METRICS.md 5.4's Nabf numbers, 0.0028 and 0.0896 on fight/ADF, are on the 0..255 scale;
      Tang's own scale gives 0.0533 and 0.2143.)
    VIFB, MEFB and CDDFuse do not compute Nabf.

    Always defined (the weights are at least 0.001 per pixel). Needs 2 x 2 pixels.
    """
    a, b, f = _tang_order(a, b, f, tang_swapped_arguments)
    return petrovic_terms(a, b, f, im2double)["Nabf"]


@register_metric(
    "Labf", direction="lower", family="edge",
    aliases=("L_abf", "L^{AB/F}", "LAB/F", "L_AB/F"),
    description="Petrovic's loss of edge information L^{AB/F}, 0..1",
    conventions=_NABF_CONVENTIONS)
def labf(a, b, f, im2double: bool = False, tang_swapped_arguments: bool = False) -> float:
    """Labf (Petrovic & Xydeas 2005): edge information of the sources lost in F, i.e. at pixels
    where F's edge is not stronger than both sources' (gF <= gA or gF <= gB):
    sum[1(gF <= gA or gF <= gB) ((1 - Q_AF) wA + (1 - Q_BF) wB)] / sum(wA + wB).
    Range 0..1; lower is better. Same framework, filters, parameters and weights as Nabf (the
    LABF term of Shreyamsha Kumar's objective_fusion_perform_fn, which Tang's analysis_nabf.m
    computes and discards: Linfeng-Tang/SeAFusion Evaluation/analysis_nabf.m@d3ae78e).
    Conventions and options as Nabf (default 0..255; tang im2double, i.e. all weights 0.001;
    `tang_swapped_arguments` likewise available, off everywhere). Always defined; needs 2 x 2
    pixels."""
    a, b, f = _tang_order(a, b, f, tang_swapped_arguments)
    return petrovic_terms(a, b, f, im2double)["Labf"]
