"""DenseFuse network (Li & Wu, "DenseFuse: A fusion approach to infrared and visible images",
IEEE TIP 28(5), 2019), re-implemented from the paper and the layer names of the authors'
PyTorch release (github.com/hli1221/densefuse-pytorch, net.py).

Every convolution is 3x3, stride 1, reflection padding 1, with bias, followed by ReLU (the
release applies ReLU after the last layer as well):
    encoder  conv1 (C -> 16), dense block DB1 of three layers (16 -> 16 each, every layer's input
             is the concatenation of all earlier outputs: 16, 32, 48 in) -> 64 feature maps;
    fusion   addition | sum | l1 (see `fuse_features`);
    decoder  conv2 64 -> 64, conv3 64 -> 32, conv4 32 -> 16, conv5 16 -> C.

State-dict keys are the release's: `conv1.conv2d.*`, `DB1.denseblock.{0,1,2}.dense_conv.conv2d.*`,
`conv2..conv5.conv2d.*`. Intensities are in [0, 255] (the release feeds uint8 values as floats).
Imports torch: import this module lazily.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

FUSE_RULES = ("addition", "sum", "l1")


class ReflectConv(nn.Module):
    """Reflection-padded 3x3 convolution + ReLU (the release's ConvLayer)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv2d = nn.Conv2d(cin, cout, kernel_size=3, stride=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect")))


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int = 16):
        super().__init__()
        self.dense_conv = ReflectConv(cin, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.dense_conv(x)], dim=1)


class DenseBlock(nn.Module):
    def __init__(self, cin: int = 16, growth: int = 16, layers: int = 3):
        super().__init__()
        self.denseblock = nn.Sequential(*[DenseLayer(cin + i * growth, growth) for i in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.denseblock(x)


def fuse_features(features: torch.Tensor, rule: str, radius: int = 1) -> torch.Tensor:
    """(N, B, C, H, W) encoder features of N sources -> (B, C, H, W).

    addition: the mean (phi_1 + ... + phi_N) / N, as the PyTorch release computes it (its decoder
        was trained on one image's features, so the mean keeps the intensity scale);
    sum: phi_1 + ... + phi_N, the paper's Eq. (addition strategy) and the TensorFlow release;
    l1: the paper's l1-norm strategy: C_k = ||phi_k||_1 over channels, averaged over a
        (2r+1)^2 window (r = `radius`, paper r = 1), weights w_k = C_k / sum_j C_j,
        fused = sum_k w_k phi_k (equal weights where every C_k is 0).
    """
    if rule == "addition":
        return features.mean(dim=0)
    if rule == "sum":
        return features.sum(dim=0)
    if rule != "l1":
        raise ValueError(f"DenseFuse fusion rule must be one of {FUSE_RULES}, got {rule!r}")
    n, b, c, h, w = features.shape
    activity = features.abs().sum(dim=2)  # (N, B, H, W)
    if radius > 0:
        k = 2 * radius + 1
        flat = F.pad(activity.reshape(n * b, 1, h, w), (radius,) * 4, mode="replicate")
        activity = F.avg_pool2d(flat, k, stride=1).reshape(n, b, h, w)
    total = activity.sum(dim=0, keepdim=True)
    weights = torch.where(total > 0, activity / total.clamp_min(1e-12),
                          torch.full_like(activity, 1.0 / n))
    return (weights.unsqueeze(2) * features).sum(dim=0)


class DenseFuseNet(nn.Module):
    """DenseFuse auto-encoder; `forward(x)` reconstructs, `fuse(*sources)` fuses N sources."""

    def __init__(self, channels: int = 1, rule: str = "addition", radius: int = 1):
        super().__init__()
        if rule not in FUSE_RULES:
            raise ValueError(f"DenseFuse fusion rule must be one of {FUSE_RULES}, got {rule!r}")
        self.rule, self.radius = rule, int(radius)
        self.conv1 = ReflectConv(channels, 16)
        self.DB1 = DenseBlock(16, 16, 3)
        self.conv2 = ReflectConv(64, 64)
        self.conv3 = ReflectConv(64, 32)
        self.conv4 = ReflectConv(32, 16)
        self.conv5 = ReflectConv(16, channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialisation for training from scratch (ours; official weights replace it): He
        normal weights, zero biases, and the last bias at mid-grey 127.5 so that the output ReLU
        starts active (with PyTorch's default init the output is often all negative on [0, 255]
        inputs, and the ReLU then passes no gradient)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.conv5.conv2d.bias, 127.5)

    def encoder(self, x: torch.Tensor) -> torch.Tensor:
        return self.DB1(self.conv1(x))

    def decoder(self, f: torch.Tensor) -> torch.Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(f))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def fuse(self, *sources: torch.Tensor) -> torch.Tensor:
        if len(sources) < 2:
            raise ValueError("DenseFuse fuses at least two sources")
        feats = self.encoder(torch.cat(sources, dim=0))
        feats = feats.reshape(len(sources), sources[0].shape[0], *feats.shape[1:])
        return self.decoder(fuse_features(feats, self.rule, self.radius))
