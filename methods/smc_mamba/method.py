"""The `smc` fusion method: SMC-Mamba inference with shipped or user-supplied weights.

One trained model per task (ivf, medical, mff, mef). By default `smc` loads the shipped file
`methods/smc_mamba/weights/smc_<task>.pt`; `smc?weights=PATH` loads PATH instead (a file, used
for every task, or a folder holding `smc_<task>.pt` files). Files are read with
`torch.load(weights_only=True)` (see methods.smc_mamba.weights for the format).

Input: two single-channel float32 images in [0, 1] (the Y channels; the harness applies the
colour rule). Output: H x W float32 in [0, 1]. Inference runs the model in eval mode (router
noise off, only the top-2 experts executed) on the whole image, no tiling.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._weights_io import torch_device, weights_digest
from .weights import WeightsError, load_weights, shipped_weights_path


class SMCFusion:
    """Runs SMC-Mamba; models are loaded lazily, one per task, and kept."""

    version = "1"

    def __init__(self, weights: str | None = None, device: str = "auto", threads: int = 0):
        self.weights = None if weights in (None, "") else Path(str(weights)).expanduser()
        self.device_name = device
        self.threads = int(threads)
        self._models: dict[str, object] = {}
        if self.weights is not None and not self.weights.exists():
            raise WeightsError(f"smc: weights file {self.weights} does not exist; pass "
                               "smc?weights=PATH with a file written by `python -m bench train smc`")

    def weights_file(self, task: str) -> Path:
        """The weights file used for `task`."""
        if self.weights is None:
            return shipped_weights_path(task)
        if self.weights.is_dir():
            return self.weights / f"smc_{task}.pt"
        return self.weights

    @staticmethod
    def status() -> str:
        """For `bench list`: the tasks with shipped weights, and what the others need."""
        from .weights import TASKS, shipped_weights_path
        have = [t for t in TASKS if shipped_weights_path(t).is_file()]
        if len(have) == len(TASKS):
            return "ok"
        missing = ", ".join(t for t in TASKS if t not in have)
        return (f"ok for {', '.join(have)}; " if have else "") + (
            f"NEEDS WEIGHTS for {missing}: no shipped weights yet (issue #4); train with "
            "`bench train smc --task T` or pass smc?weights=PATH")

    def unavailable_reason(self, task: str) -> str | None:
        """Why `smc` cannot run on `task` here (no weights file for it), or None."""
        path = self.weights_file(task)
        if path.is_file():
            return None
        return (f"no SMC-Mamba weights for task {task} at {path}: train them with "
                f"`python -m bench train smc --task {task} --data ...` or pass smc?weights=PATH")

    def weights_digest(self) -> str:
        """SHA-256 over the weights files this instance may use (part of the fused-image cache
        key, so that new weights never reuse stale cached outputs). The harness asks once per
        sample: each file is hashed once per (size, mtime)."""
        files = ([self.weights] if self.weights is not None and self.weights.is_file() else
                 sorted({self.weights_file(t) for t in ("ivf", "medical", "mff", "mef")}))
        return weights_digest(files)

    def _device(self):
        return torch_device(self.device_name)

    def model(self, task: str):
        """The eval-mode model for `task` (loaded on first use)."""
        if task not in self._models:
            from .model import SMCMamba
            import torch
            if self.threads > 0:
                torch.set_num_threads(self.threads)
            state, config, _meta = load_weights(self.weights_file(task), task=task)
            net = SMCMamba(config)
            try:
                net.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                detail = " ".join(str(exc).replace("Error(s) in loading state_dict for "
                                                   "SMCMamba:", "").split()).rstrip(". ")
                raise WeightsError(
                    f"smc: {self.weights_file(task)} does not match the SMC-Mamba model built "
                    f"from its own config: {detail}. Retrain with `python -m bench train smc "
                    f"--task {task}` or pass the matching file as smc?weights=PATH.") from None
            self._models[task] = net.to(self._device()).eval()
        return self._models[task]

    def timing_stand_in(self, task: str, seed: int = 0):
        """(network, fuse(a, b)) with the default config and random weights, for latency, params
        and FLOPs where no trained weights exist (none of them depends on the weight values)."""
        import torch
        from .config import SMCConfig
        from .model import SMCMamba
        torch.manual_seed(seed)
        net = SMCMamba(SMCConfig()).to(self._device()).eval()
        self._models[task] = net
        return net, lambda a, b: self.fuse(a, b, task)

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        import torch
        net = self.model(task)
        dev = next(net.parameters()).device
        x1 = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None].to(dev)
        x2 = torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32))[None, None].to(dev)
        with torch.inference_mode():
            out = net(x1, x2).fused
        return out[0, 0].float().cpu().numpy()
