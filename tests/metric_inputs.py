"""Synthetic metric inputs shared by the metric test modules: smooth grey images and
(A, B, F) triples with values 0..255 (float64, integer-valued)."""
from __future__ import annotations

import cv2
import numpy as np


def smooth(shape, seed, sigma=2.0) -> np.ndarray:
    """Gaussian-blurred uniform noise stretched to 0..255 and rounded."""
    r = np.random.default_rng(seed).random(shape)
    r = cv2.GaussianBlur(r, (0, 0), sigma)
    r = (r - r.min()) / (r.max() - r.min())
    return np.round(r * 255.0)


def metric_triple(shape, seed=0, weight_a=0.5):
    """(A, B, F): two smooth sources and F = weight_a A + (1 - weight_a) B + 0.3 fine noise,
    rounded and clipped to 0..255."""
    a, b = smooth(shape, seed), smooth(shape, seed + 1)
    noise = smooth(shape, seed + 2, 1.0) - 127.5
    f = np.clip(np.round(weight_a * a + (1.0 - weight_a) * b + 0.3 * noise), 0, 255)
    return a, b, f
