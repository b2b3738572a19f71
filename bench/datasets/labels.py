"""Box labels: YOLO txt and Pascal VOC xml, both returned in YOLO form.

Boxes are an (n, 5) float64 array of [class_id, cx, cy, w, h], centre and size normalised by the
image width and height (0..1), as ultralytics writes them. VOC corner boxes (1-based pixel
coordinates, as in the VOC devkit) are converted with the image size stored in the xml, or the
size passed in when the xml has none.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np


class LabelError(ValueError):
    """A label file that cannot be parsed; the message names the file and the line."""


def read_yolo(path: Path, num_classes: int | None = None) -> np.ndarray:
    rows = []
    for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 5:
            raise LabelError(f"{path}:{lineno}: expected 'class cx cy w h', got {line!r}")
        try:
            cls = int(float(parts[0]))
            cx, cy, w, h = (float(v) for v in parts[1:5])
        except ValueError:
            raise LabelError(f"{path}:{lineno}: non-numeric values in {line!r}") from None
        if num_classes is not None and not 0 <= cls < num_classes:
            raise LabelError(f"{path}:{lineno}: class id {cls} outside 0..{num_classes - 1}")
        rows.append((cls, cx, cy, w, h))
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def read_voc(path: Path, classes: tuple[str, ...], size: tuple[int, int] | None = None,
             aliases: dict[str, str] | None = None) -> np.ndarray:
    """VOC xml -> YOLO boxes. Class names match case-insensitively; `aliases` maps extra names.

    size: (height, width) used when the xml has no <size>. Objects of unknown classes raise.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise LabelError(f"{path}: malformed VOC xml ({exc})") from None
    lookup = {c.lower(): i for i, c in enumerate(classes)}
    for alias, target in (aliases or {}).items():
        lookup[alias.lower()] = lookup[target.lower()]
    w_node, h_node = root.find("size/width"), root.find("size/height")
    if w_node is not None and h_node is not None and float(w_node.text or 0) > 0:
        width, height = float(w_node.text), float(h_node.text)
    elif size is not None:
        height, width = size
    else:
        raise LabelError(f"{path}: no <size> in the xml and no image size given")
    rows = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if name.lower() not in lookup:
            raise LabelError(f"{path}: unknown class {name!r}; known: {', '.join(classes)}")
        bb = obj.find("bndbox")
        if bb is None:
            raise LabelError(f"{path}: object {name!r} has no <bndbox>")
        x1, y1, x2, y2 = (float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        x1, y1 = x1 - 1, y1 - 1  # VOC pixel indices are 1-based and inclusive
        rows.append((lookup[name.lower()], (x1 + x2) / 2 / width, (y1 + y2) / 2 / height,
                     (x2 - x1) / width, (y2 - y1) / height))
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def read_boxes(path: Path, classes: tuple[str, ...], size: tuple[int, int] | None = None,
               aliases: dict[str, str] | None = None) -> np.ndarray:
    if Path(path).suffix.lower() == ".xml":
        return read_voc(path, classes, size, aliases)
    return read_yolo(path, len(classes) or None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between YOLO-form boxes a (n, 5) and b (m, 5)."""
    def corners(x):
        return np.stack([x[:, 1] - x[:, 3] / 2, x[:, 2] - x[:, 4] / 2,
                         x[:, 1] + x[:, 3] / 2, x[:, 2] + x[:, 4] / 2], axis=1)
    ca, cb = corners(a), corners(b)
    lt = np.maximum(ca[:, None, :2], cb[None, :, :2])
    rb = np.minimum(ca[:, None, 2:], cb[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(ca[:, 2:] - ca[:, :2], axis=1)
    area_b = np.prod(cb[:, 2:] - cb[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def union_boxes(sets: list[np.ndarray], iou_threshold: float = 0.5) -> np.ndarray:
    """Union of several annotations of one scene: a box joins the union unless a box of the same
    class already there overlaps it with IoU >= threshold (the first set's box is kept)."""
    out = np.zeros((0, 5))
    for boxes in sets:
        for box in boxes:
            same = out[out[:, 0] == box[0]]
            if len(same) and box_iou(box[None], same).max() >= iou_threshold:
                continue
            out = np.vstack([out, box[None]])
    return out
