"""MATLAB-compatible primitives the reference toolkits' conventions are defined by.

The reference metric code (VIFB, MEFB, Tang's toolkit, Z. Liu's imageFusionMetrics) is MATLAB;
matching it to the stored digits needs MATLAB's exact semantics for rounding, `fspecial`,
`filter2`/`conv2` shapes and `imfilter` padding. These are re-implemented here from MATLAB's
documented behaviour (not copied), vectorised with SciPy/OpenCV.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy import signal

# rgb2gray weights: the first row of inv([1 0.956 0.621; 1 -0.272 -0.647; 1 -1.106 1.703]),
# as MATLAB's rgb2gray documents them.
RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def channel_sum(rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """rgb @ weights for an H x W x 3 image -> float64 H x W: w0 R + w1 G + w2 B, summed left to
    right in float64 (the same values as the matrix product). cv2.transform computes it about
    ten times faster than NumPy's matmul, which does not use BLAS for this shape."""
    x = np.asarray(rgb, dtype=np.float64)
    if x.ndim == 3 and x.shape[2] == 3 and x.shape[0] * x.shape[1] > 0:
        return cv2.transform(np.ascontiguousarray(x), np.asarray(weights, np.float64)[None, :])
    return x @ weights


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB round(): halves away from zero (numpy's rint rounds halves to even):
    sign(x) floor(|x| + 0.5), evaluated in place on float arrays."""
    r = np.abs(x)
    if not isinstance(r, np.ndarray) or r.dtype.kind != "f":
        return np.sign(x) * np.floor(np.abs(x) + 0.5)
    r += 0.5
    np.floor(r, out=r)
    r *= np.sign(x)
    return r


def minmax_round255(img: np.ndarray) -> np.ndarray | None:
    """matlab_round((x - min) / (max - min) * 255) of a plane as float64 (the stretch of Z. Liu's
    normalize1.m), None for a constant plane (the callers' normalize1 decides what that means).

    Memoised on read-only planes (then the result is read-only too): Qcb, Qcv, NMI, QNCIE, TE
    and TE_nava of one compute_many() call normalise the same planes."""
    from .windows import memo  # windows does not import this module's users

    def compute() -> np.ndarray | None:
        data = np.asarray(img, dtype=np.float64)
        hi, lo = float(data.max()), float(data.min())
        if hi == lo:
            return None
        r = matlab_round((data - lo) / (hi - lo) * 255.0)
        r.flags.writeable = bool(getattr(img, "flags", None) is None or img.flags.writeable)
        return r
    return memo([img], ("minmax_round255",), compute)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB uint8(x): round halves away from zero, saturate to 0..255."""
    return np.clip(matlab_round(np.asarray(x, dtype=np.float64)), 0, 255).astype(np.uint8)


def rgb2gray(rgb: np.ndarray, integer: bool = True) -> np.ndarray:
    """MATLAB rgb2gray. On uint8 images (integer=True) the result is rounded back to uint8
    levels, as MATLAB returns uint8; returned as float64."""
    grey = channel_sum(rgb, RGB2GRAY)
    return to_uint8(grey).astype(np.float64) if integer else grey


def fspecial_gaussian(size: int | tuple[int, int], sigma: float) -> np.ndarray:
    """fspecial('gaussian', size, sigma): sampled Gaussian normalised to sum 1."""
    rows, cols = (size, size) if np.isscalar(size) else size
    y = np.arange(rows) - (rows - 1) / 2.0
    x = np.arange(cols) - (cols - 1) / 2.0
    g = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2.0 * sigma * sigma))
    g[g < np.finfo(np.float64).eps * g.max()] = 0
    total = g.sum()
    return g / total if total else g


def filter2(kernel: np.ndarray, img: np.ndarray, shape: str = "same") -> np.ndarray:
    """MATLAB filter2(h, X, shape): 2-D correlation with zero padding; shape 'same'|'valid'|'full'."""
    return conv2(img, np.rot90(kernel, 2), shape)


def conv2(img: np.ndarray, kernel: np.ndarray, shape: str = "full") -> np.ndarray:
    """MATLAB conv2(A, B, shape): 2-D convolution with zero padding.

    'same' is the central part of 'full' as MATLAB takes it (this differs from scipy's 'same'
    for even kernel sizes)."""
    img = np.asarray(img, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if shape == "same":
        full = _convolve(img, kernel, "full")
        kr, kc = kernel.shape
        r0, c0 = kr // 2, kc // 2  # MATLAB: rows floor(mb/2)+1 .. floor(mb/2)+ma of 'full'

        return full[r0:r0 + img.shape[0], c0:c0 + img.shape[1]]
    return _convolve(img, kernel, shape)


def _convolve(img: np.ndarray, kernel: np.ndarray, mode: str) -> np.ndarray:
    if kernel.size > 49:
        return signal.fftconvolve(img, kernel, mode=mode)
    return signal.convolve2d(img, kernel, mode=mode)


_PAD = {"replicate": cv2.BORDER_REPLICATE, "symmetric": cv2.BORDER_REFLECT,
        "circular": cv2.BORDER_WRAP, 0: cv2.BORDER_CONSTANT, "zero": cv2.BORDER_CONSTANT}


def imfilter(img: np.ndarray, kernel: np.ndarray, padding: str | int = 0,
             mode: str = "corr") -> np.ndarray:
    """MATLAB imfilter(A, h, padding, mode) with the default 'same' output size.

    padding: 0 (zeros, MATLAB's default), 'replicate', 'symmetric' or 'circular'.
    mode: 'corr' (MATLAB's default) or 'conv'. Anchor as MATLAB: the centre element
    floor((size(h)+1)/2)."""
    k = np.asarray(kernel, dtype=np.float64)
    if mode == "conv":
        k = np.rot90(k, 2)
    kr, kc = k.shape
    anchor = ((kc - 1) // 2, (kr - 1) // 2)  # (x, y) of MATLAB's centre element
    return cv2.filter2D(np.asarray(img, dtype=np.float64), cv2.CV_64F, k, anchor=anchor,
                        borderType=_PAD[padding])


def sobel_kernels() -> tuple[np.ndarray, np.ndarray]:
    """fspecial('sobel') (horizontal edges, responds to vertical gradient) and its transpose."""
    h = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])
    return h, h.T


def gradient(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB gradient(): central differences inside, one-sided at the borders -> (gx, gy)."""
    img = np.asarray(img, dtype=np.float64)
    gy, gx = np.gradient(img)
    return gx, gy
