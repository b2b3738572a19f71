"""Generic adapters (`pairs`, `stacks`) and the small helpers every real-dataset adapter shares.

`pairs` (any task)
    pairs:DIR_A,DIR_B[,DIR_C...]?task=ivf|medical|mff|mef[&modalities=ir,vis][&gt=DIR]
        files matched across the folders by file stem, sources in the order the folders are given.
    pairs:DIR?suffixes=_IR,_Vis&task=ivf
        one folder, files paired by a case-insensitive name suffix: `<id>_IR.png` + `<id>_Vis.png`
        (IFCNN IVDataset), `cNN_1.tif` + `cNN_2.tif` (IFCNN MDDataset, suffixes=_1,_2). Images that
        match none of the suffixes are reported as Problems.
    `task` is required (a clear DatasetError otherwise). Folder paths must not contain commas.
    Default modality names per task: ivf (ir, vis); mef (under, over) for two sources, else
    (ev0, ev1, ...); mff and medical (a, b, c, ...) because the files do not say which source is
    which; pass `modalities=` to name them (e.g. modalities=mri,pet).

`stacks` (mef or mff)
    stacks:ROOT?task=mef   each sub-folder of ROOT is one stack (IFCNN MEDataset: chair/, door/,
        ...); frames are taken in natural file-name order (`x2` before `x10`) and named
        ev0, ev1, ... (mef) or a, b, c, ... (mff). Sample id = sub-folder name. Folders whose name
        starts with `fused` hold distributed outputs and are read as precomputed results.

Shared conventions (used by ivf.py, medical.py, mff.py, mef.py):
- Known companion files (MEFB's `ev.txt`, `Readme*`, `License*`, `classes.txt`) are ignored
  silently; any other non-image file in an image folder (`notes.txt`, a .gif, .webp, .raw ...) is
  reported as a Problem (a failure record in runs), as are missing partners and duplicate keys. An empty result is a Dataset with no samples and an `empty_dataset_problem`.
- A root that does not match a layout at all raises DatasetError naming the expected layout.
- Distributed fused outputs go to `Dataset.precomputed` (method -> folder). Where those files are
  not named by sample id (IFCNN's `IFCNN-MAX-IV-<id>.png`, VIFB/MFIF's original flat
  `<id>_<method>.jpg`), `Dataset.options["precomputed_format"]` maps the method to a file-stem
  pattern with `{id}` (e.g. "IFCNN-MAX-IV-{id}"); methods without an entry there use the plain id.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Mapping

from ..imageio import is_image_name
from ..registry import DATASETS
from .base import (FUSION_TASKS, Dataset, DatasetError, Problem, Sample, empty_dataset_problem,
                   list_images, pair_by_stem, suffix_key)

# Companion files that distributions ship inside image folders (MEFB's `ev.txt`, a `Readme.txt`,
# a `classes.txt`); not worth a failure record. Any other non-image file is reported.
SIDE_FILE_NAMES = frozenset({"ev.txt", "classes.txt", "meta.json", "info.txt"})
SIDE_FILE_PREFIXES = ("readme", "license", "licence")


def is_side_file(path: str | Path) -> bool:
    name = Path(path).name.lower()
    return name in SIDE_FILE_NAMES or name.startswith(SIDE_FILE_PREFIXES)


# ---------------------------------------------------------------------------------------------
# Helpers shared by the adapters
# ---------------------------------------------------------------------------------------------

def choice(options: Mapping[str, str], key: str, choices: Iterable[str], default: str | None,
           dataset: str) -> str | None:
    """The value of an enumerated option (case-insensitive), or DatasetError listing the choices."""
    choices = tuple(choices)
    value = options.get(key)
    if value is None or value == "":
        return default
    for c in choices:
        if value.strip().lower() == c.lower():
            return c
    raise DatasetError(f"dataset {dataset}: option {key}={value!r} is not valid; "
                       f"choose one of: {', '.join(choices)}")


def layout_error(dataset: str, root: Path, layout: str) -> DatasetError:
    """DatasetError for a root that matches none of an adapter's layouts."""
    try:
        found = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    except OSError:
        found = []
    shown = ", ".join(found[:15]) + (" ..." if len(found) > 15 else "") if found else "nothing"
    return DatasetError(f"dataset {dataset}: {root} does not match the expected layout. "
                        f"Expected: {layout}. Found: {shown}. "
                        f"`python -m bench datasets fetch-info {dataset}` says where to get it.")


def quiet(problems: Iterable[Problem]) -> list[Problem]:
    """Drop duplicate Problems and those about known companion files (see SIDE_FILE_NAMES)."""
    out, seen = [], set()
    for p in problems:
        if is_side_file(p.path):
            continue
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def only_stray_files(problems: list[Problem]) -> bool:
    """True when no problem is about pairing (so an empty result means a wrong layout)."""
    return all(p.reason.startswith("not an image file") for p in problems)


