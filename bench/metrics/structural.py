"""Structural-similarity metrics: SSIM, MS-SSIM, MEF-SSIM, and the SSIM-based fusion indices of
Yang (Qy), Cvejic (Qc) and Piella (Qs, Qw).

Every metric here is computed from local (windowed) means, variances and covariances. They are
re-implemented from the published formulas and from the behaviour of the reference code (read,
not copied), with all windowed statistics computed by separable filters or box sums over the whole
image at once (no per-pixel loops; MATLAB's mef_ssim.m loops over every pixel).

Shared conventions of the windowed statistics:
- images are grey planes on the 0..255 scale (the profile's colour rule made them);
- `fspecial('gaussian', n, s)` windows are separable, so they are applied as two 1-D passes
  (OpenCV sepFilter2D, float64);
- 'valid' means the statistics exist only where the whole window fits (MATLAB
  `filter2(w, x, 'valid')`); 'replicate' / 'reflect' pad the image so every pixel has one.
  'valid' statistics are computed as same-size arrays with zero padding (contiguous arrays are
  about three times faster to combine than strided views) and cropped once, before averaging;
- a window over which an image is exactly constant has variance exactly 0 in Qy, Qc, Qs, Qw and
  MEF-SSIM (the sum-of-squares statistic is snapped to 0 when it is below the rounding error of
  the subtraction). MATLAB's `filter2` leaves rounding noise of about 1e-12 there instead; that
  only matters for Qy and Qc, whose constants are 2e-16 (see their docstrings);
- planes are centred on 127.5 before products are filtered, so E[xy] - E[x]E[y] keeps more
  digits (the (co)variances do not change);
- the registered metrics run inside an `Arena`, which recycles their scratch arrays between
  calls (see its docstring), and return plain floats.

Speed (480 x 640, one core, `compute()` including its ~4 ms colour conversion; best of repeated
runs on a shared 2-core VM): SSIM ~18 ms, MS-SSIM ~22 ms, MEF-SSIM ~45 ms, Qy ~22 ms, Qc ~19 ms,
Qs/Qw ~22 ms (before this layout: 25, 30, 54, 29, 24, -, 35 ms). The windowed filters (float64
sepFilter2D, ~1 ms per plane) are most of it. float32 filtering would halve them but moves the
scores by up to 3e-4 relative where the SSIM maps are near 0/0 (e.g. an all-zero F), so
everything is float64. Within one `compute_many()` call, Tang's "SSIM" (MEF-SSIM, one scale) is
reused by its "MS_SSIM", and Qs and Qw share their maps (`memo`).
"""
from __future__ import annotations

import threading
import weakref
from typing import Callable, Sequence, TypeVar

import cv2
import numpy as np
from scipy import ndimage

from .registry import register_metric

EPS = float(np.finfo(np.float64).eps)  # MATLAB eps
SHIFT = 127.5  # centring constant of the windowed statistics


def _undefined(message: str) -> Exception:
    from . import MetricUndefined  # defined in the package before its modules are loaded
    return MetricUndefined(message)


# ------------------------------------------------------------------------------------------------
# Scratch memory and windowed statistics
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
    (the allocator returns freed large blocks to the system), which costs about as much as the
    arithmetic on it (measured at 480 x 640: SSIM 14 ms with fresh arrays, 10 ms recycled).
    Inside `with Arena():` the filters and window statistics of this module take their outputs
    from a per-thread pool instead; the arrays go back to the pool when the block ends, so nothing
    allocated inside may be used after it (the metric functions only return floats). Outside any
    arena everything is allocated normally.
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


T = TypeVar("T")
_MEMO = threading.local()


def memo(planes: Sequence[np.ndarray], key: tuple, compute: Callable[[], T]) -> T:
    """compute() once per set of read-only planes: a later call with the very same plane
    objects returns the stored result (plain floats only, never scratch arrays).

    compute_many() hands every metric of a triple the same read-only planes, so a score that two
    metrics share is computed once (Tang's "SSIM" is the first scale of its "MS_SSIM"; Qs and Qw
    come from the same maps). An entry lives only as long as its planes (weak references), and
    writable arrays are never memoised (their contents could change between calls)."""
    if not all(isinstance(p, np.ndarray) and not p.flags.writeable for p in planes):
        return compute()
    store = getattr(_MEMO, "store", None)
    if store is None:
        store = _MEMO.store = {}
    k = (key, tuple(id(p) for p in planes))
    hit = store.get(k)
    if hit is not None and all(r() is p for r, p in zip(hit[0], planes)):
        return hit[1]
    value = compute()
    for old in [kk for kk, (refs, _) in store.items() if any(r() is None for r in refs)]:
        del store[old]
    store[k] = (tuple(weakref.ref(p) for p in planes), value)
    return value


_BORDERS = {"zero": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE,
            "symmetric": cv2.BORDER_REFLECT}


def filter_same(img: np.ndarray, k: np.ndarray, border: str = "zero") -> np.ndarray:
    """Correlate with the separable window k k^T, same-size result (anchor at k's centre
    element n // 2). border: 'zero' (then only the crop `valid_view` is MATLAB's filter2
    'valid'), 'replicate' (MATLAB imfilter 'replicate') or 'symmetric' (MATLAB 'symmetric' = edge
    sample repeated)."""
    return cv2.sepFilter2D(img, cv2.CV_64F, k, k, dst=buffer(img.shape),
                           borderType=_BORDERS[border])


def valid_view(x: np.ndarray, n: int) -> np.ndarray:
    """The part of a same-size zero-padded n x n window result where the window fits."""
    r = n // 2
    return x[r:x.shape[0] - (n - 1 - r), r:x.shape[1] - (n - 1 - r)]


