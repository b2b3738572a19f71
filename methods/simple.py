"""The two pixel-wise rules every fusion paper compares against first."""
from __future__ import annotations

import numpy as np

from .base import ALL_TASKS, register_method


@register_method("average", tasks=ALL_TASKS, kind="classical", baseline=True,
                 description="pixel-wise mean of the sources' Y channels",
                 paper="(textbook rule)")
def average(a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
    """(a + b) / 2 on float32 images in [0, 1]."""
    return (a + b) * np.float32(0.5)


@register_method("max", tasks=ALL_TASKS, kind="classical", baseline=True,
                 description="pixel-wise max-abs selection of the sources' Y channels",
                 paper="(textbook rule)", aliases=("max-abs",))
def maximum(a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
    """Choose-max-abs: where |a| >= |b| take a, else b (ties take a).

    On intensities in [0, 1] this equals the pixel-wise maximum; the absolute value matters when
    the rule is applied to zero-mean detail layers.
    """
    return np.where(np.abs(a) >= np.abs(b), a, b)
