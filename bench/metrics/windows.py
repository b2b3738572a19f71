"""Windowed statistics shared by the structural metrics (SSIM, MS-SSIM, MEF-SSIM, Qy, Qc, Qs, Qw),
VIF/VIFF and SSIM_gt: separable window filters and box sums, local means, variances and
covariances (`Moments`, and the shared unsnapped statistics `raw_moments`), the `Arena` scratch
pool, the per-triple `memo` with its pooled `Kept` arrays, and small helpers (size check, mean,
the 2 x 2 mean downsamplings of MS-SSIM and MEF-SSIM and their memoised `shared_half`).

The metrics built on these are computed from local (windowed) means, variances and covariances.
They are re-implemented from the published formulas and from the behaviour of the reference code
(read, not copied), with all windowed statistics computed by separable filters or box sums over
the whole image at once (no per-pixel loops; MATLAB's mef_ssim.m loops over every pixel).

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
  only matters for Qy and Qc, whose constants are 2e-16 (see their docstrings, ssim_fusion.py);
- planes are centred on 127.5 before products are filtered, so E[xy] - E[x]E[y] keeps more
  digits (the (co)variances do not change);
- the registered metrics run inside an `Arena`, which recycles their scratch arrays between
  calls (see its docstring), and return plain floats.

Speed: the windowed filters (float64 sepFilter2D, ~0.5-1.2 ms per plane at 480 x 640 for 7- to
17-tap windows) are most of the time of the structural metrics (their timings are in ssim.py,
mef_ssim.py and ssim_fusion.py). float32 filtering would halve them but moves the scores by up to
3e-4 relative where the SSIM maps are near 0/0 (e.g. an all-zero F), so everything is float64.
Within one `compute_many()` call the metrics share what they have in common (`memo`, on the
read-only planes compute_many hands them), computed once with the same operations, so the values
are those of separate `compute()` calls to the last bit:
- the Gaussian window statistics of (A, B, F) (`raw_moments`): 11 x 11, sigma 1.5 for SSIM,
  MS-SSIM's first scale, Qs/Qw and MEF-SSIM's first scale; 7 x 7, sigma 1.5 for Qy and Qc; and,
  through the memoised 2 x 2 means (`shared_half`), MEF-SSIM's scales 2-3 with MS-SSIM's
  (block and 'symmetric' means are the same operations on even sizes);
- SSIM's maps with MS-SSIM's first-scale cs term; SSIM(A,F), SSIM(B,F) of Qy with Qc; Qs with
  Qw; Tang's "SSIM" (MEF-SSIM, one scale) with its "MS_SSIM";
- elsewhere: VIF with VIFF, Nabf with Labf (and their files say so).
The per-pixel formulas after the filters are compiled (numba) passes in the metric modules, with
numpy's SIMD transcendentals (log, exp, tan, atan) in between, every operation in the order of the
numpy formulation it replaced. Memoised arrays come from and go back to the Arena pool (`Kept`),
so a compute_many() call recycles the previous call's pages.
"""
from __future__ import annotations

import math
import threading
import weakref
from typing import Callable, Sequence, TypeVar

import cv2
import numpy as np


EPS = float(np.finfo(np.float64).eps)  # MATLAB eps
SHIFT = 127.5  # centring constant of the windowed statistics


def _undefined(message: str) -> Exception:
    from . import MetricUndefined  # defined in the package before its modules are loaded
    return MetricUndefined(message)


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
        total = sum(8 * math.prod(sh) * len(lst) for sh, lst in st.free.items())  # float64
        if total > self.MAX_BYTES:  # keep only the shapes of this evaluation
            for shape in [sh for sh in st.free if sh not in used]:
                del st.free[shape]


