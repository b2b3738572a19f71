"""Downstream detection: YOLO mAP of a fusion method's fused images (task `detect`).

Protocols (named in every record's `profile`, e.g. 'fixed:union:yolov8n-256px-20ep-s0'):
- `fixed` (default, cheap): one detector trained once on a stated training source of the
  TRAINING split: `source=visible`, `infrared` or `union` (both modalities as separate images,
  default), then run on every method's fused VALIDATION images. It is cached under
  <cache>/detect/fixed-<key>/, key = dataset fingerprint + split file hash + label set + source
  + detector configuration, so a run (and any later run) trains it once.
- `retrain` (the field's standard, as in TarDAL): one detector per method, trained on that
  method's fused TRAINING images with the same seed / epochs / image size / hyper-parameters for
  every method, all scored on the common validation split. Kept in the run folder.

Splits: a dataset's own train + val (or test) splits when it has them (synthetic, MSRS with
split folders, LLVIP); otherwise a seeded split (`val_fraction`, default 0.25) of whole groups of
consecutive frame numbers (`group_block`, default 20 frames: ids '00012N' and '00017D' share
block 0), so near-duplicate neighbouring frames cannot leak from training into validation. The
split is written to <run>/detect/<dataset>/split.json (tasks._splits) and its SHA-256 recorded.

Labels: `label_set=` picks a dataset's box set (MSRS: infrared, visible, fusion, or union =
the sets merged by IoU >= 0.5); default: the dataset's default set.

Detector: `preset=cpu` (yolov8n from yaml, 256 px, 20 epochs, batch 8, AdamW lr 0.003, no
warm-up, no mosaic, seed 0) or `preset=gpu-msrs` (640 px, 100 epochs, batch 16, ultralytics'
default optimizer and augmentation, device 0);
`arch=yolov8n|yolo11n|yolo26n`, `epochs=`, `imgsz=`, `batch=`, `seed=`, `device=`, and
`weights=PATH` (a local .pt; a missing file is a clear failure, nothing is downloaded).

Records (dataset level, sample '*', split 'val', profile = protocol name, values in percent):
'mAP50', 'mAP50-95', 'precision', 'recall' (at the F1-optimal confidence), 'AP50/<class>',
'AP50-95/<class>' for each class with validation instances. The 'mAP50' record's `seconds` is the training time of the detector behind it (for
`fixed`: the one shared detector's time) and its `reason` holds a JSON summary: precision and
recall (percent), training and evaluation seconds, image and instance counts, split hash, the
detector configuration. The same summary, complete, is the side file
<run>/detect/<dataset>/<method>/<protocol>.json. A method that cannot be scored gets one failed
record with metric 'detect' and the reason.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

from bench.cache import safe_name
from bench.datasets.base import Dataset, Sample
from bench.hashing import digest_strings
from bench.imageio import is_image_name
from bench.registry import TASKS
from bench.store import Record

from . import _splits
from ._yolo import (LabelledImage, evaluate_detector, make_config, train_detector,
                    write_yolo_dataset)

PROTOCOLS = ("fixed", "retrain")
SOURCES = {"visible": ("vis", "vi", "visible"), "infrared": ("ir", "infrared"), "union": ()}
METRIC_TASK = "detect"
CACHE_VERSION = "detect-1"  # bump when what a cached fixed detector means changes


class DetectionError(RuntimeError):
    """A reason this (dataset, method) cannot be scored; becomes a failed record."""


# -- splits ---------------------------------------------------------------------------------------

def frame_groups(ids: list[str], block: int) -> dict[str, str]:
    """id -> group: the first number in the id's last path part // block ('00017D' -> 'f0');
    an id without digits is its own group."""
    out = {}
    for i in ids:
        m = re.search(r"\d+", i.rsplit("/", 1)[-1])
        prefix = i.rsplit("/", 1)[0] + "/" if "/" in i else ""
        out[i] = f"{prefix}f{int(m.group()) // block}" if m else i
    return out


def detection_split(ds: Dataset, val_fraction: float = 0.25, seed: int = 0,
                    group_block: int = 20) -> tuple[list[str], list[str], dict[str, str], str]:
    """-> (train ids, val ids, groups, how it was made)."""
    ids = [s.id for s in ds.samples]
    by_split: dict[str, list[str]] = {}
    for s in ds.samples:
        by_split.setdefault(s.split, []).append(s.id)
    held_out = next((k for k in ("val", "test") if k in by_split), None)
    if "train" in by_split and held_out:
        return by_split["train"], by_split[held_out], {}, f"dataset splits train/{held_out}"
    groups = frame_groups(ids, group_block)
    train, val = _splits.group_split(ids, groups, val_fraction, seed)
    return train, val, groups, (f"seeded split (seed {seed}, val fraction {val_fraction}) of "
                                f"frame blocks of {group_block}")


# -- the task -------------------------------------------------------------------------------------

@TASKS.register(METRIC_TASK, description="YOLO detection (mAP50, mAP50-95, per-class AP) on fused "
                                         "images; protocols fixed (one detector on a stated "
                                         "source) and retrain (one detector per method)",
                needs=("boxes",))
class Detect:
    """`--tasks detect?protocol=fixed&source=union&epochs=20` (see the module docstring)."""

    def __init__(self, protocol: str = "fixed", preset: str = "cpu", source: str = "union",
                 label_set: str | None = None, arch: str | None = None,
                 epochs: int | None = None, imgsz: int | None = None, batch: int | None = None,
                 seed: int | None = None, device: str | None = None, weights: str | None = None,
                 val_fraction: float = 0.25, group_block: int = 20, verbose: bool = False):
        if protocol not in PROTOCOLS:
            raise ValueError(f"detect: protocol must be one of {PROTOCOLS}, got {protocol!r}")
        self.protocol = protocol
        self.source = str(source)
        self.label_set = label_set or None
        self.config = make_config(preset, arch=arch, epochs=epochs, imgsz=imgsz, batch=batch,
                                  seed=seed, device=device, weights=weights)
        self.val_fraction = float(val_fraction)
        self.group_block = int(group_block)
        self.verbose = bool(verbose)

    # names --------------------------------------------------------------------------------------
    def protocol_name(self, ds: Dataset) -> str:
        parts = [self.protocol] + ([self.source] if self.protocol == "fixed" else [])
        parts.append(self.config.label())
        label_set = self.label_set or ds.default_label_set
        if label_set and len({n for s in ds.samples for n in s.boxes}) > 1:
            parts.append(f"labels={label_set}")
        return ":".join(parts)

    # entry point ----------------------------------------------------------------------------------
    def run(self, dataset: Dataset, method_label: str, fused_dir: Path,
            run_id: str) -> list[Record]:
        fused_dir = Path(fused_dir)
        profile = self.protocol_name(dataset)
        try:
            return self._run(dataset, method_label, fused_dir, run_id, profile)
        except Exception as exc:  # DetectionError, DetectorUnavailable, DatasetError, and any
            # crash inside ultralytics: this method fails with its reason, the run goes on
            return [Record(run_id, dataset.name, "val", method_label, "*", METRIC_TASK, None,
                           profile, "failed", f"{type(exc).__name__}: {exc}")]

    def _run(self, ds: Dataset, method: str, fused_dir: Path, run_id: str,
             profile: str) -> list[Record]:
        if not ds.det_classes:
            raise DetectionError(f"dataset {ds.name} has no detection classes (no boxes)")
        unlabelled = [s.id for s in ds.samples if not s.boxes]
        if unlabelled:
            raise DetectionError(f"dataset {ds.name}: {len(unlabelled)} samples have no boxes "
                                 f"(e.g. {unlabelled[0]})")
        run_dir = fused_dir.parent
        work = run_dir / "detect" / safe_name(ds.name)
        train_ids, val_ids, groups, how = detection_split(ds, self.val_fraction,
                                                          self.config.seed, self.group_block)
        if not train_ids or not val_ids:
            raise DetectionError(f"dataset {ds.name}: the split leaves {len(train_ids)} training "
                                 f"and {len(val_ids)} validation samples; both must be non-empty")
        split_path = work / "split.json"
        split_sha = _splits.write_split(split_path, train_ids, val_ids, groups)
        by_id = {s.id: s for s in ds.samples}
        method_dir = fused_dir / safe_name(ds.name) / safe_name(method)
        config_dir = _cache_root(run_dir) / "yolo-config"

        if self.protocol == "fixed":
            weights, train_meta = self._fixed_detector(ds, [by_id[i] for i in train_ids],
                                                       [by_id[i] for i in val_ids], split_sha,
                                                       _cache_root(run_dir), config_dir)
        else:
            folder = work / f"retrain-{self._key(ds, split_sha)[:12]}" / safe_name(method)
            items = self._items(ds, [by_id[i] for i in train_ids], method_dir, "train")
            weights, train_meta = self._trained(folder, items, ds, config_dir)

        eval_dir = work / safe_name(method) / f"eval-{safe_name(profile)}"
        val_items = self._items(ds, [by_id[i] for i in val_ids], method_dir, "val")
        data = write_yolo_dataset(eval_dir / "data", {"train": val_items, "val": val_items},
                                  ds.det_classes)
        scores = evaluate_detector(weights, data, self.config, eval_dir, config_dir,
                                   ds.det_classes, self.verbose)

        summary = {"protocol": self.protocol, "profile": profile, "dataset": ds.name,
                   "method": method, "precision": round(100 * scores.precision, 3),
                   "recall": round(100 * scores.recall, 3),
                   "train_seconds": round(train_meta["train_seconds"], 1),
                   "eval_seconds": round(scores.seconds, 1),
                   "trained_on": train_meta["trained_on"], "train_images": train_meta["images"],
                   "val_images": scores.images, "val_instances": scores.instances,
                   "split": {"file": str(split_path), "sha256": split_sha, "how": how,
                             "train": len(train_ids), "val": len(val_ids)},
                   "label_set": self.label_set or ds.default_label_set,
                   "detector": self.config.as_dict(), "weights": str(weights)}
        side = work / safe_name(method) / f"{safe_name(profile)}.json"
        side.parent.mkdir(parents=True, exist_ok=True)
        side.write_text(json.dumps({**summary, "scores": {
            "mAP50": 100 * scores.map50, "mAP50-95": 100 * scores.map50_95,
            "per_class": {c: {"AP50": 100 * a, "AP50-95": 100 * b}
                          for c, (a, b) in scores.per_class.items()}}}, indent=1))

        def rec(metric, value, reason="", seconds=None):
            return Record(run_id, ds.name, "val", method, "*", metric, 100.0 * value, profile,
                          "ok", reason, seconds)
        out = [rec("mAP50", scores.map50, json.dumps(summary, sort_keys=True),
                   train_meta["train_seconds"]),
               rec("mAP50-95", scores.map50_95), rec("precision", scores.precision),
               rec("recall", scores.recall)]
        for cls, (ap50, ap) in scores.per_class.items():
            out += [rec(f"AP50/{cls}", ap50), rec(f"AP50-95/{cls}", ap)]
        return out

    # training ---------------------------------------------------------------------------------
    def _key(self, ds: Dataset, split_sha: str, *extra: str) -> str:
        return digest_strings([CACHE_VERSION, self.protocol, ds.fingerprint(), split_sha,
                               f"labels={self.label_set or ds.default_label_set}",
                               json.dumps(self.config.as_dict(), sort_keys=True), *extra])

    def _fixed_detector(self, ds: Dataset, train: list[Sample], val: list[Sample],
                        split_sha: str, cache_root: Path, config_dir: Path):
        key = self._key(ds, split_sha, f"source={self.source}")
        folder = cache_root / "detect" / f"fixed-{key[:16]}"
        items = self._source_items(ds, train)
        return self._trained(folder, items, ds, config_dir,
                             val_items=self._source_items(ds, val))

    def _trained(self, folder: Path, items: list[LabelledImage], ds: Dataset, config_dir: Path,
                 val_items: list[LabelledImage] | None = None) -> tuple[Path, dict]:
        """Train into `folder` unless a finished detector is there (detector.json is written
        last); a lock file keeps two processes from training the same detector at once."""
        meta_path = folder / "detector.json"
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder / ".lock"):
            if meta_path.is_file():
                meta = json.loads(meta_path.read_text())
                if Path(meta["weights"]).is_file():
                    return Path(meta["weights"]), meta
            data = write_yolo_dataset(folder / "data", {"train": items,
                                                        "val": val_items or items[:16]},
                                      ds.det_classes)
            weights, seconds = train_detector(self.config, data, folder, config_dir, self.verbose)
            meta = {"weights": str(weights.resolve()), "train_seconds": seconds,
                    "images": len(items), "trained_on": self._trained_on(),
                    "detector": self.config.as_dict(), "dataset": ds.name,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
            meta_path.write_text(json.dumps(meta, indent=1))
        return weights, meta

    def _trained_on(self) -> str:
        return f"source images ({self.source})" if self.protocol == "fixed" else "fused images"

    # images + labels ----------------------------------------------------------------------------
    def _boxes(self, ds: Dataset, sample: Sample):
        return ds.read_boxes(sample, self.label_set)

    def _source_items(self, ds: Dataset, samples: list[Sample]) -> list[LabelledImage]:
        names = SOURCES.get(self.source, (self.source,))
        wanted = [i for i, m in enumerate(ds.modalities)
                  if self.source == "union" or m.lower() in names]
        if not wanted:
            raise DetectionError(f"dataset {ds.name} has modalities {ds.modalities}; source "
                                 f"{self.source!r} names none (use visible, infrared or union)")
        out = []
        for s in samples:
            boxes = self._boxes(ds, s)
            out += [LabelledImage(f"{_file_name(s.id)}__{ds.modalities[i]}", s.sources[i], boxes)
                    for i in wanted]
        return out

    def _items(self, ds: Dataset, samples: list[Sample], method_dir: Path,
               role: str) -> list[LabelledImage]:
        found = _fused_index(method_dir)
        missing = [s.id for s in samples if s.id not in found]
        if missing:
            raise DetectionError(f"{len(missing)} of {len(samples)} {role} images have no fused "
                                 f"output in {method_dir} (e.g. {missing[0]}); fusion failed or "
                                 "was not run for them")
        return [LabelledImage(_file_name(s.id), found[s.id], self._boxes(ds, s)) for s in samples]


def _fused_index(method_dir: Path) -> dict[str, Path]:
    """sample id -> fused image under runs/<run>/fused/<dataset>/<method>/<id>.<ext>."""
    if not method_dir.is_dir():
        return {}
    out = {}
    for p in sorted(method_dir.rglob("*")):
        if p.is_file() and is_image_name(p):
            out.setdefault(p.relative_to(method_dir).with_suffix("").as_posix(), p)
    return out


def _file_name(sample_id: str) -> str:
    return safe_name(sample_id.replace("/", "__"))


def _cache_root(run_dir: Path) -> Path:
    """The runner's cache root: FUSEBENCH_CACHE, else <home>/cache next to the run folders."""
    env = os.environ.get("FUSEBENCH_CACHE")
    return Path(env) if env else run_dir.parent / "cache"


@contextlib.contextmanager
def _locked(path: Path):
    import fcntl
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
