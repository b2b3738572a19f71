"""Nabf and Labf, the artefact and loss terms of Petrovic's objective fusion characterisation
(family 'edge'; Qabf of the same framework is in bench.metrics.qabf).

Both compare the Sobel edge strength g and orientation alpha of each source with those of the
fused image, pixel by pixel, through sigmoid "preservation" functions, and average the result
with edge-strength weights. Everything here is vectorised (the MATLAB originals loop over
pixels): OpenCV Sobel filters, compiled (numba) per-pixel passes with numpy's atan and exp in
between, each operation in the order of the numpy formulation they replaced (the same values),
and numpy sums. 480 x 640, one core: ~13 ms for both terms (numpy formulas: ~22 ms).

Definition (re-implemented from the papers and from the behaviour of the reference code, not
copied from it): Petrovic & Xydeas 2005, "Objective image fusion performance characterisation",
ICCV; Nabf as modified by B. K. Shreyamsha Kumar, SIViP 2013, as in Tang's `analysis_nabf.m`
(Linfeng-Tang/SeAFusion Evaluation/analysis_nabf.m@d3ae78e): Sobel / 8 with mirror padding that
does not repeat the edge pixel; orientation atan(Gx / Gy) (0 where both are 0); G_AF = min/max
(0 where gA or gF is 0); A_AF = | |alphaA - alphaF| - pi/2 | * 2/pi;
Q_AF = sqrt(Qg Qa) with Qg = 0.9999 / (1 + exp(-19 (G_AF - 0.5))),
Qa = 0.9995 / (1 + exp(-22 (A_AF - 0.5))); weights w = g^1.5 where g >= 2, else 0.001.
Nabf = sum[1(gF > gA and gF > gB) ((1 - Q_AF) wA + (1 - Q_BF) wB)] / sum(wA + wB);
Labf = sum[1(gF <= gA or gF <= gB) ((1 - Q_AF) wA + (1 - Q_BF) wB)] / sum(wA + wB).
"""
from __future__ import annotations

import cv2
import numpy as np

from .registry import register_metric
from .sobel import check_size, sobel, sobel_fn_matlab
from .windows import Arena, buffer, memo


_PETROVIC = dict(Td=2.0, wt_min=0.001, Lg=1.5, Nrg=0.9999, kg=19.0, sigmag=0.5, Nra=0.9995,
                 ka=22.0, sigmaa=0.5)


