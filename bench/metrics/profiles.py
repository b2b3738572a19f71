"""Convention profiles: named sets of choices that make metric numbers comparable.

Only `default` exists so far; the reference-toolkit profiles (vifb, mefb, tang, cddfuse) land
with the metrics issue (#3). A profile's colour rule turns the H x W x 3 arrays a caller passes
into what the metric functions see: H x W float64 in 0..255.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Profile:
    name: str
    colour_rule: str
    description: str

    def to_grey(self, img: np.ndarray) -> np.ndarray:
        """H x W or H x W x 3 values in 0..255 -> H x W float64 in 0..255 by the colour rule."""
        img = np.asarray(img, dtype=np.float64)
        if img.ndim == 2:
            return img
        if img.ndim == 3 and img.shape[2] == 1:
            return img[:, :, 0]
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected H x W or H x W x 3, got shape {img.shape}")
        if self.colour_rule == "bt601-y":
            return img @ np.array([0.299, 0.587, 0.114])
        raise ValueError(f"profile {self.name}: unknown colour rule {self.colour_rule}")


PROFILES: dict[str, Profile] = {
    "default": Profile(
        "default", "bt601-y",
        "fusebench default: colour images reduced to BT.601 luma Y = 0.299R + 0.587G + 0.114B "
        "(values 0..255, not rounded); close to the Tang toolkit's rgb2gray"),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown metric profile {name!r}; known: {', '.join(PROFILES)}") from None
