"""Training pairs for SMC-Mamba: where they come from, how they are read, cropped and fingerprinted.

Data specs (`--data`, comma-separated, as `bench train smc` takes them):

* any harness dataset spec, `NAME:ROOT[?k=v]` (see `bench.datasets`), e.g.
  `roadscene:/data/RoadScene`, `msrs:/data/MSRS?split=train`. The dataset's task must be the
  training task. A dataset with a `train` split and no `split=` option contributes its train
  split only (so `msrs:/data/MSRS` never trains on the MSRS test pairs); say `split=all` to
  take everything.
* `split:NAME` -> the split file `methods/smc_mamba/splits/NAME_train.txt` (NAME = ivf,
  medical, medical_ct, medical_pet, medical_spect, mff, mef); `split:PATH` (a path ending in
  .txt or holding a '/') -> that file. `--split-file FILE` is the same as `split:FILE`.
  The paths in a split file are relative to the data root: `--data-root`, else FUSEBENCH_DATA,
  else `../shared/data` next to the repository (`bench.paths.shared_data`).

Split-file format: UTF-8 text, one training sample per line, its source paths separated by a TAB
in the model's source order ((ir, vis), (mri, ct|pet|spect), (a, b), (under, over)); more than
two paths form an exposure/focus stack. `#` lines are comments; `# task: NAME` declares the task
(checked against `--task`).

Reading: each source is read with `bench.imageio.read_image` (8/16 bit, grey/RGB/RGB-but-grey),
scaled to [0, 1] and reduced to its BT.601 Y plane with `bench.colour.split_sources`, exactly as
the benchmark harness feeds methods. A stack of more than two frames is reduced to its darkest
and brightest frame (by mean Y) as (under, over). Pairs whose sources differ in size are skipped
with a warning naming the files (sizes are read from the file headers, before training starts).

Sampling (deterministic, stateless, so that a resumed run sees the same data): epoch e visits
the pairs in the order `default_rng([seed, e, 0]).permutation(n)`; iteration `it` crops with
`default_rng([seed, it, 1])`: a random crop of min(crop, H) x min(crop, W) and independent
horizontal / vertical flips with probability 1/2.

Data fingerprint: BLAKE2b-128 of the sorted lines `<path>\\t<size in bytes>` of every training
file, where <path> is relative to the data root when the file lies under it and absolute
otherwise.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from bench import paths
from bench.datasets.base import DatasetError

SPLITS_DIR = Path(__file__).resolve().parent / "splits"
TASKS = ("ivf", "medical", "mff", "mef")


@dataclass(frozen=True)
class TrainPair:
    """One training sample: 2 sources (or a stack), in the model's source order."""

    id: str
    sources: tuple[Path, ...]
    origin: str  # the spec or split file it came from


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """--data-root, else FUSEBENCH_DATA, else ../shared/data next to the repository."""
    return Path(explicit).expanduser() if explicit else paths.shared_data()


# ---------------------------------------------------------------------------------------------
# Resolving specs and split files
# ---------------------------------------------------------------------------------------------

def split_file_path(name: str) -> Path:
    """`ivf` -> splits/ivf_train.txt; a path (has '/' or ends in .txt) -> itself."""
    if "/" in name or os.sep in name or name.endswith(".txt"):
        return Path(name).expanduser()
    return SPLITS_DIR / f"{name}_train.txt"


