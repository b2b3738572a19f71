"""IFCNN network (Zhang et al., "IFCNN: A general image fusion framework based on convolutional
neural network", Information Fusion 54, 2020), re-implemented from the paper and the layer
shapes of the authors' release (github.com/uzeful/IFCNN, Code/model.py).

Architecture (all stride 1, no down-sampling, so any input size works):
    conv1  7x7, 3 -> 64, no bias, replicate padding 3: ResNet-101's first convolution, frozen
           (the paper initialises it from ImageNet ResNet-101 and never trains it);
    conv2  3x3, 64 -> 64, no bias, replicate padding 1, BatchNorm, ReLU;
    fuse   element-wise over the N sources' conv2 features: max | mean | sum;
    conv3  as conv2;
    conv4  1x1, 64 -> 3, with bias (the reconstructed RGB image).

State-dict keys are the official ones (`conv1.weight`, `conv2.conv.weight`, `conv2.bn.*`,
`conv3.*`, `conv4.weight`, `conv4.bias`), so the authors' IFCNN-MAX/MEAN/SUM.pth load as-is.
Imports torch: import this module lazily.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

FUSE_RULES = ("max", "mean", "sum")


class ConvBNReLU(nn.Module):
    """Replicate-padded 3x3 convolution (no bias) + BatchNorm + ReLU (the official ConvBlock)."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(F.pad(x, (1, 1, 1, 1), mode="replicate"))))


def fuse_features(features: torch.Tensor, rule: str) -> torch.Tensor:
    """(N, B, C, H, W) features of N sources -> (B, C, H, W) by the element-wise rule."""
    if rule == "max":
        return features.amax(dim=0)
    if rule == "mean":
        return features.mean(dim=0)
    if rule == "sum":
        return features.sum(dim=0)
    raise ValueError(f"IFCNN fusion rule must be one of {FUSE_RULES}, got {rule!r}")


class IFCNNNet(nn.Module):
    """IFCNN; `forward(*sources)` takes N (B, 3, H, W) normalised images, returns (B, 3, H, W)."""

    def __init__(self, rule: str = "max"):
        super().__init__()
        if rule not in FUSE_RULES:
            raise ValueError(f"IFCNN fusion rule must be one of {FUSE_RULES}, got {rule!r}")
        self.rule = rule
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, padding=0, bias=False)
        self.conv2 = ConvBNReLU(64)
        self.conv3 = ConvBNReLU(64)
        self.conv4 = nn.Conv2d(64, 3, kernel_size=1, bias=True)
        for m in (self.conv2.conv, self.conv3.conv):
            # the release's init: N(0, sqrt(2 / (k*k*out_channels)))
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
        # conv4 (ours): N(0, 1e-3), zero bias. The release's init gives outputs of std ~4 on
        # [0, 1] images; starting near 0 cuts the from-scratch pixel loss after 150 iterations
        # about fourfold (0.06 -> 0.015 in our CPU check). Official weights replace it anyway.
        nn.init.normal_(self.conv4.weight, 0.0, 1e-3)
        nn.init.zeros_(self.conv4.bias)
        # No ImageNet ResNet-101 can be downloaded here: conv1 gets He initialisation (seeded by
        # the caller's torch seed) and is frozen, as the pretrained one is in the paper.
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.conv1.weight.requires_grad_(False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """One source's conv2 features (B, 64, H, W)."""
        return self.conv2(self.conv1(F.pad(x, (3, 3, 3, 3), mode="replicate")))

    def forward(self, *sources: torch.Tensor) -> torch.Tensor:
        if len(sources) < 2:
            raise ValueError("IFCNN fuses at least two sources")
        batch = torch.cat(sources, dim=0)  # one encoder pass for every source
        feats = self.encode(batch).reshape(len(sources), sources[0].shape[0], 64,
                                           *batch.shape[-2:])
        return self.conv4(self.conv3(fuse_features(feats, self.rule)))
