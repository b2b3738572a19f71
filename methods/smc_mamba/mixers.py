"""The "core operator" of each SMC-Mamba block, chosen by `config.core_op` (Table 3, [P §8]).

Three places hold a core operator; each factory returns a module with the same interface:

  spatial_mixer(config, d)    (B, d, H, W) -> (B, d, H, W)          MAFE spatial branch
  frequency_mixer(config, d)  (B, d, H, W) spectrum (fft2 layout) -> same   MAFE frequency branch
  cross_mixer(config, d)      (x, y) -> (CM(x, y), CM(y, x))         MCCM experts

core_op = 'mamba' (default): SCScan / FRScan / CMScan (scans.py).
core_op = 'conv': a dense Conv3x3 d->d (cross: Conv3x3 over Cat(x, y), 2d->d, one weight for
both orders); in the frequency branch applied to the fftshift-ed map [R: the paper does not say
what replaced the scans].
core_op = 'attention' / 'window_attention': Attention2d, global or in windows (attention.py);
also on the fftshift-ed map in the frequency branch.
"""
from __future__ import annotations

import torch
from torch import nn

from .attention import Attention2d
from .scans import CMScan, FRScan, SCScan


class ConvMixer(nn.Module):
    """Dense Conv3x3 d->d: (B, d, H, W) -> (B, d, H, W)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(d, d, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class CrossConvMixer(nn.Module):
    """Conv3x3 over Cat(primary, other), 2d->d: (x, y) -> (conv[x;y], conv[y;x])."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2 * d, d, 3, padding=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.conv(torch.cat((torch.cat((x, y), 1), torch.cat((y, x), 1))))
        return out[:x.shape[0]], out[x.shape[0]:]


class CrossAttentionMixer(nn.Module):
    """Attention2d.forward_cross as a module call: (x, y) -> (out_x, out_y)."""

    def __init__(self, d: int, head_dim: int, window: int | None) -> None:
        super().__init__()
        self.attn = Attention2d(d, head_dim, window)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.attn.forward_cross(x, y)


class Centred(nn.Module):
    """fftshift -> inner module -> ifftshift over (H, W): runs a spatial operator on a centred
    spectrum map (DC in the middle) and returns the fft2 layout."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(torch.fft.fftshift(x, dim=(-2, -1)))
        return torch.fft.ifftshift(y, dim=(-2, -1))


def _window(config) -> int | None:
    return config.window_size if config.core_op == "window_attention" else None


def spatial_mixer(config, d: int) -> nn.Module:
    if config.core_op == "mamba":
        return SCScan(d, config)
    if config.core_op == "conv":
        return ConvMixer(d)
    return Attention2d(d, config.attn_head_dim, _window(config))


def frequency_mixer(config, d: int) -> nn.Module:
    if config.core_op == "mamba":
        return FRScan(d, config)
    if config.core_op == "conv":
        return Centred(ConvMixer(d))
    return Centred(Attention2d(d, config.attn_head_dim, _window(config)))


def cross_mixer(config, d: int) -> nn.Module:
    if config.core_op == "mamba":
        return CMScan(d, config)
    if config.core_op == "conv":
        return CrossConvMixer(d)
    return CrossAttentionMixer(d, config.attn_head_dim, _window(config))
