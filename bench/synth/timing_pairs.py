"""Fixed source pairs for timing a method at a given size (benchmarks and the efficiency task).

`timing_pair(task, h, w)` -> (a, b): single-channel float32 in [0, 1], H x W. A synthetic night
IVF scene (infrared, visible luma) for ivf and medical, a multi-focus or exposure pair made from
scikit-image's astronaut photo (resized to H x W) for mff and mef. Deterministic (fixed seeds).
"""
from __future__ import annotations

import cv2
import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _grey(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x @ _LUMA if x.ndim == 3 else x


def timing_pair(task: str, h: int = 480, w: int = 640) -> tuple[np.ndarray, np.ndarray]:
    if task in ("ivf", "medical"):
        from .ivf_scenes import make_scene
        scene = make_scene(7, size=(h, w), night=True)
        return (_grey(scene.ir) / 255.0).astype(np.float32), (_grey(scene.vis) / 255.0).astype(np.float32)
    from . import photo_pairs
    make = photo_pairs.make_mff if task == "mff" else photo_pairs.make_mef
    pair = make("astronaut", 7, max_side=max(h, w))
    a, b = (cv2.resize(_grey(x), (w, h), interpolation=cv2.INTER_AREA) for x in (pair.a, pair.b))
    scale = 255.0 if max(a.max(), b.max()) > 1.5 else 1.0
    return (a / scale).astype(np.float32), (b / scale).astype(np.float32)
