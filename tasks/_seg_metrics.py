"""Semantic-segmentation scores from a dataset-level confusion matrix (pure NumPy).

Conventions
- `confusion[t, p]` counts pixels of ground-truth class t predicted as class p, summed over every
  image of the evaluated set before any ratio is taken (dataset-level, as mmseg's IoUMetric and
  the MFNet/MSRS evaluations do; not a mean of per-image IoUs).
- Ignore label: ground-truth pixels equal to `ignore_index` (default 255), or outside
  0..num_classes-1, are left out of the matrix entirely (neither a hit nor an error).
- Background: an ordinary class. Background / 'unlabelled' pixels are counted, and the class's
  IoU is part of mIoU, as the SMC-Mamba paper's Table 4 and MFNet-style 9-class mIoU do. A
  dataset that wants background excluded marks it with its ignore label instead.
- IoU_c = TP / (TP + FP + FN). A class with no ground-truth pixel and no predicted pixel has an
  undefined IoU (NaN) and is left out of mIoU (a class present in the data but never predicted
  has IoU 0 and counts). Accuracy_c = TP / (TP + FN) (recall), NaN where the class has no
  ground-truth pixel; mean accuracy is the NaN-mean. Pixel accuracy = trace / total.
- All scores are fractions in 0..1; the task layer converts to percent for records.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

IGNORE_INDEX = 255


def confusion_matrix(target: np.ndarray, pred: np.ndarray, num_classes: int,
                     ignore_index: int | None = IGNORE_INDEX) -> np.ndarray:
    """(num_classes, num_classes) int64 matrix, rows = ground truth, columns = prediction.

    target, pred: integer label maps of one shape. Predicted labels outside 0..num_classes-1
    raise (a segmenter must only emit known classes)."""
    target = np.asarray(target)
    pred = np.asarray(pred)
    if target.shape != pred.shape:
        raise ValueError(f"prediction shape {pred.shape} != ground-truth shape {target.shape}")
    t = target.astype(np.int64).ravel()
    p = pred.astype(np.int64).ravel()
    keep = (t >= 0) & (t < num_classes)
    if ignore_index is not None:
        keep &= t != ignore_index
    t, p = t[keep], p[keep]
    if p.size and (p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f"predicted labels outside 0..{num_classes - 1}: "
                         f"{sorted(set(p[(p < 0) | (p >= num_classes)].tolist()))[:5]}")
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


def per_class_iou(confusion: np.ndarray) -> np.ndarray:
    """IoU per class (NaN where the class is absent from both ground truth and prediction)."""
    conf = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(conf)
    union = conf.sum(axis=0) + conf.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.where(union > 0, union, 1.0), np.nan)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Recall per class (NaN where the class has no ground-truth pixel)."""
    conf = np.asarray(confusion, dtype=np.float64)
    support = conf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(conf) / np.where(support > 0, support, 1.0), np.nan)


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def scores(confusion: np.ndarray, class_names: Sequence[str]) -> dict:
    """{'iou': {class: IoU}, 'acc': {class: recall}, 'mIoU', 'aAcc' (pixel accuracy), 'mAcc'
    (mean class accuracy), 'pixels' (evaluated pixel count)}; fractions in 0..1, NaN where
    undefined (see the module docstring)."""
    conf = np.asarray(confusion)
    if conf.shape != (len(class_names),) * 2:
        raise ValueError(f"confusion matrix {conf.shape} does not match {len(class_names)} classes")
    iou, acc = per_class_iou(conf), per_class_accuracy(conf)
    total = conf.sum()
    return {"iou": dict(zip(class_names, iou.tolist())),
            "acc": dict(zip(class_names, acc.tolist())),
            "mIoU": _nanmean(iou), "mAcc": _nanmean(acc),
            "aAcc": float(np.trace(conf) / total) if total else float("nan"),
            "pixels": int(total)}


def subset_scores(confusion: np.ndarray, class_names: Sequence[str],
                  report: Mapping[str, str]) -> dict:
    """Scores of a reported subset of classes, read off the full confusion matrix.

    report: reported name -> class name in `class_names` (e.g. MSRS 'barrier' -> 'guardrail').
    The per-class IoUs are those of the full problem (the segmenter still predicts every class);
    mIoU is the mean over the reported classes only, the way the SMC-Mamba paper's 6-class MSRS
    mIoU is the mean of its six columns. Pixel / mean accuracy are those of the full problem."""
    full = scores(confusion, class_names)
    missing = [c for c in report.values() if c not in full["iou"]]
    if missing:
        raise ValueError(f"classes {missing} are not among {list(class_names)}")
    iou = {name: full["iou"][src] for name, src in report.items()}
    acc = {name: full["acc"][src] for name, src in report.items()}
    return {**full, "iou": iou, "acc": acc, "mIoU": _nanmean(np.array(list(iou.values())))}
