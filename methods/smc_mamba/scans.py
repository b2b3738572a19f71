"""The three 2-D scan operators of SMC-Mamba, built on ssm.py.

* `SCScan`  spatial-channel scan of MAFE [P §2.3a, R §10.4]: row-major bidirectional spatial scan
  over the H*W tokens plus the per-pixel channel scan, summed.
* `FRScan`  frequency-rotational scan of MAFE [P §2.3b, R §10.5]: the fftshift-ed spectrum map
  scanned in a spiral (rotational) order from the DC term outwards, forward and reverse.
* `CMScan`  cross-modal scan of an MCCM expert [P §3.1, R §10.7]: interleaved tokens
  X1,Y1,X2,Y2,... scanned both ways keeping the X positions, plus the per-pixel channel
  interleaving x1,y1,x2,y2,...; summed. Returns CM-Scan(X,Y) and CM-Scan(Y,X) together.

All map (B, d, H, W) float tensors to the same shape; the values are unconstrained features.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .ssm import BiSSM, ChannelSSM, ssm_kwargs


@lru_cache(maxsize=64)
def _spiral_numpy(h: int, w: int) -> np.ndarray:
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    dy, dx = (rows - h // 2).ravel(), (cols - w // 2).ravel()
    ring = np.maximum(np.abs(dy), np.abs(dx))                 # Chebyshev ring around DC
    angle = np.mod(np.arctan2(dy, dx), 2 * np.pi)            # rotation within the ring
    order = np.lexsort((angle, ring))                         # ring first, then angle
    order.setflags(write=False)
    return order


@lru_cache(maxsize=64)
def spiral_order(h: int, w: int, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Spiral scan order of an fftshift-ed h x w spectrum, cached per (h, w, device) [R §10.5].

    Returns (order, inverse), int64 tensors of length h*w: `order[i]` is the row-major index of
    the i-th scanned frequency. It starts at the DC term (h//2, w//2 after fftshift), visits the
    Chebyshev rings max(|du|, |dv|) = 0, 1, 2, ... in non-decreasing order, and within a ring
    rotates by angle atan2(du, dv) in [0, 2*pi). `inverse` undoes it: seq[..., inverse] restores
    row-major order. The tensors are shared by the cache: do not modify them.
    """
    order = torch.from_numpy(_spiral_numpy(h, w).copy())
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel())
    return order.to(device), inverse.to(device)


@lru_cache(maxsize=64)
def _shifted_spiral(h: int, w: int, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """spiral_order composed with fftshift / ifftshift, for one gather each way on the fft2
    layout: seq = x.flat[..., gather_in] equals fftshift(x).flat[..., order], and
    y.flat[..., gather_out] equals ifftshift(seq_out[..., inverse]) (pure permutations)."""
    order, inverse = spiral_order(h, w)
    grid = torch.arange(h * w).view(h, w)
    shift = torch.fft.fftshift(grid, dim=(-2, -1)).flatten()
    ishift = torch.fft.ifftshift(grid, dim=(-2, -1)).flatten()
    return shift[order].to(device), inverse[ishift].to(device)


def _gather_last(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x[..., index] via a 2-D index_select (several times faster than on the last dim)."""
    flat = x.reshape(-1, x.shape[-1]).index_select(1, index)
    return flat.view(*x.shape[:-1], index.numel())


class SCScan(nn.Module):
    """SC-Scan [R §10.4]: (B, d, H, W) -> (B, d, H, W).

    Spatial: flatten row-major to H*W tokens of dim d, BiSSM (separate forward/reverse Delta/B/C).
    Channel: ChannelSSM (lift 1->k, scan the d channels both ways, k->1), batched over pixels.
    The two are summed. `config.sc_scan = False` (Table 3 "w/o spatial-channel scanning") keeps
    only the plain raster spatial scan.
    """

    def __init__(self, d: int, config) -> None:
        super().__init__()
        kw = ssm_kwargs(config)
        self.spatial = BiSSM(d, config.bidirectional, **kw)
        self.channel = (ChannelSSM(config.channel_lift, config.bidirectional, config.pixel_chunk,
                                   **kw) if config.sc_scan else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.spatial(x.flatten(2)).view_as(x)
        if self.channel is not None:
            y = y + self.channel(x)
        return y


class FRScan(nn.Module):
    """FR-Scan [R §10.5]: (B, d, H, W) spectrum map in fft2 layout (DC at [0, 0]) -> same layout.

    fftshift (DC to the centre), permute to the spiral order from DC outwards, BiSSM (forward =
    low -> high frequency, plus reverse), un-permute, ifftshift. `config.fr_scan = False`
    (Table 3 "w/o frequency-rotational scanning") scans the unshifted map in raster order instead.
    """

    def __init__(self, d: int, config) -> None:
        super().__init__()
        self.rotational = config.fr_scan
        self.ssm = BiSSM(d, config.bidirectional, **ssm_kwargs(config))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.rotational:
            return self.ssm(x.flatten(2)).view_as(x)
        h, w = x.shape[-2:]
        gather_in, gather_out = _shifted_spiral(h, w, str(x.device))   # shifts folded in
        seq = _gather_last(x.flatten(2), gather_in)
        return _gather_last(self.ssm(seq), gather_out).view_as(x)


class CMScan(nn.Module):
    """CM-Scan [R §10.7]: (x, y), each (B, d, H, W) -> (CM-Scan(x, y), CM-Scan(y, x)).

    Spatial: the interleaved token sequence X1,Y1,X2,Y2,... (length 2HW, row-major pixels)
    scanned forward and reverse, keeping the X positions; the Y-first sequence gives
    CM-Scan(y, x). Channel: per pixel, the channel interleaving x1,y1,x2,y2,... (length 2d)
    through the ChannelSSM, keeping the x channels. Spatial + channel, summed. One set of weights
    serves both argument orders (the paper writes one CM-Scan). `config.cm_scan = False`
    (Table 3 "w/o cross-modal scanning") scans each stream alone with the same layers.
    """

    def __init__(self, d: int, config) -> None:
        super().__init__()
        kw = ssm_kwargs(config)
        self.cross = config.cm_scan
        self.spatial = BiSSM(d, config.bidirectional, **kw)
        self.channel = ChannelSSM(config.channel_lift, config.bidirectional, config.pixel_chunk,
                                  **kw)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.cross:
            both = torch.cat((x, y))                          # one batched call for both streams
            out = self.spatial(both.flatten(2)).view_as(both) + self.channel(both)
            return out[:x.shape[0]], out[x.shape[0]:]
        sx, sy = self.spatial.forward_cross(x.flatten(2), y.flatten(2))
        cx, cy = self.channel.forward_cross(x, y)
        return sx.view_as(x) + cx, sy.view_as(y) + cy
