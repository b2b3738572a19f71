"""Convention profiles: named sets of choices that make metric numbers comparable.

A profile fixes
- the colour rule that turns the caller's H x W or H x W x 3 arrays (values 0..255) into the
  planes a metric sees (`COLOUR_RULES`);
- name aliases where a toolkit's name means another metric (Tang's "MS_SSIM" is MEF-SSIM;
  MEFB's "VIF" is VIFF; CDDFuse's "VIFF" is the multi-scale pixel VIF sum);
- the metric set its toolkit reports (what `bench run --profile NAME` computes by default).
Each metric states its own per-profile options (log base, sum or mean over sources, data range,
window...) where it registers (`register_metric(..., conventions={...})`).

Profiles:
- default: fusebench's documented, bug-free choice, close to `tang`: BT.601 luma (unrounded),
  MI in bits, SSIM as the mean over sources with L = 255, true PSNR, Nabf with F as the fused
  image.
- vifb: VIFB/MEFB MATLAB (xingchenzhang/VIFB): metrics per RGB channel, averaged; grey images
  are replicated to three channels when another image of the triple is colour.
- mefb: MEFB MATLAB (xingchenzhang/MEFB).
- tang: Linfeng Tang's Evaluation-for-Image-Fusion MATLAB toolkit as published
  (Linfeng-Tang/Image-Fusion `General Evaluation Metric/Evaluation` @ 53f5542, identical to the
  SeAFusion copy): `rgb2gray` on uint8 images, then `analysis_Reference`. Reproduced as the code
  runs, bugs included: SD on uint8 (saturating `F - mean`), SF on im2double images, "SSIM" is
  single-scale MEF-SSIM (the `ssim` lines are commented out), VIF on uint8 products, MI's `Hab`
  joining levels 254 and 255. Its Nabf call is in the correct order in this code; the swapped
  call other copies make is available as `tang_swapped_arguments=True` only.
- cddfuse: CDDFuse `utils/Evaluator.py`: grey = round(0.299 R + 0.587 G + 0.114 B) in float32.
- liu: Z. Liu's imageFusionMetrics (Liu et al., TPAMI 2012 survey code): grey images.

`file_channels`: the toolkit reads images as stored, so an RGB-but-grey file is three channels
to it (the runner passes such files as H x W x 3 under these profiles).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .matlab import channel_sum, rgb2gray

Planes = list[np.ndarray]


def _is_colour(img: np.ndarray | None) -> bool:
    return img is not None and img.ndim == 3 and img.shape[2] == 3


_BT601 = np.array([0.299, 0.587, 0.114])


def _grey_bt601(img: np.ndarray) -> np.ndarray:
    return channel_sum(img, _BT601)


def _grey_cddfuse(img: np.ndarray) -> np.ndarray:
    # cv2.cvtColor(float32 BGR, BGR2GRAY) then np.round (half to even), as Evaluator.py reads.
    weighted = (img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    return np.round(weighted).astype(np.float64)


GREY_RULES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "bt601-y": _grey_bt601,
    "rgb2gray": rgb2gray,
    "cddfuse-gray": _grey_cddfuse,
}


def grey_rule(name: str) -> Callable[[list], list[tuple]]:
    """Colour rule that reduces every colour image to one grey plane."""
    to_grey = GREY_RULES[name]

    def rule(images: list) -> list[tuple]:
        return [tuple(None if im is None else (to_grey(im) if _is_colour(im) else im)
                      for im in images)]

    return rule


def per_channel(images: list) -> list[tuple]:
    """VIFB: if any image is colour, evaluate each RGB channel (grey images replicated)."""
    if not any(_is_colour(im) for im in images):
        return [tuple(images)]
    return [tuple(None if im is None else (im[:, :, c] if _is_colour(im) else im)
                  for im in images) for c in range(3)]


def folded(images: list) -> list[tuple]:
    """VIFB's SF on colour images: the three channels laid side by side as one H x 3W plane."""
    if not any(_is_colour(im) for im in images):
        return [tuple(images)]
    return [tuple(None if im is None else
                  (np.hstack([im[:, :, c] for c in range(3)]) if _is_colour(im)
                   else np.hstack([im] * 3)) for im in images)]


