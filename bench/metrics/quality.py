"""Perceptual quality indices of the fused image against its sources built on contrast
sensitivity (CSF) filtering: Qcb (Chen-Blum) and Qcv (Chen-Varshney). (Qp, the phase-congruency
index of the same family, is in bench.metrics.phase_congruency.)

Re-implemented, vectorised, from the papers and from the behaviour of Z. Liu's MATLAB code as
VIFB and MEFB ship it (zhengliu6699/imageFusionMetrics metricChenBlum.m, metricChen.m,
normalize1.m; xingchenzhang/VIFB metrics/metricsQcb.m and metricsQcv.m @5d29ee7;
xingchenzhang/MEFB metrics/metricsQcb.m, metricsQcv.m @82014f4). No code is copied; where the
reference code's construction decides the digits (grids, padding, block handling, rounding) the
docstrings say which behaviour is reproduced.

Shared preprocessing, `normalize1` (Liu): min-max stretch to 0..255 and round half away from
zero; an all-zero image is left as it is, any other constant image has no defined stretch
(MATLAB gives NaN; here MetricUndefined).

Speed: the CSF filters of Qcb and Qcv are real transforms in OpenCV's packed (CCS) layout
(cv2.dft, double precision, one real product in between); the spatial Gaussians are cv2 filters,
and Qcb's per-pixel arithmetic after them (masked contrasts, ratios, saliency weights) is one
compiled pass (`_qcb_kernel`, the operations of the numpy formulation it replaced, in order).
At 480 x 640 on one core Qcb takes ~23 ms: its six 31-tap float64 filters ~14 ms, the three
transform pairs ~5 ms, the compiled pass under 1 ms (numpy's arithmetic took ~4 ms). Within one
compute_many() call the normalize1'd planes are shared with each other and with NMI, QNCIE, TE and
TE_nava (`bench.metrics.matlab.minmax_round255`).
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from . import MetricUndefined
from .matlab import minmax_round255
from .registry import register_metric
from .sobel import check_size, sobel
from .windows import Arena, buffer


# --------------------------------------------------------------------------- shared helpers
def _frozen(arr: np.ndarray) -> np.ndarray:
    """Mark a cached array read-only (caches hand out the same object to every caller)."""
    arr.flags.writeable = False
    return arr


def normalize1(img: np.ndarray, im2double: bool = False, metric: str = "metric") -> np.ndarray:
    """Liu's normalize1: round((x - min) / (max - min) * 255), MATLAB rounding; an all-zero
    image is returned unchanged. im2double=True first divides by 255 (MEFB passes uint8 images
    through im2double before normalize1, which moves a few .5 ties). On a read-only plane the
    result is shared with the other metrics of the compute_many() call and is read-only."""
    data = np.asarray(img, dtype=np.float64)
    if im2double:
        data = data / 255.0
    stretched = minmax_round255(data)  # shared by the metrics of a compute_many() call
    if stretched is not None:
        return stretched
    if data.max() == 0:  # constant: all zero is left as it is
        return data.copy()
    raise MetricUndefined(f"{metric} is not defined for a constant non-zero image: its "
                          "min-max normalisation (normalize1) divides by zero")


def freqspace_radius(shape: tuple[int, int], scale_rows: float, scale_cols: float
                     ) -> np.ndarray:
    """r = sqrt(u^2 + v^2) on MATLAB's freqspace([rows, cols], 'meshgrid') grid, with
    u = scale_cols * f1 and v = scale_rows * f2, where f = ((0:n-1) - floor(n/2)) * (2/n)
    (DC at index floor(n/2), as fftshift puts it)."""
    rows, cols = shape
    f1 = (np.arange(cols) - cols // 2) * (2.0 / cols)
    f2 = (np.arange(rows) - rows // 2) * (2.0 / rows)
    u = scale_cols * f1
    v = scale_rows * f2
    return np.sqrt(u[None, :] ** 2 + v[:, None] ** 2)


def _ccs_spectrum(transfer_centred: np.ndarray) -> np.ndarray:
    """A real, even (centred, fftshift-ed) transfer function -> the multiplier of OpenCV's
    packed real spectrum (CCS layout of cv2.dft on a real array), so that filtering is
    dft -> one real product -> idft.

    ifft2(ifftshift(fftshift(fft2(x)) .* H)) = ifft2(fft2(x) .* ifftshift(H)); because the
    frequency grid is symmetric, ifftshift(H) is even and the product stays Hermitian, so the
    real transforms give the same (real) result; MATLAB's tiny imaginary rounding residue is not
    kept. CCS keeps, for frequency columns 1 .. (cols-1)//2, the (Re, Im) pairs of every row in
    adjacent columns; column 0 (and column cols/2 for even cols, stored last) is packed down
    the rows the same way: Re of row 0, (Re, Im) pairs of rows 1 .. (rows-1)//2, and Re of row
    rows/2 last for even rows. Each slot is multiplied by H at its frequency."""
    rows, cols = transfer_centred.shape
    half = np.fft.ifftshift(transfer_centred)[:, : cols // 2 + 1]
    out = np.empty((rows, cols))
    n = (cols - 1) // 2
    out[:, 1:2 * n + 1] = np.repeat(half[:, 1:n + 1], 2, axis=1)
    m = (rows - 1) // 2
    for u, c in [(0, 0)] + ([(cols // 2, cols - 1)] if cols % 2 == 0 else []):
        column = half[:, u]
        out[0, c] = column[0]
        out[1:2 * m + 1, c] = np.repeat(column[1:m + 1], 2)
        if rows % 2 == 0:
            out[rows - 1, c] = column[rows // 2]
    return _frozen(out)


def _filter_freq(img: np.ndarray, ccs: np.ndarray) -> np.ndarray:
    """Circular filtering of a real image by a transfer function in CCS layout."""
    src = np.ascontiguousarray(img, dtype=np.float64)
    spec = cv2.dft(src, dst=buffer(src.shape))
    spec *= ccs
    return cv2.idft(spec, dst=buffer(src.shape), flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)


def _sep_filter(img: np.ndarray, kernel_1d: np.ndarray) -> np.ndarray:
    """filter2(k' * k, img, 'same') with zero padding, for a symmetric separable kernel."""
    k = np.ascontiguousarray(kernel_1d, dtype=np.float64)
    src = np.ascontiguousarray(img)
    return cv2.sepFilter2D(src, cv2.CV_64F, k, k, dst=buffer(src.shape),
                           borderType=cv2.BORDER_CONSTANT)


# --------------------------------------------------------------------------- Qcb
_QCB = dict(f0=15.3870, f1=1.3456, a=0.7622, k=1.0, h=1.0, p=3.0, q=2.0, Z=0.0001)


@lru_cache(maxsize=8)
def _qcb_csf(shape: tuple[int, int]) -> np.ndarray:
    rows, cols = shape
    r = freqspace_radius(shape, rows / 30.0, cols / 30.0)
    sd = np.exp(-(r / _QCB["f0"]) ** 2) - _QCB["a"] * np.exp(-(r / _QCB["f1"]) ** 2)
    return _ccs_spectrum(sd)


@lru_cache(maxsize=4)
def _qcb_gauss_1d(sigma: float) -> np.ndarray:
    # gaussian2d(): exp(-(x^2 + y^2) / (2 sigma^2)) / (2 pi sigma^2) on -15..15, not normalised;
    # it factors as g(x) g(y) with g = exp(-x^2 / (2 sigma^2)) / sqrt(2 pi sigma^2).
    x = np.arange(-15, 16, dtype=np.float64)
    return _frozen(np.exp(-(x * x) / (2 * sigma * sigma)) / np.sqrt(2 * np.pi * sigma * sigma))


_QCB_KERNEL = None


def _qcb_kernel():
    """The per-pixel pass of Qcb (numba, compiled on first use, cached on disk):
    qcb_map(g2a, g4a, g2b, g4b, g2f, g4f, out) -> the number of pixels where a masked contrast
    is not > 0 (0, or NaN), writing the map lambda_A Q_AF + lambda_B Q_BF into out.

    Per image, from its G_2 and G_4 filtered planes: C = |G_2 / G_4 - 1|,
    C' = C^3 / (C^2 + Z) (k = h = 1, p = 3, q = 2, the powers by multiplication); then
    Q_XF = min(C_X', C_F') / max(C_X', C_F') and lambda_A = C_A'^2 / (C_A'^2 + C_B'^2). Every
    operation as the numpy formulation this pass replaced, in the same order (the same values);
    one straight-line loop over row views (vectorised)."""
    global _QCB_KERNEL
    if _QCB_KERNEL is not None:
        return _QCB_KERNEL
    from numba import njit

    from ._llvm_options import raise_vectorizer_check_limit
    raise_vectorizer_check_limit()  # before these kernels compile: their fused loops need it

    p = _QCB
    assert p["k"] == 1.0 and p["h"] == 1.0 and p["p"] == 3.0 and p["q"] == 2.0
    z = p["Z"]

    @njit(cache=True, error_model="numpy")
    def qcb_map(g2a, g4a, g2b, g4b, g2f, g4f, out):
        rows, cols = out.shape
        bad = 0
        for y in range(rows):
            ar, br, cr, dr, er, fr, outr = g2a[y], g4a[y], g2b[y], g4b[y], g2f[y], g4f[y], out[y]
            for x in range(cols):
                c = abs(ar[x] / br[x] - 1.0)
                c1 = ((c * c) * c) / (c * c + z)
                c = abs(cr[x] / dr[x] - 1.0)
                c2 = ((c * c) * c) / (c * c + z)
                c = abs(er[x] / fr[x] - 1.0)
                cf = ((c * c) * c) / (c * c + z)
                bad += not ((c1 > 0.0) & (c2 > 0.0) & (cf > 0.0))
                # the smaller over the larger (np.minimum / np.maximum of positive values)
                q1 = (c1 if c1 < cf else cf) / (cf if c1 < cf else c1)
                q2 = (c2 if c2 < cf else cf) / (cf if c2 < cf else c2)
                w1 = c1 * c1
                w2 = c2 * c2
                outr[x] = (q1 * w1 + q2 * w2) / (w1 + w2)
        return bad

    _QCB_KERNEL = qcb_map
    return qcb_map


@register_metric(
    "Qcb", direction="higher", family="quality",
    aliases=("Q_cb", "Chen-Blum", "metricChenBlum"),
    description="Chen-Blum human-perception fusion quality (CSF + local contrast), 0..1",
    conventions={
        "default": {"im2double": False},
        "vifb": {"im2double": False, "_colour": "vifb-loop"},
        "mefb": {"im2double": True, "_colour": "mefb-loop"},
        "liu": {"im2double": False},
    })
def qcb(a, b, f, im2double: bool = False) -> float:
    """Qcb (Y. Chen & R. S. Blum, Image and Vision Computing 27(10), 2009): how well F keeps the
    sources' perceptually masked local contrast, weighted by saliency. Range 0..1 (a mean of
    ratios); higher is better; symmetric in the sources, which are combined by the saliency
    weights lambda_A = C_A'^2 / (C_A'^2 + C_B'^2) per pixel, then averaged over all pixels.

    Steps (Liu's metricChenBlum.m as VIFB/MEFB run it):
    1. normalize1 every image to 0..255 integers (see module docstring);
    2. contrast-sensitivity filtering in the frequency domain with the DoG
       S(r) = exp(-(r/15.3870)^2) - 0.7622 exp(-(r/1.3456)^2) on freqspace's grid scaled by
       (cols/30, rows/30) (circular, i.e. FFT-periodic, like the original);
    3. local contrast C = |G_2 * I / G_4 * I - 1| with unnormalised 31 x 31 Gaussians
       exp(-(x^2+y^2)/(2 sigma^2)) / (2 pi sigma^2), sigma 2 and 4, filter2 'same' (zero
       padding; applied as exact separable filters);
    4. masking C' = k C^p / (h C^q + Z), k = h = 1, p = 3, q = 2, Z = 1e-4;
    5. Q_AF = min(C_A', C_F') / max(C_A', C_F') (computed as the original's two divisions);
       Qcb = mean(lambda_A Q_AF + lambda_B Q_BF).
    Data range: scale-free (normalize1 first).

    Conventions: default and vifb as VIFB metricsQcb.m (double images, normalize1); mefb as
    MEFB metricsQcb.m, which normalises im2double(uint8) images (`im2double=True`, moving
    rounding ties of normalize1) and scores only F's red channel when both sources are grey
    (colour rule `mefb-loop`). vifb uses the `vifb-loop` channel rule. liu is Liu's own
    metricChenBlum.m (zhengliu6699/imageFusionMetrics@d6f7f1a) as fusionAssess.m calls it on
    double grey images: im2double of a double is the identity, so the computation is VIFB's
    (`im2double=False`), on the profile's rgb2gray planes. Tang's toolkit and CDDFuse do not
    compute Qcb.

    Undefined (MetricUndefined) for constant non-zero images (normalize1), and where the
    original gives NaN: an image without local contrast somewhere in both sources, or F with
    zero contrast at a pixel (0/0 in the ratio or the saliency weights), e.g. an all-zero F.
    """
    name = "Qcb"
    check_size(name, f, 2)
    ccs = _qcb_csf(np.shape(f))
    g2, g4 = _qcb_gauss_1d(2.0), _qcb_gauss_1d(4.0)
    with Arena():
        planes = []
        for x in (a, b, f):
            csf = _filter_freq(normalize1(x, im2double, name), ccs)
            planes += [_sep_filter(csf, g2), _sep_filter(csf, g4)]
        # masked contrasts, Q_AF, Q_BF and the saliency weights in one pass (`_qcb_kernel`)
        q = buffer(np.shape(f))
        bad = _qcb_kernel()(*planes, q)
        # the original forms both ratios everywhere and masks by multiplication, so a zero
        # (or NaN) contrast anywhere gives 0 * Inf = NaN: checked explicitly here
        if bad:
            raise MetricUndefined(
                "Qcb is not defined for this input: some pixel has zero or undefined masked "
                "local contrast in F or a source (the reference code gives NaN), e.g. an "
                "all-zero image or a flat region after normalisation")
        with np.errstate(invalid="ignore", over="ignore"):
            value = float(np.mean(q))
    if not np.isfinite(value):
        raise MetricUndefined("Qcb is not defined for this input (the contrast ratios overflow)")
    return value


# --------------------------------------------------------------------------- Qcv
_QCV_WINDOW = 16
_QCV_ALPHA = 5


@lru_cache(maxsize=8)
def _qcv_csf(shape: tuple[int, int]) -> np.ndarray:
    rows, cols = shape
    r = freqspace_radius(shape, rows / 8.0, cols / 8.0)
    # Mannos-Sakrison CSF, the filter Liu's metricChen.m applies ("here filter 1 is used")
    theta_m = 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))
    return _ccs_spectrum(theta_m)


