"""Infrared-visible street scenes, by night and by day, built so that fusion matters.

`make_scene(seed, size=256, night=None, night_fraction=0.5)` returns an `IVFScene`:
- ir: H x W uint8, a thermal image (bright = warm). Smooth: temperature gradients, cold sky,
  warm road, sensor noise and slight blur; no surface texture.
- vis: H x W x 3 uint8 RGB, the same geometry (pixel-aligned). Textured (brick facades, asphalt,
  paving); by night dark and noisy, lit only by street lamps, windows and headlights.
- boxes: (n, 5) float64 YOLO rows [class, cx, cy, w, h], normalised by W and H; box edges are
  pixel edges of the object's visible mask (a pixel j covers [j, j + 1)).
- mask: H x W uint8 class index (SEG_CLASSES); instances: H x W uint16, k + 1 = boxes row k.
- meta: {"night": bool, "counts": {class: n}, ...}.

Detection classes (YOLO ids): 0 person, 1 car, 2 sign.
Segmentation classes (mask values): 0 background, 1 road, 2 person, 3 car, 4 sign.

What each modality shows (the reason to fuse):
- person: hot in IR (head + body + legs, clear silhouette). By night in the visible image its
  radiance is ~50-95 % of the local background's (dark clothes in the dark): nearly invisible. By
  day: clothes whose brightness differs from the local background's.
- car: warm engine, tyres and exhaust in IR (moderate contrast); the body, windows and lights in
  the visible image (headlights / tail lights glow by night).
- sign: a board with a strong high-frequency pattern (stripes, checker or text) seen only in the
  visible image (retro-reflective, so also by night); in IR it has the ambient temperature of
  what is behind it (within +-1 %), so IR alone cannot tell it.
Objects: 1-6 per scene, pixel heights from 12 px (at 256 rows) to half the image, drawn far to
near; each keeps at least 60 % of itself visible. Every draw comes from one local Generator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import ivf_objects as shapes
from . import textures
from .street import LAMP_HEIGHT, Street, make_street, render_background

DET_CLASSES = ("person", "car", "sign")
SEG_CLASSES = ("background", "road", "person", "car", "sign")
PALETTE = ((0, 0, 0), (128, 64, 128), (220, 20, 60), (0, 0, 142), (220, 220, 0))
SEG_OF_DET = (2, 3, 4)
MIN_HEIGHT_AT_256 = 12
MIN_VISIBLE = 0.6

CLOTHES = ((0.6, 0.1, 0.1), (0.1, 0.2, 0.55), (0.75, 0.75, 0.7), (0.85, 0.7, 0.2), (0.2, 0.45, 0.2),
           (0.06, 0.06, 0.07), (0.5, 0.35, 0.2), (0.85, 0.4, 0.1), (0.55, 0.55, 0.6))
TROUSERS = ((0.12, 0.15, 0.3), (0.05, 0.05, 0.06), (0.55, 0.47, 0.33), (0.4, 0.4, 0.42))
SKIN = ((0.85, 0.65, 0.5), (0.6, 0.42, 0.3), (0.35, 0.24, 0.17))
PAINT = ((0.85, 0.85, 0.85), (0.55, 0.56, 0.58), (0.04, 0.04, 0.05), (0.6, 0.05, 0.05),
         (0.08, 0.16, 0.45), (0.2, 0.3, 0.22), (0.75, 0.65, 0.35))


@dataclass(frozen=True)
class IVFScene:
    ir: np.ndarray
    vis: np.ndarray
    boxes: np.ndarray
    mask: np.ndarray
    instances: np.ndarray
    meta: dict = field(default_factory=dict)


def is_night(index: int, night_fraction: float) -> bool:
    """Scene `index` of a set is a night scene; exactly round(n * f) of the first n are."""
    f = float(night_fraction)
    return math.floor((index + 1) * f + 0.5) > math.floor(index * f + 0.5)


def image_shape(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


def make_scene(seed, size: int | tuple[int, int] = 256, night: bool | None = None,
               night_fraction: float = 0.5) -> IVFScene:
    """One scene. seed: int or sequence of ints (e.g. (base_seed, index)); size: S or (H, W)."""
    h, w = image_shape(size)
    rng = np.random.default_rng(seed)
    if night is None:
        night = bool(rng.random() < night_fraction)
    street = make_street(rng, h, w, night)
    bg = render_background(street, rng)
    objects = _place_objects(street, rng) + _lamp_posts(street)
    objects.sort(key=lambda o: -o.depth)
    owner = _owners(objects, (h, w))
    objects, owner = _drop_hidden(objects, owner, h)
    ir = _render_ir(street, bg, objects, owner, rng)
    vis = _render_vis(street, bg, objects, owner, rng)
    mask = np.where(bg["road"] >= 0.5, 1, 0).astype(np.uint8)
    instances = np.zeros((h, w), np.uint16)
    rows = []
    for k, obj in enumerate(objects):
        vis_mask = owner == k
        if obj.cls < 0:
            mask[vis_mask] = 0
            continue
        seen = obj.extent & vis_mask
        mask[seen] = SEG_OF_DET[obj.cls]
        instances[seen] = len(rows) + 1
        rows.append(_yolo_box(obj.cls, seen))
    boxes = np.array(rows, np.float64).reshape(-1, 5)
    counts = {c: int((boxes[:, 0] == i).sum()) for i, c in enumerate(DET_CLASSES)}
    meta = {"night": night, "counts": counts, "size": [h, w]}
    return IVFScene(ir, vis, boxes, mask, instances, meta)


def _yolo_box(cls: int, m: np.ndarray) -> tuple[float, ...]:
    ys, xs = np.nonzero(m)
    h, w = m.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    return (float(cls), (x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h)


# -- placement --------------------------------------------------------------------------------

def _place_objects(street: Street, rng: np.random.Generator) -> list[shapes.Shape]:
    cam = street.cam
    h = cam.height
    min_h = MIN_HEIGHT_AT_256 * h / 256
    z_min = cam.f * cam.hcam / (h - 2 - cam.y_h)  # nearest depth whose ground row is inside
    out = []
    for cls in rng.choice(3, size=int(rng.integers(1, 7)), p=(0.45, 0.35, 0.2)):
        for _ in range(25):
            obj = _try_object(int(cls), street, rng, min_h, z_min)
            if obj is not None and _inside(obj.support, 1):
                out.append(obj)
                break
    return out


def _log_uniform(rng, lo, hi) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(max(hi, lo * 1.01)))))


def _try_object(cls: int, street: Street, rng, min_h: float, z_min: float) -> shapes.Shape | None:
    cam = street.cam
    shape = (cam.height, cam.width)
    if cls == 0:
        metres = rng.uniform(1.55, 1.9)
        z = max(cam.f * metres / _log_uniform(rng, min_h * 1.05, 0.5 * cam.height), z_min)
        x_world = rng.uniform(-street.walk_half + 0.6, street.walk_half - 0.6)
        obj = shapes.person(shape, cam.column(x_world, z), cam.ground_y(z),
                            cam.pixels(metres, z), rng)
    elif cls == 1:
        metres = rng.uniform(1.4, 1.6)
        z = max(cam.f * metres / _log_uniform(rng, min_h * 1.05, 0.4 * cam.height), z_min + 1.0)
        x_world = rng.uniform(-street.road_half + 1.2, street.road_half - 1.2)
        view = ("side", "rear", "rear", "front")[int(rng.integers(4))]
        obj = shapes.car(shape, cam.column(x_world, z), cam.ground_y(z),
                         cam.pixels(metres, z), view, rng)
    else:
        board = rng.uniform(0.6, 0.9)
        z = max(cam.f * board / _log_uniform(rng, min_h * 1.1, 0.2 * cam.height), z_min)
        side = 1 if rng.random() < 0.5 else -1
        x_world = side * (street.road_half + rng.uniform(0.3, 1.2))
        obj = shapes.sign(shape, cam.column(x_world, z), cam.ground_y(z), cam.pixels(board, z),
                          cam.pixels(board * rng.uniform(0.7, 1.5), z),
                          cam.pixels(rng.uniform(1.8, 2.6), z), rng)
    obj.depth = z
    ext = obj.extent
    if not ext.any():
        return None
    ys = np.nonzero(ext.any(axis=1))[0]
    if ys[-1] - ys[0] + 1 < min_h:
        return None
    return obj


def _inside(m: np.ndarray, margin: int) -> bool:
    if not m.any():
        return False
    ys, xs = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
    return (ys[0] >= margin and xs[0] >= margin and ys[-1] < m.shape[0] - margin
            and xs[-1] < m.shape[1] - margin)


def _lamp_posts(street: Street) -> list[shapes.Shape]:
    cam, out = street.cam, []
    for lx, lz in street.lamps:
        if lz < cam.f * cam.hcam / (cam.height - 1 - cam.y_h):
            continue  # its foot would be below the image
        x_pole = math.copysign(street.road_half + 0.3, lx)
        post = shapes.lamp_post((cam.height, cam.width), cam.column(x_pole, lz), cam.column(lx, lz),
                                cam.ground_y(lz), cam.pixels(LAMP_HEIGHT, lz))
        post.depth = lz
        out.append(post)
    return out


def _owners(objects: list[shapes.Shape], shape) -> np.ndarray:
    """Index of the shape seen at each pixel (-1: background); objects sorted far to near."""
    owner = np.full(shape, -1, np.int32)
    for k, obj in enumerate(objects):
        owner[obj.support] = k
    return owner


def _drop_hidden(objects, owner, h):
    """Drop the most hidden object until every object keeps MIN_VISIBLE of itself."""
    min_h = MIN_HEIGHT_AT_256 * h / 256
    while True:
        worst, worst_frac = None, 1.0
        for k, obj in enumerate(objects):
            if obj.cls < 0:
                continue
            ext = obj.extent
            seen = ext & (owner == k)
            frac = seen.sum() / max(ext.sum(), 1)
            rows = np.nonzero(seen.any(axis=1))[0]
            if len(rows) == 0 or rows[-1] - rows[0] + 1 < min_h:
                frac = 0.0
            if frac < MIN_VISIBLE and frac < worst_frac:
                worst, worst_frac = k, frac
        if worst is None:
            return objects, owner
        objects = objects[:worst] + objects[worst + 1:]
        owner = _owners(objects, owner.shape)


def _ring(obj_mask: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Background pixels in a band around an object's bounding box (local background)."""
    h, w = obj_mask.shape
    ys, xs = np.nonzero(obj_mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pad = max(3, int(0.3 * max(y1 - y0, x1 - x0)))
    ring = np.zeros_like(obj_mask)
    ring[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = True
    ring[y0:y1, x0:x1] = False
    ring &= owner < 0
    if not ring.any():
        ring[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = True
        ring[y0:y1, x0:x1] = False
    return ring


# -- rendering --------------------------------------------------------------------------------

def _render_ir(street, bg, objects, owner, rng) -> np.ndarray:
    temp = bg["temp"].copy()
    ambient = textures.blur(bg["temp"], 3.0)  # what a sign or pole at air temperature shows
    for k, obj in enumerate(objects):
        own = owner == k
        if obj.cls == 0:
            body = rng.uniform(0.82, 0.9) if street.night else rng.uniform(0.8, 0.88)
            rows = np.indices(own.shape)[0]
            ys = np.nonzero(obj.extent.any(axis=1))[0]
            grad = 0.03 * (ys[-1] - rows) / max(ys[-1] - ys[0], 1)  # a little warmer up top
            temp[own] = body + grad[own]
        elif obj.cls == 1:
            base = temp[_ring(obj.extent, owner)].mean() + (0.03 if street.night else 0.06)
            temp[own] = base
        else:  # signs, poles: ambient
            temp[own] = ambient[own] + rng.uniform(-0.01, 0.01)
        for m, dt in obj.heat:
            if obj.cls < 0 and not street.night:
                continue
            sel = m & own
            temp[sel] += dt
    temp = textures.blur(temp, rng.uniform(0.8, 1.2))
    h, w = temp.shape
    noise = rng.normal(0.0, rng.uniform(0.005, 0.01), (h, w)) + rng.normal(0.0, 0.004, (1, w))
    return _quantise(temp + noise)


def _render_vis(street, bg, objects, owner, rng) -> np.ndarray:
    night = street.night
    albedo, illum = bg["albedo"].copy(), bg["illum"]
    radiance = albedo * illum[..., None] + bg["emission"]
    glow = np.zeros_like(radiance)
    for k, obj in enumerate(objects):
        own = owner == k
        if obj.cls == 0:
            _paint_person(obj, own, owner, radiance, illum, night, rng)
            continue
        if obj.cls == 1:
            colours = {"body": PAINT[int(rng.integers(len(PAINT)))], "window": (0.05, 0.06, 0.08),
                       "wheel": (0.03, 0.03, 0.03), "hub": (0.35, 0.35, 0.36),
                       "plate": (0.8, 0.8, 0.75), "headlight": (0.85, 0.85, 0.8),
                       "taillight": (0.6, 0.05, 0.04)}
            light = illum
        elif obj.cls == 2:
            colours = {"pole": (0.3, 0.3, 0.3), "board": obj.style["bg"], "ink": obj.style["fg"]}
            light = np.maximum(illum, rng.uniform(0.35, 0.6)) if night else illum
        else:
            colours = {"pole": (0.22, 0.22, 0.22), "lamp": (0.6, 0.6, 0.55)}
            light = illum
        for name, m in obj.parts:
            sel = m & own
            lit = light[sel] if obj.cls != 2 or name != "pole" else illum[sel]
            radiance[sel] = np.asarray(colours[name]) * lit[:, None]
            if night and name in ("headlight", "taillight", "lamp"):
                emit = {"headlight": (1.6, 1.5, 1.2), "taillight": (0.9, 0.05, 0.03),
                        "lamp": (2.0, 1.8, 1.3)}[name]
                radiance[sel] = emit
                glow[sel] += emit
    if night:
        radiance += 1.5 * textures.blur(glow, 3.0)
    exposure = rng.uniform(2.0, 3.0) if night else rng.uniform(0.9, 1.1)
    signal = textures.blur(radiance, 0.6) * exposure
    gain, floor = (1e-3, 3e-3) if night else (1.4e-4, 1e-3)
    sigma = np.sqrt(gain * np.clip(signal, 0, None) + floor ** 2)
    noisy = signal + sigma * rng.standard_normal(signal.shape)
    return _quantise(np.clip(noisy, 0.0, 1.0) ** (1 / 2.2))


def _paint_person(obj, own, owner, radiance, illum, night, rng) -> None:
    ring = _ring(obj.extent, owner)
    if night:  # dark clothes in the dark: a fraction of the local background radiance
        local = radiance[ring].mean(axis=0)
        level = rng.uniform(0.6, 0.85)
        for name, m in obj.parts:
            sel = m & own
            tone = {"head": 1.1, "legs": 0.85}.get(name, 1.0)
            radiance[sel] = local * level * tone * rng.uniform(0.95, 1.05, 3)
        return
    local = textures.luminance(radiance[ring].mean(axis=0))
    for _ in range(12):  # clothes that stand out from the local background
        top = np.asarray(CLOTHES[int(rng.integers(len(CLOTHES)))])
        if abs(textures.luminance(top) * illum[own].mean() - local) > 0.12:
            break
    colours = {"torso": top, "arms": top, "legs": TROUSERS[int(rng.integers(len(TROUSERS)))],
               "head": SKIN[int(rng.integers(len(SKIN)))]}
    for name, m in obj.parts:
        sel = m & own
        radiance[sel] = np.asarray(colours[name]) * illum[sel][:, None]


def _quantise(f01: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(f01, 0.0, 1.0) * 255.0).astype(np.uint8)
