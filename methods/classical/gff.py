"""GFF: image fusion with guided filtering (Li, Kang, Hu, IEEE TIP 2013).

Two-scale fusion of N sources. Each source is split into a base layer (31 x 31 mean) and a
detail layer (source - base). A binary initial weight map marks, per pixel, the source with the
largest saliency (|3 x 3 Laplacian| smoothed by an 11 x 11 Gaussian, sigma 5). The maps are
refined by guided filtering with the source as guide: (r1, eps1) for the base layer and
(r2, eps2) for the detail layer, normalised to sum to one, and the layers are combined with them.

Conventions: float images in [0, 1]; eps values are on that scale (paper defaults r1=45,
eps1=0.3, r2=7, eps2=1e-6). As in the authors' code the refined weights are quantised to 1/255
steps and clipped to [0, 1] before normalisation, and borders are replicated for the Laplacian,
Gaussian and mean filters. For colour (`fuse_colour`) the weights are built on the grey images
(MATLAB rgb2gray, rounded to 8 bit) and applied to every RGB channel, as the original does for
VIFB and for multi-focus/exposure sets.

Faithfulness (bench.faithfulness, colour mode 'native'): the port reproduces the stored outputs
bit for bit once the original's JPEG steps are replayed (its VIFB/MFIF wrapper re-saves both
inputs as quality-75 JPEG before fusing, and the output is stored as quality-75 JPEG); against
the stored JPEGs alone: VIFB mean PSNR 39.95 dB / SSIM 0.933 (21 scenes), MFIF 42.5 dB / 0.974
(33 pairs). VIFB's 4 scenes with an 8-bit grey infrared file (manWalking, running, walking2,
walkingnight; 12.7-16.9 dB) are not GFF of the two sources: VIFB's load_images writes a grey
image into the 4-D colour stack with 3-D indexing, so the infrared replaces the visible image's
green channel and the second source stays black.

The guided filter (He et al.'s, with windows truncated at the border as guidedfilter.m) and
MATLAB's uint8 rounding are methods.classical._matlab's, shared with the other ports.
"""
from __future__ import annotations

import cv2
import numpy as np

from methods.base import ALL_TASKS, register_method

from ._matlab import MATLAB_GREY_WEIGHTS as RGB2GRAY
from ._matlab import guided_filter, matlab_uint8  # noqa: F401  (mgff, hmsd import them from here)

_LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64)


def saliency(grey: np.ndarray) -> np.ndarray:
    """|Laplacian| smoothed by an 11 x 11 Gaussian (sigma 5), replicated borders."""
    lap = np.abs(cv2.filter2D(grey, cv2.CV_64F, _LAPLACIAN, borderType=cv2.BORDER_REPLICATE))
    return cv2.GaussianBlur(lap, (11, 11), 5.0, borderType=cv2.BORDER_REPLICATE)


def refined_weights(greys: list[np.ndarray], r1: int, eps1: float, r2: int,
                    eps2: float) -> tuple[np.ndarray, np.ndarray]:
    """(base weights, detail weights), each N x H x W summing to one over the sources."""
    sal = np.stack([saliency(g) for g in greys]) + 1e-12
    sal /= sal.sum(axis=0)  # as the original; does not change the arg-max
    winner = np.argmax(sal, axis=0)  # ties go to the first source, as MATLAB's max
    masks = [(winner == n).astype(np.float64) for n in range(len(greys))]

    def refine(r: int, eps: float) -> np.ndarray:
        w = np.stack([guided_filter(g, m, r, eps) for g, m in zip(greys, masks)])
        w = matlab_uint8(w * 255.0) / 255.0 + 1e-12
        return w / w.sum(axis=0)

    return refine(r1, eps1), refine(r2, eps2)


def two_scale_fuse(images: list[np.ndarray], w_base: np.ndarray,
                   w_detail: np.ndarray) -> np.ndarray:
    """Sum over sources of base * w_base + detail * w_detail; images H x W or H x W x C."""
    fused = 0.0
    for img, wb, wd in zip(images, w_base, w_detail):
        base = cv2.blur(img, (31, 31), borderType=cv2.BORDER_REPLICATE)
        if img.ndim == 3:
            wb, wd = wb[..., None], wd[..., None]
        fused = fused + base * wb + (img - base) * wd
    return fused


def rounded_grey(rgb: np.ndarray) -> np.ndarray:
    """MATLAB rgb2gray of an 8-bit image, on [0, 1] floats: luma rounded to 1/255 steps."""
    return matlab_uint8(rgb @ RGB2GRAY * 255.0) / 255.0


@register_method("gff", tasks=ALL_TASKS, kind="classical", baseline=True,
                 description="guided-filtering two-scale fusion (saliency weights refined by "
                             "guided filters)",
                 paper="S. Li, X. Kang, J. Hu, Image fusion with guided filtering, IEEE TIP 2013",
                 year=2013, params={"r1": 45, "eps1": 0.3, "r2": 7, "eps2": 1e-6},
                 reference={"vifb": ("GFF", "native"), "mfif": ("GFF", "native")})
class GFF:
    """Guided filtering fusion; N sources (`fuse_stack`) and colour (`fuse_colour`)."""

    version = "1"

    def __init__(self, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6):
        self.r1, self.eps1, self.r2, self.eps2 = int(r1), float(eps1), int(r2), float(eps2)

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        return self.fuse_stack([a, b], task)

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        greys = [np.asarray(img, np.float64) for img in images]
        w_base, w_detail = refined_weights(greys, self.r1, self.eps1, self.r2, self.eps2)
        fused = two_scale_fuse(greys, w_base, w_detail)
        return np.clip(fused, 0.0, 1.0).astype(np.float32)

    def fuse_colour(self, sources: list[np.ndarray], task: str) -> np.ndarray:
        """Weights from the (8-bit rounded) grey images, applied to each RGB channel; a grey
        source is used as three equal channels. Returns H x W x 3 in [0, 1]."""
        rgbs = [np.repeat(np.asarray(s, np.float64)[..., None], 3, axis=2) if s.ndim == 2
                else np.asarray(s[..., :3], np.float64) for s in sources]
        greys = [rounded_grey(rgb) for rgb in rgbs]
        w_base, w_detail = refined_weights(greys, self.r1, self.eps1, self.r2, self.eps2)
        fused = two_scale_fuse(rgbs, w_base, w_detail)
        return np.clip(fused, 0.0, 1.0).astype(np.float32)