def sep_filter(img: np.ndarray, k: np.ndarray, shape: str = "valid") -> np.ndarray:
    """Correlate with the separable window k k^T. shape: 'valid' (MATLAB filter2 'valid'; a view)
    or a padding for a same-size result: 'zero', 'replicate' or 'symmetric'."""
    n = k.size
    h, w = img.shape
    if shape == "valid":
        if h < n or w < n:
            return np.zeros((max(h - n + 1, 0), max(w - n + 1, 0)))
        return valid_view(filter_same(img, k, "zero"), n)
    return filter_same(img, k, shape)


def box_sum_same(img: np.ndarray, n: int) -> np.ndarray:
    """Sum over the n x n window around every pixel (zero padding; exact for integer-valued
    and half-integer images)."""
    return cv2.boxFilter(img, cv2.CV_64F, (n, n), dst=buffer(img.shape), normalize=False,
                         borderType=cv2.BORDER_CONSTANT)


class Moments:
    """Windowed means / variances / covariances of a set of planes under one separable window,
    as same-size float64 arrays (crop them with `valid_view` for 'valid' statistics).

    Every plane is centred on SHIFT first so that E[xy] - E[x]E[y] loses as few digits as
    possible (covariances do not change); `mu[i]` is the centred mean, `mean(i)` the true one.
    snap_flat: a variance within the rounding error of its own subtraction (a window over which
    the plane is constant) is set to exactly 0, and so are that plane's covariances there; `flat(i)`
    is that window mask (None when there is none)."""

    def __init__(self, planes: Sequence[np.ndarray], k: np.ndarray, border: str = "zero",
                 snap_flat: bool = False):
        shape = np.shape(planes[0])
        self.k, self.border, self.snap = k, border, snap_flat
        self.x = [np.subtract(p, SHIFT, out=buffer(shape), dtype=np.float64) for p in planes]
        self.mu = [filter_same(x, k, border) for x in self.x]
        self._tmp = buffer(shape)
        self._tmp2 = buffer(shape)
        self._cov: dict[tuple[int, int], np.ndarray] = {}
        self._flat: dict[int, np.ndarray | None] = {}

    def mean(self, i: int) -> np.ndarray:
        """The window mean of plane i (a new array)."""
        return np.add(self.mu[i], SHIFT, out=buffer(self.mu[i].shape))

    def flat(self, i: int) -> np.ndarray | None:
        self.cov(i, i)
        return self._flat.get(i)

    def pop_cov(self, i: int, j: int) -> np.ndarray:
        """cov(i, j), handed over to the caller (dropped from the cache, free to modify)."""
        c = self.cov(i, j)
        del self._cov[(min(i, j), max(i, j))]
        return c

    def cov(self, i: int, j: int) -> np.ndarray:
        key = (min(i, j), max(i, j))
        c = self._cov.get(key)
        if c is not None:
            return c
        np.multiply(self.x[i], self.x[j], out=self._tmp)
        c = filter_same(self._tmp, self.k, self.border)
        prod = np.multiply(self.mu[i], self.mu[j], out=self._tmp2)
        if self.snap and i == j:
            tol = np.multiply(c, 128 * EPS, out=self._tmp)
            c -= prod
            flat = c <= tol
            np.copyto(c, 0.0, where=flat)
            self._flat[i] = flat if flat.any() else None
        else:
            c -= prod
            if self.snap:
                for mask in (self.flat(i), self.flat(j)):
                    if mask is not None:
                        np.copyto(c, 0.0, where=mask)
        self._cov[key] = c
        return c


def _ssim_from_moments(mi: np.ndarray, mj: np.ndarray, vi: np.ndarray, vj: np.ndarray,
                       cij: np.ndarray, c1: float, c2: float) -> np.ndarray:
    """((2 mi mj + C1)(2 cij + C2)) / ((mi^2 + mj^2 + C1)(vi + vj + C2)) as a new array (the
    inputs are not modified; mi, mj are true means)."""
    num = np.multiply(mi, mj, out=buffer(mi.shape))
    num *= 2.0
    num += c1
    t = np.multiply(cij, 2.0, out=buffer(mi.shape))
    t += c2
    num *= t
    den = np.multiply(mi, mi, out=buffer(mi.shape))
    np.multiply(mj, mj, out=t)
    den += t
    den += c1
    np.add(vi, vj, out=t)
    t += c2
    den *= t
    num /= den
    return num


def _check_size(img: np.ndarray, n: int, metric: str, why: str) -> None:
    if img.shape[0] < n or img.shape[1] < n:
        raise ValueError(f"{metric} needs images of at least {n} x {n} pixels ({why}); got "
                         f"{img.shape[0]} x {img.shape[1]}")


def _mean(m: np.ndarray) -> float:
    return float(m.mean(dtype=np.float64))