def _blocks(img: np.ndarray, size: int) -> np.ndarray:
    """MATLAB blkproc(img, [size size], fun): blocks of size x size, the right and bottom
    edges zero-padded to whole blocks -> array (block rows, block cols, size, size)."""
    rows, cols = img.shape
    pr, pc = -rows % size, -cols % size
    if pr or pc:
        img = np.pad(img, ((0, pr), (0, pc)))
    br, bc = img.shape[0] // size, img.shape[1] // size
    return img.reshape(br, size, bc, size).swapaxes(1, 2)


@register_metric(
    "Qcv", direction="lower", family="quality",
    aliases=("Q_cv", "Chen-Varshney", "metricChen"),
    description="Chen-Varshney regional perceptual distortion (CSF-filtered), lower is better",
    conventions={
        "default": {},
        "vifb": {"_colour": "vifb-loop"},
        "mefb": {"_colour": "mefb-loop"},
        "liu": {},
    })
def qcv(a, b, f) -> float:
    """Qcv (H. Chen & P. K. Varshney, Information Fusion 8(2), 2007): saliency-weighted mean of
    the perceptually filtered squared difference between each source and F, over 16 x 16
    regions. Units: squared grey levels (0..255 scale after normalisation), typically 10^2 to
    10^4; >= 0; LOWER is better. Sources combined as
    Qcv = sum_regions(lambda_A D_A + lambda_B D_B) / sum_regions(lambda_A + lambda_B).

    Steps (Liu's metricChen.m as VIFB/MEFB run it):
    1. normalize1 every image to 0..255 integers;
    2. region saliency lambda = sum over the 16 x 16 block of g^alpha, alpha = 5, where g is the
       source's Sobel magnitude (filter2 'same', zero padding);
    3. D = mean over the block of (CSF-filtered (source - F))^2, the CSF being Mannos-Sakrison
       2.6 (0.0192 + 0.144 r) exp(-(0.144 r)^1.1) applied in the frequency domain (circular) on
       freqspace's grid scaled by (cols/8, rows/8);
    4. blocks follow MATLAB blkproc: partial blocks at the right and bottom are zero-padded, so
       their saliency sums only the real pixels but their mean divides by 256.
    Data range: scale-free input (normalize1 first); the value is in squared 0..255 units.

    Conventions: default, vifb (VIFB metricsQcv.m, `vifb-loop` channel rule) and mefb (MEFB
    metricsQcv.m, `mefb-loop`: F's red channel when both sources are grey) and liu (Liu's own
    metricChen.m, zhengliu6699/imageFusionMetrics@d6f7f1a, on double grey images; rgb2gray
    planes) are the same computation. Tang's toolkit and CDDFuse do not compute Qcv.

    Undefined (MetricUndefined) for constant non-zero images (normalize1) and when neither source
    has any gradient (all saliencies 0, 0/0 in the original).
    """
    name = "Qcv"
    check_size(name, f, 2)
    im1, im2, fused = (normalize1(x, False, name) for x in (a, b, f))
    lam = []
    with Arena():  # scratch maps from the pool; only the block sums leave
        for src in (im1, im2):
            sx, sy = sobel(src, cv2.BORDER_CONSTANT)
            g = np.multiply(sx, sx, out=sx)
            g += np.multiply(sy, sy, out=sy)
            np.sqrt(g, out=g)
            # g^alpha per pixel, then the block sums (blkproc's zero padding adds 0^alpha = 0)
            np.power(g, _QCV_ALPHA, out=g)
            lam.append(_blocks(g, _QCV_WINDOW).sum(axis=(2, 3)))
        ccs = _qcv_csf(fused.shape)
        d = []
        for src in (im1, im2):
            df = _filter_freq(np.subtract(src, fused, out=buffer(fused.shape)), ccs)
            np.multiply(df, df, out=df)
            d.append(_blocks(df, _QCV_WINDOW).sum(axis=(2, 3)) / float(_QCV_WINDOW ** 2))
    denominator = float(lam[0].sum() + lam[1].sum())
    if denominator == 0:
        raise MetricUndefined("Qcv is not defined when neither source has any gradient "
                              "(all region saliencies are 0)")
    return float((lam[0] * d[0]).sum() + (lam[1] * d[1]).sum()) / denominator
