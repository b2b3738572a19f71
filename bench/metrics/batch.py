"""Metrics over many image triples, in parallel worker processes.

    from bench.metrics.batch import evaluate_files
    table = evaluate_files([("ir/01.png", "vi/01.png", "fused/01.png"), ...],
                           metrics=["EN", "MI", "Qabf"], profile="tang", workers=4)

Each triple is read with bench.imageio (values scaled to 0..255; colour kept) and scored with
`compute_many`; a triple that cannot be read or scored gives rows with status 'failed' and the
reason, never an exception that loses the other triples. Returns a tidy pandas DataFrame with
columns: triple (index in the input), a, b, f, metric, value, profile, status, reason.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Iterable, Sequence

import numpy as np


def _read_255(path: str) -> np.ndarray:
    from ..imageio import read_image
    img = read_image(path)
    return img.data.astype(np.float64) * (255.0 / img.max_value)


def _score(args: tuple[int, tuple[str, ...], Sequence[str], str]) -> list[dict]:
    index, paths, metrics, profile = args
    from . import compute_many
    a, b, f = paths[:3]
    gt = paths[3] if len(paths) > 3 else None
    base = {"triple": index, "a": a, "b": b, "f": f, "profile": profile}
    try:
        arrays = [_read_255(p) for p in (a, b, f)]
        gt_arr = _read_255(gt) if gt else None
    except Exception as exc:
        return [{**base, "metric": m, "value": None, "status": "failed", "reason": str(exc)}
                for m in metrics]
    values, errors = compute_many(list(metrics), *arrays, profile=profile, gt=gt_arr)
    rows = [{**base, "metric": m, "value": values[m], "status": "ok", "reason": ""}
            for m in values]
    rows += [{**base, "metric": m, "value": None, "status": "failed", "reason": r}
             for m, r in errors.items()]
    return rows


def _init_worker() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    import cv2
    cv2.setNumThreads(1)


def evaluate_files(triples: Iterable[Sequence[str]], metrics: Sequence[str], profile: str = "default",
                   workers: int | None = None, chunksize: int = 4):
    """Score (a, b, f[, gt]) file triples; workers=0 runs in this process."""
    import pandas as pd
    jobs = [(i, tuple(map(str, t)), list(metrics), profile) for i, t in enumerate(triples)]
    workers = min(os.cpu_count() or 1, 4) if workers is None else workers
    if workers <= 0 or len(jobs) <= 1:
        results = [_score(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                 initializer=_init_worker) as pool:
            results = list(pool.map(_score, jobs, chunksize=chunksize))
    rows = [row for chunk in results for row in chunk]
    return pd.DataFrame(rows, columns=["triple", "a", "b", "f", "metric", "value", "profile",
                                       "status", "reason"])
