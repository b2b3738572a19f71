"""The fused CPU channel scan (scan_channel / _chan_numba) against ChannelSSM's unfused path:
outputs and gradients (inputs and every weight) to 1e-4 in float32."""
from __future__ import annotations

import pytest
import torch

from methods.smc_mamba import flops
from methods.smc_mamba.ssm import ChannelSSM


def _run(m, x, y, cross, fused, gout):
    m._fused_ok = lambda _x: fused          # instance override of the dispatch
    m.zero_grad()
    x.grad = y.grad = None
    outs = m.forward_cross(x, y) if cross else (m(x),)
    sum(((o * g).sum() for o, g in zip(outs, gout))).backward()
    grads = {n: p.grad.clone() for n, p in m.named_parameters()}
    grads["x"] = x.grad.clone()
    if cross:
        grads["y"] = y.grad.clone()
    return [o.detach() for o in outs], grads


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("lift,dt_rank", [(4, None), (3, 2)])
@pytest.mark.parametrize("hw", [(4, 3), (8, 9)])
def test_fused_channel_scan_matches_unfused(bidirectional, cross, lift, dt_rank, hw):
    """hw (4, 3): every 16-pixel group of the kernel straddles images or is padded; (8, 9):
    72 pixels per image, so most groups lie inside one image (the contiguous-run path)."""
    torch.manual_seed(0)
    m = ChannelSSM(lift, bidirectional, chunk=7, dt_rank=dt_rank)
    with torch.no_grad():                   # move off the init so every weight matters
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    x = torch.randn(2, 10, *hw, requires_grad=True)
    y = torch.randn(2, 10, *hw, requires_grad=True)
    gout = [torch.randn(2, 10, *hw) for _ in range(2)]
    out_f, g_f = _run(m, x, y, cross, True, gout)
    out_r, g_r = _run(m, x, y, cross, False, gout)
    for a, b in zip(out_f, out_r):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert g_f.keys() == g_r.keys()
    for name in g_r:
        scale = max(1.0, g_r[name].abs().max().item())
        torch.testing.assert_close(g_f[name], g_r[name], atol=1e-4 * scale, rtol=1e-4,
                                   msg=lambda s, n=name: f"{n}: {s}")


def test_fused_path_is_used_and_respects_flop_counting():
    m = ChannelSSM(4)
    x = torch.randn(1, 6, 2, 2)
    assert m._fused_ok(x)
    assert not m._fused_ok(x.double())
    with flops.stub_uncounted_cores():
        assert not m._fused_ok(x)
    handle = m.lift.register_forward_hook(lambda *a: None)
    assert not m._fused_ok(x)
    handle.remove()
    with torch.no_grad():                   # no-grad call of the fused path equals the grad one
        a = m(x)
    torch.testing.assert_close(a, m(x.requires_grad_()).detach())


def test_fused_channel_scan_lanes_are_independent():
    """The kernels run 16 pixels per SIMD group (the last one padded): a pixel's output and
    input gradient depend on its own row only, whatever the pixel count and thread count."""
    from methods.smc_mamba.scan_channel import channel_scan
    torch.manual_seed(1)
    m = ChannelSSM(4)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    captured = {}

    def cap(sx, sy, *params):
        captured["p"] = [q.detach() for q in params]
        return sx
    import methods.smc_mamba.ssm as ssm_mod
    orig, ssm_mod.channel_scan = ssm_mod.channel_scan, cap
    try:
        m._fused(torch.randn(3, 5), None)
    finally:
        ssm_mod.channel_scan = orig
    params = captured["p"]
    a = torch.randn(37, 9, requires_grad=True)
    g = torch.randn(37, 9)
    out = channel_scan(a, None, *params)
    (out * g).sum().backward()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        for rows in (slice(0, 1), slice(5, 22), slice(20, 37)):
            a2 = a.detach()[rows].clone().requires_grad_()
            out2 = channel_scan(a2, None, *params)
            (out2 * g[rows]).sum().backward()
            torch.testing.assert_close(out2, out.detach()[rows], atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(a2.grad, a.grad[rows], atol=1e-6, rtol=1e-6)
    finally:
        torch.set_num_threads(threads)
