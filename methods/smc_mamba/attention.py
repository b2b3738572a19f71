"""Multi-head attention over pixel tokens: the "Mamba -> (Window) Self-Attention" rows of Table 3
[P §8]. Not part of the default model.

`Attention2d(d, head_dim, window)`: (B, d, H, W) -> (B, d, H, W). Global (window=None: all H*W
tokens attend to each other) or non-overlapping window x window windows (the map is zero-padded
to a multiple of the window at the bottom/right; padded tokens are masked out as keys and cropped
from the output). `forward_cross(x, y)` is the drop-in for CM-Scan: queries from one stream,
keys/values from both streams' tokens (same window), giving (out_x, out_y).
Heads of `head_dim` channels (one head when d is smaller or not divisible). No position encoding.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import flops


class Attention2d(nn.Module):
    def __init__(self, d: int, head_dim: int = 16, window: int | None = None) -> None:
        super().__init__()
        heads = max(1, d // head_dim)
        self.heads = heads if d % heads == 0 else 1
        self.window = window
        self.q = nn.Conv2d(d, d, 1)
        self.kv = nn.Conv2d(d, 2 * d, 1)
        self.proj = nn.Conv2d(d, d, 1)

    # -------------------------------------------------------------- token layout
    def _pad(self, t: torch.Tensor) -> torch.Tensor:
        if self.window is None:
            return t
        h, w = t.shape[-2:]
        ws = self.window
        return F.pad(t, (0, (-w) % ws, 0, (-h) % ws))

    def _tokens(self, t: torch.Tensor) -> torch.Tensor:
        """(B, c, H, W) -> (B * windows, heads, tokens, c / heads)."""
        t = self._pad(t)
        b, c, h, w = t.shape
        hd = c // self.heads
        if self.window is None:
            return t.reshape(b, self.heads, hd, h * w).transpose(-1, -2)
        ws = self.window
        t = t.reshape(b, self.heads, hd, h // ws, ws, w // ws, ws)
        t = t.permute(0, 3, 5, 1, 4, 6, 2)                       # b, nh, nw, heads, ws, ws, hd
        return t.reshape(b * (h // ws) * (w // ws), self.heads, ws * ws, hd)

    def _image(self, t: torch.Tensor, b: int, h: int, w: int) -> torch.Tensor:
        """Inverse of `_tokens` for the d = heads * hd output channels, cropped to h x w."""
        hd = t.shape[-1]
        if self.window is None:
            return t.transpose(-1, -2).reshape(b, self.heads * hd, h, w)
        ws = self.window
        hp, wp = h + (-h) % ws, w + (-w) % ws
        t = t.reshape(b, hp // ws, wp // ws, self.heads, ws, ws, hd)
        t = t.permute(0, 3, 6, 1, 4, 2, 5).reshape(b, self.heads * hd, hp, wp)
        return t[..., :h, :w]

    def _key_mask(self, x: torch.Tensor) -> torch.Tensor | None:
        """Boolean (B*windows, 1, 1, tokens) mask of real (not padded) key tokens, or None."""
        ws = self.window
        if ws is None or (x.shape[-2] % ws == 0 and x.shape[-1] % ws == 0):
            return None
        ones = torch.ones(x.shape[0], self.heads, *x.shape[-2:], device=x.device)
        valid = self._tokens(ones)[..., :1, :, 0] > 0            # (B*windows, 1, tokens)
        return valid[:, :, None, :]

    @staticmethod
    def _attend(q, k, v, mask):
        if flops.cores_stubbed():                                 # uncounted, like thop
            return q
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    # -------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        k, v = self.kv(x).chunk(2, dim=1)
        q, k, v = (self._tokens(t) for t in (self.q(x), k, v))
        return self.proj(self._image(self._attend(q, k, v, self._key_mask(x)), b, h, w))

    def forward_cross(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        both = torch.cat((x, y))
        q = self._tokens(self.q(both))
        k, v = (self._tokens(t) for t in self.kv(both).chunk(2, dim=1))
        n = q.shape[0] // 2
        k = torch.cat((k[:n], k[n:]), dim=2)                       # keys of both streams
        v = torch.cat((v[:n], v[n:]), dim=2)
        mask = self._key_mask(x)
        if mask is not None:
            mask = torch.cat((mask, mask), dim=-1)
        out = torch.cat([self._attend(q[i * n:(i + 1) * n], k, v, mask) for i in range(2)])
        out = self.proj(self._image(out, 2 * b, h, w))
        return out[:b], out[b:]