def channel_loop(colour_f_grey_sources: str, round_rgb2gray: bool) -> Callable[[list], list[tuple]]:
    """The channel loop of VIFB's and MEFB's per-metric MATLAB wrappers.

    - F colour: the metric per RGB channel, averaged (a grey source serves every channel);
      except, when both sources are grey, MEFB scores only F's red channel
      (`fused = fused(:,:,1)`, colour_f_grey_sources='red') or its unrounded rgb2gray
      (metricsAvg_gradient.m, 'rgb2gray').
    - F grey and a source colour: the colour source goes through MATLAB rgb2gray inside the
      metric, rounded to uint8 where the wrapper works on the uint8 image (metricsMutinf.m,
      metricsSsim.m, ...), unrounded where it converts with double() first (metricsPsnr.m,
      metricsQabf.m, ...).
    """
    if colour_f_grey_sources not in ("per-channel", "red", "rgb2gray"):
        raise ValueError(colour_f_grey_sources)

    def rule(images: list) -> list[tuple]:
        a, b, f = images[:3]
        if not any(_is_colour(im) for im in images):
            return [tuple(images)]
        if _is_colour(f):
            if not _is_colour(a) and not _is_colour(b) and colour_f_grey_sources != "per-channel":
                plane = f[:, :, 0] if colour_f_grey_sources == "red" else rgb2gray(f, integer=False)
                return [(a, b, plane, *images[3:])]
            return per_channel(images)
        return [tuple(None if im is None else
                      (rgb2gray(im, integer=round_rgb2gray) if _is_colour(im) else im)
                      for im in images)]

    return rule


def vifb_fold_fused(images: list) -> list[tuple]:
    """VIFB metricsSpatial_frequency.m on a colour F: `[m,n] = size(fused)` folds the three
    channels side by side (n becomes 3W) and the loops run over that m x 3W plane, seams
    included. A grey F is used as it is. Only F is folded; SF does not read the sources."""
    a, b, f = images[:3]
    if not _is_colour(f):
        return [tuple(im[:, :, 0] if _is_colour(im) and k < 2 else im
                      for k, im in enumerate(images))]
    return [(None if a is None else (a[:, :, 0] if _is_colour(a) else a),
             None if b is None else (b[:, :, 0] if _is_colour(b) else b),
             np.hstack([f[:, :, c] for c in range(3)]), *images[3:])]


COLOUR_RULES: dict[str, Callable[[list], list[tuple]]] = {
    "bt601-y": grey_rule("bt601-y"),
    "rgb2gray": grey_rule("rgb2gray"),
    "cddfuse-gray": grey_rule("cddfuse-gray"),
    "per-channel": per_channel,
    "fold": folded,
    # per-metric rules of the VIFB/MEFB wrappers (selected through a metric's `_colour` option)
    "vifb-loop": channel_loop("per-channel", round_rgb2gray=False),
    "vifb-loop-u8": channel_loop("per-channel", round_rgb2gray=True),
    "mefb-loop": channel_loop("red", round_rgb2gray=False),
    "mefb-loop-u8": channel_loop("red", round_rgb2gray=True),
    "mefb-loop-rgb2gray": channel_loop("rgb2gray", round_rgb2gray=False),
    "vifb-fold-fused": vifb_fold_fused,
}


@dataclass(frozen=True)
class Profile:
    name: str
    colour_rule: str
    description: str
    metrics: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    file_channels: bool = False

    def planes(self, images: list, rule: str | None = None) -> list[tuple]:
        """(a, b, f[, gt]) as float64 0..255 -> list of grey tuples to evaluate and average."""
        # views, so that marking planes read-only never changes the caller's arrays
        arrays = [None if im is None else np.asarray(im, dtype=np.float64).view() for im in images]
        for im in arrays:
            if im is not None and not (im.ndim == 2 or _is_colour(im)):
                raise ValueError(f"expected H x W or H x W x 3 arrays, got shape {im.shape}")
        return COLOUR_RULES[rule or self.colour_rule](arrays)


