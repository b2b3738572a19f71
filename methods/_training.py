"""Training plumbing shared by the learned methods' trainers (`bench train smc|ifcnn|densefuse`):
the --device choice, RNG state for exact resumes, atomic text writes and the JSON-lines log."""
from __future__ import annotations

import json
from pathlib import Path

from bench.datasets.base import DatasetError

from ._weights_io import torch_device


def training_device(name: str):
    """--device: 'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'; a clear error for a
    missing CUDA device or another name."""
    import torch
    if name == "cuda" and not torch.cuda.is_available():
        raise DatasetError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    if name not in ("auto", "cpu", "cuda") and not name.startswith("cuda:"):
        raise DatasetError(f"--device must be cpu, cuda or auto, got {name!r}")
    return torch_device(name)


def atomic_write_text(path: Path, text: str) -> None:
    from bench.imageio import atomic_write_bytes
    atomic_write_bytes(path, text.encode("utf-8"))


def rng_state(device) -> dict:
    import torch
    state = {"torch": torch.get_rng_state()}
    state["cuda"] = torch.cuda.get_rng_state_all() if device.type == "cuda" else []
    return state


def set_rng_state(state: dict, device) -> None:
    import torch
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and state.get("cuda"):
        torch.cuda.set_rng_state_all(list(state["cuda"]))


def read_log(path: Path, upto: int) -> list[str]:
    if not path.exists():
        return []
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("it", 0) <= upto:
                keep.append(line)
        except json.JSONDecodeError:
            break  # a line cut by an interruption: drop it and everything after
    return keep
