"""Multi-focus and multi-exposure pairs with ground truth, made from photos shipped with
scikit-image (downscaled with cv2.INTER_AREA so the longer side is at most `max_side`).

MFF (`make_mff`): a smooth, irregular focus map m in [0, 1] (a blob around a random centre with a
wavy outline, ~25-70 % of the image, edge feathered over ~2 px). a = m * I + (1 - m) * blur(I)
(the region in focus), b = (1 - m) * I + m * blur(I) (the complement); blur is a Gaussian with
sigma 1.5-3.5 px drawn from the seed. gt = I, the photo.

MEF (`make_mef`): linearise I (sRGB approximated by gamma 2.2), scale by 2^-k (under) and 2^+k
(over) with k in [1.5, 2.5] from the seed, clip to [0, 1], re-apply the gamma, quantise.
gt = I. Grey photos give grey pairs, colour photos colour pairs; all outputs uint8.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import textures

MFF_PHOTOS = ("astronaut", "chelsea", "coffee", "coins", "motorcycle_right", "camera")
MEF_PHOTOS = ("astronaut", "chelsea", "coffee", "motorcycle_left", "ihc", "camera")
GAMMA = 2.2


@dataclass(frozen=True)
class PhotoPair:
    a: np.ndarray    # MFF: the focus region sharp / MEF: under-exposed
    b: np.ndarray    # MFF: the rest sharp / MEF: over-exposed
    gt: np.ndarray   # the photo
    meta: dict
    focus: np.ndarray | None = None  # MFF: the focus map (1 = sharp in a), float64


def load(photo: str, max_side: int) -> np.ndarray:
    return textures.fit_photo(textures.photo(photo), max_side)


def focus_map(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Smooth irregular foreground map in [0, 1] covering roughly 25-70 % of the image."""
    h, w = shape
    rows, cols = np.indices(shape, dtype=np.float64)
    cy, cx = h * rng.uniform(0.35, 0.65), w * rng.uniform(0.3, 0.7)
    ry, rx = h * rng.uniform(0.32, 0.46), w * rng.uniform(0.32, 0.46)
    radial = np.sqrt(((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2)
    wobble = textures.smooth_noise(shape, rng, 3.0) - 0.5
    hard = (radial + 0.7 * wobble < 1.0).astype(np.float64)
    return textures.blur(hard, 2.0)


def make_mff(photo: str, seed, max_side: int = 384) -> PhotoPair:
    rng = np.random.default_rng(seed)
    gt = load(photo, max_side)
    img = textures.to_float(gt)
    m = focus_map(gt.shape[:2], rng)
    sigma = rng.uniform(1.5, 3.5)
    soft = textures.blur(img, sigma)
    mm = m[..., None] if img.ndim == 3 else m
    a = mm * img + (1 - mm) * soft
    b = (1 - mm) * img + mm * soft
    meta = {"photo": photo, "blur_sigma": round(float(sigma), 4),
            "focus_fraction": round(float(m.mean()), 4)}
    return PhotoPair(_u8(a), _u8(b), gt, meta, focus=m)


def make_mef(photo: str, seed, max_side: int = 384) -> PhotoPair:
    rng = np.random.default_rng(seed)
    gt = load(photo, max_side)
    linear = textures.to_float(gt) ** GAMMA
    k = rng.uniform(1.5, 2.5)
    under = np.clip(linear * 2.0 ** -k, 0, 1) ** (1 / GAMMA)
    over = np.clip(linear * 2.0 ** k, 0, 1) ** (1 / GAMMA)
    return PhotoPair(_u8(under), _u8(over), gt, {"photo": photo, "ev": round(float(k), 4)})


def _u8(f01: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(f01, 0, 1) * 255).astype(np.uint8)
