"""Multi-exposure adapters: MEFB and SICE.

Sources of a pair are (under, over); longer stacks are (ev0, ev1, ...) in natural file-name
order. Split 'all'. Sample id = the sequence folder name (or the file stem in pair layouts).

MEFB (`input/<seq>/<seq>_{A,B}.<ext>`): `_A` is the under-exposed and `_B` the over-exposed image;
the suffix is matched case-insensitively (`Sky/sKY_a.png`) and extensions may differ within a
pair. Other images in a sequence folder are ignored without a Problem: the repository keeps a
copy of every input under its original name next to the `_A`/`_B` files. Side files such as
`ev.txt` are ignored; other non-image files, a missing `_A`/`_B` or two candidates for one of
them are Problems.

SICE (csjcai/SICE): Part1/Part2 layout `<seq>/<k>.JPG` (one folder per sequence of 3-18 frames)
with the reference image `Label/<seq>.JPG` -> Sample.gt. `pick=extremes` (default) takes the
first and last frame in natural file-name order as (under, over): SICE numbers the frames of a
sequence in order of exposure, so no pixels are read to choose them (an assumption of this
adapter, not checked against the images). `pick=all` keeps the whole stack (ev0, ev1, ...).
Also the pair layout `{under,over}/` (Mask-DiFuser's SICE copy; `ue/oe` as U2Fusion names them).
"""
from __future__ import annotations

import re
from pathlib import Path

from ..registry import DATASETS
from .base import DatasetError, Problem, Sample, find_dir, pair_by_stem
from .generic import (attach_gt, choice, finish, layout_error, natural_key, only_stray_files,
                      scan_images, stack_names, widest_modalities, with_precomputed)

MEFB_LAYOUT = "ROOT/input/<seq>/<seq>_A.* (under-exposed) and <seq>_B.* (over-exposed)"
_A = re.compile(r"_a$", re.IGNORECASE)
_B = re.compile(r"_b$", re.IGNORECASE)


@DATASETS.register(
    "mefb", task="mef",
    description="MEFB multi-exposure benchmark: 100 under/over pairs, mixed formats and sizes",
    layout=MEFB_LAYOUT, options={},
    source="Zhang, 'Benchmarking and comparing multi-exposure image fusion algorithms', "
           "Information Fusion 2021; github.com/xingchenzhang/MEFB (about 43 MB; clone and point "
           "at the repository root holding input/). The repository has metric values of 21 "
           "methods but not their fused images. No licence stated; cite MEFB. "
           "Shared: mefb:mef/MEFB (41 of the 100 pairs)",
    modalities=("under", "over"))
def open_mefb(root: Path, options: dict[str, str]) -> list:
    """MEFB sequences: one (under, over) pair per `input/<seq>/` folder."""
    inp = find_dir(root, "input")
    seqs_root = inp or root
    seqs = sorted((d for d in seqs_root.iterdir() if d.is_dir()), key=lambda d: d.name.lower())
    if inp is None and not any(_A.search(f.stem) or _B.search(f.stem)
                               for d in seqs for f in d.iterdir() if f.is_file()):
        raise layout_error("mefb", root, MEFB_LAYOUT)
    samples, problems = [], []
    for d in seqs:
        images, probs = scan_images(d)
        problems += probs
        picked = []
        for rx, role in ((_A, "_A (under-exposed)"), (_B, "_B (over-exposed)")):
            found = [p for p in images if rx.search(p.stem)]
            if len(found) > 1:
                problems.append(Problem(d.name, str(found[1]), f"two {role} images in {d}: "
                                        f"{', '.join(p.name for p in found)}; using {found[0].name}"))
            picked.append(found[0] if found else None)
        if None in picked:
            missing = "_A" if picked[0] is None else "_B"
            problems.append(Problem(d.name, str(d), f"missing partner: no <seq>{missing} image in {d}"))
            continue
        samples.append(Sample(id=d.name, sources=tuple(picked), modalities=("under", "over")))
    ds = finish("mefb", "mef", root, ("under", "over"), samples, problems, MEFB_LAYOUT,
                description="MEFB multi-exposure pairs")
    return [with_precomputed(ds, root)]


