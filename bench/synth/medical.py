"""Registered medical-like pairs (256 x 256): an MRI-like image with a CT-, PET- or SPECT-like one.

Both images of a pair are rendered from one tissue map of one anatomy, so they are registered
by construction. Anatomies, all from files shipped inside pydicom and scikit-image:
- 'head': the head CT 693_J2KI.dcm (512 x 512, HU). Body, skull and brain come from HU
  thresholds; the brain's grey / white matter, sulci and ventricles are drawn from the seed
  (CT cannot show them, which is the point of MRI-CT fusion).
- 'thorax': CT_small.dcm (128 x 128 CT, upsampled): air/lung, fat, soft tissue, bone by HU.
- 'abdomen': examples_overlay.dcm (MR abdomen, 300 x 484, cropped square): the MRI itself; no CT.
- 'phantom': scikit-image's Shepp-Logan phantom (phantom.png): skull ring, ventricles, ellipses.

Renderings (float in [0, 1], quantised to uint8):
- CT-like (grey): a wide window (HU + 500) / 1600 of the (real or label-derived) HU: bone bright,
  soft tissue flat (~0.34, grey and white matter within ~0.01), air black.
- MRI-like (grey, T2-like in the head: CSF bright, grey > white matter; T1-like in the body: fat
  bright): per-tissue intensities, soft-tissue detail, bone dark, a smooth multiplicative bias
  field (+-15 %) and light noise.
- PET-like / SPECT-like (RGB pseudo-colour): tracer uptake per tissue (grey matter, organs) plus
  1-3 hot spots, multiplied by a smooth field, blurred and sampled at low resolution (PET 64^2,
  SPECT 32^2), Poisson-like noise, then OpenCV's COLORMAP_HOT (PET) or COLORMAP_JET (SPECT) with
  zero activity shown black. Activity is confined to the body (a little blur spills past it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
from scipy import ndimage

from . import textures

SIZE = 256
ANATOMIES = ("head", "thorax", "abdomen", "phantom")
PARTNERS = ("ct", "pet", "spect")
COLORMAPS = {"pet": cv2.COLORMAP_HOT, "spect": cv2.COLORMAP_JET}
LOW_RES = {"pet": (64, 2.0), "spect": (32, 3.5)}  # grid size, blur sigma (px at 256)

# tissue labels
AIR, SOFT, FAT, BONE, CSF, GREY, WHITE, MARROW, LUNG = range(9)
CT_HU = {AIR: -1000, SOFT: 45, FAT: -100, BONE: 1000, CSF: 8, GREY: 40, WHITE: 30, MARROW: 300,
         LUNG: -850}
MRI_T2 = {AIR: 0.0, SOFT: 0.45, FAT: 0.6, BONE: 0.06, CSF: 0.92, GREY: 0.58, WHITE: 0.4,
          MARROW: 0.5, LUNG: 0.03}
MRI_T1 = {AIR: 0.0, SOFT: 0.4, FAT: 0.88, BONE: 0.08, CSF: 0.15, GREY: 0.45, WHITE: 0.6,
          MARROW: 0.62, LUNG: 0.03}
UPTAKE = {AIR: 0.0, SOFT: 0.3, FAT: 0.05, BONE: 0.06, CSF: 0.04, GREY: 1.0, WHITE: 0.35,
          MARROW: 0.25, LUNG: 0.03}


@dataclass(frozen=True)
class Anatomy:
    name: str
    labels: np.ndarray            # uint8 tissue labels (AIR ... LUNG)
    hu: np.ndarray | None = None  # CT numbers where the source is a CT (else derived from labels)
    mri: np.ndarray | None = None  # a real MR image in [0, 1] (abdomen), used as is
    detail: np.ndarray = field(default=None)  # soft-tissue detail in [-1, 1] for MRI-like


@dataclass(frozen=True)
class MedicalPair:
    mri: np.ndarray    # H x W uint8
    other: np.ndarray  # H x W uint8 (ct) or H x W x 3 uint8 RGB (pet, spect)
    body: np.ndarray   # H x W bool, the body / head outline shared by both
    meta: dict


def make_pair(partner: str, anatomy: str, seed) -> MedicalPair:
    """partner: 'ct' | 'pet' | 'spect'; anatomy: one of ANATOMIES ('abdomen' has no CT)."""
    if partner not in PARTNERS:
        raise ValueError(f"partner must be one of {PARTNERS}, got {partner!r}")
    if partner == "ct" and anatomy == "abdomen":
        raise ValueError("the abdomen source is an MR image; it has no CT-like partner")
    rng = np.random.default_rng(seed)
    anat = build_anatomy(anatomy, rng)
    if rng.random() < 0.5:
        anat = _mirror(anat)
    body = ndimage.binary_fill_holes(anat.labels != AIR)
    mri = render_mri(anat, rng)
    if partner == "ct":
        other = render_ct(anat, rng)
    else:
        other = render_functional(anat, partner, rng)
    meta = {"anatomy": anatomy, "partner": partner,
            "pair": f"MRI-{partner.upper()}",
            "colormap": {"pet": "hot", "spect": "jet"}.get(partner)}
    return MedicalPair(_u8(mri), other if other.dtype == np.uint8 else _u8(other), body, meta)


# -- anatomies --------------------------------------------------------------------------------

def build_anatomy(name: str, rng: np.random.Generator) -> Anatomy:
    if name == "head":
        return _head(rng)
    if name == "thorax":
        return _thorax(rng)
    if name == "abdomen":
        return _abdomen()
    if name == "phantom":
        return _phantom(rng)
    raise ValueError(f"unknown anatomy {name!r}; known: {', '.join(ANATOMIES)}")


@lru_cache(maxsize=None)
def _dicom_hu(filename: str) -> np.ndarray:
    import pydicom
    ds = pydicom.dcmread(textures.pydicom_file(filename))
    arr = ds.pixel_array.astype(np.float64)
    hu = arr * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    hu.setflags(write=False)
    return hu


def _crop_square(img: np.ndarray, fill: float, threshold: float = -400.0,
                 margin: float = 0.06) -> np.ndarray:
    """Square crop around the largest region above threshold (padded with fill), to SIZE^2."""
    ys, xs = np.nonzero(_largest(img > threshold))
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    half = int(round(max(ys.max() - ys.min(), xs.max() - xs.min()) * (0.5 + margin)))
    pad = np.pad(img, half, mode="constant", constant_values=fill)
    y0, x0 = int(round(cy)), int(round(cx))  # centre in padded coordinates is (cy + half) - half
    square = pad[y0:y0 + 2 * half, x0:x0 + 2 * half]
    return cv2.resize(square, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum(mask, lab, index=np.arange(1, n + 1))
    return ndimage.binary_fill_holes(lab == 1 + int(np.argmax(sizes)))


def _head(rng) -> Anatomy:
    hu = _crop_square(_dicom_hu("693_J2KI.dcm"), -1000.0)
    body = _largest(hu > -400)
    skull = body & (hu > 300)
    inside = ndimage.binary_fill_holes(skull) & ~skull
    brain = ndimage.binary_opening(inside & (hu > -60), iterations=2)
    labels = np.where(body, SOFT, AIR).astype(np.uint8)
    labels[skull] = BONE
    labels[inside] = CSF
    d = ndimage.distance_transform_edt(brain)
    folds = textures.smooth_noise(hu.shape, rng, 14.0)
    sulci = textures.smooth_noise(hu.shape, rng, 18.0)
    grey = brain & (d < 3 + 6 * folds + 4 * (np.abs(sulci - 0.5) < 0.12))
    csf = brain & ((d < 1.5) | ((np.abs(sulci - 0.5) < 0.03) & (d < 12)))
    labels[brain] = WHITE
    labels[grey] = GREY
    labels[csf] = CSF
    labels[_ventricles(brain, d, rng)] = CSF
    detail = 2 * textures.smooth_noise(hu.shape, rng, 30.0) - 1
    hu = hu.copy()  # inside the skull the HU come from the labels (the source is flat there)
    hu[inside] = _lut(labels, CT_HU)[inside] + 6 * detail[inside]
    return Anatomy("head", labels, hu=hu, detail=detail)


def _ventricles(brain, d, rng) -> np.ndarray:
    ys, xs = np.nonzero(d > 0.6 * d.max())
    cy, cx = ys.mean(), xs.mean()
    rows, cols = np.indices(brain.shape, dtype=np.float64)
    out = np.zeros(brain.shape, bool)
    size = d.max() * rng.uniform(0.3, 0.42)
    for side in (-1, 1):
        ex, ey = cx + side * size * 0.5, cy + rng.uniform(-0.2, 0.2) * size
        tilt = side * rng.uniform(0.1, 0.35)
        u, v = cols - ex, rows - ey
        out |= ((u + tilt * v) / (0.38 * size)) ** 2 + (v / size) ** 2 < 1
    return out & brain


def _thorax(rng) -> Anatomy:
    hu = ndimage.zoom(_dicom_hu("CT_small.dcm"), 2, order=3, mode="nearest", grid_mode=True)
    hu = hu + 8 * (textures.smooth_noise(hu.shape, rng, 40.0) - 0.5)
    tissue = textures.blur(hu, 2.0)  # labels from smoothed HU: no speckle
    labels = np.full(hu.shape, SOFT, np.uint8)
    labels[tissue < -400] = LUNG
    labels[(tissue >= -400) & (tissue < -40)] = FAT
    labels[tissue > 180] = MARROW
    labels[hu > 500] = BONE
    body = _largest(hu > -400)
    labels[~body] = AIR
    detail = np.clip((hu - textures.blur(hu, 3.0)) / 40.0, -1, 1)
    return Anatomy("thorax", labels, hu=hu, detail=detail)


@lru_cache(maxsize=1)
def _abdomen_source() -> np.ndarray:
    import pydicom
    ds = pydicom.dcmread(textures.pydicom_file("examples_overlay.dcm"))
    mr = ds.pixel_array.astype(np.float64)
    mr = mr[:, 10:474]  # drop the arms at the edges
    h, w = mr.shape
    square = np.zeros((w, w))
    top = (w - h) // 2
    square[top:top + h] = mr
    hi = np.percentile(square[square > 0], 99.5)
    small = cv2.resize(np.clip(square / hi, 0, 1), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    small.setflags(write=False)
    return small


def _abdomen() -> Anatomy:
    mr = _abdomen_source()
    body = _largest(textures.blur(mr, 2.0) > 0.08)
    labels = np.where(body, SOFT, AIR).astype(np.uint8)
    labels[body & (mr > 0.55)] = FAT  # bright on this T1 series: fat, kidneys, vessels
    return Anatomy("abdomen", labels, mri=np.where(body, mr, 0.0))


def _phantom(rng) -> Anatomy:
    levels = textures.photo("phantom")  # 0, 25, 51, 76, 102, 255
    small = cv2.resize(levels, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
    skull = small > 200
    inside = ndimage.binary_fill_holes(skull) & ~skull
    labels = np.full(small.shape, AIR, np.uint8)
    labels[skull] = BONE
    labels[inside] = WHITE
    labels[inside & (small == 0)] = CSF
    labels[inside & (small == 25)] = GREY
    labels[inside & (small >= 76) & (small <= 102)] = SOFT
    detail = 2 * textures.smooth_noise(small.shape, rng, 24.0) - 1
    return Anatomy("phantom", labels, detail=detail)


def _mirror(a: Anatomy) -> Anatomy:
    def flip(x):
        return None if x is None else np.ascontiguousarray(x[:, ::-1])
    return Anatomy(a.name, flip(a.labels), flip(a.hu), flip(a.mri), flip(a.detail))


# -- renderings -------------------------------------------------------------------------------

def _lut(labels: np.ndarray, table: dict[int, float]) -> np.ndarray:
    lut = np.zeros(256)
    for k, v in table.items():
        lut[k] = v
    return lut[labels]


def render_ct(anat: Anatomy, rng) -> np.ndarray:
    hu = anat.hu if anat.hu is not None else _lut(anat.labels, CT_HU)
    if anat.hu is None:  # label-derived: a little partial-volume blur and texture
        hu = textures.blur(hu, 0.7) + 4 * (anat.detail if anat.detail is not None else 0)
    ct = (hu + 500.0) / 1600.0
    ct = ct + rng.normal(0, 0.006, ct.shape)
    return np.where(anat.labels == AIR, 0.0, np.clip(ct, 0, 1))


def render_mri(anat: Anatomy, rng) -> np.ndarray:
    if anat.mri is not None:
        mri = anat.mri.copy()
    else:
        table = MRI_T2 if anat.name in ("head", "phantom") else MRI_T1
        mri = _lut(anat.labels, table)
        if anat.detail is not None:
            soft = np.isin(anat.labels, (SOFT, GREY, WHITE, MARROW))
            mri = mri + 0.08 * anat.detail * soft
        mri = textures.blur(mri, 0.8)
    bias = 0.85 + 0.3 * textures.smooth_noise(mri.shape, rng, 1.5)
    mri = mri * bias + rng.normal(0, 0.008, mri.shape) * (anat.labels != AIR)
    return np.clip(mri, 0, 1)


def render_functional(anat: Anatomy, kind: str, rng) -> np.ndarray:
    """Pseudo-colour RGB uint8 (COLORMAP_HOT for PET, COLORMAP_JET for SPECT)."""
    body = anat.labels != AIR
    if anat.mri is not None:  # abdomen: organs that enhance on MR take up the tracer
        act = 0.15 * body + 0.8 * textures.blur(anat.mri, 3.0) ** 2
    else:
        act = _lut(anat.labels, UPTAKE)
    act = act * (0.7 + 0.6 * textures.smooth_noise(act.shape, rng, 4.0))
    spots = np.zeros(act.shape)
    ys, xs = np.nonzero(ndimage.binary_erosion(body, iterations=12))
    for _ in range(int(rng.integers(1, 4))):
        if len(ys) == 0:
            break
        k = int(rng.integers(len(ys)))
        sigma = rng.uniform(4.0, 10.0)
        impulse = np.zeros(act.shape)
        impulse[ys[k], xs[k]] = 2 * np.pi * sigma ** 2
        spots += rng.uniform(0.6, 1.2) * textures.blur(impulse, sigma)
    act = (act + spots) * body
    grid, sigma = LOW_RES[kind]
    act = textures.blur(act, sigma)
    factor = SIZE // grid
    act = textures.downsample(act, factor)
    act = act + rng.normal(0, 1, act.shape) * 0.04 * np.sqrt(np.clip(act, 0, None))
    act = ndimage.zoom(np.clip(act, 0, None), factor, order=1, mode="nearest", grid_mode=True)
    act = act / max(np.percentile(act[body], 99.5), 1e-6)
    level = np.rint(np.clip(act, 0, 1) * 255).astype(np.uint8)
    bgr = cv2.applyColorMap(level, COLORMAPS[kind])
    rgb = bgr[:, :, ::-1].copy()
    rgb[level < 10] = 0
    return rgb


def _u8(f01: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(f01, 0, 1) * 255).astype(np.uint8)
