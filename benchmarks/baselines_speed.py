#!/usr/bin/env python3
"""Baseline fusion speed (printed, not a timed test).

    python benchmarks/baselines_speed.py [--methods gff,cbf] [--repeat 3] [--size 480x640]

For every registered classical/deep baseline that can run here, the time to fuse one 480 x 640
pair of single-channel float32 images in [0, 1] on one core (median of --repeat runs after one
warm-up run), on a pair of its own task: a synthetic night IVF scene for ivf/medical methods, a
multi-focus or exposure pair made from a shipped photo for mff/mef-only methods. Iterative
methods are timed at their paper defaults; their iteration parameters are printed.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
cv2.setNumThreads(1)

from metrics_speed import machine  # noqa: E402

from bench.synth.timing_pairs import timing_pair  # noqa: E402

ITERATION_WORDS = ("iter", "steps", "n_iter", "max_iter", "iterations")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="", help="comma-separated names (default: all baselines)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", default="480x640", help="HxW")
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.lower().split("x"))
    import methods  # noqa: F401
    from bench.registry import METHODS
    from methods.base import resolve
    wanted = {m.lower() for m in args.methods.split(",") if m}
    entries = [e for e in METHODS if e.meta.get("kind") in ("classical", "deep")
               and e.meta.get("baseline") and (not wanted or e.name in wanted)]
    print(f"machine: {machine()}; load average at start {os.getloadavg()[0]:.1f} "
          "(other processes share the cores when it is above ~1)")
    print(f"size: {h} x {w}, single channel float32; median of {args.repeat} after one warm-up\n")
    print("| method | task | s / image | iteration parameters |")
    print("|---|---|---:|---|")
    pairs: dict[str, tuple] = {}
    for e in sorted(entries, key=lambda e: e.name):
        task = next(t for t in ("ivf", "medical", "mff", "mef") if t in e.meta["tasks"])
        a, b = pairs.setdefault(task, timing_pair(task, h, w))
        iters = ", ".join(f"{k}={v}" for k, v in e.meta.get("params", {}).items()
                          if any(word in k.lower() for word in ITERATION_WORDS)) or "-"
        try:
            method = resolve(e.name)
            method.fuse_pair(a, b, task)
            runs = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                method.fuse_pair(a, b, task)
                runs.append(time.perf_counter() - t0)
            cell = f"{statistics.median(runs):.3f}"
        except Exception as exc:  # e.g. a deep method without weights
            cell = f"n/a ({type(exc).__name__}: {str(exc)[:60]})"
        print(f"| {e.name} | {task} | {cell} | {iters} |", flush=True)
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
