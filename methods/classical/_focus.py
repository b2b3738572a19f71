"""Focus measures and decision-map helpers shared by the focus-based baselines (dsift, gfdf,
quadtree, sf_blocks).

Conventions: images are float64 arrays; functions state their data range where it matters
(most originals work on 0..255 grey values). Of the MATLAB behaviours the originals rely on,
bwareaopen (8-connected) and conv2 'same' are here; rgb2gray, round/uint8 and the guided filter
are in methods.classical._matlab (re-exported here).
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from ._matlab import (MATLAB_GREY_WEIGHTS, box_mean_shrinking, guided_filter,  # noqa: F401
                      matlab_round, rgb2gray, saved_uint8, to_uint8_values)

_EIGHT_CONNECTED = np.ones((3, 3), bool)


def as_rgb(img: np.ndarray) -> np.ndarray:
    """H x W or H x W x 1 -> H x W x 3 (a grey source repeated); colour images pass."""
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] >= 3:
        return img[..., :3]
    if img.ndim == 3:
        img = img[..., 0]
    return np.repeat(img[..., None], 3, axis=2)


def blend(weight: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """weight * a + (1 - weight) * b; an H x W weight is applied to every channel of H x W x C."""
    w = weight[..., None] if (a.ndim == 3 and weight.ndim == 2) else weight
    return w * a + (1.0 - w) * b


# ---------------------------------------------------------------- binary maps

def remove_small_regions(mask: np.ndarray, min_area: float) -> np.ndarray:
    """MATLAB bwareaopen(mask, min_area) in 2-D: drop 8-connected components of fewer than
    min_area pixels."""
    mask = np.asarray(mask, bool)
    labels, count = ndimage.label(mask, structure=_EIGHT_CONNECTED)
    if count == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_area
    keep[0] = False
    return keep[labels]


def remove_small_regions_and_holes(mask: np.ndarray, min_area: float) -> np.ndarray:
    """bwareaopen on the mask, then on its complement: small regions and small holes go."""
    kept = remove_small_regions(mask, min_area)
    return ~remove_small_regions(~kept, min_area)


# ---------------------------------------------------------------- filters

def conv2_same(img: np.ndarray, col_kernel: np.ndarray, row_kernel: np.ndarray) -> np.ndarray:
    """MATLAB conv2(col_kernel, row_kernel, img, 'same'): separable convolution, zeros outside.

    Handles even-length kernels with MATLAB's alignment ('same' = full[n//2 : n//2 + m]).
    """
    kc = np.asarray(col_kernel, np.float64).ravel()[::-1]
    kr = np.asarray(row_kernel, np.float64).ravel()[::-1]
    # cv2 correlates: out(i) = sum_j k(j) src(i + j - anchor); convolution = correlation with the
    # flipped kernel and anchor n - 1 - n // 2.
    anchor = (len(kr) - 1 - len(kr) // 2, len(kc) - 1 - len(kc) // 2)
    return cv2.sepFilter2D(np.asarray(img, np.float64), cv2.CV_64F, kr, kc, anchor=anchor,
                           borderType=cv2.BORDER_CONSTANT)


# ---------------------------------------------------------------- focus measures

def window_sums(img: np.ndarray, height: int, width: int | None = None) -> np.ndarray:
    """Sums over every height x width window that fits: out[y, x] = sum img[y:y+h, x:x+w]."""
    width = height if width is None else width
    c = np.zeros((img.shape[0] + 1, img.shape[1] + 1))
    c[1:, 1:] = np.cumsum(np.cumsum(np.asarray(img, np.float64), 0), 1)
    return c[height:, width:] - c[:-height, width:] - c[height:, :-width] + c[:-height, :-width]


def window_spatial_frequency(img: np.ndarray, r: int) -> np.ndarray:
    """Spatial frequency of the (2r+1)^2 window centred on each pixel (the originals' SF.m):
    sqrt((sum of squared row-to-row + column-to-column differences inside the window) / n^2).
    Pixels closer than r to the border get NaN (their window does not fit)."""
    img = np.asarray(img, np.float64)
    n = 2 * r + 1
    h, w = img.shape
    out = np.full((h, w), np.nan)
    if h < n or w < n:
        return out
    dv = np.diff(img, axis=0) ** 2   # (h-1, w): pair (y, y+1)
    dh = np.diff(img, axis=1) ** 2   # (h, w-1): pair (x, x+1)
    sv = window_sums(dv, n - 1, n)   # window rows y..y+n-1 hold n-1 vertical pairs
    sh = window_sums(dh, n, n - 1)
    # window sums by cumulative sums can round a flat window's zero to -1e-12
    out[r:h - r, r:w - r] = np.sqrt(np.maximum(sv + sh, 0.0) / (n * n))
    return out


def block_spatial_frequency(img: np.ndarray, block: int) -> np.ndarray:
    """Spatial frequency (Eskicioglu & Fisher; Li et al. 2001) of each block x block tile:
    sqrt(RF^2 + CF^2), RF^2 = mean of squared horizontal neighbour differences in the tile,
    CF^2 likewise vertically (both divided by the tile's pixel count). img must tile exactly."""
    img = np.asarray(img, np.float64)
    h, w = img.shape
    by, bx = h // block, w // block
    dh = np.zeros_like(img)
    dh[:, 1:] = np.diff(img, axis=1) ** 2
    dh[:, ::block] = 0.0   # a difference across a tile edge belongs to no tile
    dv = np.zeros_like(img)
    dv[1:, :] = np.diff(img, axis=0) ** 2
    dv[::block, :] = 0.0
    tiles = (dh + dv).reshape(by, block, bx, block).sum(axis=(1, 3))
    return np.sqrt(tiles / (block * block))


def modified_laplacian(img: np.ndarray, step: int = 1, threshold: float = 0.0) -> np.ndarray:
    """|2I - I(up) - I(down)| + |2I - I(left) - I(right)| at distance `step`, with symmetric
    (edge-repeating) borders; values below `threshold` are set to 0 (Nayar's ML as QB uses it)."""
    img = np.asarray(img, np.float64)
    p = np.pad(img, step, mode="symmetric")
    h, w = img.shape
    c = p[step:step + h, step:step + w]
    ml = (np.abs(2 * c - p[:h, step:step + w] - p[2 * step:, step:step + w])
          + np.abs(2 * c - p[step:step + h, :w] - p[step:step + h, 2 * step:]))
    ml[ml < threshold] = 0.0
    return ml
