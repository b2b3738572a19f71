"""Weights files of the deep baselines: reading official checkpoints, checking them against our
networks, and writing our own.

Accepted files (read with `torch.load(weights_only=True)`):
- an official checkpoint: a plain state dict in the authors' key layout (IFCNN-MAX.pth,
  densefuse_gray.model saved as a state dict); a `module.` prefix (DataParallel) is stripped;
- our format, written by `bench train ifcnn|densefuse`:
  {"format": "fusebench-deep-weights/1", "method": NAME, "state_dict": {official keys: tensor},
   "meta": plain JSON dict (fusion rule trained with, data fingerprint, iterations, ...)}.
Default location: methods/deep/weights/<name>.pt.
"""
from __future__ import annotations

from pathlib import Path

from .._weights_io import atomic_torch_save
from ..base import MethodUnavailable

FORMAT = "fusebench-deep-weights/1"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class DeepWeightsError(MethodUnavailable):
    """A weights file that is missing, unreadable, or does not fit the network."""


def default_weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.pt"


def read_weights(path: str | Path, method: str) -> tuple[dict, dict]:
    """-> (state dict with official keys, meta). Clear errors name the file."""
    import torch
    path = Path(path)
    if not path.is_file():
        raise DeepWeightsError(f"{method}: no weights file at {path}; pass {method}?weights=PATH "
                               f"(an official checkpoint or `python -m bench train {method}` "
                               "output)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's advice to use weights_only=False is not repeated
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise DeepWeightsError(f"{method}: cannot read {path} as a weights-only torch file "
                               f"({first[:160]})") from None
    if not isinstance(payload, dict):
        raise DeepWeightsError(f"{method}: {path} holds a {type(payload).__name__}, not a state "
                               "dict")
    meta: dict = {}
    if payload.get("format") == FORMAT:
        if payload.get("method") != method:
            raise DeepWeightsError(f"{method}: {path} holds {payload.get('method')!r} weights, "
                                   f"not {method!r}")
        state, meta = payload["state_dict"], dict(payload.get("meta", {}))
    else:
        state = payload
    state = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
    if not all(hasattr(v, "shape") for v in state.values()):
        raise DeepWeightsError(f"{method}: {path} is not a state dict of tensors (keys: "
                               f"{', '.join(list(state)[:6])})")
    return state, meta


def load_into(net, state: dict, path: str | Path, method: str) -> None:
    """Copy `state` into `net`; on any missing/unexpected key or shape mismatch raise an error
    that lists them and names the file. BatchNorm's num_batches_tracked may be absent."""
    ours = net.state_dict()
    missing = [k for k in ours if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in ours]
    shapes = [f"{k} {tuple(state[k].shape)} (expected {tuple(ours[k].shape)})"
              for k in ours if k in state and tuple(state[k].shape) != tuple(ours[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append("missing keys: " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected keys: " + ", ".join(unexpected))
        if shapes:
            parts.append("shape mismatch: " + "; ".join(shapes))
        raise DeepWeightsError(f"{method}: {path} does not match the official {method} layout "
                               f"({'; '.join(parts)})")
    net.load_state_dict({k: state[k] for k in ours if k in state}, strict=False)


def save_weights(path: str | Path, method: str, state_dict: dict, meta: dict) -> Path:
    """Write our weights format atomically (temporary file + rename), tensors on the CPU."""
    payload = {"format": FORMAT, "method": method,
               "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
               "meta": dict(meta)}
    return atomic_torch_save(payload, path)
