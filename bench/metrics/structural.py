"""Structural-similarity metrics: SSIM, MS-SSIM, MEF-SSIM, and the SSIM-based fusion indices of
Yang (Qy), Cvejic (Qc) and Piella (Qw).

Every metric here is computed from local (windowed) means, variances and covariances. They are
re-implemented from the published formulas and from the behaviour of the reference code (read,
not copied), with all windowed statistics computed by separable filters or box sums over the whole
image at once (no per-pixel loops; MATLAB's mef_ssim.m loops over every pixel).

Shared conventions of the windowed statistics:
- images are grey planes on the 0..255 scale (the profile's colour rule made them);
- `fspecial('gaussian', n, s)` windows are separable, so they are applied as two 1-D passes;
- 'valid' means the statistics exist only where the whole window fits (MATLAB
  `filter2(w, x, 'valid')`); 'replicate' / 'reflect' pad the image so every pixel has one;
- a window over which an image is exactly constant has variance exactly 0 here (its
  sum-of-squares statistic is snapped to 0 when it is below the rounding error of the
  subtraction). MATLAB's `filter2` leaves rounding noise of about 1e-12 there instead; that only
  matters for Qy and Qc, whose constants are 2e-16 (see their docstrings);
- planes are centred on 127.5 before products are filtered, so E[xy] - E[x]E[y] keeps more
  digits (the (co)variances do not change);
- the registered metrics run inside an `Arena`, which recycles their scratch arrays between
  calls (see its docstring), and return plain floats.

Speed (480 x 640, one core): SSIM ~15-25 ms, MS-SSIM ~30 ms, MEF-SSIM ~55 ms, Qy/Qc/Qw ~25-40 ms.
"""
from __future__ import annotations

import threading
from typing import Callable, Sequence

import cv2
import numpy as np
from scipy import ndimage

from . import profiles
from .matlab import rgb2gray
from .registry import register_metric

EPS = float(np.finfo(np.float64).eps)  # MATLAB eps


def _undefined(message: str) -> Exception:
    from . import MetricUndefined  # defined in the package before its modules are loaded
    return MetricUndefined(message)


# ------------------------------------------------------------------------------------------------
# Colour rules used by these metrics' conventions (added to profiles.COLOUR_RULES below)
# ------------------------------------------------------------------------------------------------

def _is_colour(im) -> bool:
    return im is not None and im.ndim == 3 and im.shape[2] == 3


def vifb_ssim_colour(images: list) -> list[tuple]:
    """VIFB metricsSsim.m: if the fused image is grey, each colour source is reduced with MATLAB
    `rgb2gray` (uint8 result) and one grey triple is scored; otherwise each RGB channel of F is
    scored against the same channel of each colour source (a grey source is used as is) and the
    channel values are averaged."""
    f = images[2]
    if not _is_colour(f):
        return [tuple(None if im is None else (rgb2gray(im) if _is_colour(im) else im)
                      for im in images)]
    return profiles.per_channel(images)


def mefb_colour(images: list) -> list[tuple]:
    """MEFB metricsQy/Qc/Qw/VIF: when both sources are grey and F is colour, only F's first (red)
    channel is scored; when F is grey, colour sources are reduced with MATLAB `rgb2gray` (uint8)
    (MEFB's inner functions do that); otherwise per RGB channel, averaged (a grey source is
    replicated; MEFB itself fails on a grey first source with a colour F)."""
    a, b, f = images[0], images[1], images[2]
    if _is_colour(f) and not _is_colour(a) and not _is_colour(b):
        return [(a, b, f[:, :, 0]) + tuple(images[3:])]
    if not _is_colour(f):
        return [tuple(None if im is None else (rgb2gray(im) if _is_colour(im) else im)
                      for im in images)]
    return profiles.per_channel(images)


profiles.COLOUR_RULES.setdefault("vifb-ssim", vifb_ssim_colour)
profiles.COLOUR_RULES.setdefault("mefb-red", mefb_colour)


# ------------------------------------------------------------------------------------------------
# Windowed statistics
# ------------------------------------------------------------------------------------------------

def gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB fspecial('gaussian', size, sigma): fspecial's 2-D window is the outer
    product of this vector with itself (its eps-threshold never triggers for the sizes used)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


class Arena:
    """Scratch arrays for one metric evaluation, recycled by the next evaluations in the same
    thread.

    A fresh multi-megabyte array costs a page fault per 4 KiB page the first time it is written
    (the allocator returns freed large blocks to the system), which here cost as much as the
    filtering itself. Inside `with Arena():` the filters and window statistics of this module
    take their outputs from a per-thread pool instead; the arrays go back to the pool when the
    block ends, so nothing allocated inside may be used after it (the metric functions only
    return floats). Outside any arena everything is allocated normally.
    """

    MAX_BYTES = 512 << 20
    _pool = threading.local()

    @classmethod
    def _state(cls):
        st = cls._pool
        if not hasattr(st, "free"):
            st.free = {}
            st.active = []
        return st

    def __enter__(self) -> "Arena":
        self.taken: list[np.ndarray] = []
        self._state().active.append(self)
        return self

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        lst = self._state().free.get(shape)
        arr = lst.pop() if lst else np.empty(shape)
        self.taken.append(arr)
        return arr

    def __exit__(self, *exc) -> None:
        st = self._state()
        st.active.remove(self)
        used = set()
        for arr in self.taken:
            st.free.setdefault(arr.shape, []).append(arr)
            used.add(arr.shape)
        self.taken = []
        total = sum(a.nbytes for lst in st.free.values() for a in lst)
        if total > self.MAX_BYTES:  # keep only the shapes of this evaluation
            for shape in [sh for sh in st.free if sh not in used]:
                del st.free[shape]


