"""Mamba-1 selective state-space layers on 1-D sequences (spec §10.2, §10.4, §10.7).

Every SSM of SMC-Mamba is built from these three modules; the 2-D scan orders (row-major,
spiral, interleaved) live in scans.py.

* `SelectiveSSM`  one scan direction: Delta/B/C projections + A, D; calls `scan.selective_scan`
  (mamba-ssm `selective_scan_fn` semantics). [R §10.2] d_state 16, dt_rank ceil(d/16), the
  standard Mamba init (dt log-uniform in [dt_min, dt_max] through an inverse-softplus bias,
  A = -exp(A_log), A_log = log(1..N), D = 1), no causal conv1d.
* `BiSSM`         forward + reverse scans with separate projections, summed [R §10.4]; also the
  interleaved two-stream scan of CM-Scan [R §10.7].
* `ChannelSSM`    the per-pixel channel scan: each pixel's channel vector is a sequence, each
  scalar lifted 1->k (shared), scanned both ways, projected k->1, batched over pixels [R §10.4].

Shapes: sequences are (batch, dim, L) as the scan API wants; images (B, d, H, W).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import flops
from .layers import SeqLinear
from .scan import selective_scan, selective_scan_reversed
from .scan_channel import channel_scan


class SelectiveSSM(nn.Module):
    """One direction of a Mamba-1 S6 layer on (batch, d_inner, L) sequences [R §10.2].

    Delta, B and C come from `x_proj` (proj_in -> dt_rank + 2N, a per-token Linear)
    and `dt_proj` (dt_rank -> d_inner, with the inverse-softplus bias); the scan applies softplus.
    `proj_in` defaults to d_inner (Mamba). The channel scan passes proj_in = 1: its tokens are
    lifted scalars u = a*s + b, so x_proj(u) is an affine map of the scalar s; projecting s
    directly (with a bias) is the same function class at 1/k of the cost.
    """

    def __init__(self, d_inner: int, d_state: int = 16, dt_rank: int | None = None,
                 proj_in: int | None = None, dt_min: float = 1e-3, dt_max: float = 0.1,
                 dt_init_floor: float = 1e-4) -> None:
        super().__init__()
        proj_in = d_inner if proj_in is None else proj_in
        self.d_inner, self.d_state = d_inner, d_state
        self.dt_rank = dt_rank or math.ceil(d_inner / 16)
        self.x_proj = SeqLinear(proj_in, self.dt_rank + 2 * d_state, bias=proj_in != d_inner,
                                splits=(self.dt_rank, d_state, d_state))
        self.dt_proj = SeqLinear(self.dt_rank, d_inner, bias=True)
        # Mamba's dt init: weights U(-r^-0.5, r^-0.5); bias = softplus^-1(dt), dt log-uniform.
        std = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min))
                       + math.log(dt_min)).clamp(min=dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        a_log = torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1)
        self.A_log = nn.Parameter(a_log)                     # (d_inner, N); A = -exp(A_log)
        self.D = nn.Parameter(torch.ones(d_inner))
        self.A_log._no_weight_decay = True
        self.D._no_weight_decay = True

    def project(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(b, proj_in, L) -> delta (b, d_inner, L) before softplus, B and C (b, N, L)."""
        dt, b, c = self.x_proj(feats)          # token-major views (see SeqLinear)
        return self.dt_proj(dt), b, c

    def scan(self, u: torch.Tensor, delta: torch.Tensor, b: torch.Tensor,
             c: torch.Tensor, reverse: bool = False) -> torch.Tensor:
        """y = S6(u) with the projected delta/B/C; u (b, d_inner, L) -> (b, d_inner, L).
        `reverse`: S6 of the time-reversed sequences, flipped back (no tensor is flipped)."""
        if flops.cores_stubbed():
            return u * self.D[None, :, None]
        a = -torch.exp(self.A_log.float())
        fn = selective_scan_reversed if reverse else selective_scan
        return fn(u, delta, a, b, c, D=self.D.float(), delta_softplus=True)

    def forward(self, u: torch.Tensor, feats: torch.Tensor | None = None,
                reverse: bool = False) -> torch.Tensor:
        """The per-token projections commute with a flip, so `reverse` (= self(u.flip(-1),
        feats.flip(-1)).flip(-1)) projects the sequences as they are and scans backwards."""
        return self.scan(u, *self.project(u if feats is None else feats), reverse=reverse)