def scan_images(folder: Path) -> tuple[list[Path], list[Problem]]:
    """`list_images` with side files ignored."""
    images, problems = list_images(folder)
    return images, quiet(problems)


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: 'x2' < 'x10'."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in
                 re.split(r"(\d+)", name.lower()) if t)


def stack_names(task: str, n: int) -> tuple[str, ...]:
    """Modality names for an n-source sample of a task (see the module docstring)."""
    if task == "ivf" and n == 2:
        return ("ir", "vis")
    if task == "mef":
        return ("under", "over") if n == 2 else tuple(f"ev{i}" for i in range(n))
    return tuple(chr(ord("a") + i) for i in range(n)) if n <= 26 else \
        tuple(f"s{i}" for i in range(n))


def finish(name: str, task: str, root: Path | None, modalities: tuple[str, ...],
           samples: list[Sample], problems: Iterable[Problem], layout: str, **fields) -> Dataset:
    """Build the Dataset; an empty one gets the standard 'no sample pairs found' Problem."""
    problems = quiet(problems)
    if not samples:
        problems.append(empty_dataset_problem(root if root is not None else Path("."), layout))
    return Dataset(name=name, task=task, root=root, modalities=modalities, samples=samples,
                   problems=problems, **fields)


def image_subfolders(folder: Path) -> dict[str, Path]:
    """Sub-folders of `folder` that contain at least one image file, by name (sorted)."""
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for sub in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if sub.is_dir() and not sub.name.startswith(".") and \
                any(f.is_file() and is_image_name(f) for f in sub.iterdir()):
            out[sub.name] = sub
    return out


_RULE_TAG = re.compile(r"-(IV|MD|ME|MF|CMF)$", re.IGNORECASE)


def named_outputs(folder: Path, ids: Iterable[str]) -> dict[str, str]:
    """Method -> stem pattern for a flat folder of fused files named around the sample id.

    Recognises `<id>_<method>` / `<id>-<method>` (VIFB, MFIF as in their repositories) and
    `<method>-<id>` / `<method>_<id>` (IFCNN: `IFCNN-MAX-IV-Camp` gives method 'IFCNN-MAX' with
    pattern 'IFCNN-MAX-IV-{id}'). The longest matching id wins. Files naming no id are skipped.
    """
    ids = sorted(set(ids), key=len, reverse=True)
    formats: dict[str, str] = {}
    if not folder.is_dir():
        return formats
    for f in sorted(folder.iterdir()):
        if not (f.is_file() and is_image_name(f)):
            continue
        stem = f.stem
        for i in ids:
            if len(stem) > len(i) + 1 and stem.startswith(i) and stem[len(i)] in "_-":
                method, pattern = stem[len(i) + 1:], "{id}" + stem[len(i):]
            elif len(stem) > len(i) + 1 and stem.endswith(i) and stem[-len(i) - 1] in "_-":
                prefix = stem[:-len(i)]
                method, pattern = _RULE_TAG.sub("", prefix[:-1]), prefix + "{id}"
            else:
                continue
            formats.setdefault(method, pattern)
            break
    return formats


def find_precomputed(root: Path, ids: Iterable[str]) -> tuple[dict[str, Path], dict[str, str]]:
    """Fused outputs distributed with a dataset, as (precomputed, precomputed_format).

    - `root/fused/<method>/` with files named by sample id (VIFB, TNO, MFIF as staged here, DRMF);
    - `root/fused_<Method>/`: files named by id -> {Method: folder}; otherwise names around the
      id (IFCNN's `fused_IFCNN/IFCNN-MAX-IV-<id>.png`) -> one method per naming pattern;
    - `root/output/fused_images/` (VIFB) or `root/fused_images/` (MFIF): the repositories' flat
      `<id>_<method>.jpg` -> one method per suffix, all pointing at that folder.
    Only methods with at least one file for one of `ids` are kept.
    """
    ids = set(ids) | {i.rsplit("/", 1)[-1] for i in ids}  # 'train/00001D' is read as '00001D'
    precomputed: dict[str, Path] = {}
    formats: dict[str, str] = {}
    fused = root / "fused"
    for method, folder in image_subfolders(fused).items():
        if any(f.stem in ids for f in folder.iterdir() if is_image_name(f)):
            precomputed[method] = folder
    if not root.is_dir():
        return precomputed, formats
    flat = [p for p in root.iterdir() if p.is_dir() and p.name.lower().startswith("fused_")]
    for cand in (root / "output" / "fused_images", root / "fused_images"):
        if cand.is_dir() and cand not in flat:
            flat.append(cand)
    for folder in sorted(flat):
        stems = {f.stem for f in folder.iterdir() if f.is_file() and is_image_name(f)}
        if stems & ids and folder.name.lower().startswith("fused_") and \
                folder.name.lower() != "fused_images":
            precomputed[folder.name[len("fused_"):]] = folder
            continue
        for method, pattern in named_outputs(folder, ids).items():
            precomputed.setdefault(method, folder)
            formats.setdefault(method, pattern)
    return precomputed, formats


