"""Qabf, the Xydeas-Petrovic edge-preservation metric Q^{AB/F} (family 'edge'; Nabf and Labf of
the same framework are in bench.metrics.nabf).

It compares the Sobel edge strength g and orientation alpha of each source with those of the
fused image, pixel by pixel, through sigmoid "preservation" functions, and averages the result
with edge-strength weights. Everything here is vectorised (the MATLAB originals loop over
pixels); in float64 the per-pixel arithmetic is compiled (numba) passes around numpy's atan and
exp, each operation in the order of the numpy formulation it replaced (the same values);
float32 (CDDFuse) stays numpy.

Definition (re-implemented from the paper and from the behaviour of the reference code, not
copied from it): Xydeas & Petrovic, Electronics Letters 36(4), 2000: 3 x 3 Sobel with zero
padding ('same'), g = sqrt(Sx^2 + Sy^2), alpha = atan(Sy / Sx) with alpha = pi/2 where Sx == 0;
G_AF = min(gA, gF) / max(gA, gF), A_AF = 1 - |alphaA - alphaF| / (pi/2);
Q_AF = Tg / (1 + exp(kg (G_AF - Dg))) * Ta / (1 + exp(ka (A_AF - Da))) with Tg = 0.9994,
kg = -15, Dg = 0.5, Ta = 0.9879, ka = -22, Da = 0.8;
Qabf = sum(Q_AF gA + Q_BF gB) / sum(gA + gB).
Z. Liu's metricXydeas.m (profile `liu`, option variant="liu") parameterises it differently:
kg = -10, Dg = 0.5, ka = -20, Da = 0.75, Tg = Ta = 1, Petrovic's orientation agreement
| |alphaA - alphaF| - pi/2 | * 2/pi, 1e-5 buffers instead of branches, and the mean over pixels
of (Q_AF gA + Q_BF gB) / (gA + gB).

VIFB/MEFB conventions select the wrappers' channel loops `vifb-loop` / `mefb-loop`
(bench.metrics.profiles.channel_loop).
"""
from __future__ import annotations

import cv2
import numpy as np

from . import MetricUndefined
from .registry import register_metric
from .sobel import (HALF_PI, _integer_valued, conv2_sobel_matlab, orientation_agreement, sigmoid_,
                    sobel)
from .windows import Arena, buffer


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
    if dtype == np.float64:  # g and the quotient in one compiled pass, atan by numpy
        g, alpha = buffer(sax.shape), buffer(sax.shape)
        _kernels()[0](sax, say, g, alpha)
        np.arctan(alpha, out=alpha)
        np.copyto(alpha, HALF_PI, where=sax == 0)
        return g, alpha
    g = np.multiply(sax, sax, out=_buf(sax))
    tmp = np.multiply(say, say, out=_buf(sax))
    g += tmp
    np.sqrt(g, out=g)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.divide(say, sax, out=tmp)
    np.arctan(alpha, out=alpha)
    np.copyto(alpha, dtype(HALF_PI), where=sax == 0)
    return g, alpha


def _buf(like: np.ndarray) -> np.ndarray | None:
    """A scratch array for a float64 result shaped like `like` (from the active Arena), or
    None (numpy allocates) for float32."""
    return buffer(like.shape) if like.dtype == np.float64 and like.ndim == 2 else None


def _qabf_preservation(gs, as_, gf, af, equal_rule: str, dtype) -> np.ndarray:
    """Q_SF = Qg * Qa per pixel, with the operations in the reference code's order (float64:
    the sigmoids' exponents and the product in compiled passes around numpy's exp)."""
    p = _QABF
    if dtype == np.float64:
        u, v = buffer(gs.shape), buffer(gs.shape)
        exponents, product = _kernels()[1:]
        exponents(gs, as_, gf, af, equal_rule == "gF", u, v)
        np.exp(u, out=u)
        np.exp(v, out=v)
        product(u, v, u)
        return u
    bigger = np.maximum(gs, gf, out=_buf(gs))
    np.maximum(bigger, np.nextafter(dtype(0), dtype(1)), out=bigger)  # only 0 / 0 changes
    ratio = np.minimum(gs, gf, out=_buf(gs))
    ratio /= bigger
    # gA == gF (0 / 0 included): the branch of the reference code, or G = 1
    np.copyto(ratio, gf if equal_rule == "gF" else dtype(1), where=gs == gf)
    qg = sigmoid_(ratio, p["kg"], p["Dg"], p["Tg"])
    qa = np.subtract(as_, af, out=bigger)
    np.abs(qa, out=qa)
    qa /= dtype(HALF_PI)
    np.subtract(dtype(1), qa, out=qa)
    qg *= sigmoid_(qa, p["ka"], p["Da"], p["Ta"])
    return qg


_KERNELS = None


def _kernels():
    """Compiled float64 passes of Qabf (numba, compiled on first use, cached on disk), each
    operation as the numpy formulation they replaced performed it, in the same order."""
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    from numba import njit

    p = _QABF
    tiny = float(np.nextafter(0.0, 1.0))
    kg, dg, tg, ka, da, ta = p["kg"], p["Dg"], p["Tg"], p["ka"], p["Da"], p["Ta"]
    half_pi = HALF_PI

    @njit(cache=True, error_model="numpy")
    def features(sax, say, g, t):
        """g = sqrt(SAx^2 + SAy^2), t = SAy / SAx."""
        rows, cols = g.shape
        for y in range(rows):
            ar, br, gr, tr = sax[y], say[y], g[y], t[y]
            for x in range(cols):
                a, b = ar[x], br[x]
                gr[x] = np.sqrt(a * a + b * b)
                tr[x] = b / a

    @njit(cache=True, error_model="numpy")
    def exponents(gs, as_, gf, af, gf_rule, u, v):
        """kg (G - Dg) and ka (A - Da): G = min/max (a zero max raised to the smallest positive
        double), gF (gf_rule) or 1 where gS == gF; A = 1 - |alphaS - alphaF| / (pi/2)."""
        rows, cols = gs.shape
        for y in range(rows):
            sr, asr, fr, afr, ur, vr = gs[y], as_[y], gf[y], af[y], u[y], v[y]
            for x in range(cols):
                s, f = sr[x], fr[x]
                big = s if s > f else f
                big = tiny if big < tiny else big
                small = f if s > f else s
                ratio = small / big
                if s == f:
                    ratio = f if gf_rule else 1.0
                ur[x] = (ratio - dg) * kg
                vr[x] = ((1.0 - abs(asr[x] - afr[x]) / half_pi) - da) * ka

    @njit(cache=True, error_model="numpy")
    def product(eu, ev, q):
        """Tg / (1 + exp_u) * Ta / (1 + exp_v)."""
        rows, cols = q.shape
        for y in range(rows):
            ur, vr, qr = eu[y], ev[y], q[y]
            for x in range(cols):
                qr[x] = (tg / (ur[x] + 1.0)) * (ta / (vr[x] + 1.0))

    _KERNELS = (features, exponents, product)
    return _KERNELS


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
    sigmoid_(ratio, p["k1"], p["delta1"])
    ratio *= sigmoid_(orientation_agreement(as_, af), p["k2"], p["delta2"])
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
    with Arena():  # the maps are scratch: only floats leave
        return _qabf_value(a, b, f, equal_rule, scale, im2double, matlab_conv2, dtype)


def _qabf_value(a, b, f, equal_rule, scale, im2double, matlab_conv2, dtype) -> float:
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
