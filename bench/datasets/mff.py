"""Multi-focus adapters: Lytro, MFFW, MFI-WHU, and the MFIF benchmark that bundles them.

Sources are named (a, b) (c, ... for stacks): the datasets do not say which source is focused
near or far. Split 'all'. Layouts:

- MFIF benchmark (xingchenzhang/MFIF): `input/<set>_<nn>/<set>_<nn>_{A,B}.jpg` with sets lytro,
  mffw, MFI-WHU; fused outputs `fused/<method>/<set>_<nn>.jpg` (one folder per method, as in the
  shared data) or the repository's flat `fused_images/<set>_<nn>_<method>.jpg`. Sample id = the
  pair folder name (`lytro_01`). A method is listed in a dataset's `precomputed` only when it has
  at least one file for that dataset (the shared data has no MFI-WHU outputs).
- IFCNN copy of Lytro: flat `lytro-NN-{A,B}.jpg`; the 3-source series `lytro-0N-{A,B,C}.jpg`
  (flat, or in a `Triple Series/` sub-folder) form a separate dataset 'lytro/triple' of stacks
  (a, b, c). Sample id = `lytro-NN`.
- MFI-WHU original (HaoZhang1018/MFI-WHU): `source_1/`, `source_2/`, `full_clear/` (ground truth
  all-in-focus image -> Sample.gt).
"""
from __future__ import annotations

import re
from pathlib import Path

from ..registry import DATASETS
from .base import Dataset, DatasetError, Problem, Sample, find_dir, pair_by_stem
from .generic import (finish, layout_error, scan_images, stack_names, widest_modalities,
                      with_precomputed)

MFIF_SETS = {"lytro": "lytro", "mffw": "mffw", "mfi-whu": "MFI-WHU"}  # dataset -> folder prefix
MFIF_LAYOUT = ("ROOT/input/<set>_<nn>/<set>_<nn>_{A,B}.jpg (sets lytro, mffw, MFI-WHU); "
               "ROOT/fused/<method>/")
LETTER = re.compile(r"^(?P<id>.+?)[_-](?P<letter>[A-Za-z])$")


def _mfif_input(root: Path) -> Path | None:
    """The folder holding the `<set>_<nn>` pair folders: ROOT/input or ROOT itself."""
    rx = re.compile(r"^(lytro|mffw|mfi-whu)_\d+$", re.IGNORECASE)
    for cand in (find_dir(root, "input"), root):
        if cand is not None and any(d.is_dir() and rx.match(d.name) for d in cand.iterdir()):
            return cand
    return None


def _lettered(images: list[Path]) -> tuple[dict[str, dict[str, Path]], list[Path]]:
    """Group `<id>_A` / `<id>-B` files: id -> {letter: path}; also the names that did not fit."""
    groups: dict[str, dict[str, Path]] = {}
    other = []
    for p in images:
        m = LETTER.match(p.stem)
        if not m:
            other.append(p)
            continue
        letters = groups.setdefault(m.group("id"), {})
        letter = m.group("letter").upper()
        if letter in letters:
            other.append(p)  # reported by the caller as a duplicate
        else:
            letters[letter] = p
    return groups, other


def _stack_sample(sid: str, letters: dict[str, Path], split: str = "all") -> Sample:
    sources = tuple(letters[k] for k in sorted(letters))
    return Sample(id=sid, sources=sources, modalities=stack_names("mff", len(sources)), split=split)


