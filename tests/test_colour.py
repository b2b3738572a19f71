"""The BT.601 colour rule the harness applies around every method."""
import numpy as np

from bench.colour import (merge_fused, rgb_to_ycbcr, split_sources, weighted_chroma,
                          ycbcr_to_rgb)

RNG = np.random.default_rng(1)


def test_bt601_coefficients_and_roundtrip():
    rgb = RNG.random((8, 9, 3), dtype=np.float32)
    y, cb, cr = rgb_to_ycbcr(rgb)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    assert np.allclose(y, 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-5)
    assert np.allclose(cb, 0.5 + (b - y) / 1.772, atol=1e-6)
    assert np.allclose(cr, 0.5 + (r - y) / 1.402, atol=1e-6)
    assert np.allclose(ycbcr_to_rgb(y, cb, cr), rgb, atol=1e-6)


def test_grey_sources_give_grey_output():
    a, b = RNG.random((5, 5), dtype=np.float32), RNG.random((5, 5), dtype=np.float32)
    split = split_sources([a, b])
    assert not split.is_colour and np.array_equal(split.ys[0], a)
    out = merge_fused((split.ys[0] + split.ys[1]) / 2, split)
    assert out.ndim == 2 and np.allclose(out, (a + b) / 2)


def test_single_colour_source_restores_its_chroma():
    ir = RNG.random((6, 7), dtype=np.float32)
    vis = RNG.random((6, 7, 3), dtype=np.float32) * 0.8 + 0.1
    split = split_sources([ir, vis])
    y_vis, cb, cr = rgb_to_ycbcr(vis)
    assert np.allclose(split.ys[1], y_vis) and np.allclose(split.cb, cb)
    out = merge_fused(split.ys[1], split)  # fusing to the visible Y gives back the visible image
    assert out.shape == vis.shape and np.allclose(out, vis, atol=1e-6)


def test_two_colour_sources_weight_chroma_by_saturation():
    c1 = np.array([[0.5, 0.9, 0.3]], np.float32)
    c2 = np.array([[0.7, 0.5, 0.3]], np.float32)
    got = weighted_chroma([c1, c2])
    # pixel 0: weights 0 and 0.2 -> c2; pixel 1: weights 0.4 and 0 -> c1;
    # pixel 2: equal weights 0.2 -> mean; all-neutral gives 0.5
    assert np.allclose(got, [[0.7, 0.9, 0.3]])
    assert weighted_chroma([np.full((1, 1), 0.5)] * 2)[0, 0] == 0.5
    a = RNG.random((4, 4, 3), dtype=np.float32)
    split = split_sources([a, a])
    _, cb, _ = rgb_to_ycbcr(a)
    assert np.allclose(split.cb, cb, atol=1e-6)


def test_merge_clips_y():
    split = split_sources([np.zeros((2, 2), np.float32)] * 2)
    assert merge_fused(np.full((2, 2), 1.7, np.float32), split).max() == 1.0
