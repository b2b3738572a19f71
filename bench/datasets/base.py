"""The data model every adapter speaks: Sample, Problem, Dataset, and pairing helpers.

A Sample holds paths only; images are read when a job needs them (lazy loading). A Dataset is
a named, split-aware, ordered list of Samples with a fusion task, class lists and palette where
labelled, the problems found while discovering files, and a fingerprint of its file list and
content hashes.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

if TYPE_CHECKING:
    import numpy as np

from .. import hashing
from ..imageio import is_image_name

FUSION_TASKS = ("ivf", "medical", "mff", "mef")

# File names that distributions carry by accident and that are not worth a failure record.
IGNORED_NAMES = frozenset({"thumbs.db", ".ds_store", "desktop.ini"})


class DatasetError(ValueError):
    """A dataset that cannot be opened at all (missing root, unknown layout)."""


@dataclass(frozen=True)
class Sample:
    """One registered pair (or stack) of sources.

    id: unique within its dataset (normally the file stem; 'subset/stem' where needed).
    sources: source files in the dataset's modality order (2 for a pair, more for a stack).
    modalities: names of the sources, e.g. ('ir', 'vis'), ('mri', 'ct'), ('near', 'far'),
        ('under', 'over').
    split: 'train', 'val', 'test' or 'all'.
    gt: ground truth (all-in-focus image, reference exposure), when the dataset has one.
    boxes: label-set name -> box file (YOLO .txt or VOC .xml). The dataset's `default_label_set`
        names the one to use by default.
    mask: class-index PNG (values index the dataset's seg_classes).
    """

    id: str
    sources: tuple[Path, ...]
    modalities: tuple[str, ...]
    split: str = "all"
    gt: Path | None = None
    boxes: Mapping[str, Path] = field(default_factory=dict)
    mask: Path | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def files(self) -> list[tuple[str, Path]]:
        """(role, path) for every file the sample depends on, in a fixed order."""
        out = [(m, p) for m, p in zip(self.modalities, self.sources)]
        if self.gt is not None:
            out.append(("gt", self.gt))
        for name in sorted(self.boxes):
            out.append((f"boxes:{name}", self.boxes[name]))
        if self.mask is not None:
            out.append(("mask", self.mask))
        return out


@dataclass(frozen=True)
class Problem:
    """Something wrong found while discovering a dataset; becomes a failure record."""

    sample: str  # the sample id it concerns, or the file name
    path: str
    reason: str


@dataclass
class Dataset:
    """A named collection of samples for one fusion task.

    name: how records and tables name it ('tno', 'harvard/MRI_CT', 'samples/ivf').
    det_classes: detection class names, index = YOLO class id.
    seg_classes: segmentation class names, index = mask value; `ignore_index` marks unlabelled.
    palette: RGB colour per seg class, for visualisation.
    default_label_set: the box set `read_boxes` uses when none is named ('union' = all sets
        merged by IoU, see labels.union_boxes).
    mask_lut: file value -> class index for masks stored with other values (e.g. {255: 1});
        values not in the table map to `ignore_index` (or raise when there is none).
    precomputed: method name -> folder of fused outputs distributed with the dataset.
    """

    name: str
    task: str
    root: Path | None
    modalities: tuple[str, ...]
    samples: list[Sample]
    problems: list[Problem] = field(default_factory=list)
    det_classes: tuple[str, ...] = ()
    seg_classes: tuple[str, ...] = ()
    palette: tuple[tuple[int, int, int], ...] = ()
    ignore_index: int | None = None
    default_label_set: str | None = None
    mask_lut: Mapping[int, int] | None = None
    precomputed: dict[str, Path] = field(default_factory=dict)
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    _fingerprint: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.task not in FUSION_TASKS:
            raise DatasetError(f"dataset {self.name}: task must be one of {FUSION_TASKS}, "
                               f"got {self.task!r}")
        seen: set[str] = set()
        for s in self.samples:
            if s.id in seen:
                raise DatasetError(f"dataset {self.name}: duplicate sample id {s.id!r}")
            seen.add(s.id)

    @property
    def splits(self) -> list[str]:
        return sorted({s.split for s in self.samples})

    def select(self, split: str | None = None, ids: Iterable[str] | None = None) -> "Dataset":
        """A copy restricted to one split and/or a set of ids (problems are kept)."""
        keep = self.samples
        if split not in (None, "", "all"):
            if split not in self.splits:
                raise DatasetError(f"dataset {self.name}: no split {split!r}; it has "
                                   f"{', '.join(self.splits) or 'no samples'}")
            keep = [s for s in keep if s.split == split]
        if ids is not None:
            wanted = set(ids)
            keep = [s for s in keep if s.id in wanted]
        return Dataset(**{**self.__dict__, "samples": keep, "_fingerprint": None})

    def fingerprint(self) -> str:
        """Hash of (split, id, role, relative path, content hash) over every file, sorted."""
        if self._fingerprint is None:
            lines = []
            for s in self.samples:
                for role, p in s.files():
                    rel = _relative(p, self.root)
                    lines.append(f"{s.split}\t{s.id}\t{role}\t{rel}\t{hashing.file_digest(p)}")
            lines.sort()
            self._fingerprint = hashing.digest_strings([self.name, self.task, *lines])
        return self._fingerprint

    def read_boxes(self, sample: Sample, label_set: str | None = None) -> "np.ndarray":
        """YOLO-form boxes (n, 5) of one sample for a label set; 'union' merges every set."""
        from .labels import read_boxes, union_boxes
        label_set = label_set or self.default_label_set
        if label_set == "union":
            sets = [read_boxes(sample.boxes[n], self.det_classes) for n in sorted(sample.boxes)]
            return union_boxes(sets)
        if label_set is None:
            if len(sample.boxes) != 1:
                raise DatasetError(f"dataset {self.name}: sample {sample.id} has label sets "
                                   f"{sorted(sample.boxes)}; name one")
            label_set = next(iter(sample.boxes))
        if label_set not in sample.boxes:
            raise DatasetError(f"dataset {self.name}: sample {sample.id} has no {label_set!r} boxes")
        return read_boxes(sample.boxes[label_set], self.det_classes)

    def read_mask(self, sample: Sample) -> "np.ndarray":
        """Class-index mask (H x W, int64) of one sample, with `mask_lut` applied."""
        import numpy as np
        from ..imageio import read_image
        if sample.mask is None:
            raise DatasetError(f"dataset {self.name}: sample {sample.id} has no mask")
        raw = read_image(sample.mask)
        if raw.mode != "L":
            raise DatasetError(f"{sample.mask}: a class-index mask must be single-channel")
        values = raw.data.astype(np.int64)
        if not self.mask_lut:
            return values
        out = np.full(values.shape, -1, dtype=np.int64)
        for src, dst in self.mask_lut.items():
            out[values == src] = dst
        if (out < 0).any():
            if self.ignore_index is None:
                bad = sorted(set(np.unique(values[out < 0]).tolist()))[:5]
                raise DatasetError(f"{sample.mask}: mask values {bad} are not in the class table")
            out[out < 0] = self.ignore_index
        return out

    def file_list(self) -> list[tuple[str, str, str, str]]:
        """(split, id, role, relative path) rows, for split files and manifests."""
        return [(s.split, s.id, role, _relative(p, self.root))
                for s in self.samples for role, p in s.files()]


def _relative(p: Path, root: Path | None) -> str:
    if root is None:
        return p.name
    try:
        return os.path.relpath(p, root)
    except ValueError:
        return str(p)


# ---------------------------------------------------------------------------------------------
# Discovery helpers shared by the adapters
# ---------------------------------------------------------------------------------------------

def list_images(folder: Path) -> tuple[list[Path], list[Problem]]:
    """Image files directly in `folder` (sorted), plus a Problem per non-image file."""
    images, problems = [], []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.is_dir() or entry.name.startswith("."):
            continue
        if entry.name.lower() in IGNORED_NAMES:
            continue
        if is_image_name(entry):
            images.append(entry)
        else:
            problems.append(Problem(entry.name, str(entry),
                                    f"not an image file, ignored: {entry} (supported: png, jpg, "
                                    "bmp, tif)"))
    return images, problems


def require_dir(root: Path, *candidates: str) -> Path:
    """First existing sub-folder of root among candidates (case-insensitive), else DatasetError."""
    found = find_dir(root, *candidates)
    if found is None:
        raise DatasetError(f"{root}: expected a folder named {' or '.join(candidates)}; found "
                           f"{', '.join(sorted(p.name for p in root.iterdir() if p.is_dir())) or 'none'}")
    return found


def find_dir(root: Path, *candidates: str) -> Path | None:
    if not root.is_dir():
        return None
    by_lower = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    for c in candidates:
        p = root / c
        if p.is_dir():
            return p
        if c.lower() in by_lower:
            return by_lower[c.lower()]
    return None


def pair_by_stem(folders: Mapping[str, Path], *, split: str = "all",
                 key: Callable[[str], str | None] | Mapping[str, Callable[[str], str | None]] | None = None,
                 id_prefix: str = "",
                 gt_folder: Path | None = None,
                 box_folders: Mapping[str, Path] | None = None,
                 mask_folder: Path | None = None,
                 meta: Mapping[str, Any] | None = None) -> tuple[list[Sample], list[Problem]]:
    """Match files across modality folders by a key (default: the file stem).

    folders: modality name -> folder, in source order. key: stem -> match key (None = skip the
    file), one function for all folders or one per modality. A key present in some but not all
    folders gives a 'missing partner' Problem. Optional gt/mask folders are matched by the same
    key (absent files are allowed); box folders map label-set name -> folder of .txt/.xml files.
    """
    mods = list(folders)
    keyfns = {m: (key[m] if isinstance(key, Mapping) else key) or (lambda s: s) for m in mods}
    found: dict[str, dict[str, Path]] = {m: {} for m in mods}
    problems: list[Problem] = []
    for m in mods:
        images, probs = list_images(folders[m])
        problems.extend(probs)
        for p in images:
            k = keyfns[m](p.stem)
            if k is None:
                continue
            if k in found[m]:
                problems.append(Problem(k, str(p), f"two files with the key {k!r} in {folders[m]}: "
                                        f"{found[m][k].name} and {p.name}; using the first"))
                continue
            found[m][k] = p
    gts = _index(gt_folder, keyfns[mods[0]]) if gt_folder else {}
    masks = _index(mask_folder, keyfns[mods[0]]) if mask_folder else {}
    boxes = {name: _index(folder, lambda s: s, exts=(".txt", ".xml"))
             for name, folder in (box_folders or {}).items()}
    all_keys = sorted(set().union(*[set(v) for v in found.values()]))
    samples: list[Sample] = []
    for k in all_keys:
        missing = [m for m in mods if k not in found[m]]
        if missing:
            have = [found[m][k] for m in mods if k in found[m]]
            problems.append(Problem(id_prefix + k, str(have[0]),
                                    f"missing partner: no {'/'.join(missing)} file for "
                                    f"{have[0].name} in {', '.join(str(folders[m]) for m in missing)}"))
            continue
        sample_boxes = {name: idx[k] for name, idx in boxes.items() if k in idx}
        samples.append(Sample(id=id_prefix + k, sources=tuple(found[m][k] for m in mods),
                              modalities=tuple(mods), split=split, gt=gts.get(k),
                              boxes=sample_boxes, mask=masks.get(k), meta=dict(meta or {})))
    return samples, problems


def _index(folder: Path | None, keyfn: Callable[[str], str | None],
           exts: tuple[str, ...] | None = None) -> dict[str, Path]:
    out: dict[str, Path] = {}
    if folder is None or not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        if exts is not None:
            if p.suffix.lower() not in exts:
                continue
        elif not is_image_name(p):
            continue
        k = keyfn(p.stem)
        if k is not None and k not in out:
            out[k] = p
    return out


def suffix_key(suffix_pattern: str) -> Callable[[str], str | None]:
    """Key function for names like '<id>_A' / '<id>-a': strips a case-insensitive suffix regex."""
    rx = re.compile(rf"^(?P<id>.+?){suffix_pattern}$", re.IGNORECASE)

    def key(stem: str) -> str | None:
        m = rx.match(stem)
        return m.group("id") if m else None

    return key


def empty_dataset_problem(root: Path, expected: str) -> Problem:
    return Problem("*", str(root), f"no sample pairs found in {root}; expected layout: {expected}. "
                   "Check the path, or run `python -m bench datasets fetch-info NAME`.")