# Metric sets as each toolkit reports them (our canonical names).
VIFB_METRICS = ("CE", "EN", "MI", "PSNR", "AG", "EI", "Qabf", "SD", "SF", "RMSE", "SSIM", "Qcb",
                "Qcv")
MEFB_METRICS = ("CE", "EN", "FMI_edge", "NMI", "PSNR", "QNCIE", "TE", "AG", "EI", "Qabf", "Qp",
                "SD", "SF", "Qc", "Qw", "Qy", "MEF-SSIM", "Qcb", "Qcv", "VIFF")
TANG_METRICS = ("EN", "SF", "SD", "PSNR", "MSE", "MI", "VIF", "AG", "CC", "SCD", "Qabf", "Nabf",
                "SSIM", "MEF-SSIM", "FMI_pixel", "FMI_dct", "FMI_w")
CDDFUSE_METRICS = ("EN", "SD", "SF", "MI", "SCD", "VIF", "Qabf", "SSIM", "AG", "CC", "PSNR", "MSE")
LIU_METRICS = ("Qabf", "Qcb", "Qcv", "Qc", "Qy", "Qp", "Qw", "Qs", "Qsf", "NMI", "TE", "TE_nava",
               "QNCIE")
DEFAULT_METRICS = ("EN", "SD", "SF", "AG", "MI", "CC", "SCD", "PSNR", "SSIM", "MS-SSIM", "VIF",
                   "Qabf", "Nabf")

PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("default", "bt601-y",
            "fusebench default: BT.601 luma Y = 0.299R + 0.587G + 0.114B (not rounded), MI in "
            "bits, SSIM = mean over sources with L = 255, true PSNR (peak 255), Nabf with F as the "
            "fused image; close to `tang` without its bugs", DEFAULT_METRICS),
    Profile("vifb", "per-channel",
            "VIFB MATLAB toolkit: per-RGB-channel metrics averaged; MI in nats on min-max "
            "normalised images, SSIM summed over sources, its 'mse' inside PSNR and RMSE, SF with "
            "channels folded side by side", VIFB_METRICS, file_channels=True),
    Profile("mefb", "per-channel", "MEFB MATLAB toolkit (multi-exposure benchmark)",
            MEFB_METRICS, aliases={"VIF": "VIFF", "FMI": "FMI_edge"}, file_channels=True),
    Profile("tang", "rgb2gray",
            "Tang's Evaluation-for-Image-Fusion MATLAB toolkit as published: rgb2gray on uint8, MI "
            "in bits, PSNR with the +48.13 dB scale mix, VIF summed on uint8 products, 'SSIM' = "
            "single-scale MEF-SSIM, 'MS_SSIM' = MEF-SSIM, 'FMI_pixel' edge-based, SD on uint8 "
            "(saturating), SF on [0,1]", TANG_METRICS,
            aliases={"MS_SSIM": "MEF-SSIM"}, file_channels=True),
    Profile("cddfuse", "cddfuse-gray",
            "CDDFuse utils/Evaluator.py: rounded float32 BT.601 grey, MI in nats, SSIM summed with "
            "skimage<=0.19's data_range=2, PSNR peak = max(F), 'VIFF' = pixel VIF sum",
            CDDFUSE_METRICS, aliases={"VIFF": "VIF"}),
    Profile("liu", "rgb2gray",
            "Z. Liu's imageFusionMetrics MATLAB code (metricXydeas, metricChenBlum, metricChen, "
            "metricCvejic, metricYang, metricZhao, metricPeilla, metricMI, metricWang, "
            "metricZheng) on grey images", LIU_METRICS),
)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown metric profile {name!r}; known: {', '.join(PROFILES)}") from None
