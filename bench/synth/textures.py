"""Shipped photos and textures, smooth noise and blur: the raw material of the generators.

Photos and textures are read from the data folders installed with scikit-image and pydicom
(PNG and DICOM files that ship inside the wheels); nothing is ever downloaded (the
`skimage.data` functions are bypassed on purpose, since some of them fetch files). Float images
are float64 in [0, 1]; uint8 photos are RGB (H x W x 3) or grey (H x W).
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from ..imageio import read_image

# Photos and textures shipped in scikit-image's data folder (all PNG: decoded bit-exactly).
PHOTO_FILES = {
    "astronaut": "astronaut.png", "camera": "camera.png", "chelsea": "chelsea.png",
    "coffee": "coffee.png", "coins": "coins.png", "ihc": "ihc.png", "moon": "moon.png",
    "motorcycle_left": "motorcycle_left.png", "motorcycle_right": "motorcycle_right.png",
    "brick": "brick.png", "grass": "grass.png", "gravel": "gravel.png", "phantom": "phantom.png",
    "page": "page.png", "text": "text.png",
}


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; the embedded data needs it")
    return Path(next(iter(spec.submodule_search_locations)))


def skimage_file(name: str) -> Path:
    return package_dir("skimage") / "data" / name


def pydicom_file(name: str) -> Path:
    return package_dir("pydicom") / "data" / "test_files" / name


@lru_cache(maxsize=None)
def photo(name: str) -> np.ndarray:
    """A shipped photo as uint8, RGB or grey (alpha dropped). Read-only array; copy to edit."""
    path = skimage_file(PHOTO_FILES[name])
    raw = read_image(path)
    if raw.bits != 8:
        raise ValueError(f"{path}: expected an 8-bit photo")
    data = raw.data.copy()
    data.setflags(write=False)
    return data


def fit_photo(img: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale (cv2.INTER_AREA) so that the longer side is at most max_side; never upscale."""
    h, w = img.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return np.array(img)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def to_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) / 255.0


def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB float image (grey images pass through)."""
    if rgb.ndim == 2:
        return rgb
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


@lru_cache(maxsize=None)
def _texture_float(name: str) -> np.ndarray:
    img = photo(name)
    grey = luminance(to_float(img))
    grey.setflags(write=False)
    return grey


def sample_texture(name: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Grey texture in [0, 1] at texel coordinates (u = column, v = row), wrapped (nearest)."""
    tex = _texture_float(name)
    th, tw = tex.shape
    rows = np.floor(v).astype(np.int64) % th
    cols = np.floor(u).astype(np.int64) % tw
    return tex[rows, cols]


def texture_crop(name: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random crop (wrapped, random flip/transpose) of a grey texture, float64 in [0, 1]."""
    tex = _texture_float(name)
    if rng.random() < 0.5:
        tex = tex.T
    if rng.random() < 0.5:
        tex = tex[:, ::-1]
    th, tw = tex.shape
    r0, c0 = int(rng.integers(th)), int(rng.integers(tw))
    rows = (r0 + np.arange(shape[0])) % th
    cols = (c0 + np.arange(shape[1])) % tw
    return tex[np.ix_(rows, cols)]


def smooth_noise(shape: tuple[int, int], rng: np.random.Generator,
                 cells: float = 4.0) -> np.ndarray:
    """Smooth random field in [0, 1]: a coarse uniform grid (about `cells` cells across the
    shorter side) upsampled with cubic splines to a quarter of the size, then linearly to the
    full size, then stretched to the full range."""
    h, w = shape
    gy = max(2, int(round(cells * h / min(h, w)))) + 2
    gx = max(2, int(round(cells * w / min(h, w)))) + 2
    grid = rng.random((gy, gx))
    qh, qw = max(gy, -(-h // 4)), max(gx, -(-w // 4))
    field = ndimage.zoom(grid, (qh / gy, qw / gx), order=3, mode="reflect", grid_mode=True)
    field = ndimage.zoom(field, (h / field.shape[0], w / field.shape[1]), order=1,
                         mode="nearest", grid_mode=True)[:h, :w]
    lo, hi = field.min(), field.max()
    return (field - lo) / (hi - lo) if hi > lo else np.zeros(shape)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur over the two spatial axes (reflecting borders), float64."""
    if sigma <= 0:
        return img.astype(np.float64)
    sig = (sigma, sigma) + (0,) * (img.ndim - 2)
    return ndimage.gaussian_filter(img.astype(np.float64), sig, mode="reflect", truncate=3.5)


def downsample(img: np.ndarray, factor: int) -> np.ndarray:
    """Mean over factor x factor blocks (exact box average; H and W must divide)."""
    if factor == 1:
        return img
    total = sum(img[i::factor, j::factor].astype(np.float64)
                for i in range(factor) for j in range(factor))
    return total / (factor * factor)
