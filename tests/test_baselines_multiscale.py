"""Multi-scale-transform baselines: lp, rp, dwt, dtcwt (methods/classical/multiscale.py),
msvd (msvd.py), hmsd and hmsd_gf (hmsd.py).

Transform properties (exact reconstruction, coefficient rules), known outputs, robustness on
awkward inputs, and faithfulness to VIFB's reference outputs on its three smallest scenes."""
from __future__ import annotations

import numpy as np
import pytest

from methods.base import checked_output, resolve
from methods.classical import hmsd as hmsd_mod
from methods.classical import msvd as msvd_mod
from methods.classical import multiscale as ms

ALL = ["lp", "rp", "dwt", "dtcwt", "msvd", "hmsd", "hmsd_gf"]
EXACT_ON_EQUAL = ["lp", "rp", "dwt", "dtcwt", "msvd", "hmsd"]


def _rand(shape, seed=0, lo=0.0, hi=1.0):
    rng = np.random.default_rng(seed)
    return (lo + (hi - lo) * rng.random(shape)).astype(np.float32)


def _smooth(shape, seed=0):
    """A smooth random image in about [0.25, 0.65] (no clipping after fusion)."""
    import cv2
    img = cv2.GaussianBlur(_rand(shape, seed), (0, 0), 3.0)
    img = (img - img.min()) / (img.max() - img.min() + 1e-9)
    return (0.25 + 0.4 * img).astype(np.float32)


def _fuse(name, a, b, task="ivf"):
    return checked_output(resolve(name).fuse_pair(a, b, task), a.shape, name)


# --------------------------------------------------------------------------------- robustness