def buffer(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float64 array: from the innermost active Arena, else a new one."""
    active = Arena._state().active
    return active[-1].empty(tuple(shape)) if active else np.empty(shape)


class Kept:
    """Float64 arrays that outlive an Arena (memoised statistics), taken from this thread's
    Arena pool and given back to it by `release()`, which `memo` calls when it drops the entry
    (its planes are gone). So the statistics shared within one compute_many() call recycle the
    pages of the previous call's instead of faulting in fresh ones."""

    def __init__(self) -> None:
        self._arrays: list[np.ndarray] = []

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        lst = Arena._state().free.get(tuple(shape))
        arr = lst.pop() if lst else np.empty(shape)
        self._arrays.append(arr)
        return arr

    def release(self) -> None:
        self._give_back(self._arrays)

    def _give_back(self, arrays: list[np.ndarray]) -> None:
        """Return these of the kept arrays to the pool (no longer used by anyone)."""
        free = Arena._state().free
        ids = {id(a) for a in arrays}
        for arr in arrays:
            free.setdefault(arr.shape, []).append(arr)
        self._arrays = [a for a in self._arrays if id(a) not in ids]


T = TypeVar("T")
_MEMO = threading.local()


def memo(planes: Sequence[np.ndarray], key: tuple, compute: Callable[[], T]) -> T:
    """compute() once per set of read-only planes: a later call with the very same plane
    objects returns the stored result (floats, or fresh arrays that no caller modifies; never
    scratch arrays of an Arena).

    compute_many() hands every metric of a triple the same read-only planes, so a score that two
    metrics share is computed once (Tang's "SSIM" is the first scale of its "MS_SSIM"; Qs and Qw
    come from the same maps; Nabf and Labf from the same Petrovic terms; VIF and VIFF from the
    same per-scale statistics). An entry lives only as long as its planes (weak references), and
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
        _, dead = store.pop(old)
        if isinstance(dead, Kept):  # its planes are gone: nobody can reach its arrays
            dead.release()
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


class _RawMoments(Kept):
    """The unsnapped window statistics of `Moments` for read-only planes, shared (memoised) by
    every metric of a compute_many() call that uses the same planes, window and padding
    (SSIM, MS-SSIM's first scale, Qs/Qw and MEF-SSIM's first scale: 11 x 11 Gaussian 1.5;
    Qy and Qc: 7 x 7 Gaussian 1.5). Computed exactly as `Moments` computes them (covariances
    on demand), so sharing changes no digit; nobody modifies these arrays (`Moments` copies)."""

    def __init__(self, planes: Sequence[np.ndarray], k: np.ndarray, border: str):
        super().__init__()
        shape = np.shape(planes[0])
        self.shape, self.k, self.border = shape, k, border
        self.x = [np.subtract(p, SHIFT, out=self.take(shape), dtype=np.float64) for p in planes]
        self.mu = [cv2.sepFilter2D(x, cv2.CV_64F, k, k, dst=self.take(shape),
                                   borderType=_BORDERS[border]) for x in self.x]
        self.c: dict[tuple[int, int], np.ndarray] = {}
        self.flat: dict[int, np.ndarray | None] = {}

    def cov(self, i: int, j: int) -> np.ndarray:
        key = (min(i, j), max(i, j))
        c = self.c.get(key)
        if c is not None:
            return c
        with Arena():
            tmp = np.multiply(self.x[i], self.x[j], out=buffer(self.shape))
            c = cv2.sepFilter2D(tmp, cv2.CV_64F, self.k, self.k, dst=self.take(self.shape),
                                borderType=_BORDERS[self.border])
            prod = np.multiply(self.mu[i], self.mu[j], out=buffer(self.shape))
            if i == j:  # the flat-window mask of `Moments(snap_flat=True)`, kept for its users
                tol = np.multiply(c, 128 * EPS, out=tmp)
                c -= prod
                flat = c <= tol
                self.flat[i] = flat if flat.any() else None
            else:
                c -= prod
        self.c[key] = c
        n = len(self.x)
        if len(self.c) == n * (n + 1) // 2:  # every product is filtered: the centred planes
            self._give_back(self.x)          # go back to the pool
            self.x = []
        return c


def raw_moments(planes: Sequence[np.ndarray], k: np.ndarray, border: str = "zero"
                ) -> tuple[_RawMoments, list[int], bool]:
    """(stats, pos, shared): the unsnapped window statistics of `planes`, plane i being
    `stats.mu[pos[i]]`, `stats.cov(pos[i], pos[j])` (read-only: nobody may modify them). On
    read-only float64 planes they are memoised (shared=True, see `Moments`); otherwise they are
    this caller's, who gives their arrays back with `stats.release()` when done."""
    kk = np.ascontiguousarray(k, np.float64)
    if all(isinstance(p, np.ndarray) and not p.flags.writeable and p.dtype == np.float64
           for p in planes):
        order = sorted(range(len(planes)), key=lambda i: id(planes[i]))
        ordered = [planes[i] for i in order]
        raw = memo(ordered, ("moments", kk.tobytes(), border),
                   lambda: _RawMoments(ordered, kk, border))
        return raw, [order.index(i) for i in range(len(planes))], True
    return _RawMoments(planes, kk, border), list(range(len(planes))), False


class Moments:
    """Windowed means / variances / covariances of a set of planes under one separable window,
    as same-size float64 arrays (crop them with `valid_view` for 'valid' statistics).

    Every plane is centred on SHIFT first so that E[xy] - E[x]E[y] loses as few digits as
    possible (covariances do not change); `mu[i]` is the centred mean, `mean(i)` the true one.
    snap_flat: a variance within the rounding error of its own subtraction (a window over which
    the plane is constant) is set to exactly 0, and so are that plane's covariances there; `flat(i)`
    is that window mask (None when there is none).

    On read-only planes (compute_many) the filtered statistics come from `_RawMoments`, memoised
    per set of planes, window and padding, and are copied into this instance's scratch arrays
    (callers may modify `mu`, `cov` and `pop_cov` results in place): the metrics that share a
    window filter each product once per triple, with the same values."""

    def __init__(self, planes: Sequence[np.ndarray], k: np.ndarray, border: str = "zero",
                 snap_flat: bool = False):
        shape = np.shape(planes[0])
        self.k, self.border, self.snap = k, border, snap_flat
        self._tmp = buffer(shape)
        self._tmp2 = buffer(shape)
        self._cov: dict[tuple[int, int], np.ndarray] = {}
        self._flat: dict[int, np.ndarray | None] = {}
        self._raw: _RawMoments | None = None
        if all(isinstance(p, np.ndarray) and not p.flags.writeable and p.dtype == np.float64
               for p in planes):
            self._raw, self._pos, _ = raw_moments(planes, k, border)
            self.mu = _CopyOnRead([self._raw.mu[p] for p in self._pos])
            return
        self.x = [np.subtract(p, SHIFT, out=buffer(shape), dtype=np.float64) for p in planes]
        self.mu = [filter_same(x, k, border) for x in self.x]

    def mean(self, i: int) -> np.ndarray:
        """The window mean of plane i (a new array)."""
        mu = self.mu.peek(i) if isinstance(self.mu, _CopyOnRead) else self.mu[i]
        return np.add(mu, SHIFT, out=buffer(mu.shape))

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
        if self._raw is not None:
            pi, pj = self._pos[i], self._pos[j]
            c = _copy(self._raw.cov(pi, pj))
            if self.snap:
                masks = [self._raw.flat.get(pi)] if i == j else [self.flat(i), self.flat(j)]
                if i == j:
                    self._flat[i] = masks[0]
                for mask in masks:
                    if mask is not None:
                        np.copyto(c, 0.0, where=mask)
            self._cov[key] = c
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


class _CopyOnRead:
    """`Moments.mu` over shared statistics: mu[i] is this instance's own copy (made on first
    access; callers may modify it), peek(i) the current values without copying."""

    def __init__(self, shared: list[np.ndarray]):
        self._shared = shared
        self._own: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._shared)

    def __getitem__(self, i: int) -> np.ndarray:
        if i not in self._own:
            self._own[i] = _copy(self._shared[i])
        return self._own[i]

    def peek(self, i: int) -> np.ndarray:
        return self._own.get(i, self._shared[i])


