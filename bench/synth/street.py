"""The static street behind the objects of an IVF scene: a small ray-caster over a street canyon.

World frame (metres): X lateral (right positive), Y up, Z depth along the street. A pinhole camera
at height `hcam` looks down the street; ground row y = y_h + f * hcam / Z, pixel size of an
object of height Hm at depth Z = f * Hm / Z. Pixel centres are at integer coordinates.

The street: a road |X| < road_half (asphalt, lane markings, sometimes a zebra crossing),
sidewalks out to walk_half, facades on both sides at |X| = walk_half, a row of facades across
the far end at Z = z_far, sky above, street lamps on the kerbs.

`render_background` returns per-pixel layers (supersampled 2x, then box-averaged):
vis albedo (RGB reflectance 0..1), vis emission (RGB radiance, lit windows, sky, lamps),
illumination (scalar; day ~1, night ambient ~0.03-0.06 plus lamp pools), IR temperature
(0 = coldest, 1 = hottest shown: sky cold, road warm, facades in between; smooth, no texture),
road fraction (for the class mask) and depth.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import textures

SUPERSAMPLE = 1
LAMP_HEIGHT = 6.0  # metres
FACADE_TINTS = ((0.55, 0.32, 0.25), (0.62, 0.56, 0.45), (0.45, 0.45, 0.47), (0.7, 0.68, 0.62),
                (0.5, 0.38, 0.3), (0.38, 0.42, 0.48))


@dataclass(frozen=True)
class Camera:
    height: int
    width: int
    f: float       # focal length, pixels
    hcam: float    # camera height, metres
    x_vp: float    # vanishing point column
    y_h: float     # horizon row

    def ground_y(self, z: float) -> float:
        return self.y_h + self.f * self.hcam / z

    def column(self, x: float, z: float) -> float:
        return self.x_vp + self.f * x / z

    def pixels(self, metres: float, z: float) -> float:
        return self.f * metres / z


@dataclass(frozen=True)
class Block:
    """A building along one side (z0..z1 metres) or across the far end (x0..x1 metres)."""
    start: float
    end: float
    top: float                       # roof height, metres
    tint: tuple[float, float, float]
    temp: float                      # IR temperature offset
    lit: np.ndarray = field(repr=False, compare=False, default=None)  # lit-window table


@dataclass(frozen=True)
class Street:
    cam: Camera
    night: bool
    road_half: float
    walk_half: float
    z_far: float
    left: tuple[Block, ...]
    right: tuple[Block, ...]
    far: tuple[Block, ...]
    crossing: tuple[float, float] | None
    lamps: tuple[tuple[float, float], ...]  # (X of the lamp head, Z)
    t_road: float
    t_sky: float
    t_facade: float
    ambient: float


def make_street(rng: np.random.Generator, height: int, width: int, night: bool) -> Street:
    cam = Camera(height, width, f=width * rng.uniform(0.75, 1.0), hcam=rng.uniform(1.3, 1.8),
                 x_vp=width * rng.uniform(0.4, 0.6), y_h=height * rng.uniform(0.36, 0.46))
    road_half = rng.uniform(3.0, 5.0)
    walk_half = road_half + rng.uniform(2.5, 4.0)
    z_far = rng.uniform(60.0, 120.0)

    def blocks(start: float, end: float) -> tuple[Block, ...]:
        out, pos = [], start
        while pos < end:
            length = rng.uniform(8.0, 25.0)
            top = rng.uniform(6.0, 24.0)
            tint = FACADE_TINTS[rng.integers(len(FACADE_TINTS))]
            temp = rng.uniform(-0.05, 0.05)
            lit = rng.random((32, 12)) < rng.uniform(0.1, 0.4)
            out.append(Block(pos, pos + length, top, tint, temp, lit))
            pos += length
        return tuple(out)

    crossing = None
    if rng.random() < 0.4:
        z0 = rng.uniform(8.0, 25.0)
        crossing = (z0, z0 + rng.uniform(3.0, 4.5))
    lamps = []
    z = rng.uniform(5.0, 15.0)
    while z < z_far * 0.6:
        side = 1 if rng.random() < 0.5 else -1
        lamps.append((side * (road_half - 0.5), z))
        z += rng.uniform(12.0, 25.0)
    return Street(cam, night, road_half, walk_half, z_far,
                  left=blocks(0.0, z_far), right=blocks(0.0, z_far),
                  far=blocks(-4 * z_far, 4 * z_far), crossing=crossing, lamps=tuple(lamps),
                  t_road=rng.uniform(0.48, 0.58) if night else rng.uniform(0.6, 0.7),
                  t_sky=rng.uniform(0.05, 0.1) if night else rng.uniform(0.14, 0.22),
                  t_facade=rng.uniform(0.36, 0.44) if night else rng.uniform(0.46, 0.56),
                  ambient=rng.uniform(0.015, 0.035) if night else rng.uniform(0.9, 1.05))


def _block_lookup(blocks: tuple[Block, ...], pos: np.ndarray) -> np.ndarray:
    starts = np.array([b.start for b in blocks])
    return np.clip(np.searchsorted(starts, pos, side="right") - 1, 0, len(blocks) - 1)


def _facade(street: Street, blocks: tuple[Block, ...], u: np.ndarray, v: np.ndarray,
            shade: float) -> dict[str, np.ndarray]:
    """Facade appearance at along-wall coordinate u and height v (metres)."""
    idx = _block_lookup(blocks, u)
    tint = np.array([b.tint for b in blocks])[idx]
    top = np.array([b.top for b in blocks])[idx]
    temp = np.array([b.temp for b in blocks])[idx]
    brick = textures.sample_texture("brick", u * 48.0, v * 48.0)
    albedo = tint * (0.75 + 0.5 * (brick - 0.5))[..., None]
    # windows: 3.5 m bays, 3 m floors, from the first floor up
    bu, bv = np.floor(u / 3.5).astype(np.int64), np.floor(v / 3.0).astype(np.int64)
    fu, fv = u / 3.5 - bu, v / 3.0 - bv
    window = (fu > 0.3) & (fu < 0.75) & (fv > 0.3) & (fv < 0.8) & (bv >= 1) & (v < top - 1.0)
    albedo[window] = (0.05, 0.06, 0.08)
    emission = np.zeros(albedo.shape)
    t = street.t_facade + temp
    if street.night:
        lit = np.zeros(u.shape, bool)
        for k, block in enumerate(blocks):
            sel = window & (idx == k)
            lit[sel] = block.lit[bu[sel] % 32, bv[sel] % 12]
        emission[lit] = (0.3, 0.24, 0.14)
        t = t + 0.05 * window
    else:
        albedo[window] += (0.12, 0.15, 0.2)  # sky reflected in the glass
        t = t - 0.05 * window
    return {"albedo": albedo, "emission": emission, "illum": np.full(u.shape, shade), "temp": t,
            "top": top}


def render_background(street: Street, rng: np.random.Generator) -> dict[str, np.ndarray]:
    cam, s = street.cam, SUPERSAMPLE
    hs, ws = cam.height * s, cam.width * s
    y = (np.arange(hs) + 0.5) / s - 0.5
    x = (np.arange(ws) + 0.5) / s - 0.5
    dx = np.broadcast_to(x[None, :] - cam.x_vp, (hs, ws))
    dy = np.broadcast_to(y[:, None] - cam.y_h, (hs, ws))
    albedo = np.zeros((hs, ws, 3))
    emission = np.zeros((hs, ws, 3))
    illum = np.zeros((hs, ws))
    temp = np.zeros((hs, ws))
    depth = np.full((hs, ws), np.inf)
    road = np.zeros((hs, ws))
    done = np.zeros((hs, ws), bool)

    def put(sel: np.ndarray, layer: dict[str, np.ndarray], z: np.ndarray) -> None:
        albedo[sel] = layer["albedo"]
        emission[sel] = layer["emission"]
        illum[sel] = layer["illum"]
        temp[sel] = layer["temp"]
        depth[sel] = z
        done[sel] = True

    # side facades (the ray meets |X| = walk_half before the ground)
    adx = np.maximum(np.abs(dx), 1e-9)
    z_side = cam.f * street.walk_half / adx
    y_side = cam.hcam - dy * z_side / cam.f
    for sign, blocks, shade in ((-1, street.left, 0.85), (1, street.right, 0.6)):
        cand = (np.sign(dx) == sign) & (z_side < street.z_far) & (y_side >= 0)
        u, v = z_side[cand], y_side[cand]
        layer = _facade(street, blocks, u + (0 if sign < 0 else 500.0), v, shade)
        hit = np.zeros_like(cand)
        hit[cand] = v <= layer["top"]
        keep = hit[cand]
        put(hit, {k: val[keep] for k, val in layer.items()}, z_side[hit])
    # far facades (Z = z_far)
    x_far = dx * street.z_far / cam.f
    y_far = cam.hcam - dy * street.z_far / cam.f
    cand = ~done & (y_far >= 0)
    layer = _facade(street, street.far, x_far[cand], y_far[cand], 0.75)
    hit = np.zeros_like(cand)
    hit[cand] = y_far[cand] <= layer["top"]
    keep = hit[cand]
    put(hit, {k: val[keep] for k, val in layer.items()}, np.full(hit.sum(), street.z_far))
    # ground
    ground = ~done & (dy > 0)
    zg = cam.f * cam.hcam / dy[ground]
    xg = dx[ground] * zg / cam.f
    put(ground, _ground(street, xg, zg), zg)
    road[ground] = np.abs(xg) < street.road_half
    # sky (emission only)
    sky = ~done
    put(sky, _sky(street, dy[sky] / max(cam.y_h, 1.0)), np.inf)
    illum = _light_pools(street, illum, dx, dy, depth)
    # large-scale temperature variation, attenuation towards the air temperature with distance
    temp = temp + 0.06 * (textures.smooth_noise((hs, ws), rng, 3.0) - 0.5)
    t_air = street.t_sky + 0.25
    finite = np.isfinite(depth)
    temp[finite] = t_air + (temp[finite] - t_air) / (1.0 + depth[finite] / 150.0)
    out = {"albedo": albedo, "emission": emission, "illum": illum, "temp": temp, "road": road}
    out = {k: textures.downsample(v, s) for k, v in out.items()}
    out["depth"] = depth[s // 2::s, s // 2::s]
    return out


def _ground(street: Street, xg: np.ndarray, zg: np.ndarray) -> dict[str, np.ndarray]:
    ax = np.abs(xg)
    on_road = ax < street.road_half
    asphalt = textures.sample_texture("gravel", xg * 90.0, zg * 90.0)
    paving = textures.sample_texture("brick", xg * 60.0 + 100, zg * 60.0)
    albedo = np.empty(xg.shape + (3,))
    grey = np.where(on_road, 0.13 * (0.8 + 0.4 * asphalt), 0.38 * (0.8 + 0.4 * paving))
    albedo[:] = grey[:, None]
    albedo[~on_road] *= (1.0, 0.96, 0.88)
    marks = on_road & (((ax < 0.08) & (zg % 6.0 < 3.0)) |
                       ((ax > street.road_half - 0.25) & (ax < street.road_half - 0.12)))
    if street.crossing is not None:
        z0, z1 = street.crossing
        marks |= on_road & (zg > z0) & (zg < z1) & (xg % 1.0 < 0.5)
    albedo[marks] = 0.7
    temp = np.where(on_road, street.t_road, street.t_road - 0.06) - 0.03 * marks
    return {"albedo": albedo, "emission": np.zeros_like(albedo), "illum": np.ones(xg.shape),
            "temp": temp}


def _sky(street: Street, height01: np.ndarray) -> dict[str, np.ndarray]:
    """height01: (y - y_h) / y_h, from 0 at the horizon to -1 at the top row."""
    up = np.clip(-height01, 0.0, 1.0)[:, None]
    if street.night:
        rad = (0.002, 0.002, 0.004) + (0.012, 0.009, 0.006) * (1.0 - up) ** 3
    else:
        rad = (0.75, 0.82, 0.92) * (1.0 - up) + (0.3, 0.5, 0.85) * up
    emission = np.broadcast_to(rad, up.shape[:1] + (3,)).copy()
    temp = street.t_sky + 0.12 * (1.0 - up[:, 0])
    return {"albedo": np.zeros_like(emission), "emission": emission,
            "illum": np.zeros(up.shape[0]), "temp": temp}


def _light_pools(street: Street, illum: np.ndarray, dx: np.ndarray, dy: np.ndarray,
                 depth: np.ndarray) -> np.ndarray:
    """Day: sunlight (illum scaled by the ambient level). Night: ambient plus lamp pools."""
    if not street.night:
        return illum * street.ambient
    cam = street.cam
    z = np.where(np.isfinite(depth), depth, 1e6)
    xw = dx * z / cam.f
    yw = cam.hcam - dy * z / cam.f
    light = np.full(illum.shape, street.ambient)
    for lx, lz in street.lamps:  # pool radius ~5 m on the ground, falling off with distance
        rho2 = (xw - lx) ** 2 + (z - lz) ** 2 + 0.3 * (yw - LAMP_HEIGHT) ** 2
        light += 0.25 / (1.0 + rho2 / 25.0) ** 2
    return np.where(illum > 0, illum * light, 0.0)