SICE_LAYOUT = ("ROOT/<seq>/<k>.JPG exposure sequences (+ ROOT/Label/<seq>.JPG references), "
               "optionally under Part1/ Part2/ folders; or ROOT/under/ + ROOT/over/ pairs")


def _sice_sequences(part: Path, pick: str, id_prefix: str, labels: Path | None):
    label_dir = labels or find_dir(part, "Label", "Labels")
    samples, problems = [], []
    for d in sorted((p for p in part.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
        if label_dir is not None and d.resolve() == label_dir.resolve():
            continue
        frames, probs = scan_images(d)
        problems += probs
        if not frames:
            continue  # not a sequence folder
        frames.sort(key=lambda p: natural_key(p.name))
        if len(frames) < 2:
            problems.append(Problem(id_prefix + d.name, str(d), f"sequence {d} has one frame; "
                                    "needs at least 2; skipped"))
            continue
        chosen = (frames[0], frames[-1]) if pick == "extremes" else tuple(frames)
        samples.append(Sample(id=id_prefix + d.name, sources=chosen,
                              modalities=stack_names("mef", len(chosen))))
    samples, gt_problems = attach_gt(samples, label_dir,
                                     key=lambda stem: id_prefix + stem)
    return samples, problems + gt_problems


@DATASETS.register(
    "sice", task="mef",
    description="SICE multi-exposure sequences (589 scenes, 3-18 frames) with reference images",
    layout=SICE_LAYOUT,
    options={"pick": "extremes (default): first and last frame by file name as (under, over); "
                     "all: the whole sequence as a stack (ev0, ev1, ...)",
             "labels": "folder of reference images <seq>.JPG when they are not in ROOT/Label "
                       "(Part2's labels are a separate download)"},
    source="Cai, Gu, Zhang, 'Learning a deep single image contrast enhancer from multi-exposure "
           "images', TIP 2018; github.com/csjcai/SICE links the downloads (Dataset_Part1: 360 "
           "sequences with Label/; Dataset_Part2: 229 sequences, labels separate). Unpack and "
           "point at Dataset_Part1 (or a folder holding both parts). No licence stated; cite "
           "SICE. Shared: sice:mef/SICE_MaskDiFuser (2 under/over pairs, no reference)",
    modalities=("under", "over"))
def open_sice(root: Path, options: dict[str, str]) -> list:
    """SICE Part layout (sequences + Label/) or an {under,over} pair layout."""
    pick = choice(options, "pick", ("extremes", "all"), "extremes", "sice")
    labels = Path(options["labels"]).expanduser() if options.get("labels") else None
    if labels is not None and not labels.is_dir():
        raise DatasetError(f"dataset sice: labels folder {labels} does not exist")
    under, over = find_dir(root, "under", "ue"), find_dir(root, "over", "oe")
    if under and over:
        samples, problems = pair_by_stem({"under": under, "over": over})
        samples, gt_problems = attach_gt(samples, labels or find_dir(root, "Label", "Labels"))
        return [finish("sice", "mef", root, ("under", "over"), samples, problems + gt_problems,
                       SICE_LAYOUT, description="SICE under/over pairs")]
    parts = sorted((d for d in root.iterdir() if d.is_dir() and "part" in d.name.lower()),
                   key=lambda d: natural_key(d.name))
    if parts and labels is not None:
        raise DatasetError("dataset sice: labels= applies to a single part; point at one part "
                           f"folder ({', '.join(p.name for p in parts)})")
    samples, problems = [], []
    for part, prefix in ([(p, p.name + "/") for p in parts] or [(root, "")]):
        s, p = _sice_sequences(part, pick, prefix, labels)
        samples += s
        problems += p
    if not samples and only_stray_files(problems):
        raise layout_error("sice", root, SICE_LAYOUT)
    default = stack_names("mef", 2)
    return [finish("sice", "mef", root, widest_modalities(samples, default), samples, problems,
                   SICE_LAYOUT, description="SICE multi-exposure sequences")]
