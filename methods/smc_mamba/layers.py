"""Small building blocks shared by the SMC-Mamba modules."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.Module):
    """Channel LayerNorm of a (B, C, H, W) map: per pixel, across the C channels, with a
    learnable weight and bias (Restormer's "WithBias" LN) [R §2.1]. Output: the input's shape."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)


class SeqLinear(nn.Module):
    """A per-token Linear on channel-first sequences: (b, in_features, L) -> (b, out_features, L).

    The same function as nn.Linear on (b, L, in) (and as a 1x1 Conv1d), computed without the
    transposes the scan layout would need; `flops.count_flops` counts it as a Linear
    (out.numel() * in_features MACs). Default init as nn.Linear.

    With `splits` (output sizes summing to out_features) the output is a tuple of (b, n_i, L)
    tensors, transposed views of slices of one contiguous token-major (b, L, out_features)
    tensor (one GEMM for all splits: several narrow GEMMs are much slower), each with stride 1
    along n_i: the layout in which the CPU selective scan reads B and C (one small copy).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 splits: tuple[int, ...] | None = None) -> None:
        super().__init__()
        if splits is not None and sum(splits) != out_features:
            raise ValueError(f"splits {splits} do not sum to out_features={out_features}")
        self.in_features, self.out_features, self.splits = in_features, out_features, splits
        layer = nn.Linear(in_features, out_features, bias=bias)   # borrow nn.Linear's init
        self.weight = nn.Parameter(layer.weight.detach().clone())
        self.bias = nn.Parameter(layer.bias.detach().clone()) if bias else None

    def forward(self, x: torch.Tensor):
        if self.splits is None:
            return self._linear(x, self.weight, self.bias, channel_first=True)
        xt = x.transpose(1, 2)                                    # (b, L, in), a view
        y = self._linear(xt, self.weight, self.bias, channel_first=False)   # (b, L, out)
        return tuple(part.transpose(1, 2) for part in y.split(self.splits, dim=-1))

    def _linear(self, x, w, b, channel_first: bool):
        """y = W x + b over the channel axis (1 if channel_first, else -1). 3-D inputs go
        through one batched GEMM (bias fused) that reads transposed/strided views in place and
        writes a contiguous result (no copy of x, no separate bias pass)."""
        if self.in_features == 1:                                 # outer product, one pass
            w = w[:, 0]
            if channel_first:
                w = w[:, None]
                b = b[:, None] if b is not None else None
            return x * w if b is None else torch.addcmul(b, x, w)
        if x.dim() == 3:
            if channel_first:                                     # (out, in) @ (b, in, L)
                lhs, rhs = w.expand(x.shape[0], *w.shape), x
                bias = b[:, None] if b is not None else None
            else:                                                 # (b, L, in) @ (in, out)
                lhs, rhs = x, w.t().expand(x.shape[0], *w.t().shape)
                bias = b
            return torch.bmm(lhs, rhs) if bias is None else torch.baddbmm(bias, lhs, rhs)
        if channel_first:
            y = torch.matmul(w, x)
            return y if b is None else y + b[:, None]
        if b is None:
            return torch.matmul(x, w.t())
        return torch.addmm(b, x.flatten(0, -2), w.t()).view(*x.shape[:-1], w.shape[0])

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}, splits={self.splits}"
