"""Information-theoretic metrics."""
from __future__ import annotations

import numpy as np

from .registry import register_metric


def grey_histogram(img: np.ndarray) -> np.ndarray:
    """256-bin probability histogram of values in 0..255, rounded to the nearest integer level."""
    levels = np.clip(np.rint(img), 0, 255).astype(np.int64)
    counts = np.bincount(levels.ravel(), minlength=256).astype(np.float64)
    return counts / counts.sum()


@register_metric("EN", direction="higher", family="information", needs=("fused",),
                 aliases=("entropy",),
                 description="Shannon entropy of the fused image, bits")
def entropy(a, b, f) -> float:
    """EN = -sum p_i log2 p_i over the 256-bin histogram of F (grey levels rounded, 0..255).
    Units: bits. Range 0..8. Sources unused."""
    p = grey_histogram(f)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) + 0.0
