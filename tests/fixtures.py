"""Tiny on-disk datasets for harness tests (written with cv2; a few KB each)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def smooth_image(seed: int, shape=(24, 32), colour=False, bits=8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random(shape + ((3,) if colour else ())).astype(np.float32), (5, 5), 2)
    base = (base - base.min()) / max(float(np.ptp(base)), 1e-6)
    scale = 255 if bits == 8 else 65535
    return np.rint(base * scale).astype(np.uint8 if bits == 8 else np.uint16)


def save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = arr[:, :, ::-1] if arr.ndim == 3 and arr.shape[2] == 3 else \
        arr[:, :, [2, 1, 0, 3]] if arr.ndim == 3 else arr
    ok, buf = cv2.imencode(path.suffix, np.ascontiguousarray(out))
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def make_pairs(root: Path, n: int = 6, shape=(24, 32), seed: int = 0) -> Path:
    """root/ir/*.png (grey) + root/vi/*.png (colour), n well-formed pairs."""
    for i in range(n):
        save(root / "ir" / f"p{i:02d}.png", smooth_image(seed + 2 * i, shape))
        save(root / "vi" / f"p{i:02d}.png", smooth_image(seed + 2 * i + 1, shape, colour=True))
    return root


def pairs_spec(root: Path, task: str = "ivf") -> str:
    return f"pairs:{root / 'ir'},{root / 'vi'}?task={task}"
