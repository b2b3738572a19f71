"""Spatial statistics of the fused image."""
from __future__ import annotations

import numpy as np

from .registry import register_metric


@register_metric("SD", direction="higher", family="spatial", needs=("fused",),
                 aliases=("variance", "std"),
                 description="standard deviation of the fused image (0..255 scale)")
def standard_deviation(a, b, f) -> float:
    """SD = sqrt(mean((F - mean F)^2)): population form, values on the 0..255 scale.
    (VIFB calls this 'Variance' but computes the standard deviation.) Sources unused."""
    return float(np.std(f))


@register_metric("SF", direction="higher", family="spatial", needs=("fused",),
                 aliases=("spatial_frequency",),
                 description="spatial frequency of the fused image (0..255 scale)")
def spatial_frequency(a, b, f) -> float:
    """SF = sqrt(RF^2 + CF^2), RF^2 = mean of squared horizontal neighbour differences over
    M(N-1) terms, CF^2 = mean of squared vertical differences over (M-1)N terms (the Tang and
    CDDFuse convention). Values on the 0..255 scale. Needs at least 2 x 2 pixels."""
    if f.shape[0] < 2 or f.shape[1] < 2:
        raise ValueError(f"SF needs an image of at least 2 x 2 pixels, got {f.shape}")
    rf2 = np.mean(np.diff(f, axis=1) ** 2)
    cf2 = np.mean(np.diff(f, axis=0) ** 2)
    return float(np.sqrt(rf2 + cf2))