_skimage_mean = _mean  # the name reference.py imports


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
    if border == "valid":
        _check_size(y, win_size, "SSIM", f"its {win_size} x {win_size} 'valid' window")
        pad, crop = "zero", (lambda m: valid_view(m, win_size))
    elif border == "replicate":
        pad, crop = "replicate", (lambda m: m)
    elif border == "reflect-crop":
        _check_size(y, win_size, "SSIM", f"scikit-image's win_size {win_size}")
        r = (win_size - 1) // 2
        pad, crop = "symmetric", (lambda m: m[r:m.shape[0] - r, r:m.shape[1] - r])
    else:
        raise ValueError(f"border must be 'valid', 'replicate' or 'reflect-crop', got {border!r}")
    st = Moments([y, *others], k, pad)
    norm = 1.0
    if sample_covariance:
        n = win_size * win_size
        norm = n / (n - 1.0)
    vy = st.pop_cov(0, 0)
    if norm != 1.0:
        vy *= norm
    vy += c2                      # var_y + C2
    my = st.mean(0)
    b1y = np.multiply(my, my, out=buffer(my.shape))
    b1y += c1                     # my^2 + C1
    maps = []
    with np.errstate(divide="ignore", invalid="ignore"):  # zero-padded borders are cropped
        for i in range(1, len(others) + 1):
            # consumes this pair's statistics in place (they are not needed again)
            vx, cxy, mx = st.pop_cov(i, i), st.pop_cov(0, i), st.mu[i]
            if norm != 1.0:
                vx *= norm
                cxy *= norm
            mx += SHIFT
            cxy *= 2.0
            cxy += c2             # A2 = 2 cov + C2
            vx += vy              # B2 = var_x + var_y + C2
            cxy /= vx             # A2 / B2 (contrast-structure map)
            np.multiply(mx, mx, out=vx)
            vx += b1y             # B1
            mx *= my
            mx *= 2.0
            mx += c1              # A1
            mx /= vx
            mx *= cxy             # SSIM map
            maps.append(crop(mx))
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


# Tang's commented-out "SSIM_a" block, `(ssim(F, A) + ssim(F, B)) / 2` with MATLAB's Image
# Processing Toolbox ssim (11 x 11 Gaussian 1.5, 'replicate' padding, full-size map), under the
# two readings of its data range.
_SSIM_VARIANTS = {
    "wang": {},
    "mef-ssim": {},
    "tang-ssim-im2double": {"aggregate": "mean", "data_range": 255.0, "window": "gaussian",
                            "win_size": 11, "sigma": 1.5, "border": "replicate"},
    "tang-ssim-range1": {"aggregate": "mean", "data_range": 1.0, "window": "gaussian",
                         "win_size": 11, "sigma": 1.5, "border": "replicate"},
}


@register_metric(
    "SSIM", direction="higher", family="structural",
    aliases=("structural_similarity", "SSIM_a"),
    description="structural similarity of F to each source (Wang et al. 2004), mean over sources",
    conventions={
        "default": {},
        "vifb": {"aggregate": "sum", "_colour": "vifb-loop-u8"},
        "tang": {"variant": "mef-ssim"},
        "cddfuse": {"aggregate": "sum", "data_range": 2.0, "window": "uniform", "win_size": 7,
                    "border": "reflect-crop", "sample_covariance": True,
                    "precision": "float32"},
    })
