#!/usr/bin/env python3
"""Metric speed benchmark (printed, not a timed test).

    python benchmarks/metrics_speed.py [--profile default] [--repeat 3]
        [--octave-code /tmp/metric_refs] [--vifb ../shared/data/ivf/VIFB] [--workers 2]

Prints, on this machine, for one core:
- the time of every registered metric at 256x256, 480x640 and 1024x768 (median of --repeat runs,
  after one warm-up call), and the full set's total per size;
- where GNU Octave and the reference MATLAB code are available (--octave-code), the same metrics
  run by the reference code on the same 480x640 triple in the same run, and the ratio;
- with --vifb, the wall time of the full set over all VIFB fused images (25 methods x 21 scenes)
  with --workers processes.
The triples are synthetic night scenes from bench.synth (IR, visible, and their average as F),
so the benchmark needs no dataset.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
cv2.setNumThreads(1)

from bench.metrics import PROFILES, compute, compute_many, default_metrics  # noqa: E402
from bench.registry import METRICS  # noqa: E402

SIZES = [(256, 256), (480, 640), (768, 1024)]


def make_triple(h: int, w: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from bench.synth.ivf_scenes import make_scene
    scene = make_scene(seed, size=(h, w), night=True)
    ir, vis = scene.ir.astype(np.float64), scene.vis.astype(np.float64)
    return ir, vis, np.rint((ir[..., None] + vis) / 2)


def time_metric(name: str, triple, profile: str, repeat: int) -> float | None:
    a, b, f = triple
    try:
        compute(name, a, b, f, profile=profile)
    except Exception:
        return None
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        compute(name, a, b, f, profile=profile)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def time_set(names: list[str], triple, profile: str, repeat: int) -> float:
    a, b, f = triple
    compute_many(names, a, b, f, profile=profile)
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        compute_many(names, a, b, f, profile=profile)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, one thread per process"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--metrics", default=None, help="comma list (default: every registered metric)")
    ap.add_argument("--octave-code", type=Path, default=None)
    ap.add_argument("--toolkits", default="vifb,mefb,tang,liu")
    ap.add_argument("--octave-timeout", type=float, default=600.0, help="seconds per Octave metric")
    ap.add_argument("--vifb", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-sizes", action="store_true",
                    help="skip the per-size and per-set timings (only Octave and/or --vifb)")
    args = ap.parse_args()
    names = args.metrics.split(",") if args.metrics else [e.name for e in METRICS
                                                          if "gt" not in e.meta["needs"]]
    print(f"machine: {machine()}")
    print(f"profile: {args.profile}; metrics: {len(names)}; median of {args.repeat} runs after a warm-up\n")
    triples = {size: make_triple(*size) for size in SIZES}
    if not args.skip_sizes:
        time_sizes(args, names, triples)
    if args.octave_code is not None:
        octave_ratios(args, triples[(480, 640)])
    if args.vifb is not None:
        vifb_total(args, names)
    return 0


def time_sizes(args, names, triples) -> None:
    table: dict[str, dict] = {}
    for name in names:
        table[name] = {size: time_metric(name, triples[size], args.profile, args.repeat) for size in SIZES}
    header = f"{'metric':<14}" + "".join(f"{f'{w}x{h} (ms)':>16}" for h, w in SIZES)
    print(header)
    totals = {size: 0.0 for size in SIZES}
    for name, row in table.items():
        cells = []
        for size in SIZES:
            t = row[size]
            cells.append(f"{'n/a':>16}" if t is None else f"{t * 1e3:>16.1f}")
            totals[size] += t or 0.0
        print(f"{name:<14}" + "".join(cells))
    print(f"{'TOTAL':<14}" + "".join(f"{totals[s] * 1e3:>16.1f}" for s in SIZES))
    print("\n(per-metric times include each call's own colour conversion; compute_many shares it)")
    print("\nmetric sets through compute_many (one colour conversion, shared work), 640x480, one core:")
    sets = {"full set (all registered)": names}
    for prof in PROFILES.values():
        sets[f"{prof.name} profile set ({len(default_metrics(prof.name))})"] = default_metrics(prof.name)
    for label, subset in sets.items():
        profile = args.profile if label.startswith("full") else label.split()[0]
        print(f"  {label:<34} {time_set(subset, triples[(480, 640)], profile, args.repeat):8.3f} s")
    goal = time_set(names, triples[(480, 640)], args.profile, args.repeat)
    print(f"\nfull set at 640x480 on one core: {goal:.3f} s (goal <= 0.5 s: {'met' if goal <= 0.5 else 'NOT met'})")


def octave_ratios(args, triple) -> None:
    """Time the reference code in Octave on the same 640x480 triple, then ours under the
    matching profile (toolkit = profile; Liu's code takes grey planes)."""
    try:
        from benchmarks.octave_reference import time_reference
    except ImportError as exc:
        print(f"\nOctave comparison unavailable: {exc}")
        return
    toolkits = args.toolkits.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for label, arr in zip("abf", triple):
            p = Path(tmp) / f"{label}.png"
            img = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
            cv2.imwrite(str(p), img[:, :, ::-1] if img.ndim == 3 else img)
            paths.append(str(p))
        try:
            ref = time_reference(args.octave_code, *paths, toolkits=toolkits,
                                 timeout=args.octave_timeout)
        except Exception as exc:  # Octave missing or failing: say so, do not crash the benchmark
            print(f"\nOctave comparison unavailable: {exc}")
            return
    print(f"\nreference MATLAB code in GNU Octave vs fusebench on the same 640x480 triple, same run "
          f"(Octave per metric, one process each, after a warm-up; cut off at {args.octave_timeout:.0f} s):")
    print(f"{'toolkit:metric':<30}{'ours':>10}{'octave (s)':>12}{'ours (ms)':>11}{'speed-up':>11}")
    a, b, f = triple
    for key, info in sorted(ref.items()):
        name, profile = info.get("metric"), info["toolkit"]
        mine = time_metric(name, (a, b, f), profile, args.repeat) if name else None
        secs = info.get("seconds")
        octave = f"{secs:>12.2f}" if secs is not None else f"{'>' + str(int(args.octave_timeout)):>12}"
        if mine and secs:
            r = secs / mine
            ratio = f"{r:>10.0f}x" if r >= 10 else f"{r:>10.2f}x"  # < 1: Octave was faster
        elif mine and secs is None and str(info.get("error", "")).startswith("timeout"):
            ratio = f"{'>' + str(int(args.octave_timeout / mine)):>10}x"
        else:
            ratio = f"{'n/a':>11}"
        mine_ms = f"{mine * 1e3:>11.1f}" if mine else f"{'n/a':>11}"
        print(f"{key:<30}{str(name):>10}{octave}{mine_ms}{ratio}")


def vifb_total(args, names) -> None:
    from bench.metrics.batch import evaluate_files
    root = args.vifb
    triples = []
    for method_dir in sorted((root / "fused").iterdir()):
        for f in sorted(method_dir.glob("*.jpg")):
            triples.append((root / "input" / "IR" / f.name, root / "input" / "VI" / f.name, f))
    t0 = time.perf_counter()
    df = evaluate_files(triples, names, profile=args.profile, workers=args.workers)
    dt = time.perf_counter() - t0
    failed = int((df["status"] != "ok").sum())
    print(f"\nall VIFB fused images: {len(triples)} triples x {len(names)} metrics in {dt:.1f} s "
          f"with {args.workers} worker processes ({failed} failed values)")
    if failed:
        bad = df[df["status"] != "ok"].copy()
        bad["reason"] = bad["reason"].str.slice(0, 90)
        print(bad.groupby(["metric", "reason"]).size().rename("n").to_string())


if __name__ == "__main__":
    sys.exit(main())