def read_split_file(path: Path, root: Path, task: str | None = None) -> list[TrainPair]:
    """The pairs a split file lists, as absolute paths under `root`; checks task and files."""
    if not path.is_file():
        known = ", ".join(sorted(p.name[:-len("_train.txt")] for p in SPLITS_DIR.glob("*_train.txt")))
        raise DatasetError(f"split file {path} not found (shipped splits: {known or 'none'})")
    declared = None
    pairs: list[TrainPair] = []
    missing: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            if key.strip().lower() == "task":
                declared = value.strip()
            continue
        rels = [p.strip() for p in line.split("\t") if p.strip()]
        if len(rels) < 2:
            raise DatasetError(f"{path}:{n}: a line needs at least two TAB-separated source paths, "
                               f"got {line!r}")
        files = tuple(root / r for r in rels)
        missing += [str(f) for f in files if not f.is_file()]
        pairs.append(TrainPair(id=rels[0], sources=files, origin=str(path)))
    if task and declared and declared != task:
        raise DatasetError(f"split file {path} is for task {declared!r}, not {task!r}")
    if missing:
        raise DatasetError(f"split file {path}: {len(missing)} listed file(s) missing under the "
                           f"data root {root} (set --data-root or FUSEBENCH_DATA), e.g. {missing[0]}")
    if not pairs:
        raise DatasetError(f"split file {path} lists no pairs")
    return pairs


def _from_dataset_spec(spec: str, task: str) -> tuple[list[TrainPair], list[str]]:
    from bench.datasets import open_datasets, parse_spec
    _, _, options = parse_spec(spec)
    notes: list[str] = []
    pairs: list[TrainPair] = []
    for ds in open_datasets(spec):
        if ds.task != task:
            raise DatasetError(f"--data {spec}: dataset {ds.name} is a {ds.task} dataset, but the "
                               f"training task is {task}")
        samples = ds.samples
        if not options.get("split") and "train" in ds.splits:
            samples = [s for s in samples if s.split == "train"]
            notes.append(f"{ds.name}: using its train split only ({len(samples)} of "
                         f"{len(ds.samples)} samples; add ?split=all to take every split)")
        for prob in ds.problems:
            notes.append(f"{ds.name}: {prob.reason}")
        pairs += [TrainPair(id=f"{ds.name}/{s.id}", sources=tuple(s.sources), origin=spec)
                  for s in samples if len(s.sources) >= 2]
    return pairs, notes


def resolve_training_data(specs: Sequence[str], task: str, root: Path | None = None,
                          split_files: Sequence[str | os.PathLike] = ()
                          ) -> tuple[list[TrainPair], list[str]]:
    """Every training pair the specs and split files name (in order, duplicates dropped)."""
    if task not in TASKS:
        raise DatasetError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    root = root or data_root()
    items = [("spec", s) for s in specs if s and s.strip()] + [("file", str(f)) for f in split_files]
    if not items:
        raise DatasetError("no training data: pass --data SPEC[,SPEC...] (a dataset spec such as "
                           "roadscene:/data/RoadScene, or split:ivf for the shipped split) or "
                           "--split-file FILE")
    pairs: list[TrainPair] = []
    notes: list[str] = []
    for kind, value in items:
        value = value.strip()
        if kind == "file" or value.lower().startswith("split:"):
            name = value.split(":", 1)[1] if kind == "spec" else value
            if not name.strip():
                raise DatasetError("split: needs a name or a file, e.g. split:ivf")
            pairs += read_split_file(split_file_path(name.strip()), root, task)
        else:
            got, more = _from_dataset_spec(value, task)
            if not got:
                raise DatasetError(f"--data {value}: no sample pairs found")
            pairs += got
            notes += more
    seen: set[tuple[str, ...]] = set()
    unique = []
    for p in pairs:
        key = tuple(str(s.resolve()) for s in p.sources)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    if len(unique) < len(pairs):
        notes.append(f"{len(pairs) - len(unique)} duplicate pair(s) dropped")
    return unique, notes


# ---------------------------------------------------------------------------------------------
# Size check and fingerprint
# ---------------------------------------------------------------------------------------------

def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header (PIL), falling back to a full decode."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            return im.size
    except Exception:
        from bench.imageio import read_image
        h, w = read_image(path).shape
        return w, h


def check_sizes(pairs: Iterable[TrainPair]) -> list[TrainPair]:
    """Pairs whose sources share one size; the others are skipped with a warning naming them."""
    keep = []
    for p in pairs:
        sizes = [image_size(s) for s in p.sources]
        if len(set(sizes)) == 1:
            keep.append(p)
        else:
            desc = ", ".join(f"{s} is {w}x{h}" for s, (w, h) in zip(p.sources, sizes))
            warnings.warn(f"skipping training pair {p.id}: sources differ in size ({desc})",
                          stacklevel=2)
    return keep


