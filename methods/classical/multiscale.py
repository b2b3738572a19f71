"""Multi-scale-transform fusion baselines: Laplacian pyramid (lp), ratio-of-low-pass pyramid (rp),
discrete wavelet transform (dwt) and dual-tree complex wavelet transform (dtcwt).

All four follow one scheme: decompose every source, fuse the coarsest (approximation) band by
averaging, pick each detail coefficient from the source whose coefficient is larger in absolute
value (ties go to the first source), and invert the transform. Sources are float images in
[0, 1]; N sources are fused at once by `fuse_stack` (mean of the bases, arg-max over N).
Identical sources give back the source (every transform here reconstructs exactly).

Sizes: the pyramids (OpenCV pyrDown/pyrUp with explicit output sizes) take any size; the wavelet
transforms pad symmetrically to a multiple of 2**levels and crop. The number of levels is capped
so that the coarsest band keeps at least 2 px (DWT: pywt's dwt_max_level), so 16 x 16 works.

Not provided: the curvelet (CVT) and non-subsampled contourlet (NSCT) transforms. No maintained
Python implementation exists (CurveLab is a C++/MATLAB package under a non-free licence; NSCT's
reference code is MATLAB with MEX pyramid/directional filter banks), and a faithful
re-implementation of the NSCT filter banks did not fit the time of this port.
"""
from __future__ import annotations

import warnings

import cv2
import numpy as np

from methods.base import register_method

MST_TASKS = ("ivf", "medical", "mff")


# ---------------------------------------------------------------------------------------------
# Shared helpers

def max_abs_select(coeffs: np.ndarray) -> np.ndarray:
    """N x ... stack -> the coefficient with the largest |value| per position (ties: first).

    Complex coefficients are compared by magnitude."""
    winner = np.argmax(np.abs(coeffs), axis=0)
    return np.take_along_axis(coeffs, winner[None], axis=0)[0]


def pyramid_levels(shape: tuple[int, int], levels: int, min_size: int = 2) -> int:
    """`levels` capped so that the coarsest level is at least `min_size` px on each side."""
    n, size = 0, min(shape)
    while n < levels and (size + 1) // 2 >= min_size:
        size = (size + 1) // 2
        n += 1
    return n


def pad_to_multiple(img: np.ndarray, multiple: int) -> np.ndarray:
    """Symmetric padding (bottom/right) to a multiple of `multiple` on both axes."""
    h, w = img.shape
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return img
    return np.pad(img, ((0, ph), (0, pw)), mode="symmetric")


def _as_stack(images: list[np.ndarray]) -> list[np.ndarray]:
    if len(images) < 2:
        raise ValueError("fusion needs at least two sources")
    shape = images[0].shape
    if any(img.shape != shape for img in images) or len(shape) != 2:
        raise ValueError("sources must be single-channel images of one size")
    return [np.asarray(img, np.float64) for img in images]


# ---------------------------------------------------------------------------------------------
# Gaussian / Laplacian / ratio pyramids (Burt & Adelson 1983; Toet 1989)

