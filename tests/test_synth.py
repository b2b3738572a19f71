"""The generators of the embedded data: determinism, labels, and the properties that make
fusion matter (night people hidden in the visible image, signs textured only there)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from bench.synth import ivf_scenes, medical, photo_pairs, textures


def _luma(rgb: np.ndarray) -> np.ndarray:
    return textures.luminance(rgb.astype(np.float64))


@pytest.fixture(scope="module")
def scenes() -> list[ivf_scenes.IVFScene]:
    return [ivf_scenes.make_scene((11, i), 256, night=ivf_scenes.is_night(i, 0.5))
            for i in range(24)]


# -- determinism ------------------------------------------------------------------------------

def test_ivf_same_seed_same_arrays_different_seed_different():
    a, b = ivf_scenes.make_scene(5, 128), ivf_scenes.make_scene(5, 128)
    c = ivf_scenes.make_scene(6, 128)
    for name in ("ir", "vis", "mask", "instances", "boxes"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.meta == b.meta
    assert not np.array_equal(a.vis, c.vis) and not np.array_equal(a.ir, c.ir)


def test_other_generators_are_deterministic():
    for make in (lambda s: medical.make_pair("pet", "head", s),
                 lambda s: medical.make_pair("ct", "thorax", s)):
        a, b, c = make(1), make(1), make(2)
        assert np.array_equal(a.mri, b.mri) and np.array_equal(a.other, b.other)
        assert not np.array_equal(a.other, c.other)
    for make in (photo_pairs.make_mff, photo_pairs.make_mef):
        a, b, c = make("chelsea", 1), make("chelsea", 1), make("chelsea", 2)
        assert np.array_equal(a.a, b.a) and np.array_equal(a.b, b.b)
        assert not np.array_equal(a.a, c.a)


def test_generators_leave_the_global_rng_alone():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    ivf_scenes.make_scene(0, 96)
    photo_pairs.make_mef("coffee", 0)
    assert np.random.random() == expected


# -- IVF scenes -------------------------------------------------------------------------------

def test_ivf_shapes_and_types():
    s = ivf_scenes.make_scene(3, (96, 160))
    assert s.ir.shape == (96, 160) and s.ir.dtype == np.uint8
    assert s.vis.shape == (96, 160, 3) and s.vis.dtype == np.uint8
    assert s.mask.shape == (96, 160) and s.mask.max() < len(ivf_scenes.SEG_CLASSES)
    assert s.boxes.shape[1] == 5


def test_ivf_boxes_are_tight_to_the_drawn_objects(scenes):
    for s in scenes:
        h, w = s.mask.shape
        assert 1 <= len(s.boxes) <= 6
        assert np.all(s.boxes[:, 1:] >= 0) and np.all(s.boxes[:, 1:] <= 1)
        covered = np.zeros_like(s.mask, bool)
        for k, (cls, cx, cy, bw, bh) in enumerate(s.boxes):
            inst = s.instances == k + 1
            assert inst.any(), "no fully hidden object"
            assert np.all(s.mask[inst] == ivf_scenes.SEG_OF_DET[int(cls)])
            ys, xs = np.nonzero(inst)
            x0, x1 = (cx - bw / 2) * w, (cx + bw / 2) * w
            y0, y1 = (cy - bh / 2) * h, (cy + bh / 2) * h
            assert np.allclose([x0, x1, y0, y1], [xs.min(), xs.max() + 1, ys.min(), ys.max() + 1])
            assert bh * h >= 12 * h / 256 - 1e-9, "objects are at least ~12 px tall at 256"
            covered[int(round(y0)):int(round(y1)), int(round(x0)):int(round(x1))] = True
        # every object pixel of the class mask lies inside some box
        assert np.all(covered[s.mask >= 2])


def test_ivf_objects_at_several_scales_and_all_classes(scenes):
    heights = np.concatenate([s.boxes[:, 4] for s in scenes]) * 256
    classes = set(np.concatenate([s.boxes[:, 0] for s in scenes]).astype(int))
    assert classes == {0, 1, 2}
    assert heights.min() < 30 and heights.max() > 80


def test_night_fraction_is_respected():
    nights = [ivf_scenes.is_night(i, 0.5) for i in range(40)]
    assert sum(nights) == 20
    assert sum(ivf_scenes.is_night(i, 0.3) for i in range(100)) == 30
    assert not any(ivf_scenes.is_night(i, 0.0) for i in range(10))
    assert all(ivf_scenes.is_night(i, 1.0) for i in range(10))
    drawn = [ivf_scenes.make_scene((4, i), 64, night_fraction=0.25).meta["night"]
             for i in range(24)]
    assert 2 <= sum(drawn) <= 12


def _contrast(img: np.ndarray, inst: np.ndarray, objects: np.ndarray) -> float:
    """|mean inside the object - mean of the background band around its box|."""
    ys, xs = np.nonzero(inst)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pad = max(3, int(0.3 * max(y1 - y0, x1 - x0)))
    ring = np.zeros_like(inst)
    ring[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = True
    ring[y0:y1, x0:x1] = False
    ring &= ~objects
    return abs(img[inst].mean() - img[ring].mean())


def _people_contrast(scenes, night: bool) -> np.ndarray:
    out = []
    for s in scenes:
        if s.meta["night"] != night:
            continue
        ir, vis, objects = s.ir.astype(np.float64), _luma(s.vis), s.mask >= 2
        for k, box in enumerate(s.boxes):
            if box[0] == 0:
                inst = s.instances == k + 1
                out.append((_contrast(ir, inst, objects), _contrast(vis, inst, objects)))
    return np.array(out)


def test_night_people_are_hot_in_ir_and_nearly_invisible_in_vis(scenes):
    night = _people_contrast(scenes, night=True)
    day = _people_contrast(scenes, night=False)
    assert len(night) >= 5 and len(day) >= 5
    ir, vis = night[:, 0], night[:, 1]
    assert ir.mean() > 40 and vis.mean() < 12
    assert ir.mean() > 6 * vis.mean()
    assert np.all(ir > 3 * vis)
    assert day[:, 1].mean() > 2 * vis.mean(), "by day people have normal contrast"


def test_signs_are_textured_in_vis_only(scenes):
    ratios, ambient = [], []
    for s in scenes:
        ir, vis, objects = s.ir.astype(np.float64), _luma(s.vis), s.mask >= 2
        for k, box in enumerate(s.boxes):
            if box[0] != 2:
                continue
            inst = ndimage.binary_erosion(s.instances == k + 1)
            if inst.sum() < 6:
                continue

            def local_var(img):
                return (img - ndimage.uniform_filter(img, 3))[inst].var()

            ratios.append(local_var(vis) / max(local_var(ir), 1e-6))
            ambient.append(_contrast(ir, s.instances == k + 1, objects))
    assert len(ratios) >= 3
    assert np.mean(ratios) > 20 and min(ratios) > 3
    assert np.mean(ambient) < 6, "a sign has about the temperature of what is behind it"


def test_night_is_dark_and_noisy():
    day = ivf_scenes.make_scene(9, 128, night=False)
    night = ivf_scenes.make_scene(9, 128, night=True)
    assert _luma(night.vis).mean() < 0.6 * _luma(day.vis).mean()
    assert night.meta["night"] and not day.meta["night"]


# -- medical ----------------------------------------------------------------------------------

@pytest.mark.parametrize("partner,anatomy", [("ct", "head"), ("ct", "thorax"), ("ct", "phantom"),
                                             ("pet", "head"), ("pet", "abdomen"),
                                             ("spect", "phantom"), ("spect", "head")])
def test_medical_pairs_are_registered(partner, anatomy):
    p = medical.make_pair(partner, anatomy, 0)
    assert p.mri.shape == (256, 256) and p.mri.dtype == np.uint8
    body = ndimage.binary_fill_holes(p.mri > 8)
    if partner == "ct":
        assert p.other.shape == (256, 256)
        other = ndimage.binary_fill_holes(p.other > 8)
        iou = (body & other).sum() / (body | other).sum()
        assert iou > 0.9
    else:
        assert p.other.shape == (256, 256, 3)
        rgb = p.other.astype(np.int64)
        assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 5, "pseudo-colour, not RGB-but-grey"
        active = p.other.max(axis=2) > 0
        near_body = ndimage.binary_dilation(body, iterations=8)
        assert (active & near_body).sum() > 0.97 * active.sum()
        assert active.sum() > 0.3 * body.sum()


def test_ct_shows_bone_and_mri_shows_soft_tissue():
    p = medical.make_pair("ct", "head", 0)
    ct, mri = p.other.astype(np.float64), p.mri.astype(np.float64)
    brain = ndimage.binary_erosion(p.body, iterations=40)
    assert ct[ct > 0].max() > 200
    assert mri[brain].std() > 3 * ct[brain].std()


def test_abdomen_has_no_ct():
    with pytest.raises(ValueError):
        medical.make_pair("ct", "abdomen", 0)


# -- multi-focus and multi-exposure --------------------------------------------------------------

def _laplacian_energy(img: np.ndarray, where: np.ndarray) -> float:
    grey = _luma(img) if img.ndim == 3 else img.astype(np.float64)
    return float((ndimage.laplace(grey)[where] ** 2).mean())


@pytest.mark.parametrize("photo", photo_pairs.MFF_PHOTOS)
def test_mff_a_sharp_inside_b_sharp_outside(photo):
    p = photo_pairs.make_mff(photo, 0)
    assert p.a.shape == p.b.shape == p.gt.shape
    assert 256 <= max(p.gt.shape[:2]) <= 400
    assert np.array_equal(p.gt, textures.fit_photo(textures.photo(photo), 384))
    inside = ndimage.binary_erosion(p.focus > 0.99, iterations=3)
    outside = ndimage.binary_erosion(p.focus < 0.01, iterations=3)
    assert inside.mean() > 0.1 and outside.mean() > 0.1
    assert _laplacian_energy(p.a, inside) > 1.5 * _laplacian_energy(p.b, inside)
    assert _laplacian_energy(p.b, outside) > 1.5 * _laplacian_energy(p.a, outside)
    assert np.array_equal(p.a[inside], p.gt[inside])


@pytest.mark.parametrize("photo", photo_pairs.MEF_PHOTOS)
def test_mef_under_darker_than_gt_darker_than_over(photo):
    p = photo_pairs.make_mef(photo, 0)
    assert p.a.shape == p.b.shape == p.gt.shape
    assert p.a.mean() + 10 < p.gt.mean() < p.b.mean() - 10
    assert 1.5 <= p.meta["ev"] <= 2.5
