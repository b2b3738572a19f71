"""Shapes of the objects in an IVF scene: people, cars, signs and lamp posts, as part masks.

Every shape is drawn in pixel coordinates from its ground point (x, y) = where it touches the
ground, bottom centre, and its pixel height. A shape is a list of named appearance parts
(boolean full-frame masks, painted in order, later parts over earlier ones) and a list of heat
parts (mask, temperature offset) for the infrared image. `Shape.extent` is the union of the parts
that belong to the object (a sign's pole does not: the box and the class mask cover the board).
Rasterisation is cv2.fillPoly / cv2.ellipse with 4 fractional bits (exact integer arithmetic).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

SHIFT = 4
_ONE = 1 << SHIFT


@dataclass
class Shape:
    cls: int                 # YOLO class id: 0 person, 1 car, 2 sign; -1 scenery (lamp post)
    depth: float             # metres; larger is farther (drawn first)
    parts: list[tuple[str, np.ndarray]] = field(default_factory=list)
    heat: list[tuple[np.ndarray, float]] = field(default_factory=list)
    style: dict = field(default_factory=dict)
    outside: tuple[str, ...] = ()   # part names that are not part of the object's extent

    @cached_property
    def extent(self) -> np.ndarray:
        masks = [m for name, m in self.parts if name not in self.outside]
        return np.logical_or.reduce(masks)

    @cached_property
    def support(self) -> np.ndarray:
        """Every pixel the shape paints (extent plus poles)."""
        return np.logical_or.reduce([m for _, m in self.parts])


def polygon(shape: tuple[int, int], points: list[tuple[float, float]]) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(points, np.float64) * _ONE).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 1, lineType=cv2.LINE_8, shift=SHIFT)
    return canvas.astype(bool)


def ellipse(shape: tuple[int, int], cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    centre = (int(round(cx * _ONE)), int(round(cy * _ONE)))
    axes = (max(1, int(round(rx * _ONE))), max(1, int(round(ry * _ONE))))
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, 1, -1, cv2.LINE_8, SHIFT)
    return canvas.astype(bool)


def rect(shape, x0, y0, x1, y1) -> np.ndarray:
    return polygon(shape, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def person(shape, x: float, y: float, h: float, rng: np.random.Generator) -> Shape:
    """Head, torso, arms, legs; standing or walking, facing left or right."""
    w = h * rng.uniform(0.9, 1.12)  # build
    s = 1 if rng.random() < 0.5 else -1
    walk = rng.random() < 0.5
    head = ellipse(shape, x + 0.012 * h * s, y - 0.925 * h, 0.062 * w, 0.075 * h)
    torso = polygon(shape, [(x - 0.12 * w, y - 0.845 * h), (x + 0.12 * w, y - 0.845 * h),
                            (x + 0.1 * w, y - 0.47 * h), (x - 0.1 * w, y - 0.47 * h)])
    swing = 0.09 * h if walk else 0.0
    arms = np.zeros(shape, bool)
    for side, sw in ((-1, swing), (1, -swing)):
        xs = x + side * 0.135 * w
        arms |= polygon(shape, [(xs - 0.035 * w, y - 0.82 * h), (xs + 0.035 * w, y - 0.82 * h),
                                (xs + 0.03 * w + sw * s, y - 0.47 * h),
                                (xs - 0.03 * w + sw * s, y - 0.47 * h)])
    spread = 0.13 * h if walk else 0.045 * w
    legs = np.zeros(shape, bool)
    for side in (-1, 1):
        hip = x + side * 0.05 * w
        foot = x + side * spread
        legs |= polygon(shape, [(hip - 0.05 * w, y - 0.5 * h), (hip + 0.05 * w, y - 0.5 * h),
                                (foot + 0.035 * w, y), (foot - 0.035 * w, y)])
    return Shape(0, 0.0, parts=[("legs", legs), ("torso", torso), ("arms", arms), ("head", head)],
                 heat=[(head, 0.05), (legs, -0.04), (arms, -0.02)])


def car(shape, x: float, y: float, hc: float, view: str, rng: np.random.Generator) -> Shape:
    """view: 'side' (facing left or right), 'rear' (tail lights, exhaust) or 'front'."""
    if view == "side":
        d = 1 if rng.random() < 0.5 else -1
        length = hc * rng.uniform(2.5, 2.9)

        def p(u, v):  # u along the car (front +0.5), v height fraction
            return (x + d * u * length, y - v * hc)

        body = polygon(shape, [p(-0.5, 0.14), p(-0.5, 0.52), p(0.46, 0.5), p(0.5, 0.4),
                               p(0.5, 0.14)])
        cabin = polygon(shape, [p(-0.4, 0.51), p(-0.25, 0.96), p(0.1, 0.96), p(0.3, 0.51)])
        window = polygon(shape, [p(-0.35, 0.56), p(-0.23, 0.89), p(0.08, 0.89), p(0.23, 0.56)])
        window &= ~polygon(shape, [p(-0.09, 0.5), p(-0.06, 0.5), p(-0.06, 1.0), p(-0.09, 1.0)])
        r = 0.19 * hc
        wheels = ellipse(shape, *p(-0.31, 0.19), r, r) | ellipse(shape, *p(0.31, 0.19), r, r)
        hubs = ellipse(shape, *p(-0.31, 0.19), 0.45 * r, 0.45 * r) | \
            ellipse(shape, *p(0.31, 0.19), 0.45 * r, 0.45 * r)
        head_l = ellipse(shape, *p(0.48, 0.43), 0.04 * length, 0.05 * hc)
        tail_l = ellipse(shape, *p(-0.49, 0.44), 0.02 * length, 0.05 * hc)
        engine = polygon(shape, [p(0.22, 0.15), p(0.22, 0.5), p(0.5, 0.45), p(0.5, 0.15)]) & body
        exhaust = ellipse(shape, *p(-0.47, 0.18), 0.04 * length, 0.05 * hc) & body
        return Shape(1, 0.0, parts=[("body", body | cabin), ("window", window), ("wheel", wheels),
                                    ("hub", hubs), ("headlight", head_l), ("taillight", tail_l)],
                     heat=[(engine, 0.2), (wheels, 0.2), (exhaust, 0.35), (window, -0.05)],
                     style={"view": view})
    wc = hc * rng.uniform(1.1, 1.25)

    def q(u, v):
        return (x + u * wc, y - v * hc)

    body = polygon(shape, [q(-0.5, 0.14), q(-0.5, 0.58), q(0.5, 0.58), q(0.5, 0.14)])
    cabin = polygon(shape, [q(-0.43, 0.57), q(-0.34, 0.97), q(0.34, 0.97), q(0.43, 0.57)])
    window = polygon(shape, [q(-0.37, 0.62), q(-0.3, 0.91), q(0.3, 0.91), q(0.37, 0.62)])
    wheels = rect(shape, *q(-0.47, 0.17), *q(-0.3, 0.0)) | rect(shape, *q(0.3, 0.17), *q(0.47, 0.0))
    lights = rect(shape, *q(-0.47, 0.52), *q(-0.3, 0.42)) | \
        rect(shape, *q(0.3, 0.52), *q(0.47, 0.42))
    plate = rect(shape, *q(-0.11, 0.32), *q(0.11, 0.22))
    light_name = "taillight" if view == "rear" else "headlight"
    heat = [(wheels, 0.15), (window, -0.05)]
    if view == "rear":
        heat.append((ellipse(shape, *q(0.33, 0.17), 0.05 * wc, 0.05 * hc) & body, 0.35))
    else:
        heat.append((rect(shape, *q(-0.3, 0.55), *q(0.3, 0.18)), 0.2))
    return Shape(1, 0.0, parts=[("body", body | cabin), ("window", window), ("wheel", wheels),
                                (light_name, lights), ("plate", plate)], heat=heat,
                 style={"view": view})


SIGN_COLOURS = (((0.9, 0.9, 0.88), (0.75, 0.08, 0.08)), ((0.95, 0.8, 0.1), (0.05, 0.05, 0.05)),
                ((0.9, 0.9, 0.9), (0.1, 0.2, 0.65)), ((0.92, 0.92, 0.9), (0.05, 0.45, 0.2)),
                ((0.95, 0.5, 0.08), (0.95, 0.95, 0.92)), ((0.05, 0.05, 0.05), (0.92, 0.92, 0.9)))
GLYPHS = ("STOP", "EXIT", "30", "P", "BUS", "50", "ONE WAY", "KEEP", "<<<", "XX")


def sign(shape, x: float, y: float, board_h: float, board_w: float, lift: float,
         rng: np.random.Generator) -> Shape:
    """A board (lift pixels above the ground point) on a pole, with a high-contrast pattern:
    'stripes' (any angle), 'checker' or 'glyphs' (text); period 3-6 px whatever the size."""
    top = y - lift - board_h
    board = rect(shape, x - board_w / 2, top, x + board_w / 2, top + board_h)
    pole_w = max(0.6, 0.05 * board_w)
    pole = rect(shape, x - pole_w, top + board_h, x + pole_w, y)
    kind = ("stripes", "checker", "glyphs")[int(rng.integers(3))]
    fg, bg = SIGN_COLOURS[int(rng.integers(len(SIGN_COLOURS)))]
    period = float(np.clip(board_h / rng.uniform(4.0, 7.0), 3.0, 6.0))
    rows, cols = np.indices(shape, dtype=np.float64)
    if kind == "stripes":
        theta = rng.uniform(0, np.pi)
        t = (cols * np.cos(theta) + rows * np.sin(theta)) / period
        ink = (np.floor(t) % 2) == 0
    elif kind == "checker":
        ink = ((np.floor((cols - x) / period) + np.floor((rows - top) / period)) % 2) == 0
    else:
        ink = _glyphs(shape, x - board_w / 2, top, board_w, board_h, period, rng)
    return Shape(2, 0.0, parts=[("pole", pole), ("board", board), ("ink", board & ink)],
                 style={"kind": kind, "fg": fg, "bg": bg}, outside=("pole",))


def _glyphs(shape, x0, y0, bw, bh, period, rng) -> np.ndarray:
    """Lines of Hershey text filling the board, stroke ~period/2, on a full-frame mask."""
    canvas = np.zeros(shape, np.uint8)
    n_lines = max(1, int(bh // (2.2 * period)))
    line_h = bh / n_lines
    thick = max(1, int(round(period / 2.5)))
    for i in range(n_lines):
        text = GLYPHS[int(rng.integers(len(GLYPHS)))]
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, thick)
        scale = min(0.8 * line_h / th, 0.9 * bw / tw)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        org = (int(round(x0 + (bw - tw) / 2)), int(round(y0 + (i + 0.5) * line_h + th / 2)))
        cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 1, thick, cv2.LINE_8)
    ink = canvas.astype(bool)
    # a frame keeps the texture strong even when the text is tiny
    m = period / 2
    frame = rect(shape, x0, y0, x0 + bw, y0 + bh) & ~rect(shape, x0 + m, y0 + m,
                                                             x0 + bw - m, y0 + bh - m)
    return ink | frame


def lamp_post(shape, x_pole: float, x_head: float, y: float, h: float) -> Shape:
    """Scenery: a pole of pixel height h with an arm out to the lamp head."""
    w = max(0.6, 0.012 * h)
    pole = rect(shape, x_pole - w, y - h, x_pole + w, y)
    arm = polygon(shape, [(x_pole, y - h), (x_head, y - h * 0.97), (x_head, y - h * 0.97 + 2 * w),
                          (x_pole, y - h + 2 * w)])
    head = ellipse(shape, x_head, y - h * 0.97 + w, max(1.0, 0.05 * h), max(0.8, 0.02 * h))
    return Shape(-1, 0.0, parts=[("pole", pole | arm), ("lamp", head)], heat=[(head, 0.15)])
