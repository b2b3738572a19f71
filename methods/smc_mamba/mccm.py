"""MCCM: Multiplex Consensus Cross-modal Mamba [P §3] -- N cross-modal experts and a noisy top-k
router, fusing F_m1, F_m2 (B, C_m, H, W) into F_mf (B, D, H, W), D = C_m [R §10.8].

Training: all experts run on the whole batch, F_mf = sum_i W_i * expert_i (unselected W_i = 0), and
every expert output is returned (L_div / L_cons need them) [P §3.2].
Eval: only each image's top-k experts run, on that image only; no noise [P §3.2, R §10.15].
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import LayerNorm2d
from .mixers import cross_mixer


class CrossModalExpert(nn.Module):
    """One cross-modal Mamba expert, Algorithm 1 [P §3.1]: (F_m1, F_m2) -> (B, D, H, W).

        F_lnk = Linear_k(LN_k(F_mk))        LN: channel LN; Linear: C_m -> D per pixel (1x1 conv)
        F_siluk = SiLU(Conv1x1_k(F_lnk))    D -> D
        F_cm1 = CM-Scan(F_silu1, F_silu2),  F_cm2 = CM-Scan(F_silu2, F_silu1)
        out = F_cm1 * SiLU(F_ln2) + F_cm2 * SiLU(F_ln1)     (crossed gating)

    `per_modality=True` (default) gives each modality its own LN/Linear/Conv1x1 [R: Algorithm 1
    writes them per k; the co-authors' public cross-modal Mamba (Pan-Mamba) keeps separate norms
    and input projections per modality]; False shares one set (the two streams then run as one
    batch). Either way the MACs are the same. CM-Scan is `config.core_op`'s cross mixer [R §10.7],
    one set of weights for both argument orders.
    """

    def __init__(self, in_dim: int, dim: int, config) -> None:
        super().__init__()
        n = 2 if config.expert_per_modality else 1
        self.norms = nn.ModuleList(LayerNorm2d(in_dim) for _ in range(n))
        self.linears = nn.ModuleList(nn.Conv2d(in_dim, dim, 1) for _ in range(n))
        self.convs = nn.ModuleList(nn.Conv2d(dim, dim, 1) for _ in range(n))
        self.scan = cross_mixer(config, dim)

    def _project(self, k: int, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ln = self.linears[k](self.norms[k](f))
        return ln, F.silu(self.convs[k](ln))

    def forward(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        if len(self.norms) == 2:
            (ln1, silu1), (ln2, silu2) = self._project(0, f1), self._project(1, f2)
        else:
            b = f1.shape[0]
            ln, silu = self._project(0, torch.cat((f1, f2)))
            ln1, ln2, silu1, silu2 = ln[:b], ln[b:], silu[:b], silu[b:]
        cm1, cm2 = self.scan(silu1, silu2)
        return cm1 * F.silu(ln2) + cm2 * F.silu(ln1)


@dataclass
class Routing:
    """Router output for a batch of B images and N experts."""

    weights: torch.Tensor   # (B, N) softmax over the top-k logits, exact zeros elsewhere
    logits: torch.Tensor    # (B, N) the logits the top-k was taken on (noisy in training)
    indices: torch.Tensor   # (B, k) selected experts, highest logit first


class NoisyTopKRouter(nn.Module):
    """Per-image noisy top-k gate [P §3.2, R §10.15].

        F_g = GAP(F_mc) + GMP(F_mc), F_mc = Cat(F_m1, F_m2)            (B, 2 C_m)
        logits = F_g W_g + N(0, 1) * Softplus(F_g W_noise)   (noise only in training and if enabled)
        W_exp = Softmax(logits masked to -inf outside the top-k)
    W_g and W_noise are bias-free; W_g starts at zero (or N(0, init_std)): routing starts uniform.
    """

    def __init__(self, in_dim: int, num_experts: int, top_k: int, noise: bool = True,
                 init_std: float = 0.0) -> None:
        super().__init__()
        self.top_k, self.noise = top_k, noise
        self.w_gate = nn.Linear(in_dim, num_experts, bias=False)
        self.w_noise = nn.Linear(in_dim, num_experts, bias=False)
        for layer in (self.w_gate, self.w_noise):
            if init_std > 0:
                nn.init.normal_(layer.weight, std=init_std)
            else:
                nn.init.zeros_(layer.weight)

    def forward(self, f1: torch.Tensor, f2: torch.Tensor) -> Routing:
        f_mc = torch.cat((f1, f2), dim=1)
        f_g = f_mc.mean(dim=(2, 3)) + f_mc.amax(dim=(2, 3))
        logits = self.w_gate(f_g)
        if self.training and self.noise:
            logits = logits + torch.randn_like(logits) * F.softplus(self.w_noise(f_g))
        top, indices = logits.topk(self.top_k, dim=1)
        masked = torch.full_like(logits, float("-inf")).scatter(1, indices, top)
        return Routing(torch.softmax(masked, dim=1), logits, indices)


class MCCM(nn.Module):
    """N experts + router: (F_m1, F_m2) each (B, C_m, H, W) -> (F_mf (B, D, H, W), expert outputs
    (list of N (B, D, H, W) in training, None in eval), Routing)."""

    def __init__(self, in_dim: int, dim: int, config) -> None:
        super().__init__()
        self.experts = nn.ModuleList(CrossModalExpert(in_dim, dim, config)
                                     for _ in range(config.num_experts))
        self.router = NoisyTopKRouter(2 * in_dim, config.num_experts, config.top_k,
                                      config.gate_noise, config.gate_init_std)

    def forward(self, f1: torch.Tensor, f2: torch.Tensor):
        routing = self.router(f1, f2)
        w = routing.weights
        if self.training:
            outs = [expert(f1, f2) for expert in self.experts]
            fused = sum(w[:, i, None, None, None] * out for i, out in enumerate(outs))
            return fused, outs, routing
        fused = None
        for i, expert in enumerate(self.experts):
            rows = (routing.indices == i).any(dim=1).nonzero().flatten()
            if rows.numel() == 0:
                continue
            out = expert(f1[rows], f2[rows]) * w[rows, i, None, None, None]
            if fused is None:
                fused = out.new_zeros(f1.shape[0], *out.shape[1:])
            fused = fused.index_add(0, rows, out)
        return fused, None, routing
