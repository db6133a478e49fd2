"""Equirectangular 2:1 panoramas drawn by ray casting: a hall with windows and a red banner, or a plaza."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FONT_FILES = ("NotoSansCJK-Bold.ttc", "NotoSansCJK-Regular.ttc", "NotoSerifCJK-Bold.ttc")
EYE = 1.6  # camera height above the floor, metres
RED = (200, 16, 28)
GOLD = (255, 214, 90)


@lru_cache(maxsize=4)
def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """The Noto CJK font when installed; else Pillow's default font (no CJK glyphs)."""
    for name in FONT_FILES:
        path = FONT_DIR / name
        if path.exists():
            return ImageFont.truetype(str(path), size=size), True
    return ImageFont.load_default(size=size), False


def banner(text: str, width: int = 1600, height: int = 200) -> np.ndarray:
    """A red banner with centred gold text, as a float RGB array in [0, 1]."""
    img = Image.new("RGB", (width, height), RED)
    font, cjk = _font(int(height * 0.55))
    shown = text if cjk else "djmap sample"
    draw = ImageDraw.Draw(img)
    box = draw.textbbox((0, 0), shown, font=font)
    x = (width - (box[2] - box[0])) / 2 - box[0]
    y = (height - (box[3] - box[1])) / 2 - box[1]
    draw.text((x, y), shown, fill=GOLD, font=font)
    draw.rectangle((6, 6, width - 7, height - 7), outline=GOLD, width=4)
    return np.asarray(img, dtype=np.float32) / 255.0


