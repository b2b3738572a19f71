"""Qp (Zhao, Laganiere & Liu 2007), the phase-congruency feature-based fusion quality, family
'quality', and the phase congruency it rests on (Kovesi's phasecong3 as Z. Liu's myphasecong3
revises it).

Re-implemented, vectorised, from the paper and from the behaviour of Z. Liu's MATLAB code as
MEFB ships it (zhengliu6699/imageFusionMetrics metricZhao.m, myphasecong3.m; xingchenzhang/MEFB
metrics/metricsQp.m, myphasecong3.m @82014f4). No code is copied; where the reference code's
construction decides the digits (grids, padding) the docstrings say which behaviour is
reproduced.

Speed: Qp needs 24 complex inverse FFTs per image (4 scales x 6 orientations, as myphasecong3) and
is the most expensive metric: they run in single precision (cv2.idft on complex64, in place), with
the filter bank cached per image size (lru, 2 sizes, about 25 MB at 480 x 640; building it costs
about 0.1 s at that size). The per-pixel arithmetic between and after the transforms runs in
compiled passes (bench.metrics._pc_numba), with the NumPy sequence's float32 operations in its
order (the amplitudes' square roots in float32; the smallest scale's median amplitude found
exactly by a bit-pattern histogram; the noise threshold and frequency-spread weight applied in
the final pass over the orientations); the work buffers (about 51 MB at 480 x 640, and Qp's
nine feature maps, 22 MB) are kept per thread for the latest image size, since page-faulting
fresh ones for every image costs more than filling them.
The local correlations of the three feature maps run in one compiled double-precision pass each
(row products, horizontal filter into a ring of rows, vertical filter four rows at a time,
branch-free ratios), skipping groups of rows without a pixel of the max-map mask.
Against the double-precision computation (myphasecong3 written out with numpy complex128
transforms) Qp moves by typically 1e-8 to 1e-7 relative: median 2.5e-8, 90th percentile 7.9e-8,
at most 8.2e-8 on 114 of the 126 VIFB cases checked (all 21 scenes, methods ADF, CBF and CNN,
profiles mefb and default). In the other 12 a phase-congruency value within ~1e-6 of the 0.1
feature threshold flips its mask pixel, which moves Qp by about 1 / (size of the max-map mask)
per flipped pixel: 1.9e-6 to 2.7e-6 on 'fight' (332 x 452), 8.7e-6 to 7.9e-5 on 'walkingnight'
(254 x 328, about 49000 mask pixels). On the frozen Octave triples: 2.3e-6 on the full 'fight' image
(one mask pixel), at most 5e-8 on the crops.
"""
from __future__ import annotations

import threading
from functools import lru_cache

import cv2
import numpy as np

from . import MetricUndefined
from .quality import _frozen
from .registry import register_metric
from .sobel import check_size


_PC = dict(nscale=4, norient=6, min_wavelength=3.0, mult=2.1, sigma_onf=0.55,
           d_theta_on_sigma=1.2, k=2.0, cut_off=0.5, g=10.0, epsilon=0.0001)