def _mfif_dataset(name: str, root: Path, inp: Path) -> Dataset | None:
    prefix = MFIF_SETS[name]
    rx = re.compile(rf"^{re.escape(prefix)}_\d+$", re.IGNORECASE)
    folders = sorted(d for d in inp.iterdir() if d.is_dir() and rx.match(d.name))
    if not folders:
        return None
    samples, problems = [], []
    for d in folders:
        images, probs = scan_images(d)
        problems += probs
        groups, other = _lettered(images)
        problems += [Problem(d.name, str(p), f"{p.name} is not named {d.name}_A/_B (or is a "
                             "second file for the same letter); ignored") for p in other]
        letters = groups.get(d.name) or (next(iter(groups.values())) if len(groups) == 1 else {})
        if len(letters) < 2:
            problems.append(Problem(d.name, str(d), f"missing partner: {d} needs "
                                    f"{d.name}_A and {d.name}_B images"))
            continue
        samples.append(_stack_sample(d.name, letters))
    ds = finish(name, "mff", root, widest_modalities(samples, ("a", "b")), samples, problems,
                MFIF_LAYOUT, description=f"{name} multi-focus pairs (MFIF benchmark)")
    return with_precomputed(ds, root)


def _mfif(names: tuple[str, ...], root: Path, adapter: str, layout: str) -> list[Dataset]:
    inp = _mfif_input(root)
    if inp is None:
        raise layout_error(adapter, root, layout)
    out = [ds for n in names if (ds := _mfif_dataset(n, root, inp)) is not None]
    if not out:
        raise DatasetError(f"dataset {adapter}: {inp} has no {'/'.join(MFIF_SETS[n] for n in names)}"
                           f"_<nn> pair folders. Expected layout: {layout}")
    return out


MFIF_SOURCE = ("Zhang, 'Deep learning-based multi-focus image fusion: a survey and a comparative "
               "study', TPAMI 2021; github.com/xingchenzhang/MFIF (clone; point at the repository "
               "root holding input/ and fused_images/). 63 pairs: Lytro 20, MFFW 13, MFI-WHU 30, "
               "with fused outputs of 35 methods. No licence stated; cite the survey and each "
               "dataset's paper.")


@DATASETS.register(
    "mfif", task="mff",
    description="MFIF benchmark root -> the lytro, mffw and mfi-whu datasets with fused outputs",
    layout=MFIF_LAYOUT, options={},
    source=MFIF_SOURCE + " Shared: mfif:mff/MFIF_benchmark",
    modalities=("a", "b"))
def open_mfif(root: Path, options: dict[str, str]) -> list[Dataset]:
    """Every MFIF set present (lytro, mffw, mfi-whu; absent sets are skipped)."""
    return _mfif(tuple(MFIF_SETS), root, "mfif", MFIF_LAYOUT)


LYTRO_LAYOUT = ("IFCNN: ROOT/lytro-NN-{A,B}.jpg (+ lytro-0N-{A,B,C}.jpg triple series, flat or in "
                "'Triple Series/'); or MFIF: ROOT/input/lytro_NN/lytro_NN_{A,B}.jpg")
LYTRO_NAME = re.compile(r"^lytro-\d+$", re.IGNORECASE)


@DATASETS.register(
    "lytro", task="mff",
    description="Lytro multi-focus dataset: 20 colour pairs (520x520) + 4 three-source series",
    layout=LYTRO_LAYOUT, options={},
    source="Nejati, Samavi, Shirani, Information Fusion 25 (2015). Copies: github.com/uzeful/IFCNN "
           "Code/datasets/CMFDataset (point at it: 20 pairs lytro-NN-{A,B}.jpg + 'Triple Series'), "
           "or the MFIF benchmark (github.com/xingchenzhang/MFIF; point at its root). No licence "
           "stated; cite Nejati et al. Shared: lytro:mff/MFIF_benchmark, "
           "lytro:mff/IFCNN_CMF_TripleSeries (gives 'lytro/triple')",
    modalities=("a", "b"))