def _petrovic_features(img: np.ndarray, im2double: bool) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength and orientation as sobel_fn.m + analysis_nabf.m: Sobel / 8, mirror padding,
    alpha = atan(gv / gh) (IEEE division: +-pi/2 where gh is a signed zero, as MATLAB gives),
    0 where both are 0. g and the quotient in one compiled pass, atan by numpy."""
    if im2double:
        gx, gy = sobel_fn_matlab(np.asarray(img, dtype=np.float64) / 255.0)
        scale = 1.0
    else:
        gx, gy = sobel(img, cv2.BORDER_REFLECT_101)
        scale = 0.125
    g = buffer(gx.shape)
    alpha = buffer(gx.shape)
    _kernels()[0](gx, gy, scale, g, alpha)
    np.arctan(alpha, out=alpha)
    return g, alpha


_TINY = float(np.nextafter(0.0, 1.0))  # the smallest positive double


def _petrovic_q(gs, as_, gf, af, out=None) -> np.ndarray:
    """Q_SF = sqrt(Qg Qa) per pixel (Shreyamsha Kumar's parameters), operations in the
    reference code's order: Qg = Nrg / (1 + exp(-kg (G - sigma_g))) with G = min/max of the
    strengths (0 where gS or gF is 0: a zero max is raised to the smallest positive double,
    which changes no other value, so that 0 / 0 cannot occur), Qa likewise of the orientation
    agreement | |alphaS - alphaF| - pi/2 | * 2/pi. The exponents in a compiled pass, exp by
    numpy, the rest in a second pass."""
    first, second = _kernels()[1:3]
    u = buffer(gs.shape)
    v = buffer(gs.shape)
    first(gs, as_, gf, af, u, v)
    np.exp(u, out=u)
    np.exp(v, out=v)
    q = u if out is None else out
    second(u, v, q)
    return q


def _petrovic_weight(g: np.ndarray) -> np.ndarray:
    """g^1.5 (as g sqrt(g)) where g >= Td = 2, else wt_min = 0.001."""
    p = _PETROVIC
    w = np.sqrt(g, out=buffer(g.shape))
    w *= g
    np.copyto(w, p["wt_min"], where=g < p["Td"])
    return w


_KERNELS = None


def _kernels():
    """Compiled passes of the Petrovic terms (numba, compiled on first use, cached on disk);
    every operation as the numpy formulation they replaced performed it, in the same order."""
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    from numba import njit

    p = _PETROVIC
    tiny, half_pi, pi = _TINY, np.pi / 2, np.pi
    neg_kg, sg, nrg = -p["kg"], p["sigmag"], p["Nrg"]
    neg_ka, sa, nra = -p["ka"], p["sigmaa"], p["Nra"]
    td, wt_min = p["Td"], p["wt_min"]

    # every kernel walks row views (so that the loops vectorise)
    @njit(cache=True, error_model="numpy")
    def features(gx, gy, scale, g, t):
        """g = sqrt(gx'^2 + gy'^2) and t = gx' / gy' (0 where NaN), gx' = scale gx."""
        rows, cols = g.shape
        for y in range(rows):
            xr, yr, gr, tr = gx[y], gy[y], g[y], t[y]
            for x in range(cols):
                a = xr[x] * scale
                b = yr[x] * scale
                gr[x] = np.sqrt(a * a + b * b)
                q = a / b
                tr[x] = 0.0 if q != q else q

    @njit(cache=True, error_model="numpy")
    def q_exponents(gs, as_, gf, af, u, v):
        """The exponents of the two sigmoids: -kg (G - sigma_g) and -ka (A - sigma_a)."""
        rows, cols = gs.shape
        for y in range(rows):
            sr, asr, fr, afr, ur, vr = gs[y], as_[y], gf[y], af[y], u[y], v[y]
            for x in range(cols):
                s, f = sr[x], fr[x]
                big = s if s > f else f
                big = tiny if big < tiny else big
                small = f if s > f else s
                ur[x] = ((small / big) - sg) * neg_kg
                d = abs(abs(asr[x] - afr[x]) - half_pi)
                vr[x] = (((d * 2.0) / pi) - sa) * neg_ka

    @njit(cache=True, error_model="numpy")
    def q_value(eu, ev, q):
        """sqrt(Nrg / (exp_u + 1) * Nra / (exp_v + 1))."""
        rows, cols = q.shape
        for y in range(rows):
            ur, vr, qr = eu[y], ev[y], q[y]
            for x in range(cols):
                qr[x] = np.sqrt((nrg / (ur[x] + 1.0)) * (nra / (vr[x] + 1.0)))

    @njit(cache=True, error_model="numpy")
    def terms(qaf, qbf, ga, gb, gf, wa, wb, loss, na1, art, keep):
        """Weights g sqrt(g) (wt_min below Td), the loss map (1 - Q_AF) wA + (1 - Q_BF) wB,
        Petrovic's (2 - Q_AF - Q_BF)(wA + wB), and the artefact (gF > gA, gB) / loss masks."""
        rows, cols = qaf.shape
        for y in range(rows):
            qar, qbr, gar, gbr, gfr = qaf[y], qbf[y], ga[y], gb[y], gf[y]
            war, wbr, lr, nr, ar, kr = wa[y], wb[y], loss[y], na1[y], art[y], keep[y]
            for x in range(cols):
                a, b, f = gar[x], gbr[x], gfr[x]
                w1 = np.sqrt(a) * a
                w1 = wt_min if a < td else w1
                w2 = np.sqrt(b) * b
                w2 = wt_min if b < td else w2
                war[x] = w1
                wbr[x] = w2
                qa, qb = qar[x], qbr[x]
                lr[x] = (1.0 - qa) * w1 + (1.0 - qb) * w2
                nr[x] = ((2.0 - qa) - qb) * (w1 + w2)
                m = 1.0 if (f > a) & (f > b) else 0.0
                ar[x] = m
                kr[x] = 1.0 - m

    _KERNELS = (features, q_exponents, q_value, terms)
    return _KERNELS


def petrovic_terms(a, b, f, im2double: bool = False) -> dict[str, float]:
    """Petrovic's objective fusion characterisation of one grey triple (0..255 values, or
    im2double: divided by 255 first, as Tang's toolkit passes them):
    {'Qabf': total information transferred (this parameterisation, not Xydeas' Qabf above),
     'Labf': loss, 'Nabf': Shreyamsha Kumar's modified artefacts, 'Nabf_petrovic':
     Petrovic's original artefact term}. Qabf + Labf + Nabf = 1 (every pixel is either lost,
    gF <= max(gA, gB), or an artefact, gF > both)."""
    for img in (a, b, f):
        check_size("Nabf", img, 2)
    # Nabf and Labf of one compute_many call (the same read-only planes) share these terms
    return memo((a, b, f), ("petrovic_terms", bool(im2double)),
                lambda: _petrovic_terms(a, b, f, im2double))


def _petrovic_terms(a, b, f, im2double: bool) -> dict[str, float]:
    with Arena():  # every map is scratch: only floats leave
        return _petrovic_sums(a, b, f, im2double)


def _petrovic_sums(a, b, f, im2double: bool) -> dict[str, float]:
    gA, aA = _petrovic_features(a, im2double)
    gB, aB = _petrovic_features(b, im2double)
    gF, aF = _petrovic_features(f, im2double)
    qaf = _petrovic_q(gA, aA, gF, aF)
    qbf = _petrovic_q(gB, aB, gF, aF)
    shape = gA.shape
    wA, wB, loss, na1, in_artefact, in_loss = (buffer(shape) for _ in range(6))
    # weights, per-pixel (1 - Q_AF) wA + (1 - Q_BF) wB, Petrovic's original artefact term
    # (2 - Q_AF - Q_BF)(wA + wB), and the masks of artefact pixels (gF > gA and gF > gB) and
    # of the others (loss)
    _kernels()[3](qaf, qbf, gA, gB, gF, wA, wB, loss, na1, in_artefact, in_loss)
    wsum = float(wA.sum() + wB.sum())
    qabf_total = float(np.vdot(qaf.ravel(), wA.ravel()) + np.vdot(qbf.ravel(), wB.ravel()))
    loss, na1 = loss.ravel(), na1.ravel()
    in_artefact, in_loss = in_artefact.ravel(), in_loss.ravel()
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