def interleave(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., L), (..., L) -> (..., 2L) as a_0, b_0, a_1, b_1, ... [R §10.7].

    A token-major (b, n, L) view in (stride 1 along n) gives a token-major view out."""
    if a.dim() == 3 and a.shape[1] > 1 and a.stride(1) == 1:
        ta, tb = a.transpose(1, 2), b.transpose(1, 2)             # (b, L, n), contiguous
        return torch.stack((ta, tb), dim=2).flatten(1, 2).transpose(1, 2)
    return torch.stack((a, b), dim=-1).flatten(-2)


class BiSSM(nn.Module):
    """Forward and (optionally) reverse selective scans with separate projections, summed.

    forward(u): (b, d, L) -> (b, d, L)  [R §10.4: the "bi-direction" of Table 3]
    forward_cross(ux, uy): the interleaved sequences X1,Y1,X2,Y2,... and Y1,X1,Y2,X2,... scanned
    both ways, each keeping its primary (first) stream's positions -> ((b,d,L), (b,d,L)) [R §10.7].
    `fx`/`fy` replace ux/uy as the projection inputs (ChannelSSM's folded lift).
    """

    def __init__(self, d_inner: int, bidirectional: bool = True, **ssm_kwargs) -> None:
        super().__init__()
        self.fwd = SelectiveSSM(d_inner, **ssm_kwargs)
        self.rev = SelectiveSSM(d_inner, **ssm_kwargs) if bidirectional else None

    def _directions(self):
        yield self.fwd, False
        if self.rev is not None:
            yield self.rev, True

    def forward(self, u: torch.Tensor, feats: torch.Tensor | None = None) -> torch.Tensor:
        feats = u if feats is None else feats
        u = u.contiguous()     # once for both directions (conv outputs are often channels-last)
        out = None
        for ssm, reverse in self._directions():
            y = ssm(u, feats, reverse=reverse)
            out = y if out is None else out + y
        return out

    def forward_cross(self, ux: torch.Tensor, uy: torch.Tensor, fx: torch.Tensor | None = None,
                      fy: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        fx = ux if fx is None else fx
        fy = uy if fy is None else fy
        outs = {"x": None, "y": None}
        # P1,O1,P2,O2,...,Pn,On (primary at even positions), scanned forward; the reverse scan
        # is that sequence reversed (On,Pn,...,O1,P1), run backwards in place: u is shared
        # channel-first interleave: a contiguous (b, d, 2L) whatever the inputs' layout
        seqs = {"x": torch.stack((ux, uy), -1).flatten(-2),
                "y": torch.stack((uy, ux), -1).flatten(-2)}
        for ssm, reverse in self._directions():
            proj = {"x": ssm.project(fx), "y": ssm.project(fy)}     # once per stream
            for primary, other in (("x", "y"), ("y", "x")):
                seq = [seqs[primary]]
                seq += [interleave(a, b) for a, b in zip(proj[primary], proj[other])]
                y = ssm.scan(*seq, reverse=reverse)[..., 0::2]
                outs[primary] = y if outs[primary] is None else outs[primary] + y
        return outs["x"], outs["y"]


class ChannelSSM(nn.Module):
    """Per-pixel channel scan [R §10.4]: (B, d, H, W) -> (B, d, H, W).

    Each pixel's d channel values form a length-d sequence; every scalar is lifted 1->k by a
    shared Linear, scanned forward and reverse over the channel axis (a k-channel BiSSM), and
    projected k->1; all pixels of all images form the scan's batch. O(H*W*d), resolution-agnostic.
    `forward_cross(x, y)` scans the per-pixel channel interleaving x1,y1,x2,y2,... (and the
    y-first one) and keeps the primary stream's channels [R §10.7].
    On CPU float32 (not FLOP counting, no hooks on the sub-layers) the fused kernel of
    scan_channel.py runs instead (same function, float32 arithmetic; B/C/delta computed on the
    fly, no (pixels, N, L) tensors). Otherwise pixels are processed in chunks of `chunk`
    (memory only; the result is identical).
    """

    def __init__(self, lift: int = 4, bidirectional: bool = True, chunk: int = 16384,
                 **ssm_kwargs) -> None:
        super().__init__()
        self.chunk = chunk
        self.lift = SeqLinear(1, lift)
        self.ssm = BiSSM(lift, bidirectional, proj_in=1, **ssm_kwargs)
        self.proj = SeqLinear(lift, 1)

    @staticmethod
    def _tokens(x: torch.Tensor) -> torch.Tensor:
        """(B, d, H, W) -> (B*H*W, 1, d): one channel sequence per pixel."""
        return x.permute(0, 2, 3, 1).reshape(-1, 1, x.shape[1])

    @staticmethod
    def _image(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        b, d, h, w = like.shape
        return t.reshape(b, h, w, d).permute(0, 3, 1, 2)

    def _fused_ok(self, x: torch.Tensor) -> bool:
        """The fused CPU kernel applies: CPU float32, not stubbed for FLOP counting and no hooks
        on the sub-layers (both would miss the per-token Linears)."""
        if x.device.type != "cpu" or x.dtype != torch.float32 or flops.cores_stubbed():
            return False
        mods = (self.lift, self.proj, *(m for s, _ in self.ssm._directions()
                                        for m in (s, s.x_proj, s.dt_proj)))
        return not any(m._forward_hooks or m._forward_pre_hooks for m in mods)

    def _fused(self, sx: torch.Tensor, sy: torch.Tensor | None) -> torch.Tensor:
        """Channel sequences (B, n, HW) channel-major, or (P, n) (and the partner stream for
        the cross scan) -> the same shape."""
        dirs = [s for s, _ in self.ssm._directions()]
        k = self.lift.out_features

        def xb(s):
            return s.x_proj.bias if s.x_proj.bias is not None else s.x_proj.weight.new_zeros(
                s.x_proj.out_features)
        params = (self.lift.weight[:, 0], self.lift.bias,
                  torch.stack([s.x_proj.weight[:, 0] for s in dirs]),
                  torch.stack([xb(s) for s in dirs]),
                  torch.stack([s.dt_proj.weight for s in dirs]),
                  torch.stack([s.dt_proj.bias for s in dirs]),
                  torch.stack([-torch.exp(s.A_log.float()) for s in dirs]),
                  torch.stack([s.D for s in dirs]),
                  self.proj.weight.reshape(k),
                  self.proj.bias if self.proj.bias is not None else self.proj.weight.new_zeros(1))
        return channel_scan(sx, sy, *params)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fused_ok(x):           # reads the (B, d, H, W) map in place, channel-major
            return self._fused(x.flatten(2), None).view_as(x)
        tokens = self._tokens(x)
        out = [self.proj(self.ssm(self.lift(s), s)) for s in tokens.split(self.chunk)]
        return self._image(torch.cat(out), x)

    def forward_cross(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._fused_ok(x):
            tx, ty = x.flatten(2), y.flatten(2)
            return self._fused(tx, ty).view_as(x), self._fused(ty, tx).view_as(y)
        out_x, out_y = [], []
        for sx, sy in zip(self._tokens(x).split(self.chunk), self._tokens(y).split(self.chunk)):
            cx, cy = self.ssm.forward_cross(self.lift(sx), self.lift(sy), sx, sy)
            out_x.append(self.proj(cx))
            out_y.append(self.proj(cy))
        return self._image(torch.cat(out_x), x), self._image(torch.cat(out_y), y)


def ssm_kwargs(config) -> dict:
    """SelectiveSSM keyword arguments from an SMCConfig (dt_rank None -> ceil(d/16))."""
    return {"d_state": config.d_state, "dt_rank": config.dt_rank, "dt_min": config.dt_min,
            "dt_max": config.dt_max, "dt_init_floor": config.dt_init_floor}


__all__ = ["SelectiveSSM", "BiSSM", "ChannelSSM", "interleave", "ssm_kwargs"]
