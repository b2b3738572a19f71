"""Downstream semantic segmentation on fused images (the SMC-Mamba paper's Table 4).

`--tasks segment?backend=yolo-sem&protocol=fixed&source=union&iters=300` evaluates every method's
fused images of a dataset with class masks (synthetic, msrs with Segmentation_labels, fmb, drmf).

Protocols (named in every record's `profile`, e.g. 'yolo26n-sem-fixed-union-300it'):
- `fixed` (default): one segmenter trained once on the *source* images of the training split,
  `source` = visible | infrared | union (both images of each training pair as two examples;
  default), cached by (dataset fingerprint, split file hash, backend config) under
  $FUSEBENCH_CACHE/segment/, then evaluated on every method's fused validation images.
- `retrain`: one segmenter per method, trained on that method's fused training images with the
  same settings (cached by the fused files' content hashes as well), evaluated on its fused
  validation images.
Splits: a dataset's own train / val (or test) samples with masks; otherwise (e.g. DRMF, whose
masks are all in train/) a deterministic grouped split of the masked samples (`val_fraction`,
`seed`, tasks._splits.group_split). The split is written to runs/<run>/segment/<dataset>/
split.json (tasks._splits.write_split); its SHA-256 keys the cache.

Metrics (tasks._seg_metrics): one confusion matrix over all validation pixels of a method,
giving per-class IoU, mIoU, pixel accuracy (aAcc) and mean class accuracy (mAcc). Background is
an ordinary class; ground-truth pixels with the ignore label (255, or the dataset's
`ignore_index`) are left out. Records (dataset-level, sample '*', split 'val'): 'IoU/<class>' and
'mIoU' in percent; a class absent from both ground truth and prediction gets no record.
aAcc/mAcc are written to the run's segment/ JSON files, and also as records once
bench.report.tables counts them as segmentation metrics. Every result's confusion matrix is in
runs/<run>/segment/<dataset>/<method>/<profile>.json.

MSRS (9 classes: unlabelled, car, person, bike, curve, car_stop, guardrail, color_cone, bump)
is reported twice from the same 9-class segmenter: all 9 classes, and the paper's 6 columns under
the profile suffix '-paper6': background = unlabelled, car, person, bike, curve,
barrier = guardrail; car_stop, color_cone and bump are left out, and the 6-class mIoU is the mean
of the six IoUs (the paper's mIoU equals the mean of its six columns).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bench import hashing, paths
from bench.cache import safe_name
from bench.imageio import is_image_name, read_image
from bench.registry import TASKS
from bench.store import Record

from . import _seg_backends as backends
from ._seg_metrics import IGNORE_INDEX, confusion_matrix, scores, subset_scores
from ._splits import group_split, write_split

PROTOCOLS = ("fixed", "retrain")
SOURCES = {"visible": ("vis",), "infrared": ("ir",), "union": ("vis", "ir")}
DEFAULT_ITERS = {"yolo-sem": 300, "mmseg": 300}
MSRS_PAPER6 = {"background": "unlabelled", "car": "car", "person": "person", "bike": "bike",
               "curve": "curve", "barrier": "guardrail"}
PAPER6_SUFFIX = "-paper6"
TASK = "segment"
ACC_METRICS = ("aAcc", "mAcc")
CACHE_VERSION = 1


# -- images and masks ----------------------------------------------------------------------------

def to_rgb_uint8(path: Path) -> np.ndarray:
    """Any image file -> H x W x 3 uint8 RGB (grey repeated; 16-bit scaled to 8 bits)."""
    img = read_image(path)
    data = img.data.astype(np.float64) * (255.0 / img.max_value)
    data = np.rint(data).clip(0, 255).astype(np.uint8)
    if data.ndim == 2:
        data = np.repeat(data[:, :, None], 3, axis=2)
    return data[:, :, :3]


def training_mask(dataset, sample) -> np.ndarray:
    """Class-index mask as uint8 with every ignored / unknown value set to 255."""
    mask = dataset.read_mask(sample)
    bad = (mask < 0) | (mask >= len(dataset.seg_classes))
    if dataset.ignore_index is not None:
        bad |= mask == dataset.ignore_index
    return np.where(bad, IGNORE_INDEX, mask).astype(np.uint8)


def fused_path(fused_dir: Path, dataset_name: str, method_label: str, sample_id: str) -> Path | None:
    """The fused image of one sample under runs/<run>/fused/<dataset>/<method>/ (any suffix)."""
    folder = Path(fused_dir) / safe_name(dataset_name) / safe_name(method_label)
    stem = folder / sample_id
    png = stem.with_name(stem.name + ".png")
    if png.exists():
        return png
    if stem.parent.is_dir():
        for p in sorted(stem.parent.glob(stem.name + ".*")):
            if is_image_name(p):
                return p
    return None


def choose_split(dataset, seed: int, val_fraction: float) -> tuple[list, list, str]:
    """(train samples, val samples, how) over the samples that have masks."""
    masked = [s for s in dataset.samples if s.mask is not None]
    by_split: dict[str, list] = {}
    for s in masked:
        by_split.setdefault(s.split, []).append(s)
    held = by_split.get("val") or by_split.get("test")
    if by_split.get("train") and held:
        return by_split["train"], held, "dataset split (train / " + (
            "val" if by_split.get("val") else "test") + ")"
    groups = {s.id: str(s.meta.get("group", s.id)) for s in masked}
    train_ids, val_ids = group_split([s.id for s in masked], groups, val_fraction, seed)
    index = {s.id: s for s in masked}
    return ([index[i] for i in train_ids], [index[i] for i in val_ids],
            f"grouped split of the masked samples (val fraction {val_fraction}, seed {seed})")


# -- the task -----------------------------------------------------------------------------------

@TASKS.register(TASK, description="semantic segmentation (per-class IoU, mIoU) on fused images: "
                                  "YOLO26-sem (default) or mmseg DeepLabV3+/SegFormer, protocols "
                                  "fixed / retrain", needs=("masks",))
class Segment:
    """One configured segmentation protocol; `run` scores one method's fused images."""

    def __init__(self, backend: str = "yolo-sem", protocol: str = "fixed", source: str = "union",
                 model: str | None = None, iters: int | None = None, batch: int = 8,
                 imgsz: int = 256, seed: int = 0, val_fraction: float = 0.25, **unknown):
        self.backend, self.protocol, self.source = str(backend), str(protocol), str(source)
        self.model = None if model is None else str(model)
        self.iters = int(iters) if iters is not None else DEFAULT_ITERS.get(self.backend, 300)
        self.batch, self.imgsz, self.seed = int(batch), int(imgsz), int(seed)
        self.val_fraction = float(val_fraction)
        self.problem = self._check(unknown)

    def _check(self, unknown: dict) -> str | None:
        if unknown:
            return (f"unknown parameter(s) {', '.join(sorted(unknown))}; accepted: backend, "
                    "protocol, source, model, iters, batch, imgsz, seed, val_fraction")
        if self.backend not in backends.BACKENDS:
            return f"backend must be one of {', '.join(backends.BACKENDS)}, got {self.backend!r}"
        if self.protocol not in PROTOCOLS:
            return f"protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}"
        if self.source not in SOURCES:
            return f"source must be one of {', '.join(SOURCES)}, got {self.source!r}"
        if min(self.iters, self.batch, self.imgsz) < 1 or not 0 < self.val_fraction < 1:
            return "iters, batch and imgsz must be >= 1 and val_fraction in (0, 1)"
        try:
            self._segmenter(("a", "b"))
        except ValueError as exc:
            return str(exc)
        return None

    def _segmenter(self, classes) -> backends.Segmenter:
        return backends.make_segmenter(self.backend, classes, model=self.model, iters=self.iters,
                                       batch=self.batch, imgsz=self.imgsz, seed=self.seed)

    def protocol_name(self, classes=("a", "b")) -> str:
        seg = self._segmenter(classes)
        proto = f"fixed-{self.source}" if self.protocol == "fixed" else "retrain"
        return f"{seg.name}-{proto}-{self.iters}it"

    def config(self) -> dict:
        return {"backend": self.backend, "model": self.model, "iters": self.iters,
                "batch": self.batch, "imgsz": self.imgsz, "seed": self.seed,
                "version": CACHE_VERSION}

    # -- entry point ----------------------------------------------------------------------------
    def run(self, dataset, method_label: str, fused_dir, run_id: str) -> list[Record]:
        def fail(reason: str, profile: str = "-") -> list[Record]:
            return [Record(run_id, dataset.name, "val", method_label, "*", TASK, None, profile,
                           "failed", reason)]

        if self.problem:
            return fail(f"segment: {self.problem}")
        if not dataset.seg_classes or not any(s.mask is not None for s in dataset.samples):
            return fail(f"dataset {dataset.name} has no segmentation masks")
        classes = tuple(dataset.seg_classes)
        profile = self.protocol_name(classes)
        try:
            return self._run(dataset, method_label, Path(fused_dir), run_id, classes, profile)
        except backends.BackendUnavailable as exc:
            return fail(str(exc), profile)
        except Exception as exc:  # a failed task is a record, never a crashed run
            return fail(f"{type(exc).__name__}: {exc}", profile)

    def _run(self, dataset, method_label, fused_dir, run_id, classes, profile) -> list[Record]:
        t0 = time.perf_counter()
        train, val, how = choose_split(dataset, self.seed, self.val_fraction)
        if not train or not val:
            raise ValueError(f"dataset {dataset.name}: need masked samples for both training and "
                             f"validation (have {len(train)} / {len(val)})")
        out_dir = fused_dir.parent / TASK / safe_name(dataset.name)
        split_sha = write_split(out_dir / "split.json", [s.id for s in train], [s.id for s in val],
                                {s.id: str(s.meta.get("group", s.id)) for s in train + val})
        val_paths = {s.id: fused_path(fused_dir, dataset.name, method_label, s.id) for s in val}
        missing = sorted(i for i, p in val_paths.items() if p is None)
        if missing:
            raise FileNotFoundError(f"no fused image for {len(missing)} of {len(val)} validation "
                                    f"samples ({', '.join(missing[:5])}); methods are only "
                                    "compared on the same images")
        segmenter, train_seconds, key = self._trained(dataset, method_label, fused_dir, train,
                                                      classes, split_sha)
        conf = np.zeros((len(classes), len(classes)), np.int64)
        for s in val:
            image = to_rgb_uint8(val_paths[s.id])
            target = training_mask(dataset, s)
            if image.shape[:2] != target.shape:
                raise ValueError(f"{val_paths[s.id]}: image {image.shape[:2]} and mask "
                                 f"{target.shape} differ in size")
            pred = segmenter.predict([image])[0]
            conf += confusion_matrix(target, pred, len(classes), IGNORE_INDEX)
        seconds = time.perf_counter() - t0
        reports = [(profile, scores(conf, classes))]
        if dataset.name.split("/")[0].lower() == "msrs" and set(MSRS_PAPER6.values()) <= set(classes):
            reports.append((profile + PAPER6_SUFFIX, subset_scores(conf, classes, MSRS_PAPER6)))
        detail = {"dataset": dataset.name, "method": method_label, "protocol": self.protocol,
                  "source": self.source if self.protocol == "fixed" else "fused",
                  "config": self.config(), "classes": list(classes), "split": how,
                  "split_sha256": split_sha, "n_train": len(train), "n_val": len(val),
                  "model_cache_key": key, "train_seconds": train_seconds,
                  "seconds": seconds, "confusion": conf.tolist()}
        records = []
        for name, sc in reports:
            records += self._records(run_id, dataset.name, method_label, name, sc, seconds)
            path = out_dir / safe_name(method_label) / f"{safe_name(name)}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({**detail, "profile": name, "scores": sc}, indent=1,
                                       default=_json_default))
        return records

    @staticmethod
    def _records(run_id, ds_name, method, profile, sc: dict, seconds: float) -> list[Record]:
        from bench.report.tables import is_segmentation

        def rec(metric, value, secs=None):
            return Record(run_id, ds_name, "val", method, "*", metric, 100.0 * value, profile,
                          "ok", "", secs)

        out = [rec(f"IoU/{c}", v) for c, v in sc["iou"].items() if np.isfinite(v)]
        out.append(rec("mIoU", sc["mIoU"], seconds))
        out += [rec(m, sc[m]) for m in ACC_METRICS if is_segmentation(m) and np.isfinite(sc[m])]
        return out

    # -- training (cached) ----------------------------------------------------------------------
    def _training_set(self, dataset, method_label, fused_dir, train):
        """(images, masks, content digests of the images) for the protocol."""
        images, masks, digests = [], [], []
        for s in train:
            mask = training_mask(dataset, s)
            if self.protocol == "retrain":
                p = fused_path(fused_dir, dataset.name, method_label, s.id)
                if p is None:
                    raise FileNotFoundError(f"retrain: no fused training image for {s.id}")
                paths_ = [p]
            else:
                wanted = SOURCES[self.source]
                paths_ = [src for mod, src in zip(s.modalities, s.sources) if mod in wanted]
                if len(paths_) != len(wanted):
                    raise ValueError(f"sample {s.id} has modalities {s.modalities}, not {wanted}")
            for p in paths_:
                images.append(to_rgb_uint8(p))
                masks.append(mask)
                digests.append(hashing.file_digest(p))
        return images, masks, digests

    def _trained(self, dataset, method_label, fused_dir, train, classes, split_sha):
        images, masks, digests = self._training_set(dataset, method_label, fused_dir, train)
        key = hashing.digest_strings([json.dumps(self.config(), sort_keys=True), self.protocol,
                                      self.source if self.protocol == "fixed" else "fused",
                                      "|".join(classes), split_sha, dataset.fingerprint(),
                                      *digests])[:20]
        folder = paths.cache_dir() / TASK / key
        weights = folder / "model.pt"  # ultralytics loads weights by their .pt suffix
        segmenter = self._segmenter(classes)
        meta_path = folder / "meta.json"
        if weights.is_file() and meta_path.is_file():
            segmenter.load(weights)
            return segmenter, json.loads(meta_path.read_text()).get("train_seconds"), key
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        segmenter.fit(images, masks, folder / "work")
        train_seconds = time.perf_counter() - t0
        tmp = folder / f".model.{id(self)}.tmp"
        segmenter.save(tmp)
        tmp.replace(weights)
        meta_path.write_text(json.dumps({"config": self.config(), "protocol": self.protocol,
                                         "source": self.source, "classes": list(classes),
                                         "n_images": len(images), "split_sha256": split_sha,
                                         "dataset": dataset.name, "train_seconds": train_seconds},
                                        indent=1))
        return segmenter, train_seconds, key


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(type(value).__name__)
