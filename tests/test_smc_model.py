"""SMC-Mamba network (methods.smc_mamba): shapes, sizes, scan orders, routing, ablations.

Tiny images only (the CPU selective scan may be the slow reference loop).
"""
from __future__ import annotations

import json
import math

import pytest
import torch

from methods.smc_mamba import flops
from methods.smc_mamba.config import ABLATIONS, ConfigError, SMCConfig
from methods.smc_mamba.mafe import from_patches, to_patches
from methods.smc_mamba.model import SMCMamba, SMCOutput
from methods.smc_mamba.scans import spiral_order
from methods.smc_mamba.ssm import BiSSM, ChannelSSM, SelectiveSSM, interleave

PAPER_PARAMS = 0.149e6
PAPER_FLOPS_480x640 = 46.105e9


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny tensors: one torch thread (and the serial scan kernel) is faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model() -> SMCMamba:
    torch.manual_seed(0)
    return SMCMamba(SMCConfig())


def _inputs(b=2, h=8, w=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 1, h, w, generator=g), torch.rand(b, 1, h, w, generator=g)


# ----------------------------------------------------------------------------- outputs
def test_eval_outputs_shapes_and_ranges(model):
    model.eval()
    i1, i2 = _inputs(2, 8, 8)
    with torch.no_grad():
        out = model(i1, i2)
    assert isinstance(out, SMCOutput)
    assert out.fused.shape == (2, 1, 8, 8)
    assert 0.0 <= out.fused.min() and out.fused.max() <= 1.0
    assert [f.shape for f in out.feats] == [(2, 48, 8, 8)] * 2
    assert out.fused_feat.shape == (2, 48, 8, 8)
    assert out.expert_outputs is None
    assert out.gate_weights.shape == out.gate_logits.shape == (2, 4)
    torch.testing.assert_close(out.gate_weights.sum(1), torch.ones(2))
    assert ((out.gate_weights > 0).sum(1) == 2).all()


def test_training_outputs_all_experts_weighted(model):
    model.train()
    torch.manual_seed(1)
    i1, i2 = _inputs(2, 6, 5)
    with torch.no_grad():
        out = model(i1, i2)
    assert len(out.expert_outputs) == 4
    assert all(e.shape == (2, 48, 6, 5) for e in out.expert_outputs)
    w = out.gate_weights[:, :, None, None, None]
    mix = sum(w[:, i] * e for i, e in enumerate(out.expert_outputs))
    torch.testing.assert_close(out.fused_feat, mix)
    assert ((out.gate_weights > 0).sum(1) == 2).all()


@pytest.mark.parametrize("size", [(2, 2), (3, 5), (7, 4)])
def test_odd_and_minimal_sizes(model, size):
    model.eval()
    i1, i2 = _inputs(1, *size)
    with torch.no_grad():
        out = model(i1, i2)
    assert out.fused.shape == (1, 1, *size)
    assert out.feats[0].shape == (1, 48, *size)
    assert torch.isfinite(out.fused).all()


def test_bad_inputs_are_rejected(model):
    with pytest.raises(ValueError):
        model(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 7))
    with pytest.raises(ValueError):
        model(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError):
        model(torch.rand(1, 1, 1, 8), torch.rand(1, 1, 1, 8))


# ----------------------------------------------------------------------------- size
def test_default_param_count_in_paper_band(model):
    params = model.param_count()
    assert params == 121_726                                  # pinned: change on purpose only
    assert 0.7 * PAPER_PARAMS <= params <= 1.3 * PAPER_PARAMS


def test_shared_vs_untied_mafe_param_counts(model):
    untied = SMCMamba(SMCConfig(mafe_shared_weights=False))
    encoder = sum(p.numel() for p in model.encoders[0].parameters())
    assert encoder == 49_257
    assert len(untied.encoders) == 2 and len(model.encoders) == 1
    assert untied.param_count() - model.param_count() == encoder


def test_flops_linear_in_pixels_and_close_to_params_times_hw(model):
    """thop-style MACs = a * H*W + gate (W_g: 2*C_m*N = 384 MACs per image, per-image pooling).

    The per-pixel rate a is ~1.24 x params: the shared MAFE runs once per input (x2 its params) and
    the per-pixel channel scans apply their tiny projections once per channel token, while the
    expert scans' A/D and the unselected experts' weights cost no MACs. At 480x640 this lands
    within 1 % of the paper's 46.105 G.
    """
    model.train()
    small, large = flops.count_flops(model, 8, 8), flops.count_flops(model, 16, 8)
    assert model.training                                     # the caller's mode is restored
    gate = 2 * 48 * 4
    per_pixel = (large - small) / 64
    assert per_pixel == int(per_pixel) and small == per_pixel * 64 + gate
    ratio = per_pixel / model.param_count()
    assert 1.0 <= ratio <= 1.5, ratio
    at_480x640 = per_pixel * 480 * 640 + gate
    assert abs(at_480x640 / PAPER_FLOPS_480x640 - 1) < 0.05, at_480x640


