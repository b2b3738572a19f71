"""Fusion metrics: `compute(name, a, b, f, profile="default", gt=None) -> float`.

a, b and f are H x W or H x W x 3 arrays of values in 0..255 (any numeric dtype); gt likewise.
The profile's colour rule turns them into grey planes (one, or one per channel whose values are
averaged); the metric's per-profile conventions fix everything else. Names are case-insensitive;
the field's spellings are aliases (VIFB's `Entropy`, `Mutinf`, `Avg_gradient`, `Variance`, ...),
and a profile may alias a name to another metric (Tang's `MS_SSIM` is MEF-SSIM).

A value that is not finite is never returned: `MetricUndefined` says why instead.
"""
from __future__ import annotations

import importlib
import time
from typing import Any

import numpy as np

from ..registry import METRICS
from .profiles import PROFILES, Profile, get_profile

FAMILY_MODULES = ("information", "fmi", "spatial", "correlation", "error", "ssim", "mef_ssim",
                  "ssim_fusion", "perceptual", "qabf", "nabf", "quality", "phase_congruency",
                  "reference")


class MetricUndefined(ValueError):
    """The metric has no value for this input (e.g. a correlation with a constant image)."""


def _load() -> None:
    for module in FAMILY_MODULES:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{module}":
                raise


_load()


def resolve(name: str, profile: str | Profile = "default"):
    """-> (registry entry, profile) for a metric name as that profile spells it."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    aliases = {k.lower(): v for k, v in prof.aliases.items()}
    return METRICS.get(aliases.get(name.lower(), name)), prof


def conventions(name: str, profile: str | Profile = "default") -> dict[str, Any]:
    entry, prof = resolve(name, profile)
    table = entry.meta["conventions"]
    return dict(table.get(prof.name, table["default"]))


def compute(name: str, a, b, f, profile: str = "default", gt=None, **options: Any) -> float:
    """One metric of one (a, b, f[, gt]) triple under a profile's conventions.

    options override the profile's conventions (e.g. `base=2`)."""
    return _compute(name, [a, b, f, gt], profile, options, {})


def _compute(name: str, images: list, profile, options: dict, planes_cache: dict) -> float:
    entry, prof = resolve(name, profile)
    opts = conventions(name, prof)
    opts.update(options)
    rule = opts.pop("_colour", None) or prof.colour_rule
    a, b, f, gt = images
    needs = entry.meta["needs"]
    if "gt" in needs and gt is None:
        raise ValueError(f"{entry.name} needs a ground-truth image (gt=...)")
    if "sources" in needs and (a is None or b is None):
        raise ValueError(f"{entry.name} needs both source images")
    shapes = {np.shape(x)[:2] for x in images if x is not None}
    if len(shapes) > 1:
        raise ValueError(f"{entry.name}: images of different sizes {sorted(shapes)}")
    if rule not in planes_cache:
        planes = prof.planes(images, rule)
        for group in planes:  # shared by several metrics: none may modify them
            for arr in group:
                if arr is not None:
                    arr.flags.writeable = False
        planes_cache[rule] = planes
    values = []
    for pa, pb, pf, pg in planes_cache[rule]:
        if "gt" in needs:
            values.append(entry.obj(pa, pb, pf, gt=pg, **opts))
        else:
            values.append(entry.obj(pa, pb, pf, **opts))
    value = float(np.mean(values))
    if not np.isfinite(value):
        raise MetricUndefined(f"{entry.name} is not defined for this input under profile "
                              f"{prof.name} (got {value}); e.g. a constant image has no "
                              "correlation or gradient structure")
    return value


def compute_many(names: list[str], a, b, f, profile: str = "default", gt=None,
                 seconds: dict[str, float] | None = None
                 ) -> tuple[dict[str, float], dict[str, str]]:
    """Several metrics of one triple -> (values, errors by metric name). The colour rule's
    planes are computed once and shared (read-only) by the metrics; `seconds`, if given, is
    filled with each metric's time."""
    values, errors = {}, {}
    cache: dict = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            values[name] = _compute(name, [a, b, f, gt], profile, {}, cache)
        except Exception as exc:  # one metric's failure must not lose the others
            errors[name] = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        if seconds is not None:
            seconds[name] = time.perf_counter() - t0
    return values, errors


def available() -> dict[str, list[str]]:
    """Metric name -> the profiles whose convention it reproduces ('default' always)."""
    return {e.name: list(e.meta["profiles"]) for e in METRICS}


def default_metrics(profile: str = "default") -> list[str]:
    """The metric set a profile's toolkit reports (what `bench run` computes by default)."""
    return [m for m in get_profile(profile).metrics if m in METRICS]


__all__ = ["compute", "compute_many", "available", "default_metrics", "conventions", "resolve",
           "MetricUndefined", "PROFILES"]
