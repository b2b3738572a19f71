"""Infrared-visible adapters, read in their as-distributed layouts.

Every sample has sources (ir, vis) in that order; ids are file stems. Splits come from the
layout (train / val / test) and are 'all' where a dataset has none. Folder names are matched
case-insensitively (`Ir/` = `ir/`). See each adapter's registration for its layouts and options
and `generic.py` for the conventions on problems, side files and precomputed outputs.

Label-set names used here:
- MSRS (Lele-3/MSRS-detection-label): 'infrared', 'visible', 'fusion' (one annotation per
  modality), 'union' (all three merged by IoU), 'official' (the 80-pair `detection/` folder).
- M3FD, LLVIP: 'annotation' (one annotation shared by both modalities).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..registry import DATASETS
from .base import DatasetError, Problem, Sample, find_dir, pair_by_stem
from .generic import choice, finish, layout_error, unique_ids, with_precomputed

IR_DIRS = ("ir", "infrared", "inf", "lwir")
VI_DIRS = ("vi", "vis", "visible", "rgb")
SPLITS = ("train", "val", "test")


def _ir_vi(folder: Path, ir_names=IR_DIRS, vi_names=VI_DIRS) -> tuple[Path, Path] | None:
    ir, vi = find_dir(folder, *ir_names), find_dir(folder, *vi_names)
    return (ir, vi) if ir and vi else None


def _pair(ir: Path, vi: Path, **kwargs) -> tuple[list[Sample], list[Problem]]:
    return pair_by_stem({"ir": ir, "vis": vi}, **kwargs)


# ---------------------------------------------------------------------------------------------
# MSRS
# ---------------------------------------------------------------------------------------------

MSRS_SEG_CLASSES = ("unlabelled", "car", "person", "bike", "curve", "car_stop", "guardrail",
                    "color_cone", "bump")
MSRS_PALETTE = ((0, 0, 0), (64, 0, 128), (64, 64, 0), (0, 128, 192), (0, 0, 192), (128, 128, 0),
                (64, 64, 128), (192, 128, 128), (192, 64, 0))
MSRS_DET_CLASSES = ("person", "bicycle", "car")
MSRS_LABEL_SETS = ("infrared", "visible", "fusion")
MSRS_LABEL_DIRS = ("detection_labels_yolo", "MSRS-detection-label", "detection_labels")
MSRS_LAYOUT = ("ROOT/{train,test}/{ir,vi}/ (+ Segmentation_labels/), names like 00001D.png; or a "
               "flat ROOT/{ir,vi}/ (one split, see as_split); optional detection labels "
               "ROOT/detection_labels_yolo/{infrared,visible,fusion}/[<split>/]<name>.txt or "
               "labels=DIR; the official ROOT/detection/{ir,vi,labels}/ with label_set=official")


def read_class_names(path: Path) -> tuple[str, ...]:
    """classes.txt as 'name' or 'id name' per line -> names in id order."""
    names = {}
    for line in (ln.strip() for ln in path.read_text().splitlines()):
        if not line:
            continue
        head, _, rest = line.partition(" ")
        if rest and head.isdigit():
            names[int(head)] = rest.strip()
        else:
            names[len(names)] = line
    return tuple(names[k] for k in sorted(names))


def index_label_files(folder: Path) -> tuple[dict[str, Path], list[Problem]]:
    """stem -> .txt/.xml in `folder` and its direct sub-folders (e.g. train/, test/)."""
    index: dict[str, Path] = {}
    problems: list[Problem] = []
    dirs = [folder] + sorted(p for p in folder.iterdir() if p.is_dir())
    for d in dirs:
        for f in sorted(d.iterdir()):
            if f.is_file() and f.suffix.lower() in (".txt", ".xml") and f.stem != "classes":
                if f.stem in index:
                    problems.append(Problem(f.stem, str(f), f"two label files for {f.stem}: "
                                            f"{index[f.stem]} and {f}; using the first"))
                    continue
                index[f.stem] = f
    return index, problems


def _msrs_detection_labels(root: Path, options: dict[str, str]):
    """(label-set -> index, classes, problems) for the Lele-3 labels, or ({}, (), [])."""
    if options.get("labels"):
        labels_dir = Path(options["labels"]).expanduser()
        if not labels_dir.is_dir():
            raise DatasetError(f"dataset msrs: labels folder {labels_dir} does not exist; expected "
                               "{infrared,visible,fusion}/{train,test}/*.txt "
                               "(Lele-3/MSRS-detection-label)")
    else:
        labels_dir = find_dir(root, *MSRS_LABEL_DIRS)
        if labels_dir is None:
            return {}, (), []
    sets, problems = {}, []
    for name in MSRS_LABEL_SETS:
        d = find_dir(labels_dir, name)
        if d is not None:
            sets[name], probs = index_label_files(d)
            problems += probs
    if not sets:
        raise DatasetError(f"dataset msrs: detection label folder {labels_dir} has none of "
                           f"{', '.join(MSRS_LABEL_SETS)}/ (expected the Lele-3/MSRS-detection-label "
                           "layout {infrared,visible,fusion}/{train,test}/*.txt)")
    classes_file = labels_dir / "classes.txt"
    classes = read_class_names(classes_file) if classes_file.is_file() else MSRS_DET_CLASSES
    return sets, classes, problems


@DATASETS.register(
    "msrs", task="ivf",
    description="MSRS road scenes (MFNet-derived), 1,444 IR-VIS pairs, 9-class segmentation, "
                "optional YOLO boxes",
    layout=MSRS_LAYOUT,
    options={"as_split": "split name given to a flat ROOT/{ir,vi} (all, train, val, test; "
                         "default all)",
             "labels": "folder of the Lele-3/MSRS-detection-label boxes "
                       "({infrared,visible,fusion}/{train,test}/*.txt); default: "
                       "ROOT/detection_labels_yolo if present",
             "label_set": "default box set: fusion (default), infrared, visible, union (all three "
                          "merged by IoU 0.5), or official (use ONLY the 80-pair detection/ "
                          "folder, split 'detection')"},
    source="Tang et al., PIAFusion (Information Fusion 2022); github.com/Linfeng-Tang/MSRS "
           "(about 670 MB; clone or download the zip; point at the repository root, which holds "
           "train/ and test/). 1,083 train / 361 test pairs, 640x480, 9-class Segmentation_labels "
           "(MFNet classes). Detection boxes: github.com/Lele-3/MSRS-detection-label (3 classes "
           "person, bicycle, car; separate infrared/visible/fusion annotations); pass labels=DIR "
           "or place it as ROOT/detection_labels_yolo. No data licence stated; cite PIAFusion and "
           "MFNet (Ha et al., IROS 2017). Shared test subset: msrs:ivf/MSRS_test_subset?as_split=test",
    modalities=("ir", "vis"))
def open_msrs(root: Path, options: dict[str, str]) -> list:
    """MSRS. Split layout `{train,test}/{ir,vi,Segmentation_labels}` or a flat `{ir,vi}`.

    Default label set: 'fusion' (the Lele-3 annotation drawn on fused images, i.e. on what the
    benchmark evaluates); 'infrared', 'visible' and 'union' are selectable. Segmentation: class 0
    'unlabelled' is kept as a class (ignore_index None), as MFNet-style 9-class mIoU counts it.
    The official `detection/` folder (80 pairs, names 1.png ...) is only read with
    label_set=official; its class ids are assumed to follow person, bicycle, car unless
    `detection/labels/classes.txt` says otherwise (the MSRS README does not state them).
    """
    as_split = choice(options, "as_split", ("all",) + SPLITS, "all", "msrs")
    label_set = choice(options, "label_set", MSRS_LABEL_SETS + ("union", "official"), None, "msrs")
    if label_set == "official":
        return [_msrs_official_detection(root)]
    split_dirs = [(s, d) for s in SPLITS if (d := find_dir(root, s)) and _ir_vi(d)]
    samples: list[Sample] = []
    problems: list[Problem] = []
    if split_dirs:
        if options.get("as_split"):
            raise DatasetError("dataset msrs: as_split= applies to a flat ROOT/{ir,vi}; this root "
                               "has split folders (use split= to keep one)")
        for split, d in split_dirs:
            ir, vi = _ir_vi(d)
            s, p = _pair(ir, vi, split=split, mask_folder=find_dir(d, "Segmentation_labels"))
            samples += s
            problems += p
    elif (flat := _ir_vi(root)) is not None:
        samples, problems = _pair(*flat, split=as_split,
                                  mask_folder=find_dir(root, "Segmentation_labels"))
    else:
        raise layout_error("msrs", root, MSRS_LAYOUT)
    sets, det_classes, label_problems = _msrs_detection_labels(root, options)
    problems += label_problems
    if sets:
        samples = [replace(s, boxes={n: idx[s.id] for n, idx in sets.items() if s.id in idx})
                   for s in samples]
    elif label_set is not None:
        raise DatasetError(f"dataset msrs: label_set={label_set} but no detection labels found; "
                           "pass labels=DIR (Lele-3/MSRS-detection-label) or place them in "
                           "ROOT/detection_labels_yolo/")
    samples = unique_ids(samples)
    default_set = None
    if sets:
        default_set = label_set or next(n for n in ("fusion", "infrared", "visible") if n in sets)
        if default_set not in sets and default_set != "union":
            raise DatasetError(f"dataset msrs: label_set={default_set} but the labels folder has "
                               f"only {', '.join(sets)}")
    has_masks = any(s.mask is not None for s in samples)
    ds = finish("msrs", "ivf", root, ("ir", "vis"), samples, problems, MSRS_LAYOUT,
                det_classes=det_classes, default_label_set=default_set,
                seg_classes=MSRS_SEG_CLASSES if has_masks else (),
                palette=MSRS_PALETTE if has_masks else (),
                description="MSRS infrared-visible road scenes")
    return [with_precomputed(ds, root)]


def _msrs_official_detection(root: Path):
    det = find_dir(root, "detection")
    layout = "ROOT/detection/{ir,vi,labels}/ (the 80-pair official MSRS detection folder)"
    if det is None or _ir_vi(det) is None:
        raise layout_error("msrs", root, layout)
    ir, vi = _ir_vi(det)
    labels = find_dir(det, "labels")
    samples, problems = _pair(ir, vi, split="detection",
                              box_folders={"official": labels} if labels else None)
    classes_file = labels / "classes.txt" if labels else None
    classes = read_class_names(classes_file) if classes_file and classes_file.is_file() \
        else MSRS_DET_CLASSES
    return finish("msrs", "ivf", root, ("ir", "vis"), samples, problems, layout,
                  det_classes=classes, default_label_set="official" if labels else None,
                  description="MSRS official detection subset")


# ---------------------------------------------------------------------------------------------
# M3FD, LLVIP
# ---------------------------------------------------------------------------------------------

M3FD_CLASSES = ("People", "Car", "Bus", "Lamp", "Motorcycle", "Truck")
M3FD_LAYOUT = ("ROOT/Ir/, ROOT/Vis/ (+ ROOT/Annotation/*.xml, VOC), names 00000.png; or TarDAL's "
               "ROOT/ir/, ROOT/vi/ (+ ROOT/labels/*.txt, YOLO)")


@DATASETS.register(
    "m3fd", task="ivf",
    description="M3FD multi-scenario IR-VIS detection set, 4,200 pairs, 6 classes (no official split)",
    layout=M3FD_LAYOUT, options={},
    source="Liu et al., TarDAL (CVPR 2022); github.com/JinyuanLiu-CV/TarDAL links the downloads "
           "(Google Drive / Baidu): M3FD_Detection (4,200 pairs with Annotation/ VOC xml, 1024x768) "
           "and M3FD_Fusion (300 pairs, no boxes). Unpack and point at the folder holding Ir/ and "
           "Vis/. Classes in TarDAL order: People, Car, Bus, Lamp, Motorcycle, Truck (some "
           "third-party converters get this list wrong). TarDAL's code is GPL-3.0; the data has no "
           "separate licence statement; cite TarDAL.",
    modalities=("ir", "vis"))
def open_m3fd(root: Path, options: dict[str, str]) -> list:
    """M3FD. One shared annotation per pair, label set 'annotation'; split 'all'."""
    pair = _ir_vi(root)
    if pair is None:
        raise layout_error("m3fd", root, M3FD_LAYOUT)
    ann = find_dir(root, "Annotation", "Annotations", "labels")
    samples, problems = _pair(*pair, box_folders={"annotation": ann} if ann else None)
    return [finish("m3fd", "ivf", root, ("ir", "vis"), samples, problems, M3FD_LAYOUT,
                   det_classes=M3FD_CLASSES, default_label_set="annotation" if ann else None,
                   description="M3FD infrared-visible detection")]


LLVIP_LAYOUT = ("ROOT/infrared/{train,test}/, ROOT/visible/{train,test}/, ROOT/Annotations/*.xml "
                "(names 010001.jpg); or FusionGAN's ROOT/{Train,Test}_LLVIP_{ir,vi}/ (+ Annotations/)")


@DATASETS.register(
    "llvip", task="ivf",
    description="LLVIP low-light pedestrian IR-VIS pairs, 12,025 train / 3,463 test, 1 class",
    layout=LLVIP_LAYOUT, options={},
    source="Jia et al., LLVIP (ICCVW 2021); github.com/bupt-ai-cz/LLVIP (download link in the "
           "README, about 3.5 GB). Unpack and point at the LLVIP folder holding infrared/, "
           "visible/ and Annotations/. 1280x1024 jpg, VOC boxes of class person shared by both "
           "modalities. Licence: non-commercial research use only (see the repository's Term of "
           "Use); no identification of people.",
    modalities=("ir", "vis"))
def open_llvip(root: Path, options: dict[str, str]) -> list:
    """LLVIP. Splits from the folders; one shared annotation per pair, label set 'annotation'."""
    ann = find_dir(root, "Annotations", "Annotation")
    boxes = {"annotation": ann} if ann else None
    samples: list[Sample] = []
    problems: list[Problem] = []
    infrared, visible = find_dir(root, "infrared"), find_dir(root, "visible")
    fusiongan = [(s, find_dir(root, f"{s}_LLVIP_ir"), find_dir(root, f"{s}_LLVIP_vi"))
                 for s in ("Train", "Test")]
    if infrared and visible:
        splits = [s for s in ("train", "test") if find_dir(infrared, s) and find_dir(visible, s)]
        pairs = [(s, find_dir(infrared, s), find_dir(visible, s)) for s in splits] or \
            [("all", infrared, visible)]
    elif any(ir and vi for _, ir, vi in fusiongan):
        pairs = [(s.lower(), ir, vi) for s, ir, vi in fusiongan if ir and vi]
    else:
        raise layout_error("llvip", root, LLVIP_LAYOUT)
    for split, ir, vi in pairs:
        s, p = _pair(ir, vi, split=split, box_folders=boxes)
        samples += s
        problems += p
    return [finish("llvip", "ivf", root, ("ir", "vis"), unique_ids(samples), problems, LLVIP_LAYOUT,
                   det_classes=("person",), default_label_set="annotation" if ann else None,
                   description="LLVIP low-light infrared-visible pairs")]


# ---------------------------------------------------------------------------------------------
# TNO, RoadScene, VIFB (no labels)
# ---------------------------------------------------------------------------------------------

TNO25 = ("01", "02", "03", "04", "06", "07", "08", "12", "13", "14", "17", "19", "20", "21", "26",
         "29", "30", "32", "35", "36", "38", "39", "40", "41", "42")
TNO_LAYOUT = "ROOT/ir/, ROOT/vi/ (files of the same name; optional ROOT/fused/<method>/)"


@DATASETS.register(
    "tno", task="ivf",
    description="TNO Image Fusion pairs as curated by papers (42-pair set, standard 25)",
    layout=TNO_LAYOUT,
    options={"subset": "all (default) or tno25: the standard 25 pairs (01 02 03 04 06 07 08 12 13 "
                       "14 17 19 20 21 26 29 30 32 35 36 38 39 40 41 42 of the 42-pair numbering)"},
    source="Toet, TNO Image Fusion Dataset, figshare (doi 10.6084/m9.figshare.1008029; messy "
           "original tree). Curated 42-pair copy with fused results of 9 methods: "
           "github.com/Linfeng-Tang/Image-Fusion, folder 'General Evaluation Metric/Image/"
           "Source-Image/TNO' (point at it: it holds ir/ and vi/); CDDFuse's test_img/TNO holds "
           "the standard 25 renamed 01-25 (use it without subset=). No licence stated; cite "
           "Toet (TNO) and the method papers. Shared: tno:ivf/TNO_ImageFusion",
    modalities=("ir", "vis"))
def open_tno(root: Path, options: dict[str, str]) -> list:
    """TNO pairs in ir/ + vi/; `fused/<method>/` -> precomputed."""
    subset = choice(options, "subset", ("all", "tno25"), "all", "tno")
    pair = _ir_vi(root)
    if pair is None:
        raise layout_error("tno", root, TNO_LAYOUT)
    samples, problems = _pair(*pair)
    name = "tno"
    if subset == "tno25":
        numbers = [int(s.id) for s in samples if s.id.isdigit()]
        if len(numbers) != len(samples) or not numbers or max(numbers) <= 25:
            raise DatasetError(
                f"dataset tno: subset=tno25 needs the 42-pair numbering (names 01..42); {root} has "
                f"{len(samples)} pairs named {', '.join(s.id for s in samples[:5])}... If it is "
                "already the 25-pair subset (e.g. CDDFuse's test_img/TNO, named 01..25), drop subset=.")
        have = {s.id for s in samples}
        samples = [s for s in samples if s.id in TNO25]
        problems += [Problem(i, str(root), f"tno25 pair {i} is missing from {root}")
                     for i in TNO25 if i not in have]
        name = "tno25"
    ds = finish(name, "ivf", root, ("ir", "vis"), samples, problems, TNO_LAYOUT,
                description="TNO infrared-visible pairs")
    return [with_precomputed(ds, root)]


ROADSCENE_LAYOUT = ("ROOT/cropinfrared/ + ROOT/crop_HR_visible/ (original, FLIR_xxxxx.jpg); or "
                    "ROOT/ir/ + ROOT/vi/ (CDDFuse test copy)")


@DATASETS.register(
    "roadscene", task="ivf",
    description="RoadScene aligned FLIR road pairs (221 original, 50 in CDDFuse's test set)",
    layout=ROADSCENE_LAYOUT,
    options={"vis": "visible crop of the original layout: hr (crop_HR_visible, default) or lr "
                    "(crop_LR_visible)"},
    source="Xu et al., FusionDN / U2Fusion; github.com/hanna-xu/RoadScene (221 pairs; clone and "
           "point at the repository root holding cropinfrared/ and crop_HR_visible/). The 50-pair "
           "test copy is in github.com/Zhaozixiang1228/MMIF-CDDFuse test_img/RoadScene (ir/, vi/). "
           "No licence stated. Shared: roadscene:ivf/RoadScene_CDDFuse",
    modalities=("ir", "vis"))
def open_roadscene(root: Path, options: dict[str, str]) -> list:
    """RoadScene: pairs cropinfrared/ with crop_HR_visible/ (or crop_LR_visible/), or ir/ + vi/."""
    vis = choice(options, "vis", ("hr", "lr"), "hr", "roadscene")
    crop_ir = find_dir(root, "cropinfrared")
    crop_vi = find_dir(root, "crop_HR_visible" if vis == "hr" else "crop_LR_visible")
    if crop_ir and crop_vi:
        pair = (crop_ir, crop_vi)
    elif (pair := _ir_vi(root, IR_DIRS, VI_DIRS)) is None:
        raise layout_error("roadscene", root, ROADSCENE_LAYOUT)
    samples, problems = _pair(*pair)
    return [finish("roadscene", "ivf", root, ("ir", "vis"), samples, problems, ROADSCENE_LAYOUT,
                   description="RoadScene infrared-visible road pairs")]


VIFB_LAYOUT = ("ROOT/input/IR/, ROOT/input/VI/ (<scene>.jpg); fused outputs ROOT/fused/<method>/"
               "<scene>.jpg or the repository's flat ROOT/output/fused_images/<scene>_<method>.jpg")


@DATASETS.register(
    "vifb", task="ivf",
    description="VIFB visible-infrared benchmark, 21 pairs with fused outputs of published methods",
    layout=VIFB_LAYOUT, options={},
    source="Zhang, Ye, Xiao, VIFB (CVPRW 2020); github.com/xingchenzhang/VIFB (clone, point at "
           "the repository root holding input/ and output/). 21 pairs, mixed sizes; fused images "
           "of the benchmarked methods in output/fused_images as <scene>_<method>.jpg (read via "
           "Dataset.options['precomputed_format']). No LICENSE file; cite VIFB and the source "
           "datasets. Shared: vifb:ivf/VIFB (fused/ split into one folder per method)",
    modalities=("ir", "vis"))
def open_vifb(root: Path, options: dict[str, str]) -> list:
    """VIFB: `input/{IR,VI}`; precomputed from `fused/<method>/` or `output/fused_images/`."""
    inp = find_dir(root, "input") or root
    pair = _ir_vi(inp)
    if pair is None:
        raise layout_error("vifb", root, VIFB_LAYOUT)
    samples, problems = _pair(*pair)
    ds = finish("vifb", "ivf", root, ("ir", "vis"), samples, problems, VIFB_LAYOUT,
                description="VIFB visible-infrared benchmark")
    return [with_precomputed(ds, root)]


# ---------------------------------------------------------------------------------------------
# FMB, DRMF (segmentation)
# ---------------------------------------------------------------------------------------------

FMB_CLASSES = ("background", "Road", "Sidewalk", "Building", "Lamp", "Sign", "Vegetation", "Sky",
               "Person", "Car", "Truck", "Bus", "Motorcycle", "Bicycle", "Pole")
# Cityscapes colours of the matching classes (Lamp takes traffic-light orange); black background.
FMB_PALETTE = ((0, 0, 0), (128, 64, 128), (244, 35, 232), (70, 70, 70), (250, 170, 30),
               (220, 220, 0), (107, 142, 35), (70, 130, 180), (220, 20, 60), (0, 0, 142),
               (0, 0, 70), (0, 60, 100), (0, 0, 230), (119, 11, 32), (153, 153, 153))
FMB_LAYOUT = "ROOT/{train,test}/{Infrared,Visible,Label}/*.png (or those three folders in ROOT)"


@DATASETS.register(
    "fmb", task="ivf",
    description="FMB full-time multi-modality benchmark, 1,500 pairs, 15-class segmentation",
    layout=FMB_LAYOUT, options={},
    source="Liu et al., SegMiF (ICCV 2023); github.com/JinyuanLiu-CV/SegMiF links the FMB download "
           "(Google Drive / Baidu). Unpack and point at the folder holding train/ and test/ "
           "(1,220 / 280 pairs, 800x600 PNG; Label/ holds class indices 0-14, color/ holds "
           "visualisations and is ignored). Licence: see the SegMiF repository; cite SegMiF.",
    modalities=("ir", "vis"))
def open_fmb(root: Path, options: dict[str, str]) -> list:
    """FMB: class-index masks in Label/; palette = Cityscapes colours (ignore_index None)."""
    names = (("Infrared",), ("Visible",))
    split_dirs = [(s, d) for s in SPLITS if (d := find_dir(root, s)) and _ir_vi(d, *names)]
    if not split_dirs and _ir_vi(root, *names):
        split_dirs = [("all", root)]
    if not split_dirs:
        raise layout_error("fmb", root, FMB_LAYOUT)
    samples, problems = [], []
    for split, d in split_dirs:
        s, p = _pair(*_ir_vi(d, *names), split=split, mask_folder=find_dir(d, "Label", "Labels"))
        samples += s
        problems += p
    return [finish("fmb", "ivf", root, ("ir", "vis"), unique_ids(samples), problems, FMB_LAYOUT,
                   seg_classes=FMB_CLASSES, palette=FMB_PALETTE,
                   description="FMB infrared-visible segmentation")]


DRMF_LAYOUT = "ROOT/{train,val}/{ir,vi}/ (+ mask/ with 0/255 person masks); ROOT/fused/DRMF/"


@DATASETS.register(
    "drmf", task="ivf",
    description="DRMF's IVIF sample data: MSRS/LLVIP pairs with binary person masks (seg check)",
    layout=DRMF_LAYOUT, options={},
    source="Tang et al., DRMF (ACM MM 2024); github.com/Linfeng-Tang/DRMF, data/IVIF_norm (point "
           "at it: train/ with ir, vi, mask, edge; val/ with ir, vi) and Results/IVIF_norm (DRMF "
           "outputs; place as ROOT/fused/DRMF to use them). Masks are 0/255 person masks. No "
           "licence stated. Shared: drmf:ivf/DRMF_IVIF_norm",
    modalities=("ir", "vis"))
def open_drmf(root: Path, options: dict[str, str]) -> list:
    """DRMF IVIF data: masks 0/255 -> classes (background, person) via mask_lut {0: 0, 255: 1}."""
    split_dirs = [(s, d) for s in SPLITS if (d := find_dir(root, s)) and _ir_vi(d)]
    if not split_dirs:
        raise layout_error("drmf", root, DRMF_LAYOUT)
    samples, problems = [], []
    for split, d in split_dirs:
        s, p = _pair(*_ir_vi(d), split=split, mask_folder=find_dir(d, "mask"))
        samples += s
        problems += p
    ds = finish("drmf", "ivf", root, ("ir", "vis"), unique_ids(samples), problems, DRMF_LAYOUT,
                seg_classes=("background", "person"), palette=((0, 0, 0), (64, 64, 0)),
                mask_lut={0: 0, 255: 1}, description="DRMF IVIF data with person masks")
    return [with_precomputed(ds, root)]
