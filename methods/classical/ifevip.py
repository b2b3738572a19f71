"""IFEVIP: infrared feature extraction and visual information preservation (Zhang, Zhang, Bai &
Wang, Infrared Physics & Technology 83, 2017).

On uint8 grey levels, as the authors' MATLAB code (`BGR_Fuse.m`) works:
1. infrared background: resize the infrared image to 512 x 512 (bicubic), quadtree-split it
   (a block splits while max - min > 0.2 * 255, down to 32 x 32 blocks), erode it with a
   32 x 32 square, and rebuild each block as a bicubic Bezier surface through 4 x 4 samples of
   the eroded image; resize back and blur (9 x 9 Gaussian, sigma 4.5, zero borders);
2. infrared bright features: F = IR - background (uint8, saturating at 0);
3. entropy-weighted feature: add = F + (IR - VIS) * H(IR) / H(VIS)  (H: Shannon entropy, bits);
4. grey-level driven scaling: r = min(255 / mean(top 0.1 % of max(add, 0) + VIS), 0.8);
   fused = VIS + uint8(add * r)   (uint8 arithmetic: negative values saturate to 0).

Colour: VIFB runs it on the RGB visible image with the grey infrared one; the difference
IR - VIS, the entropy H(VIS) and the top-0.1 % mean are then taken over all three channels at
once, so `fuse_colour` (faithfulness mode 'native') is not a per-channel fusion.
Parameters (paper/code defaults): quad_dim 512, min_block 32, gauss_size 9, max_ratio 0.001,
std_ratio 0.8.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from bench.metrics.matlab import fspecial_gaussian, imfilter, rgb2gray, to_uint8
from methods.base import register_method

_BEZIER = np.array([[-1.0, 3.0, -3.0, 1.0],
                    [3.0, -6.0, 3.0, 0.0],
                    [-3.0, 3.0, 0.0, 0.0],
                    [1.0, 0.0, 0.0, 0.0]])


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel, a = -0.5 (MATLAB imresize 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """n_out x n_in weights of MATLAB imresize(..., 'bicubic') along one axis, with its
    antialiasing when shrinking and its mirrored borders."""
    scale = n_out / n_in
    width = 4.0
    if scale < 1:
        def kernel(x):
            return scale * _cubic(scale * x)
        width = width / scale
    else:
        kernel = _cubic
    u = np.arange(1, n_out + 1) / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    w = kernel(u[:, None] - idx)
    w /= w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    out = np.zeros((n_out, n_in))
    np.add.at(out, (np.repeat(np.arange(n_out), taps), cols.ravel()), w.ravel())
    return out


def imresize_bicubic(img: np.ndarray, shape: tuple[int, int], as_uint8: bool) -> np.ndarray:
    """MATLAB imresize(img, shape) (bicubic, antialiased). Like MATLAB, the dimension with the
    smaller scale is resized first, and a uint8 image (as_uint8) is rounded after each pass."""
    img = np.asarray(img, np.float64)
    rows = resize_matrix(img.shape[0], shape[0])
    cols = resize_matrix(img.shape[1], shape[1])
    order = (0, 1) if shape[0] / img.shape[0] <= shape[1] / img.shape[1] else (1, 0)
    out = img
    for axis in order:
        out = rows @ out if axis == 0 else out @ cols.T
        if as_uint8:
            out = to_uint8(out).astype(np.float64)
    return out


def quadtree_blocks(img: np.ndarray, threshold: float, min_dim: int) -> list[tuple[int, int, int]]:
    """MATLAB qtdecomp(img, threshold, min_dim) on a square power-of-two uint8 image: blocks split
    while max - min > threshold * 255 and the halves are at least min_dim. Returns
    [(row, col, size)] of the leaves."""
    n = img.shape[0]
    limit = threshold * 255.0
    leaves, blocks = [], [(0, 0, n)]
    while blocks:
        size = blocks[0][2]
        r = np.array([b[0] for b in blocks])
        c = np.array([b[1] for b in blocks])
        # per-block extremes in one pass: view the image as a grid of size x size tiles
        tiles = img.reshape(n // size, size, n // size, size)
        spread = tiles.max(axis=(1, 3)) - tiles.min(axis=(1, 3))
        split = (spread[r // size, c // size] > limit) & (size // 2 >= min_dim)
        leaves += [(int(y), int(x), size) for y, x in zip(r[~split], c[~split])]
        half = size // 2
        blocks = [(int(y) + dy, int(x) + dx, half) for y, x in zip(r[split], c[split])
                  for dy in (0, half) for dx in (0, half)]
    return leaves


def bezier_background(eroded: np.ndarray, leaves: list[tuple[int, int, int]],
                      min_dim: int) -> np.ndarray:
    """The authors' QuadReconstructRefined: each block (with one extra row and column shared with
    its neighbours) becomes a bicubic Bezier surface through the eroded image's samples at
    offsets (0, 2s - 1, 3s - 1, 4s), s = size / 4. Larger blocks are drawn first; within a size,
    blocks are drawn in MATLAB's column-major order of their corners, later ones overwriting the
    shared edges."""
    padded = np.pad(np.asarray(eroded, np.float64), ((0, 1), (0, 1)), mode="edge")
    out = np.zeros_like(padded)
    for size in sorted({s for _, _, s in leaves}, reverse=True):
        if size < min_dim:
            continue
        dim = size + 1
        sub = size // 4
        ctrl = np.array([0, 2 * sub - 1, 3 * sub - 1, 4 * sub])
        u = np.arange(dim) / (dim - 1)
        basis = np.stack([u ** 3, u ** 2, u, np.ones_like(u)], axis=1) @ _BEZIER
        corners = sorted(((x, y) for y, x, s in leaves if s == size))  # column-major
        for x, y in corners:
            points = padded[y + ctrl[:, None], x + ctrl[None, :]]
            out[y:y + dim, x:x + dim] = basis @ points @ basis.T
    return out[:-1, :-1]


def entropy_bits(levels: np.ndarray) -> float:
    """MATLAB entropy() of a uint8 array (all channels pooled): -sum p log2 p over 256 bins."""
    p = np.bincount(levels.astype(np.int64).ravel(), minlength=256) / levels.size
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


def infrared_background(ir: np.ndarray, quad_dim: int, min_block: int, gauss_size: int) -> np.ndarray:
    """Smooth background estimate of the uint8-level infrared image (float, same size)."""
    small = imresize_bicubic(ir, (quad_dim, quad_dim), as_uint8=True)
    leaves = quadtree_blocks(small, 0.2, min_block)
    # MATLAB's strel('square', 32) has its centre at offset 16 (1-based): window -15..+16
    eroded = ndimage.minimum_filter(small, size=min_block, mode="nearest",
                                    origin=-1 if min_block % 2 == 0 else 0)
    background = bezier_background(eroded, leaves, min_block)
    background = imresize_bicubic(background, ir.shape[:2], as_uint8=False)
    return imfilter(background, fspecial_gaussian(gauss_size, gauss_size / 2.0), 0)


def ifevip_levels(ir: np.ndarray, vis: np.ndarray, quad_dim: int = 512, min_block: int = 32,
                  gauss_size: int = 9, max_ratio: float = 0.001, std_ratio: float = 0.8) -> np.ndarray:
    """The fusion on uint8 levels (float arrays holding 0..255 integers): ir H x W, vis H x W or
    H x W x 3 -> fused levels shaped like vis."""
    background = infrared_background(ir, quad_dim, min_block, gauss_size)
    features = np.maximum(ir - to_uint8(background), 0.0)
    if vis.ndim == 3:
        ir, features = ir[..., None], features[..., None]
    h_vis = entropy_bits(vis)
    gain = entropy_bits(ir) / h_vis if h_vis > 0 else 1.0  # a constant visible image: no reweighting
    added = features + (ir - vis) * gain
    lifted = np.maximum(added, 0.0) + vis
    count = int(np.floor(max_ratio * lifted.size + 0.5))
    ratio = std_ratio
    if count > 0:
        top_mean = float(np.mean(np.partition(lifted.ravel(), lifted.size - count)[-count:]))
        if top_mean > 0:
            ratio = min(255.0 / top_mean, std_ratio)
    return np.minimum(vis + to_uint8(added * ratio), 255.0)


@register_method("ifevip", tasks=["ivf"], kind="classical", baseline=True,
                 description="quadtree-Bezier IR background removal, entropy-weighted bright features "
                             "added to the visible image",
                 paper="Zhang et al., Infrared and visual image fusion through infrared feature "
                       "extraction and visual information preservation, Infrared Phys. Technol. 2017",
                 year=2017,
                 params={"quad_dim": 512, "min_block": 32, "gauss_size": 9, "max_ratio": 0.001,
                         "std_ratio": 0.8},
                 reference={"vifb": ("IFEVIP", "native")})
class IFEVIP:
    """IFEVIP on sources (infrared, visible) in [0, 1], quantised to uint8 levels as the original."""

    version = "1"

    def __init__(self, quad_dim: int = 512, min_block: int = 32, gauss_size: int = 9,
                 max_ratio: float = 0.001, std_ratio: float = 0.8):
        self.params = dict(quad_dim=int(quad_dim), min_block=int(min_block),
                           gauss_size=int(gauss_size), max_ratio=float(max_ratio),
                           std_ratio=float(std_ratio))

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        ir = to_uint8(255.0 * np.asarray(a, np.float64)).astype(np.float64)
        vis = to_uint8(255.0 * np.asarray(b, np.float64)).astype(np.float64)
        return (ifevip_levels(ir, vis, **self.params) / 255.0).astype(np.float32)

    def fuse_colour(self, sources: list[np.ndarray], task: str) -> np.ndarray:
        """VIFB's call: grey infrared (rgb2gray if RGB) with the RGB visible image."""
        ir, vis = (to_uint8(255.0 * np.asarray(s, np.float64)).astype(np.float64) for s in sources)
        if ir.ndim == 3:
            ir = rgb2gray(ir)
        return (ifevip_levels(ir, vis, **self.params) / 255.0).astype(np.float32)
