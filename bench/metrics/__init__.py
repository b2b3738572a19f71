"""Fusion metrics: `compute(name, a, b, f, profile="default", gt=None) -> float`.

a, b and f are H x W or H x W x 3 arrays of values in 0..255 (any numeric dtype). The profile's
colour rule reduces them to grey float64; the metric function then sees only grey arrays.
Names are case-insensitive and the field's spellings are aliases (VIFB's `Entropy`, ...).
"""
from __future__ import annotations

import numpy as np

from ..registry import METRICS
from . import information, spatial  # noqa: F401  (registers the metrics)
from .profiles import PROFILES, get_profile


def compute(name: str, a, b, f, profile: str = "default", gt=None) -> float:
    entry = METRICS.get(name)
    prof = get_profile(profile)
    if prof.name not in entry.meta["profiles"]:
        raise ValueError(f"metric {entry.name} has no {prof.name!r} convention; it has "
                         f"{', '.join(entry.meta['profiles'])}")
    f_grey = prof.to_grey(f)
    a_grey = prof.to_grey(a) if a is not None else None
    b_grey = prof.to_grey(b) if b is not None else None
    for label, arr in (("a", a_grey), ("b", b_grey)):
        if arr is not None and arr.shape != f_grey.shape and "sources" in entry.meta["needs"]:
            raise ValueError(f"{entry.name}: {label} is {arr.shape} but f is {f_grey.shape}")
    if "gt" in entry.meta["needs"]:
        if gt is None:
            raise ValueError(f"{entry.name} needs a ground-truth image (gt=...)")
        return float(entry.obj(a_grey, b_grey, f_grey, prof.to_grey(gt)))
    return float(entry.obj(a_grey, b_grey, f_grey))


def available() -> dict[str, list[str]]:
    """Metric names -> the profiles each supports."""
    return {e.name: list(e.meta["profiles"]) for e in METRICS}


def default_metrics() -> list[str]:
    return [e.name for e in METRICS if e.meta.get("default")]


__all__ = ["compute", "available", "default_metrics", "PROFILES"]
