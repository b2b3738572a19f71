"""Dataset adapters on the real data in ../shared/data (counts from its MANIFEST.md).

Skipped with a reason when the folder is absent (set FUSEBENCH_DATA to point elsewhere).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from bench.datasets import open_datasets
from bench.datasets.inspect import format_inspection, inspect_datasets

pytestmark = pytest.mark.shared_data

TNO25 = ["01", "02", "03", "04", "06", "07", "08", "12", "13", "14", "17", "19", "20", "21", "26",
         "29", "30", "32", "35", "36", "38", "39", "40", "41", "42"]
VIFB_METHODS = {"ADF", "CBF", "CNN", "DLF", "FPDE", "GFCE", "GFF", "GTF", "HMSD_GF", "Hybrid_MSD",
                "IFCNN", "IFEVIP", "LatLRR", "LP_SR", "MGFF", "MSVD", "NSCT_SR", "ResNet", "RP_SR",
                "TIF", "VSMWLS", "SeAFusion", "SwinFusion", "U2Fusion", "YDTR"}
MFIF_METHODS = {"CBF", "DCT_Corr", "DSIFT", "FusionDN", "GCF", "GD", "GFDF", "GFF", "IFCNN", "IFM",
                "MFF-GAN", "MGFF", "MST_SR", "MWGF", "NSCT_SR", "QB", "RP_SR", "U2Fusion"}


def one(spec: str):
    out = open_datasets(spec)
    assert len(out) == 1, [d.name for d in out]
    return out[0]


def stems(folder):
    return {p.stem for p in folder.iterdir() if p.is_file()}


def test_tno_42_and_standard_25(shared_data):
    root = shared_data / "ivf" / "TNO_ImageFusion"
    ds = one(f"tno:{root}")
    assert (ds.name, len(ds.samples), ds.problems) == ("tno", 42, [])
    assert ds.samples[0].modalities == ("ir", "vis") and ds.splits == ["all"]
    assert set(ds.precomputed) == {"DenseFuse", "SeAFusion", "U2Fusion"}
    sub = one(f"tno:{root}?subset=tno25")
    assert [s.id for s in sub.samples] == TNO25 and not sub.problems
    for folder in sub.precomputed.values():
        assert stems(folder) == set(TNO25)


def test_vifb_21_pairs_25_methods(shared_data):
    ds = one(f"vifb:{shared_data / 'ivf' / 'VIFB'}")
    assert len(ds.samples) == 21 and not ds.problems
    assert set(ds.precomputed) == VIFB_METHODS
    ids = {s.id for s in ds.samples}
    assert all(stems(f) == ids for f in ds.precomputed.values())
    assert "precomputed_format" not in ds.options


def _yolo_counts(folder):
    counts = Counter()
    for f in folder.glob("*.txt"):
        for line in f.read_text().splitlines():
            if line.split():
                counts[int(line.split()[0])] += 1
    return counts


def test_msrs_subset_with_three_label_sets(shared_data):
    root = shared_data / "ivf" / "MSRS_test_subset"
    ds = one(f"msrs:{root}?as_split=test")
    assert len(ds.samples) == 40 and ds.splits == ["test"] and not ds.problems
    assert ds.det_classes == ("person", "bicycle", "car") and ds.default_label_set == "fusion"
    assert all(set(s.boxes) == {"infrared", "visible", "fusion"} for s in ds.samples)
    assert not ds.seg_classes and all(s.mask is None for s in ds.samples)
    for label_set in ("infrared", "visible", "fusion"):
        expected = _yolo_counts(root / "detection_labels_yolo" / label_set)
        got = Counter()
        for s in ds.samples:
            boxes = ds.read_boxes(s, label_set)
            assert np.all((boxes[:, 1:] >= 0) & (boxes[:, 1:] <= 1))
            got.update(boxes[:, 0].astype(int).tolist())
        assert got == expected, label_set
    union = sum(len(ds.read_boxes(s, "union")) for s in ds.samples)
    per_set = [sum(_yolo_counts(root / "detection_labels_yolo" / n).values())
               for n in ("infrared", "visible", "fusion")]
    assert max(per_set) < union < sum(per_set)
    assert one(f"msrs:{root}").splits == ["all"]


def test_llvip_fusiongan_layout_with_voc(shared_data):
    ds = one(f"llvip:{shared_data / 'ivf' / 'LLVIP_samples'}")
    assert len(ds.samples) == 44 and not ds.problems
    assert Counter(s.split for s in ds.samples) == {"train": 32, "test": 12}
    labelled = {s.id: len(ds.read_boxes(s)) for s in ds.samples if s.boxes}
    assert labelled == {"010005": 3, "190001": 2, "190005": 1}  # 6 boxes in 3 xml files
    s = next(s for s in ds.samples if s.id == "190005")
    # 190005.xml: person (19, 286)-(139, 484) in a 1280x1024 image
    np.testing.assert_allclose(ds.read_boxes(s)[0],
                               [0, (18 + 139) / 2 / 1280, (285 + 484) / 2 / 1024,
                                121 / 1280, 199 / 1024])


def test_roadscene_and_tardal(shared_data):
    ds = one(f"roadscene:{shared_data / 'ivf' / 'RoadScene_CDDFuse'}")
    assert len(ds.samples) == 50 and not ds.problems
    m3 = one(f"m3fd:{shared_data / 'ivf' / 'TarDAL_samples'}")
    assert sorted(s.sources[0].suffix for s in m3.samples) == [".bmp", ".jpg", ".png"]
    assert m3.default_label_set is None and not m3.problems


def test_drmf_masks_and_precomputed(shared_data):
    ds = one(f"drmf:{shared_data / 'ivf' / 'DRMF_IVIF_norm'}")
    assert Counter(s.split for s in ds.samples) == {"train": 8, "val": 6}
    train = [s for s in ds.samples if s.split == "train"]
    assert all(s.mask is not None for s in train)
    mask = ds.read_mask(train[0])
    assert set(np.unique(mask).tolist()) == {0, 1}
    assert set(ds.precomputed) == {"DRMF"}
    mif = one(f"drmf-mif:{shared_data / 'medical' / 'DRMF_MIF_norm'}")
    assert Counter(s.split for s in mif.samples) == {"train": 7, "val": 4}
    assert mif.modalities == ("mri", "ct") and set(mif.precomputed) == {"DRMF"}


def test_harvard_subsets(shared_data):
    med = shared_data / "medical"
    for folder, name, n, partner in (("MRI_CT_CDDFuse", "harvard/MRI_CT", 21, "ct"),
                                     ("MRI_PET_CDDFuse", "harvard/MRI_PET", 42, "pet"),
                                     ("MRI_SPECT_CDDFuse", "harvard/MRI_SPECT", 73, "spect")):
        ds = one(f"harvard:{med / folder}")
        assert (ds.name, len(ds.samples), ds.modalities) == (name, n, ("mri", partner))
        assert ds.task == "medical" and not ds.problems
    assert len(one(f"harvard:{med / 'U2Fusion_MRI_PET'}?subset=PET").samples) == 4


def test_mfif_three_datasets(shared_data):
    root = shared_data / "mff" / "MFIF_benchmark"
    out = {d.name: d for d in open_datasets(f"mfif:{root}")}
    assert {n: len(d.samples) for n, d in out.items()} == {"lytro": 20, "mffw": 13, "mfi-whu": 30}
    assert set(out["lytro"].precomputed) == MFIF_METHODS == set(out["mffw"].precomputed)
    assert out["mfi-whu"].precomputed == {}  # the staged subset has no MFI-WHU outputs
    assert all(not d.problems and d.modalities == ("a", "b") for d in out.values())
    assert out["lytro"].samples[0].id == "lytro_01"
    for name in ("lytro", "mffw", "mfi-whu"):
        assert len(one(f"{name}:{root}").samples) == len(out[name].samples)


def test_lytro_triple_series(shared_data):
    ds = one(f"lytro:{shared_data / 'mff' / 'IFCNN_CMF_TripleSeries'}")
    assert ds.name == "lytro/triple" and len(ds.samples) == 4 and not ds.problems
    assert all(len(s.sources) == 3 for s in ds.samples) and ds.modalities == ("a", "b", "c")


def test_mefb_41_pairs(shared_data):
    ds = one(f"mefb:{shared_data / 'mef' / 'MEFB'}")
    assert len(ds.samples) == 41 and not ds.problems  # ev.txt is a side file, not a problem
    sky = next(s for s in ds.samples if s.id == "Sky")
    assert [p.name for p in sky.sources] == ["sKY_a.png", "Sky_B.png"]
    assert {s.sources[0].suffix.lower() for s in ds.samples} == {".jpg", ".png", ".tif"}


def test_sice_pairs_and_u2fusion_mef(shared_data):
    ds = one(f"sice:{shared_data / 'mef' / 'SICE_MaskDiFuser'}")
    assert sorted(s.id for s in ds.samples) == ["126", "17"] and ds.modalities == ("under", "over")
    ue = shared_data / "mef" / "U2Fusion_MEF" / "dataset2"
    assert len(one(f"pairs:{ue / 'ue'},{ue / 'oe'}?task=mef").samples) == 3


def test_ifcnn_layouts_via_pairs_and_stacks(shared_data):
    iv = one(f"pairs:{shared_data / 'ivf' / 'IFCNN_IVDataset'}?suffixes=_IR,_Vis&task=ivf")
    assert len(iv.samples) == 14 and not iv.problems
    assert set(iv.precomputed) == {"IFCNN-MAX", "IFCNN-MEAN", "IFCNN-SUM"}
    fmt = iv.options["precomputed_format"]["IFCNN-MAX"]
    assert all((iv.precomputed["IFCNN-MAX"] / (fmt.format(id=s.id) + ".png")).is_file()
               for s in iv.samples)
    md = one(f"pairs:{shared_data / 'medical' / 'IFCNN_MDDataset'}?suffixes=_1,_2&task=medical")
    assert len(md.samples) == 8 and md.modalities == ("a", "b")
    assert sorted(p.sample for p in md.problems) == ["010_CT", "010_MR-Gad", "010_MR-Pd",
                                                     "010_MR-T2", "010_SPECT-Tc"]
    me = one(f"stacks:{shared_data / 'mef' / 'IFCNN_MEDataset'}?task=mef")
    assert {s.id: len(s.sources) for s in me.samples} == {"chair": 5, "door": 5, "garage": 6,
                                                          "house": 4, "igloo": 6, "window": 5}
    assert me.samples[0].modalities == ("ev0", "ev1", "ev2", "ev3", "ev4")
    assert set(me.precomputed) == {"IFCNN-MAX", "IFCNN-MEAN", "IFCNN-SUM"}
    near_far = shared_data / "mff" / "U2Fusion_MFF"
    assert len(one(f"pairs:{near_far / 'near'},{near_far / 'far'}?task=mff").samples) == 3


def test_inspect_tno_and_fingerprint(shared_data):
    spec = f"tno:{shared_data / 'ivf' / 'TNO_ImageFusion'}"
    result = inspect_datasets(spec)
    d = result["datasets"][0]
    assert d["samples"] == 42 and d["decoded"]
    assert len(d["sizes"]) == 17 and sum(n for _, _, n in d["sizes"]) == 84
    assert d["modes"] == {"ir": {"RGB-grey": 42}, "vis": {"RGB-grey": 42}}
    assert d["size_mismatches"] == [] and d["unreadable"] == [] and d["problems"] == []
    assert {k: v["samples"] for k, v in d["precomputed"].items()} == \
        {"DenseFuse": 25, "SeAFusion": 25, "U2Fusion": 25}
    assert d["fingerprint"] == one(spec).fingerprint()
    report = format_inspection(result)
    assert "17 distinct" in report and "RGB-grey x42" in report


def test_inspect_msrs_label_coverage(shared_data):
    d = inspect_datasets(f"msrs:{shared_data / 'ivf' / 'MSRS_test_subset'}")["datasets"][0]
    assert {k: v["samples"] for k, v in d["boxes"].items()} == \
        {"fusion": 40, "infrared": 40, "visible": 40, "union": 40}
    assert d["modes"] == {"ir": {"L": 40}, "vis": {"RGB": 40}}
    assert d["sizes"] == [[640, 480, 80]]