def with_precomputed(ds: Dataset, root: Path) -> Dataset:
    """Fill ds.precomputed (and options['precomputed_format']) from the folders under root."""
    precomputed, formats = find_precomputed(root, [s.id for s in ds.samples])
    ds.precomputed = precomputed
    if formats:
        ds.options["precomputed_format"] = formats
    return ds


def attach_gt(samples: list[Sample], gt_folder: Path | None,
              key=lambda s: s) -> tuple[list[Sample], list[Problem]]:
    """Set Sample.gt from a folder of reference images matched by `key(stem)` == sample id."""
    from dataclasses import replace
    if gt_folder is None:
        return samples, []
    images, problems = scan_images(gt_folder)
    index: dict[str, Path] = {}
    for p in images:
        k = key(p.stem)
        if k is not None:
            index.setdefault(k, p)
    return [replace(s, gt=index.get(s.id, s.gt)) for s in samples], problems


def parse_modalities(options: Mapping[str, str], n: int, task: str,
                     dataset: str) -> tuple[str, ...]:
    """The `modalities=` option (n distinct names), or the task's default names."""
    value = options.get("modalities")
    default = stack_names(task, n)
    if not value:
        return default
    mods = tuple(m.strip() for m in value.split(",") if m.strip())
    if len(mods) != n or len(set(mods)) != n:
        raise DatasetError(f"dataset {dataset}: modalities={value!r} must name {n} distinct "
                           f"sources (one per folder/suffix), e.g. modalities={','.join(default)}")
    return mods


# ---------------------------------------------------------------------------------------------
# pairs / stacks
# ---------------------------------------------------------------------------------------------

PAIRS_LAYOUT = ("DIR_A,DIR_B[,...]: one folder per source with files of the same stem; or one "
                "DIR with ?suffixes=_IR,_Vis pairing <id>_IR.* with <id>_Vis.*")


def _task(options: Mapping[str, str], dataset: str, allowed=FUSION_TASKS) -> str:
    if not options.get("task"):
        raise DatasetError(f"dataset {dataset} needs the fusion task: add ?task="
                           f"{'|'.join(allowed)} to the spec, e.g. {dataset}:DIR?task={allowed[0]}")
    return choice(options, "task", allowed, None, dataset)


@DATASETS.register(
    "pairs", task="any", needs_root=False, needs_text="folders: DIR_A,DIR_B (or DIR?suffixes=...)",
    description="any folders of registered sources paired by file stem or by name suffix",
    layout=PAIRS_LAYOUT,
    options={"task": "required: ivf, medical, mff or mef",
             "modalities": "comma-separated source names, one per folder/suffix (default by "
                           "task: ir,vis / under,over / a,b)",
             "suffixes": "pair files inside ONE folder by name suffix, e.g. _IR,_Vis or _1,_2 "
                         "(case-insensitive)",
             "gt": "folder of ground-truth/reference images named by sample id (optional)"},
    source="Your own folders. Examples from the shared data: "
           "pairs:ivf/IFCNN_IVDataset?suffixes=_IR,_Vis&task=ivf (IFCNN, github.com/uzeful/IFCNN, "
           "Code/datasets/IVDataset); pairs:medical/IFCNN_MDDataset?suffixes=_1,_2&task=medical; "
           "pairs:mff/U2Fusion_MFF/near,mff/U2Fusion_MFF/far?task=mff (github.com/hanna-xu/U2Fusion, "
           "test_imgs). Paths may not contain commas. Nothing is downloaded.",
    modalities=())
