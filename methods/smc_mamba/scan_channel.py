"""Fused CPU per-pixel channel scan (the `ChannelSSM` hot path), differentiable.

    channel_scan(a, b, lw, lb, xw, xb, dtw, dtb, A, D, pw, pb) -> a's shape, float32

a: (B, n, HW) float32, channel-major (a (B, n, H, W) feature map viewed as (B, n, H*W): one
channel sequence of length n per pixel, read in place), or (P, n) pixel-major (transposed to
(1, n, P) and back: a copy each way); b: None (plain scan of a) or a's shape, the partner
stream of the cross scan (sequence a0, b0, a1, b1, ..., a-positions kept).
Weights (k = lift width, R = dt_rank, N = d_state, n_dir = 1 or 2 directions, forward first):
lw, lb: (k,) the lift 1->k; xw, xb: (n_dir, R+2N) x_proj (in_features 1); dtw: (n_dir, k, R),
dtb: (n_dir, k) dt_proj; A: (n_dir, k, N) = -exp(A_log); D: (n_dir, k); pw: (k,), pb: (1,) the
projection k->1. The same function as ChannelSSM's unfused path (lift, BiSSM over the channel
axis with softplus'd delta, projection) in float32 arithmetic; see `_chan_numba` for the maths.
Gradients for a, b and every weight (hand-written backward that recomputes the scan per group
of 16 pixels; nothing is saved but the inputs).
"""
from __future__ import annotations

import torch

from . import scan as _scan

_kernels = None
_BLOCKS_PER_THREAD = 8


def _k():
    global _kernels
    if _kernels is None:
        from . import _chan_numba
        _kernels = _chan_numba
    return _kernels


def _np(t):
    return t.detach().to(torch.float32).contiguous()


def _blocks(n_pix: int, threads: int, length: int) -> int:
    """Chunks of pixel groups (the kernels' prange): a few per thread, none empty; one per
    thread for long sequences (each chunk a thread runs holds its stack scratch, ~20 KB plus
    0.2 KB per token, until the kernel returns)."""
    n_grp = -(-n_pix // _k()._W)
    per_thread = _BLOCKS_PER_THREAD if length <= 256 else 1
    return max(1, min(n_grp, threads * per_thread))


def _pixels(t) -> int:
    return t.shape[0] * t.shape[2]


class _ChannelScan(torch.autograd.Function):
    """On (B, n, HW) channel-major tensors."""

    @staticmethod
    def forward(ctx, a, b, *params):
        cross = b is not None
        af = _np(a)
        bf = _np(b) if cross else af
        pf = [_np(p) for p in params]
        out = torch.empty_like(af)
        threads = _scan._threads()
        n_dir = pf[2].shape[0]
        _scan._run(_k().chan_fwd, threads, af, bf, cross, n_dir, *pf, out,
                   _blocks(_pixels(af), threads, af.shape[1] * (2 if cross else 1)))
        ctx.save_for_backward(af, bf, *pf)
        ctx.cross = cross
        return out

    @staticmethod
    def backward(ctx, gout):
        af, bf, *pf = ctx.saved_tensors
        cross = ctx.cross
        n_dir = pf[2].shape[0]
        threads = _scan._threads()
        n_blocks = _blocks(_pixels(af), threads, af.shape[1] * (2 if cross else 1))
        sizes = [p.numel() for p in pf]
        ga = torch.empty_like(af)
        gb = torch.empty_like(bf) if cross else ga
        gpar = torch.zeros(n_blocks, sum(sizes), dtype=torch.float64)
        _scan._run(_k().chan_bwd, threads, af, bf, cross, n_dir, *pf, _np(gout), ga, gb, gpar,
                   n_blocks)
        flat = gpar.sum(0).to(torch.float32).split(sizes)
        gparams = [g.view(p.shape) for g, p in zip(flat, pf)]
        return (ga, gb if cross else None, *gparams)


def channel_scan(a, b, lw, lb, xw, xb, dtw, dtb, A, D, pw, pb):
    """See the module docstring; returns a tensor of a's shape (float32)."""
    if a.dim() == 2:                      # (P, n) pixel-major -> (1, n, P) and back
        b = b.t()[None] if b is not None else None
        out = _ChannelScan.apply(a.t()[None], b, lw, lb, xw, xb, dtw, dtb, A, D, pw, pb)
        return out[0].t()
    if a.dim() != 3 or (b is not None and b.shape != a.shape):
        raise ValueError(f"channel_scan: a must be (B, n, HW) or (P, n) and b None or of a's "
                         f"shape, got {tuple(a.shape)} and "
                         f"{None if b is None else tuple(b.shape)}")
    return _ChannelScan.apply(a, b, lw, lb, xw, xb, dtw, dtb, A, D, pw, pb)


__all__ = ["channel_scan"]
