"""The field's colour rule, applied once by the harness (methods only ever see one channel).

Convention: BT.601 full-range YCbCr on float images in [0, 1] (Y = 0.299 R + 0.587 G + 0.114 B,
Cb = 0.5 + (B - Y) / 1.772, Cr = 0.5 + (R - Y) / 1.402), the JFIF definition.

- Methods fuse Y. A grey source's Y is the grey image itself.
- No colour source: the output is grey.
- One colour source: CbCr are restored from it unchanged.
- Several colour sources: each chroma plane is the average of the sources' planes weighted by
  |C - 0.5| (so the more saturated source wins; where all are neutral the result is 0.5).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# Full-range BT.601 (JFIF): Cb = 0.5 + (B - Y) / 1.772, Cr = 0.5 + (R - Y) / 1.402.
# Written out rather than taken from cv2.cvtColor: OpenCV's float path uses rounded forward and
# inverse coefficients (0.564 / 1.773 ...) whose round trip is off by 2e-4, so "fuse to the visible
# Y" would not give back the visible image exactly. These matrices are exact inverses.
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_TO_YCBCR = np.array([[_KR, _KG, _KB],
                      [-_KR / 1.772, -_KG / 1.772, 0.5],
                      [0.5, -_KG / 1.402, -_KB / 1.402]])
_TO_RGB = np.linalg.inv(_TO_YCBCR)


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H x W x 3 RGB float in [0, 1] -> (Y, Cb, Cr), each H x W float32 in [0, 1]."""
    ycc = np.asarray(rgb, dtype=np.float64) @ _TO_YCBCR.T
    return (ycc[..., 0].astype(np.float32), (ycc[..., 1] + 0.5).astype(np.float32),
            (ycc[..., 2] + 0.5).astype(np.float32))


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """(Y, Cb, Cr) float in [0, 1] -> H x W x 3 RGB float32, clipped to [0, 1]."""
    ycc = np.stack([y, np.asarray(cb, np.float64) - 0.5, np.asarray(cr, np.float64) - 0.5], -1)
    return np.clip(ycc @ _TO_RGB.T, 0.0, 1.0).astype(np.float32)


def weighted_chroma(planes: list[np.ndarray]) -> np.ndarray:
    """Average of chroma planes weighted by |C - 0.5|; 0.5 where every weight is zero."""
    stack = np.stack(planes).astype(np.float32)
    weights = np.abs(stack - 0.5)
    total = weights.sum(axis=0)
    fused = (stack * weights).sum(axis=0) / np.where(total > 0, total, 1.0)
    return np.where(total > 0, fused, 0.5).astype(np.float32)


@dataclass(frozen=True)
class SplitSources:
    """The Y planes a method fuses, and the chroma to put back (None when no source is colour)."""

    ys: tuple[np.ndarray, ...]
    cb: np.ndarray | None
    cr: np.ndarray | None

    @property
    def is_colour(self) -> bool:
        return self.cb is not None


def split_sources(images: list[np.ndarray]) -> SplitSources:
    """Float sources in [0, 1] (H x W grey or H x W x 3 RGB) -> Y planes + the chroma to restore."""
    ys, cbs, crs = [], [], []
    for img in images:
        if img.ndim == 2:
            ys.append(img.astype(np.float32))
        else:
            y, cb, cr = rgb_to_ycbcr(img)
            ys.append(y)
            cbs.append(cb)
            crs.append(cr)
    if not cbs:
        return SplitSources(tuple(ys), None, None)
    if len(cbs) == 1:
        return SplitSources(tuple(ys), cbs[0], crs[0])
    return SplitSources(tuple(ys), weighted_chroma(cbs), weighted_chroma(crs))


def merge_fused(y: np.ndarray, split: SplitSources) -> np.ndarray:
    """Fused Y + the sources' chroma -> final image (grey H x W, or RGB H x W x 3), in [0, 1]."""
    y = np.clip(y, 0.0, 1.0).astype(np.float32)
    if not split.is_colour:
        return y
    return ycbcr_to_rgb(y, split.cb, split.cr)
