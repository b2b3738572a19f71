"""What the deep baselines share: locating their weights, saying whether they can run, caching
loaded networks, and running them on the harness's Y planes. No torch at import time.

A subclass sets `method` (registry name) and implements `_build(state, meta, task)` -> network
in eval mode and `_run(net, images, task)` -> H x W float32 (images: list of H x W float32 in
[0, 1], already on the host).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._weights_io import torch_device, weights_digest
from ._weights import WEIGHTS_DIR, DeepWeightsError, default_weights_path, load_into, read_weights



class DeepFusion:
    """Base of the `ifcnn` / `densefuse` method classes (instantiated with the spec's params)."""

    method = ""
    version = "1"
    tile = 1024          # the harness fuses larger images in tiles (bounded memory on CPU)
    tile_overlap = 32    # > the receptive-field radius of both networks (5 and 8 px)

    def __init__(self, weights: str | None = None, device: str = "auto", threads: int = 0):
        self.weights = None if weights in (None, "") else Path(str(weights)).expanduser()
        self.device_name = str(device)
        self.threads = int(threads)
        self._nets: dict[tuple, object] = {}
        if self.weights is not None and not self.weights.exists():
            raise DeepWeightsError(f"{self.method}: weights {self.weights} do not exist; pass "
                                   f"{self.method}?weights=PATH (a file, or a folder holding "
                                   f"{', '.join(self.file_names('ivf'))})")

    # -- weights ------------------------------------------------------------------------------
    def file_names(self, task: str) -> list[str]:
        """Names looked for, in order, when `weights` is a folder (or not given); the last is
        the generic `<name>.pt`."""
        return [f"{self.method}.pt"]

    def weights_file(self, task: str) -> Path:
        """The file used for `task`: `weights` itself when a file, else the first existing
        name from `file_names(task)` in the folder (default methods/deep/weights/)."""
        if self.weights is not None and self.weights.is_file():
            return self.weights
        folder = self.weights if self.weights is not None else WEIGHTS_DIR
        names = self.file_names(task)
        for name in names:
            if (folder / name).is_file():
                return folder / name
        return folder / names[-1]  # the generic `<name>.pt`, named in "needs weights"

    @classmethod
    def status(cls) -> str:
        """For `bench list`: 'ok' when default weights exist, else what is needed."""
        path = default_weights_path(cls.method)
        if path.is_file():
            return "ok"
        return (f"NEEDS WEIGHTS: none at {path.relative_to(WEIGHTS_DIR.parent.parent.parent)}; "
                f"pass {cls.method}?weights=PATH (official checkpoint) or train with "
                f"`python -m bench train {cls.method}`")

    def unavailable_reason(self, task: str) -> str | None:
        path = self.weights_file(task)
        if path.is_file():
            return None
        return (f"needs weights: no {self.method} weights at {path}; pass "
                f"{self.method}?weights=PATH (an official checkpoint) or train them with "
                f"`python -m bench train {self.method}`")

    def weights_digest(self) -> str:
        """SHA-256 over the weights files this instance may use (fused-image cache key)."""
        return weights_digest(sorted({self.weights_file(t) for t in ("ivf", "medical", "mff", "mef")}))

    # -- networks -----------------------------------------------------------------------------
    def _device(self):
        return torch_device(self.device_name)

    def net_key(self, task: str, meta: dict) -> tuple:
        return (str(self.weights_file(task)),)

    def network(self, task: str):
        """The eval-mode network for `task` (loaded once per weights file and settings)."""
        path = self.weights_file(task)
        state, meta = read_weights(path, self.method)
        key = self.net_key(task, meta)
        if key not in self._nets:
            import torch
            if self.threads > 0:
                torch.set_num_threads(self.threads)
            net = self._build(state, meta, task)
            load_into(net, state, path, self.method)
            self._nets[key] = net.to(self._device()).eval()
        return self._nets[key]

    def timing_stand_in(self, task: str, seed: int = 0):
        """(network, fuse(a, b)) with random weights, for latency, params and FLOPs where no
        trained weights exist (none of them depends on the weight values)."""
        import torch
        torch.manual_seed(seed)
        net = self._build({}, {}, task).to(self._device()).eval()
        return net, lambda a, b: self._run(net, [a, b], task)

    def _build(self, state: dict, meta: dict, task: str):
        raise NotImplementedError

    def _run(self, net, images: list[np.ndarray], task: str) -> np.ndarray:
        raise NotImplementedError

    # -- the methods API ----------------------------------------------------------------------
    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        return self.fuse_stack([a, b], task)

    def fuse_stack(self, images: list[np.ndarray], task: str) -> np.ndarray:
        """All sources at once: both networks fuse N feature maps element-wise."""
        return self._run(self.network(task), [np.asarray(i, np.float32) for i in images], task)


def to_tensor(images: list[np.ndarray], channels: int, device):
    """N H x W arrays -> N tensors (1, channels, H, W) (grey replicated over channels)."""
    import torch
    return [torch.from_numpy(np.ascontiguousarray(i))[None, None].expand(1, channels, *i.shape)
            .to(device) for i in images]


def to_grey(out) -> np.ndarray:
    """(1, C, H, W) tensor -> H x W float32; 3 channels -> BT.601 luma (0.299, 0.587, 0.114),
    which is what OpenCV's RGB2GRAY in the official IFCNN script computes."""
    arr = out[0].detach().float().cpu().numpy()
    if arr.shape[0] == 3:
        return (0.299 * arr[0] + 0.587 * arr[1] + 0.114 * arr[2]).astype(np.float32)
    return arr.mean(axis=0).astype(np.float32)
