"""Exposure-fusion baselines: Mertens et al. (2007) and SPD-MEF (Ma et al. 2017).

`mertens`: Mertens, Kautz & Van Reeth, "Exposure fusion", Pacific Graphics 2007, through OpenCV's
`cv2.createMergeMertens(contrast_weight, saturation_weight, exposure_weight)` (per-pixel weights
|Laplacian|^wc * saturation^ws * well-exposedness^we, blended in a Laplacian pyramid). Paper
defaults wc = ws = we = 1 for exposure stacks. For multi-focus stacks we default to contrast only
(wc = 1, ws = we = 0: the contrast term is the focus cue; our choice). On one channel (the
harness's Y) OpenCV skips the saturation term. OpenCV scales its input by 1/255, so we hand it
float 0..255 values (no quantisation); its output is clipped to [0, 1].

`spd_mef`: Ma, Li, Yong, Wang, Meng & Zhang, "Robust multi-exposure image fusion: a structural
patch decomposition approach", IEEE TIP 26(5) 2017, static-scene form (no ghost removal: the
reference-image structural-consistency and IMF steps of the authors' code only act on moving
content). Every wSize x wSize patch (all channels together) of source k is split into mean
intensity l_k, signal strength c_k = ||x_k - l_k|| + 0.001 and structure s_k = (x_k - l_k) / c_k;
the fused patch is  max_k c_k * s / ||s|| + l,  with  s = sum_k w_k s_k,  w_k ~ c_k^p (+0.001),
and  l = sum_k L_k l_k,  L_k ~ exp(-(g_k - .5)^2 / (2 gSig^2) - (l_k - .5)^2 / (2 lSig^2))
(g_k: the global mean of source k). Patches are taken with stride `step` (plus the last row /
column of positions) and overlapping patches are averaged. Paper defaults: p = 4, gSig = 0.2,
lSig = 0.5, wSize = 21, step = 2. Computed in closed form with box sums (no patch loop): each
patch's output is linear in the sources' pixels, so its contribution is a per-patch coefficient
map spread back by a wSize box sum. Images smaller than wSize use a window of the smaller side.
"""
from __future__ import annotations

import numpy as np

from ..base import register_method

MERTENS_DEFAULTS = {"mef": (1.0, 1.0, 1.0), "mff": (1.0, 0.0, 0.0)}


class _StackFusion:
    """Both exposure methods fuse a whole stack; a pair is a stack of two, and `fuse_colour`
    hands the stack over as RGB (grey sources repeated), which `fuse_stack` handles natively:
    Mertens through OpenCV's colour path (saturation from the three channels), SPD-MEF with all
    three channels in one patch vector, as the authors' code."""

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        return self.fuse_stack([a, b], task)

    def fuse_colour(self, sources: list[np.ndarray], task: str) -> np.ndarray:
        rgb = [s if s.ndim == 3 else np.repeat(s[..., None], 3, -1) for s in sources]
        return self.fuse_stack(rgb, task)


class Mertens(_StackFusion):
    """Exposure fusion via cv2.createMergeMertens; weights default per task (see module doc)."""

    version = "1"

    def __init__(self, contrast_weight: float | None = None,
                 saturation_weight: float | None = None, exposure_weight: float | None = None):
        self.weights = (contrast_weight, saturation_weight, exposure_weight)

    def _merger(self, task: str):
        import cv2
        defaults = MERTENS_DEFAULTS.get(task, MERTENS_DEFAULTS["mef"])
        wc, ws, we = (d if w is None else float(w) for w, d in zip(self.weights, defaults))
        return cv2.createMergeMertens(wc, ws, we)

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        srcs = [np.ascontiguousarray(np.asarray(im, np.float32) * np.float32(255.0))
                for im in images]
        out = self._merger(task).process(srcs)
        return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0).astype(np.float32)



register_method(
    "mertens", tasks={"mef", "mff"}, kind="classical", baseline=True,
    description="Mertens exposure fusion (contrast, saturation, well-exposedness; Laplacian "
                "pyramid blending) via OpenCV",
    paper="Mertens, Kautz & Van Reeth, Exposure fusion, Pacific Graphics 2007", year=2007,
    params={"contrast_weight": 1.0, "saturation_weight": 1.0, "exposure_weight": 1.0},
)(Mertens)


# -- SPD-MEF -----------------------------------------------------------------------------------

def _box_valid(img: np.ndarray, k: int) -> np.ndarray:
    """Mean over every k x k window lying inside the image ('valid'): (H-k+1) x (W-k+1)."""
    c = np.pad(np.cumsum(np.cumsum(img, 0), 1), ((1, 0), (1, 0)))
    s = c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]
    return s / float(k * k)