def display_path(path: Path, root: Path | None) -> str:
    """Path relative to the data root when under it, else absolute (POSIX separators)."""
    absolute = Path(os.path.abspath(path))
    if root is not None:
        try:
            return absolute.relative_to(Path(os.path.abspath(root))).as_posix()
        except ValueError:
            pass
    return absolute.as_posix()


def fingerprint(pairs: Iterable[TrainPair], root: Path | None) -> tuple[str, int]:
    """(hash of the sorted '<path>\\t<bytes>' lines of every training file, number of files)."""
    from bench.hashing import digest_strings
    lines = sorted({f"{display_path(s, root)}\t{os.path.getsize(s)}" for p in pairs for s in p.sources})
    return digest_strings(lines), len(lines)


# ---------------------------------------------------------------------------------------------
# Reading and sampling
# ---------------------------------------------------------------------------------------------

def read_y(path: Path) -> np.ndarray:
    """One source as its BT.601 Y plane, float32 in [0, 1] (grey sources: the grey plane)."""
    from bench.colour import split_sources
    from bench.imageio import read_image
    return split_sources([read_image(path).to_float01()]).ys[0]


def load_pair(pair: TrainPair) -> tuple[np.ndarray, np.ndarray]:
    """(Y_1, Y_2); a stack gives (darkest, brightest) by mean Y."""
    ys = [read_y(p) for p in pair.sources]
    if len(ys) > 2:
        means = [float(y.mean()) for y in ys]
        ys = [ys[int(np.argmin(means))], ys[int(np.argmax(means))]]
    if ys[0].shape != ys[1].shape:
        raise ValueError(f"training pair {pair.id}: sources differ in size: "
                         f"{[tuple(y.shape) for y in ys]}")
    return ys[0], ys[1]


class PairSampler:
    """Deterministic (seeded, stateless) crops of the training pairs; see the module docstring."""

    def __init__(self, pairs: Sequence[TrainPair], crop: int, seed: int,
                 cache_bytes: int = 1 << 30):
        if not pairs:
            raise DatasetError("no training pairs left (every pair was skipped)")
        if crop < 2:
            raise ValueError(f"crop must be at least 2 pixels, got {crop}")
        self.pairs = list(pairs)
        self.crop = int(crop)
        self.seed = int(seed)
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.pairs)

    def order(self, epoch: int) -> np.ndarray:
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng([self.seed, epoch, 0]).permutation(len(self)))
        return self._order[1]

    def _load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        pair = load_pair(self.pairs[index])
        size = pair[0].nbytes + pair[1].nbytes
        if size <= self.cache_bytes:
            self._cache[index] = pair
            self._cached += size
            while self._cached > self.cache_bytes:
                _, old = self._cache.popitem(last=False)
                self._cached -= old[0].nbytes + old[1].nbytes
        return pair

    def index_at(self, it: int) -> int:
        epoch, k = divmod(int(it), len(self))
        return int(self.order(epoch)[k])

    def sample(self, it: int) -> tuple[np.ndarray, np.ndarray, str]:
        """(crop_1, crop_2, pair id) for iteration `it` (0-based), float32 H x W in [0, 1]."""
        index = self.index_at(it)
        y1, y2 = self._load(index)
        rng = np.random.default_rng([self.seed, int(it), 1])
        h, w = y1.shape
        ch, cw = min(self.crop, h), min(self.crop, w)
        top = int(rng.integers(0, h - ch + 1))
        left = int(rng.integers(0, w - cw + 1))
        a = y1[top:top + ch, left:left + cw]
        b = y2[top:top + ch, left:left + cw]
        if rng.random() < 0.5:
            a, b = a[:, ::-1], b[:, ::-1]
        if rng.random() < 0.5:
            a, b = a[::-1], b[::-1]
        return np.ascontiguousarray(a), np.ascontiguousarray(b), self.pairs[index].id