CASES = {
    "odd 37x53": lambda: (_rand((37, 53), 1), _rand((37, 53), 2)),
    "tiny 16x16": lambda: (_rand((16, 16), 3), _rand((16, 16), 4)),
    "not multiple of 16: 50x70": lambda: (_rand((50, 70), 5), _rand((50, 70), 6)),
    "both constant": lambda: (np.full((24, 40), 0.3, np.float32),
                              np.full((24, 40), 0.7, np.float32)),
    "one constant": lambda: (np.full((33, 31), 0.5, np.float32), _rand((33, 31), 7)),
    "all zero": lambda: (np.zeros((32, 48), np.float32), np.zeros((32, 48), np.float32)),
    "a == b": lambda: (_rand((29, 45), 8),) * 2,
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", ALL)
def test_robust_output(name, case):
    a, b = CASES[case]()
    raw = resolve(name).fuse_pair(a, b, "ivf")
    assert raw.shape == a.shape
    assert np.all(np.isfinite(raw))
    out = checked_output(raw, a.shape, name)
    assert out.min() >= 0.0 and out.max() <= 1.0
    if case == "all zero":
        assert np.allclose(out, 0.0, atol=1e-6)


@pytest.mark.parametrize("name", EXACT_ON_EQUAL)
def test_identical_sources_give_the_source(name):
    a = _rand((37, 53), 11)
    assert np.allclose(_fuse(name, a, a), a, atol=1e-5)


def test_hmsd_gf_identical_sources_give_the_scaled_source():
    a = _rand((37, 53), 12)
    want = np.clip(a * 275 / 255, 0, 1)
    assert np.allclose(_fuse("hmsd_gf", a, a), want, atol=1e-5)


@pytest.mark.parametrize("name", ["lp", "dwt", "dtcwt"])
def test_constant_shift_averages_the_base(name):
    """b = a + 0.2: every detail coefficient is equal (the tie takes a's, the same), the
    base is averaged, so the result is exactly a + 0.1."""
    a = _smooth((48, 64), 13)
    out = _fuse(name, a, a + np.float32(0.2))
    assert np.allclose(out, a + 0.1, atol=2e-4)


@pytest.mark.parametrize("name", ["lp", "rp", "dwt", "dtcwt"])
def test_detail_taken_from_the_textured_source(name):
    """A flat source and a textured one (same mean): max-abs keeps the texture, the average
    would halve it."""
    yy, xx = np.mgrid[:64, :64]
    texture = 0.5 + 0.2 * np.sign(np.sin(xx * np.pi / 2) * np.sin(yy * np.pi / 2))
    flat = np.full((64, 64), 0.5, np.float32)
    out = _fuse(name, flat, texture.astype(np.float32))
    assert np.mean(np.abs(out - texture)) < 0.01
    assert np.mean(np.abs((flat + texture) / 2 - texture)) > 0.09


# --------------------------------------------------------------------------------- transforms

def test_pyramids_reconstruct_exactly_at_odd_sizes():
    img = _rand((37, 53), 20, 0.05, 1.0).astype(np.float64)
    lap = ms.laplacian_pyramid(img, 4)
    assert [p.shape for p in lap] == [(37, 53), (19, 27), (10, 14), (5, 7), (3, 4)]
    assert np.allclose(ms.collapse_laplacian(lap), img, atol=1e-12)
    assert np.allclose(ms.collapse_ratio(ms.ratio_pyramid(img, 4)), img, atol=1e-12)


def test_pyramid_levels_are_capped_for_small_images():
    assert ms.pyramid_levels((16, 16), 4) == 3   # 16 -> 8 -> 4 -> 2
    assert ms.pyramid_levels((480, 640), 4) == 4
    assert ms.pyramid_levels((3, 100), 4) == 1


def test_max_abs_select_rule():
    stack = np.array([[1.0, -3.0, 2.0, 0.5], [-2.0, 1.0, -2.0, 0.4]])
    assert np.array_equal(ms.max_abs_select(stack), [-2.0, -3.0, 2.0, 0.5])  # tie: first
    cplx = np.array([[1 + 1j, 3.0], [0 + 2j, -1j]])
    assert np.array_equal(ms.max_abs_select(cplx), [2j, 3.0])


def test_dwt_fused_coefficients_are_the_max_abs_choice():
    """Haar on a 32 x 32 image (no boundary extension): the output's coefficients are the
    average approximation and the larger-magnitude detail of each position and band."""
    import pywt
    a, b = _smooth((32, 32), 21), _rand((32, 32), 22, 0.3, 0.6)
    out = _fuse("dwt?wavelet=haar&levels=2", a, b).astype(np.float64)
    got = pywt.wavedec2(out, "haar", level=2)
    ca, cb = pywt.wavedec2(a.astype(np.float64), "haar", level=2), \
        pywt.wavedec2(b.astype(np.float64), "haar", level=2)
    assert np.allclose(got[0], (ca[0] + cb[0]) / 2, atol=1e-5)
    for lev in (1, 2):
        for band in range(3):
            x, y = ca[lev][band], cb[lev][band]
            assert np.allclose(got[lev][band], np.where(np.abs(x) >= np.abs(y), x, y), atol=1e-5)


def test_rp_offset_must_be_positive():
    with pytest.raises(ValueError, match="offset"):
        resolve("rp?offset=0")


# --------------------------------------------------------------------------------- msvd

def test_msvd_block_layout_and_inverse():
    x = _rand((6, 8), 30).astype(np.float64)
    a = msvd_mod.block_matrix(x)
    assert a.shape == (4, 12)
    assert np.array_equal(a[:, 0], [x[0, 0], x[1, 0], x[0, 1], x[1, 1]])
    assert np.array_equal(msvd_mod.from_block_matrix(a, x.shape), x)
    bands, u = msvd_mod.msvd(x)
    assert np.allclose(u.T @ u, np.eye(4), atol=1e-12)
    assert np.allclose(msvd_mod.inverse_msvd(bands, u), x, atol=1e-12)
    # for a bright image the first singular vector is close to +-(1, 1, 1, 1) / 2, so LL is
    # about the block sum / 2 (up to sign)
    y = _rand((6, 8), 33, 0.45, 0.55).astype(np.float64)
    ll = msvd_mod.msvd(y)[0][0]
    assert np.allclose(np.abs(ll), msvd_mod.block_matrix(y).sum(0).reshape(3, 4) / 2, rtol=0.02)


def test_msvd_stretch_option():
    a, b = _rand((20, 30), 31, 0.2, 0.6), _rand((20, 30), 32, 0.2, 0.6)
    out = resolve("msvd?stretch=true").fuse_pair(a, b, "ivf")
    assert out.min() == pytest.approx(0.0, abs=1e-6) and out.max() == pytest.approx(1.0, abs=1e-6)


# --------------------------------------------------------------------------------- hmsd

def test_bilateral_grid_keeps_constants_and_steps():
    assert np.allclose(hmsd_mod.bilateral_grid(np.full((30, 40), 0.4), 2.0, 0.05), 0.4)
    step = np.zeros((40, 60))
    step[:, 30:] = 0.8
    out = hmsd_mod.bilateral_grid(step, 4.0, 0.05)
    assert np.allclose(out[:, :26], 0.0, atol=1e-9)   # the range kernel stops the blur
    assert np.allclose(out[:, 34:], 0.8, atol=1e-9)


def test_decomposition_sums_to_the_image():
    img = _rand((37, 53), 40)
    for edge_filter in ("bilateral", "guided"):
        base, details, edges = hmsd_mod.decompose(img, edge_filter)
        assert np.allclose(base + sum(details) + sum(edges), img, atol=1e-10)


def test_gaussian_blur_matches_matlab_symmetric_border():
    img = _rand((9, 11), 41).astype(np.float64)
    assert np.array_equal(hmsd_mod.gaussian_blur(img, 0.2), img)  # 1 x 1 kernel
    out = hmsd_mod.gaussian_blur(img, 1.0)
    padded = np.pad(img, 3, mode="symmetric")
    k = np.exp(-np.arange(-3, 4) ** 2 / 2.0)
    k /= k.sum()
    want = sum(k[i] * k[j] * padded[i:i + 9, j:j + 11] for i in range(7) for j in range(7))
    assert np.allclose(out, want, atol=1e-12)
    # a kernel larger than the image (sigma 64 -> 385 taps) keeps a constant constant
    assert np.allclose(hmsd_mod.gaussian_blur(np.full((16, 16), 0.3), 64.0), 0.3)


def test_auto_lambda_rule():
    flat = np.full((60, 60), 100.0)
    assert hmsd_mod.perceptual_saliency(flat) == 0.0
    assert hmsd_mod.auto_lambda(flat, flat) == 100.0
    textured = _rand((60, 60), 42) * 255.0
    assert hmsd_mod.auto_lambda(textured, flat) == 2000.0
    assert hmsd_mod.auto_lambda(flat, textured) == 100.0
    lam = hmsd_mod.auto_lambda(textured, textured)  # Rs = 1 -> 2500 - 1900
    assert lam == pytest.approx(600.0)


@pytest.mark.parametrize("name", ["hmsd", "hmsd_gf"])
def test_hmsd_injects_a_hot_infrared_target(name):
    """A bright IR blob on a dim background appears in the fused image; the visible texture
    elsewhere is kept."""
    yy, xx = np.mgrid[:96, :96]
    vis = (0.4 + 0.1 * np.sin(xx / 2.0) * np.sin(yy / 3.0)).astype(np.float32)
    ir = np.full((96, 96), 0.2, np.float32)
    blob = (yy - 48) ** 2 + (xx - 48) ** 2 < 8 ** 2
    ir[blob] = 0.9
    out = _fuse(name, ir, vis)
    assert out[blob].mean() > vis[blob].mean() + 0.2
    far = (yy - 48) ** 2 + (xx - 48) ** 2 > 30 ** 2
    assert np.corrcoef(out[far], vis[far])[0, 1] > 0.9


# --------------------------------------------------------------------------------- faithfulness

SMALL_SCENES = ("manWalking", "peopleshadow", "walking")  # the three smallest VIFB scenes
# (method, VIFB folder, bar on mean PSNR dB over SMALL_SCENES). Measured on these three: msvd
# 34.5 dB / SSIM 0.943, hmsd 36.5 / 0.979, hmsd_gf 37.2 / 0.979 (all 21 scenes: 34.2, 41.9, 41.3).
FAITHFUL = [("msvd", "MSVD", 30.0), ("hmsd", "Hybrid_MSD", 30.0), ("hmsd_gf", "HMSD_GF", 30.0)]


@pytest.fixture(scope="module")
def small_vifb(shared_data, tmp_path_factory):
    """A VIFB root holding only SMALL_SCENES, as symbolic links to the shared data (read in
    place, not copied), so bench.faithfulness.evaluate runs on those three."""
    src = shared_data / "ivf" / "VIFB"
    root = tmp_path_factory.mktemp("vifb_small")
    vifb = root / "ivf" / "VIFB"
    for sub in ["input/IR", "input/VI"] + [f"fused/{f}" for _, f, _ in FAITHFUL]:
        (vifb / sub).mkdir(parents=True)
        for scene in SMALL_SCENES:
            (vifb / sub / f"{scene}.jpg").symlink_to(src / sub / f"{scene}.jpg")
    return root


@pytest.mark.shared_data
@pytest.mark.parametrize("name,folder,bar", FAITHFUL)
def test_faithful_to_vifb(small_vifb, name, folder, bar):
    from bench.faithfulness import evaluate, summarise
    from methods.base import resolve as res
    entry = res(name).entry
    assert entry.meta["reference"]["vifb"] == (folder, "per-channel")
    summary = summarise(evaluate(res(name).impl, "vifb", folder, "per-channel", data=small_vifb))
    assert summary["n"] == 3
    assert summary["psnr"] >= bar, summary
    assert summary["meets_bar"]
