"""Jobs: one method on one shard of one dataset. Pure functions of their inputs.

A job fuses its samples (or finds them in the content-addressed cache, or in a precomputed
folder), writes only its own outputs (cache files, links in the run folder), computes the
metrics, and returns records. It never touches the store: the runner commits the records of a
finished job in one batch. Every per-sample fault becomes a failure record with a reason, and
the job goes on with the next sample.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import hashing
from .cache import FusedCache, link_into, safe_name
from .colour import merge_fused, split_sources
from .datasets.base import Sample
from .imageio import ImageReadError, RawImage, quantise, read_image
from .store import FUSE, NO_PROFILE, Record
from methods.base import checked_output


@dataclass
class FusionJob:
    run_id: str
    dataset: str
    task: str
    method_spec: str
    method_label: str
    samples: list[Sample]
    metrics: list[str]
    profile: str
    cache_root: str
    run_dir: str
    phases: tuple[str, ...] = ("fuse", "score")
    fused: dict[str, str] = field(default_factory=dict)  # sample id -> fused path (score-only)


@dataclass
class JobResult:
    records: list[Record]
    fused: dict[str, str]


_methods: dict[str, object] = {}


def _method(spec: str):
    from methods.base import resolve
    if spec not in _methods:
        _methods[spec] = resolve(spec)
    return _methods[spec]


def run_job(job: FusionJob) -> JobResult:
    records: list[Record] = []
    fused: dict[str, str] = dict(job.fused)
    read: dict[str, list[RawImage]] = {}
    if "fuse" in job.phases:
        for sample, (rec, path, sources) in zip(job.samples, _fuse_phase(job)):
            records.append(rec)
            if path is not None:
                fused[sample.id] = str(path)
                if sources is not None:
                    read[sample.id] = sources
    if "score" in job.phases:
        for sample in job.samples:
            if sample.id in fused:
                records.extend(_score_sample(job, sample, Path(fused[sample.id]),
                                             read.get(sample.id)))
    return JobResult(records, fused)


def _record(job: FusionJob, sample: Sample, metric: str, value, profile: str, ok: bool,
            reason: str = "", seconds: float | None = None) -> Record:
    return Record(job.run_id, job.dataset, sample.split, job.method_label, sample.id, metric,
                  None if value is None else float(value), profile, "ok" if ok else "failed",
                  reason, seconds)


def read_sources(sample: Sample) -> list[RawImage]:
    """Read a sample's sources and check they have one size (raises ValueError if not)."""
    images = [read_image(p) for p in sample.sources]
    shapes = {img.shape for img in images}
    if len(shapes) > 1:
        desc = ", ".join(f"{m} {img.shape[1]}x{img.shape[0]} ({Path(img.path).name})"
                         for m, img in zip(sample.modalities, images))
        raise ValueError(f"size mismatch inside the pair: {desc}. Register/resize the sources "
                         "to one size, or drop the pair.")
    return images


def _fuse_phase(job: FusionJob) -> list[tuple[Record, Path | None, list[RawImage] | None]]:
    """Fuse a shard: cache hits and precomputed files first, then every miss in one
    `fuse_many` call (a method's batch hook sees the whole shard). One entry per sample."""
    out: list = [None] * len(job.samples)
    misses = []  # (index, cache key, sources, split)
    try:
        method = _method(job.method_spec)
    except Exception as exc:
        return [_failure(job, s, exc, 0.0) for s in job.samples]
    cache = FusedCache(job.cache_root)
    for i, sample in enumerate(job.samples):
        t0 = time.perf_counter()
        try:
            if method.precomputed:
                out[i] = _precomputed(job, sample, method, t0)
                continue
            key = cache.key(method.cache_identity(), job.task,
                            [hashing.file_digest(p) for p in sample.sources])
            hit = cache.get(key)
            if hit is not None:
                path, meta = hit
                out[i] = (_ok(job, sample, meta.get("seconds")), _link(job, sample, path), None)
                continue
            sources = read_sources(sample)
            misses.append((i, key, sources, split_sources([img.to_float01() for img in sources])))
        except Exception as exc:  # every fault of one sample becomes its failure record
            out[i] = _failure(job, sample, exc, time.perf_counter() - t0)
    results = method.fuse_many([list(m[3].ys) for m in misses], job.task) if misses else []
    for (i, key, sources, split), (y, seconds) in zip(misses, results):
        sample = job.samples[i]
        try:
            if isinstance(y, BaseException):
                raise y
            y = checked_output(y, split.ys[0].shape, method.name)
            bits = max(img.bits for img in sources)
            data = quantise(merge_fused(y, split), bits)
            path = cache.put(key, data, {"seconds": seconds, "bits": bits, "method": method.name,
                                         "sample": sample.id})
            out[i] = (_ok(job, sample, seconds), _link(job, sample, path), sources)
        except Exception as exc:
            out[i] = _failure(job, sample, exc, seconds)
    return out


