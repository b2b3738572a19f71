"""Multiply-accumulate count of SMC-Mamba, the way thop counts it (spec §8).

thop registers forward hooks on the leaf modules and adds, per call, for
  Conv1d/Conv2d:  output.numel() * in_channels / groups * prod(kernel_size)   (no bias term)
  Linear:         output.numel() * in_features   (also layers.SeqLinear, a Linear on (b, c, L))
and nothing for functional code: the selective scan, the FFTs, the attention products
(`scaled_dot_product_attention`), normalisation and element-wise ops. `count_flops` does the same
with its own hooks (thop is not a dependency). The paper's "FLOPs" are these MACs.

While counting, the uncounted cores (selective scan, attention product) are replaced by cheap
shape-preserving stand-ins (`stub_uncounted_cores`), so that a 480x640 count takes seconds
instead of a full CPU scan; the counted modules run exactly as in a real forward.
The count is taken in eval mode: the router runs top-2 of the 4 experts per image [P §3.2].
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from .layers import SeqLinear

_STUBBED = False


def cores_stubbed() -> bool:
    """True inside `stub_uncounted_cores()`: scans/attention return stand-ins of the right shape."""
    return _STUBBED


@contextmanager
def stub_uncounted_cores() -> Iterator[None]:
    """Replace the selective scan and the attention product by shape-preserving stand-ins."""
    global _STUBBED
    previous, _STUBBED = _STUBBED, True
    try:
        yield
    finally:
        _STUBBED = previous


def _conv_macs(module: nn.Module, inputs, output: torch.Tensor) -> int:
    kernel = math.prod(module.kernel_size)
    return output.numel() * (module.in_channels // module.groups) * kernel


def _linear_macs(module: nn.Module, inputs, output) -> int:
    numel = sum(o.numel() for o in output) if isinstance(output, tuple) else output.numel()
    return numel * module.in_features


_COUNTERS = {nn.Conv1d: _conv_macs, nn.Conv2d: _conv_macs, nn.Conv3d: _conv_macs,
             nn.Linear: _linear_macs, SeqLinear: _linear_macs}


@torch.no_grad()
def count_macs_of_call(model: nn.Module, *inputs: torch.Tensor, stub: bool = True) -> int:
    """MACs of the conv/linear modules during one `model(*inputs)` call (mode left as it is)."""
    total = [0]
    handles = []
    for module in model.modules():
        counter = _COUNTERS.get(type(module))
        if counter is not None:
            def hook(mod, inp, out, _count=counter):
                total[0] += int(_count(mod, inp, out))
            handles.append(module.register_forward_hook(hook))
    try:
        if stub:
            with stub_uncounted_cores():
                model(*inputs)
        else:
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total[0]


def count_flops(model: nn.Module, h: int, w: int, batch: int = 1) -> int:
    """thop-style MACs of one eval-mode forward of an SMCMamba on two (batch, C_in, h, w) inputs.

    Excludes the selective scan, FFT, attention products and element-wise ops (as thop does).
    """
    param = next(model.parameters())
    channels = getattr(getattr(model, "config", None), "in_channels", 1)
    gen = torch.Generator().manual_seed(0)
    i1 = torch.rand(batch, channels, h, w, generator=gen).to(param)
    i2 = torch.rand(batch, channels, h, w, generator=gen).to(param)
    was_training = model.training
    model.eval()
    try:
        return count_macs_of_call(model, i1, i2)
    finally:
        model.train(was_training)


def count_flops_affine(model: nn.Module, h: int, w: int, probe: int = 16) -> int:
    """`count_flops(model, h, w)` from three small probe forwards, without the big one.

    Every counted layer of SMC-Mamba works at full resolution, so the count is affine in the
    pixel count: a * h*w + c (c: the per-image router). The probes (probe x probe, probe x 2probe,
    2probe x 2probe; multiples of the window size and of 2, like 480x640) give a and c and check
    the affinity; a size that needs padding (odd, or not a multiple of the window for window
    attention) must be counted with `count_flops`. Equal to it where both apply (pinned in tests).
    """
    p = probe
    sizes = ((p, p), (p, 2 * p), (2 * p, 2 * p))
    counts = [(hh * ww, count_flops(model, hh, ww)) for hh, ww in sizes]
    (n0, c0), (n1, c1), (n2, c2) = counts
    per_pixel, rest = divmod(c1 - c0, n1 - n0)
    if rest or c2 - c0 != per_pixel * (n2 - n0):
        raise ValueError("MAC count is not affine in the pixel count for this model; "
                         "use count_flops at the real size")
    return c0 + per_pixel * (h * w - n0)
