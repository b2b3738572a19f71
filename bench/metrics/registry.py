"""Metric registration.

A metric is a pure function `fn(a, b, f, **conventions) -> float` on grey float64 planes with
values on the 0..255 scale (the profile's colour rule made them), plus `gt=` for metrics that
need ground truth. `conventions` maps a profile name to the keyword options that reproduce that
toolkit ('default' is used for profiles without an entry). The reserved option `_colour` names a
colour rule that replaces the profile's for this metric (e.g. VIFB's folded SF).
"""
from __future__ import annotations

from typing import Any, Callable

from ..registry import METRICS

FAMILIES = ("information", "spatial", "correlation", "error", "structural", "perceptual",
            "edge", "quality", "reference")


def register_metric(name: str, *, direction: str, family: str, description: str,
                    needs: tuple[str, ...] = ("sources", "fused"), aliases: tuple[str, ...] = (),
                    conventions: dict[str, dict[str, Any]] | None = None) -> Callable:
    """direction: 'higher' or 'lower' is better. needs: any of 'sources', 'fused', 'gt'.
    conventions: profile -> options; profiles listed here are the ones the metric reproduces."""
    if direction not in ("higher", "lower"):
        raise ValueError("direction must be 'higher' or 'lower'")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}")
    conventions = dict(conventions or {})
    conventions.setdefault("default", {})
    return METRICS.register(name, direction=direction, family=family, description=description,
                            needs=tuple(needs), aliases=aliases, conventions=conventions,
                            profiles=tuple(conventions))
