"""Dataset adapters on tiny trees built in tmp_path: layouts absent from ../shared/data, labels,
problems (missing partner, non-image file, empty folder), wrong roots, fingerprints, inspect."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.datasets import DatasetError, open_datasets, registry
from bench.datasets.inspect import fetch_info, format_inspection, inspect_datasets
from bench.datasets.labels import read_voc

H, W = 12, 16


def img(path: Path, seed: int = 0, colour: bool = False, shape=(H, W), value=None) -> Path:
    """Write a small image (png/jpg/bmp/tif by suffix) with cv2."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, shape + ((3,) if colour else ()), dtype=np.uint8)
    if value is not None:
        arr = np.asarray(value, dtype=np.uint8)
    assert cv2.imwrite(str(path), arr)
    return path


def text(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def voc(path: Path, objects: list[tuple[str, int, int, int, int]], size=(W, H)) -> Path:
    objs = "".join(f"<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin>"
                   f"<xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>" for n, a, b, c, d in objects)
    return text(path, f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height>"
                      f"<depth>3</depth></size>{objs}</annotation>")


def ivf_pair(root: Path, stem: str, ir="ir", vi="vi", ext=".png", seed=0):
    img(root / ir / f"{stem}{ext}", seed)
    img(root / vi / f"{stem}{ext}", seed + 1, colour=True)


def one(spec: str):
    out = open_datasets(spec)
    assert len(out) == 1, [d.name for d in out]
    return out[0]


def reasons(ds) -> str:
    return "\n".join(p.reason for p in ds.problems)


# ---------------------------------------------------------------------------------------------
# MSRS
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def msrs_tree(tmp_path):
    root = tmp_path / "MSRS"
    for split, stems in (("train", ["00001D", "00002N", "00003D"]), ("test", ["00004N", "00005D"])):
        for i, stem in enumerate(stems):
            ivf_pair(root / split, stem, seed=i)
            mask = np.zeros((H, W), np.uint8)
            mask[2:5, 3:9] = 2  # person
            mask[6:9, 1:4] = 8  # bump
            img(root / split / "Segmentation_labels" / f"{stem}.png", value=mask)
    labels = tmp_path / "MSRS-detection-label"
    text(labels / "classes.txt", "0 person\n1 bicycle\n2 car\n")
    for split, stem in (("train", "00001D"), ("test", "00004N")):
        text(labels / "infrared" / split / f"{stem}.txt", "0 0.5 0.5 0.2 0.4\n2 0.2 0.2 0.1 0.1\n")
        text(labels / "visible" / split / f"{stem}.txt", "2 0.2 0.2 0.1 0.1\n")
        text(labels / "fusion" / split / f"{stem}.txt", "0 0.51 0.5 0.2 0.4\n1 0.8 0.8 0.1 0.1\n")
    return root, labels


def test_msrs_split_layout_with_segmentation_and_labels(msrs_tree):
    root, labels = msrs_tree
    ds = one(f"msrs:{root}?labels={labels}")
    assert ds.name == "msrs" and ds.task == "ivf" and ds.modalities == ("ir", "vis")
    assert {s.split for s in ds.samples} == {"train", "test"}
    assert sum(s.split == "train" for s in ds.samples) == 3
    assert all(s.mask is not None for s in ds.samples) and not ds.problems
    assert len(ds.seg_classes) == 9 and ds.seg_classes[2] == "person"
    assert ds.palette[2] == (64, 64, 0) and ds.palette[8] == (192, 64, 0)
    mask = ds.read_mask(ds.samples[0])
    assert set(np.unique(mask).tolist()) == {0, 2, 8}
    assert ds.det_classes == ("person", "bicycle", "car")
    assert ds.default_label_set == "fusion"
    s = next(s for s in ds.samples if s.id == "00004N")
    assert set(s.boxes) == {"infrared", "visible", "fusion"}
    assert ds.read_boxes(s).shape == (2, 5)            # fusion by default
    union = ds.read_boxes(s, "union")                  # IR person ~ fusion person (IoU > .5)
    assert sorted(union[:, 0].tolist()) == [0, 1, 2]
    # samples without label files simply have no boxes
    assert next(x for x in ds.samples if x.id == "00002N").boxes == {}
    test_only = one(f"msrs:{root}?labels={labels}&split=test&label_set=union")
    assert [x.id for x in test_only.samples] == ["00004N", "00005D"]
    assert test_only.default_label_set == "union"


def test_msrs_options_and_flat_layout(msrs_tree, tmp_path):
    root, labels = msrs_tree
    with pytest.raises(DatasetError, match="label_set"):
        open_datasets(f"msrs:{root}?label_set=thermal&labels={labels}")
    with pytest.raises(DatasetError, match="as_split"):
        open_datasets(f"msrs:{root}?as_split=test")
    with pytest.raises(DatasetError, match="no detection labels"):
        open_datasets(f"msrs:{root}?label_set=infrared")
    # flat ir/vi with labels found inside the root, flat per label set
    flat = tmp_path / "flat"
    for stem in ("00004N", "00008N"):
        ivf_pair(flat, stem)
        text(flat / "detection_labels_yolo" / "infrared" / f"{stem}.txt", "0 0.5 0.5 0.1 0.1\n")
    ds = one(f"msrs:{flat}?as_split=test")
    assert {s.split for s in ds.samples} == {"test"}
    assert ds.default_label_set == "infrared"  # fusion absent: first present set
    assert not ds.seg_classes
    assert one(f"msrs:{flat}").samples[0].split == "all"


def test_msrs_official_detection_split(tmp_path):
    root = tmp_path / "MSRS"
    ivf_pair(root / "train", "00001D")
    for stem in ("1", "2"):
        ivf_pair(root / "detection", stem)
        text(root / "detection" / "labels" / f"{stem}.txt", "2 0.5 0.5 0.1 0.1\n")
    ds = one(f"msrs:{root}?label_set=official")
    assert [s.split for s in ds.samples] == ["detection", "detection"]
    assert ds.default_label_set == "official"
    assert ds.read_boxes(ds.samples[0])[0, 0] == 2


# ---------------------------------------------------------------------------------------------
# M3FD, LLVIP: VOC labels
# ---------------------------------------------------------------------------------------------

def test_m3fd_voc_to_yolo(tmp_path):
    root = tmp_path / "M3FD"
    for stem in ("00000", "00001"):
        ivf_pair(root, stem, ir="Ir", vi="Vis")
    voc(root / "Annotation" / "00000.xml", [("Lamp", 11, 21, 50, 60)], size=(100, 80))
    voc(root / "Annotation" / "00001.xml", [("People", 1, 1, 4, 4), ("truck", 2, 2, 8, 8)])
    ds = one(f"m3fd:{root}")
    assert ds.det_classes == ("People", "Car", "Bus", "Lamp", "Motorcycle", "Truck")
    assert ds.default_label_set == "annotation" and ds.splits == ["all"]
    boxes = ds.read_boxes(ds.samples[0])
    # VOC 1-based inclusive corners (11,21)-(50,60) in 100x80 -> x1=10, y1=20
    np.testing.assert_allclose(boxes, [[3, 0.3, 0.5, 0.4, 0.5]])
    assert ds.read_boxes(ds.samples[1])[:, 0].tolist() == [0, 5]
    np.testing.assert_allclose(read_voc(root / "Annotation" / "00000.xml", ds.det_classes), boxes)


def test_m3fd_tardal_layout_yolo(tmp_path):
    root = tmp_path / "tardal"
    ivf_pair(root, "00471")
    text(root / "labels" / "00471.txt", "1 0.5 0.5 0.2 0.2\n")
    text(root / "meta" / "pred.txt", "00471.png\n")
    ds = one(f"m3fd:{root}")
    assert ds.read_boxes(ds.samples[0])[0, 0] == 1


def test_llvip_original_layout(tmp_path):
    root = tmp_path / "LLVIP"
    for split, stems in (("train", ["010001", "010002"]), ("test", ["190001"])):
        for stem in stems:
            img(root / "infrared" / split / f"{stem}.jpg", 1)
            img(root / "visible" / split / f"{stem}.jpg", 2, colour=True)
    voc(root / "Annotations" / "190001.xml", [("person", 1, 1, 8, 12)])
    voc(root / "Annotations" / "010002.xml", [("person", 3, 3, 6, 6), ("person", 9, 1, 16, 12)])
    ds = one(f"llvip:{root}")
    assert [(s.id, s.split) for s in ds.samples] == [("010001", "train"), ("010002", "train"),
                                                     ("190001", "test")]
    assert ds.det_classes == ("person",)
    assert [len(s.boxes) for s in ds.samples] == [0, 1, 1]
    assert ds.read_boxes(ds.samples[1]).shape == (2, 5)
    assert [s.id for s in one(f"llvip:{root}?split=test").samples] == ["190001"]


# ---------------------------------------------------------------------------------------------
# FMB, DRMF: masks
# ---------------------------------------------------------------------------------------------

def test_fmb_layout_and_palette(tmp_path):
    root = tmp_path / "FMB"
    for split in ("train", "test"):
        ivf_pair(root / split, "0001", ir="Infrared", vi="Visible")
        img(root / split / "Label" / "0001.png", value=np.full((H, W), 14, np.uint8))
        img(root / split / "color" / "0001.png", colour=True)
    ds = one(f"fmb:{root}")
    assert len(ds.seg_classes) == 15 and ds.seg_classes[-1] == "Pole"
    assert len(ds.palette) == 15 and len(set(ds.palette)) == 15
    # the same stem in both splits: ids become '<split>/<stem>' to stay unique
    assert [(s.id, s.split) for s in ds.samples] == [("train/0001", "train"), ("test/0001", "test")]
    assert np.all(ds.read_mask(ds.samples[0]) == 14)
    assert one(f"fmb:{root}").palette == ds.palette  # deterministic


def test_drmf_mask_lut(tmp_path):
    root = tmp_path / "DRMF"
    mask = np.zeros((H, W), np.uint8)
    mask[3:6, 4:8] = 255
    ivf_pair(root / "train", "00001D")
    img(root / "train" / "mask" / "00001D.png", value=mask)
    ivf_pair(root / "train", "00002D")
    img(root / "train" / "mask" / "00002D.png", value=np.full((H, W), 7, np.uint8))
    ivf_pair(root / "val", "00024N")
    img(root / "fused" / "DRMF" / "00024N.png", colour=True)
    ds = one(f"drmf:{root}")
    assert ds.mask_lut == {0: 0, 255: 1} and ds.seg_classes == ("background", "person")
    out = ds.read_mask(ds.samples[0])
    assert out.sum() == 12 and set(np.unique(out).tolist()) == {0, 1}
    with pytest.raises(DatasetError, match="not in the class table"):
        ds.read_mask(ds.samples[1])
    assert ds.precomputed == {"DRMF": root / "fused" / "DRMF"}
    assert [s.split for s in ds.samples] == ["train", "train", "val"]


# ---------------------------------------------------------------------------------------------
# TNO, RoadScene, VIFB
# ---------------------------------------------------------------------------------------------

def test_tno_subset_and_precomputed(tmp_path):
    root = tmp_path / "TNO"
    for i in range(1, 43):
        ivf_pair(root, f"{i:02d}", seed=i)
    img(root / "fused" / "SeAFusion" / "01.png")
    ds = one(f"tno:{root}?subset=tno25")
    assert ds.name == "tno25" and len(ds.samples) == 25 and "05" not in {s.id for s in ds.samples}
    assert ds.precomputed == {"SeAFusion": root / "fused" / "SeAFusion"}
    assert len(one(f"tno:{root}").samples) == 42
    (root / "ir" / "13.png").unlink()
    ds = one(f"tno:{root}?subset=tno25")
    assert len(ds.samples) == 24 and "missing partner" in reasons(ds)
    cdd = tmp_path / "cdd"
    for i in range(1, 26):
        ivf_pair(cdd, f"{i:02d}")
    with pytest.raises(DatasetError, match="42-pair numbering"):
        open_datasets(f"tno:{cdd}?subset=tno25")
    with pytest.raises(DatasetError, match="tno25"):
        open_datasets(f"tno:{cdd}?subset=tno21")


def test_roadscene_original_thumbs_db_ignored(tmp_path):
    root = tmp_path / "RoadScene"
    for stem in ("FLIR_00001", "FLIR_00002"):
        img(root / "cropinfrared" / f"{stem}.jpg")
        img(root / "crop_HR_visible" / f"{stem}.jpg", colour=True)
        img(root / "crop_LR_visible" / f"{stem}.jpg", colour=True, shape=(6, 8))
        img(root / "infrared" / f"{stem}.jpg", shape=(20, 20))
    (root / "crop_HR_visible" / "Thumbs.db").write_bytes(b"\0\1junk")
    ds = one(f"roadscene:{root}")
    assert len(ds.samples) == 2 and not ds.problems
    assert ds.samples[0].sources[1].parent.name == "crop_HR_visible"
    assert one(f"roadscene:{root}?vis=lr").samples[0].sources[1].parent.name == "crop_LR_visible"


def test_vifb_original_flat_fused_images(tmp_path):
    root = tmp_path / "VIFB"
    for scene in ("man", "manCall", "walking2"):
        ivf_pair(root / "input", scene, ir="IR", vi="VI", ext=".jpg")
        for method in ("ADF", "HMSD_GF"):
            img(root / "output" / "fused_images" / f"{scene}_{method}.jpg", colour=True)
    ds = one(f"vifb:{root}")
    assert set(ds.precomputed) == {"ADF", "HMSD_GF"}
    assert ds.options["precomputed_format"]["HMSD_GF"] == "{id}_HMSD_GF"
    rep = inspect_datasets(f"vifb:{root}")["datasets"][0]
    assert rep["precomputed"]["ADF"]["samples"] == 3


# ---------------------------------------------------------------------------------------------
# Medical, MFF, MEF
# ---------------------------------------------------------------------------------------------

def test_harvard_multi_subset_root(tmp_path):
    root = tmp_path / "test_img"
    for sub, partner, n in (("MRI_CT", "CT", 2), ("MRI_SPECT", "SPECT", 3)):
        for i in range(n):
            img(root / sub / "MRI" / f"{i + 11}.png")
            img(root / sub / partner / f"{i + 11}.png", colour=partner != "CT")
    out = open_datasets(f"harvard:{root}")
    assert [(d.name, len(d.samples), d.modalities) for d in out] == [
        ("harvard/MRI_CT", 2, ("mri", "ct")), ("harvard/MRI_SPECT", 3, ("mri", "spect"))]
    assert [d.name for d in open_datasets(f"harvard:{root}?subset=spect")] == ["harvard/MRI_SPECT"]
    with pytest.raises(DatasetError, match="MRI_CT, MRI_SPECT"):
        open_datasets(f"harvard:{root}?subset=PET")
    with pytest.raises(DatasetError, match="CT, PET, SPECT"):
        open_datasets(f"harvard:{root}?subset=XRAY")


def test_mfi_whu_original_with_gt(tmp_path):
    root = tmp_path / "MFI-WHU"
    for i in (1, 2, 10):
        img(root / "source_1" / f"{i}.jpg", colour=True)
        img(root / "source_2" / f"{i}.jpg", colour=True)
        if i != 10:
            img(root / "full_clear" / f"{i}.jpg", colour=True)
    ds = one(f"mfi-whu:{root}")
    assert ds.modalities == ("a", "b") and len(ds.samples) == 3
    assert [s.gt is not None for s in ds.samples] == [True, False, True]  # ids 1, 10, 2


def test_mfif_flat_fused_and_lytro_ifcnn(tmp_path):
    root = tmp_path / "MFIF"
    for pair in ("lytro_01", "lytro_02", "mffw_01", "MFI-WHU_01"):
        for letter in "AB":
            img(root / "input" / pair / f"{pair}_{letter}.jpg", colour=True)
        img(root / "fused_images" / f"{pair}_MFF-GAN.jpg", colour=True)
    img(root / "fused" / "CBF" / "lytro_01.jpg", colour=True)
    out = {d.name: d for d in open_datasets(f"mfif:{root}")}
    assert {n: len(d.samples) for n, d in out.items()} == {"lytro": 2, "mffw": 1, "mfi-whu": 1}
    assert set(out["lytro"].precomputed) == {"CBF", "MFF-GAN"}
    assert set(out["mffw"].precomputed) == {"MFF-GAN"}
    assert out["lytro"].options["precomputed_format"] == {"MFF-GAN": "{id}_MFF-GAN"}
    # IFCNN copy: 20-pair style files flat + 'Triple Series' stacks
    ifcnn = tmp_path / "CMFDataset"
    for n in (1, 2):
        for letter in "AB":
            img(ifcnn / f"lytro-{n:02d}-{letter}.jpg", colour=True)
        for letter in "ABC":
            img(ifcnn / "Triple Series" / f"lytro-{n:02d}-{letter}.jpg", colour=True)
    img(ifcnn / "lytro-03-A.jpg", colour=True)
    text(ifcnn / "Readme.txt", "cite Nejati")
    pairs, triple = open_datasets(f"lytro:{ifcnn}")
    assert (pairs.name, len(pairs.samples)) == ("lytro", 2)
    assert (triple.name, triple.modalities, len(triple.samples)) == ("lytro/triple", ("a", "b", "c"), 2)
    assert "missing partner" in reasons(pairs) and "Readme" not in reasons(pairs)


def test_mefb_suffix_case_mixed_ext_and_extras(tmp_path):
    root = tmp_path / "MEFB"
    img(root / "input" / "Sky" / "sKY_a.png", colour=True)
    img(root / "input" / "Sky" / "Sky_B.png", colour=True)
    img(root / "input" / "Arch" / "Arch_A.jpg", colour=True)
    img(root / "input" / "Arch" / "Arch_B.tif", colour=True)
    img(root / "input" / "Arch" / "Arch-original-name.jpg", colour=True)  # repository copy
    text(root / "input" / "Arch" / "ev.txt", "-2 2")
    img(root / "input" / "Lonely" / "Lonely_A.png", colour=True)
    ds = one(f"mefb:{root}")
    assert [s.id for s in ds.samples] == ["Arch", "Sky"]
    sky = ds.samples[1]
    assert sky.modalities == ("under", "over") and sky.sources[0].name == "sKY_a.png"
    assert ds.samples[0].sources[1].suffix == ".tif"
    assert len(ds.problems) == 1 and "missing partner" in ds.problems[0].reason


def test_sice_part_layout(tmp_path):
    root = tmp_path / "Dataset_Part1"
    for seq, n in (("1", 3), ("2", 11), ("3", 1)):
        for k in range(1, n + 1):
            img(root / seq / f"{k}.JPG", k, colour=True)
    img(root / "Label" / "1.JPG", colour=True)
    img(root / "Label" / "2.JPG", colour=True)
    ds = one(f"sice:{root}")
    assert [s.id for s in ds.samples] == ["1", "2"]
    s2 = ds.samples[1]
    assert [p.name for p in s2.sources] == ["1.JPG", "11.JPG"]  # natural order: 11 is last
    assert s2.modalities == ("under", "over") and s2.gt == root / "Label" / "2.JPG"
    assert "one frame" in reasons(ds)
    full = one(f"sice:{root}?pick=all")
    assert full.samples[1].modalities[-1] == "ev10" and len(full.samples[1].sources) == 11
    assert full.modalities == tuple(f"ev{i}" for i in range(11))
    # both parts under one root: ids prefixed by the part folder
    both = tmp_path / "SICE"
    (both).mkdir()
    root.rename(both / "Dataset_Part1")
    img(both / "Dataset_Part2" / "1" / "1.JPG")
    img(both / "Dataset_Part2" / "1" / "2.JPG")
    ids = [s.id for s in one(f"sice:{both}").samples]
    assert ids == ["Dataset_Part1/1", "Dataset_Part1/2", "Dataset_Part2/1"]
    with pytest.raises(DatasetError, match="pick"):
        open_datasets(f"sice:{both}?pick=middle")


# ---------------------------------------------------------------------------------------------
# pairs / stacks
# ---------------------------------------------------------------------------------------------

def test_pairs_and_stacks_generic(tmp_path):
    root = tmp_path / "iv"
    for name in ("Camp", "Dune"):
        img(root / f"{name}_IR.png")
        img(root / f"{name}_Vis.png")
    img(root / "Stray.png")
    img(root / "fused_IFCNN" / "IFCNN-MAX-IV-Camp.png")
    ds = one(f"pairs:{root}?suffixes=_IR,_Vis&task=ivf")
    assert [s.id for s in ds.samples] == ["Camp", "Dune"] and ds.modalities == ("ir", "vis")
    assert "matches none of the suffixes" in reasons(ds)
    assert ds.options["precomputed_format"] == {"IFCNN-MAX": "IFCNN-MAX-IV-{id}"}
    with pytest.raises(DatasetError, match="task"):
        open_datasets(f"pairs:{root}?suffixes=_IR,_Vis")
    with pytest.raises(DatasetError, match="ivf, medical, mff or mef|ivf, medical, mff, mef"):
        open_datasets(f"pairs:{root}?suffixes=_IR,_Vis&task=video")
    with pytest.raises(DatasetError, match="modalities"):
        open_datasets(f"pairs:{root}?suffixes=_IR,_Vis&task=ivf&modalities=a,b,c")
    two = tmp_path / "two"
    for stem in ("1", "2"):
        img(two / "ue" / f"{stem}.png")
        img(two / "oe" / f"{stem}.png")
    ds = one(f"pairs:{two / 'ue'},{two / 'oe'}?task=mef")
    assert ds.modalities == ("under", "over") and ds.root == two.resolve()
    ds = one(f"pairs:{two / 'ue'},{two / 'oe'}?task=medical&modalities=mri,pet")
    assert ds.samples[0].modalities == ("mri", "pet")
    stacks = tmp_path / "ME"
    for seq, n in (("chair", 3), ("door", 2), ("solo", 1)):
        for k in range(1, n + 1):
            img(stacks / seq / f"{seq}{k}.jpg", colour=True)
    ds = one(f"stacks:{stacks}?task=mef")
    assert [(s.id, s.modalities) for s in ds.samples] == [("chair", ("ev0", "ev1", "ev2")),
                                                          ("door", ("under", "over"))]
    assert "solo" in reasons(ds)
    with pytest.raises(DatasetError, match="mef, mff"):
        open_datasets(f"stacks:{stacks}?task=ivf")


# ---------------------------------------------------------------------------------------------
# Problems, wrong roots, fingerprints
# ---------------------------------------------------------------------------------------------

def test_missing_partner_non_image_and_side_files(tmp_path):
    root = tmp_path / "tno"
    ivf_pair(root, "01")
    ivf_pair(root, "02")
    (root / "vi" / "02.png").unlink()
    (root / "ir" / "03.gif").write_bytes(b"GIF89a")
    text(root / "ir" / "list.txt", "01\n")
    text(root / "vi" / "Readme.txt", "known companion file: not reported")
    ds = one(f"tno:{root}")
    assert [s.id for s in ds.samples] == ["01"]
    assert len(ds.problems) == 3
    assert any("not an image" in p.reason and p.path.endswith("list.txt") for p in ds.problems)
    assert any("missing partner" in p.reason and p.sample == "02" for p in ds.problems)
    assert any("not an image" in p.reason and p.path.endswith("03.gif") for p in ds.problems)


def test_empty_folder_gives_empty_dataset_with_problem(tmp_path):
    root = tmp_path / "empty"
    (root / "ir").mkdir(parents=True)
    (root / "vi").mkdir()
    ds = one(f"roadscene:{root}")
    assert ds.samples == [] and len(ds.problems) == 1
    assert "no sample pairs found" in ds.problems[0].reason
    (root / "input").mkdir()
    ds = one(f"mefb:{root}")
    assert ds.samples == [] and "no sample pairs" in reasons(ds)


@pytest.mark.parametrize("name, expected", [
    ("tno", "ir/"), ("msrs", "{train,test}"), ("m3fd", "Annotation"), ("llvip", "infrared"),
    ("roadscene", "cropinfrared"), ("fmb", "Infrared"), ("vifb", "input/IR"),
    ("drmf", "mask"), ("harvard", "MRI_CT"), ("drmf-mif", "MRI"), ("lytro", "lytro-NN"),
    ("mffw", "input/"), ("mfi-whu", "source_1"), ("mfif", "input/"), ("mefb", "_A"),
    ("sice", "Label"), ("stacks", "sub-folder")])
def test_wrong_root_names_expected_layout(tmp_path, name, expected):
    root = tmp_path / "wrong"
    img(root / "x.png")
    text(root / "docs" / "notes.txt", "not a dataset")
    spec = f"{name}:{root}" + ("?task=mef" if name == "stacks" else "")
    with pytest.raises(DatasetError) as err:
        open_datasets(spec)
    assert "Expected" in str(err.value) and expected in str(err.value)


def test_fingerprint_stable_and_content_sensitive(tmp_path):
    root = tmp_path / "tno"
    for i in range(3):
        ivf_pair(root, f"{i:02d}", seed=i)
    a, b = one(f"tno:{root}").fingerprint(), one(f"tno:{root}").fingerprint()
    assert a == b and len(a) == 32
    target = root / "vi" / "01.png"
    st = target.stat()
    img(target, seed=99, colour=True, shape=(H, W + 1))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    assert one(f"tno:{root}").fingerprint() != a
    assert one(f"tno:{root}?split=all").fingerprint() != a


# ---------------------------------------------------------------------------------------------
# inspect / fetch-info
# ---------------------------------------------------------------------------------------------

def test_inspect_reports_mismatch_unreadable_modes(tmp_path):
    root = tmp_path / "tno"
    ivf_pair(root, "01")
    img(root / "ir" / "02.png", shape=(H, W))
    img(root / "vi" / "02.png", colour=True, shape=(H + 2, W))          # size mismatch
    img(root / "ir" / "03.png", value=np.dstack([np.full((H, W), 9, np.uint8)] * 3))  # RGB-grey
    bad = img(root / "vi" / "03.png", colour=True)
    bad.write_bytes(bad.read_bytes()[:40])                                # truncated
    cv2.imwrite(str(root / "ir" / "04.png"), np.full((H, W), 4000, np.uint16))  # 16-bit
    img(root / "vi" / "04.png", colour=True)
    result = inspect_datasets(f"tno:{root}")
    d = result["datasets"][0]
    assert d["samples"] == 4 and d["splits"] == {"all": 4}
    assert [m["sample"] for m in d["size_mismatches"]] == ["02"]
    assert len(d["unreadable"]) == 1 and d["unreadable"][0]["sample"] == "03"
    assert d["modes"]["ir"] == {"L": 2, "RGB-grey": 1, "L 16-bit": 1}
    assert [W, H, 6] in d["sizes"]
    text_report = format_inspection(result)
    assert "size mismatches within a sample (1)" in text_report and "02:" in text_report
    assert "unreadable files (1)" in text_report and d["fingerprint"] in text_report
    headers = inspect_datasets(f"tno:{root}", decode=False)["datasets"][0]
    assert headers["decoded"] is False and [m["sample"] for m in headers["size_mismatches"]] == ["02"]


def test_inspect_label_coverage(msrs_tree):
    root, labels = msrs_tree
    d = inspect_datasets(f"msrs:{root}?labels={labels}")["datasets"][0]
    assert set(d["boxes"]) == {"infrared", "visible", "fusion", "union"}
    assert d["boxes"]["infrared"] == {"samples": 2, "boxes": 4, "classes": {"person": 2, "car": 2},
                                      "errors": []}
    assert d["boxes"]["union"]["boxes"] == 6  # person merged; car, bicycle; per sample x2
    assert d["masks"] == {"samples": 5, "errors": []}


def test_fetch_info_for_every_adapter():
    for entry in registry():
        if entry.get("layout") is None:  # embedded datasets written by others
            continue
        info = fetch_info(entry.name)
        assert entry.name in info and "source:" in info and "layout:" in info
        assert "split:" in info  # common options listed too
    assert "labels" in fetch_info("msrs") and "github.com/Linfeng-Tang/MSRS" in fetch_info("msrs")
    with pytest.raises(DatasetError, match="unknown dataset"):
        fetch_info("no-such-dataset")