def _ok(job: FusionJob, sample: Sample, seconds) -> Record:
    return _record(job, sample, FUSE, None, NO_PROFILE, True, seconds=seconds)


def _failure(job: FusionJob, sample: Sample, exc: BaseException, seconds):
    return _record(job, sample, FUSE, None, NO_PROFILE, False, _reason(exc), seconds), None, None


def _link(job: FusionJob, sample: Sample, target: Path, suffix: str = ".png") -> Path:
    """Expose a fused image as runs/<run>/fused/<dataset>/<method>/<sample id><suffix>."""
    link = Path(job.run_dir) / "fused" / safe_name(job.dataset) / safe_name(job.method_label) \
        / (sample.id + suffix)
    link_into(target, link)
    return link


def _precomputed(job: FusionJob, sample: Sample, method, t0: float):
    path = method.impl.fused_path(sample)
    fused = read_image(path)
    sources = read_sources(sample)
    if fused.shape != sources[0].shape:
        raise ValueError(f"fused image {path} is {fused.shape[1]}x{fused.shape[0]} but the sources "
                         f"are {sources[0].shape[1]}x{sources[0].shape[0]}")
    link = _link(job, sample, Path(path), Path(path).suffix.lower())
    return _ok(job, sample, time.perf_counter() - t0), link, sources


def to_255(img: RawImage, file_channels: bool = False) -> np.ndarray:
    """Integer samples -> float64 on the 0..255 scale (16-bit images are scaled, not clipped).

    file_channels: give an RGB-but-grey file back its three equal channels, as a toolkit that
    reads files as stored sees it (see Profile.file_channels)."""
    out = img.data.astype(np.float64) * (255.0 / img.max_value)
    if file_channels and img.source_mode in ("RGB-grey", "RGBA-grey"):
        out = np.repeat(out[:, :, None], 3, axis=2)
    return out


def _score_sample(job: FusionJob, sample: Sample, fused_path: Path,
                  sources: list[RawImage] | None) -> list[Record]:
    from .metrics import compute_many, get_profile
    from .registry import METRICS
    try:
        keep = get_profile(job.profile).file_channels
        fused = to_255(read_image(fused_path), keep)
        if sources is None:
            sources = read_sources(sample)
        srcs = [to_255(s, keep) for s in sources]
        gt = to_255(read_image(sample.gt), keep) if sample.gt is not None else None
    except Exception as exc:
        return [_record(job, sample, m, None, job.profile, False, _reason(exc)) for m in job.metrics]
    out: list[Record] = []
    runnable = []
    for name in job.metrics:
        needs = METRICS.get(name).meta.get("needs", ())
        if "sources" in needs and len(srcs) != 2:
            out.append(_record(job, sample, name, None, job.profile, False,
                               f"{name} is defined for two sources; this sample has {len(srcs)}"))
        else:
            runnable.append(name)
    seconds: dict[str, float] = {}
    values, errors = compute_many(runnable, srcs[0], srcs[-1], fused, profile=job.profile, gt=gt,
                                  seconds=seconds)
    for name in runnable:
        if name in values:
            out.append(_record(job, sample, name, values[name], job.profile, True,
                               seconds=seconds[name]))
        else:
            out.append(_record(job, sample, name, None, job.profile, False, errors[name],
                               seconds[name]))
    return out


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (ImageReadError, FileNotFoundError, ValueError)) and \
            type(exc).__module__.split(".")[0] in ("bench", "methods", "builtins"):
        return str(exc)
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"