def open_pairs(root: Path | None, options: dict[str, str]) -> list[Dataset]:
    name = "pairs"
    if root is None:
        raise DatasetError(f"dataset pairs needs folders: pairs:DIR_A,DIR_B?task=ivf or "
                           f"pairs:DIR?suffixes=_IR,_Vis&task=ivf. Expected layout: {PAIRS_LAYOUT}")
    task = _task(options, name)
    folders = [Path(p.strip()).expanduser() for p in str(root).split(",") if p.strip()]
    for f in folders:
        if not f.is_dir():
            raise DatasetError(f"dataset pairs: folder {f} does not exist. Expected layout: "
                               f"{PAIRS_LAYOUT}")
    suffixes = [s.strip() for s in options.get("suffixes", "").split(",") if s.strip()]
    if suffixes:
        if len(folders) != 1:
            raise DatasetError("dataset pairs: suffixes= pairs files inside ONE folder; give a "
                               f"single DIR, not {len(folders)}")
        if len(suffixes) < 2:
            raise DatasetError(f"dataset pairs: suffixes={options['suffixes']!r} must name at "
                               "least two suffixes, e.g. suffixes=_IR,_Vis")
        mods = parse_modalities(options, len(suffixes), task, name)
        base = folders[0]
        samples, problems = pair_by_stem({m: base for m in mods},
                                         key={m: suffix_key(re.escape(s))
                                              for m, s in zip(mods, suffixes)})
        keys = [suffix_key(re.escape(s)) for s in suffixes]
        images, _ = list_images(base)
        for p in images:
            if all(k(p.stem) is None for k in keys):
                problems.append(Problem(p.stem, str(p), f"{p.name} matches none of the suffixes "
                                        f"{', '.join(suffixes)}; ignored"))
    else:
        if len(folders) < 2:
            raise DatasetError(f"dataset pairs: one folder given without suffixes=. Expected "
                               f"layout: {PAIRS_LAYOUT}")
        mods = parse_modalities(options, len(folders), task, name)
        samples, problems = pair_by_stem(dict(zip(mods, folders)))
        base = Path(os.path.commonpath([str(f.resolve()) for f in folders]))
    if options.get("gt"):
        gt = Path(options["gt"]).expanduser()
        if not gt.is_dir():
            raise DatasetError(f"dataset pairs: gt folder {gt} does not exist")
        samples, gt_problems = attach_gt(samples, gt)
        problems += gt_problems
    return [with_precomputed(finish(name, task, base, mods, samples, problems, PAIRS_LAYOUT),
                             base)]


STACKS_LAYOUT = "ROOT/<stack>/<frame>.* : one sub-folder per stack of 2 or more registered frames"


def read_stacks(root: Path, task: str, id_prefix: str = "", split: str = "all"
                ) -> tuple[list[Sample], list[Problem]]:
    """One Sample per sub-folder of root holding >= 2 images (frames in natural name order)."""
    samples, problems = [], []
    for sub in sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: natural_key(p.name)):
        if sub.name.lower().startswith("fused"):
            continue
        frames, probs = scan_images(sub)
        problems += probs
        frames.sort(key=lambda p: natural_key(p.name))
        if not frames:
            continue  # not a stack folder (documentation, an empty folder)
        if len(frames) < 2:
            problems.append(Problem(id_prefix + sub.name, str(sub),
                                    f"stack folder {sub} holds {len(frames)} image(s); a stack "
                                    "needs at least 2; skipped"))
            continue
        samples.append(Sample(id=id_prefix + sub.name, sources=tuple(frames),
                              modalities=stack_names(task, len(frames)), split=split))
    return samples, problems


def unique_ids(samples: list[Sample]) -> list[Sample]:
    """Keep stems as ids unless two splits share one; then every id becomes '<split>/<stem>'."""
    from dataclasses import replace
    ids = [s.id for s in samples]
    if len(set(ids)) == len(ids):
        return samples
    return [replace(s, id=f"{s.split}/{s.id}") for s in samples]


def widest_modalities(samples: list[Sample], default: tuple[str, ...]) -> tuple[str, ...]:
    """Dataset-level modality names for stacks of varying length: those of the longest stack."""
    return max((s.modalities for s in samples), key=len, default=default)


@DATASETS.register(
    "stacks", task="any",
    description="one sub-folder per exposure/focus stack (any number of frames)",
    layout=STACKS_LAYOUT,
    options={"task": "required: mef or mff"},
    source="Your own folders, or the IFCNN multi-exposure set (github.com/uzeful/IFCNN, "
           "Code/datasets/MEDataset, 6 stacks of 4-6 frames; point at MEDataset). Shared data: "
           "stacks:mef/IFCNN_MEDataset?task=mef. Nothing is downloaded.",
    modalities=())
def open_stacks(root: Path | None, options: dict[str, str]) -> list[Dataset]:
    task = _task(options, "stacks", ("mef", "mff"))
    samples, problems = read_stacks(root, task)
    if not samples and only_stray_files(problems):
        raise layout_error("stacks", root, STACKS_LAYOUT)
    ds = finish("stacks", task, root, widest_modalities(samples, stack_names(task, 2)), samples,
                problems, STACKS_LAYOUT)
    return [with_precomputed(ds, root)]
