"""SMC-Mamba network [P §1]: two single-channel images in [0, 1] -> one fused image in [0, 1].

    I_m1, I_m2 (B, 1, H, W) in [0, 1], any H, W >= 2
      -> ShallowFeatures (Conv3x3 + channel LN) -> F_sk (B, C, H, W)          [P §2.1]
      -> MAFE -> F_mk = Cat(F_L, F_spa, F_fre) (B, C_m = 3C, H, W)             [P §2]
      -> MCCM (N = 4 cross-modal experts, noisy top-2) -> F_mf (B, D = C_m, H, W)   [P §3]
      -> head Conv3x3(D -> D/2) - LeakyReLU(0.2) - Conv3x3(D/2 -> 1) - Sigmoid -> I_mf  [R §1]

Single scale: every layer works at full H x W [D §1]. Ablations (Table 3 [P §8]) via SMCConfig:
  use_mafe=False  F_mk = the shallow features, widened to C_m channels so that MCCM/head are
                  unchanged [R: the paper does not say how the widths were kept].
  use_mccm=False  F_mf = Conv1x1(Cat(F_m1, F_m2)), 2 C_m -> D [R].
  mafe_shared_weights=False  separate shallow conv + MAFE per input [R §10.3].
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import SMCConfig
from .mafe import MAFE, ShallowFeatures
from .mccm import MCCM


@dataclass
class SMCOutput:
    """Outputs of one forward pass (B images of H x W)."""

    fused: torch.Tensor                              # (B, 1, H, W) in [0, 1]: I_mf
    feats: tuple[torch.Tensor, torch.Tensor]         # (F_m1, F_m2), each (B, C_m, H, W)
    fused_feat: torch.Tensor                         # F_mf (B, D, H, W), D == C_m
    expert_outputs: list[torch.Tensor] | None = None  # N x (B, D, H, W) in training, else None
    gate_weights: torch.Tensor | None = None         # (B, N) post-top-k softmax (None w/o MCCM)
    gate_logits: torch.Tensor | None = None          # (B, N) logits the top-k used (None w/o MCCM)


class Encoder(nn.Module):
    """Shallow features + MAFE for one input: (B, C_in, H, W) in [0, 1] -> F_mk (B, C_m, H, W).
    Without MAFE the shallow conv outputs C_m channels directly and F_mk = F_sk."""

    def __init__(self, config: SMCConfig) -> None:
        super().__init__()
        c = config.channels
        if config.use_mafe:
            self.shallow = ShallowFeatures(config.in_channels, c)
            self.mafe = MAFE(c, config)
        else:
            self.shallow = ShallowFeatures(config.in_channels, config.feat_channels)
            self.mafe = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.shallow(x)
        return f if self.mafe is None else self.mafe(f)


class SMCMamba(nn.Module):
    """The SMC-Mamba fusion network; `forward(i1, i2) -> SMCOutput` (see the module docstring)."""

    def __init__(self, config: SMCConfig | None = None) -> None:
        super().__init__()
        self.config = config = SMCConfig() if config is None else config
        config.validate()
        cm, d = config.feat_channels, config.expert_dim
        n_encoders = 1 if config.mafe_shared_weights else 2
        self.encoders = nn.ModuleList(Encoder(config) for _ in range(n_encoders))
        if config.use_mccm:
            self.mccm = MCCM(cm, d, config)
            self.fuse = None
        else:
            self.mccm = None
            self.fuse = nn.Conv2d(2 * cm, d, 1)
        self.head = nn.Sequential(
            nn.Conv2d(d, config.head_hidden, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(config.head_hidden, config.in_channels, 3, padding=1),
            nn.Sigmoid(),
        )

    def _check(self, i1: torch.Tensor, i2: torch.Tensor) -> None:
        c = self.config.in_channels
        if i1.dim() != 4 or i1.shape[1] != c or i1.shape != i2.shape:
            raise ValueError(f"expected two (B, {c}, H, W) tensors of one shape, "
                             f"got {tuple(i1.shape)} and {tuple(i2.shape)}")
        if min(i1.shape[-2:]) < 2:
            raise ValueError(f"H and W must be >= 2, got {tuple(i1.shape[-2:])}")

    def encode(self, i1: torch.Tensor, i2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(F_m1, F_m2); a shared encoder runs both inputs as one batch."""
        if len(self.encoders) == 1:
            f = self.encoders[0](torch.cat((i1, i2)))
            return f[:i1.shape[0]], f[i1.shape[0]:]
        return self.encoders[0](i1), self.encoders[1](i2)

    def forward(self, i1: torch.Tensor, i2: torch.Tensor) -> SMCOutput:
        self._check(i1, i2)
        f1, f2 = self.encode(i1, i2)
        if self.mccm is None:
            fused_feat = self.fuse(torch.cat((f1, f2), dim=1))
            return SMCOutput(self.head(fused_feat), (f1, f2), fused_feat)
        fused_feat, expert_outputs, routing = self.mccm(f1, f2)
        return SMCOutput(self.head(fused_feat), (f1, f2), fused_feat, expert_outputs,
                         routing.weights, routing.logits)

    def param_count(self) -> int:
        """Number of parameters (all trainable)."""
        return sum(p.numel() for p in self.parameters())
