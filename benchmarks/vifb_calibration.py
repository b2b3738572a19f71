#!/usr/bin/env python3
"""Worst deviation per metric between fusebench (profile `vifb`) and VIFB's stored MATLAB values.

    python benchmarks/vifb_calibration.py [--vifb ../shared/data/ivf/VIFB] [--workers 2]

Reads `reference_metrics/vifb_metrics_single.csv` (scene, method, metric, value: 13 metrics x
13 methods x 21 scenes), recomputes every value from the images with VI passed first as VIFB's
compute_metrics.m does, and prints per metric: n, worst relative and absolute deviation, and how
many values miss the bar (1e-3 relative or the stored rounding of 1e-4 absolute).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.metrics.batch import evaluate_files  # noqa: E402
from bench.paths import shared_data  # noqa: E402

VIFB_NAMES = {"Avg_gradient": "AG", "Cross_entropy": "CE", "Edge_intensity": "EI", "Entropy": "EN",
              "Mutinf": "MI", "Psnr": "PSNR", "Qabf": "Qabf", "Qcb": "Qcb", "Qcv": "Qcv",
              "Rmse": "RMSE", "Spatial_frequency": "SF", "Ssim": "SSIM", "Variance": "SD"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vifb", type=Path, default=shared_data() / "ivf" / "VIFB")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    ref = pd.read_csv(args.vifb / "reference_metrics" / "vifb_metrics_single.csv")
    ref["metric"] = ref["metric"].map(VIFB_NAMES)
    pairs = ref[["scene", "method"]].drop_duplicates().reset_index(drop=True)
    triples = [(args.vifb / "input" / "VI" / f"{s}.jpg", args.vifb / "input" / "IR" / f"{s}.jpg",
                args.vifb / "fused" / m / f"{s}.jpg") for s, m in pairs.itertuples(index=False)]
    t0 = time.perf_counter()
    ours = evaluate_files(triples, sorted(VIFB_NAMES.values()), profile="vifb", workers=args.workers)
    seconds = time.perf_counter() - t0
    ours = ours.join(pairs, on="triple")
    merged = ref.merge(ours[["scene", "method", "metric", "value", "status", "reason"]],
                       on=["scene", "method", "metric"], suffixes=("_vifb", "_ours"))
    merged["abs_dev"] = (merged["value_ours"] - merged["value_vifb"]).abs()
    merged["rel_dev"] = merged["abs_dev"] / merged["value_vifb"].abs()
    merged["miss"] = merged["abs_dev"] > (1e-3 * merged["value_vifb"].abs()).clip(lower=1e-4)
    table = merged.groupby("metric").agg(n=("value_vifb", "size"), failed=("status", lambda s: int((s != "ok").sum())),
                                         worst_rel=("rel_dev", "max"), worst_abs=("abs_dev", "max"),
                                         misses=("miss", "sum"))
    print(f"VIFB calibration: {len(pairs)} (scene, method) triples x 13 metrics, profile vifb, "
          f"{seconds:.1f} s with {args.workers} workers\n")
    for col in ("n", "failed", "misses"):
        table[col] = table[col].astype(int).astype(str)
    print(table.to_markdown(floatfmt=".2e"))
    print(f"\nvalues: {len(merged)}; outside the bar: {int(merged['miss'].sum())}; "
          f"not computed: {int((merged['status'] != 'ok').sum())}")
    return 0 if not merged["miss"].any() and (merged["status"] == "ok").all() else 1


if __name__ == "__main__":
    sys.exit(main())
