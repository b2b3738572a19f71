"""MATLAB behaviours that the original baselines' outputs depend on, reproduced once for all
ports: rgb2gray's weights and its rounding of uint8 data, round()/uint8() (round half away from
zero; NumPy rounds half to even), and He et al.'s guided filter with guidedfilter.m's box filter
(a mean over the window clipped to the image, not a reflected border).

Conventions: float64 arrays; each function says whether it works on 0..255 or 0..1 values.
"""
from __future__ import annotations

import cv2
import numpy as np

# MATLAB rgb2gray weights (ITU-R BT.601 as MATLAB rounds them).
MATLAB_GREY_WEIGHTS = np.array([0.298936021293776, 0.587043074451121, 0.114020904255103])


def matlab_round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero, as MATLAB's round() and uint8() do (NumPy rounds to even)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def to_uint8_values(img01: np.ndarray) -> np.ndarray:
    """Float [0, 1] -> float64 0..255 holding the uint8 values MATLAB's imread would give."""
    return matlab_round(np.clip(np.asarray(img01, np.float64), 0.0, 1.0) * 255.0)


def saved_uint8(img255: np.ndarray) -> np.ndarray:
    """What MATLAB's uint8() makes of a 0..255 float result, returned as float32 in [0, 1]."""
    return (np.clip(matlab_round(img255), 0, 255) / 255.0).astype(np.float32)


def rgb2gray(rgb: np.ndarray, *, uint8: bool = False) -> np.ndarray:
    """MATLAB rgb2gray on an H x W x 3 array (same scale out); a 2-D array is returned as is.

    uint8=True reproduces rgb2gray on uint8 input (0..255 values): the result is rounded.
    """
    rgb = np.asarray(rgb, np.float64)
    if rgb.ndim == 2:
        return rgb
    grey = rgb[..., :3] @ MATLAB_GREY_WEIGHTS
    return np.clip(matlab_round(grey), 0, 255) if uint8 else grey


def matlab_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's uint8() cast of 0..255 floats, returned as float64: round half away from zero,
    saturate to [0, 255]; NaN becomes 0."""
    return np.nan_to_num(np.floor(np.clip(x, 0.0, 255.0) + 0.5), nan=0.0)


def box_mean_shrinking(img: np.ndarray, r: int) -> np.ndarray:
    """Mean over the (2r+1)^2 window clipped to the image (He's boxfilter(I, r) ./ N)."""
    size = (2 * r + 1, 2 * r + 1)
    total = cv2.boxFilter(img, cv2.CV_64F, size, normalize=False, borderType=cv2.BORDER_CONSTANT)
    count = cv2.boxFilter(np.ones_like(img, np.float64), cv2.CV_64F, size, normalize=False,
                          borderType=cv2.BORDER_CONSTANT)
    return total / count


def guided_filter(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s grey guided filter (window radius r, regulariser eps), in float64.

    Written out rather than cv2.ximgproc.guidedFilter: OpenCV's box means reflect at the border
    and run in float32, while the originals (guidedfilter.m) average over the window clipped
    to the image; the border pixels of the decision maps depend on that.
    """
    guide = np.asarray(guide, np.float64)
    src = np.asarray(src, np.float64)
    mean_i = box_mean_shrinking(guide, r)
    mean_p = box_mean_shrinking(src, r)
    cov_ip = box_mean_shrinking(guide * src, r) - mean_i * mean_p
    var_i = box_mean_shrinking(guide * guide, r) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_mean_shrinking(a, r) * guide + box_mean_shrinking(b, r)