class _PCBank:
    """Filters and noise constants of myphasecong3 for one image size (cached per size).

    The filters are built in double precision as the original builds them and stored in single
    precision for the per-image transforms, each value repeated for the real and imaginary parts
    of a complex64 array: `log_gabor` (nscale, rows, 2 cols) already carries ifft2's
    1/(rows cols), `spread` (norient, rows, 2 cols) is the angular component. The noise model's
    constants come from the double-precision filters."""

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
        log_gabor = np.empty((nscale, rows, cols))
        for s in range(nscale):
            wavelength = p["min_wavelength"] * p["mult"] ** s
            fo = 1.0 / wavelength
            log_gabor[s] = np.exp(-(np.log(radius / fo)) ** 2 / (2 * np.log(p["sigma_onf"]) ** 2))
            log_gabor[s] *= lp
            log_gabor[s, 0, 0] = 0.0
        theta_sigma = np.pi / norient / p["d_theta_on_sigma"]
        self.angles = [o * np.pi / norient for o in range(norient)]
        spreads = np.empty((norient, rows, cols))
        self.noise = []        # per orientation: (EM_n, sum EstSumAn2, sum EstSumAiAj)
        for o, angl in enumerate(self.angles):
            ds = sintheta * np.cos(angl) - costheta * np.sin(angl)
            dc = costheta * np.cos(angl) + sintheta * np.sin(angl)
            dtheta = np.abs(np.arctan2(ds, dc))
            spreads[o] = np.exp(-dtheta ** 2 / (2 * theta_sigma ** 2))
            bank = log_gabor * spreads[o]
            # The noise model uses the spatial filters a_s = real(ifft2(H_s)) * sqrt(rows cols)
            # only through sum(a_s^2) and sum(a_i a_j). real(ifft2(H)) = ifft2(H_even) with
            # H_even(k) = (H(k) + H(-k)) / 2, so by Parseval these sums are the frequency-domain
            # sums of H_even^2 and H_even,i H_even,j: no transform needed.
            even = np.roll(bank[:, ::-1, ::-1], 1, axis=(1, 2))  # H(-k): index -k mod n
            even += bank
            even *= 0.5
            an2 = float(np.sum(even * even))
            aiaj = 0.0
            for i in range(nscale - 1):
                for j in range(i + 1, nscale):
                    aiaj += float(np.vdot(even[i].ravel(), even[j].ravel()))
            self.noise.append((float(np.sum(bank[0] ** 2)), an2, aiaj))
        log_gabor /= rows * cols  # ifft2's scale, applied once here
        # single precision, each value twice (the real and imaginary slot of an interleaved
        # complex64 array), so that filtering is a contiguous float32 product
        self.log_gabor = _frozen(_interleave(log_gabor))
        self.spread = _frozen(_interleave(spreads))
        # orientation moments: covx2, covy2, covxy = weights @ PC_o^2 (already divided by
        # norient/2, norient/2 and norient as the original divides the sums)
        c, s_ = np.cos(self.angles), np.sin(self.angles)
        self.moment_weights = _frozen(np.stack([c * c / (norient / 2), s_ * s_ / (norient / 2),
                                                c * s_ / norient]).astype(np.float32))

    @staticmethod
    def _lowpass(rows: int, cols: int, cutoff: float, order: int) -> np.ndarray:
        # Kovesi's lowpassfilter: centred at fix(n/2)+1 (1-based) and moved with fftshift, not
        # ifftshift, so for odd sizes its peak is not at DC: reproduced as written.
        x = (np.arange(1, cols + 1) - (cols // 2 + 1)) / cols
        y = (np.arange(1, rows + 1) - (rows // 2 + 1)) / rows
        radius = np.sqrt(x[None, :] ** 2 + y[:, None] ** 2)
        return np.fft.fftshift(1.0 / (1.0 + (radius / cutoff) ** (2 * order)))


def _interleave(x: np.ndarray) -> np.ndarray:
    """(..., n) -> float32 (..., 2 n) with every value twice (the slots of a complex64)."""
    out = np.empty(x.shape[:-1] + (x.shape[-1], 2), np.float32)
    out[..., 0] = x
    out[..., 1] = x
    return out.reshape(x.shape[:-1] + (2 * x.shape[-1],))


@lru_cache(maxsize=2)
def _pc_bank(rows: int, cols: int) -> _PCBank:
    return _PCBank(rows, cols)


class _Workspace:
    """The work buffers of `phase_congruency` for one image size (about 37 MB at 480 x 640),
    kept per thread for the latest size: allocating and first touching fresh buffers for
    every image (page faults) cost more than the arithmetic that fills them."""

    def __init__(self, rows: int, cols: int):
        n = rows * cols
        f32 = np.float32
        self.spectrum = np.empty((rows, cols, 2))                # cv2.dft's output, double
        self.spec = np.empty(2 * n, f32)                         # its float32 copy
        self.eo = np.empty((_PC["nscale"], 2 * n), f32)          # the scales' EO, interleaved
        self.spec_lg = np.empty((_PC["nscale"], 2 * n), f32)     # spectrum x radial filters
        self.energies = np.empty((_PC["norient"], n), f32)       # raw energy per orientation
        self.sums_an = np.empty((_PC["norient"], n), f32)        # sum of amplitudes per orientation
        self.expo = np.empty((_PC["norient"], n), f32)           # exp(arg) per orientation
        self.an0 = np.empty(n, f32)
        self.hist = np.empty(1 << 16, np.int32)


_local = threading.local()


def _workspace(rows: int, cols: int) -> _Workspace:
    ws = getattr(_local, "ws", None)
    if ws is None or ws[0] != (rows, cols):
        ws = _local.ws = ((rows, cols), _Workspace(rows, cols))
    return ws[1]


def phase_congruency(img: np.ndarray, out: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kovesi's phase congruency as Liu's myphasecong3 computes it -> (PC, M, m): the overall
    phase congruency totalEnergy / (totalSumAn + eps), and the maximum and minimum moments of
    the per-orientation PC covariance. Log-Gabor bank: 4 scales (min wavelength 3, mult 2.1,
    sigmaOnf 0.55), 6 orientations (dThetaOnSigma 1.2), noise k = 2 from the median of the
    smallest scale's squared amplitude, cutOff 0.5, g = 10; per-orientation energy
    sum_s(E_s MeanE + O_s MeanO - |E_s MeanO - O_s MeanE|), with its first part summed in closed
    form as |sum EO|^2 / (|sum EO| + eps). `out`, if given, is a C-contiguous float64
    (3, rows, cols) array that receives (PC, M, m); the returned maps are its planes.

    Precision: the image's forward transform is double; the 24 filtered inverse transforms
    (cv2.idft, complex64) and the per-orientation arithmetic (compiled, bench.metrics._pc_numba:
    the sums over scales and orientations in order) are single precision, the moments' final
    steps and the returned maps double. Against the double-precision computation this moves
    PC, M and m by up to ~4e-6 of their range (3.8e-6 on VIFB 'walkingnight'; see the module
    docstring for Qp); the transforms are about 3 times faster than scipy's complex128 ones."""
    p = _PC
    rows, cols = img.shape
    bank = _pc_bank(rows, cols)
    eps = p["epsilon"]  # MATLAB's epsilon = .0001
    nscale, norient = p["nscale"], p["norient"]
    f32 = np.float32
    ws = _workspace(rows, cols)
    spectrum = cv2.dft(np.ascontiguousarray(img, dtype=np.float64), dst=ws.spectrum,
                       flags=cv2.DFT_COMPLEX_OUTPUT)
    spec = ws.spec  # interleaved (real, imaginary) float32 pairs
    spec[:] = spectrum.reshape(-1)
    from ._pc_numba import NORIENT, NSCALE, median_f32, orientation_pass, overall_pc_and_moments
    assert (nscale, norient) == (NSCALE, NORIENT)
    eo_pairs = ws.eo
    energies, sums_an = ws.energies, ws.sums_an
    an0, expo, hist = ws.an0, ws.expo, ws.hist
    thresholds = np.empty(norient, f32)
    flags = cv2.DFT_COMPLEX_OUTPUT
    # the spectrum times each scale's radial filter, once per image
    spec_lg = ws.spec_lg
    np.multiply(spec[None], bank.log_gabor.reshape(nscale, -1), out=spec_lg)
    for o in range(norient):
        # per scale: (spectrum lg_s) times this orientation's angular filter, in float32, then
        # the inverse transform in place (cv2's 2-channel view), while the product is in cache
        spread = bank.spread[o].reshape(-1)
        for s_ in range(nscale):
            np.multiply(spec_lg[s_], spread, out=eo_pairs[s_])
            pairs = eo_pairs[s_].reshape(rows, cols, 2)
            cv2.idft(pairs, dst=pairs, flags=flags)
        # one compiled pass: |EO_0|, sum_s |EO_s|, the energy
        # sum_s (E_s MeanE + O_s MeanO - |E_s MeanO - O_s MeanE|) in closed form as
        # (|sum EO|^2 - sum_s |Im(EO_s conj(sum EO))|) / (|sum EO| + eps), and the exponent
        # (cutOff - width) g of the frequency-spread weight, width = sumAn/(maxAn+eps)/nscale
        energy = energies[o]
        orientation_pass(eo_pairs, eps, -p["g"] / nscale, p["cut_off"] * p["g"], an0, expo[o],
                         sums_an[o], energy, hist)
        # noise compensation from the median squared amplitude at the smallest scale
        # (MATLAB median: the mean of the two middle values for an even count)
        mid = np.array(median_f32(an0, hist), dtype=np.float64) ** 2
        median_e2n = float((mid[0] + mid[1]) / 2) if an0.size % 2 == 0 else float(mid[0])
        mean_e2n = -median_e2n / np.log(0.5)
        em_n, sum_an2, sum_aiaj = bank.noise[o]
        noise_power = mean_e2n / em_n
        est_noise_energy2 = 2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj
        tau = np.sqrt(est_noise_energy2 / 2)
        est_noise_energy = tau * np.sqrt(np.pi / 2)
        est_noise_sigma = np.sqrt((2 - np.pi / 2) * tau ** 2)
        thresholds[o] = (est_noise_energy + p["k"] * est_noise_sigma) / 1.7
        np.exp(expo[o], out=expo[o])
    # energy = max(energy - threshold, 0) / (1 + exp((cutOff - width) g)) per orientation, the
    # overall phase congruency and the moments of the orientation covariance, in one compiled
    # pass over the pixels
    if out is None:
        out = np.empty((3, rows, cols))
    elif (out.shape != (3, rows, cols) or out.dtype != np.float64
          or not out.flags.c_contiguous):
        raise ValueError("out must be a C-contiguous float64 array of shape (3, rows, cols)")
    pc, big_m, small_m = out
    overall_pc_and_moments(energies, sums_an, expo, thresholds, bank.moment_weights, eps,
                           pc.reshape(-1), big_m.reshape(-1), small_m.reshape(-1))
    return pc, big_m, small_m


def _qp_maps(rows: int, cols: int) -> np.ndarray:
    """Qp's nine feature maps (3 images x (PC, M, m)), a per-thread buffer for the latest
    size."""
    maps = getattr(_local, "qp_maps", None)
    if maps is None or maps.shape[2:] != (rows, cols):
        maps = _local.qp_maps = np.empty((3, 3, rows, cols))
    return maps


def _qp_correlation(f1, f2, ff, pc1, pc2, threshold: float) -> tuple[float, int]:
    """Liu's correlation_coeffcient of one feature map -> (sum, count): local SSIM-like
    correlations (Gaussian 11/1.5 window, filter2 'same' with zero padding, C = 1e-4) of F's
    feature map with each source's (masked) and the max map,
    (sigma_xf + C) / (sqrt(|sigma_x^2 sigma_f^2|) + C), 0 outside each mask; the pixelwise
    maximum of the three summed over the max-map mask m3, and the size of m3 (the metric
    divides the two). Masks m1 = P_A > t, m2 = P_B > t, m3 = P_max > t; the max map takes each
    pixel from the source with the larger phase congruency.

    m3 contains m1 and m2 (P_max > t where P_A > t or P_B > t), so every term is 0 outside
    m3: one compiled pass (bench.metrics._pc_numba.qp_correlation) forms the products, filters
    them (double precision; the window is the outer product of cv2.getGaussianKernel(11, 1.5),
    equal to fspecial's to 1e-16 and exactly symmetric; horizontal taps in order, vertical taps
    in symmetric pairs) and sums the ratios at m3's pixels (per column, then the columns): the
    sums agree with full-plane filters to about 1e-14 relative."""
    from ._pc_numba import qp_correlation
    c = 0.0001
    arrays = (np.ascontiguousarray(x, dtype=np.float64) for x in (f1, f2, ff, pc1, pc2))
    total, count = qp_correlation(*arrays, float(threshold), _qp_kernel(), c)
    return total, count


@lru_cache(maxsize=1)
def _qp_kernel() -> np.ndarray:
    return _frozen(cv2.getGaussianKernel(11, 1.5).ravel())


@register_metric(
    "Qp", direction="higher", family="quality",
    aliases=("Q_p", "Q_PC", "metricZhao"),
    description="Zhao et al. phase-congruency feature-based fusion quality, about 0..1",
    conventions={
        "default": {},
        "mefb": {"_colour": "mefb-loop"},
        "liu": {},
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
    rgb2gray'd sources when F is grey); liu as Liu's own metricZhao.m
    (zhengliu6699/imageFusionMetrics@d6f7f1a, `pc_assessFusion` with myphasecong3) on double
    grey images (rgb2gray planes), again the same computation. VIFB, Tang's toolkit and
    CDDFuse do not compute Qp.

    Precision: the log-Gabor transforms run in single precision (see `phase_congruency`); Qp
    agrees with the double-precision computation to about 1e-7 relative (at most 8.2e-8 on
    114 of 126 VIFB cases checked) unless a phase-congruency value within ~1e-6 of the 0.1
    threshold flips its mask pixel: each flipped pixel moves Qp by about 1 / (number of
    feature pixels), up to 7.9e-5 on the VIFB cases checked (see the module docstring).

    Undefined (MetricUndefined) for constant images (the phase congruency is 0/0 there, NaN in
    the original) and when no source pixel exceeds the feature threshold.
    """
    check_size("Qp", f, 2)
    for img in (a, b, f):
        if float(np.ptp(img)) == 0:
            raise MetricUndefined("Qp is not defined for a constant image: its phase "
                                  "congruency is 0/0 (NaN in the reference code)")
    with np.errstate(divide="ignore", invalid="ignore"):
        maps = _qp_maps(*np.shape(f)[:2])  # reused buffers (see _Workspace)
        pc1, big1, small1 = phase_congruency(a, out=maps[0])
        pc2, big2, small2 = phase_congruency(b, out=maps[1])
        pcf, bigf, smallf = phase_congruency(f, out=maps[2])
        t = feature_threshold
        (s_pc, count), (s_big, _), (s_small, _) = (
            _qp_correlation(x1, x2, xf, pc1, pc2, t) for x1, x2, xf in
            ((pc1, pc2, pcf), (big1, big2, bigf), (small1, small2, smallf)))
        if count == 0:
            raise MetricUndefined("Qp is not defined: no pixel of either source has phase "
                                  "congruency above the feature threshold")
        r_pc, r_big, r_small = s_pc / count, s_big / count, s_small / count
    value = r_pc * r_big * r_small
    if not np.isfinite(value):
        raise MetricUndefined("Qp is not defined for this input (NaN phase congruency: a "
                              "region with no filter response at all)")
    return float(value)
