"""Sobel gradients shared by the edge metrics of the Petrovic framework (Qabf in
bench.metrics.qabf; Nabf and Labf in bench.metrics.nabf) and by Qcv, with their minimum-size
check.

`sobel` is the exact separable form (zero padding as MATLAB conv2/filter2 'same', or mirror
padding without repeating the edge pixel as Shreyamsha Kumar's per_extn_im_fn.m).
`conv2_sobel_matlab` (Qabf) and `sobel_fn_matlab` (Nabf/Labf) add the terms in the order the
reference code does; that order only matters on non-integer data (Tang's im2double images). All
re-implemented from the behaviour of the reference code, not copied from it.
"""
from __future__ import annotations

import cv2
import numpy as np

from .windows import buffer


HALF_PI = np.pi / 2


def sigmoid_(x: np.ndarray, k: float, centre: float, scale: float = 1.0) -> np.ndarray:
    """x <- scale / (1 + exp(k (x - centre))), in place and in x's dtype: the sigmoids of the
    Petrovic framework (Qabf's Qg/Qa, Nabf's, Liu's metricXydeas), with the operations in the
    reference code's order."""
    t = x.dtype.type
    x -= t(centre)
    x *= t(k)
    np.exp(x, out=x)
    x += t(1)
    return np.divide(t(scale), x, out=x)


def orientation_agreement(alpha_s: np.ndarray, alpha_f: np.ndarray,
                          out: np.ndarray | None = None) -> np.ndarray:
    """| |alpha_S - alpha_F| - pi/2 | * 2/pi per pixel (1 for parallel edge directions, 0 for
    perpendicular ones), as Shreyamsha Kumar's Nabf and Liu's metricXydeas compute it."""
    qa = np.subtract(alpha_s, alpha_f, out=out)
    np.abs(qa, out=qa)
    qa -= HALF_PI
    np.abs(qa, out=qa)
    qa *= 2
    qa /= np.pi
    return qa


def sobel(img: np.ndarray, border: int = cv2.BORDER_CONSTANT, dtype=np.float64
          ) -> tuple[np.ndarray, np.ndarray]:
    """(Sx, Sy): correlation with the 3 x 3 Sobel kernels [[-1,0,1],[-2,0,2],[-1,0,1]] and its
    transpose, output the size of the input.

    border: cv2.BORDER_CONSTANT (zeros, as MATLAB conv2/filter2 'same') or
    cv2.BORDER_REFLECT_101 (mirror without repeating the edge pixel, as Shreyamsha Kumar's
    per_extn_im_fn.m). Computed separably (the difference along one axis first, then the
    [1 2 1] smoothing), so a patch that is symmetric across the centre gives exactly 0 even on
    non-integer data; on integer-valued data the result is exact. Float64 results are taken from
    the active `Arena` (bench.metrics.windows), if any: scratch of the caller's evaluation."""
    src = np.ascontiguousarray(img, dtype=dtype)
    depth = cv2.CV_32F if dtype == np.float32 else cv2.CV_64F
    diff = np.array([-1.0, 0.0, 1.0], dtype)
    smooth = np.array([1.0, 2.0, 1.0], dtype)
    # float64 outputs come from the active Arena, if any (scratch of the caller's evaluation)
    sx = cv2.sepFilter2D(src, depth, diff, smooth, dst=_out(src.shape, dtype), borderType=border)
    sy = cv2.sepFilter2D(src, depth, smooth, diff, dst=_out(src.shape, dtype), borderType=border)
    return sx, sy


def _out(shape: tuple[int, ...], dtype) -> np.ndarray | None:
    return buffer(shape) if dtype == np.float64 and len(shape) == 2 else None


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


def check_size(name: str, img: np.ndarray, minimum: int = 2) -> None:
    if img.shape[0] < minimum or img.shape[1] < minimum:
        raise ValueError(f"{name} needs images of at least {minimum} x {minimum} pixels, "
                         f"got {img.shape[0]} x {img.shape[1]}")