def _expand(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.pyrUp(img, dstsize=(shape[1], shape[0]))


def gaussian_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """[G0 = img, G1, ..., G_levels]: 5-tap Burt kernel ([1 4 6 4 1]/16) and 2x decimation
    (cv2.pyrDown, reflect-101 border)."""
    pyr = [np.asarray(img, np.float64)]
    for _ in range(levels):
        pyr.append(cv2.pyrDown(pyr[-1]))
    return pyr


def laplacian_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """[L0, ..., L_{levels-1}, G_levels] with L_k = G_k - expand(G_{k+1})."""
    g = gaussian_pyramid(img, levels)
    return [g[k] - _expand(g[k + 1], g[k].shape) for k in range(levels)] + [g[levels]]


def collapse_laplacian(pyr: list[np.ndarray]) -> np.ndarray:
    """Inverse of `laplacian_pyramid` (exact up to float rounding)."""
    img = pyr[-1]
    for detail in reversed(pyr[:-1]):
        img = detail + _expand(img, detail.shape)
    return img


def ratio_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """[R0, ..., R_{levels-1}, G_levels] with R_k = G_k / expand(G_{k+1}) (img must be > 0)."""
    g = gaussian_pyramid(img, levels)
    return [g[k] / _expand(g[k + 1], g[k].shape) for k in range(levels)] + [g[levels]]


def collapse_ratio(pyr: list[np.ndarray]) -> np.ndarray:
    """Inverse of `ratio_pyramid`: G_k = R_k * expand(G_{k+1})."""
    img = pyr[-1]
    for ratio in reversed(pyr[:-1]):
        img = ratio * _expand(img, ratio.shape)
    return img


class LaplacianPyramid:
    """Laplacian-pyramid fusion (Burt & Adelson 1983): base averaged, details max-abs.

    levels: number of band-pass levels (default 4, the pyramid depth of VIFB's LP_SR),
    capped for small images."""

    version = "1"

    def __init__(self, levels: int = 4):
        self.levels = int(levels)

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        return self.fuse_stack([a, b], task)

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        imgs = _as_stack(images)
        n = pyramid_levels(imgs[0].shape, self.levels)
        pyrs = [laplacian_pyramid(img, n) for img in imgs]
        fused = [max_abs_select(np.stack([p[k] for p in pyrs])) for k in range(n)]
        fused.append(np.mean([p[n] for p in pyrs], axis=0))
        return np.clip(collapse_laplacian(fused), 0.0, 1.0).astype(np.float32)


class RatioPyramid:
    """Ratio-of-low-pass (contrast) pyramid fusion (Toet 1989).

    Each level holds the local luminance contrast R_k = G_k / expand(G_{k+1}); per coefficient the
    source with the larger contrast |R_k - 1| is chosen, the top Gaussian level is averaged, and
    the pyramid is collapsed by products. The ratios need positive images, so the sources are
    shifted by `offset` (default 1e-3 on the [0, 1] scale, i.e. about 0.25 grey levels) before
    and after. levels: default 4, capped for small images."""

    version = "1"

    def __init__(self, levels: int = 4, offset: float = 1e-3):
        if offset <= 0:
            raise ValueError("offset must be > 0 (the ratios divide by low-pass images)")
        self.levels = int(levels)
        self.offset = float(offset)

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        return self.fuse_stack([a, b], task)

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        imgs = [img + self.offset for img in _as_stack(images)]
        n = pyramid_levels(imgs[0].shape, self.levels)
        pyrs = [ratio_pyramid(img, n) for img in imgs]
        fused = []
        for k in range(n):
            ratios = np.stack([p[k] for p in pyrs])
            winner = np.argmax(np.abs(ratios - 1.0), axis=0)
            fused.append(np.take_along_axis(ratios, winner[None], axis=0)[0])
        fused.append(np.mean([p[n] for p in pyrs], axis=0))
        out = collapse_ratio(fused) - self.offset
        return np.clip(out, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Discrete wavelet transform (PyWavelets)

class WaveletFusion:
    """DWT fusion (Li, Manjunath & Mitra 1995, pixel rule): approximation averaged, every detail
    coefficient (H, V, D bands of every level) chosen by max-abs.

    wavelet: PyWavelets name (default 'sym4'); levels: default 4, capped by pywt.dwt_max_level.
    The image is padded symmetrically to a multiple of 2**levels and the transform uses
    pywt's 'symmetric' extension; the output is cropped back."""

    version = "1"

    def __init__(self, wavelet: str = "sym4", levels: int = 4):
        import pywt
        self.wavelet = pywt.Wavelet(wavelet)
        self.levels = int(levels)

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        return self.fuse_stack([a, b], task)

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        import pywt
        imgs = _as_stack(images)
        h, w = imgs[0].shape
        n = max(1, min(self.levels, pywt.dwt_max_level(min(h, w), self.wavelet.dec_len)))
        with warnings.catch_warnings():  # images smaller than the filter: one level anyway
            warnings.simplefilter("ignore", UserWarning)
            decs = [pywt.wavedec2(pad_to_multiple(img, 2 ** n), self.wavelet,
                                  mode="symmetric", level=n) for img in imgs]
        fused = [np.mean([d[0] for d in decs], axis=0)]
        for k in range(1, n + 1):
            fused.append(tuple(max_abs_select(np.stack([d[k][band] for d in decs]))
                               for band in range(3)))
        out = pywt.waverec2(fused, self.wavelet, mode="symmetric")[:h, :w]
        return np.clip(out, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Dual-tree complex wavelet transform (the `dtcwt` package)

def _dtcwt_transform(biort: str, qshift: str):
    """A dtcwt.numpy.Transform2d, with dtcwt 0.14.0's NumPy-1-only helpers replaced.

    dtcwt 0.14.0 (the latest release) still calls np.asfarray and np.issubsctype, both removed
    in NumPy 2.0; the two helpers below do the same job and are installed in the dtcwt modules
    only (NumPy itself is not touched)."""
    try:
        import dtcwt.numpy.common
    except ImportError:
        raise ImportError("method dtcwt needs the `dtcwt` package: pip install --no-deps "
                          "dtcwt==0.14.0 six (its metadata asks for numpy<2, which it does not "
                          "need; python3 bootstrap.py installs it this way)") from None
    import dtcwt.numpy.lowlevel
    import dtcwt.numpy.transform2d
    import dtcwt.utils

    def asfarray(x):
        x = np.asanyarray(x)
        return x if np.issubdtype(x.dtype, np.inexact) else x.astype(np.float64)

    def complex_type_for(x):
        return np.result_type(np.asanyarray(x).dtype, np.complex64)

    for mod in (dtcwt.utils, dtcwt.numpy.common, dtcwt.numpy.lowlevel, dtcwt.numpy.transform2d):
        mod.asfarray = asfarray
        if hasattr(mod, "appropriate_complex_type_for"):
            mod.appropriate_complex_type_for = complex_type_for
    return dtcwt.numpy.transform2d.Transform2d(biort=biort, qshift=qshift)


class DualTreeComplexWavelet:
    """DT-CWT fusion (Lewis, O'Callaghan, Nikolov, Bull, Canagarajah 2007, pixel-based rule):
    lowpass averaged, each complex highpass coefficient (6 orientations per level) chosen by the
    larger magnitude.

    biort/qshift: filters of the first / further levels (default 'near_sym_b', 'qshift_b');
    levels: default 4, capped for small images. Padded symmetrically to a multiple of 2**levels
    (the transform halves the size at every level) and cropped back."""

    version = "1"

    def __init__(self, levels: int = 4, biort: str = "near_sym_b", qshift: str = "qshift_b"):
        self.levels = int(levels)
        self.biort, self.qshift = biort, qshift
        self._transform = None

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        return self.fuse_stack([a, b], task)

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        if self._transform is None:
            self._transform = _dtcwt_transform(self.biort, self.qshift)
        from dtcwt.numpy import Pyramid
        imgs = _as_stack(images)
        h, w = imgs[0].shape
        n = max(1, pyramid_levels((h, w), self.levels, min_size=1))
        pyrs = [self._transform.forward(pad_to_multiple(img, 2 ** n), nlevels=n) for img in imgs]
        low = np.mean([p.lowpass for p in pyrs], axis=0)
        highs = tuple(max_abs_select(np.stack([p.highpasses[k] for p in pyrs]))
                      for k in range(n))
        out = self._transform.inverse(Pyramid(low, highs))[:h, :w]
        return np.clip(out, 0.0, 1.0).astype(np.float32)


register_method("lp", tasks=MST_TASKS, kind="classical", baseline=True,
                description="Laplacian pyramid: base averaged, band-pass levels max-abs",
                paper="Burt & Adelson, IEEE Trans. Commun. 1983 (fusion rule as in Toet 1989)",
                year=1983, params={"levels": 4})(LaplacianPyramid)
register_method("rp", tasks=("ivf", "medical"), kind="classical", baseline=True,
                description="ratio-of-low-pass pyramid: top level averaged, max local contrast",
                paper="Toet, Pattern Recognit. Lett. 1989", year=1989,
                params={"levels": 4, "offset": 1e-3})(RatioPyramid)
register_method("dwt", tasks=MST_TASKS, kind="classical", baseline=True,
                description="discrete wavelet (sym4, 4 levels): approximation averaged, "
                            "details max-abs",
                paper="Li, Manjunath & Mitra, Graph. Models Image Process. 1995", year=1995,
                params={"wavelet": "sym4", "levels": 4})(WaveletFusion)
register_method("dtcwt", tasks=MST_TASKS, kind="classical", baseline=True,
                description="dual-tree complex wavelet: lowpass averaged, highpass max magnitude",
                paper="Lewis et al., Information Fusion 2007", year=2007,
                params={"levels": 4, "biort": "near_sym_b", "qshift": "qshift_b"},
                needs=())(DualTreeComplexWavelet)