def open_lytro(root: Path, options: dict[str, str]) -> list[Dataset]:
    """Lytro from the MFIF tree, or IFCNN's flat files ('lytro' pairs, 'lytro/triple' stacks)."""
    if _mfif_input(root) is not None:
        return _mfif(("lytro",), root, "lytro", LYTRO_LAYOUT)
    folders = [root] + [d for d in root.iterdir() if d.is_dir() and d.name.lower().startswith("triple")]
    pairs: list[Sample] = []
    triples: list[Sample] = []
    problems: list[Problem] = []
    matched = False
    for folder in folders:
        images, probs = scan_images(folder)
        problems += probs
        groups, other = _lettered(images)
        problems += [Problem(p.stem, str(p), f"{p.name} is not named lytro-NN-<letter>; ignored")
                     for p in other]
        for sid, letters in sorted(groups.items()):
            if not LYTRO_NAME.match(sid):
                problems.append(Problem(sid, str(next(iter(letters.values()))),
                                        f"{sid}: not a lytro-NN name; ignored"))
                continue
            matched = True
            if len(letters) < 2:
                problems.append(Problem(sid, str(folder), f"missing partner: only "
                                        f"{'/'.join(letters)} for {sid} in {folder}"))
            elif len(letters) == 2 and folder == root:
                pairs.append(_stack_sample(sid, letters))
            else:
                triples.append(_stack_sample(sid, letters))
    if not matched:
        raise layout_error("lytro", root, LYTRO_LAYOUT)
    out = []
    if pairs or not triples:
        out.append(finish("lytro", "mff", root, ("a", "b"), pairs, problems, LYTRO_LAYOUT,
                          description="Lytro multi-focus pairs"))
        problems = []
    if triples:
        out.append(finish("lytro/triple", "mff", root, widest_modalities(triples, ("a", "b", "c")),
                          triples, problems, LYTRO_LAYOUT,
                          description="Lytro three-source multi-focus series"))
    return [with_precomputed(ds, root) for ds in out]


@DATASETS.register(
    "mffw", task="mff",
    description="MFFW multi-focus pairs 'in the wild' (13 pairs, strong defocus spread)",
    layout="ROOT/input/mffw_NN/mffw_NN_{A,B}.jpg (the MFIF benchmark tree); ROOT/fused/<method>/",
    options={},
    source="Xu et al., MFFW (2020). The 13 pairs are in the MFIF benchmark: " + MFIF_SOURCE +
           " Shared: mffw:mff/MFIF_benchmark",
    modalities=("a", "b"))
def open_mffw(root: Path, options: dict[str, str]) -> list[Dataset]:
    return _mfif(("mffw",), root, "mffw", MFIF_LAYOUT)


MFIWHU_LAYOUT = ("original: ROOT/source_1/, ROOT/source_2/ (+ ROOT/full_clear/ ground truth); or "
                 "MFIF: ROOT/input/MFI-WHU_NN/MFI-WHU_NN_{A,B}.jpg")


@DATASETS.register(
    "mfi-whu", task="mff",
    description="MFI-WHU synthetic multi-focus pairs (120 with all-in-focus ground truth; MFIF uses 30)",
    layout=MFIWHU_LAYOUT, options={},
    source="Zhang et al., MFF-GAN (Information Fusion 2021); github.com/HaoZhang1018/MFI-WHU "
           "(clone; point at the folder holding source_1/, source_2/, full_clear/). 30 of the "
           "pairs are in the MFIF benchmark (github.com/xingchenzhang/MFIF). No licence stated; "
           "cite MFF-GAN. Shared: mfi-whu:mff/MFIF_benchmark",
    modalities=("a", "b"))
def open_mfi_whu(root: Path, options: dict[str, str]) -> list[Dataset]:
    """MFI-WHU: original source_1/source_2/full_clear (gt), or its MFIF copy."""
    s1, s2 = find_dir(root, "source_1"), find_dir(root, "source_2")
    if s1 and s2:
        samples, problems = pair_by_stem({"a": s1, "b": s2}, gt_folder=find_dir(root, "full_clear"))
        return [finish("mfi-whu", "mff", root, ("a", "b"), samples, problems, MFIWHU_LAYOUT,
                       description="MFI-WHU multi-focus pairs")]
    if _mfif_input(root) is None:
        raise layout_error("mfi-whu", root, MFIWHU_LAYOUT)
    return _mfif(("mfi-whu",), root, "mfi-whu", MFIWHU_LAYOUT)
