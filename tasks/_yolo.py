"""Ultralytics YOLO, offline: detector configuration, dataset folders, training and evaluation.

Conventions
- Boxes are YOLO rows [class, cx, cy, w, h] normalised to the image (bench.datasets.labels).
- Models are built from the package's yaml (`yolov8n`, `yolo11n`, `yolo26n`), randomly
  initialised; a local `.pt` may be named instead (`weights=`). Nothing is ever downloaded: a
  missing `.pt` is an error here, before ultralytics could try to fetch it.
- Network use is switched off before ultralytics is imported: YOLO_OFFLINE=1 (no hub events, no
  online checks), YOLO_CONFIG_DIR under the fusebench cache (settings file, no font downloads),
  `plots=False` (plots would need the Arial font), `amp=False` (the AMP check downloads a model).
- Scores come from ultralytics' own validator (the YOLOv5/v8 mAP used by TarDAL and the IVF
  detection literature): mAP50, mAP50-95 (COCO IoU thresholds 0.50:0.05:0.95, 101-point
  interpolated AP), mean precision / recall at the F1-optimal confidence, per-class AP. Values
  are fractions 0..1 here; tasks.detection turns them into percent.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np

ARCHS = {"yolov8n": "yolov8n.yaml", "yolo11n": "yolo11n.yaml", "yolo26n": "yolo26n.yaml"}

# Hyper-parameters that make from-scratch training on a few hundred small images converge on a
# CPU (measured: ultralytics' defaults reach mAP50 0.00 after 10 epochs on 120 synthetic scenes,
# no warm-up and no mosaic 0.95 after 20; /work/shared/DEPENDENCIES.md). AdamW is named because
# ultralytics' optimizer 'auto' ignores lr0 (it picks AdamW at 0.002 * 5 / (4 + nc) below 10k
# iterations); lr0 0.003 with batch 8 gave night person AP50 34.5 vs 19.6 for auto at batch 16
# (same 12 epochs, 120 synthetic scenes, max fusion). Everything not named is ultralytics' default.
CPU_HYP = {"warmup_epochs": 0.0, "mosaic": 0.0, "optimizer": "AdamW", "lr0": 0.003}


class DetectorUnavailable(RuntimeError):
    """ultralytics is missing, or the named weights file does not exist."""


@dataclass(frozen=True)
class DetectorConfig:
    """Everything that decides what a trained detector is (and so its cache key).

    arch: one of ARCHS, built from yaml; weights: a local .pt to start from instead (or None).
    device: 'cpu' or a CUDA index such as '0'. hyp: extra ultralytics train arguments.
    """

    arch: str = "yolov8n"
    imgsz: int = 256
    epochs: int = 20
    batch: int = 8
    seed: int = 0
    device: str = "cpu"
    weights: str | None = None
    hyp: dict = field(default_factory=lambda: dict(CPU_HYP))

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"detector arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        for name in ("imgsz", "epochs", "batch"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"detector {name} must be >= 1")

    def as_dict(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        """Short name used in protocol names: 'yolov8n-256px-20ep-s0'."""
        start = f"+{Path(self.weights).stem}" if self.weights else ""
        return f"{self.arch}{start}-{self.imgsz}px-{self.epochs}ep-s{self.seed}"


# Named presets. 'cpu': sized for a 2-core CPU and 256-px scenes (about 16 s per epoch for 240
# images on 2 cores at load 2; `fixed` for 5 methods on the 160 synthetic scenes: 6.4 min). 'gpu-msrs': the field's real setting for MSRS / M3FD (640 px, 100
# epochs, ultralytics' default optimizer, augmentation and warm-up), for a CUDA machine.
PRESETS: dict[str, DetectorConfig] = {
    "cpu": DetectorConfig(),
    "gpu-msrs": DetectorConfig(imgsz=640, epochs=100, batch=16, device="0", hyp={}),
}


def make_config(preset: str = "cpu", **overrides) -> DetectorConfig:
    """A preset with some fields replaced (None values are ignored)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown detector preset {preset!r}; presets: {', '.join(PRESETS)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    for k in ("imgsz", "epochs", "batch", "seed"):
        if k in changes:
            changes[k] = int(changes[k])
    if "device" in changes:
        changes["device"] = str(changes["device"])
    return replace(PRESETS[preset], **changes)


# -- ultralytics, offline ---------------------------------------------------------------------

def load_ultralytics(config_dir: Path):
    """Import ultralytics with the network switched off; return its YOLO class."""
    os.environ["YOLO_OFFLINE"] = "1"
    if "ultralytics" not in sys.modules:  # both are read once, at import
        config_dir.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
        os.environ.setdefault("YOLO_VERBOSE", "False")  # no per-batch bars; YOLO_VERBOSE=1 shows
    try:
        from ultralytics import YOLO
        from ultralytics.utils import SETTINGS
    except ImportError as exc:
        raise DetectorUnavailable(
            f"ultralytics is not installed ({exc}); install ultralytics==8.4.190 "
            "(see /work/shared/DEPENDENCIES.md)") from None
    with contextlib.suppress(Exception):  # settings file may be read-only; sync is off anyway
        if SETTINGS.get("sync"):
            SETTINGS.update(sync=False)
    return YOLO


def build_model(cfg: DetectorConfig, config_dir: Path):
    """A YOLO model from the arch yaml, or from the local weights file the config names."""
    YOLO = load_ultralytics(config_dir)
    if cfg.weights:
        path = Path(cfg.weights).expanduser()
        if not path.is_file():
            raise DetectorUnavailable(
                f"detector weights {path} not found: fusebench never downloads weights; name an "
                f"existing local .pt, or leave weights unset to train {cfg.arch} from its yaml")
        return YOLO(str(path.resolve()))
    return YOLO(ARCHS[cfg.arch])


# -- dataset folders ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelledImage:
    """One image for a YOLO dataset folder: a unique file-system-safe name, the image, boxes."""

    name: str
    image: Path
    boxes: np.ndarray


def write_yolo_dataset(folder: Path, splits: dict[str, Iterable[LabelledImage]],
                       names: tuple[str, ...]) -> Path:
    """Lay out folder/images/<split>/<name><ext> (links to the images, read in place) and
    folder/labels/<split>/<name>.txt; return folder/data.yaml naming the classes.

    The folder is rebuilt from scratch, so ultralytics' label caches never go stale. A split
    called 'train' and one called 'val' are expected by ultralytics (the same list may be both).
    """
    import yaml

    if folder.exists():
        shutil.rmtree(folder)
    for split, items in splits.items():
        img_dir, lab_dir = folder / "images" / split, folder / "labels" / split
        img_dir.mkdir(parents=True)
        lab_dir.mkdir(parents=True)
        for item in items:
            target = img_dir / f"{item.name}{Path(item.image).suffix.lower()}"
            _link(Path(item.image), target)
            rows = np.asarray(item.boxes, dtype=np.float64).reshape(-1, 5)
            (lab_dir / f"{item.name}.txt").write_text(
                "".join(f"{int(r[0])} {r[1]:.6f} {r[2]:.6f} {r[3]:.6f} {r[4]:.6f}\n" for r in rows))
    doc = {"path": str(folder.resolve()), "names": dict(enumerate(names)),
           **{s: f"images/{s}" for s in splits}}
    path = folder / "data.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _link(source: Path, target: Path) -> None:
    """Symlink with an absolute target (ultralytics derives label paths from the link's own
    path, so links keep the layout without copying the data); copy where links are refused."""
    try:
        os.symlink(source.resolve(), target)
    except OSError:
        shutil.copyfile(source, target)


# -- training and evaluation ---------------------------------------------------------------------

@dataclass(frozen=True)
class DetectionScores:
    """Fractions 0..1. per_class: class name -> (AP50, AP50-95) for classes with instances."""

    map50: float
    map50_95: float
    precision: float
    recall: float
    per_class: dict[str, tuple[float, float]]
    images: int
    instances: dict[str, int]
    seconds: float


@contextlib.contextmanager
def _quiet(verbose: bool):
    """Silence ultralytics' logger (it keeps its own handle on stdout) and prints."""
    if verbose:
        yield
        return
    from ultralytics.utils import LOGGER
    level = LOGGER.level
    LOGGER.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        LOGGER.setLevel(level)


def train_detector(cfg: DetectorConfig, data_yaml: Path, out_dir: Path, config_dir: Path,
                   verbose: bool = False) -> tuple[Path, float]:
    """Train one detector; return (weights path, training seconds). out_dir receives
    ultralytics' run folder (args.yaml, results.csv, weights/)."""
    model = build_model(cfg, config_dir)
    t0 = time.perf_counter()
    with _quiet(verbose):
        model.train(data=str(data_yaml), epochs=cfg.epochs, imgsz=cfg.imgsz, batch=cfg.batch,
                    device=cfg.device, seed=cfg.seed, deterministic=True, workers=0,
                    plots=False, amp=False, val=False, verbose=verbose,
                    project=str(out_dir.resolve()), name="train", exist_ok=True, **cfg.hyp)
    seconds = time.perf_counter() - t0
    trainer = model.trainer
    weights = Path(trainer.best) if Path(trainer.best).is_file() else Path(trainer.last)
    return weights, seconds


def evaluate_detector(weights: Path, data_yaml: Path, cfg: DetectorConfig, out_dir: Path,
                      config_dir: Path, names: tuple[str, ...], verbose: bool = False
                      ) -> DetectionScores:
    """Score a trained detector on the 'val' split of data_yaml (ultralytics' validator at its
    defaults: conf 0.001, NMS IoU 0.7, max 300 detections)."""
    YOLO = load_ultralytics(config_dir)
    model = YOLO(str(weights))
    t0 = time.perf_counter()
    with _quiet(verbose):
        m = model.val(data=str(data_yaml), split="val", imgsz=cfg.imgsz, batch=cfg.batch,
                      device=cfg.device, workers=0, plots=False, verbose=verbose, save_json=False,
                      project=str(out_dir.resolve()), name="val", exist_ok=True)
    seconds = time.perf_counter() - t0
    box = m.box
    per_class = {names[int(c)]: (float(box.ap50[i]), float(box.ap[i]))
                 for i, c in enumerate(box.ap_class_index)}
    counts = getattr(m, "nt_per_class", None)
    instances = {n: int(counts[i]) for i, n in enumerate(names)} if counts is not None else {}
    per_class = {n: v for n, v in per_class.items() if instances.get(n, 1) > 0}
    images = sum(1 for _ in (data_yaml.parent / "images" / "val").iterdir())
    return DetectionScores(float(box.map50), float(box.map), float(box.mp), float(box.mr),
                           per_class, images, instances, seconds)