def test_affine_flops_shortcut_equals_the_full_count():
    torch.manual_seed(0)
    for cfg in (SMCConfig(), SMCConfig.from_ablation("mamba_to_window_attention")):
        net = SMCMamba(cfg)
        assert flops.count_flops_affine(net, 40, 24, probe=8) == flops.count_flops(net, 40, 24)


def test_flops_counter_uses_thop_formulas():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1),
                              torch.nn.Conv2d(4, 4, 3, padding=1, groups=4),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 6, 7))
    macs = flops.count_macs_of_call(net, torch.rand(2, 1, 5, 6))
    assert macs == 2 * (4 * 30 * 9 + 4 * 30 * 9 + 7 * 120)


# ----------------------------------------------------------------------------- scan orders
@pytest.mark.parametrize("h, w", [(1, 1), (2, 2), (5, 5), (4, 7), (8, 6)])
def test_spiral_order(h, w):
    order, inverse = spiral_order(h, w)
    assert sorted(order.tolist()) == list(range(h * w))
    assert order[0].item() == (h // 2) * w + (w // 2)         # the DC term after fftshift
    rows, cols = order // w, order % w
    ring = torch.maximum((rows - h // 2).abs(), (cols - w // 2).abs())
    assert (ring[1:] >= ring[:-1]).all()
    assert ring[-1].item() == max(h - 1 - h // 2, h // 2, w - 1 - w // 2, w // 2)
    seq = torch.arange(h * w) * 10
    assert torch.equal(seq[order][inverse], seq)
    assert spiral_order(h, w)[0] is order                     # cached per (h, w, device)


def test_spiral_rotates_within_a_ring():
    order, _ = spiral_order(3, 3)
    # DC at (1, 1); ring 1 by angle atan2(dy, dx) from 0: E, SE, S, SW, W, NW, N, NE
    assert order.tolist() == [4, 5, 8, 7, 6, 3, 0, 1, 2]


@pytest.mark.parametrize("h, w", [(4, 6), (5, 3), (2, 2), (3, 3)])
def test_local_branch_patching_round_trip(h, w):
    x = torch.rand(2, 3, h, w)
    p = to_patches(x)
    hp, wp = math.ceil(h / 2), math.ceil(w / 2)
    assert p.shape == (8, 3, hp, wp)
    assert torch.equal(from_patches(p, (h, w)), x)
    assert torch.equal(p[1], x[1, :, :hp, :wp])               # patch 0 (top-left) of image 1
    assert torch.equal(p[2 + 1][:, :, :w - wp], x[1, :, :hp, wp:])   # patch 1 (top-right)
    if w % 2:                                                 # reflect padding at the right
        assert torch.equal(p[2][:, :, -1], x[0, :, :hp, w - 2])


# ----------------------------------------------------------------------------- SSM layers
def test_ssm_init_follows_mamba():
    torch.manual_seed(0)
    ssm = SelectiveSSM(40, d_state=16)
    assert ssm.dt_rank == 3
    torch.testing.assert_close(-torch.exp(ssm.A_log), -torch.arange(1., 17.).repeat(40, 1))
    assert torch.equal(ssm.D, torch.ones(40))
    dt = torch.nn.functional.softplus(ssm.dt_proj.bias)
    assert dt.min() >= 1e-3 - 1e-6 and dt.max() <= 0.1 + 1e-6
    assert ssm.x_proj.bias is None and ssm.x_proj.out_features == 3 + 32


def test_forward_scan_is_causal_and_reverse_is_not():
    torch.manual_seed(0)
    u = torch.randn(1, 8, 12)
    u2 = u.clone()
    u2[..., -1] += 1.0
    fwd = SelectiveSSM(8)
    torch.testing.assert_close(fwd(u)[..., :-1], fwd(u2)[..., :-1])
    bi = BiSSM(8, bidirectional=True)
    assert not torch.allclose(bi(u)[..., :-1], bi(u2)[..., :-1])


def test_cross_scan_equals_scanning_the_interleaved_sequence():
    torch.manual_seed(0)
    bi = BiSSM(6)
    ux, uy = torch.randn(2, 6, 5), torch.randn(2, 6, 5)
    out_x, out_y = bi.forward_cross(ux, uy)
    torch.testing.assert_close(out_x, bi(interleave(ux, uy))[..., 0::2])
    torch.testing.assert_close(out_y, bi(interleave(uy, ux))[..., 0::2])
    ch = ChannelSSM(lift=4, chunk=7)                          # chunking must not change results
    x, y = torch.randn(2, 5, 3, 4), torch.randn(2, 5, 3, 4)
    cx, cy = ch.forward_cross(x, y)
    xy = torch.stack((x, y), 2).flatten(1, 2)                 # channels x1, y1, x2, y2, ...
    torch.testing.assert_close(cx, ch(xy)[:, 0::2])
    torch.testing.assert_close(cy, ch(torch.stack((y, x), 2).flatten(1, 2))[:, 0::2])


# ----------------------------------------------------------------------------- routing
def _expert_call_log(model):
    calls, handles = [], []
    for i, expert in enumerate(model.mccm.experts):
        handles.append(expert.register_forward_hook(
            lambda mod, inp, out, i=i: calls.append((i, inp[0].shape[0]))))
    return calls, handles


class _FixedLogits(torch.nn.Module):
    """Stands in for W_g: returns preset per-image logits, so that images pick different experts."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, f_g):
        return self.logits[:f_g.shape[0]].clone()


PRESET_LOGITS = torch.tensor([[3.0, 2.0, 1.0, 0.0],     # experts {0, 1}
                              [0.0, 1.0, 2.0, 3.0],     # {2, 3}
                              [3.0, 0.0, 0.0, 2.5],     # {0, 3}
                              [3.0, 2.5, 0.0, 1.0]])    # {0, 1}


def test_eval_runs_exactly_top2_experts_per_image():
    torch.manual_seed(3)
    net = SMCMamba(SMCConfig()).eval()
    net.mccm.router.w_gate = _FixedLogits(PRESET_LOGITS)
    i1, i2 = _inputs(4, 6, 6, seed=3)
    calls, handles = _expert_call_log(net)
    with torch.no_grad():
        out = net(i1, i2)
    for h in handles:
        h.remove()
    selected = (out.gate_weights > 0)
    assert (selected.sum(1) == 2).all()
    assert sum(n for _, n in calls) == 2 * 4                   # 2 expert runs per image
    assert sorted(calls) == [(0, 3), (1, 2), (2, 1), (3, 2)]   # each image only in its experts
    torch.testing.assert_close(out.gate_weights.sum(1), torch.ones(4))
    torch.testing.assert_close(out.gate_weights[0, :2], torch.softmax(torch.tensor([3.0, 2.0]), 0))
    torch.testing.assert_close(out.gate_logits, PRESET_LOGITS)              # no noise in eval


def test_eval_fusion_matches_training_mixture_without_noise():
    torch.manual_seed(4)
    net = SMCMamba(SMCConfig(gate_noise=False))
    net.mccm.router.w_gate = _FixedLogits(PRESET_LOGITS)
    i1, i2 = _inputs(3, 5, 6, seed=4)
    with torch.no_grad():
        train_out = net.train()(i1, i2)
        eval_out = net.eval()(i1, i2)
    torch.testing.assert_close(eval_out.gate_weights, train_out.gate_weights)
    torch.testing.assert_close(eval_out.fused_feat, train_out.fused_feat, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(eval_out.fused, train_out.fused, rtol=1e-5, atol=1e-5)


def test_gate_noise_only_in_training():
    torch.manual_seed(5)
    net = SMCMamba(SMCConfig(gate_init_std=0.1))
    router = net.mccm.router
    f1, f2 = torch.randn(2, 48, 4, 4), torch.randn(2, 48, 4, 4)
    clean = router.w_gate(torch.cat((f1, f2), 1).mean((2, 3)) + torch.cat((f1, f2), 1).amax((2, 3)))
    router.eval()
    torch.testing.assert_close(router(f1, f2).logits, clean)
    router.train()
    a, b = router(f1, f2).logits, router(f1, f2).logits
    assert not torch.allclose(a, b) and not torch.allclose(a, clean)
    router.noise = False
    torch.testing.assert_close(router(f1, f2).logits, clean)
    assert router.w_gate.bias is None and router.w_noise.bias is None
    assert torch.equal(SMCMamba(SMCConfig()).mccm.router.w_gate.weight, torch.zeros(4, 96))


# ----------------------------------------------------------------------------- gradients
def test_gradients_reach_every_parameter_in_training():
    """Through I_mf alone the two unselected experts get exactly zero gradient (weight 0);
    with the expert outputs in the loss (L_div / L_cons do that) every parameter gets one."""
    torch.manual_seed(6)
    net = SMCMamba(SMCConfig()).train()
    i1, i2 = _inputs(1, 5, 4, seed=6)
    out = net(i1, i2)
    out.fused.mean().backward(retain_graph=True)
    unselected = [i for i in range(4) if out.gate_weights[0, i] == 0]
    assert len(unselected) == 2
    for i, expert in enumerate(net.mccm.experts):
        grads = [p.grad for p in expert.parameters()]
        if i in unselected:
            assert all(g is None or not g.any() for g in grads)
        else:
            assert all(g is not None and g.any() for g in grads)
    net.zero_grad()
    (out.fused.mean() + sum(e.pow(2).mean() for e in out.expert_outputs)).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


# ----------------------------------------------------------------------------- ablations
def _count(net, cls):
    return sum(isinstance(m, cls) for m in net.modules())


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_every_ablation_builds_and_trains_one_step(name):
    torch.manual_seed(7)
    cfg = SMCConfig.from_ablation(name)
    net = SMCMamba(cfg).train()
    i1, i2 = _inputs(1, 4, 5, seed=7)
    out = net(i1, i2)
    assert out.fused.shape == (1, 1, 4, 5) and out.fused_feat.shape == (1, 48, 4, 5)
    assert out.feats[0].shape == (1, 48, 4, 5)
    loss = out.fused.mean() + sum(e.pow(2).mean() for e in out.expert_outputs or [])
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert net.head[0].weight.grad.any()
    n_ssm = _count(net, SelectiveSSM)
    if cfg.core_op != "mamba":
        assert n_ssm == 0
    elif name == "no_mccm":
        assert net.mccm is None and out.gate_weights is None and out.expert_outputs is None
    elif name == "single_direction":
        assert all(m.rev is None for m in net.modules() if isinstance(m, BiSSM))
    elif name == "no_sc_scan":
        assert net.encoders[0].mafe.spatial.mixer.channel is None
    elif name == "no_mafe":
        assert net.encoders[0].mafe is None and net.encoders[0].shallow.conv.out_channels == 48
    else:
        # fwd + rev x (MAFE: spatial, channel, amplitude, phase; 4 experts x (spatial, channel))
        assert n_ssm == 2 * (4 + 4 * 2)


def test_table3_architecture_sizes():
    sizes = {name: SMCMamba(SMCConfig.from_ablation(name)).param_count() for name in ABLATIONS}
    full = sizes["full"]
    for name in ("no_fcl", "no_pcl", "no_fcl_pcl", "no_wb", "no_div", "no_cons", "no_mccm_loss",
                 "no_fr_scan", "no_cm_scan"):
        assert sizes[name] == full, name                      # Table 3 "-": same network
    assert full - sizes["no_sc_scan"] == 297                   # only the channel scan goes
    assert sizes["no_mafe"] < full and sizes["no_mccm"] < full
    assert sizes["mamba_to_conv"] > full and sizes["mamba_to_attention"] > full


# ----------------------------------------------------------------------------- config
def test_config_json_round_trip_and_ablations():
    for name in ABLATIONS:
        cfg = SMCConfig.from_ablation(name)
        data = json.loads(json.dumps(cfg.to_dict()))
        assert SMCConfig.from_dict(data) == cfg
        assert SMCConfig.from_json(cfg.to_json()) == cfg
    required = {"full", "mamba_to_conv", "mamba_to_attention", "no_mafe", "no_mccm", "no_fcl",
                "no_pcl", "no_fcl_pcl", "no_wb", "no_div", "no_cons", "no_mccm_loss",
                "no_sc_scan", "no_fr_scan", "no_cm_scan", "single_direction"}
    assert required <= set(ABLATIONS)
    assert SMCConfig().loss_weights == {"fcl": 0.8, "pcl": 0.4, "mccm": 1.0, "ssim": 1.0,
                                        "int": 1.0}
    cfg = SMCConfig.from_ablation("no_fcl_pcl")
    assert cfg.loss_weights == {"fcl": 0.0, "pcl": 0.0, "mccm": 1.0, "ssim": 1.0, "int": 1.0}
    assert cfg.ablation == "no_fcl_pcl"
    assert SMCConfig.from_ablation("no_div").use_div is False
    assert SMCConfig.from_ablation("full", mafe_shared_weights=False).mafe_shared_weights is False


def test_config_errors_are_clear():
    with pytest.raises(ConfigError, match="unknown SMCConfig field"):
        SMCConfig.from_dict({"chanels": 16})
    with pytest.raises(ConfigError, match="expert_dim"):
        SMCConfig(expert_dim=32)
    with pytest.raises(ConfigError, match="core_op"):
        SMCConfig(core_op="transformer")
    with pytest.raises(ConfigError, match="unknown ablation"):
        SMCConfig.from_ablation("nope")
    with pytest.raises(ConfigError, match="loss term"):
        SMCConfig.from_dict({"loss_weights": {"grad": 1.0}})
