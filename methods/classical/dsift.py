"""Dense-SIFT fusion (Yu Liu et al.): multi-focus `dsift` and multi-exposure `dsift_ef`.

The dense descriptor is the one the authors ship (DenseSIFT.m, after Ce Liu's SIFT flow code),
not OpenCV's SIFT: the image is divided by its maximum, gradients come from 5 x 5 derivative-of-
Gaussian filters (sigma 1), each gradient votes into 8 orientation planes with weight
max(0, cos(theta - angle))^9 * magnitude, the planes are smoothed by a separable triangular
(bilinear) window of the patch width, and the descriptor of a pixel is the 4 x 4 grid of
samples of the 8 planes (128 values, patch = 4 bins of patch/4 px). cv2.SIFT computes a
different histogram (Gaussian window, trilinear binning, its own normalisation), so its sums
would not reproduce the original activity levels; the planes here are whole-image filters
(vectorised), so a descriptor per pixel costs only a gather.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage

from methods.base import register_method

from ._focus import (as_rgb, blend, conv2_same, remove_small_regions_and_holes, rgb2gray,
                     saved_uint8, to_uint8_values, window_spatial_frequency, window_sums)

N_ANGLES = 8
N_BINS = 4


# ---------------------------------------------------------------- the dense descriptor

def _derivative_of_gaussian(sigma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """DenseSIFT.m's x/y filters: gradient of fspecial('gaussian', 4 ceil(sigma) + 1, sigma),
    each scaled so that its absolute values sum to 2."""
    size = 4 * math.ceil(sigma) + 1
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma * sigma))
    g /= g.sum()
    gx, gy = np.gradient(g, axis=1), np.gradient(g, axis=0)
    return gx * 2 / np.abs(gx).sum(), gy * 2 / np.abs(gy).sum()


def orientation_planes(img: np.ndarray, patch: int) -> np.ndarray:
    """The smoothed orientation planes (8 x H x W, float32) of an image (any range).

    The image is divided by its maximum (left as is when that is 0), so the descriptor does not
    depend on the data range. Borders are zero outside the image (filter2/conv2 'same').
    """
    img = np.asarray(img, np.float64)
    peak = img.max() if img.size else 0.0
    if peak > 0:
        img = img / peak
    gx, gy = _derivative_of_gaussian(1.0)
    # filter2(h, X, 'same') is a centred correlation with zeros outside.
    ex = cv2.filter2D(img, cv2.CV_64F, gx, borderType=cv2.BORDER_CONSTANT)
    ey = cv2.filter2D(img, cv2.CV_64F, gy, borderType=cv2.BORDER_CONSTANT)
    magnitude = np.hypot(ex, ey)
    # cos/sin of atan2(ey, ex) (0 where the gradient vanishes, like the original's NaN guard)
    safe = np.where(magnitude > 0, magnitude, 1.0)
    cos_t = np.where(magnitude > 0, ex / safe, 1.0)
    sin_t = ey / safe
    half = patch / 2 - 0.5
    weights = np.abs(np.arange(1, patch + 1) - half) / (patch / N_BINS)
    weights = (1 - weights) * (weights <= 1)
    planes = np.empty((N_ANGLES,) + img.shape, np.float32)
    for k in range(N_ANGLES):
        angle = 2 * np.pi * k / N_ANGLES
        vote = np.maximum(cos_t * math.cos(angle) + sin_t * math.sin(angle), 0.0)
        vote8 = vote * vote
        vote8 *= vote8
        vote8 *= vote8            # ^8 by squaring (np.power with a float exponent is slow)
        plane = (vote8 * vote * magnitude).astype(np.float32)  # ^9; the original is single
        planes[k] = conv2_same(plane, weights, weights)
    return planes


def _sample_offsets(patch: int) -> np.ndarray:
    """Offsets (0-based, in the padded image) of the 4 bin samples of a patch along one axis."""
    return np.arange(N_BINS) * (patch // N_BINS)


def descriptor_sum(planes: np.ndarray, out_shape: tuple[int, int], patch: int) -> np.ndarray:
    """Sum of all 128 descriptor values at every output pixel (the DSIFT activity level)."""
    h, w = out_shape
    total = planes.astype(np.float64).sum(axis=0)
    offs = _sample_offsets(patch)
    return sum(total[oy:oy + h, ox:ox + w] for oy in offs for ox in offs)


def descriptors_at(planes: np.ndarray, ys: np.ndarray, xs: np.ndarray, patch: int) -> np.ndarray:
    """The 128-D descriptors (N x 16 x 8, float32) of output pixels (ys, xs)."""
    offs = _sample_offsets(patch)
    oy, ox = np.meshgrid(offs, offs, indexing="ij")
    rows = ys[:, None] + oy.ravel()[None, :]
    cols = xs[:, None] + ox.ravel()[None, :]
    return np.moveaxis(planes[:, rows, cols], 0, -1)


def normalise_descriptors(desc: np.ndarray) -> np.ndarray:
    """Lowe's normalisation as DSIFTNormalization.m applies it: descriptors whose norm exceeds 1
    are scaled to unit length, clipped at 0.2 and rescaled to unit length; the others are left.
    desc: N x ... (flattened to N x 128), returns float32 N x 128."""
    flat = desc.reshape(desc.shape[0], -1).astype(np.float32)
    norm = np.sqrt(np.einsum("ij,ij->i", flat, flat))
    big = norm > 1
    unit = np.minimum(flat / np.where(big, norm, 1)[:, None], 0.2)
    unit /= np.sqrt(np.maximum(np.einsum("ij,ij->i", unit, unit), 1e-30))[:, None]
    return np.where(big[:, None], unit, flat)


def dense_sift_planes(grey: np.ndarray, pad: int, patch: int) -> np.ndarray:
    """Zero-pad the grey image by `pad` (img_extend) and compute its orientation planes."""
    return orientation_planes(np.pad(np.asarray(grey, np.float64), pad), patch)


# ---------------------------------------------------------------- multi-focus (Liu et al. 2015)

def initial_maps(act1: np.ndarray, act2: np.ndarray, block: int,
                 min_area: float) -> tuple[np.ndarray, np.ndarray]:
    """generate_initmap.m: a pixel is source-1 focused when every block x block window (step 1)
    that covers it has a larger activity sum in source 1 (score > 0.99 of the windows); likewise
    for source 2. Regions and holes under min_area px are removed from both maps."""
    h, w = act1.shape
    if h < block or w < block:
        win1 = win2 = np.zeros((0, 0), bool)
    else:
        s1, s2 = window_sums(act1, block), window_sums(act2, block)
        win1, win2 = s1 > s2, s2 > s1

    # count of windows covering each pixel, and of those won by each source
    def coverage(won: np.ndarray) -> np.ndarray:
        full = np.zeros((h + block - 1, w + block - 1))
        full[block - 1:block - 1 + won.shape[0], block - 1:block - 1 + won.shape[1]] = won
        return window_sums(full, block)
    count = np.maximum(coverage(np.ones_like(win1, bool)), 1)
    map1 = coverage(win1) / count > 0.99
    map2 = coverage(win2) / count > 0.99
    return (remove_small_regions_and_holes(map1, min_area),
            remove_small_regions_and_holes(map2, min_area))


def _mark(h: int, w: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    mask[ys, xs] = True
    return mask


def refine_by_matching(grey1: np.ndarray, grey2: np.ndarray, fmap: np.ndarray,
                       planes1: np.ndarray, planes2: np.ndarray, patch: int,
                       radius: int = 3, sf_radius: int = 3) -> np.ndarray:
    """refine_withmatching.m, vectorised over the undecided pixels (fmap == 0.5, at least
    `radius` px from the border; each pixel's outcome depends on no other, so the order of the
    original loop does not matter).

    Each undecided pixel p finds its best match q1 in source 2 (within (2 radius + 1)^2, by the
    normalised descriptor distance; ties -> first in MATLAB's column-major order) and q2 in
    source 1. With SF the (2 sf_radius + 1)^2 spatial frequency: p -> 1 if SF1(p) > SF2(q1) and
    SF2(p) < SF1(q2); p -> 0 if SF1(p) < SF2(q1) and SF2(p) > SF1(q2); else it stays 0.5.
    """
    h, w = fmap.shape
    fmap = fmap.copy()
    inner = np.zeros((h, w), bool)
    inner[radius:h - radius, radius:w - radius] = True
    ys, xs = np.nonzero((fmap == 0.5) & inner)
    if ys.size == 0:
        return fmap
    # normalised descriptors of every pixel within `radius` of an undecided one, computed once
    near = ndimage.binary_dilation(_mark(h, w, ys, xs),
                                   np.ones((2 * radius + 1,) * 2, bool))
    ny, nx = np.nonzero(near)
    row = np.full((h, w), -1, np.int64)
    row[ny, nx] = np.arange(ny.size)
    desc1 = normalise_descriptors(descriptors_at(planes1, ny, nx, patch))
    desc2 = normalise_descriptors(descriptors_at(planes2, ny, nx, patch))
    own = row[ys, xs]
    ref1, ref2 = desc1[own], desc2[own]
    best1 = np.full(ys.size, np.inf, np.float32)
    best2 = np.full(ys.size, np.inf, np.float32)
    arg1 = np.zeros((ys.size, 2), int)
    arg2 = np.zeros((ys.size, 2), int)
    for dx in range(-radius, radius + 1):          # column-major: x outer, y inner
        for dy in range(-radius, radius + 1):
            at = row[ys + dy, xs + dx]
            diff1 = desc2[at] - ref1
            diff2 = desc1[at] - ref2
            d1 = np.einsum("ij,ij->i", diff1, diff1)
            d2 = np.einsum("ij,ij->i", diff2, diff2)
            better1, better2 = d1 < best1, d2 < best2
            best1[better1], arg1[better1] = d1[better1], (dy, dx)
            best2[better2], arg2[better2] = d2[better2], (dy, dx)
    q1y, q1x = ys + arg1[:, 0], xs + arg1[:, 1]
    q2y, q2x = ys + arg2[:, 0], xs + arg2[:, 1]
    r2 = sf_radius

    def fits(y, x):
        return (y >= r2) & (y <= h - r2 - 1) & (x >= r2) & (x <= w - r2 - 1)
    ok = fits(q1y, q1x) & fits(q2y, q2x) & fits(ys, xs)
    sf1 = window_spatial_frequency(grey1, r2)
    sf2 = window_spatial_frequency(grey2, r2)
    ys, xs, q1y, q1x, q2y, q2x = (v[ok] for v in (ys, xs, q1y, q1x, q2y, q2x))
    fm1, fm2 = sf1[ys, xs], sf2[ys, xs]
    fm1_2, fm2_1 = sf2[q1y, q1x], sf1[q2y, q2x]
    to1 = (fm1 > fm1_2) & (fm2 < fm2_1)
    to0 = (fm1 < fm1_2) & (fm2 > fm2_1)
    fmap[ys[to1], xs[to1]] = 1.0
    fmap[ys[to0], xs[to0]] = 0.0
    return fmap


def refine_by_sf(grey1: np.ndarray, grey2: np.ndarray, fmap: np.ndarray,
                 radius: int = 3) -> np.ndarray:
    """refine_withoutmatching.m: an undecided pixel takes the source with the larger SF of its
    (2 radius + 1)^2 window (ties -> source 2)."""
    h, w = fmap.shape
    fmap = fmap.copy()
    sf1 = window_spatial_frequency(grey1, radius)
    sf2 = window_spatial_frequency(grey2, radius)
    todo = (fmap == 0.5) & np.isfinite(sf1)
    fmap[todo] = np.where(sf1[todo] > sf2[todo], 1.0, 0.0)
    return fmap


def dsift_decision_map(grey1: np.ndarray, grey2: np.ndarray, scale: int = 48, block: int = 8,
                       matching: bool = True, min_area: float = 3600) -> np.ndarray:
    """Weight of source 1 (values 0, 0.5, 1) from two grey images on the 0..255 scale."""
    if scale % 8:
        raise ValueError("scale must be a multiple of 8 (patch scale/2 in 4 bins)")
    pad, patch = scale // 4 - 1, scale // 2
    planes1 = dense_sift_planes(grey1, pad, patch)
    planes2 = dense_sift_planes(grey2, pad, patch)
    act1 = descriptor_sum(planes1, grey1.shape, patch)
    act2 = descriptor_sum(planes2, grey2.shape, patch)
    init1, init2 = initial_maps(act1, act2, block, min_area)
    fmap = 1.0 * init1 + 0.5 * (1.0 - init1 - init2)
    if matching:
        return refine_by_matching(grey1, grey2, fmap, planes1, planes2, patch)
    return refine_by_sf(grey1, grey2, fmap)


@register_method(
    "dsift", tasks={"mff"}, kind="classical", baseline=True,
    description="dense-SIFT activity + block voting decision map, refined by descriptor "
                "matching and spatial frequency",
    paper="Liu, Liu, Wang: Multi-focus image fusion with dense SIFT, Information Fusion 23 (2015)",
    year=2015, params={"scale": 48, "block": 8, "matching": True, "min_area": 3600},
    reference={"mfif": ("DSIFT", "native")})
class DSIFT:
    """Dense SIFT multi-focus fusion (port of DSIFT_Fusion.m, default scale 48, block 8,
    matching on, bwareaopen area 3600 px).

    Decision on grey (MATLAB rgb2gray of the uint8 sources, 0..255); the weight map
    (0 / 0.5 / 1) blends the sources (every RGB channel in fuse_colour, rounded like the
    original's uint8 output). fuse(): the map from Y (x 255) blends Y. More than two sources are
    merged pairwise in series, as the authors advise.

    Faithfulness (bench.faithfulness, MFIF fused/DSIFT, colour 'native', 33 pairs): mean PSNR
    43.7 dB, SSIM 0.975 (Lytro 49.5 dB; MFFW 34.7 dB, where the stored references are not made
    of the stored inputs: the best per-pixel pick of A, B or their mean reaches only 35.8 dB).
    """

    version = "1"

    def __init__(self, scale: int = 48, block: int = 8, matching: bool = True,
                 min_area: float = 3600):
        self.scale, self.block, self.matching, self.min_area = scale, block, matching, min_area

    def decision_map(self, grey1: np.ndarray, grey2: np.ndarray) -> np.ndarray:
        return dsift_decision_map(grey1, grey2, self.scale, self.block, self.matching,
                                  self.min_area)

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
        fmap = self.decision_map(a64 * 255.0, b64 * 255.0)
        return blend(fmap, a64, b64).astype(np.float32)

    def fuse_colour(self, sources: list[np.ndarray], task: str) -> np.ndarray:
        a255, b255 = (to_uint8_values(as_rgb(s)) for s in sources)
        fmap = self.decision_map(rgb2gray(a255, uint8=True), rgb2gray(b255, uint8=True))
        return saved_uint8(blend(fmap, a255, b255))


# ---------------------------------------------------------------- multi-exposure (Liu & Wang 2015)

def exposure_weights(greys: list[np.ndarray], guides: list[np.ndarray], scale: int = 16,
                     winner_take_all: bool = True, sigma_s: float = 100.0,
                     sigma_r: float = 4.0, iterations: int = 3) -> np.ndarray:
    """DSIFT_fusion.m (static mode): N x H x W weights summing to 1 per pixel.

    greys: sources' grey images in [0, 1]; guides: the images guiding the recursive filter
    (RGB or grey, [0, 1]). Contrast = dense-SIFT descriptor sum (patch `scale`, zero padding
    scale/2 - 1), winner-take-all (first source wins ties) or as is; exposure quality = 1 where
    0.1 < grey < 0.9, else 0 (normalised over sources with 1e-25 added); the product is smoothed
    by Gastal & Oliveira's recursive domain-transform filter (sigma_s, sigma_r, iterations)
    guided by each source, then normalised.
    """
    n = len(greys)
    pad, patch = scale // 2 - 1, scale
    contrast = np.stack([descriptor_sum(dense_sift_planes(g, pad, patch), g.shape, patch)
                         for g in greys])
    if winner_take_all:
        winner = np.argmax(contrast, axis=0)
        contrast = (winner[None] == np.arange(n)[:, None, None]).astype(np.float64)
    grey = np.stack(greys)
    quality = ((grey < 0.90) & (grey > 0.10)).astype(np.float64) + 1e-25
    quality /= quality.sum(axis=0, keepdims=True)
    weights = contrast * quality
    smoothed = np.stack([
        cv2.ximgproc.dtFilter(np.asarray(guide, np.float32), weights[i].astype(np.float32),
                              sigma_s, sigma_r, mode=cv2.ximgproc.DTF_RF, numIters=iterations)
        for i, guide in enumerate(guides)]).astype(np.float64) + 1e-25
    return smoothed / smoothed.sum(axis=0, keepdims=True)


@register_method(
    "dsift_ef", tasks={"mef"}, kind="classical", baseline=True,
    description="dense-SIFT local contrast (winner-take-all) x well-exposedness, smoothed by a "
                "recursive edge-aware filter",
    paper="Liu, Wang: Dense SIFT for ghost-free multi-exposure fusion, JVCIR 31 (2015)",
    year=2015, params={"scale": 16, "winner_take_all": True, "sigma_s": 100.0, "sigma_r": 4.0,
                       "iterations": 3})
class DSIFTExposure:
    """Dense SIFT exposure fusion, static mode (the authors' demo setting: scale 16,
    winner-take-all contrast, recursive filter sigma_s 100, sigma_r 4, 3 iterations).

    The ghost-removal term of the dynamic mode is not ported. Weights come from the grey images
    (rgb2gray in fuse_colour, Y in fuse/fuse_stack), the recursive filter is guided by the
    source itself (RGB in fuse_colour), and the output is the weighted sum of the sources.
    The recursive filter is OpenCV's (cv2.ximgproc.dtFilter, DTF_RF) in place of the authors'
    RF.m; that the two scale the guide's edges identically is assumed, not checked.
    No reference outputs (MEFB ships no fused images): tested for its properties only.
    """

    version = "1"

    def __init__(self, scale: int = 16, winner_take_all: bool = True, sigma_s: float = 100.0,
                 sigma_r: float = 4.0, iterations: int = 3):
        if scale % 4:
            raise ValueError("scale must be a multiple of 4")
        self.scale, self.winner_take_all = scale, winner_take_all
        self.sigma_s, self.sigma_r, self.iterations = sigma_s, sigma_r, iterations

    def _weights(self, greys, guides) -> np.ndarray:
        return exposure_weights(greys, guides, self.scale, self.winner_take_all, self.sigma_s,
                                self.sigma_r, self.iterations)

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        imgs = [np.asarray(im, np.float64) for im in images]
        weights = self._weights(imgs, imgs)
        return np.clip(sum(w * im for w, im in zip(weights, imgs)), 0, 1).astype(np.float32)

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        return self.fuse_stack([a, b], task)

    def fuse_colour(self, sources: list[np.ndarray], task: str) -> np.ndarray:
        rgbs = [np.asarray(as_rgb(s), np.float64) for s in sources]
        weights = self._weights([rgb2gray(s) for s in rgbs], rgbs)
        fused = sum(w[..., None] * s for w, s in zip(weights, rgbs))
        return np.clip(fused, 0, 1).astype(np.float32)