# ---------------------------------------------------------------------------------------------
# Generating the shipped split files from the shared data
# ---------------------------------------------------------------------------------------------

# Never trained on: what the default benchmark reports on, and sets that hold the same images.
BENCHMARK_EXCLUDED = {
    "ivf/TNO_ImageFusion/": "TNO (the standard 25-pair subset is benchmarked; the other 17 pairs "
                            "are the same scenes/sensors and are left out as well)",
    "ivf/VIFB/": "VIFB (benchmark)",
    "ivf/MSRS_test_subset/": "MSRS test pairs (benchmark)",
    "ivf/DRMF_IVIF_norm/val/": "DRMF val: MSRS test pairs + LLVIP frames",
    "medical/DRMF_MIF_norm/val/": "DRMF medical val (shipped with DRMF's fused outputs)",
    "ivf/IFCNN_IVDataset/": "IFCNN IV pairs: classic TNO/OCTEC scenes (overlap with TNO)",
    "ivf/TarDAL_samples/": "TarDAL samples: include a TNO pair",
    "mff/MFIF_benchmark/input/lytro_": "Lytro (benchmark)",
    "mff/MFIF_benchmark/input/mffw_": "MFFW (benchmarked with precomputed outputs)",
    "mff/IFCNN_CMF_TripleSeries/": "Lytro triple series",
    "mff/U2Fusion_MFF/": "U2Fusion multi-focus test pairs (Lytro images)",
}
# Path patterns a training split must never contain (the test suite checks the shipped files).
FORBIDDEN_PATTERNS = tuple(BENCHMARK_EXCLUDED) + ("/fused/", "fused_IFCNN", "reference_metrics")

SPLIT_SEED = 0
HARVARD_TRAIN_FRACTION = 0.6
MEFB_TRAIN_FRACTION = 0.5
DUP_THRESHOLD = 0.97  # thumbnail correlation above which an extra pair counts as a duplicate


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.abspath(path)).relative_to(Path(os.path.abspath(root))).as_posix()


def _samples(spec: str, split: str | None = None):
    from bench.datasets import open_datasets
    out = []
    for ds in open_datasets(spec):
        out += [(ds.name, s) for s in ds.samples if split in (None, s.split)]
    return out


def _pick_extremes(sources: Sequence[Path]) -> tuple[Path, Path]:
    if len(sources) == 2:
        return sources[0], sources[1]
    means = [float(read_y(p).mean()) for p in sources]
    return sources[int(np.argmin(means))], sources[int(np.argmax(means))]