def _copy(x: np.ndarray) -> np.ndarray:
    out = buffer(x.shape)
    np.copyto(out, x)
    return out


def _check_size(img: np.ndarray, n: int, metric: str, why: str) -> None:
    if img.shape[0] < n or img.shape[1] < n:
        raise ValueError(f"{metric} needs images of at least {n} x {n} pixels ({why}); got "
                         f"{img.shape[0]} x {img.shape[1]}")


def _mean(m: np.ndarray) -> float:
    return float(m.mean(dtype=np.float64))


def _downsample_symmetric(x: np.ndarray) -> np.ndarray:
    """MATLAB imfilter(x, ones(2)/4, 'symmetric', 'same') sampled at (1:2:end, 1:2:end): 2 x 2
    means anchored at the odd (1-based) samples, the last row/column repeated for odd sizes."""
    if x.shape[0] % 2:
        x = np.vstack([x, x[-1:]])
    if x.shape[1] % 2:
        x = np.hstack([x, x[:, -1:]])
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def shared_half(x: np.ndarray, down: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """down(x) (a 2 x 2 mean downsampling), memoised on a read-only plane and then read-only
    itself, so that the window statistics of the next scale are shared too (`raw_moments`). On
    even sizes MS-SSIM's block mean and MEF-SSIM's 'symmetric' mean are the same operations, so
    both scale pyramids share one entry."""
    even = x.ndim == 2 and x.shape[0] % 2 == 0 and x.shape[1] % 2 == 0
    key = ("half", "even" if even and down in (_downsample_symmetric, _downsample_block)
           else getattr(down, "__qualname__", repr(down)))

    def compute() -> np.ndarray:
        y = down(x)
        if isinstance(x, np.ndarray) and not x.flags.writeable:
            y.flags.writeable = False
        return y
    return memo([x], key, compute)


def _downsample_block(x: np.ndarray) -> np.ndarray:
    """Mean of each non-overlapping 2 x 2 block, a trailing odd row/column dropped (Wang's msssim.m:
    filter2(ones(2)/4, x, 'valid') sampled at (1:2:M-1, 1:2:N-1))."""
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])
