"""Feature maps of the FMI metrics (bench.metrics.fmi), as analysis_fmi.m / metricsFMI.m form
them: the pixels, MATLAB `gradient(I)`, MATLAB `edge(I)` (Sobel), orthonormal `dct2`, and one
level of `dwt2(I, 'dmey')` with MATLAB's 102-tap discrete Meyer filter.

Re-implemented from MATLAB's documented algorithms and the behaviour of the reference code (read,
not copied); the reference toolkits are cited in bench.metrics.fmi.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

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
    on integer-valued images every term is exact. Compiled passes (bench.metrics._edge_numba);
    the mean of b is NumPy's sum, as before."""
    from ._edge_numba import sobel_magnitudes, thin_edges
    x = np.ascontiguousarray(img, dtype=np.float64)
    bx, by, b = (np.empty_like(x) for _ in range(3))
    sobel_magnitudes(x, bx, by, b)  # compiled; the terms summed in conv2's order
    cutoff = 4.0 * b.sum() / b.size
    out = np.empty(x.shape, dtype=bool)
    thin_edges(bx, by, b, cutoff, 100.0 * np.finfo(np.float64).eps, out)
    return out


def _snap(x: np.ndarray, bits: int = 42) -> np.ndarray:
    """Round to a grid of 2^-bits of the largest magnitude (a power of two, so exactly).

    Transform features of a constant or piecewise-constant image are exact zeros and equal
    values in exact arithmetic but carry ~1e-16 relative rounding noise, which the per-window
    min-max normalisation would blow up to full-range garbage that depends on the FFT/DWT
    library. Snapping removes that noise; it moves any other feature by < 1.2e-13 of the
    largest, far below what the metric resolves."""
    top = max(float(x.max()), -float(x.min()))
    if top == 0 or not np.isfinite(top):
        return x
    q = 2.0 ** (np.floor(np.log2(top)) - bits)
    y = np.divide(x, q)  # exact: q is a power of two
    np.rint(y, out=y)  # np.round's half-to-even
    y *= q
    return y


def _dwt_axis0(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One level of pywt.dwt(x, ..., mode='symmetric', axis=0) with decomposition filters lo and
    hi: the half-sample symmetric extension by F - 1 (F taps), the valid convolution, every
    second value from the second: out[j] = sum_k h[k] xe[2j + F - k], j < (N + F - 1) // 2.
    Each value sums its F products in the same order (k = 0 .. F-1), so equal inputs give
    equal outputs at every position (a constant region stays exactly constant); the values
    agree with PyWavelets' to rounding."""
    from ._dwt_numba import dwt_axis0
    f = len(lo)
    x = np.ascontiguousarray(x, dtype=np.float64)  # C order: the kernel reads whole rows
    n = x.shape[0]
    # np.pad(x, ((f - 1, f - 1), (0, 0)), mode="symmetric") as a row index map: mirror images
    # of the index range repeat with period 2n (several reflections when f - 1 > n)
    ix = np.arange(-(f - 1), n + f - 1) % (2 * n)
    ix = np.where(ix >= n, 2 * n - 1 - ix, ix)
    n_out = (n + f - 1) // 2
    out_lo = np.empty((n_out, x.shape[1]))
    out_hi = np.empty((n_out, x.shape[1]))
    dwt_axis0(x, ix, np.ascontiguousarray(lo, dtype=np.float64),
              np.ascontiguousarray(hi, dtype=np.float64), out_lo, out_hi)
    return out_lo, out_hi


def dwt2_symmetric(x: np.ndarray, wavelet) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """pywt.dwt2(x, wavelet, mode='symmetric') -> (cA, (cH, cV, cD)), computed with the
    compiled filter pass of _dwt_axis0 (rows of the transposed image, then columns): equal to
    PyWavelets' to rounding (~1e-15 of the largest coefficient), several times faster for
    long filters such as MATLAB's 102-tap 'dmey'."""
    lo, hi = np.asarray(wavelet.dec_lo), np.asarray(wavelet.dec_hi)
    x = np.asarray(x, dtype=np.float64)
    lo1, hi1 = _dwt_axis0(x.T, lo, hi)  # along axis 1, transposed: (L1, H)
    ca, ch = _dwt_axis0(np.ascontiguousarray(lo1.T), lo, hi)  # along axis 0: lo, hi
    cv, cd = _dwt_axis0(np.ascontiguousarray(hi1.T), lo, hi)
    return ca, (ch, cv, cd)


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
        ca, (ch, cv, cd) = dwt2_symmetric(x, matlab_dmey())
        return _rerange(_snap(np.block([[ca, ch], [cv, cd]])))
    raise ValueError(f"FMI feature must be one of none, gradient, edge, dct, wavelet; got {feature!r}")
