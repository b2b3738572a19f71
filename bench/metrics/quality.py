"""Perceptual quality indices of the fused image against its sources: Qcb, Qcv and Qp.

Re-implemented, vectorised, from the papers and from the behaviour of Z. Liu's MATLAB code as
VIFB and MEFB ship it (zhengliu6699/imageFusionMetrics metricChenBlum.m, metricChen.m,
metricZhao.m, myphasecong3.m, normalize1.m; xingchenzhang/VIFB metrics/metricsQcb.m and
metricsQcv.m @5d29ee7; xingchenzhang/MEFB metrics/metricsQcb.m, metricsQcv.m, metricsQp.m,
myphasecong3.m @82014f4). No code is copied; where the reference code's construction decides
the digits (grids, padding, block handling, rounding) the docstrings say which behaviour is
reproduced.

Shared preprocessing, `normalize1` (Liu): min-max stretch to 0..255 and round half away from
zero; an all-zero image is left as it is, any other constant image has no defined stretch
(MATLAB gives NaN; here MetricUndefined).

Speed: frequency-domain filters use real FFTs (scipy.fft, one worker); the spatial Gaussians are
separable cv2 filters. Qp needs 24 complex inverse FFTs per image (4 scales x 6 orientations,
as myphasecong3) and is the most expensive metric; its filter bank is cached per image size
(lru, 2 sizes) and its scratch arrays per thread (about 80 MB at 480 x 640), because fresh
multi-megabyte temporaries cost page faults on every call.
"""
from __future__ import annotations

import threading
from functools import lru_cache

import cv2
import numpy as np
from scipy import fft as sfft

from . import MetricUndefined
from . import edge as _edge  # Sobel; also registers the vifb-loop / mefb-loop colour rules
from .matlab import matlab_round
from .registry import register_metric

_FFT_WORKERS = 1  # one core: the benchmark's speed goal is per core


# --------------------------------------------------------------------------- shared helpers
def _frozen(arr: np.ndarray) -> np.ndarray:
    """Mark a cached array read-only (caches hand out the same object to every caller)."""
    arr.flags.writeable = False
    return arr


def normalize1(img: np.ndarray, im2double: bool = False, metric: str = "metric") -> np.ndarray:
    """Liu's normalize1: round((x - min) / (max - min) * 255), MATLAB rounding; an all-zero
    image is returned unchanged. im2double=True first divides by 255 (MEFB passes uint8 images
    through im2double before normalize1, which moves a few .5 ties)."""
    data = np.asarray(img, dtype=np.float64)
    if im2double:
        data = data / 255.0
    hi, lo = float(data.max()), float(data.min())
    if hi == 0 and lo == 0:
        return data.copy()
    if hi == lo:
        raise MetricUndefined(f"{metric} is not defined for a constant non-zero image: its "
                              "min-max normalisation (normalize1) divides by zero")
    return matlab_round((data - lo) / (hi - lo) * 255.0)


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


