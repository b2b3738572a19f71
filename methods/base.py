"""The methods API: how a fusion method is declared, resolved from a spec, and applied.

A method fuses single-channel float32 images in [0, 1] (the Y channel; the harness applies the
colour rule, see bench.colour) and returns one H x W array in [0, 1]:

    @register_method("average", tasks=ALL_TASKS, kind="classical", baseline=True, ...)
    def average(a, b, task): return (a + b) / 2

A class may be registered instead; it is instantiated with the spec's parameters and may declare:
- `fuse(a, b, task)` (required),
- `fuse_stack(images, task)` for more than two sources (otherwise the harness folds pairwise:
  ((s0 + s1) + s2) ...),
- `fuse_batch(pairs, task)` to fuse several pairs at once (e.g. on a GPU),
- `tile` (int) and `tile_overlap` (int): the harness cuts larger images into overlapping tiles and
  blends them linearly (see `fuse_tiled`),
- `version` (str): part of the fused-image cache key; bump it when outputs change,
- `weights_digest()` (str): part of the cache key for trained methods.

Spec syntax: `NAME` or `NAME?param=value&...` (parameters are passed to the class or function as
keyword arguments, values parsed as int/float/bool when they look like one), and
`folder:NAME=DIR[?pattern=...]` for precomputed outputs (methods.folder).
"""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

import numpy as np

from bench.registry import METHODS, Entry, RegistryError

ALL_TASKS = frozenset({"ivf", "medical", "mff", "mef"})
KINDS = ("classical", "deep", "folder", "smc")


class MethodError(RuntimeError):
    """A method whose output cannot be used; the message says what was wrong."""


class MethodUnavailable(RegistryError):
    """A registered method that cannot run here (not implemented yet, needs weights or CUDA)."""


