"""Hybrid multi-scale decomposition (HMSD) fusion of infrared and visible images
(Zhou, Wang, Li, Dong, Information Fusion 30, 2016; guided-filter variant HMSD-GF from Zhou,
Dong, Xie, Gao, Applied Optics 55(23), 2016). Registered as `hmsd` (Gaussian + bilateral filters,
VIFB's "Hybrid_MSD") and `hmsd_gf` (guided filters, VIFB's "HMSD_GF").

Decomposition of each source I (4 levels, j = 1..4): a smooth chain M_j = S_j(M_{j-1}) and an
edge-preserving chain L_j = P_j(L_{j-1}), M_0 = L_0 = I; detail layers D_j = M_{j-1} - L_j (small
features) and E_j = L_j - M_j (edges), so I = M_4 + sum_j (D_j + E_j).
  hmsd:    S_j Gaussian (sigma_s = 2, 4, 8, 16; 2*floor(3 sigma)+1 taps, symmetric border),
           P_j bilateral filter (same sigma_s, range sigma 0.05 / 2**(j-1) on [0, 1]) computed as
           the original does, with Paris & Durand's bilateral-grid approximation (their
           fast_blf MEX: nearest-cell splatting, [1 2 1]/4 blurred twice per axis, trilinear
           slicing); lambda = 30.
  hmsd_gf: S_j guided filter with eps = 100**2 (a double box mean), P_j self-guided filter with
           eps = (0.1 / 2**(j-1))**2, radius r = 2, 4, 8, 16 (He et al.'s filter, windows
           truncated at the border); lambda from the relative perceptual saliency
           Rs = PS(IR) / PS(VIS): 100 if Rs < 0.8, 2000 if Rs > 1.6, else 2500 Rs - 1900.
Combination (j = 4..2): R_j = max(|E_j^IR| - |E_j^VIS|, 0), P_j = R_j / max(R_j),
C_j = atan(lambda P_j) / atan(lambda) smoothed by a Gaussian (sigma 1) weights the IR layers
(D_j and E_j) against the visible ones; the base is C_4 smoothed by a Gaussian of sigma 64 mixing
M_4^IR and M_4^VIS; level 1 takes the layer with the larger |E_1| / |D_1| (binary weight; the
E_1 weight smoothed with sigma 1 in hmsd_gf, 0.2 = no smoothing in hmsd).
Output: hmsd clips to [0, 1]; hmsd_gf, as its code, scales by 275/255 (round(255 * 1.078 F))
before clipping (`gain`).

Faithfulness (bench.faithfulness, VIFB, 21 scenes, per-channel as VIFB's run scripts): hmsd vs
Hybrid_MSD mean PSNR 41.9 dB, SSIM 0.984; hmsd_gf vs HMSD_GF 41.3 dB, SSIM 0.984.

Conventions: a = infrared (the source whose features are injected), b = visible; float images in
[0, 1] (the original works on 0..255; every step here is scale-free or rescaled to match).
Where the original divides by zero (max R_j = 0, or no gradient for PS) we take P_j = 0
(no injection) and lambda = 100.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from methods.base import register_method
from methods.classical.gff import guided_filter

N_LEVELS = 4


# ---------------------------------------------------------------------------------------------
# Filters

def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """MATLAB imfilter(img, fspecial('gaussian', 2w+1, sigma), 'symmetric'), w = floor(3 sigma).

    The border is padded with np.pad 'symmetric' (which, like MATLAB, keeps mirroring when the
    kernel is larger than the image); w = 0 leaves the image unchanged."""
    w = int(math.floor(3 * sigma))
    if w == 0:
        return np.asarray(img, np.float64)
    kernel = cv2.getGaussianKernel(2 * w + 1, sigma, cv2.CV_64F)
    padded = np.pad(np.asarray(img, np.float64), w, mode="symmetric")
    if w > 12:  # large kernels (sigma 64 -> 385 taps): overlap-add FFT convolution is ~10x faster
        from scipy.signal import oaconvolve
        return oaconvolve(oaconvolve(padded, kernel, mode="valid"), kernel.T, mode="valid")
    out = cv2.sepFilter2D(padded, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
    return out[w:-w, w:-w]


def _blur121_interior(grid: np.ndarray, axis: int) -> np.ndarray:
    """One [1 2 1]/4 pass along `axis` of a (C, Y, X, Z) grid whose outer shell (first/last cell
    of Y, X and Z) is zero and stays zero, as in the grid code, which updates interior cells only.

    A zero-padded 1-D correlation gives the interior cells exactly; of the shell only the two
    planes across `axis` can pick up values (the others see zero neighbours), so they are reset."""
    from scipy.ndimage import correlate1d
    out = correlate1d(grid, np.array([0.25, 0.5, 0.25]), axis=axis, mode="constant", cval=0.0)
    index = [slice(None)] * grid.ndim
    for edge in (0, -1):
        index[axis] = edge
        out[tuple(index)] = 0.0
    return out


def bilateral_grid(img: np.ndarray, sigma_s: float, sigma_r: float) -> np.ndarray:
    """Paris & Durand's (ECCV 2006) bilateral-grid approximation of the bilateral filter, as in
    the fast_blf MEX that Hybrid_MSD calls (img in [0, 1]).

    Hand-written: OpenCV's bilateralFilter is the exact (windowed) filter, whose result differs
    from the grid approximation the reference outputs were made with. Grid cells are sigma_s px
    and sigma_r grey levels wide, with 2 empty cells of padding; pixels are splatted to the
    nearest cell (value sum and count), the grid is blurred by [1 2 1]/4 twice along each axis
    and sliced by trilinear interpolation, result = sum / count."""
    from scipy.ndimage import map_coordinates
    img = np.asarray(img, np.float64)
    h, w = img.shape
    pad = 2
    lo = float(img.min())
    z = img - lo
    size = (int((h - 1) / sigma_s) + 1 + 2 * pad, int((w - 1) / sigma_s) + 1 + 2 * pad,
            int(float(z.max()) / sigma_r) + 1 + 2 * pad)
    gy = (np.arange(h) / sigma_s + 0.5).astype(np.int64) + pad
    gx = (np.arange(w) / sigma_s + 0.5).astype(np.int64) + pad
    gz = (z / sigma_r + 0.5).astype(np.int64) + pad
    cell = ((gy[:, None] * size[1] + gx[None, :]) * size[2] + gz).ravel()
    n_cells = size[0] * size[1] * size[2]
    grid = np.stack([np.bincount(cell, weights=img.ravel(), minlength=n_cells),
                     np.bincount(cell, minlength=n_cells).astype(np.float64)])
    grid = grid.reshape((2,) + size)
    for axis in (1, 2, 3):
        for _ in range(2):
            grid = _blur121_interior(grid, axis)
    yy, xx = np.meshgrid(np.arange(h) / sigma_s + pad, np.arange(w) / sigma_s + pad,
                         indexing="ij")
    coords = np.stack([yy, xx, z / sigma_r + pad])
    num = map_coordinates(grid[0], coords, order=1, mode="nearest", prefilter=False)
    den = map_coordinates(grid[1], coords, order=1, mode="nearest", prefilter=False)
    return num / den


# ---------------------------------------------------------------------------------------------
# Perceptual saliency (HMSD-GF's automatic lambda)

def _blocks(img: np.ndarray, size: int) -> list[np.ndarray]:
    """MATLAB blockproc tiling: size x size blocks from the top-left, smaller ones at the
    right/bottom edges; returned as stacks (n, bh, bw), one per block shape."""
    h, w = img.shape
    fh, fw = h - h % size, w - w % size
    out = []
    for rows, bh in ((slice(0, fh), size), (slice(fh, h), h - fh)):
        for cols, bw in ((slice(0, fw), size), (slice(fw, w), w - fw)):
            part = img[rows, cols]
            if part.size == 0:
                continue
            ny, nx = part.shape[0] // bh, part.shape[1] // bw
            out.append(part.reshape(ny, bh, nx, bw).transpose(0, 2, 1, 3).reshape(-1, bh, bw))
    return out


def _csf_energy(blocks: np.ndarray, reach: float) -> np.ndarray:
    """Per block: sqrt(sum |FFT * CSF|^2) / (m n) with the Mannos-Sakrison contrast sensitivity
    2.6 (0.0192 + 0.114 f) exp(-(0.114 f)^1.1), f = reach/2 * (MATLAB freqspace radius)."""
    _, m, n = blocks.shape
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(blocks), axes=(1, 2)))
    fy = (np.arange(m) - m // 2) * (2.0 / m) * reach / 2
    fx = (np.arange(n) - n // 2) * (2.0 / n) * reach / 2
    f = np.hypot(fy[:, None], fx[None, :])
    csf = 2.6 * (0.0192 + 0.114 * f) * np.exp(-((0.114 * f) ** 1.1))
    return np.sqrt(np.sum((spectrum * csf) ** 2, axis=(1, 2))) / (m * n)


def perceptual_saliency(img255: np.ndarray, block: int = 40, reach: float = 32.0,
                        alpha: float = 2.0) -> float:
    """PS (Zhou et al. 2016) of a 0..255 image: the CSF-weighted spectral energy of each
    40 x 40 block, averaged with weights sum(|Sobel gradient|^alpha) over the block
    (image and gradient both cropped by 1 px, 'valid' Sobel). 0 when there is no gradient."""
    img = np.asarray(img255, np.float64)
    if min(img.shape) < 3:
        return 0.0
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)
    gx = cv2.filter2D(img, cv2.CV_64F, sobel)[1:-1, 1:-1]
    gy = cv2.filter2D(img, cv2.CV_64F, sobel.T)[1:-1, 1:-1]
    grad_alpha = np.hypot(gx, gy) ** alpha
    energy = np.concatenate([_csf_energy(b, reach) for b in _blocks(img[1:-1, 1:-1], block)])
    weight = np.concatenate([b.sum(axis=(1, 2)) for b in _blocks(grad_alpha, block)])
    total = weight.sum()
    return float(np.sum(energy * weight) / total) if total > 0 else 0.0


def auto_lambda(ir255: np.ndarray, vis255: np.ndarray) -> float:
    """HMSD-GF's lambda from Rs = PS(IR) / PS(VIS): 100 below 0.8, 2000 above 1.6, linear
    between (2500 Rs - 1900); 100 when Rs is undefined (both images flat)."""
    ps_ir, ps_vis = perceptual_saliency(ir255), perceptual_saliency(vis255)
    if ps_vis == 0:
        return 2000.0 if ps_ir > 0 else 100.0
    rs = ps_ir / ps_vis
    return 100.0 if rs < 0.8 else 2000.0 if rs > 1.6 else 2500.0 * rs - 1900.0


# ---------------------------------------------------------------------------------------------
# Decomposition and combination

def decompose(img: np.ndarray, edge_filter: str) -> tuple[np.ndarray, list, list]:
    """(M_4, [D_1..D_4], [E_1..E_4]) of a [0, 1] image; edge_filter 'bilateral' | 'guided'."""
    smooth = edge = np.asarray(img, np.float64)
    details, edges = [], []
    for j in range(N_LEVELS):
        scale = 2 ** j
        if edge_filter == "bilateral":
            new_smooth = gaussian_blur(smooth, 2.0 * scale)
            new_edge = bilateral_grid(edge, 2.0 * scale, 0.05 / scale)
        else:
            new_smooth = guided_filter(smooth, smooth, 2 * scale, 100.0 ** 2)
            new_edge = guided_filter(edge, edge, 2 * scale, (0.1 / scale) ** 2)
        details.append(smooth - new_edge)
        edges.append(new_edge - new_smooth)
        smooth, edge = new_smooth, new_edge
    return smooth, details, edges


def _injection_weight(e_ir: np.ndarray, e_vis: np.ndarray, lam: float) -> np.ndarray:
    """atan(lam P) / atan(lam), P = max(|E_ir| - |E_vis|, 0) normalised by its maximum."""
    r = np.maximum(np.abs(e_ir) - np.abs(e_vis), 0.0)
    peak = r.max()
    p = r / peak if peak > 0 else np.zeros_like(r)
    return np.arctan(lam * p) / math.atan(lam)


def combine(ir: tuple, vis: tuple, lam: float, small_sigma_e: float,
            small_sigma_d: float) -> np.ndarray:
    """Fuse two decompositions (base, details, edges); IR features weighted in by C_j."""
    (base_ir, d_ir, e_ir), (base_vis, d_vis, e_vis) = ir, vis
    top = N_LEVELS - 1
    c_base = gaussian_blur(_injection_weight(e_ir[top], e_vis[top], lam), 2.0 * 2 ** (top + 2))
    fused = c_base * base_ir + (1 - c_base) * base_vis
    for j in range(top, 0, -1):
        c = gaussian_blur(_injection_weight(e_ir[j], e_vis[j], lam), 1.0)
        fused += c * e_ir[j] + (1 - c) * e_vis[j] + c * d_ir[j] + (1 - c) * d_vis[j]
    c_e = gaussian_blur((np.abs(e_vis[0]) < np.abs(e_ir[0])).astype(np.float64), small_sigma_e)
    c_d = gaussian_blur((np.abs(d_vis[0]) < np.abs(d_ir[0])).astype(np.float64), small_sigma_d)
    return fused + c_e * e_ir[0] + (1 - c_e) * e_vis[0] + c_d * d_ir[0] + (1 - c_d) * d_vis[0]


def fuse_hmsd(ir: np.ndarray, vis: np.ndarray, edge_filter: str, lam: float | None,
              small_sigma_e: float, small_sigma_d: float, gain: float) -> np.ndarray:
    """HMSD fusion of [0, 1] images; lam None = automatic (perceptual saliency)."""
    if lam is None:
        lam = auto_lambda(np.asarray(ir, np.float64) * 255.0, np.asarray(vis, np.float64) * 255.0)
    fused = combine(decompose(ir, edge_filter), decompose(vis, edge_filter), lam,
                    small_sigma_e, small_sigma_d)
    return np.clip(fused * gain, 0.0, 1.0).astype(np.float32)


@register_method("hmsd", tasks=("ivf", "medical"), kind="classical", baseline=True,
                 description="hybrid multi-scale decomposition (Gaussian + bilateral filters), "
                             "perceptual injection of IR features",
                 paper="Zhou, Wang, Li, Dong, Information Fusion 30, 2016", year=2016,
                 params={"lam": 30.0}, aliases=("hybrid_msd",),
                 reference={"vifb": ("Hybrid_MSD", "per-channel")})
def hmsd(a: np.ndarray, b: np.ndarray, task: str, lam: float = 30.0) -> np.ndarray:
    """Hybrid-MSD: a = infrared, b = visible, float [0, 1]; lam: injection strength (30)."""
    return fuse_hmsd(a, b, "bilateral", float(lam), 0.2, 0.2, 1.0)


@register_method("hmsd_gf", tasks=("ivf", "medical"), kind="classical", baseline=True,
                 description="hybrid multi-scale decomposition with guided filters, lambda from "
                             "perceptual saliency",
                 paper="Zhou, Dong, Xie, Gao, Applied Optics 55(23), 2016", year=2016,
                 params={"lam": None, "gain": 275 / 255},
                 reference={"vifb": ("HMSD_GF", "per-channel")})
def hmsd_gf(a: np.ndarray, b: np.ndarray, task: str, lam: float | None = None,
            gain: float = 275 / 255) -> np.ndarray:
    """HMSD-GF: a = infrared, b = visible, float [0, 1]; lam None = automatic; gain = output
    scale of the original code (275/255)."""
    return fuse_hmsd(a, b, "guided", None if lam is None else float(lam), 1.0, 0.0, float(gain))
