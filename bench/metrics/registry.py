"""Metric registration: a metric is a pure function (a, b, f) -> float on grey 0..255 arrays."""
from __future__ import annotations

from typing import Callable

from ..registry import METRICS


def register_metric(name: str, *, direction: str, family: str, description: str,
                    needs: tuple[str, ...] = ("sources", "fused"), aliases: tuple[str, ...] = (),
                    profiles: tuple[str, ...] = ("default",),
                    default: bool = True) -> Callable:
    """direction: 'higher' or 'lower' is better. needs: 'sources', 'fused', 'gt'.
    default: part of the set `bench run` computes when no --metrics are given."""
    if direction not in ("higher", "lower"):
        raise ValueError("direction must be 'higher' or 'lower'")
    return METRICS.register(name, direction=direction, family=family, description=description,
                            needs=tuple(needs), aliases=aliases, profiles=tuple(profiles),
                            default=default)