def buffer(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float64 array: from the innermost active Arena, else a new one."""
    active = Arena._state().active
    return active[-1].empty(tuple(shape)) if active else np.empty(shape)


_BORDERS = {"zero": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE,
            "symmetric": cv2.BORDER_REFLECT}


def sep_filter(img: np.ndarray, k: np.ndarray, shape: str = "valid") -> np.ndarray:
    """Correlate with the separable window k k^T. shape: 'valid' (MATLAB filter2 'valid') or a
    padding for a same-size result: 'zero', 'replicate' (MATLAB imfilter 'replicate') or
    'symmetric' (MATLAB 'symmetric' = edge sample repeated)."""
    n = k.size
    h, w = img.shape
    if shape == "valid":
        if h < n or w < n:
            return np.zeros((max(h - n + 1, 0), max(w - n + 1, 0)))
        r = n // 2
        out = cv2.sepFilter2D(img, cv2.CV_64F, k, k, dst=buffer((h, w)),
                              borderType=cv2.BORDER_CONSTANT)
        return out[r:h - (n - 1 - r), r:w - (n - 1 - r)]
    return cv2.sepFilter2D(img, cv2.CV_64F, k, k, dst=buffer((h, w)), borderType=_BORDERS[shape])


def box_sum_valid(img: np.ndarray, n: int) -> np.ndarray:
    """Sum over every n x n window that fits ('valid'); exact for integer-valued images."""
    h, w = img.shape
    r = n // 2
    out = cv2.boxFilter(img, cv2.CV_64F, (n, n), dst=buffer((h, w)), normalize=False,
                        borderType=cv2.BORDER_CONSTANT)
    return out[r:h - (n - 1 - r), r:w - (n - 1 - r)]


class Stats:
    """Windowed means / variances / covariances of a set of planes under one window.

    filt(x) applies the (normalised) window. Every plane is centred on one shared constant first
    so that E[xy] - E[x]E[y] loses as few digits as possible (covariances do not change).
    flat_masks: a variance within the rounding error of its own subtraction (a window over which
    the plane is constant) is set to exactly 0, and so are that plane's covariances there."""

    SHIFT = 127.5

    def __init__(self, planes: Sequence[np.ndarray], filt: Callable[[np.ndarray], np.ndarray],
                 flat_masks: bool = True):
        self.filt = filt
        self.x = [np.subtract(p, self.SHIFT, out=buffer(np.shape(p)), dtype=np.float64)
                  for p in planes]
        self.mu = [filt(x) for x in self.x]
        self.flat_masks = flat_masks
        self._buf = buffer(self.x[0].shape)
        self._vbuf: np.ndarray | None = None
        self._mean: dict[int, np.ndarray] = {}
        self._cov: dict[tuple[int, int], np.ndarray] = {}
        self._flat: dict[int, np.ndarray | None] = {}

    def mean(self, i: int) -> np.ndarray:
        if i not in self._mean:
            self._mean[i] = np.add(self.mu[i], self.SHIFT, out=buffer(self.mu[i].shape))
        return self._mean[i]

    def flat(self, i: int) -> np.ndarray | None:
        """Mask of windows over which plane i is constant (None when there is none)."""
        self.cov(i, i)
        return self._flat[i]

    def pop_cov(self, i: int, j: int) -> np.ndarray:
        """cov(i, j), handed over to the caller (dropped from the cache, free to modify)."""
        c = self.cov(i, j)
        del self._cov[(min(i, j), max(i, j))]
        return c

    def cov(self, i: int, j: int) -> np.ndarray:
        key = (min(i, j), max(i, j))
        if key in self._cov:
            return self._cov[key]
        np.multiply(self.x[i], self.x[j], out=self._buf)
        c = self.filt(self._buf)
        if self._vbuf is None:
            self._vbuf = buffer(self.mu[0].shape)
        prod = np.multiply(self.mu[i], self.mu[j], out=self._vbuf)
        if self.flat_masks and i == j:
            tol = c * (128 * EPS)
            c -= prod
            flat = c <= tol
            c[flat] = 0.0
            self._flat[i] = flat if flat.any() else None
        else:
            c -= prod
            if self.flat_masks:
                for mask in (self.flat(i), self.flat(j)):
                    if mask is not None:
                        c[mask] = 0.0
        self._cov[key] = c
        return c


def _ssim_from_stats(mx, my, vx, vy, cxy, c1, c2):
    """((2 mx my + C1)(2 cxy + C2)) / ((mx^2 + my^2 + C1)(vx + vy + C2)), few temporaries."""
    num = np.multiply(mx, my, out=buffer(mx.shape))
    num *= 2.0
    num += c1
    t = np.multiply(cxy, 2.0, out=buffer(mx.shape))
    t += c2
    num *= t
    den = np.multiply(mx, mx, out=buffer(mx.shape))
    np.multiply(my, my, out=t)
    den += t
    den += c1
    np.add(vx, vy, out=t)
    t += c2
    den *= t
    num /= den
    return num


def _ssim_guarded(mx, my, vx, vy, cxy, c1, c2):
    """Wang's ssim_index with its guard for C1 or C2 == 0 (denominators that vanish)."""
    if c1 > 0 and c2 > 0:
        return _ssim_from_stats(mx, my, vx, vy, cxy, c1, c2)
    n1, n2 = 2 * mx * my + c1, 2 * cxy + c2
    d1, d2 = mx * mx + my * my + c1, vx + vy + c2
    out = np.ones_like(mx)
    ok = d1 * d2 > 0
    out[ok] = n1[ok] * n2[ok] / (d1[ok] * d2[ok])
    only1 = (d1 != 0) & (d2 == 0)
    out[only1] = n1[only1] / d1[only1]
    return out


def _check_size(img: np.ndarray, n: int, metric: str, why: str) -> None:
    if img.shape[0] < n or img.shape[1] < n:
        raise ValueError(f"{metric} needs images of at least {n} x {n} pixels ({why}); got "
                         f"{img.shape[0]} x {img.shape[1]}")


# ------------------------------------------------------------------------------------------------
# SSIM (Wang et al. 2004)
# ------------------------------------------------------------------------------------------------

def ssim_maps(y: np.ndarray, others: Sequence[np.ndarray], *, data_range: float = 255.0,
              window: str = "gaussian", win_size: int = 11, sigma: float = 1.5,
              border: str = "valid", sample_covariance: bool = False,
              precision: str = "float64", K1: float = 0.01, K2: float = 0.03) -> list[np.ndarray]:
    """SSIM index maps of y against each image in `others` (same scale as data_range); the
    statistics of y are computed once.

    border: 'valid' (Wang's ssim_index.m: filter2 'valid', map smaller by win_size-1),
    'replicate' (MATLAB Image Processing Toolbox `ssim`: imfilter 'replicate', full-size map),
    'reflect-crop' (scikit-image: ndimage filters in 'reflect' mode, then a (win_size-1)/2 border
    cropped from the map). precision 'float32' evaluates as scikit-image does for float32 input
    (all statistics in float32; its result depends on that rounding when data_range is small).
    """
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    if precision == "float32":
        if window != "uniform" or border != "reflect-crop":
            raise ValueError("precision='float32' is only defined for the scikit-image form "
                             "(window='uniform', border='reflect-crop')")
        _check_size(y, win_size, "SSIM", f"scikit-image's win_size {win_size}")
        return _ssim_maps_skimage32(y, others, c1, c2, win_size, sample_covariance)
    if precision != "float64":
        raise ValueError(f"precision must be 'float64' or 'float32', got {precision!r}")
    if window == "gaussian":
        k = gaussian_1d(win_size, sigma)
    elif window == "uniform":
        k = np.full(win_size, 1.0 / win_size)
    else:
        raise ValueError(f"window must be 'gaussian' or 'uniform', got {window!r}")
    crop = 0
    if border == "valid":
        _check_size(y, win_size, "SSIM", f"its {win_size} x {win_size} 'valid' window")
        shape = "valid"
    elif border == "replicate":
        shape = "replicate"
    elif border == "reflect-crop":
        _check_size(y, win_size, "SSIM", f"scikit-image's win_size {win_size}")
        shape, crop = "symmetric", (win_size - 1) // 2
    else:
        raise ValueError(f"border must be 'valid', 'replicate' or 'reflect-crop', got {border!r}")
    st = Stats([y, *others], lambda im: sep_filter(im, k, shape), flat_masks=False)
    norm = 1.0
    if sample_covariance:
        n = win_size * win_size
        norm = n / (n - 1.0)
    maps = []
    vy = st.cov(0, 0)
    if norm != 1.0:
        vy = norm * vy
    my = st.mean(0)
    for i in range(1, len(others) + 1):
        # consumes this pair's statistics in place (they are not needed again)
        vx, cxy, mx = st.pop_cov(i, i), st.pop_cov(0, i), st.mu[i]
        if norm != 1.0:
            vx *= norm
            cxy *= norm
        mx += Stats.SHIFT
        cxy *= 2.0
        cxy += c2                # A2 = 2 cov + C2
        vx += vy
        vx += c2                 # B2 = var_x + var_y + C2
        cxy /= vx                # A2 / B2 (contrast-structure map)
        np.multiply(mx, mx, out=vx)
        vx += my * my
        vx += c1                 # B1
        mx *= my
        mx *= 2.0
        mx += c1                 # A1
        mx /= vx
        mx *= cxy                # SSIM map
        if crop:
            mx = mx[crop:mx.shape[0] - crop, crop:mx.shape[1] - crop]
        maps.append(mx)
    return maps


def ssim_map(x: np.ndarray, y: np.ndarray, **options) -> np.ndarray:
    """SSIM index map of x against y; options as `ssim_maps`."""
    return ssim_maps(x, [y], **options)[0]


def _ssim_maps_skimage32(y, others, c1, c2, win_size, sample_covariance):
    """scikit-image structural_similarity(y, x) on float32 images, step for step (uniform window
    via scipy.ndimage.uniform_filter, float32 arithmetic, crop), as scikit-image 0.19.2 computes
    it (skimage/metrics/_structural_similarity.py: `im1.astype(float_type)`, `cov_norm * (uxx -
    ux * ux)`, `crop(S, pad)`)."""
    n = win_size * win_size
    cov_norm = n / (n - 1) if sample_covariance else 1.0
    pad = (win_size - 1) // 2
    uf = ndimage.uniform_filter
    im1 = np.asarray(y, np.float32)
    ux = uf(im1, size=win_size)
    uxx = uf(im1 * im1, size=win_size)
    vx = cov_norm * (uxx - ux * ux)
    maps = []
    for other in others:
        im2 = np.asarray(other, np.float32)
        uy = uf(im2, size=win_size)
        uyy = uf(im2 * im2, size=win_size)
        uxy = uf(im1 * im2, size=win_size)
        vy = cov_norm * (uyy - uy * uy)
        vxy = cov_norm * (uxy - ux * uy)
        a1, a2 = 2 * ux * uy + c1, 2 * vxy + c2
        b1, b2 = ux ** 2 + uy ** 2 + c1, vx + vy + c2
        s = (a1 * a2) / (b1 * b2)
        maps.append(s[pad:s.shape[0] - pad, pad:s.shape[1] - pad])
    return maps


def _aggregate(values: list[float], how: str) -> float:
    if how == "sum":
        return float(sum(values))
    if how == "mean":
        return float(sum(values) / len(values))
    raise ValueError(f"aggregate must be 'sum' or 'mean', got {how!r}")


def _skimage_mean(m: np.ndarray) -> float:
    return float(m.mean(dtype=np.float64))


@register_metric(
    "SSIM", direction="higher", family="structural",
    aliases=("structural_similarity", "SSIM_a"),
    description="structural similarity of F to each source (Wang et al. 2004), mean over sources",
    conventions={
        "default": {},
        "vifb": {"aggregate": "sum", "_colour": "vifb-ssim"},
        "tang": {"border": "replicate"},
        "cddfuse": {"aggregate": "sum", "data_range": 2.0, "window": "uniform", "win_size": 7,
                    "border": "reflect-crop", "sample_covariance": True,
                    "precision": "float32"},
    })
def ssim(a, b, f, *, aggregate: str = "mean", data_range: float = 255.0,
         window: str = "gaussian", win_size: int = 11, sigma: float = 1.5,
         border: str = "valid", sample_covariance: bool = False,
         precision: str = "float64") -> float:
    """SSIM(A,F) and SSIM(B,F) combined (Wang, Bovik, Sheikh, Simoncelli 2004; K1=0.01, K2=0.03,
    C1=(K1 L)^2, C2=(K2 L)^2, L = data_range on the 0..255 scale of the planes). Unitless; 1 for
    F equal to a source; summed conventions range up to 2.

    Each SSIM is the mean of the local SSIM map; the window, borders and L are the conventions:

    - default: mean over sources; Gaussian 11 x 11, sigma 1.5, 'valid'; L = 255.
    - vifb: SUM over sources; Gaussian 11/1.5 'valid'; L = 255; per RGB channel, averaged, or
      rgb2gray'd sources when F is grey (xingchenzhang/VIFB metrics/metricsSsim.m@5d29ee7:
      `output = ssimVI + ssimIR`, `filter2(w, img1, 'valid')`, `L = 255`, `mean2(ssim_map)`).
    - tang: mean over sources, `SSIM = (ssim(F,A) + ssim(F,B))/2` with MATLAB's Image Processing
      Toolbox `ssim` on `im2double` images (Linfeng-Tang analysis_Reference.m, "SSIM_a" block):
      im2double scales uint8 to [0,1], so MATLAB's class default DynamicRange 1 is the full range,
      i.e. L = 255 on our 0..255 planes; MATLAB's ssim filters with an 11 x 11 Gaussian
      (sigma 1.5, 'replicate' padding, full-size map) and averages the whole map. (METRICS.md's
      0.472 on fight/ADF assumes 0..255 doubles with range 1; that is `data_range=1.0` here, but
      it is not what the toolkit code passes. The newest Evaluation-for-Image-Fusion /
      SeAFusion `analysis_Reference.m` reports `mef_ssim(imgSeq, F)` as "SSIM" instead: that is
      `compute("MEF-SSIM", ..., profile="tang", levels=1)`.)
    - cddfuse: SUM over sources; scikit-image <= 0.19 `structural_similarity(F, X)` defaults on
      float32 grey images: 7 x 7 uniform window, sample covariance (N/(N-1)), 'reflect' filtering
      with a 3-pixel border cropped, data_range = 2 (dtype range of float, -1..1) so C1 and C2 are
      negligible; float32 arithmetic (Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py@40de058:
      `ssim(image_F,image_A)+ssim(image_F,image_B)`).

    Options: aggregate 'sum'|'mean', data_range, window 'gaussian'|'uniform', win_size, sigma,
    border 'valid'|'replicate'|'reflect-crop', sample_covariance, precision 'float64'|'float32'.
    IVIF_ZOO (RollingPlain/IVIF_ZOO Metric/ssim.py) multiplies float images by 255 again before a
    data_range-255 Gaussian 11/1.5 'valid' SSIM and sums over sources: that is
    `aggregate='sum', data_range=1.0` here (up to its float32 arithmetic).
    Images smaller than the window raise ValueError (MATLAB's ssim_index returns -Inf).
    """
    with Arena():
        maps = ssim_maps(f, [a, b], data_range=data_range, window=window, win_size=win_size,
                         sigma=sigma, border=border, sample_covariance=sample_covariance,
                         precision=precision)
        vals = [_skimage_mean(m) for m in maps]
    return _aggregate(vals, aggregate)


# ------------------------------------------------------------------------------------------------
# MS-SSIM (Wang, Simoncelli, Bovik 2003)
# ------------------------------------------------------------------------------------------------

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _downsample_block(x: np.ndarray) -> np.ndarray:
    """Mean of each non-overlapping 2 x 2 block, a trailing odd row/column dropped (Wang's msssim.m:
    filter2(ones(2)/4, x, 'valid') sampled at (1:2:M-1, 1:2:N-1))."""
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def _downsample_symmetric(x: np.ndarray) -> np.ndarray:
    """MATLAB imfilter(x, ones(2)/4, 'symmetric', 'same') sampled at (1:2:end, 1:2:end): 2 x 2
    means anchored at the odd (1-based) samples, the last row/column repeated for odd sizes."""
    if x.shape[0] % 2:
        x = np.vstack([x, x[-1:]])
    if x.shape[1] % 2:
        x = np.hstack([x, x[:, -1:]])
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def _downsample_avgpool(x: np.ndarray) -> np.ndarray:
    """torch avg_pool2d(kernel 2, padding = size % 2, count_include_pad): the zero padding of odd
    sizes is counted in the mean (pytorch_msssim, as IVIF_ZOO's ssim.py uses it)."""
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    if ph or pw:
        x = np.pad(x, ((ph, ph), (pw, pw)))
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


_DOWNSAMPLE = {"block": _downsample_block, "symmetric": _downsample_symmetric,
               "avgpool": _downsample_avgpool}


def ms_ssim_pair(x: np.ndarray, y: np.ndarray, *, data_range: float = 255.0,
                 weights: Sequence[float] = MS_SSIM_WEIGHTS, downsample: str = "block",
                 nonnegative: bool = False, K1: float = 0.01, K2: float = 0.03) -> float:
    levels = len(weights)
    need = 11 * 2 ** (levels - 1)
    _check_size(x, need, "MS-SSIM", f"{levels} scales of an 11 x 11 'valid' window")
    k = gaussian_1d(11, 1.5)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    down = _DOWNSAMPLE[downsample]
    value = 1.0
    for level, wgt in enumerate(weights):
        st = Stats([x, y], lambda im: sep_filter(im, k, "valid"), flat_masks=False)
        vx, vy, cxy = st.cov(0, 0), st.cov(1, 1), st.cov(0, 1)
        cs = float(np.mean((2 * cxy + c2) / (vx + vy + c2)))
        if level < levels - 1:
            term = cs
            x, y = down(x), down(y)
        else:
            mx, my = st.mean(0), st.mean(1)
            term = float(np.mean(_ssim_from_stats(mx, my, vx, vy, cxy, c1, c2)))
        if nonnegative:
            term = max(term, 0.0)
        if term < 0:
            raise _undefined(f"MS-SSIM is not defined: a negative score at scale {level + 1} "
                             f"({term:.4g}) cannot be raised to the weight {wgt}")
        value *= term ** wgt
    return value


@register_metric(
    "MS-SSIM", direction="higher", family="structural",
    aliases=("MS_SSIM", "MSSSIM", "MSSIM"),
    description="multi-scale SSIM of F to each source (Wang et al. 2003), mean over sources",
    conventions={"default": {}})
def ms_ssim(a, b, f, *, aggregate: str = "mean", data_range: float = 255.0,
            weights: Sequence[float] = MS_SSIM_WEIGHTS, downsample: str = "block",
            nonnegative: bool = False) -> float:
    """Wang's multi-scale SSIM (Wang, Simoncelli, Bovik, Asilomar 2003) of F against each source.
    Unitless, <= 1 per source.

    Per source: prod_{j<M} cs_j^w_j * ssim_M^w_M over M = 5 scales, weights (0.0448, 0.2856,
    0.3001, 0.2363, 0.1333); cs_j and ssim_M are means of the contrast-structure and SSIM maps
    under an 11 x 11 Gaussian window (sigma 1.5, 'valid'), K = (0.01, 0.03), L = data_range = 255;
    between scales the images are averaged over 2 x 2 blocks (Wang's msssim.m: filter2(ones(2)/4,
    x, 'valid') sampled at (1:2:M-1, 1:2:N-1)). The coarsest scale's SSIM is raised to its weight
    as in the paper (Wang's original msssim.m multiplies it unweighted; later versions and
    pytorch_msssim weight it). default: the mean over the two sources.

    This is NOT Tang's "MS_SSIM" (the multi-exposure MEF-SSIM of Ma et al.; under profile
    'tang' that name resolves to MEF-SSIM). IVIF_ZOO (RollingPlain/IVIF_ZOO Metric/ssim.py,
    Metric_torch.py) reports the SUM over sources of pytorch_msssim-style MS-SSIM on float
    images multiplied by 255 with data_range 255: `aggregate='sum', data_range=1.0,
    downsample='avgpool', nonnegative=True` reproduces it up to its float32 arithmetic.

    Needs at least 176 x 176 pixels (11 * 2^4); smaller images raise ValueError. A negative
    scale score (possible for anti-correlated images) raises MetricUndefined unless
    nonnegative=True clips it to 0.
    """
    with Arena():
        vals = [ms_ssim_pair(f, s, data_range=data_range, weights=weights,
                             downsample=downsample, nonnegative=nonnegative) for s in (a, b)]
    return _aggregate(vals, aggregate)


# ------------------------------------------------------------------------------------------------
# MEF-SSIM (Ma, Zeng, Wang 2015)
# ------------------------------------------------------------------------------------------------

MEF_WEIGHTS = (0.0448, 0.2856, 0.3001)


def mef_ssim_level(seq: Sequence[np.ndarray], fused: np.ndarray, K: float = 0.03,
                   win_size: int = 11, sigma: float = 1.5) -> float:
    """One scale of Ma et al.'s MEF-SSIM (mef_ssim.m), vectorised.

    Per window position (win_size x win_size, 'valid'): each source patch x_k is split into its
    box mean mu_k, signal strength ed_k = ||x_k - mu_k|| + 0.001 and structure; the desired
    structure is the weighted sum of the sources' structures, weights (ed_k/win)^p + eps with
    p = tan(pi/2 * R) (clipped at 10), R = ||sum_k x_k - mean|| / sum_k ||x_k - mu_k|| the
    structural consistency; it is rescaled to the largest ed_k and compared with the fused patch
    by the SSIM structure term (2 s_rf + C) / (s_r^2 + s_f^2 + C), C = (K 255)^2, with the
    statistics under the Gaussian window. The score is the mean of that map.

    Because the reference patch is linear in the source patches, its windowed statistics follow
    from the sources' box and Gaussian (co)variances, so no per-pixel loop is needed.
    """
    n = win_size
    npix = float(n * n)
    g = gaussian_1d(n, sigma)
    kk = len(seq)
    shift = Stats.SHIFT
    xs = [np.subtract(x, shift, out=buffer(np.shape(x)), dtype=np.float64) for x in seq]
    buf = buffer(xs[0].shape)

    def vbuf() -> np.ndarray:  # a scratch array of the 'valid' size
        return buffer(vshape)

    # box (square-window) statistics: sums and co-scatter S_kl = sum (x_k - mu_k)(x_l - mu_l),
    # exact for integer-valued planes; a source constant over a window has S_kk = 0 exactly
    sums = [box_sum_valid(x, n) for x in xs]
    vshape = sums[0].shape
    tmp = vbuf()
    scatter: dict[tuple[int, int], np.ndarray] = {}
    flat: list[np.ndarray | None] = []
    for i in range(kk):
        np.multiply(xs[i], xs[i], out=buf)
        sxx = box_sum_valid(buf, n)
        tol = np.multiply(sxx, 128 * EPS, out=vbuf())
        np.multiply(sums[i], sums[i], out=tmp)
        tmp /= npix
        sxx -= tmp
        mask = sxx <= tol
        np.copyto(sxx, 0.0, where=mask)
        scatter[(i, i)] = sxx
        flat.append(mask if mask.any() else None)
    for i in range(kk):
        for j in range(i + 1, kk):
            np.multiply(xs[i], xs[j], out=buf)
            sxy = box_sum_valid(buf, n)
            np.multiply(sums[i], sums[j], out=tmp)
            tmp /= npix
            sxy -= tmp
            for mask in (flat[i], flat[j]):
                if mask is not None:
                    np.copyto(sxy, 0.0, where=mask)
            scatter[(i, j)] = scatter[(j, i)] = sxy
    norms = [np.sqrt(scatter[(i, i)], out=vbuf()) for i in range(kk)]
    ed = [np.add(nk, 0.001, out=vbuf()) for nk in norms]
    pairs = [(i, j) for i in range(kk) for j in range(i, kk)]

    # structural consistency R -> exponent p -> source weights
    total = vbuf()
    total.fill(0.0)
    for i, j in pairs:
        if i == j:
            total += scatter[(i, j)]
        else:
            np.multiply(scatter[(i, j)], 2.0, out=tmp)
            total += tmp
    np.maximum(total, 0.0, out=total)
    r = np.sqrt(total, out=total)
    r += EPS
    den = tmp
    np.copyto(den, norms[0])
    for nk in norms[1:]:
        den += nk
    den += EPS
    r /= den
    # R > 1 -> 1 - eps (R >= eps / (den + eps) > 0 always, so R < 0 never happens); for R in
    # (1 - eps, 1] tan(pi/2 R) exceeds 10 either way
    np.minimum(r, 1 - EPS, out=r)
    r *= np.pi / 2
    p = np.tan(r, out=r)
    np.minimum(p, 10.0, out=p)
    coef = []  # a_k = w_k / normalizer / ed_k, w_k = (ed_k / n)^p + eps
    for e in ed:
        w = np.divide(e, n, out=vbuf())
        np.log(w, out=w)
        w *= p
        np.exp(w, out=w)
        w += EPS
        coef.append(w)
    normalizer = tmp
    np.copyto(normalizer, coef[0])
    for w in coef[1:]:
        normalizer += w
    for w, e in zip(coef, ed):
        w /= normalizer
        w /= e
    max_ed = ed[0]
    for e in ed[1:]:
        np.maximum(max_ed, e, out=max_ed)  # ed is not needed again

    def quad(stat) -> np.ndarray:
        """sum_kl a_k a_l stat(k, l), each unordered pair once."""
        acc = vbuf()
        acc.fill(0.0)
        t = tmp
        for i, j in pairs:
            np.multiply(coef[i], coef[j], out=t)
            np.multiply(t, stat(i, j), out=t)
            if i != j:
                np.multiply(t, 2.0, out=t)
            np.add(acc, t, out=acc)
        return acc

    # ||sum_k a_k (x_k - mu_k)||^2 over the window, and the rescaling to max ed
    raw2 = quad(lambda i, j: scatter[(i, j)])
    tol = vbuf()
    tol.fill(0.0)
    for i in range(kk):
        np.multiply(coef[i], coef[i], out=tmp)
        tmp *= scatter[(i, i)]
        tol += tmp
    tol *= 64 * EPS
    positive = raw2 > tol
    scale = np.sqrt(raw2, out=raw2)
    np.divide(max_ed, scale, out=scale, where=positive)
    np.copyto(scale, 1.0, where=~positive)

    # Gaussian-window statistics of the sources and F (constant source windows: exactly 0)
    planes = [*seq, fused]
    st = Stats(planes, lambda im: sep_filter(im, g, "valid"), flat_masks=False)
    fi = kk

    def gcov(i: int, j: int) -> np.ndarray:
        c = st.cov(i, j)
        for mask in (flat[i] if i < kk else None, flat[j] if j < kk else None):
            if mask is not None:
                np.copyto(c, 0.0, where=mask)
        return c

    var_r = quad(gcov)
    var_r *= scale
    var_r *= scale
    cov_rf = vbuf()
    cov_rf.fill(0.0)
    for i in range(kk):
        np.multiply(coef[i], gcov(i, fi), out=tmp)
        cov_rf += tmp
    cov_rf *= scale
    c = (K * 255.0) ** 2
    num = cov_rf
    num *= 2.0
    num += c
    var_r += st.cov(fi, fi)
    var_r += c
    num /= var_r
    return float(np.mean(num))


def mef_ssim_value(seq: Sequence[np.ndarray], fused: np.ndarray, *, K: float = 0.03,
                   levels: int = 3, weights: Sequence[float] | None = MEF_WEIGHTS) -> float:
    """mef_ms_ssim.m: MEF-SSIM at `levels` scales (2 x 2 mean, 'symmetric' padding, odd samples
    kept), combined as prod Q_l^w_l with the weights normalised to sum 1."""
    if weights is None or len(weights) != levels:
        if levels == 1:
            weights = (1.0,)
        else:
            raise ValueError(f"MEF-SSIM: {levels} levels need {levels} weights, got {weights}")
    w = np.asarray(weights, np.float64)
    w = w / w.sum()
    need = 11 * 2 ** (levels - 1)
    _check_size(fused, need, "MEF-SSIM", f"{levels} scales of an 11 x 11 window; the toolkits "
                "return -Inf")
    seq = [np.asarray(x, np.float64) for x in seq]
    fused = np.asarray(fused, np.float64)
    if levels == 1:
        return mef_ssim_level(seq, fused, K)
    q = []
    for level in range(levels):
        q.append(mef_ssim_level(seq, fused, K))
        if level < levels - 1:
            seq = [_downsample_symmetric(x) for x in seq]
            fused = _downsample_symmetric(fused)
    q = np.asarray(q)
    if np.any(q < 0):
        raise _undefined(f"MEF-SSIM is not defined: a negative scale score {q.min():.4g} "
                         "(MATLAB would return a complex number)")
    return float(np.prod(q ** w))


@register_metric(
    "MEF-SSIM", direction="higher", family="structural",
    aliases=("MEF_SSIM", "MEFSSIM", "mef_ms_ssim", "MEF-MS-SSIM"),
    description="multi-exposure-fusion structural similarity of F to the source stack (Ma 2015)",
    conventions={
        "default": {},
        "tang": {},
        "mefb": {"_colour": "rgb2gray"},
    })
def mef_ssim(a, b, f, *, K: float = 0.03, levels: int = 3,
             weights: Sequence[float] | None = MEF_WEIGHTS) -> float:
    """MEF-SSIM (K. Ma, K. Zeng, Z. Wang, "Perceptual quality assessment for multi-exposure image
    fusion", IEEE TIP 24(11), 2015): the SSIM structure term between F and a reference patch
    synthesised from the source stack {A, B}, averaged over the image and combined over 3 scales.
    Unitless, <= 1. Symmetric in the sources (one stack, not a sum or mean of pairs).

    Window: 11 x 11 box for the patch decomposition, 11 x 11 Gaussian (sigma 1.5) for the
    statistics, 'valid'; C = (0.03 * 255)^2 (MATLAB mef_ssim.m uses 255 whatever the input range);
    3 scales with weights (0.0448, 0.2856, 0.3001)/sum, 2 x 2 mean downsampling with 'symmetric'
    padding, Q = prod Q_l^w_l.

    - tang: Tang's "MS_SSIM" (Linfeng-Tang/SeAFusion Evaluation/analysis_ms_ssim.m@d3ae78e,
      called as `analysis_ms_ssim(imgSeq, image_f)` with imgSeq = [ir, vi] after rgb2gray),
      identical to mef_ms_ssim.m. The newest analysis_Reference.m also reports "SSIM" as the
      single-scale `mef_ssim(imgSeq, image_f)`: pass levels=1.
    - mefb: MEFB metricsMEF_SSIM.m@82014f4: `rgb2gray` of each source and of F (uint8), then
      `mef_ms_ssim(imgSeq, fI1)` with the defaults above.
    - default: same algorithm on the profile's grey planes.

    Needs at least 44 x 44 pixels for 3 levels (the toolkits return -Inf): ValueError. A
    negative scale score raises MetricUndefined.
    """
    with Arena():
        return mef_ssim_value([a, b], f, K=K, levels=levels, weights=weights)


# ------------------------------------------------------------------------------------------------
# Yang (Qy), Cvejic (Qc), Piella (Qw): SSIM-based fusion indices (Z. Liu's implementations as MEFB
# ships them)
# ------------------------------------------------------------------------------------------------

_C_YANG = 2e-16


def _yang_stats(planes: Sequence[np.ndarray]) -> Stats:
    _check_size(planes[0], 11, "this SSIM-based index", "Liu's ssim_yang returns -Inf below 11")
    k = gaussian_1d(7, 1.5)
    return Stats(planes, lambda im: sep_filter(im, k, "valid"), flat_masks=True)


def _yang_map(st: Stats, i: int, j: int) -> np.ndarray:
    return _ssim_guarded(st.mean(i), st.mean(j), st.cov(i, i), st.cov(j, j), st.cov(i, j),
                         _C_YANG, _C_YANG)


def _nanfree_mean(values: np.ndarray, metric: str, why: str) -> float:
    keep = values[~np.isnan(values)]
    if keep.size == 0:
        raise _undefined(f"{metric} is not defined for this input: {why}")
    return float(np.mean(keep))


@register_metric(
    "Qy", direction="higher", family="structural", aliases=("Q_Y", "metricYang", "metricsQy"),
    description="Yang et al.'s SSIM-based fusion quality (2008)",
    conventions={"default": {}, "mefb": {"_colour": "mefb-red"}})
def q_yang(a, b, f) -> float:
    """Qy (C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, Inf. Fusion 9(2), 2008). Unitless, <= 1.

    SSIM maps with a 7 x 7 Gaussian window (sigma 1.5, 'valid') and C1 = C2 = 2e-16 (Liu's
    ssim_yang). Where SSIM(A,B) >= 0.75 the score is lambda SSIM(A,F) + (1 - lambda) SSIM(B,F),
    lambda = s_A^2 / (s_A^2 + s_B^2) (local variances); elsewhere max(SSIM(A,F), SSIM(B,F)). Pixels
    where lambda is 0/0 (A and B both constant over the window) are dropped, as MEFB drops NaN
    (`A = A(~isnan(A))`), and the rest are averaged. Sources combined inside the formula.

    - mefb / default: MEFB metricsQy.m@82014f4 (Liu's metricYang.m plus the NaN removal). MEFB
      scores only F's red channel when both sources are grey ('mefb-red' colour rule).

    With C = 2e-16, MATLAB's own rounding noise (about 1e-12) in windows where an image is
    constant but not zero decides the SSIM there; here such windows have variance exactly 0, the
    exact-arithmetic result. Needs at least 11 x 11 pixels (ValueError); constant sources leave no
    pixel (MetricUndefined).
    """
    with Arena():
        st = _yang_stats([a, b, f])
        s_ab, s_af, s_bf = _yang_map(st, 0, 1), _yang_map(st, 0, 2), _yang_map(st, 1, 2)
        va, vb = st.cov(0, 0), st.cov(1, 1)
        lam = np.add(va, vb, out=buffer(va.shape))
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(va, lam, out=lam)
        binary = s_ab >= 0.75
        # where SSIM(A,B) >= 0.75: lam SSIM(A,F) + (1 - lam) SSIM(B,F) = SSIM(B,F) + lam (
        # SSIM(A,F) - SSIM(B,F)); elsewhere the larger of the two. NaN (0/0) times 0 stays NaN,
        # so those pixels drop out in both branches, as in MATLAB.
        q = np.subtract(s_af, s_bf, out=s_ab)
        q *= lam
        q += s_bf
        q *= binary
        big = np.maximum(s_af, s_bf, out=s_af)
        big *= ~binary
        q += big
        return _nanfree_mean(q, "Qy", "the sources are constant over every 7 x 7 window")


@register_metric(
    "Qc", direction="higher", family="structural", aliases=("Q_C", "metricCvejic", "metricsQc"),
    description="Cvejic et al.'s SSIM-based fusion quality (2006)",
    conventions={"default": {}, "mefb": {"_colour": "mefb-red"}})
def q_cvejic(a, b, f) -> float:
    """Qc (N. Cvejic, A. Loza, D. Bull, N. Canagarajah, Int. J. Signal Process. 2(3), 2006);
    Liu's metricCvejic.m metric 2. Unitless, <= 1.

    SSIM maps SSIM(A,F), SSIM(B,F) with Liu's ssim_yang (7 x 7 Gaussian, sigma 1.5, 'valid',
    C1 = C2 = 2e-16); sim = mu SSIM(A,F) + (1 - mu) SSIM(B,F) with mu = s_AF / (s_AF + s_BF) (local
    covariances with F), sim = 0 where mu < 0 and 1 where mu > 1 (so also where the denominator
    is 0 with a nonzero numerator), pixels with mu = 0/0 dropped (MEFB: `sim(~isnan(sim))`), mean.
    Not symmetric in A and B: where s_AF and s_BF have opposite signs the clamps give 0 or 1
    depending on the order (MEFB passes its two exposures in file order).

    - mefb / default: MEFB metricsQc.m@82014f4; 'mefb-red' colour rule under mefb.

    Same note on MATLAB rounding noise as Qy. Needs at least 11 x 11 pixels; an F without
    covariance with either source anywhere (e.g. a constant F) raises MetricUndefined.
    """
    with Arena():
        st = _yang_stats([a, b, f])
        s_af, s_bf = _yang_map(st, 0, 2), _yang_map(st, 1, 2)
        caf, cbf = st.cov(0, 2), st.cov(1, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = caf / (caf + cbf)
            sim = mu * s_af + (1 - mu) * s_bf
        sim[mu < 0] = 0.0
        sim[mu > 1] = 1.0
        return _nanfree_mean(sim, "Qc", "F has no covariance with either source in any window")


def _piella_weighted(x: np.ndarray, y: np.ndarray, fz: np.ndarray) -> float:
    """Piella's weighted fusion quality index with Wang's ssim_index (11 x 11 Gaussian 'valid',
    L = 255): sum_w c(w) [lambda(w) SSIM(F,A|w) + (1 - lambda(w)) SSIM(F,B|w)], lambda =
    s_A^2/(s_A^2 + s_B^2) (0.5 where both are 0), c(w) = max(s_A^2, s_B^2) / sum max(...)."""
    _check_size(x, 11, "Qw", "Wang's ssim_index needs 11 x 11")
    k = gaussian_1d(11, 1.5)
    st = Stats([x, y, fz], lambda im: sep_filter(im, k, "valid"), flat_masks=True)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    va, vb = st.cov(0, 0), st.cov(1, 1)
    both0 = (va + vb) == 0
    va = va + 0.5 * both0
    vb = vb + 0.5 * both0
    lam = va / (va + vb)
    s_fa = _ssim_from_stats(st.mean(2), st.mean(0), st.cov(2, 2), st.cov(0, 0), st.cov(0, 2),
                            c1, c2)
    s_fb = _ssim_from_stats(st.mean(2), st.mean(1), st.cov(2, 2), st.cov(1, 1), st.cov(1, 2),
                            c1, c2)
    cw = np.maximum(va, vb)
    total = cw.sum()
    if not total > 0:
        raise _undefined("Qw is not defined: the source variances sum to 0")
    return float(np.sum(cw / total * (lam * s_fa + (1 - lam) * s_fb)))


_PREWITT_X = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
_PREWITT_Y = _PREWITT_X.T.copy()


def _edge_magnitude(img: np.ndarray) -> np.ndarray:
    """Liu's metricPeilla.m edge image: sqrt(gx^2 + gy^2) with filter2([1 0 -1; 1 0 -1; 1 0 -1],
    x, 'same') and its transpose (zero padding)."""
    gx = cv2.filter2D(img, cv2.CV_64F, _PREWITT_X, borderType=cv2.BORDER_CONSTANT)
    gy = cv2.filter2D(img, cv2.CV_64F, _PREWITT_Y, borderType=cv2.BORDER_CONSTANT)
    return np.sqrt(gx * gx + gy * gy)


@register_metric(
    "Qw", direction="higher", family="structural",
    aliases=("Q_W", "metricPeilla", "metricPiella", "metricsQw"),
    description="Piella's weighted fusion quality index (2003)",
    conventions={"default": {}, "mefb": {"features": "edges", "_colour": "mefb-red"}})
def q_piella(a, b, f, *, features: str = "intensity") -> float:
    """Qw, Piella and Heijmans' weighted fusion quality index (ICIP 2003); Liu's metricPeilla.m.
    Unitless, <= 1. Sources combined by local-variance saliency lambda and window weights
    c(w) = max(s_A^2, s_B^2) normalised to sum 1; SSIM is Wang's ssim_index (11 x 11 Gaussian,
    sigma 1.5, 'valid', K = (0.01, 0.03), L = 255).

    - default: features='intensity', Piella's Q_W on the images (Liu's `sw = 2`).
    - mefb: features='edges'. MEFB's metricsQw.m@82014f4 hard-codes `sw = 3` and returns
      `Qe = Qw^alpha` with alpha = 1, where Qw is the weighted index computed on the edge-magnitude
      images (3 x 3 Prewitt-like filters, filter2 'same'); Liu's sw = 3 would multiply by the
      intensity index (`Qe = Q*Qw^alpha`) but never defines Q. So MEFB's "Qw" is the weighted
      index of the edge maps, not of the images. 'mefb-red' colour rule.

    Needs at least 11 x 11 pixels. Constant sources give lambda = 1/2 everywhere (the +0.5 rule).
    """
    if features == "intensity":
        with Arena():
            return _piella_weighted(a, b, f)
    if features == "edges":
        with Arena():
            return _piella_weighted(_edge_magnitude(a), _edge_magnitude(b), _edge_magnitude(f))
    raise ValueError(f"features must be 'intensity' or 'edges', got {features!r}")
