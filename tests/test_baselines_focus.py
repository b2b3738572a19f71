"""Focus-measure baselines: dsift, dsift_ef, gfdf, qb, sf (methods/classical/{dsift,gfdf,
quadtree,sf_blocks,_focus}.py): helper maths, method-specific properties, robustness, and
faithfulness against the MFIF benchmark's outputs of the original implementations."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from methods.base import resolve
from methods.classical import _focus, dsift, gfdf, quadtree, sf_blocks

MFF_METHODS = ("dsift", "gfdf", "qb", "sf")
ALL_METHODS = MFF_METHODS + ("dsift_ef",)


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tex = ndimage.gaussian_filter(rng.random((h, w)), 1.0)
    tex = (tex - tex.min()) / (tex.max() - tex.min())
    return (0.2 + 0.6 * tex).astype(np.float32)


def _focus_pair(h: int = 128, w: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sharp, A = sharp left / blurred right, B = blurred left / sharp right)."""
    sharp = _texture(h, w)
    blurred = ndimage.gaussian_filter(sharp, 3.0).astype(np.float32)
    left = np.zeros((h, w), bool)
    left[:, : w // 2] = True
    return sharp, np.where(left, sharp, blurred), np.where(left, blurred, sharp)


def _fuse(name: str, a: np.ndarray, b: np.ndarray, task: str = "mff") -> np.ndarray:
    impl = resolve(name).impl
    fn = impl.fuse if hasattr(impl, "fuse") else impl
    return np.asarray(fn(a, b, task))


# ---------------------------------------------------------------- helpers (_focus)

def test_conv2_same_matches_matlab_alignment_for_even_and_odd_kernels():
    rng = np.random.default_rng(1)
    img = rng.random((9, 11))
    for n in (4, 5, 24):
        kc, kr = rng.random(n), rng.random(n)
        full = np.zeros((9 + n - 1, 11 + n - 1))
        for y in range(9):          # the definition of a full convolution, summed directly
            for x in range(11):
                full[y:y + n, x:x + n] += img[y, x] * np.outer(kc, kr)
        want = full[n // 2:n // 2 + 9, n // 2:n // 2 + 11]
        np.testing.assert_allclose(_focus.conv2_same(img, kc, kr), want, atol=1e-12)


def test_window_and_block_spatial_frequency_match_the_definition():
    rng = np.random.default_rng(2)
    img = rng.random((12, 16)) * 255

    def sf(block):
        m, n = block.shape
        return np.sqrt(((np.diff(block, axis=0) ** 2).sum()
                        + (np.diff(block, axis=1) ** 2).sum()) / (m * n))

    win = _focus.window_spatial_frequency(img, 3)
    assert np.isclose(win[5, 9], sf(img[2:9, 6:13]))
    assert np.isnan(win[2, 9]) and np.isnan(win[5, 13])
    blocks = _focus.block_spatial_frequency(img, 4)
    assert blocks.shape == (3, 4)
    assert np.isclose(blocks[2, 1], sf(img[8:12, 4:8]))


def test_remove_small_regions_is_eight_connected_bwareaopen():
    mask = np.zeros((10, 10), bool)
    mask[1, 1] = mask[2, 2] = mask[3, 3] = True        # 3 px joined diagonally
    mask[7:9, 7:9] = True                               # 4 px block
    mask[0, 9] = True                                   # 1 px
    kept = _focus.remove_small_regions(mask, 3)
    assert kept[1, 1] and kept[3, 3] and kept[8, 8] and not kept[0, 9]
    assert not _focus.remove_small_regions(mask, 5).any()
    holes = np.ones((10, 10), bool)
    holes[4, 4] = False
    assert _focus.remove_small_regions_and_holes(holes, 3).all()


def test_guided_filter_keeps_constant_input_and_uses_shrinking_border_windows():
    guide = _texture(20, 24).astype(np.float64)
    np.testing.assert_allclose(_focus.guided_filter(guide, np.full_like(guide, 0.3), 5, 0.3),
                               0.3, atol=1e-12)
    # the shrinking-window mean at a corner is the mean of the (r+1)^2 pixels inside the image
    img = np.arange(36, dtype=float).reshape(6, 6)
    assert np.isclose(_focus.box_mean_shrinking(img, 2)[0, 0], img[:3, :3].mean())


def test_matlab_rounding_and_grey():
    assert np.array_equal(_focus.matlab_round(np.array([0.5, 1.5, 2.5, -0.5])), [1, 2, 3, -1])
    rgb = np.array([[[255.0, 0.0, 0.0]]])
    assert _focus.rgb2gray(rgb, uint8=True)[0, 0] == 76.0     # round(0.298936 * 255)


# ---------------------------------------------------------------- dsift

def test_dense_sift_activity_is_the_sum_of_the_descriptors():
    grey = _texture(24, 30) * 255
    patch, pad = 24, 11
    planes = dsift.dense_sift_planes(grey, pad, patch)
    act = dsift.descriptor_sum(planes, grey.shape, patch)
    ys, xs = np.array([0, 10, 23]), np.array([0, 17, 29])
    desc = dsift.descriptors_at(planes, ys, xs, patch)
    assert desc.shape == (3, 16, 8)
    np.testing.assert_allclose(desc.reshape(3, -1).sum(axis=1), act[ys, xs], rtol=1e-5)
    # scale invariance: the image is divided by its maximum first
    act_half = dsift.descriptor_sum(dsift.dense_sift_planes(grey / 2, pad, patch), grey.shape,
                                    patch)
    np.testing.assert_allclose(act_half, act, rtol=1e-4)


def test_descriptor_normalisation_follows_lowe_above_unit_norm_only():
    small = np.full((1, 128), 0.01, np.float32)                # norm 0.113: left as is
    big = np.zeros((1, 128), np.float32)
    big[0, :2] = [10.0, 1.0]                                   # one dominant bin: clipped
    out = dsift.normalise_descriptors(np.concatenate([small, big]))
    np.testing.assert_allclose(out[0], small[0])
    assert np.isclose(np.linalg.norm(out[1]), 1.0, atol=1e-6)
    # unit vector (10, 1) / sqrt(101): the first bin is clipped to 0.2, the second is not
    assert np.isclose(out[1, 0] / out[1, 1], 0.2 * np.sqrt(101), rtol=1e-5)


@pytest.mark.parametrize("spec", ["dsift", "dsift?matching=false"])
def test_dsift_picks_the_sharp_half_of_a_synthetic_focus_pair(spec):
    sharp, a, b = _focus_pair()
    fused = _fuse(spec, a, b)
    inner = (slice(8, -8), np.r_[8:52, 76:120])
    assert np.abs(fused - sharp)[inner].mean() < 0.1 * np.abs(a - sharp)[inner].mean()


# ---------------------------------------------------------------- dsift_ef

def test_dsift_ef_prefers_the_well_exposed_source_and_weights_sum_to_one():
    good = _texture(64, 80)
    burnt = np.clip(good + 0.7, 0, 1).astype(np.float32)       # every pixel above 0.9
    fused = _fuse("dsift_ef", good, burnt, "mef")
    assert np.abs(fused - good).max() < 1e-4
    weights = dsift.exposure_weights([good, burnt, good * 0.5], [good, burnt, good * 0.5])
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, atol=1e-9)


def test_dsift_ef_stack_and_colour():
    impl = resolve("dsift_ef").impl
    frames = [_texture(40, 48, s) * f for s, f in ((0, 0.5), (1, 1.0), (2, 1.2))]
    frames = [np.clip(f, 0, 1).astype(np.float32) for f in frames]
    out = impl.fuse_stack(frames, "mef")
    assert out.shape == (40, 48) and np.isfinite(out).all()
    rgb = [np.stack([f, f * 0.9, f * 0.8], -1) for f in frames[:2]]
    colour = impl.fuse_colour(rgb, "mef")
    assert colour.shape == (40, 48, 3) and 0 <= colour.min() and colour.max() <= 1


# ---------------------------------------------------------------- gfdf

def test_gfdf_decision_map_follows_the_sharp_source():
    sharp, a, b = _focus_pair()
    decision, _ = gfdf.gfdf_maps(a, b)
    assert decision[:, 10:54].mean() > 0.97 and decision[:, 74:118].mean() < 0.03
    fused = _fuse("gfdf", a, b)
    inner = (slice(8, -8), np.r_[8:52, 76:120])
    assert np.abs(fused - sharp)[inner].mean() < 0.1 * np.abs(a - sharp)[inner].mean()


# ---------------------------------------------------------------- qb

def test_quadtree_decision_splits_mixed_blocks_and_marks_ties():
    grads = np.zeros((2, 8, 8))
    grads[0, :, :4] = 2.0            # source 1 sharper on the left
    grads[1, :, 4:] = 3.0            # source 2 sharper on the right
    tags = quadtree.quadtree_decision(grads)
    assert (tags[:, :4] == 1).all() and (tags[:, 4:] == 2).all()
    flat = quadtree.quadtree_decision(np.ones((2, 4, 4)))
    assert (flat == -1).all()        # equal measures: undecided


def test_qb_takes_sharp_regions_and_handles_three_sources():
    sharp, a, b = _focus_pair()
    fused = _fuse("qb", a, b)
    inner = (slice(8, -8), np.r_[8:52, 76:120])
    assert np.abs(fused - sharp)[inner].mean() < 0.1 * np.abs(a - sharp)[inner].mean()
    blurred = ndimage.gaussian_filter(sharp, 3.0).astype(np.float32)
    out = resolve("qb").impl.fuse_stack([a, b, blurred], "mff")
    assert out.shape == sharp.shape
    assert np.abs(out - sharp)[inner].mean() < 0.1 * np.abs(a - sharp)[inner].mean()


# ---------------------------------------------------------------- sf

def test_sf_block_rule_threshold_band_and_majority_filter():
    sf1 = np.array([[5.0, 1.0, 3.0]])
    sf2 = np.array([[1.0, 5.0, 2.5]])
    assert sf_blocks.block_choice(sf1, sf2, 1.0).tolist() == [[1.0, 0.0, 0.5]]
    choice = np.zeros((3, 3))
    choice[1, 1] = 1.0                                 # lone source-1 block among source 2
    assert (sf_blocks.consistency_check(choice) == 0).all()
    choice[1, 1] = 0.5                                 # averaged blocks are kept
    assert sf_blocks.consistency_check(choice)[1, 1] == 0.5


def test_sf_selects_whole_blocks_from_the_sharper_source():
    sharp, a, b = _focus_pair()
    fused = _fuse("sf", a, b)
    np.testing.assert_array_equal(fused[:, :64], sharp[:, :64])
    np.testing.assert_array_equal(fused[:, 64:], sharp[:, 64:])


# ---------------------------------------------------------------- robustness (all methods)

def _cases():
    tex = _texture(37, 53, 3)
    other = ndimage.gaussian_filter(tex, 2).astype(np.float32)
    const = np.full((37, 53), 0.4, np.float32)
    return {
        "odd": (tex, other),
        "tiny": (_texture(16, 16, 4), _texture(16, 16, 5)),
        "both_constant": (const, np.full_like(const, 0.7)),
        "one_constant": (tex, const),
        "zeros": (np.zeros((24, 20), np.float32), np.zeros((24, 20), np.float32)),
        "identical": (tex, tex.copy()),
    }


@pytest.mark.parametrize("name", ALL_METHODS)
@pytest.mark.parametrize("case", list(_cases()))
def test_robust_outputs(name, case):
    a, b = _cases()[case]
    task = "mef" if name == "dsift_ef" else "mff"
    out = _fuse(name, a, b, task)
    assert out.shape == a.shape
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    if case in ("identical", "zeros"):
        np.testing.assert_allclose(out, a, atol=1e-6)   # a weighted blend of equal sources


@pytest.mark.parametrize("name", ("dsift", "gfdf", "qb"))
def test_fuse_colour_identical_sources_give_the_source(name):
    rgb = np.stack([_texture(40, 44, s) for s in (6, 7, 8)], -1)
    rgb = np.round(rgb * 255) / 255
    out = resolve(name).impl.fuse_colour([rgb, rgb.copy()], "mff")
    assert out.shape == rgb.shape
    np.testing.assert_allclose(out, rgb, atol=1e-6)


# ---------------------------------------------------------------- faithfulness (MFIF benchmark)

@pytest.mark.parametrize("name,folder", [("dsift", "DSIFT"), ("gfdf", "GFDF"), ("qb", "QB")])
def test_faithful_to_the_original_on_three_mfif_pairs(shared_data, name, folder):
    from bench.faithfulness import evaluate, summarise
    entry = resolve(name).entry
    assert entry.meta["reference"]["mfif"] == (folder, "native")
    rows = evaluate(resolve(name).impl, "mfif", folder, "native", limit=3, data=shared_data)
    summary = summarise(rows)
    assert summary["n"] == 3
    assert summary["psnr"] >= 30.0 or summary["ssim"] >= 0.95, summary