def _rays(width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit view directions (x east, y north, z up) of every pixel, plus lon/lat."""
    h = width // 2
    lon = ((np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1) * np.float32(np.pi)
    lat = (0.5 - (np.arange(h, dtype=np.float32) + 0.5) / h) * np.float32(np.pi)
    lo, la = np.meshgrid(lon, lat)
    return np.cos(la) * np.sin(lo), np.cos(la) * np.cos(lo), np.sin(la), lo, la


def _sample(tex: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Nearest-neighbour texture lookup at u, v in [0, 1] (v = 0 at the top)."""
    th, tw = tex.shape[:2]
    i = np.clip((v * th).astype(np.int64), 0, th - 1)
    j = np.clip((u * tw).astype(np.int64), 0, tw - 1)
    return np.asarray(tex[i, j])


def _sky(z: np.ndarray) -> np.ndarray:
    t = np.clip(z, 0, 1)[..., None]
    return np.asarray((1 - t) * np.array([0.80, 0.88, 0.97]) + t * np.array([0.33, 0.55, 0.86]))


def hall(
    title: str, slogan: str, width: int = 2048, rng: np.random.Generator | None = None
) -> np.ndarray:
    """A 党群服务中心 hall: tiled floor, lit ceiling, windows on two walls, banners on two."""
    rng = rng or np.random.default_rng(0)
    ax, ay, ceil = 6.0 + rng.uniform(0, 2), 9.0 + rng.uniform(0, 3), 3.2 + rng.uniform(0, 0.6)
    dx, dy, dz, _, _ = _rays(width)
    eps = np.float32(1e-6)
    tx = ax / np.maximum(np.abs(dx), eps)
    ty = ay / np.maximum(np.abs(dy), eps)
    tz = np.where(dz > 0, (ceil - EYE) / np.maximum(dz, eps), EYE / np.maximum(-dz, eps))
    t = np.minimum(np.minimum(tx, ty), tz)
    px, py, pz = dx * t, dy * t, dz * t + EYE
    img = np.empty((*dx.shape, 3), np.float32)
    wall = np.array([0.93, 0.90, 0.84], np.float32)
    img[:] = wall
    floor = (tz <= t) & (dz < 0)
    tile = ((np.floor(px / 0.8) + np.floor(py / 0.8)) % 2).astype(np.float32)[..., None]
    img = np.where(floor[..., None], 0.72 + 0.1 * tile * np.array([1, 1, 1], np.float32), img)
    ceiling = (tz <= t) & (dz > 0)
    lamp = ((np.abs((px % 3.0) - 1.5) < 0.5) & (np.abs((py % 3.0) - 1.5) < 0.5))[..., None]
    img = np.where(ceiling[..., None], np.where(lamp, 1.0, 0.96), img)
    side = (tx <= t) & ~floor & ~ceiling
    win = side & (pz > 1.0) & (pz < 2.6) & ((np.abs(py) % 3.0) > 0.6)
    img = np.where(win[..., None], _sky((pz - 1.0) / 1.6), img)
    skirting = (tx <= t) | (ty <= t)
    img = np.where((skirting & (pz < 0.15))[..., None], np.array([0.45, 0.3, 0.2], np.float32), img)
    img = _banner_on_wall(img, title, ty <= t, py > 0, px, pz, min(4.5, ax - 0.5))
    img = _banner_on_wall(img, slogan, ty <= t, py < 0, -px, pz, min(3.5, ax - 0.5))
    shade = np.clip(1.0 - t / 40.0, 0.75, 1.0)[..., None]
    return np.asarray(np.clip(img * shade, 0, 1))


def _banner_on_wall(
    img: np.ndarray,
    text: str,
    hit: np.ndarray,
    this_wall: np.ndarray,
    u_m: np.ndarray,
    z: np.ndarray,
    half: float,
) -> np.ndarray:
    """Paint a banner `half`·2 m wide and 1.1 m tall on the wall, 1.7–2.8 m above the floor."""
    tex = banner(text, height=int(1600 * 1.1 / (2 * half)))
    on = hit & this_wall & (np.abs(u_m) < half) & (z > 1.7) & (z < 2.8)
    colour = _sample(tex, (u_m + half) / (2 * half), (2.8 - z) / 1.1)
    return np.where(on[..., None], colour, img)


def plaza(title: str, width: int = 2048, rng: np.random.Generator | None = None) -> np.ndarray:
    """A square in front of a centre: paving, a ring of buildings with windows, sky, a banner."""
    rng = rng or np.random.default_rng(0)
    dx, dy, dz, lon, lat = _rays(width)
    radius = 45.0
    sectors = rng.uniform(8.0, 40.0, 24).astype(np.float32)
    height = sectors[((lon + np.pi) / (2 * np.pi) * 24).astype(np.int64) % 24]
    horiz = np.maximum(np.cos(lat), 1e-6)
    wall_z = EYE + radius * np.tan(lat)
    ground_d = np.where(dz < 0, EYE / np.maximum(-np.tan(lat), 1e-6), np.inf)
    img = _sky((lat / (np.pi / 2)) * 1.3)
    building = (wall_z < height) & (ground_d > radius)
    col = np.array([0.78, 0.74, 0.68], np.float32)
    window = (
        (np.floor(wall_z / 3.0) % 1 == 0) & ((wall_z % 3.0) > 1.2) & ((lon * radius % 4.0) > 1.5)
    )
    bcol = np.where(window[..., None], np.array([0.35, 0.45, 0.55], np.float32), col)
    img = np.where(building[..., None], bcol, img)
    ground = ground_d <= radius
    with np.errstate(invalid="ignore"):
        gx, gy = dx / horiz * ground_d, dy / horiz * ground_d
        pave = ((np.floor(gx / 1.2) + np.floor(gy / 1.2)) % 2).astype(np.float32)[..., None]
    img = np.where(ground[..., None], 0.62 + 0.08 * pave, img)
    u = lon / np.float32(np.deg2rad(30.0)) * 0.5 + 0.5
    on = (np.abs(lon) < np.deg2rad(30.0)) & (wall_z > 2.5) & (wall_z < 7.5) & (ground_d > radius)
    tex = banner(title, height=int(1600 * 5.0 / (radius * np.deg2rad(60.0))))
    img = np.where(on[..., None], _sample(tex, u, (7.5 - wall_z) / 5.0), img)
    return np.asarray(np.clip(img, 0, 1))


def write_jpeg(pixels: np.ndarray, path: Path) -> None:
    """Save float RGB pixels as a baseline JPEG (no EXIF, so the bytes depend on the pixels only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((pixels * 255 + 0.5).astype(np.uint8), "RGB").save(path, "JPEG", quality=85)