@functools.lru_cache(maxsize=None)
def _thumb(path: Path) -> tuple[np.ndarray, float]:
    import cv2
    y = read_y(path)
    t = cv2.resize(y, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
    t = t - t.mean()
    n = np.linalg.norm(t)
    return (t / n if n > 0 else t), y.shape[1] / y.shape[0]


class _DupIndex:
    """Near-duplicate screen: correlation of 32x32 Y thumbnails of images of similar aspect."""

    def __init__(self, paths_: Iterable[Path]):
        self.items = [(p, *_thumb(p)) for p in paths_]

    def match(self, path: Path) -> tuple[Path, float] | None:
        t, aspect = _thumb(path)
        best = None
        for p, u, a in self.items:
            if abs(np.log(aspect / a)) > 0.05:
                continue
            c = float(t @ u)
            if c >= DUP_THRESHOLD and (best is None or c > best[1]):
                best = (p, c)
        return best


def _split(items: list, fraction: float, seed: int, salt: int) -> tuple[list, list]:
    order = np.random.default_rng([seed, salt]).permutation(len(items))
    k = int(round(fraction * len(items)))
    train = sorted(order[:k].tolist())
    held = sorted(order[k:].tolist())
    return [items[i] for i in train], [items[i] for i in held]


def make_splits(root: Path, out_dir: Path = SPLITS_DIR, seed: int = SPLIT_SEED,
                log=print) -> dict[str, int]:
    """Write the training / held-out split files for the four tasks; returns the line counts.

    Deterministic for a given data folder and seed. Every extra (non-benchmark-family) pair is
    screened against the held-out and benchmark images with `_DupIndex` and dropped on a match.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"data root {root} not found (set --data-root or FUSEBENCH_DATA)")
    out_dir.mkdir(parents=True, exist_ok=True)

    def pair_paths(sample) -> tuple[Path, ...]:
        return tuple(sample.sources)

    protected: list[Path] = []
    for prefix in BENCHMARK_EXCLUDED:
        base = root / prefix.rstrip("/") if prefix.endswith("/") else root / Path(prefix).parent
        if not base.exists():
            continue
        for f in sorted(base.rglob("*") if base.is_dir() else []):
            rel = _rel(f, root)
            if (f.is_file() and rel.startswith(prefix) and "/fused" not in rel
                    and f.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
                    and "mask" not in rel and "edge" not in rel and "ir_warp" not in rel):
                protected.append(f)

    splits: dict[str, list[tuple[Path, ...]]] = {}
    heldout: dict[str, list[tuple[Path, ...]]] = {}
    dropped: list[str] = []

    def screen(cands: list[tuple[Path, ...]], index: _DupIndex) -> list[tuple[Path, ...]]:
        keep = []
        for c in cands:
            hit = next((h for s in c if (h := index.match(s))), None)
            if hit:
                dropped.append(f"{_rel(c[0], root)} ~ {_rel(hit[0], root)} (r={hit[1]:.3f})")
            else:
                keep.append(c)
        return keep

    # IVF: RoadScene (CDDFuse copy), LLVIP train split, DRMF's MSRS train pairs.
    ivf = [pair_paths(s) for _, s in _samples(f"roadscene:{root / 'ivf/RoadScene_CDDFuse'}")]
    llvip_train = [pair_paths(s) for _, s in _samples(f"llvip:{root / 'ivf/LLVIP_samples'}", "train")]
    llvip_test = [pair_paths(s) for _, s in _samples(f"llvip:{root / 'ivf/LLVIP_samples'}", "test")]
    drmf = [pair_paths(s) for _, s in _samples(f"drmf:{root / 'ivf/DRMF_IVIF_norm'}", "train")]
    ivf_index = _DupIndex(protected + [p for c in llvip_test for p in c])
    splits["ivf"] = screen(ivf + llvip_train + drmf, ivf_index)
    heldout["ivf"] = llvip_test

    # Medical: 60 % of each Harvard subset (seeded), the rest held out; extras screened.
    med_train: dict[str, list] = {}
    med_held: list = []
    for salt, sub in enumerate(("CT", "PET", "SPECT")):
        items = [pair_paths(s) for _, s in _samples(f"harvard:{root / f'medical/MRI_{sub}_CDDFuse'}")]
        tr, ho = _split(items, HARVARD_TRAIN_FRACTION, seed, 10 + salt)
        med_train[sub.lower()] = tr
        med_held += ho
    med_index = _DupIndex([p for c in med_held for p in c] + protected)
    # DRMF's val pairs come with DRMF's fused outputs (a comparison set): train pairs only.
    drmf_mif = [pair_paths(s) for _, s in _samples(f"drmf-mif:{root / 'medical/DRMF_MIF_norm'}",
                                                   "train")]
    u2f_pet = [pair_paths(s) for _, s in _samples(f"harvard:{root / 'medical/U2Fusion_MRI_PET'}")]
    ifcnn_md = [pair_paths(s) for _, s in _samples(
        f"pairs:{root / 'medical/IFCNN_MDDataset'}?suffixes=_1,_2&task=medical")]
    med_train["ct"] += screen(drmf_mif, med_index)
    med_train["pet"] += screen(u2f_pet, med_index)
    extra_md = screen(ifcnn_md, med_index)
    for sub in ("ct", "pet", "spect"):
        splits[f"medical_{sub}"] = med_train[sub]
    splits["medical"] = med_train["ct"] + med_train["pet"] + med_train["spect"] + extra_md
    heldout["medical"] = med_held

    # MFF: MFI-WHU (the 30 pairs of the MFIF benchmark copy).
    mff = [pair_paths(s) for _, s in _samples(f"mfi-whu:{root / 'mff/MFIF_benchmark'}")]
    splits["mff"] = screen(mff, _DupIndex(protected))

    # MEF: half of MEFB (seeded), the rest held out; U2Fusion, IFCNN stacks and SICE screened.
    mefb = [pair_paths(s) for _, s in _samples(f"mefb:{root / 'mef/MEFB'}")]
    mefb_train, mefb_held = _split(mefb, MEFB_TRAIN_FRACTION, seed, 20)
    # Extras are screened against every MEFB pair (held out: leakage; train: a duplicate).
    mef_index = _DupIndex([p for c in mefb for p in c] + protected)
    extras = [pair_paths(s) for _, s in _samples(f"sice:{root / 'mef/SICE_MaskDiFuser'}")]
    extras += [pair_paths(s) for _, s in _samples(
        f"pairs:{root / 'mef/U2Fusion_MEF/dataset1/ue'},{root / 'mef/U2Fusion_MEF/dataset1/oe'}?task=mef")]
    extras += [pair_paths(s) for _, s in _samples(
        f"pairs:{root / 'mef/U2Fusion_MEF/dataset2/ue'},{root / 'mef/U2Fusion_MEF/dataset2/oe'}?task=mef")]
    extras += [_pick_extremes(s.sources) for _, s in _samples(
        f"stacks:{root / 'mef/IFCNN_MEDataset'}?task=mef")]
    splits["mef"] = mefb_train + screen(extras, mef_index)
    heldout["mef"] = mefb_held

    tasks = {"ivf": "ivf", "mff": "mff", "mef": "mef", "medical": "medical",
             "medical_ct": "medical", "medical_pet": "medical", "medical_spect": "medical"}
    counts = {}
    header = ("# SMC-Mamba {kind} split, generated by `python -m methods.smc_mamba.data "
              "make-splits --seed {seed}` (see splits/README.md).\n# task: {task}\n"
              "# Paths are relative to the data root (FUSEBENCH_DATA, default ../shared/data); "
              "one sample per line, sources TAB-separated.\n")
    for name, items in splits.items():
        lines = ["\t".join(_rel(p, root) for p in c) for c in items]
        (out_dir / f"{name}_train.txt").write_text(
            header.format(kind="training", seed=seed, task=tasks[name]) + "\n".join(lines) + "\n")
        counts[f"{name}_train"] = len(lines)
    for name, items in heldout.items():
        lines = ["\t".join(_rel(p, root) for p in c) for c in items]
        (out_dir / f"{name}_heldout.txt").write_text(
            header.format(kind="HELD-OUT (never trained on)", seed=seed, task=tasks[name])
            + "\n".join(lines) + "\n")
        counts[f"{name}_heldout"] = len(lines)
    (out_dir / "dropped_duplicates.txt").write_text(
        "# Extra pairs dropped by the near-duplicate screen (32x32 Y-thumbnail correlation >= "
        f"{DUP_THRESHOLD}) against held-out / benchmark images.\n" + "".join(d + "\n" for d in dropped))
    counts["dropped_duplicates"] = len(dropped)
    for k, v in counts.items():
        log(f"{k}: {v}")
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m methods.smc_mamba.data",
                                 description="SMC-Mamba training data utilities")
    sub = ap.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make-splits", help="(re)write methods/smc_mamba/splits/*.txt")
    mk.add_argument("--data-root", default=None)
    mk.add_argument("--seed", type=int, default=SPLIT_SEED)
    mk.add_argument("--out", type=Path, default=SPLITS_DIR)
    args = ap.parse_args(argv)
    try:
        make_splits(data_root(args.data_root), args.out, args.seed)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