def register_method(name: str, *, tasks, description: str, kind: str = "classical",
                    baseline: bool = False, paper: str = "", year: int | None = None,
                    params: dict | None = None, needs: tuple[str, ...] = (),
                    device: str = "cpu", available: bool = True, reason: str = "",
                    aliases: tuple[str, ...] = (),
                    reference: dict[str, tuple[str, str]] | None = None,
                    shortfall: dict[str, str] | None = None) -> Callable[[Any], Any]:
    """Register a fusion method (function or class) with its metadata.

    tasks: subset of {'ivf','medical','mff','mef'}. kind: 'classical' | 'deep' | 'smc'.
    baseline: member of the `baselines` group. params: default parameters from the paper.
    needs: e.g. ('weights',), ('cuda',). device: 'cpu' | 'cuda' | 'any' (where fusion runs best;
    'cuda' methods are fused in the main process, their metrics in worker processes).
    reference: published outputs of the original implementation to check the port against
    (bench.faithfulness): {refset: (folder name, colour mode)}, refset 'vifb' | 'mfif',
    colour mode 'per-channel' | 'y' | 'grey' | 'native' (see bench.faithfulness).
    shortfall: {refset: why the port cannot reach the bar, with the measured values}.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    return METHODS.register(name, tasks=frozenset(tasks), description=description, kind=kind,
                            baseline=baseline, paper=paper, year=year, params=dict(params or {}),
                            needs=tuple(needs), device=device, available=available,
                            reason=reason, aliases=aliases, reference=dict(reference or {}),
                            shortfall=dict(shortfall or {}))


@dataclass
class ResolvedMethod:
    """A runnable method instance plus what the harness needs to know about it."""

    name: str            # as shown in records (`average`, `gff?r=7`, `GFF` for folder:GFF=...)
    spec: str            # the spec it was resolved from
    impl: Any            # function or instance
    entry: Entry | None  # registry entry (None for folder methods)
    params: dict = field(default_factory=dict)
    precomputed: bool = False

    @property
    def tasks(self) -> frozenset:
        return self.entry.meta["tasks"] if self.entry else ALL_TASKS

    @property
    def device(self) -> str:
        return self.entry.meta.get("device", "cpu") if self.entry else "cpu"

    @property
    def version(self) -> str:
        return str(getattr(self.impl, "version", "1"))

    def cache_identity(self) -> list[str]:
        """Strings that, with the sources' hashes, determine the fused output."""
        parts = [f"method={self.entry.name if self.entry else self.name}",
                 f"version={self.version}",
                 "params=" + "&".join(f"{k}={self.params[k]!r}" for k in sorted(self.params))]
        digest = getattr(self.impl, "weights_digest", None)
        if callable(digest):
            parts.append(f"weights={digest()}")
        return parts

    def fuse_pair(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        tile = getattr(self.impl, "tile", None)
        fn = self.impl.fuse if hasattr(self.impl, "fuse") else self.impl
        if tile and max(a.shape) > tile:
            return fuse_tiled(fn, a, b, task, tile, getattr(self.impl, "tile_overlap", tile // 8))
        return fn(a, b, task)

    def fuse_many(self, stacks: list[list[np.ndarray]], task: str) -> list[tuple[Any, float]]:
        """Fuse several samples -> [(Y or the exception it raised, seconds)], in order.

        Uses the method's `fuse_batch(pairs, task)` when it has one and every sample is a pair
        (seconds are then the batch time shared equally); if the batch raises, the samples are
        fused one by one so that only the faulty ones fail.
        """
        batch_fn = getattr(self.impl, "fuse_batch", None)
        if callable(batch_fn) and stacks and all(len(s) == 2 for s in stacks):
            start = time.perf_counter()
            try:
                outs = list(batch_fn([(s[0], s[1]) for s in stacks], task))
                if len(outs) == len(stacks):
                    share = (time.perf_counter() - start) / len(stacks)
                    return [(o, share) for o in outs]
            except Exception:
                pass
        results = []
        for stack in stacks:
            start = time.perf_counter()
            try:
                results.append((self.fuse_stack(stack, task), time.perf_counter() - start))
            except Exception as exc:
                results.append((exc, time.perf_counter() - start))
        return results

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        if len(images) == 2:
            return self.fuse_pair(images[0], images[1], task)
        stack_fn = getattr(self.impl, "fuse_stack", None)
        if callable(stack_fn):
            return stack_fn(images, task)
        fused = images[0]
        for img in images[1:]:
            fused = checked_output(self.fuse_pair(fused, img, task), img.shape, self.name)
        return fused


def parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_method_spec(spec: str) -> tuple[str, dict]:
    name, _, query = spec.partition("?")
    return name.strip(), {k: parse_value(v) for k, v in parse_qsl(query, keep_blank_values=True)}


def resolve(spec: str) -> ResolvedMethod:
    """Spec -> runnable method. Raises RegistryError (unknown) or MethodUnavailable."""
    import methods  # noqa: F401  (registers the built-in methods)
    if spec.lower().startswith("folder:"):
        from .folder import FolderMethod
        return FolderMethod.from_spec(spec)
    name, params = parse_method_spec(spec)
    entry = METHODS.get(name)
    if not entry.available:
        raise MethodUnavailable(f"method '{entry.name}' is not available: {entry.reason}")
    obj = entry.obj
    if inspect.isclass(obj):
        try:
            impl = obj(**params)
        except TypeError as exc:
            raise RegistryError(f"method '{entry.name}': bad parameters {params}: {exc}") from None
    else:
        impl = _bind(obj, params, entry.name) if params else obj
    label = entry.name + ("?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
                          if params else "")
    return ResolvedMethod(name=label, spec=spec, impl=impl, entry=entry, params=params)


def _bind(fn: Callable, params: dict, name: str) -> Callable:
    sig = inspect.signature(fn)
    unknown = [k for k in params if k not in sig.parameters]
    if unknown:
        raise RegistryError(f"method '{name}' has no parameter(s) {', '.join(unknown)}; "
                            f"it takes {', '.join(list(sig.parameters)[3:]) or 'none'}")

    def bound(a, b, task):
        return fn(a, b, task, **params)

    bound.__name__ = fn.__name__
    return bound


def checked_output(out: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Validate a method's output: an H x W (or H x W x 1) finite array; clipped to [0, 1]."""
    if not isinstance(out, np.ndarray):
        if not hasattr(out, "detach"):  # a torch tensor is fine too
            raise MethodError(f"{name} returned {type(out).__name__}, not an array")
        out = out.detach().cpu().numpy()
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[:, :, 0]
    want = tuple(shape[:2])
    if out.shape != want:
        raise MethodError(f"{name} returned shape {out.shape}, but the sources are {want} "
                          "(a method must return one H x W channel)")
    if not np.issubdtype(out.dtype, np.number):
        raise MethodError(f"{name} returned dtype {out.dtype}")
    bad = int(np.count_nonzero(~np.isfinite(out)))
    if bad:
        raise MethodError(f"{name} returned {bad} non-finite values (NaN/inf) of {out.size}")
    return np.clip(out.astype(np.float32, copy=False), 0.0, 1.0)


def _ramp(n: int, overlap: int, first: bool, last: bool) -> np.ndarray:
    w = np.ones(n, np.float32)
    if overlap > 0:
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        if not first:
            w[:overlap] = ramp[: min(overlap, n)]
        if not last:
            w[n - overlap:] = np.minimum(w[n - overlap:], ramp[::-1][: min(overlap, n)])
    return w


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step)) + [size - tile]
    return sorted(set(starts))


def fuse_tiled(fn: Callable, a: np.ndarray, b: np.ndarray, task: str, tile: int,
               overlap: int) -> np.ndarray:
    """Fuse in overlapping tiles of `tile` px, blended with linear ramps over `overlap` px.

    A pixel-wise rule gives exactly the untiled result; a method with a receptive field up to
    `overlap` px gives nearly the same result.
    """
    h, w = a.shape
    acc = np.zeros((h, w), np.float32)
    weight = np.zeros((h, w), np.float32)
    ys, xs = _starts(h, tile, overlap), _starts(w, tile, overlap)
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            sl = (slice(y, min(y + tile, h)), slice(x, min(x + tile, w)))
            out = checked_output(fn(a[sl], b[sl], task), a[sl].shape, getattr(fn, "__name__", "method"))
            wy = _ramp(out.shape[0], overlap, i == 0, i == len(ys) - 1)
            wx = _ramp(out.shape[1], overlap, j == 0, j == len(xs) - 1)
            wt = wy[:, None] * wx[None, :]
            acc[sl] += out * wt
            weight[sl] += wt
    return acc / np.maximum(weight, 1e-12)
