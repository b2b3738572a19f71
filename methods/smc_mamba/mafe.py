"""MAFE: Modality-Agnostic Feature Enhancement [P §2] and the shallow features before it.

    I_mk (B, 1, H, W) in [0, 1] -> ShallowFeatures -> F_sk (B, C, H, W)
    F_sk -> MAFE -> F_mk = Cat(F_L, F_spa, F_fre)   (B, 3C, H, W)     [P §2.3, D: C_m = 3C]

No residuals or output projection around the three branches [P §2.3]. Any H, W >= 2.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import LayerNorm2d
from .mixers import frequency_mixer, spatial_mixer


class ShallowFeatures(nn.Module):
    """F_sk = LN(Conv3x3(I_mk)) [P §2.1]: (B, C_in, H, W) in [0, 1] -> (B, C_out, H, W).
    LN is the channel LayerNorm (per pixel, across channels) [R §2.1]."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm = LayerNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


def to_patches(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (4B, C, ceil(H/2), ceil(W/2)): the 2x2 grid of patches [P §2.2, R §10.6].

    Odd H/W are first reflect-padded by one row/column at the bottom/right. Patch j = 2*i + k
    (i: top/bottom, k: left/right) of image b is element j*B + b.
    """
    b, c, h, w = x.shape
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="reflect")
    hp, wp = x.shape[-2] // 2, x.shape[-1] // 2
    x = x.reshape(b, c, 2, hp, 2, wp).permute(2, 4, 0, 1, 3, 5)   # i, k, b, c, hp, wp
    return x.reshape(4 * b, c, hp, wp)


def from_patches(p: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Inverse of `to_patches`: (4B, C, h', w') -> (B, C, H, W), cropping the reflect padding."""
    b4, c, hp, wp = p.shape
    b = b4 // 4
    x = p.reshape(2, 2, b, c, hp, wp).permute(2, 3, 0, 4, 1, 5).reshape(b, c, 2 * hp, 2 * wp)
    return x[..., :size[0], :size[1]]


class LocalBranch(nn.Module):
    """F_L = GELU(Conv1x1(F_dw)) * F_dw with F_dw = DWConv3x3 of each 2x2-grid patch [P §2.2].

    (B, C, H, W) -> (B, C, H, W). The DWConv is zero-padded at patch borders and shared across
    the four patches [R §10.6]; the gate is GELU, not a sigmoid [P §2.2].
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.gate = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f_dw = self.dwconv(to_patches(x))
        return from_patches(F.gelu(self.gate(f_dw)) * f_dw, x.shape[-2:])


class SpatialChannelSSM(nn.Module):
    """Spatial-channel SSM, a VMamba-style gated block [P §2.3a]: (B, C, H, W) -> (B, C, H, W).

        F_DW = DWConv3x3(Conv1x1(F_sk))                   Conv1x1: C -> d = expand * C  [R §10.1]
        F_spa = Out(LN(SC-Scan(SiLU(F_DW)))) * SiLU(F_sk)  Out: Conv1x1 d -> C (absent if d == C)
    SC-Scan is `config.core_op`'s spatial mixer (SCScan for 'mamba') [R §10.4].
    """

    def __init__(self, channels: int, config) -> None:
        super().__init__()
        d = channels * config.mafe_expand
        self.in_proj = nn.Conv2d(channels, d, 1)
        self.dwconv = nn.Conv2d(d, d, 3, padding=1, groups=d)
        self.mixer = spatial_mixer(config, d)
        self.norm = LayerNorm2d(d)
        self.out_proj = nn.Conv2d(d, channels, 1) if d != channels else nn.Identity()

    def forward(self, f_sk: torch.Tensor) -> torch.Tensor:
        x = F.silu(self.dwconv(self.in_proj(f_sk)))
        return self.out_proj(self.norm(self.mixer(x))) * F.silu(f_sk)


class SpectrumPath(nn.Module):
    """One of the amplitude / phase paths of the frequency branch: (B, C, H, W) -> (B, C, H, W).

        In (Conv1x1 C -> d) -> DWConv3x3 -> SiLU -> FR-Scan -> Out (Conv1x1 d -> C)
    [P §2.3b: FR-Scan(SiLU(DWConv3x3(.)))], with Mamba in/out projections [R §10.1]
    (both absent when d == C). The DWConv runs on the fft2 layout, as the spec orders it [R §10.5].
    """

    def __init__(self, channels: int, config) -> None:
        super().__init__()
        d = channels * config.mafe_expand
        self.in_proj = nn.Conv2d(channels, d, 1) if d != channels else nn.Identity()
        self.dwconv = nn.Conv2d(d, d, 3, padding=1, groups=d)
        self.mixer = frequency_mixer(config, d)
        self.out_proj = nn.Conv2d(d, channels, 1) if d != channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.mixer(F.silu(self.dwconv(self.in_proj(x)))))


class FrequencyRotationalSSM(nn.Module):
    """Frequency-rotational SSM [P §2.3b, R §10.5]: (B, C, H, W) -> (B, C, H, W).

        X = fft2(F_sk, norm='ortho') per channel;  A = |X|, P = angle(X)
        A' = SpectrumPath_A(A), P' = SpectrumPath_P(P)   (separate weights)
        F_fre = Re(ifft2(A' cos P' + j A' sin P', norm='ortho')) * SiLU(F_sk)
    No LN in this branch [P §2.3b]. FFTs run in float32.
    """

    def __init__(self, channels: int, config) -> None:
        super().__init__()
        self.amplitude = SpectrumPath(channels, config)
        self.phase = SpectrumPath(channels, config)

    def forward(self, f_sk: torch.Tensor) -> torch.Tensor:
        spectrum = torch.fft.fft2(f_sk.float(), norm="ortho")
        amp = self.amplitude(spectrum.abs())
        pha = self.phase(spectrum.angle())
        rebuilt = torch.complex(amp * torch.cos(pha), amp * torch.sin(pha))
        spatial = torch.fft.ifft2(rebuilt, norm="ortho").real.to(f_sk.dtype)
        return spatial * F.silu(f_sk)


class MAFE(nn.Module):
    """F_mk = Cat(F_L, F_spa, F_fre) [P §2.3]: (B, C, H, W) -> (B, 3C, H, W)."""

    def __init__(self, channels: int, config) -> None:
        super().__init__()
        self.local = LocalBranch(channels)
        self.spatial = SpatialChannelSSM(channels, config)
        self.frequency = FrequencyRotationalSSM(channels, config)

    def forward(self, f_sk: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.local(f_sk), self.spatial(f_sk), self.frequency(f_sk)), dim=1)
