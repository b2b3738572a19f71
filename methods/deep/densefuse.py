"""`densefuse`: DenseFuse (Li & Wu, IEEE TIP 28(5), 2019) with user-supplied weights.

Spec: `densefuse[?weights=PATH][&rule=addition|sum|l1][&radius=1]`
- weights: the official PyTorch checkpoint (densefuse-pytorch's `densefuse_gray.model`, a state
  dict; the RGB model `densefuse_rgb.model` loads too and is fed the Y plane replicated to RGB,
  its output reduced to BT.601 luma) or a `bench train densefuse` weights file. Default:
  methods/deep/weights/densefuse.pt. Without weights the method reports "needs weights".
- rule: fusion of the encoder features (see `_densefuse_net.fuse_features`):
  addition (default) = the mean of the features, as the official PyTorch release computes its
  "addition"; sum = the paper's / TensorFlow release's plain sum; l1 = the paper's l1-norm
  strategy with a (2*radius+1)^2 block average (paper radius 1).
- Tasks: the paper fuses infrared-visible images; the network is a generic grey auto-encoder and
  is offered for medical pairs too (as the benchmark issue asks). Two or more sources.

Data range: the harness's Y in [0, 1] is scaled to [0, 255] (the release feeds 8-bit values as
floats), the output is divided by 255 and clipped to [0, 1].
"""
from __future__ import annotations

import numpy as np

from ..base import register_method
from ._wrapper import DeepFusion, to_grey, to_tensor

RULES = ("addition", "sum", "l1")


class DenseFuseFusion(DeepFusion):
    method = "densefuse"
    version = "1"

    def __init__(self, weights: str | None = None, rule: str = "addition", radius: int = 1,
                 device: str = "auto", threads: int = 0):
        rule = str(rule).lower()
        if rule not in RULES:
            raise ValueError(f"densefuse: rule must be addition, sum or l1, got {rule!r}")
        if int(radius) < 0:
            raise ValueError(f"densefuse: radius must be >= 0, got {radius!r}")
        self.rule, self.radius = rule, int(radius)
        super().__init__(weights, device, threads)

    def _build(self, state: dict, meta: dict, task: str):
        from ._densefuse_net import DenseFuseNet
        first = state.get("conv1.conv2d.weight")
        channels = int(first.shape[1]) if first is not None and first.ndim == 4 else 1
        return DenseFuseNet(channels=channels, rule=self.rule, radius=self.radius)

    def _run(self, net, images: list[np.ndarray], task: str) -> np.ndarray:
        import torch
        dev = next(net.parameters()).device
        channels = net.conv1.conv2d.in_channels
        xs = [x * 255.0 for x in to_tensor(images, channels, dev)]
        with torch.inference_mode():
            out = net.fuse(*xs) / 255.0
        return np.clip(to_grey(out), 0.0, 1.0)


register_method(
    "densefuse", tasks={"ivf", "medical"}, kind="deep", baseline=True, needs=("weights",),
    device="any",
    description="DenseFuse: conv + 3-layer dense-block encoder, addition or l1-norm feature "
                "fusion, 4-conv decoder; official checkpoint via densefuse?weights=PATH",
    paper="Li, Wu, DenseFuse: A fusion approach to infrared and visible images, IEEE TIP 28(5) "
          "(2019) 2614-2623", year=2019,
    params={"rule": "addition", "radius": 1})(DenseFuseFusion)