def _spread(coef: np.ndarray, k: int, shape: tuple[int, int]) -> np.ndarray:
    """out[q] = sum of coef[P] over patch positions P whose k x k patch covers q."""
    h, w = shape
    full = np.zeros((h + 1, w + 1))
    full[1: coef.shape[0] + 1, 1: coef.shape[1] + 1] = coef
    c = np.cumsum(np.cumsum(full, 0), 1)
    # sum over P in [q-k+1, q] per axis: C[q+1] - C[q+1-k]
    top = np.clip(np.arange(1, h + 1) - k, 0, None)
    left = np.clip(np.arange(1, w + 1) - k, 0, None)
    rows, cols = np.arange(1, h + 1), np.arange(1, w + 1)
    return (c[np.ix_(rows, cols)] - c[np.ix_(top, cols)] - c[np.ix_(rows, left)]
            + c[np.ix_(top, left)])


def _positions(n_valid: int, step: int) -> np.ndarray:
    """The authors' patch grid: 1:step:max, then every remaining index up to max (0-based)."""
    idx = list(range(0, n_valid, step))
    idx += list(range(idx[-1] + 1, n_valid))
    mask = np.zeros(n_valid, bool)
    mask[idx] = True
    return mask


def spd_mef_fuse(images: list[np.ndarray], p: float = 4.0, g_sig: float = 0.2,
                 l_sig: float = 0.5, w_size: int = 21, step: int = 2) -> np.ndarray:
    """SPD-MEF (static) of H x W or H x W x C float images in [0, 1] -> same shape, in [0, 1]."""
    stack = np.stack([np.asarray(im, np.float64) for im in images])  # K x H x W [x C]
    if stack.ndim == 3:
        stack = stack[..., None]
    k_src, h, w, ch = stack.shape
    ws = int(max(1, min(w_size, h, w)))
    n = ws * ws * ch  # samples per patch
    lmu = np.stack([np.mean([_box_valid(stack[k, ..., c], ws) for c in range(ch)], 0)
                    for k in range(k_src)])                        # K x h' x w'
    sq = np.stack([np.mean([_box_valid(stack[k, ..., c] ** 2, ws) for c in range(ch)], 0)
                   for k in range(k_src)])
    ed = np.sqrt(np.maximum(sq - lmu ** 2, 0.0) * n) + 0.001       # signal strength
    gmu = stack.reshape(k_src, -1).mean(1)[:, None, None]
    mu_w = np.exp(-0.5 * ((gmu - 0.5) ** 2 / g_sig ** 2 + (lmu - 0.5) ** 2 / l_sig ** 2))
    mu_w /= mu_w.sum(0)
    s_w = ed ** p + 0.001
    s_w /= s_w.sum(0)
    max_ed = ed.max(0)
    mean_fused = (mu_w * lmu).sum(0)
    # ||sum_k (s_w_k / ed_k) (x_k - l_k)||^2 from the patch cross-covariances
    coef = s_w / ed
    norm_sq = np.zeros_like(max_ed)
    for i in range(k_src):
        for j in range(i, k_src):
            cross = np.mean([_box_valid(stack[i, ..., c] * stack[j, ..., c], ws)
                             for c in range(ch)], 0)
            cov = (cross - lmu[i] * lmu[j]) * n
            norm_sq += (1.0 if i == j else 2.0) * coef[i] * coef[j] * cov
    norm = np.sqrt(np.maximum(norm_sq, 0.0))
    scale = np.where(norm > 1e-12, max_ed / np.where(norm > 1e-12, norm, 1.0), 0.0)
    c_k = coef * scale                                             # output = sum c_k x_k + b
    bias = mean_fused - (c_k * lmu).sum(0)
    keep = np.outer(_positions(lmu.shape[1], step), _positions(lmu.shape[2], step))
    count = _spread(keep.astype(np.float64), ws, (h, w))
    b_map = _spread(np.where(keep, bias, 0.0), ws, (h, w))
    out = np.empty((h, w, ch))
    a_maps = [_spread(np.where(keep, c_k[k], 0.0), ws, (h, w)) for k in range(k_src)]
    for c in range(ch):
        acc = b_map.copy()
        for k in range(k_src):
            acc += a_maps[k] * stack[k, ..., c]
        out[..., c] = acc / count
    out = np.clip(out, 0.0, 1.0)
    return out[..., 0] if np.asarray(images[0]).ndim == 2 else out


class SPDMEF(_StackFusion):
    """Structural patch decomposition MEF (static scenes); parameters as in the paper."""

    version = "1"

    def __init__(self, p: float = 4.0, g_sig: float = 0.2, l_sig: float = 0.5,
                 w_size: int = 21, step: int = 2):
        self.params = dict(p=float(p), g_sig=float(g_sig), l_sig=float(l_sig),
                           w_size=int(w_size), step=max(1, int(step)))

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        return spd_mef_fuse(images, **self.params).astype(np.float32)



register_method(
    "spd_mef", tasks={"mef"}, kind="classical", baseline=True,
    description="structural patch decomposition multi-exposure fusion (static scenes)",
    paper="Ma et al., Robust multi-exposure image fusion: a structural patch decomposition "
          "approach, IEEE TIP 2017", year=2017,
    params={"p": 4, "g_sig": 0.2, "l_sig": 0.5, "w_size": 21, "step": 2},
)(SPDMEF)
