"""SMC-Mamba weights files: format, atomic save, safe load.

A weights file is a `torch.save`d dict that `torch.load(weights_only=True)` can read:
    {"format": "fusebench-smc-weights/1",
     "state_dict": {parameter name: tensor},
     "config": SMCConfig as a plain JSON dict,
     "meta": plain JSON dict (task, command, seed, data fingerprint, iterations, ...)}
Shipped files live in methods/smc_mamba/weights/smc_<task>.pt, each beside a JSON with its
training command, seed, data fingerprint and log.
"""
from __future__ import annotations

from pathlib import Path

from .._weights_io import atomic_torch_save
from ..base import MethodUnavailable

FORMAT = "fusebench-smc-weights/1"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TASKS = ("ivf", "medical", "mff", "mef")


class WeightsError(MethodUnavailable):
    """A weights file that is missing, unreadable or does not match the model."""


def shipped_weights_path(task: str) -> Path:
    if task not in TASKS:
        raise WeightsError(f"smc: unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return WEIGHTS_DIR / f"smc_{task}.pt"


def save_weights(path: str | Path, state_dict: dict, config: dict, meta: dict) -> Path:
    """Write a weights file atomically (temporary file + rename); tensors are saved on the CPU."""
    payload = {"format": FORMAT,
               "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
               "config": dict(config), "meta": dict(meta)}
    return atomic_torch_save(payload, path)


def load_weights(path: str | Path, task: str | None = None):
    """-> (state_dict, SMCConfig, meta). Clear errors name the file and the fix."""
    import torch
    from .config import SMCConfig
    path = Path(path)
    fix = (f"train one with `python -m bench train smc --task {task or '<task>'}` "
           "or pass an existing file as smc?weights=PATH")
    if not path.is_file():
        raise WeightsError(f"smc: no weights file at {path}; {fix}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's own message advises weights_only=False: not repeated
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise WeightsError(f"smc: cannot read {path} as a weights-only torch file "
                           f"({first[:160]}); {fix}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WeightsError(f"smc: {path} is not a fusebench SMC-Mamba weights file (expected a "
                           f"dict with format {FORMAT!r}); {fix}")
    try:
        config = SMCConfig.from_dict(payload["config"])
    except Exception as exc:
        raise WeightsError(f"smc: {path} holds an unusable model config ({exc}); {fix}") from None
    return payload["state_dict"], config, dict(payload.get("meta", {}))