def ssim(a, b, f, *, variant: str = "wang", aggregate: str = "mean", data_range: float = 255.0,
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
    - tang: variant='mef-ssim'. The published toolkit's "SSIM" is NOT Wang's SSIM:
      Linfeng-Tang/Image-Fusion `General Evaluation Metric/Evaluation/analysis_Reference.m`@53f5542
      (= Linfeng-Tang/SeAFusion Evaluation/analysis_Reference.m@d3ae78e) computes
      `SSIM = mef_ssim(imgSeq, image_f)` with `imgSeq = cat(3, image_ir, image_vis)` on the
      uint8 (rgb2gray'd) images; the `ssim(...)` lines are commented out. That is Ma et al.'s
      single-scale MEF-SSIM of F against the (A, B) stack (11 x 11 box patches, Gaussian
      11/1.5 statistics, 'valid', C = (0.03 * 255)^2): `mef_ssim_value([A, B], F, levels=1)`,
      one score for the stack, symmetric in the sources (aggregate does not apply).
    - cddfuse: SUM over sources; scikit-image <= 0.19 `structural_similarity(F, X)` defaults on
      float32 grey images: 7 x 7 uniform window, sample covariance (N/(N-1)), 'reflect' filtering
      with a 3-pixel border cropped, data_range = 2 (dtype range of float, -1..1) so C1 and C2 are
      negligible; float32 arithmetic (Zhaozixiang1228/MMIF-CDDFuse utils/Evaluator.py@40de058:
      `ssim(image_F,image_A)+ssim(image_F,image_B)`).

    variant:
    - 'wang' (default): Wang's SSIM with the window options below.
    - 'mef-ssim': Tang's published "SSIM" (above).
    - 'tang-ssim-im2double': Tang's older, commented-out "SSIM_a" block,
      `(ssim(image_fused, image1) + ssim(image_fused, image2)) / 2` with MATLAB's Image
      Processing Toolbox `ssim` on `im2double` images: 11 x 11 Gaussian (sigma 1.5) with
      'replicate' padding, the whole full-size map averaged; im2double scales uint8 to [0, 1] so
      ssim's DynamicRange 1 is the full range, i.e. L = 255 on our 0..255 planes. (0.7544 on
      VIFB fight/ADF.)
    - 'tang-ssim-range1': the same block read as METRICS.md reads it, MATLAB ssim with data
      range 1 on 0..255 doubles, i.e. L = 1 here: C1, C2 become negligible (0.472 on fight/ADF).
      These two presets fix aggregate, data_range, window, win_size, sigma and border.

    Options (variant 'wang'): aggregate 'sum'|'mean', data_range, window 'gaussian'|'uniform',
    win_size, sigma, border 'valid'|'replicate'|'reflect-crop', sample_covariance, precision
    'float64'|'float32'.
    IVIF_ZOO (RollingPlain/IVIF_ZOO Metric/ssim.py) multiplies float images by 255 again before a
    data_range-255 Gaussian 11/1.5 'valid' SSIM and sums over sources: that is
    `aggregate='sum', data_range=1.0` here (up to its float32 arithmetic).
    Images smaller than the window raise ValueError (MATLAB's ssim_index returns -Inf).
    """
    if variant not in _SSIM_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(_SSIM_VARIANTS)}; got {variant!r}")
    if variant == "mef-ssim":
        with Arena():
            return mef_ssim_value([a, b], f, levels=1)
    preset = _SSIM_VARIANTS[variant]
    if preset:
        aggregate, data_range, window = preset["aggregate"], preset["data_range"], preset["window"]
        win_size, sigma, border = preset["win_size"], preset["sigma"], preset["border"]
    with Arena():
        maps = ssim_maps(f, [a, b], data_range=data_range, window=window, win_size=win_size,
                         sigma=sigma, border=border, sample_covariance=sample_covariance,
                         precision=precision)
        vals = [_mean(m) for m in maps]
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


def ms_ssim_values(y: np.ndarray, others: Sequence[np.ndarray], *, data_range: float = 255.0,
                   weights: Sequence[float] = MS_SSIM_WEIGHTS, downsample: str = "block",
                   nonnegative: bool = False, K1: float = 0.01,
                   K2: float = 0.03) -> list[float]:
    """MS-SSIM of y against each image in `others`; y's statistics are computed once per scale."""
    levels = len(weights)
    need = 11 * 2 ** (levels - 1)
    _check_size(y, need, "MS-SSIM", f"{levels} scales of an 11 x 11 'valid' window")
    k = gaussian_1d(11, 1.5)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    down = _DOWNSAMPLE[downsample]
    planes = [np.asarray(y, np.float64), *(np.asarray(x, np.float64) for x in others)]
    values = [1.0] * len(others)
    for level, wgt in enumerate(weights):
        last = level == levels - 1
        st = Moments(planes, k, "zero")
        vy = st.cov(0, 0)
        my = st.mean(0) if last else None
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in range(1, len(planes)):
                vx, cxy = st.pop_cov(i, i), st.pop_cov(0, i)
                if last:
                    m = _ssim_from_moments(my, st.mean(i), vx, vy, cxy, c1, c2)
                else:
                    m = cxy
                    m *= 2.0
                    m += c2
                    vx += vy
                    vx += c2
                    m /= vx
                term = _mean(valid_view(m, 11))
                if nonnegative:
                    term = max(term, 0.0)
                if term < 0:
                    raise _undefined(f"MS-SSIM is not defined: a negative score at scale "
                                     f"{level + 1} ({term:.4g}) cannot be raised to the weight "
                                     f"{wgt}")
                values[i - 1] *= term ** wgt
        if not last:
            planes = [down(p) for p in planes]
    return values


def ms_ssim_pair(x: np.ndarray, y: np.ndarray, **options) -> float:
    """MS-SSIM of x against y; options as `ms_ssim_values`."""
    return ms_ssim_values(x, [y], **options)[0]


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
        vals = ms_ssim_values(f, [a, b], data_range=data_range, weights=weights,
                              downsample=downsample, nonnegative=nonnegative)
    return _aggregate(vals, aggregate)


# ------------------------------------------------------------------------------------------------
# MEF-SSIM (Ma, Zeng, Wang 2015)
# ------------------------------------------------------------------------------------------------

MEF_WEIGHTS = (0.0448, 0.2856, 0.3001)


def mef_ssim_level(seq: Sequence[np.ndarray], fused: np.ndarray, K: float = 0.03,
                   win_size: int = 11, sigma: float = 1.5) -> float:
    """One scale of Ma et al.'s MEF-SSIM (see `_mef_ssim_level`), memoised on read-only planes
    (Tang's "SSIM" is the first scale of its "MS_SSIM")."""
    return memo([*seq, fused], ("mef_ssim_level", K, win_size, sigma),
                lambda: _mef_ssim_level(seq, fused, K, win_size, sigma))


def _mef_ssim_level(seq: Sequence[np.ndarray], fused: np.ndarray, K: float = 0.03,
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
    from the sources' box and Gaussian (co)variances, so no per-pixel loop is needed. All maps
    are same-size arrays (zero padding) whose 'valid' part is averaged at the end.
    """
    n = win_size
    npix = float(n * n)
    g = gaussian_1d(n, sigma)
    kk = len(seq)
    shape = np.shape(fused)
    xs = [np.subtract(x, SHIFT, out=buffer(shape), dtype=np.float64) for x in seq]
    buf = buffer(shape)
    tmp = buffer(shape)

    # box (square-window) statistics: sums and co-scatter S_kl = sum (x_k - mu_k)(x_l - mu_l),
    # exact for integer-valued planes; a source constant over a window has S_kk = 0 exactly
    sums = [box_sum_same(x, n) for x in xs]
    scatter: dict[tuple[int, int], np.ndarray] = {}
    flat: list[np.ndarray | None] = []
    for i in range(kk):
        np.multiply(xs[i], xs[i], out=buf)
        sxx = box_sum_same(buf, n)
        tol = np.multiply(sxx, 128 * EPS, out=buf)
        np.multiply(sums[i], sums[i], out=tmp)
        tmp /= npix
        sxx -= tmp
        mask = sxx <= tol
        np.copyto(sxx, 0.0, where=mask)
        scatter[(i, i)] = sxx
        flat.append(mask if valid_view(mask, n).any() else None)
    for i in range(kk):
        for j in range(i + 1, kk):
            np.multiply(xs[i], xs[j], out=buf)
            sxy = box_sum_same(buf, n)
            np.multiply(sums[i], sums[j], out=tmp)
            tmp /= npix
            sxy -= tmp
            for mask in (flat[i], flat[j]):
                if mask is not None:
                    np.copyto(sxy, 0.0, where=mask)
            scatter[(i, j)] = scatter[(j, i)] = sxy
    norms = [np.sqrt(scatter[(i, i)], out=buffer(shape)) for i in range(kk)]
    ed = [np.add(nk, 0.001, out=buffer(shape)) for nk in norms]
    pairs = [(i, j) for i in range(kk) for j in range(i, kk)]

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # structural consistency R -> exponent p -> source weights
        total = sums[0]  # the box sums are not needed again
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
        coef = norms  # a_k = w_k / normalizer / ed_k, w_k = (ed_k / n)^p + eps (norms reused)
        for w, e in zip(coef, ed):
            np.divide(e, n, out=w)
            np.log(w, out=w)
            w *= p
            np.exp(w, out=w)
            w += EPS
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
            acc = buffer(shape)
            acc.fill(0.0)
            for i, j in pairs:
                t = np.multiply(coef[i], coef[j], out=tmp)
                t *= stat(i, j)
                if i != j:
                    t *= 2.0
                acc += t
            return acc

        # ||sum_k a_k (x_k - mu_k)||^2 over the window, and the rescaling to max ed
        raw2 = quad(lambda i, j: scatter[(i, j)])
        tol = buf
        tol.fill(0.0)
        for i in range(kk):
            np.multiply(coef[i], coef[i], out=tmp)
            tmp *= scatter[(i, i)]
            tol += tmp
        tol *= 64 * EPS
        positive = raw2 > tol
        scale = np.sqrt(raw2, out=raw2)
        np.divide(max_ed, scale, out=scale)
        np.copyto(scale, 1.0, where=~positive)  # a (rare) zero reference patch: not rescaled

        # Gaussian-window statistics of the sources and F (constant source windows: exactly 0)
        st = Moments([*seq, fused], g, "zero")
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
        cov_rf = buffer(shape)
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
    return _mean(valid_view(num, n))


def mef_ssim_value(seq: Sequence[np.ndarray], fused: np.ndarray, *, K: float = 0.03,
                   levels: int = 3, weights: Sequence[float] | None = MEF_WEIGHTS) -> float:
    """mef_ms_ssim.m: MEF-SSIM at `levels` scales (2 x 2 mean, 'symmetric' padding, odd samples
    kept), combined as prod Q_l^w_l with the weights normalised to sum 1. levels=1 is
    mef_ssim.m (one scale; Tang's "SSIM")."""
    if weights is None or len(weights) != levels:
        if levels == 1:
            weights = (1.0,)
        else:
            raise ValueError(f"MEF-SSIM: {levels} levels need {levels} weights, got {weights}")
    w = np.asarray(weights, np.float64)
    w = w / w.sum()
    need = 11 * 2 ** (levels - 1)
    _check_size(fused, need, "MEF-SSIM", f"{levels} scale{'s' if levels > 1 else ''} of an "
                "11 x 11 window; the toolkits return -Inf")
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
      identical to mef_ms_ssim.m. Tang's "SSIM" is the single-scale `mef_ssim(imgSeq, image_f)`:
      that is `compute("SSIM", ..., profile="tang")` (or levels=1 here).
    - mefb: MEFB metricsMEF_SSIM.m@82014f4: `rgb2gray` of each source and of F (uint8), then
      `mef_ms_ssim(imgSeq, fI1)` with the defaults above.
    - default: same algorithm on the profile's grey planes.

    Needs at least 44 x 44 pixels for 3 levels (the toolkits return -Inf): ValueError. A
    negative scale score raises MetricUndefined.
    """
    with Arena():
        return mef_ssim_value([a, b], f, K=K, levels=levels, weights=weights)


# ------------------------------------------------------------------------------------------------
# Yang (Qy), Cvejic (Qc), Piella (Qs, Qw): SSIM-based fusion indices (Z. Liu's implementations,
# as his imageFusionMetrics and MEFB ship them)
# ------------------------------------------------------------------------------------------------

_C_YANG = 2e-16
_ZERO_MEAN = 1e-6  # a constant window whose mean is below this is a window of zeros


def _yang_moments(planes: Sequence[np.ndarray]) -> Moments:
    _check_size(planes[0], 11, "this SSIM-based index", "Liu's ssim_yang returns -Inf below 11")
    return Moments(planes, gaussian_1d(7, 1.5), "zero", snap_flat=True)


def _finish(q: np.ndarray, metric: str, drop_nan: bool, why: str, why_matlab: str,
            toolkit: str, matlab_nan: np.ndarray | None = None) -> float:
    """Mean of a map's 'valid' part; NaN pixels (0/0) dropped as MEFB does
    (`A = A(~isnan(A))`), or, as Liu's code averages them (`mean2`), an undefined value.
    matlab_nan: where MATLAB's value is NaN too (default: every NaN pixel); the other NaN
    pixels are dropped even when drop_nan is False."""
    q = valid_view(q, 7)
    nan = np.isnan(q)
    if not nan.any():
        return _mean(q)
    if not drop_nan:
        hard = nan if matlab_nan is None else nan & valid_view(matlab_nan, 7)
        if hard.any():
            raise _undefined(f"{metric} is not defined for this input under {toolkit}: "
                             f"{why_matlab} in {int(hard.sum())} windows (0/0), and the mean2 "
                             "of its map is NaN")
    keep = q[~nan]
    if keep.size == 0:
        raise _undefined(f"{metric} is not defined for this input: {why} in every window")
    return float(np.mean(keep))


@register_metric(
    "Qy", direction="higher", family="structural", aliases=("Q_Y", "metricYang", "metricsQy"),
    description="Yang et al.'s SSIM-based fusion quality (2008)",
    conventions={"default": {}, "mefb": {"_colour": "mefb-loop-u8"}, "liu": {"drop_nan": False}})
def q_yang(a, b, f, *, flat_lambda: str = "matlab", drop_nan: bool = True) -> float:
    """Qy (C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, "A novel similarity based quality metric for
    image fusion", Inf. Fusion 9(2), 2008). Unitless, <= 1.

    SSIM maps with a 7 x 7 Gaussian window (sigma 1.5, 'valid') and C1 = C2 = 2e-16 (Liu's
    ssim_yang). Where SSIM(A,B) >= 0.75 the score is lambda SSIM(A,F) + (1 - lambda) SSIM(B,F),
    lambda = s_A^2 / (s_A^2 + s_B^2) (local variances); elsewhere max(SSIM(A,F), SSIM(B,F)); the
    map is averaged. Sources combined inside the formula.

    Windows where BOTH sources are constant (lambda = 0/0 in exact arithmetic), flat_lambda:
    - 'matlab' (all profiles): lambda as MATLAB's filter2 leaves it where that is determined.
      There MATLAB's variances are not 0 but rounding noise, the same for equal windows and
      exactly 0 only for a window of zeros: so lambda is exactly 1/2 for two equal constants, 0
      (1) when A's (B's) constant is 0 and the other's is not, and NaN when both are 0. This is
      what makes MEFB's 0.84273 on the near-binary 0/255 triple of the reference fixtures
      (dropping every both-constant window instead gives 0.84159). For two different non-zero
      constants MATLAB's lambda is a ratio of rounding noise (any value, even outside [0, 1]):
      NaN here, dropped like the other 0/0 windows. The SSIM maps stay exact on constant
      windows (structure term 1), where MATLAB's noise would give about 2 c_A c_B / (c_A^2 +
      c_B^2) for different constants: the reference records of constant images are therefore
      not reproducible (marked ill-conditioned in the fixtures).
    - 'drop': lambda is NaN wherever both sources are constant (the windows are dropped).

    NaN windows: drop_nan=True drops them and averages the rest, as MEFB does
    (`A = A(~isnan(A))`); drop_nan=False is Liu's metricYang.m (`mean2` of the map): a window of
    zeros in both sources, NaN in MATLAB too, makes it MetricUndefined; the windows of two
    different constants (MATLAB: a noise value) are still dropped.

    - mefb / default: MEFB metricsQy.m@82014f4 (Liu's metricYang.m plus the NaN removal). MEFB
      scores only F's red channel when both sources are grey ('mefb-loop-u8' colour rule).
    - liu: zhengliu6699/imageFusionMetrics metricYang.m@d6f7f1a (drop_nan=False), grey images.

    Needs at least 11 x 11 pixels (ValueError); constant sources leave no pixel
    (MetricUndefined).
    """
    if flat_lambda not in ("matlab", "drop"):
        raise ValueError(f"flat_lambda must be 'matlab' or 'drop', got {flat_lambda!r}")
    with Arena(), np.errstate(invalid="ignore", divide="ignore"):
        st = _yang_moments([a, b, f])
        ma, mb, mf = st.mean(0), st.mean(1), st.mean(2)
        va, vb, vf = st.cov(0, 0), st.cov(1, 1), st.cov(2, 2)
        c = _C_YANG
        s_ab = _ssim_from_moments(ma, mb, va, vb, st.cov(0, 1), c, c)
        s_af = _ssim_from_moments(ma, mf, va, vf, st.cov(0, 2), c, c)
        s_bf = _ssim_from_moments(mb, mf, vb, vf, st.cov(1, 2), c, c)
        lam = np.add(va, vb, out=buffer(va.shape))
        np.divide(va, lam, out=lam)
        fa, fb = st.flat(0), st.flat(1)
        matlab_nan = None  # windows where MATLAB's lambda is exactly 0/0 too (both sources 0)
        if fa is not None and fb is not None:
            za, zb = np.abs(ma) <= _ZERO_MEAN, np.abs(mb) <= _ZERO_MEAN
            matlab_nan = fa & fb & za & zb
            if flat_lambda == "matlab":
                # both sources constant: MATLAB's lambda where it is determined (equal constants:
                # 1/2; one constant 0: 0 or 1); two zero constants stay 0/0
                equal = np.abs(np.subtract(ma, mb, out=va)) <= _ZERO_MEAN  # va: not needed
                exact = fa & fb & (equal | za | zb) & ~(za & zb)
                np.copyto(lam, 0.5, where=exact & equal)
                np.copyto(lam, 0.0, where=exact & za)
                np.copyto(lam, 1.0, where=exact & zb)
        binary = s_ab >= 0.75
        # where SSIM(A,B) >= 0.75: lam SSIM(A,F) + (1 - lam) SSIM(B,F) = SSIM(B,F) + lam (
        # SSIM(A,F) - SSIM(B,F)); elsewhere the larger of the two. NaN (0/0) times 0 stays NaN,
        # so those pixels are NaN in both branches, as in MATLAB.
        q = np.subtract(s_af, s_bf, out=s_ab)
        q *= lam
        q += s_bf
        q *= binary
        big = np.maximum(s_af, s_bf, out=s_af)
        big *= ~binary
        q += big
        return _finish(q, "Qy", drop_nan, "both sources are constant (lambda = 0/0)",
                       "both sources are 0 over the window", "Liu's metricYang.m", matlab_nan)


@register_metric(
    "Qc", direction="higher", family="structural", aliases=("Q_C", "metricCvejic", "metricsQc"),
    description="Cvejic et al.'s SSIM-based fusion quality (2006)",
    conventions={"default": {}, "mefb": {"_colour": "mefb-loop-u8"}, "liu": {"drop_nan": False}})
def q_cvejic(a, b, f, *, drop_nan: bool = True) -> float:
    """Qc (N. Cvejic, A. Loza, D. Bull, N. Canagarajah, "A similarity metric for assessment of
    image fusion algorithms", Int. J. Signal Process. 2(3), 2006); Liu's metricCvejic.m metric 2.
    Unitless, <= 1.

    SSIM maps SSIM(A,F), SSIM(B,F) with Liu's ssim_yang (7 x 7 Gaussian, sigma 1.5, 'valid',
    C1 = C2 = 2e-16); sim = mu SSIM(A,F) + (1 - mu) SSIM(B,F) with mu = s_AF / (s_AF + s_BF) (local
    covariances with F), sim = 0 where mu < 0 and 1 where mu > 1 (so also where the denominator
    is 0 with a nonzero numerator), mean. Not symmetric in A and B: where s_AF and s_BF have
    opposite signs the clamps give 0 or 1 depending on the order (MEFB passes its two exposures
    in file order).

    Windows with mu = 0/0 (F, or both sources, constant over the window): drop_nan=True drops
    them (MEFB: `sim = sim(~isnan(sim))`); drop_nan=False is Liu's code (`mean2(sim)`): where
    MATLAB's mu is 0/0 too (F, or both sources, 0 over the whole window: their covariances are
    exactly 0 there) the result is MetricUndefined; the other constant windows (MATLAB: a ratio of
    rounding noise) are dropped.

    - mefb / default: MEFB metricsQc.m@82014f4; 'mefb-loop-u8' colour rule under mefb.
    - liu: zhengliu6699/imageFusionMetrics metricCvejic.m@d6f7f1a with sw = 2 (drop_nan=False).

    Same note on MATLAB rounding noise as Qy (in windows where F is constant MATLAB's mu is a
    ratio of rounding noise: such records are marked ill-conditioned). Needs at least 11 x 11
    pixels; an F without covariance with either source anywhere (e.g. a constant F) raises
    MetricUndefined.
    """
    with Arena(), np.errstate(invalid="ignore", divide="ignore"):
        st = _yang_moments([a, b, f])
        ma, mb, mf = st.mean(0), st.mean(1), st.mean(2)
        va, vb, vf = st.cov(0, 0), st.cov(1, 1), st.cov(2, 2)
        caf, cbf = st.cov(0, 2), st.cov(1, 2)
        s_af = _ssim_from_moments(ma, mf, va, vf, caf, _C_YANG, _C_YANG)
        s_bf = _ssim_from_moments(mb, mf, vb, vf, cbf, _C_YANG, _C_YANG)
        mu = np.add(caf, cbf, out=buffer(caf.shape))
        np.divide(caf, mu, out=mu)
        # sim = mu SSIM(A,F) + (1 - mu) SSIM(B,F) = SSIM(B,F) + mu (SSIM(A,F) - SSIM(B,F))
        sim = np.subtract(s_af, s_bf, out=s_af)
        sim *= mu
        sim += s_bf
        np.copyto(sim, 0.0, where=mu < 0)
        np.copyto(sim, 1.0, where=mu > 1)
        matlab_nan = None
        if not drop_nan:
            # MATLAB's covariances are exactly 0 (so mu is 0/0) only where F, or both sources,
            # are 0 over the whole window; elsewhere a constant window leaves rounding noise
            def zeros(i: int, m: np.ndarray) -> np.ndarray:
                fl = st.flat(i)
                return np.zeros(m.shape, bool) if fl is None else fl & (np.abs(m) <= _ZERO_MEAN)
            matlab_nan = zeros(2, mf) | (zeros(0, ma) & zeros(1, mb))
        return _finish(sim, "Qc", drop_nan, "F has no covariance with either source",
                       "F, or both sources, are 0 over the window", "Liu's metricCvejic.m",
                       matlab_nan)


def _piella_terms(x: np.ndarray, y: np.ndarray, fz: np.ndarray):
    """Liu's metricPeilla.m statistics with Wang's ssim_index (11 x 11 Gaussian 1.5 'valid',
    K = (0.01, 0.03), L = 255): -> (Q map = lambda SSIM(F,A) + (1 - lambda) SSIM(F,B),
    c = max(s_A^2, s_B^2)), both 'valid' views; lambda = s_A^2 / (s_A^2 + s_B^2) after adding 0.5
    to both variances where their sum is 0."""
    _check_size(x, 11, "Piella's index", "Wang's ssim_index needs 11 x 11")
    k = gaussian_1d(11, 1.5)
    st = Moments([x, y, fz], k, "zero", snap_flat=True)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my, mf = st.mean(0), st.mean(1), st.mean(2)
    va, vb, vf = st.cov(0, 0), st.cov(1, 1), st.cov(2, 2)
    s_fa = _ssim_from_moments(mf, mx, vf, va, st.cov(0, 2), c1, c2)
    s_fb = _ssim_from_moments(mf, my, vf, vb, st.cov(1, 2), c1, c2)
    va, vb = st.pop_cov(0, 0), st.pop_cov(1, 1)
    tot = np.add(va, vb, out=mx)
    both0 = tot == 0
    va += 0.5 * both0
    vb += 0.5 * both0
    lam = np.add(va, vb, out=tot)
    with np.errstate(invalid="ignore", divide="ignore"):  # zero-padded borders are cropped
        np.divide(va, lam, out=lam)
    # lam SSIM(F,A) + (1 - lam) SSIM(F,B) = SSIM(F,B) + lam (SSIM(F,A) - SSIM(F,B))
    q = np.subtract(s_fa, s_fb, out=s_fa)
    q *= lam
    q += s_fb
    cw = np.maximum(va, vb, out=va)
    return valid_view(q, 11), valid_view(cw, 11)


def _piella_scores(x: np.ndarray, y: np.ndarray, fz: np.ndarray) -> tuple[float, float]:
    """(Qs, Qw) from the same maps (Qw is NaN when the window weights sum to 0), memoised on
    read-only planes."""
    def both() -> tuple[float, float]:
        with Arena():
            q, cw = _piella_terms(x, y, fz)
            total = float(cw.sum())
            qw = float(np.sum(cw * q) / total) if total > 0 else float("nan")
            return _mean(q), qw
    return memo([x, y, fz], ("piella",), both)


_PREWITT_X = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
_PREWITT_Y = _PREWITT_X.T.copy()


def _edge_magnitude(img: np.ndarray) -> np.ndarray:
    """Liu's metricPeilla.m edge image: sqrt(gx^2 + gy^2) with filter2([1 0 -1; 1 0 -1; 1 0 -1],
    x, 'same') and its transpose (zero padding)."""
    gx = cv2.filter2D(img, cv2.CV_64F, _PREWITT_X, borderType=cv2.BORDER_CONSTANT)
    gy = cv2.filter2D(img, cv2.CV_64F, _PREWITT_Y, borderType=cv2.BORDER_CONSTANT)
    return np.sqrt(gx * gx + gy * gy)


@register_metric(
    "Qs", direction="higher", family="structural",
    aliases=("Q_S", "Piella_Q", "metricPeilla_sw1"),
    description="Piella's fusion quality index (2003), unweighted mean over windows",
    conventions={"default": {}, "liu": {}})
def q_piella_mean(a, b, f) -> float:
    """Qs: Piella and Heijmans' fusion quality index Q(a, b, f) (G. Piella, H. Heijmans, "A new
    quality metric for image fusion", ICIP 2003, eq. (5)), as Z. Liu implements it with SSIM in
    place of the universal image quality index and names it $Q_S$ (zhengliu6699/imageFusionMetrics
    fusionAssess.m@d6f7f1a: `Q(i,8)=metricPeilla(im1,im2,fused{i},1)`, "Piella ... $Q_S$"; Liu et
    al., IEEE TPAMI 34(1), 2012). Unitless, <= 1.

    Q = mean over windows of lambda SSIM(F,A) + (1 - lambda) SSIM(F,B), lambda = s_A^2 /
    (s_A^2 + s_B^2) (local variances; 0.5 added to both where they sum to 0); SSIM is Wang's
    ssim_index (11 x 11 Gaussian, sigma 1.5, 'valid', K = (0.01, 0.03), L = 255). Sources combined
    by the saliency weight lambda. Unlike Qw the windows are not weighted by their saliency.

    - liu / default: metricPeilla.m case 1 (`res = mean2(Q)`), grey images.

    Needs at least 11 x 11 pixels (ValueError).
    """
    return _piella_scores(a, b, f)[0]


@register_metric(
    "Qw", direction="higher", family="structural",
    aliases=("Q_W", "metricPeilla", "metricPiella", "metricsQw"),
    description="Piella's weighted fusion quality index (2003)",
    conventions={"default": {}, "mefb": {"features": "edges", "_colour": "mefb-loop-u8"},
                 "liu": {"features": "intensity"}})
def q_piella(a, b, f, *, features: str = "intensity") -> float:
    """Qw, Piella and Heijmans' weighted fusion quality index (ICIP 2003, eq. (6)); Liu's
    metricPeilla.m. Unitless, <= 1. Sources combined by local-variance saliency lambda and
    window weights c(w) = max(s_A^2, s_B^2) normalised to sum 1: Qw = sum_w c(w) (lambda(w)
    SSIM(F,A|w) + (1 - lambda(w)) SSIM(F,B|w)); SSIM is Wang's ssim_index (11 x 11 Gaussian,
    sigma 1.5, 'valid', K = (0.01, 0.03), L = 255). (Qs is the same without the window weights.)

    - default / liu: features='intensity', Piella's Q_W on the images (Liu's metricPeilla.m
      `sw = 2`, zhengliu6699/imageFusionMetrics@d6f7f1a).
    - mefb: features='edges'. MEFB's metricsQw.m@82014f4 hard-codes `sw = 3` and returns
      `Qe = Qw^alpha` with alpha = 1, where Qw is the weighted index computed on the edge-magnitude
      images (3 x 3 Prewitt-like filters, filter2 'same'); Liu's sw = 3 would multiply by the
      intensity index (`Qe = Q*Qw^alpha`) but never defines Q. So MEFB's "Qw" is the weighted
      index of the edge maps, not of the images. 'mefb-loop-u8' colour rule.

    Needs at least 11 x 11 pixels. Constant sources give lambda = 1/2 everywhere (the +0.5 rule).
    """
    if features not in ("intensity", "edges"):
        raise ValueError(f"features must be 'intensity' or 'edges', got {features!r}")
    if features == "edges":
        a, b, f = _edge_magnitude(a), _edge_magnitude(b), _edge_magnitude(f)
    qw = _piella_scores(a, b, f)[1]
    if np.isnan(qw):
        raise _undefined("Qw is not defined: the source variances sum to 0")
    return qw
