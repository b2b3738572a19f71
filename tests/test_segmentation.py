"""Downstream segmentation: confusion-matrix metrics, the mmcv shim, the mmseg backend, the
fusion ranking check on synthetic night scenes, and the DRMF person masks."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from bench.colour import merge_fused, split_sources
from bench.datasets import open_datasets
from bench.imageio import encode_png, quantise, read_image
from tasks import _seg_metrics as sm
from tasks._splits import read_split
from tasks.segmentation import MSRS_PAPER6, Segment, fused_path

HAS_MMSEG = importlib.util.find_spec("mmseg") is not None
HAS_YOLO = importlib.util.find_spec("ultralytics") is not None


# -- metrics -------------------------------------------------------------------------------------

def test_confusion_matrix_counts_and_ignores():
    target = np.array([[0, 0, 1], [1, 2, 255]])
    pred = np.array([[0, 1, 1], [1, 2, 0]])
    conf = sm.confusion_matrix(target, pred, 3)
    assert conf.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]  # the 255 pixel is not counted
    assert conf.sum() == 5
    with pytest.raises(ValueError):
        sm.confusion_matrix(target, np.full_like(pred, 3), 3)


def test_scores_iou_accuracy_and_absent_classes():
    # class 0: tp 1, fp 0, fn 1 -> IoU 1/2; class 1: tp 2, fp 1 -> 2/3; class 2: tp 1 -> 1;
    # class 3: never in gt nor prediction -> NaN, left out of mIoU
    conf = np.array([[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
    sc = sm.scores(conf, ("bg", "a", "b", "c"))
    assert sc["iou"]["bg"] == pytest.approx(0.5)
    assert sc["iou"]["a"] == pytest.approx(2 / 3)
    assert sc["iou"]["b"] == pytest.approx(1.0)
    assert math.isnan(sc["iou"]["c"])
    assert sc["mIoU"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)
    assert sc["aAcc"] == pytest.approx(4 / 5)
    assert sc["mAcc"] == pytest.approx((0.5 + 1 + 1) / 3)
    # a class in the ground truth but never predicted counts with IoU 0
    conf2 = np.array([[3, 0], [2, 0]])
    assert sm.scores(conf2, ("bg", "x"))["mIoU"] == pytest.approx((3 / 5 + 0) / 2)


def test_dataset_level_matrix_differs_from_mean_of_images():
    # image 1: a tiny object missed; image 2: a large object found -> pooled IoU is not the
    # mean of the per-image IoUs
    t1, p1 = np.array([1, 0, 0, 0]), np.array([0, 0, 0, 0])
    t2, p2 = np.array([1, 1, 1, 0]), np.array([1, 1, 1, 0])
    pooled = sm.confusion_matrix(t1, p1, 2) + sm.confusion_matrix(t2, p2, 2)
    assert sm.per_class_iou(pooled)[1] == pytest.approx(3 / 4)


def test_msrs_paper6_subset_is_the_mean_of_six_columns():
    classes = ("unlabelled", "car", "person", "bike", "curve", "car_stop", "guardrail",
               "color_cone", "bump")
    rng = np.random.default_rng(0)
    conf = rng.integers(0, 50, (9, 9)) + np.diag(rng.integers(100, 500, 9))
    full = sm.scores(conf, classes)
    six = sm.subset_scores(conf, classes, MSRS_PAPER6)
    assert list(six["iou"]) == ["background", "car", "person", "bike", "curve", "barrier"]
    assert six["iou"]["barrier"] == full["iou"]["guardrail"]
    assert six["iou"]["background"] == full["iou"]["unlabelled"]
    assert six["mIoU"] == pytest.approx(np.mean(list(six["iou"].values())))
    assert six["mIoU"] != pytest.approx(full["mIoU"])


# -- mmcv shim -------------------------------------------------------------------------------------

@pytest.mark.skipif(not HAS_MMSEG, reason="mmsegmentation not installed")
def test_mmcv_shim_provides_point_sample_and_clear_errors():
    import torch

    from tasks._mmcv_shim import MMCVOpUnavailable, install
    install()
    import mmcv.ops
    import mmseg.models  # noqa: F401  (fails without the shim on mmcv-lite)
    feats = torch.arange(16.0).reshape(1, 1, 4, 4)
    centre = torch.tensor([[[0.5, 0.5]]])  # normalised (x, y) of the map's centre
    value = mmcv.ops.point_sample(feats, centre, align_corners=False)
    assert value.shape == (1, 1, 1)
    assert float(value) == pytest.approx(feats.mean().item())  # bilinear at the exact centre
    with pytest.raises(MMCVOpUnavailable, match="sigmoid_focal_loss"):
        mmcv.ops.sigmoid_focal_loss(torch.zeros(1), torch.zeros(1))


# -- helpers: fused folders for "methods" ----------------------------------------------------------

def _write(path: Path, data: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(data))


def _fused_folders(ds, root: Path) -> Path:
    """runs-like fused/<dataset>/<method>/ folders: vis-only, ir-only and the registered `max`."""
    from methods.base import resolve
    fused = root / "fused"
    mx = resolve("max")
    for s in ds.samples:
        ir, vis = (read_image(p) for p in s.sources)
        _write(fused / ds.name / "ir-only" / f"{s.id}.png", ir.data)
        _write(fused / ds.name / "vis-only" / f"{s.id}.png", vis.data)
        split = split_sources([ir.to_float01(), vis.to_float01()])
        y, _ = mx.fuse_many([list(split.ys)], ds.task)[0]
        _write(fused / ds.name / "max" / f"{s.id}.png", quantise(merge_fused(y, split), 8))
    return fused


def _values(records) -> dict[str, float]:
    bad = [r.reason for r in records if not r.ok]
    assert not bad, bad
    return {r.metric: r.value for r in records}


# -- mmseg backend ---------------------------------------------------------------------------------

@pytest.mark.skipif(not HAS_MMSEG, reason="mmsegmentation not installed")
def test_mmseg_deeplabv3plus_trains_evaluates_and_caches(tmp_path):
    ds = open_datasets("synthetic?n=12&size=64&seed=3")[0]
    fused = _fused_folders(ds, tmp_path)
    task = Segment(backend="mmseg", model="deeplabv3plus-tiny", protocol="fixed", source="union",
                   iters=30, batch=4, imgsz=64)
    recs = task.run(ds, "max", fused, "run-test")
    values = _values(recs)
    assert {r.profile for r in recs} == {"deeplabv3plus-tiny-fixed-union-30it"}
    assert {r.sample for r in recs} == {"*"} and {r.split for r in recs} == {"val"}
    ious = [v for k, v in values.items() if k.startswith("IoU/")]
    assert values["mIoU"] == pytest.approx(np.mean(ious))
    assert all(0.0 <= v <= 100.0 for v in values.values())
    # 30 steps already separate the large classes: background and road beat chance (IoU of a
    # constant prediction of the majority class is its pixel share, far below 50 for road)
    assert values["IoU/road"] > 30.0
    detail = json.loads((tmp_path / "segment" / "synthetic" / "max" /
                         "deeplabv3plus-tiny-fixed-union-30it.json").read_text())
    conf = np.array(detail["confusion"])
    assert conf.sum() == 64 * 64 * detail["n_val"]
    assert read_split(tmp_path / "segment" / "synthetic" / "split.json")["sha256"] == \
        detail["split_sha256"]
    # the fixed segmenter is cached: a second method reuses it (same key, no training)
    again = task.run(ds, "vis-only", fused, "run-test")
    detail2 = json.loads((tmp_path / "segment" / "synthetic" / "vis-only" /
                          "deeplabv3plus-tiny-fixed-union-30it.json").read_text())
    assert detail2["model_cache_key"] == detail["model_cache_key"]
    assert _values(again)["mIoU"] != pytest.approx(values["mIoU"])  # other images, other score


def test_bad_parameters_and_missing_fused_images_are_failure_records(tmp_path):
    ds = open_datasets("synthetic?n=8&size=64")[0]
    recs = Segment(backend="nope").run(ds, "max", tmp_path / "fused", "r")
    assert len(recs) == 1 and not recs[0].ok and "backend must be one of" in recs[0].reason
    recs = Segment(colour="red").run(ds, "max", tmp_path / "fused", "r")
    assert "unknown parameter" in recs[0].reason
    recs = Segment(backend="mmseg", model="deeplabv3plus-tiny", iters=1).run(
        ds, "max", tmp_path / "fused", "r")
    assert not recs[0].ok and "no fused image" in recs[0].reason
    assert fused_path(tmp_path / "fused", ds.name, "max", ds.samples[0].id) is None


# -- ranking check (synthetic night scenes) --------------------------------------------------------

@pytest.mark.skipif(not HAS_YOLO, reason="ultralytics not installed")
def test_max_fusion_beats_single_sources_on_night_scenes(tmp_path):
    """By night the person is (nearly) invisible in the visible image and hot in IR; cars and
    signs are shown by their visible appearance (body, windows, lights, sign pattern) while IR
    shows at most a warm engine (bench.synth.ivf_scenes). A segmenter retrained on `max`-fused
    images must beat visible-only on person and IR-only on the visible-dependent classes."""
    ds = open_datasets("synthetic?n=48&size=128&night=1.0&seed=0")[0]
    assert all(s.meta["night"] for s in ds.samples)
    fused = _fused_folders(ds, tmp_path)
    task = Segment(backend="yolo-sem", protocol="retrain", iters=150, batch=8, imgsz=128)
    iou = {m: _values(task.run(ds, m, fused, "rank")) for m in ("vis-only", "ir-only", "max")}
    visible_dependent = ("IoU/car", "IoU/sign")

    def vis_dep(m):
        return float(np.mean([iou[m].get(c, 0.0) for c in visible_dependent]))

    assert iou["max"]["IoU/person"] >= iou["vis-only"]["IoU/person"] + 5.0, iou
    assert vis_dep("max") >= vis_dep("ir-only") + 10.0, iou
    assert iou["max"]["mIoU"] > max(iou["vis-only"]["mIoU"], iou["ir-only"]["mIoU"]), iou


# -- real data: DRMF person masks -------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not HAS_MMSEG, reason="mmsegmentation not installed")
def test_drmf_person_masks_two_class_check(shared_data, tmp_path):
    root = shared_data / "ivf" / "DRMF_IVIF_norm"
    if not root.is_dir():
        pytest.skip("ivf/DRMF_IVIF_norm not in the shared data")
    ds = open_datasets(f"drmf:{root}")[0]
    assert ds.seg_classes == ("background", "person")
    fused = _fused_folders(ds, tmp_path)
    task = Segment(backend="mmseg", model="deeplabv3plus-tiny", protocol="fixed",
                   source="infrared", iters=60, batch=2, imgsz=160)
    values = _values(task.run(ds, "max", fused, "drmf"))
    split = read_split(tmp_path / "segment" / ds.name / "split.json")
    assert len(split["val"]) == 2 and len(split["train"]) == 6  # only train/ has masks
    assert set(values) == {"IoU/background", "IoU/person", "mIoU"}
    assert values["IoU/background"] > 90.0  # people cover a few % of the pixels
