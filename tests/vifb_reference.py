"""VIFB's stored MATLAB metric values and the images they were computed on (for calibration).

`../shared/data/ivf/VIFB/reference_metrics/vifb_metrics_single.csv` holds one row per
(scene, method, metric, value): 13 methods x 21 scenes x 13 metrics, values as VIFB's MATLAB code
wrote them (rounded to 5 significant digits by its text output). Images are read with
bench.imageio (RGB-but-grey files become grey planes; under the vifb profile's per-channel rule a
grey plane is replicated, which equals MATLAB's three equal channels).
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.imageio import read_image

# VIFB metric name -> fusebench metric name
VIFB_NAMES = {"Avg_gradient": "AG", "Cross_entropy": "CE", "Edge_intensity": "EI",
              "Entropy": "EN", "Mutinf": "MI", "Psnr": "PSNR", "Qabf": "Qabf", "Qcb": "Qcb",
              "Qcv": "Qcv", "Rmse": "RMSE", "Spatial_frequency": "SF", "Ssim": "SSIM",
              "Variance": "SD"}


def vifb_root(shared_data: Path) -> Path:
    return shared_data / "ivf" / "VIFB"


def reference_rows(shared_data: Path) -> list[tuple[str, str, str, float]]:
    """(scene, method, VIFB metric name, stored value) for every stored row."""
    path = vifb_root(shared_data) / "reference_metrics" / "vifb_metrics_single.csv"
    with open(path, newline="") as fh:
        return [(r["scene"], r["method"], r["metric"], float(r["value"]))
                for r in csv.DictReader(fh)]


@lru_cache(maxsize=64)
def _read(path: str) -> np.ndarray:
    img = read_image(path)
    return img.data.astype(np.float64) * (255.0 / img.max_value)


def triple(shared_data: Path, scene: str, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ir, vi, fused) arrays on the 0..255 scale, colour kept (H x W x 3) where the file is colour."""
    root = vifb_root(shared_data)
    return (_read(str(root / "input" / "IR" / f"{scene}.jpg")),
            _read(str(root / "input" / "VI" / f"{scene}.jpg")),
            _read(str(root / "fused" / method / f"{scene}.jpg")))


def within_tolerance(ours: float, stored: float, rel: float = 1e-3, abs_tol: float = 1e-4) -> bool:
    """The calibration bar: within 1e-3 relative, or within the stored rounding (1e-4 absolute)."""
    return abs(ours - stored) <= max(rel * abs(stored), abs_tol)
