"""GTF, VSMWLS, IFEVIP and LatLRR: the maths of each port, the robustness cases, and the
faithfulness bar against VIFB's stored outputs of the original implementations."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import spsolve

import methods  # noqa: F401  (registers the methods)
from bench.faithfulness import evaluate, summarise
from methods.base import resolve
from methods.classical import gtf, ifevip, latlrr, vsmwls

NAMES = ("gtf", "vsmwls", "ifevip", "latlrr")


def _smooth(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = 0.5 + 0.3 * np.sin(7 * xx + seed) * np.cos(5 * yy) + 0.05 * rng.standard_normal((h, w))
    return np.clip(img, 0, 1).astype(np.float32)


# The robustness cases (odd, tiny, constant, all-zero, identical sources) are
# tests/test_baselines_contract.py's, run there for every baseline.


@pytest.mark.parametrize("name", ("gtf", "ifevip"))
def test_native_colour_shape(name):
    ir = _smooth(30, 34, 1)
    vis = np.stack([_smooth(30, 34, s) for s in (2, 3, 4)], -1)
    out = resolve(name).impl.fuse_colour([ir, vis], "ivf")
    assert out.shape == (30, 34, 3) and np.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1


# ---------------------------------------------------------------- GTF

def test_gtf_difference_operators_are_adjoint():
    rng = np.random.default_rng(0)
    u, w = rng.standard_normal((2, 3, 7, 9))
    assert np.isclose(np.vdot(gtf.forward_dx(u), w), np.vdot(u, gtf.forward_dx_t(w)))
    assert np.isclose(np.vdot(gtf.forward_dy(u), w), np.vdot(u, gtf.forward_dy_t(w)))
    assert np.all(gtf.forward_dx(u)[..., -1] == 0) and np.all(gtf.forward_dy(u)[..., -1, :] == 0)


def test_gtf_identical_sources_return_the_source():
    a = _smooth(40, 48, 3)
    assert np.allclose(resolve("gtf").fuse_pair(a, a, "ivf"), a, atol=1e-6)


def test_gtf_constant_offset_keeps_infrared_intensities():
    vis = 0.6 * _smooth(40, 48, 4)
    ir = vis + 0.3  # same gradients, brighter: the l1-TV minimiser is u = ir - vis exactly
    assert np.allclose(resolve("gtf").fuse_pair(ir, vis, "ivf"), ir, atol=1e-6)


def test_gtf_irn_lowers_the_l1_tv_objective():
    rng = np.random.default_rng(1)
    s = (rng.random((1, 40, 50)) > 0.97) * 0.8 + 0.05 * rng.standard_normal((1, 40, 50))
    lam = 4.0

    def objective(u):
        tv = np.sqrt(np.sum(gtf.forward_dx(u) ** 2 + gtf.forward_dy(u) ** 2, axis=0)).sum()
        return np.abs(u - s).sum() + lam * tv

    one = gtf.l1_tv_irn(s, lam, loops=1)
    five = gtf.l1_tv_irn(s, lam, loops=5)
    assert objective(five) < objective(one) < objective(s)


def test_gtf_conjugate_gradient_solves_spd_system():
    rng = np.random.default_rng(2)
    m = rng.standard_normal((30, 30))
    spd = m @ m.T + 30 * np.eye(30)
    b = rng.standard_normal(30)
    x, its = gtf.conjugate_gradient(lambda v: spd @ v, b, np.zeros(30), 1e-10, 200)
    assert np.allclose(spd @ x, b, atol=1e-8) and 0 < its <= 30
    _, zero_its = gtf.conjugate_gradient(lambda v: spd @ v, b, x, 1e-6, 200)
    assert zero_its == 0


# ---------------------------------------------------------------- VSMWLS

def test_vsmwls_identical_sources_return_the_source():
    a = _smooth(40, 48, 5)
    assert np.allclose(vsmwls.vsmwls(a, a, "ivf"), a, atol=1e-5)


def test_vsmwls_wls_step_equals_the_authors_sparse_solve():
    rng = np.random.default_rng(3)
    m, d1, d2 = rng.standard_normal((3, 12, 15)) * 0.1
    lam = 0.01
    ours = vsmwls.wls_detail(m, d1, d2, lam)
    from bench.metrics.matlab import imfilter
    a = 1.0 / (np.abs(imfilter(d2, np.full((7, 7), 1 / 49), "replicate")) + 1e-6)
    diag = sparse.diags(a.ravel(order="F"))
    lhs = 2 * sparse.eye(a.size) + lam * (diag + diag.T)
    rhs = 2 * m.ravel(order="F") + lam * (diag + diag.T) @ d1.ravel(order="F")
    theirs = spsolve(lhs.tocsc(), rhs).reshape(m.shape, order="F")
    assert np.allclose(ours, theirs, atol=1e-10)


def test_vsmwls_saliency_is_histogram_contrast():
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (9, 11)) / 255.0
    levels = np.round(img * 255).astype(int)
    brute = np.abs(levels[..., None, None] - levels[None, None]).sum(axis=(2, 3)).astype(float)
    brute = (brute - brute.min()) / (brute.max() - brute.min())
    assert np.allclose(vsmwls.visual_saliency(img), brute)


def test_vsmwls_guided_filter_keeps_a_constant_and_matches_opencv_inside():
    rng = np.random.default_rng(5)
    guide, src = rng.random((2, 40, 50)).astype(np.float64)
    assert np.allclose(vsmwls.guided_filter(guide, np.full_like(src, 0.3), 2, 0.01), 0.3)
    import cv2
    ref = cv2.ximgproc.guidedFilter(guide.astype(np.float32), src.astype(np.float32), 2, 0.01)
    ours = vsmwls.guided_filter(guide, src, 2, 0.01)
    # the two differ only within 2 radii of the border (truncated vs reflected windows)
    assert np.allclose(ours[4:-4, 4:-4], ref[4:-4, 4:-4], atol=1e-4)


# ---------------------------------------------------------------- IFEVIP

def test_ifevip_resize_weights():
    assert np.allclose(ifevip.resize_matrix(17, 17), np.eye(17))
    for n_in, n_out in ((460, 512), (630, 512), (16, 512), (512, 37)):
        w = ifevip.resize_matrix(n_in, n_out)
        assert w.shape == (n_out, n_in) and np.allclose(w.sum(axis=1), 1.0)
    ramp = np.tile(np.arange(64, dtype=float), (8, 1))
    # bicubic (a = -0.5) reproduces a linear ramp away from the mirrored borders
    up = ifevip.imresize_bicubic(ramp, (8, 128), as_uint8=False)
    assert np.allclose(up[:, 8:-8], (np.arange(128) / 2 - 0.25)[8:-8])


def test_ifevip_quadtree_splits_only_where_the_range_is_large():
    img = np.full((512, 512), 100.0)
    img[300:310, 400:410] = 200.0  # a bright spot in the lower-right quadrant
    leaves = ifevip.quadtree_blocks(img, 0.2, 32)
    assert sum(s * s for _, _, s in leaves) == 512 * 512
    assert (0, 0, 256) in leaves and (0, 256, 256) in leaves and (256, 0, 256) in leaves
    assert any(s == 32 and r <= 300 < r + 32 and c <= 400 < c + 32 for r, c, s in leaves)


def test_ifevip_bezier_background_of_a_constant_is_constant():
    leaves = ifevip.quadtree_blocks(np.full((512, 512), 7.0), 0.2, 32)
    assert leaves == [(0, 0, 512)]
    bg = ifevip.bezier_background(np.full((512, 512), 42.0), leaves, 32)
    assert np.allclose(bg, 42.0)


def test_ifevip_adds_infrared_targets_and_never_darkens_the_visible():
    vis = 0.3 + 0.2 * _smooth(96, 120, 6)
    ir = np.full((96, 120), 0.2, np.float32)
    ir[40:50, 60:66] = 0.95  # a hot target
    out = resolve("ifevip").fuse_pair(ir, vis, "ivf")
    assert np.all(out >= np.round(vis * 255) / 255 - 1e-6)
    assert out[40:50, 60:66].mean() > vis[40:50, 60:66].mean() + 0.2


# ---------------------------------------------------------------- LatLRR

def _latent_lrr_full(x, lam, iters, rho=1.1, mu=1e-6, max_mu=1e6):
    """The inexact ALM with the full n x n variables, straight from the update formulas."""
    d, n = x.shape
    inv_a, inv_b = np.linalg.inv(x.T @ x + np.eye(n)), np.linalg.inv(x @ x.T + np.eye(d))
    z, el, e = np.zeros((n, n)), np.zeros((d, d)), np.zeros((d, n))
    y1, y2, y3 = np.zeros((d, n)), np.zeros((n, n)), np.zeros((d, d))
    for _ in range(iters):
        j = latlrr.singular_value_threshold(z + y2 / mu, 1 / mu)
        s = latlrr.singular_value_threshold(el + y3 / mu, 1 / mu)
        z = inv_a @ (x.T @ x - x.T @ el @ x - x.T @ e + j + (x.T @ y1 - y2) / mu)
        el = ((x - x @ z - e) @ x.T + s + (y1 @ x.T - y3) / mu) @ inv_b
        xmaz = x - x @ z - el @ x
        t = xmaz + y1 / mu
        e = np.maximum(0, t - lam / mu) + np.minimum(0, t + lam / mu)
        y1, y2, y3 = y1 + mu * (xmaz - e), y2 + mu * (z - j), y3 + mu * (el - s)
        mu = min(max_mu, mu * rho)
    return el


def test_latlrr_row_space_solver_equals_the_full_alm():
    x = np.random.default_rng(7).random((9, 40))
    ours, _, its = latlrr.latent_lrr(x, lam=0.4, max_iter=60, tol=0.0)
    assert its == 60
    assert np.allclose(ours, _latent_lrr_full(x, 0.4, 60), atol=1e-8)


def test_latlrr_patch_round_trip_and_nuclear_norm():
    img = _smooth(20, 27, 9).astype(np.float64)
    p = latlrr.overlapping_patches(img, 8)
    count = latlrr.overlap_add(np.ones_like(p), img.shape, 8)
    assert np.allclose(latlrr.overlap_add(p, img.shape, 8) / count, img)
    assert np.isclose(latlrr.nuclear_norms(p[:1], 8)[0], np.linalg.norm(img[:8, :8], "nuc"))


def test_latlrr_is_symmetric_in_the_sources_and_keeps_a_black_pair_black():
    rng = np.random.default_rng(8)
    proj = rng.standard_normal((64, 64)) * 0.05
    a, b = _smooth(30, 35, 1), _smooth(30, 35, 2)
    assert np.allclose(latlrr.latlrr_fuse(a, b, proj), latlrr.latlrr_fuse(b, a, proj))
    assert np.allclose(latlrr.latlrr_fuse(np.zeros((20, 20)), np.zeros((20, 20)), proj), 0)


# ---------------------------------------------------------------- faithfulness (VIFB)

@pytest.mark.parametrize("name", ("gtf", "vsmwls", "ifevip"))
def test_faithful_to_vifb_on_three_scenes(name, shared_data):
    folder, colour = resolve(name).entry.meta["reference"]["vifb"]
    summary = summarise(evaluate(resolve(name).impl, "vifb", folder, colour, limit=3, data=shared_data))
    assert summary["n"] == 3
    assert summary["meets_bar"], summary


@pytest.mark.slow
def test_latlrr_faithful_to_vifb_on_three_scenes(shared_data):
    folder, colour = resolve("latlrr").entry.meta["reference"]["vifb"]
    summary = summarise(evaluate(resolve("latlrr").impl, "vifb", folder, colour, limit=3,
                                 data=shared_data))
    assert summary["n"] == 3 and summary["meets_bar"], summary