def _half_spectrum(transfer_centred: np.ndarray) -> np.ndarray:
    """A real, even (centred, fftshift-ed) transfer function -> its rfft2 half plane.

    ifft2(ifftshift(fftshift(fft2(x)) .* H)) = ifft2(fft2(x) .* ifftshift(H)); because the
    frequency grid is symmetric, ifftshift(H) is even and the product stays Hermitian, so the
    real transforms give the same (real) result; MATLAB's tiny imaginary rounding residue is not
    kept."""
    cols = transfer_centred.shape[1]
    return _frozen(np.ascontiguousarray(np.fft.ifftshift(transfer_centred)[:, : cols // 2 + 1]))


def _filter_freq(img: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Circular filtering of a real image by a half-plane transfer function (one 2-D transform
    at a time: scipy's stacked transforms are slower)."""
    spec = sfft.rfft2(img, workers=_FFT_WORKERS)
    spec *= half
    return sfft.irfft2(spec, s=img.shape, workers=_FFT_WORKERS, overwrite_x=True)


def _sep_filter(img: np.ndarray, kernel_1d: np.ndarray) -> np.ndarray:
    """filter2(k' * k, img, 'same') with zero padding, for a symmetric separable kernel."""
    k = np.ascontiguousarray(kernel_1d, dtype=np.float64)
    return cv2.sepFilter2D(np.ascontiguousarray(img), cv2.CV_64F, k, k,
                           borderType=cv2.BORDER_CONSTANT)


# --------------------------------------------------------------------------- Qcb
_QCB = dict(f0=15.3870, f1=1.3456, a=0.7622, k=1.0, h=1.0, p=3.0, q=2.0, Z=0.0001)


@lru_cache(maxsize=8)
def _qcb_csf(shape: tuple[int, int]) -> np.ndarray:
    rows, cols = shape
    r = freqspace_radius(shape, rows / 30.0, cols / 30.0)
    sd = np.exp(-(r / _QCB["f0"]) ** 2) - _QCB["a"] * np.exp(-(r / _QCB["f1"]) ** 2)
    return _half_spectrum(sd)


@lru_cache(maxsize=4)
def _qcb_gauss_1d(sigma: float) -> np.ndarray:
    # gaussian2d(): exp(-(x^2 + y^2) / (2 sigma^2)) / (2 pi sigma^2) on -15..15, not normalised;
    # it factors as g(x) g(y) with g = exp(-x^2 / (2 sigma^2)) / sqrt(2 pi sigma^2).
    x = np.arange(-15, 16, dtype=np.float64)
    return _frozen(np.exp(-(x * x) / (2 * sigma * sigma)) / np.sqrt(2 * np.pi * sigma * sigma))


def _qcb_masked_contrast(img: np.ndarray) -> np.ndarray:
    """C' = k C^p / (h C^q + Z) with C = |G_2 * I / G_4 * I - 1| (filter2 'same')."""
    p = _QCB
    c = _sep_filter(img, _qcb_gauss_1d(2.0))
    c /= _sep_filter(img, _qcb_gauss_1d(4.0))
    c -= 1
    np.abs(c, out=c)
    num = np.power(c, p["p"])
    if p["k"] != 1:
        num *= p["k"]
    np.power(c, p["q"], out=c)
    if p["h"] != 1:
        c *= p["h"]
    c += p["Z"]
    num /= c
    return num


@register_metric(
    "Qcb", direction="higher", family="quality",
    aliases=("Q_cb", "Chen-Blum", "metricChenBlum"),
    description="Chen-Blum human-perception fusion quality (CSF + local contrast), 0..1",
    conventions={
        "default": {"im2double": False},
        "vifb": {"im2double": False, "_colour": "vifb-loop"},
        "mefb": {"im2double": True, "_colour": "mefb-loop"},
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
    (colour rule `mefb-loop`). vifb uses the `vifb-loop` channel rule. Tang's toolkit and
    CDDFuse do not compute Qcb.

    Undefined (MetricUndefined) for constant non-zero images (normalize1), and where the
    original gives NaN: an image without local contrast somewhere in both sources, or F with
    zero contrast at a pixel (0/0 in the ratio or the saliency weights), e.g. an all-zero F.
    """
    name = "Qcb"
    _edge.check_size(name, f, 2)
    half = _qcb_csf(np.shape(f))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c1, c2, cf = (_qcb_masked_contrast(_filter_freq(normalize1(x, im2double, name), half))
                      for x in (a, b, f))
        # the original forms both ratios everywhere and masks by multiplication, so a zero
        # (or NaN) contrast anywhere gives 0 * Inf = NaN: checked explicitly here
        if not (np.all(c1 > 0) and np.all(c2 > 0) and np.all(cf > 0)):
            raise MetricUndefined(
                "Qcb is not defined for this input: some pixel has zero or undefined masked "
                "local contrast in F or a source (the reference code gives NaN), e.g. an "
                "all-zero image or a flat region after normalisation")
        q1 = np.divide(c1, cf)
        np.divide(cf, c1, out=q1, where=c1 >= cf)
        q2 = np.divide(c2, cf)
        np.divide(cf, c2, out=q2, where=c2 >= cf)
        np.multiply(c1, c1, out=c1)  # saliency: lambda_1 = C1'^2 / (C1'^2 + C2'^2)
        np.multiply(c2, c2, out=c2)
        q1 *= c1
        q2 *= c2
        q1 += q2
        c1 += c2
        q1 /= c1
    value = float(np.mean(q1))
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
    return _half_spectrum(theta_m)


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
    metricsQcv.m, `mefb-loop`: F's red channel when both sources are grey) are the same
    computation. Tang's toolkit and CDDFuse do not compute Qcv.

    Undefined (MetricUndefined) for constant non-zero images (normalize1) and when neither source
    has any gradient (all saliencies 0, 0/0 in the original).
    """
    name = "Qcv"
    _edge.check_size(name, f, 2)
    im1, im2, fused = (normalize1(x, False, name) for x in (a, b, f))
    lam = []
    for src in (im1, im2):
        sx, sy = _edge.sobel(src, cv2.BORDER_CONSTANT)
        g = np.sqrt(sx * sx + sy * sy)
        lam.append((_blocks(g, _QCV_WINDOW) ** _QCV_ALPHA).sum(axis=(2, 3)))
    half = _qcv_csf(fused.shape)
    d = []
    for src in (im1, im2):
        df = _filter_freq(src - fused, half)
        np.multiply(df, df, out=df)
        d.append(_blocks(df, _QCV_WINDOW).sum(axis=(2, 3)) / float(_QCV_WINDOW ** 2))
    denominator = float(lam[0].sum() + lam[1].sum())
    if denominator == 0:
        raise MetricUndefined("Qcv is not defined when neither source has any gradient "
                              "(all region saliencies are 0)")
    return float((lam[0] * d[0]).sum() + (lam[1] * d[1]).sum()) / denominator


# --------------------------------------------------------------------------- Qp (phase congruency)
_PC = dict(nscale=4, norient=6, min_wavelength=3.0, mult=2.1, sigma_onf=0.55,
           d_theta_on_sigma=1.2, k=2.0, cut_off=0.5, g=10.0, epsilon=0.0001)


class _PCBank:
    """Filters and noise constants of myphasecong3 for one image size (cached per size)."""

    def __init__(self, rows: int, cols: int):
        p = _PC
        nscale, norient = p["nscale"], p["norient"]
        if cols % 2:
            xrange = np.arange(-(cols - 1) / 2, (cols - 1) / 2 + 1) / (cols - 1)
        else:
            xrange = np.arange(-cols / 2, cols / 2) / cols
        if rows % 2:
            yrange = np.arange(-(rows - 1) / 2, (rows - 1) / 2 + 1) / (rows - 1)
        else:
            yrange = np.arange(-rows / 2, rows / 2) / rows
        x, y = np.meshgrid(xrange, yrange)
        radius = np.sqrt(x ** 2 + y ** 2)
        radius[rows // 2, cols // 2] = 1.0  # avoids log(0); the DC value is reset below
        theta = np.arctan2(-y, x)
        radius = np.fft.ifftshift(radius)
        theta = np.fft.ifftshift(theta)
        sintheta, costheta = np.sin(theta), np.cos(theta)
        lp = self._lowpass(rows, cols, 0.45, 15)
        log_gabor = []
        for s in range(nscale):
            wavelength = p["min_wavelength"] * p["mult"] ** s
            fo = 1.0 / wavelength
            lg = np.exp(-(np.log(radius / fo)) ** 2 / (2 * np.log(p["sigma_onf"]) ** 2)) * lp
            lg[0, 0] = 0.0
            log_gabor.append(lg)
        theta_sigma = np.pi / norient / p["d_theta_on_sigma"]
        self.angles = [o * np.pi / norient for o in range(norient)]
        self.log_gabor = _frozen(np.stack(log_gabor))  # (nscale, rows, cols), DC at [0, 0]
        self.spread = []       # per orientation: the angular component (rows, cols)
        self.noise = []        # per orientation: (EM_n, sum EstSumAn2, sum EstSumAiAj)
        n = rows * cols
        for angl in self.angles:
            ds = sintheta * np.cos(angl) - costheta * np.sin(angl)
            dc = costheta * np.cos(angl) + sintheta * np.sin(angl)
            dtheta = np.abs(np.arctan2(ds, dc))
            spread = np.exp(-dtheta ** 2 / (2 * theta_sigma ** 2))
            self.spread.append(_frozen(spread))
            bank = self.log_gabor * spread
            # real(ifft2(filter)) * sqrt(rows*cols), the noise model's spatial filters: only the
            # sums of their squares and of their pairwise products are used
            spatial = np.stack([sfft.ifft2(h, workers=_FFT_WORKERS).real for h in bank])
            spatial *= np.sqrt(n)
            an2 = float(np.sum(spatial * spatial))
            aiaj = 0.0
            for i in range(nscale - 1):
                for j in range(i + 1, nscale):
                    aiaj += float(np.vdot(spatial[i].ravel(), spatial[j].ravel()))
            self.noise.append((float(np.sum(bank[0] ** 2)), an2, aiaj))

    @staticmethod
    def _lowpass(rows: int, cols: int, cutoff: float, order: int) -> np.ndarray:
        # Kovesi's lowpassfilter: centred at fix(n/2)+1 (1-based) and moved with fftshift, not
        # ifftshift, so for odd sizes its peak is not at DC: reproduced as written.
        x = (np.arange(1, cols + 1) - (cols // 2 + 1)) / cols
        y = (np.arange(1, rows + 1) - (rows // 2 + 1)) / rows
        radius = np.sqrt(x[None, :] ** 2 + y[:, None] ** 2)
        return np.fft.fftshift(1.0 / (1.0 + (radius / cutoff) ** (2 * order)))


@lru_cache(maxsize=2)
def _pc_bank(rows: int, cols: int) -> _PCBank:
    return _PCBank(rows, cols)


_LOCAL = threading.local()


def _pc_workspace(rows: int, cols: int) -> dict:
    """Scratch arrays for phase_congruency, kept per thread for the last image size: fresh
    multi-megabyte temporaries cost page faults on every call, which dominate on some VMs."""
    ws = getattr(_LOCAL, "pc", None)
    if ws is None or ws["shape"] != (rows, cols):
        n = _PC["nscale"]
        ws = {"shape": (rows, cols),
              "eo": np.empty((n, rows, cols), np.complex128),
              "an": np.empty((n, rows, cols)),
              "radial": np.empty((n, rows, cols), np.complex128),
              "sum_eo": np.empty((rows, cols), np.complex128),
              "real": np.empty((11, rows, cols))}
        _LOCAL.pc = ws
    return ws


def _median_of_squares(values: np.ndarray) -> float:
    """MATLAB median(values.^2) for values >= 0 (the mean of the two middle order statistics
    for an even count), found exactly but faster than a full partition: a subsample brackets
    the middle ranks, and only the values inside the bracket are partitioned."""
    v = values.ravel()
    n = v.size
    ranks = [(n - 1) // 2, n // 2]
    picked = None
    if n > 20000:
        sample = np.sort(v[:: max(1, n // 8192)])
        m = sample.size
        lo = sample[max(0, m // 2 - 160)]
        hi = sample[min(m - 1, m // 2 + 160)]
        below = int(np.count_nonzero(v < lo))
        inside = v[(v >= lo) & (v <= hi)]
        k = [r - below for r in ranks]
        if 0 <= k[0] and k[1] < inside.size:
            picked = np.partition(inside, k)[k]
    if picked is None:
        picked = np.partition(v, ranks)[ranks]
    picked = picked.astype(np.float64) ** 2
    return float((picked[0] + picked[1]) / 2) if n % 2 == 0 else float(picked[0])


def phase_congruency(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kovesi's phase congruency as Liu's myphasecong3 computes it -> (PC, M, m): the overall
    phase congruency totalEnergy / (totalSumAn + eps), and the maximum and minimum moments of
    the per-orientation PC covariance. Log-Gabor bank: 4 scales (min wavelength 3, mult 2.1,
    sigmaOnf 0.55), 6 orientations (dThetaOnSigma 1.2), noise k = 2 from the median of the
    smallest scale's squared amplitude, cutOff 0.5, g = 10; per-orientation energy
    sum_s(E_s MeanE + O_s MeanO - |E_s MeanO - O_s MeanE|), with its first part summed in closed
    form as |sum EO|^2 / (|sum EO| + eps). Double precision throughout: agrees with the MATLAB
    code to ~1e-12 (single-precision FFTs would move Qp by ~1e-6)."""
    p = _PC
    rows, cols = img.shape
    bank = _pc_bank(rows, cols)
    real_t = np.float64
    eps = p["epsilon"]  # MATLAB's epsilon = .0001
    nscale = p["nscale"]
    shape = (rows, cols)
    spectrum = sfft.fft2(np.asarray(img, dtype=real_t), workers=_FFT_WORKERS)
    ws = _pc_workspace(rows, cols)
    eo, an, radial, sum_eo = ws["eo"], ws["an"], ws["radial"], ws["sum_eo"]
    sum_an, max_an, x_energy, cross, work, energy, total_sum_an, pc2, covx2, covy2, covxy = (
        ws["real"][i] for i in range(11))
    np.multiply(spectrum, bank.log_gabor, out=radial)  # spectrum x radial components
    total_energy = np.zeros(shape, real_t)
    for arr in (total_sum_an, covx2, covy2, covxy):
        arr.fill(0)
    for o, angl in enumerate(bank.angles):
        for s_ in range(nscale):  # one 2-D transform at a time, in place
            np.multiply(radial[s_], bank.spread[o], out=eo[s_])
            res = sfft.ifft2(eo[s_], workers=_FFT_WORKERS, overwrite_x=True)
            if not np.shares_memory(res, eo[s_]):
                eo[s_] = res
            np.abs(eo[s_], out=an[s_])
        np.add(an[0], an[1], out=sum_an)
        np.maximum(an[0], an[1], out=max_an)
        np.add(eo[0], eo[1], out=sum_eo)
        for s_ in range(2, nscale):
            sum_an += an[s_]
            np.maximum(max_an, an[s_], out=max_an)
            sum_eo += eo[s_]
        se_r, se_i = sum_eo.real, sum_eo.imag
        np.abs(sum_eo, out=x_energy)
        # sum_s (E_s MeanE + O_s MeanO) = |sum EO|^2 / x_energy and
        # sum_s |E_s MeanO - O_s MeanE| = sum_s |E_s se_i - O_s se_r| / x_energy
        np.multiply(x_energy, x_energy, out=energy)
        x_energy += eps
        cross.fill(0)
        for s_ in range(nscale):
            np.multiply(eo[s_].real, se_i, out=work)
            np.multiply(eo[s_].imag, se_r, out=pc2)
            work -= pc2
            np.abs(work, out=work)
            cross += work
        energy -= cross
        energy /= x_energy
        # noise compensation from the median squared amplitude at the smallest scale
        median_e2n = _median_of_squares(an[0])
        mean_e2n = -median_e2n / np.log(0.5)
        em_n, sum_an2, sum_aiaj = bank.noise[o]
        noise_power = mean_e2n / em_n
        est_noise_energy2 = 2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj
        tau = np.sqrt(est_noise_energy2 / 2)
        est_noise_energy = tau * np.sqrt(np.pi / 2)
        est_noise_sigma = np.sqrt((2 - np.pi / 2) * tau ** 2)
        threshold = (est_noise_energy + p["k"] * est_noise_sigma) / 1.7
        energy -= threshold
        np.maximum(energy, 0, out=energy)
        # frequency-spread weight 1 / (1 + exp((cutOff - width) g)), width = sumAn/(maxAn+eps)/n
        max_an += eps
        np.divide(sum_an, max_an, out=work)
        work *= -p["g"] / nscale
        work += p["cut_off"] * p["g"]
        np.exp(work, out=work)
        work += 1
        energy /= work
        total_sum_an += sum_an
        total_energy += energy
        energy /= sum_an  # the orientation's phase congruency
        np.square(energy, out=pc2)
        c, sn = np.cos(angl), np.sin(angl)
        for acc, factor in ((covx2, c * c), (covy2, sn * sn), (covxy, c * sn)):
            np.multiply(pc2, factor, out=work)
            acc += work
    total_sum_an += eps
    total_energy /= total_sum_an
    pc = total_energy.astype(np.float64, copy=False)
    norient = p["norient"]
    covx2 /= norient / 2
    covy2 /= norient / 2
    covxy /= norient
    denom = np.sqrt(covxy ** 2 + (covx2 - covy2) ** 2) + p["epsilon"]
    big_m = (covy2 + covx2 + denom) / 2
    small_m = (covy2 + covx2 - denom) / 2
    return pc, big_m, small_m


@lru_cache(maxsize=1)
def _qp_window_1d() -> np.ndarray:
    """fspecial('gaussian', 11, 1.5) (normalised) is the outer product of this 1-D profile."""
    g = np.exp(-(np.arange(11) - 5.0) ** 2 / (2 * 1.5 ** 2))
    return _frozen(g / g.sum())


def _qp_correlation(f1, f2, fmax, ff, m1, m2, m3) -> float:
    """Liu's correlation_coeffcient: local SSIM-like correlations (Gaussian 11/1.5 window,
    filter2 'same', C = 1e-4) of F's feature map with each source's (masked) and the max map,
    (sigma_xf + C) / (sqrt(|sigma_x^2 sigma_f^2|) + C), 0 outside each mask; the pixelwise
    maximum of the three, summed and divided by the count of the max-map mask."""
    c = 0.0001
    w = _qp_window_1d()
    count = int(m3.sum())
    if count == 0:
        raise MetricUndefined("Qp is not defined: no pixel of either source has phase "
                              "congruency above the feature threshold")
    muf = _sep_filter(ff, w)
    sf = _sep_filter(ff * ff, w)
    sf -= muf * muf
    result = None
    for src, mask in ((f1, m1), (f2, m2), (fmax, m3)):
        x = src * mask
        mu = _sep_filter(x, w)
        var = _sep_filter(x * x, w)
        var -= mu * mu
        x *= ff
        cov = _sep_filter(x, w)
        mu *= muf
        cov -= mu
        var *= sf
        np.abs(var, out=var)
        np.sqrt(var, out=var)
        var += c
        cov += c
        cov /= var
        np.copyto(cov, 0.0, where=~mask)
        result = cov if result is None else np.maximum(result, cov, out=result)
    return float(result.sum()) / count


@register_metric(
    "Qp", direction="higher", family="quality",
    aliases=("Q_p", "Q_PC", "metricZhao"),
    description="Zhao et al. phase-congruency feature-based fusion quality, about 0..1",
    conventions={
        "default": {},
        "mefb": {"_colour": "mefb-loop"},
    })
def qp(a, b, f, feature_threshold: float = 0.1) -> float:
    """Qp (J. Zhao, R. Laganiere & Z. Liu, IJICIC 3(6A), 2007): how well F reproduces the
    sources' phase-congruency features. Qp = P * M * m (exponents 1), each factor the mean of
    local correlations between F's and the sources' feature maps; unitless, at most about 1;
    higher is better. Sources combined per pixel by the maximum of
    corr(A, F), corr(B, F) and corr(max(A, B), F), where max(A, B) takes, per pixel, the source
    with the larger phase congruency.

    Feature maps: phase congruency P, maximum moment M and minimum moment m from Liu's
    myphasecong3 (Kovesi's phasecong3 revised): log-Gabor filters in the frequency domain
    (4 scales, minimum wavelength 3, scaling 2.1, sigmaOnf 0.55; 6 orientations,
    dThetaOnSigma 1.2; noise compensation k = 2 from the median smallest-scale energy;
    frequency-spread weighting cutOff 0.5, g = 10), with the original's grid construction
    (including its fftshift-ed low-pass filter, which is off-centre for odd image sizes).
    Masks: P_A > 0.1, P_B > 0.1, P_max > 0.1. Correlations: Gaussian 11 x 1.5 window,
    filter2 'same' (zero padding), C = 1e-4, value 0 outside a mask; sum over pixels divided
    by the size of the P_max mask. Input data on the 0..255 scale (phase congruency is nearly
    scale-free).

    Conventions: default as Liu's metricZhao.m; mefb as MEFB metricsQp.m (the same
    computation; channel loop `mefb-loop`: F's red channel when both sources are grey,
    rgb2gray'd sources when F is grey). VIFB, Tang's toolkit and CDDFuse do not compute Qp.

    Undefined (MetricUndefined) for constant images (the phase congruency is 0/0 there, NaN in
    the original) and when no source pixel exceeds the feature threshold.
    """
    _edge.check_size("Qp", f, 2)
    for img in (a, b, f):
        if float(np.ptp(img)) == 0:
            raise MetricUndefined("Qp is not defined for a constant image: its phase "
                                  "congruency is 0/0 (NaN in the reference code)")
    with np.errstate(divide="ignore", invalid="ignore"):
        pc1, big1, small1 = phase_congruency(a)
        pc2, big2, small2 = phase_congruency(b)
        pcf, bigf, smallf = phase_congruency(f)
        mask = pc1 > pc2
        pc_max = np.where(mask, pc1, pc2)
        big_max = np.where(mask, big1, big2)
        small_max = np.where(mask, small1, small2)
        m1 = pc1 > feature_threshold
        m2 = pc2 > feature_threshold
        m3 = pc_max > feature_threshold
        r_pc = _qp_correlation(pc1, pc2, pc_max, pcf, m1, m2, m3)
        r_big = _qp_correlation(big1, big2, big_max, bigf, m1, m2, m3)
        r_small = _qp_correlation(small1, small2, small_max, smallf, m1, m2, m3)
    value = r_pc * r_big * r_small
    if not np.isfinite(value):
        raise MetricUndefined("Qp is not defined for this input (NaN phase congruency: a "
                              "region with no filter response at all)")
    return float(value)
