"""SMC-Mamba losses (methods/smc_mamba/losses.py): shapes and values worked out by hand."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from methods.smc_mamba import losses as L


def const(value, shape=(1, 1, 16, 16), dtype=torch.float64):
    return torch.full(shape, float(value), dtype=dtype)


def channels(*values, hw=(3, 2)):
    """(1, C, H, W) with channel c constant = values[c]."""
    return torch.tensor(values, dtype=torch.float64)[None, :, None, None].expand(1, len(values), *hw).clone()


# ------------------------------------------------------------------------------ Haar lifting

def test_haar_feature_splits_channel_halves():
    low, high = L.haar_feature(channels(1, 2, 5, 9))
    assert low.shape == high.shape == (1, 2, 3, 2)
    # high = second - first = (5-1, 9-2); low = first + high/2 = (1+2, 2+3.5)
    assert torch.allclose(high[0, :, 0, 0], torch.tensor([4.0, 7.0], dtype=torch.float64))
    assert torch.allclose(low[0, :, 0, 0], torch.tensor([3.0, 5.5], dtype=torch.float64))
    with pytest.raises(ValueError, match="odd"):
        L.haar_feature(channels(1, 2, 3))


def test_haar_image_2d_on_a_ramp():
    x = torch.arange(16, dtype=torch.float64).reshape(1, 1, 4, 4)   # x[r, c] = 4r + c
    low, high = L.haar_image(x)
    assert low.shape == (1, 1, 2, 2) and high.shape == (1, 3, 2, 2)
    # LL = mean of each 2x2 block; LH (height detail of the width-low) = 4, HL = 1, HH = 0
    assert torch.equal(low[0, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]], dtype=torch.float64))
    assert torch.all(high[0, 0] == 4) and torch.all(high[0, 1] == 1) and torch.all(high[0, 2] == 0)


def test_haar_image_odd_size_repeats_the_border():
    x = torch.arange(9, dtype=torch.float64).reshape(1, 1, 3, 3)
    low, high = L.haar_image(x)
    assert low.shape == (1, 1, 2, 2) and high.shape == (1, 3, 2, 2)
    assert low[0, 0, 1, 1] == 8.0 and low[0, 0, 0, 1] == 3.5     # mean(2, 2, 5, 5)
    assert torch.all(high[0, :, 1, 1] == 0)                         # a repeated pixel has no detail
    assert high[0, 1, 0, 1] == 0.0                                  # no width detail at the border


# ------------------------------------------------------------------------------ BSCL

def test_fcl_known_value():
    # F_f = [1, 4] -> l_f = 2.5, h_f = 3; F_1 = [0, 0] -> (0, 0); F_2 = [2, 2] -> (2, 0)
    # pos_h = (3 + 3)^2 = 36, neg_h = (3 + 1)^2 = 16, pos_l = (2.5 + 0.5)^2 = 9, neg_l = (2.5 + 2.5)^2 = 25
    value = L.loss_fcl(channels(1, 4), [channels(0, 0), channels(2, 2)])
    assert value.item() == pytest.approx(36 / (16 + 1e-6) + 9 / (25 + 1e-6), rel=1e-12)
    assert value.item() == pytest.approx(2.61, rel=1e-6)


def test_fcl_gradients_and_detach_option():
    f = channels(1, 4).requires_grad_()
    srcs = [channels(0, 0).requires_grad_(), channels(2, 2).requires_grad_()]
    L.loss_fcl(f, srcs).backward()
    assert f.grad.abs().sum() > 0 and srcs[1].grad.abs().sum() > 0
    srcs = [s.detach().requires_grad_() for s in srcs]
    L.loss_fcl(f, srcs, detach_sources=True).backward()
    assert all(s.grad is None for s in srcs)
    with pytest.raises(ValueError, match="one shape"):
        L.loss_fcl(channels(1, 4), [channels(1, 2, 3, 4), channels(0, 0)])


def test_fcl_all_equal_is_zero_not_nan():
    z = channels(1, 1)
    assert L.loss_fcl(z, [z, z]).item() == 0.0


def test_pcl_known_value_on_flat_images():
    # Flat images: every high part is 0, lows are the constants (f, a, b) = (0.5, 0.2, 0.6).
    # pos_h = 0; pos_l = (0.3 + 0.1)^2 = 0.16; neg_l = (0.5 + 0.5)^2 = 1
    value = L.loss_pcl(const(0.5), const(0.2), const(0.6))
    assert value.item() == pytest.approx(0.16 / (1 + 1e-6), rel=1e-9)


def test_pcl_prefers_the_sources_details():
    rng = np.random.default_rng(0)
    i1 = torch.from_numpy(rng.random((1, 1, 16, 16)))
    i2 = torch.from_numpy(rng.random((1, 1, 16, 16)))
    blurred = torch.nn.functional.avg_pool2d((i1 + i2) / 2, 3, 1, 1, count_include_pad=False)
    assert L.loss_pcl(torch.maximum(i1, i2), i1, i2) < L.loss_pcl(blurred, i1, i2)


# ------------------------------------------------------------------------------ MCCM

def test_wb_cv_squared():
    assert L.loss_wb(torch.tensor([[0.5, 0.5, 0.0, 0.0]])).item() == pytest.approx(4 / 3)
    assert L.loss_wb(torch.full((1, 4), 0.25)).item() == pytest.approx(0.0, abs=1e-12)
    # summed over the batch first: two complementary selections balance out
    both = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]])
    assert L.loss_wb(both).item() == pytest.approx(0.0, abs=1e-12)
    # var / mean^2 with the unbiased variance: [0.7, 0.3, 0, 0]: mean .25, var (.2025+.0025+.0625*2)/3
    assert L.loss_wb(torch.tensor([[0.7, 0.3, 0, 0]])).item() == pytest.approx((0.33 / 3) / 0.0625)


def test_div_mean_pairwise_cosine():
    e = [channels(1, 0), channels(0, 1), channels(1, 1), channels(-1, 0)]
    # unordered cosines: 0, 1/sqrt2, -1, 1/sqrt2, 0, -1/sqrt2 -> sum sqrt2/2 - 1; ordered pairs / 12
    assert L.loss_div(e).item() == pytest.approx((math.sqrt(2) / 2 - 1) / 6, rel=1e-9)
    same = [channels(1, 2)] * 4
    assert L.loss_div(same).item() == pytest.approx(1.0)


def test_cons_weighted_spread_around_consensus():
    e = [const(1), const(3), const(0), const(0)]
    w = torch.tensor([[0.5, 0.5, 0.0, 0.0]], dtype=torch.float64)
    assert L.loss_cons(e, w).item() == pytest.approx(1.0)               # F_cons = 2
    w = torch.tensor([[0.25, 0.75, 0.0, 0.0]], dtype=torch.float64)
    assert L.loss_cons(e, w).item() == pytest.approx(0.25 * 1.5 ** 2 + 0.75 * 0.5 ** 2)  # 0.75


def test_lambda_schedule():
    assert L.mccm_lambda(0, 30) == 1.0
    assert L.mccm_lambda(15, 30) == pytest.approx(math.cos(math.pi / 4))
    assert L.mccm_lambda(30, 30) == pytest.approx(0.0, abs=1e-12)
    assert L.mccm_lambda(45, 30) == pytest.approx(0.0, abs=1e-12)


def test_mccm_combines_terms_with_time_decay():
    e = [const(1), const(3), const(0), const(0)]
    w = torch.tensor([[0.25, 0.75, 0.0, 0.0]], dtype=torch.float64)
    wb, div, cons = L.loss_wb(w).item(), L.loss_div(e).item(), L.loss_cons(e, w).item()
    lam = math.cos(0.25 * math.pi / 2)
    total, terms = L.loss_mccm(w, e, t=1.0, T=4.0)
    assert total.item() == pytest.approx(wb + lam * div + (1 - lam) * cons)
    assert terms["lambda"] == pytest.approx(lam) and terms["cons"] == pytest.approx(0.75)
    total, terms = L.loss_mccm(w, e, 1.0, 4.0, use_wb=False, use_div=False)
    assert total.item() == pytest.approx((1 - lam) * 0.75) and terms["wb"] == terms["div"] == 0.0
    total, _ = L.loss_mccm(w, None, 1.0, 4.0)      # eval mode: only L_wb can be formed
    assert total.item() == pytest.approx(wb)
    assert L.loss_mccm(None, None, 0.0, 1.0)[0] is None   # MCCM off


# ------------------------------------------------------------------------------ SSIM, intensity

def test_ssim_known_values():
    x = torch.from_numpy(np.random.default_rng(1).random((1, 1, 20, 24)))
    assert L.ssim(x, x).item() == pytest.approx(1.0)
    # flat images a, b: SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = 1e-4
    a, b = 0.2, 0.6
    expect = (2 * a * b + 1e-4) / (a * a + b * b + 1e-4)
    assert L.ssim(const(a), const(b)).item() == pytest.approx(expect, rel=1e-9)
    assert L.loss_ssim(const(a), const(a), const(b)).item() == pytest.approx(1 - 0.5 * (1 + expect))


def test_ssim_matches_scikit_image():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(2)
    x = rng.random((32, 40))
    y = np.clip(x + 0.1 * rng.standard_normal((32, 40)), 0, 1)
    ref = skimage_metrics.structural_similarity(x, y, data_range=1.0, gaussian_weights=True,
                                                sigma=1.5, use_sample_covariance=False)
    got = L.ssim(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None]).item()
    assert got == pytest.approx(ref, abs=1e-6)


def test_ssim_small_images_and_gradients():
    x = torch.rand(2, 1, 6, 9, requires_grad=True)
    v = L.ssim(x, torch.rand(2, 1, 6, 9))
    assert v.shape == (2,)
    v.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_intensity_loss_per_task():
    f, a, b = const(0.5), const(0.2), const(0.8)
    for task in ("ivf", "medical", "mff"):
        assert L.loss_int(f, a, b, task).item() == pytest.approx(0.3)
    assert L.loss_int(f, a, b, "mef").item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="unknown task"):
        L.loss_int(f, a, b, "pansharpening")


# ------------------------------------------------------------------------------ total

def _fake_output(requires_grad=True):
    g = torch.Generator().manual_seed(0)
    fused = torch.rand(1, 1, 16, 16, generator=g, dtype=torch.float64).requires_grad_(requires_grad)
    feats = tuple(torch.rand(1, 6, 16, 16, generator=g, dtype=torch.float64) for _ in range(2))
    experts = [torch.rand(1, 6, 16, 16, generator=g, dtype=torch.float64) for _ in range(4)]
    weights = torch.tensor([[0.6, 0.4, 0.0, 0.0]], dtype=torch.float64)
    return SimpleNamespace(fused=fused, feats=feats, fused_feat=feats[0] * 0.5 + feats[1] * 0.5,
                           expert_outputs=experts, gate_weights=weights, gate_logits=weights)


def test_total_is_the_weighted_sum_of_the_logged_terms():
    out = _fake_output()
    i1, i2 = const(0.3), const(0.7)
    total, terms = L.total_loss(out, i1, i2, "ivf", t=0.5, T=2.0)
    expect = sum(L.DEFAULT_WEIGHTS[k] * terms[k] for k in ("fcl", "pcl", "mccm", "ssim", "int"))
    assert total.item() == pytest.approx(expect) and terms["total"] == pytest.approx(expect)
    assert set(terms) >= {"total", "fcl", "pcl", "mccm", "wb", "div", "cons", "lambda", "ssim", "int"}
    assert all(isinstance(v, float) for v in terms.values())
    assert terms["lambda"] == pytest.approx(math.cos(0.25 * math.pi / 2))
    total.backward()
    assert out.fused.grad is not None and out.fused.grad.abs().sum() > 0


def test_total_honours_config_weights_and_switches():
    out = _fake_output()
    i1, i2 = const(0.3), const(0.7)
    _, full = L.total_loss(out, i1, i2, "mef")
    cfg = SimpleNamespace(loss_weights={"fcl": 0.0, "pcl": 0.4, "mccm": 1.0, "ssim": 1.0, "int": 1.0},
                          use_wb=False, use_div=True, use_cons=True)
    total, terms = L.total_loss(out, i1, i2, "mef", config=cfg)
    assert terms["fcl"] == 0.0 and terms["wb"] == 0.0
    assert terms["mccm"] == pytest.approx(full["mccm"] - full["wb"])
    assert total.item() == pytest.approx(full["total"] - 0.8 * full["fcl"] - full["wb"])
    # MCCM off in the model: no gate weights, no MCCM loss
    out.gate_weights = out.expert_outputs = out.gate_logits = None
    _, terms = L.total_loss(out, i1, i2, "mef")
    assert terms["mccm"] == 0.0
