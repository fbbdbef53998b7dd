#!/usr/bin/env python3
"""Draw the images of pass_templates/default/ (icon, logo, strip at @1x/@2x/@3x).

Pure Python 3.11 standard library: shapes are signed-distance functions evaluated in
points, so every scale is drawn from the same geometry and anti-aliased by coverage
(a one-pixel ramp across each edge); PNGs are written with zlib + struct, choosing the
smallest of several row-filter strategies at zlib level 9.

    python3 scripts/draw_default_design.py                # writes pass_templates/default/
    python3 scripts/draw_default_design.py --out DIR      # somewhere else
    python3 scripts/draw_default_design.py --preview DIR  # also enlarged previews for review

The output is deterministic: running it again gives the same bytes (same zlib build).
"""

from __future__ import annotations

import argparse
import math
import struct
import zlib
from pathlib import Path

# Pass colours (pass.json backgroundColor / foregroundColor / labelColor).
NAVY = (22, 52, 92)
WHITE = (255, 255, 255)
LABEL = (176, 200, 232)

SCALES = (1, 2, 3)


# --------------------------------------------------------------------------- geometry


def clamp(v: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if v < lo else hi if v > hi else v


def sd_circle(x: float, y: float, cx: float, cy: float, r: float) -> float:
    return math.hypot(x - cx, y - cy) - r


def sd_round_box(x: float, y: float, cx: float, cy: float, hw: float, hh: float, r: float) -> float:
    """Rounded rectangle centred at (cx, cy) with half sizes hw, hh and corner radius r."""
    qx = abs(x - cx) - hw + r
    qy = abs(y - cy) - hh + r
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    return outside + inside - r


def sd_capsule(x: float, y: float, ax: float, ay: float, bx: float, by: float, r: float) -> float:
    """Segment a→b thickened to radius r (round caps)."""
    px, py = x - ax, y - ay
    dx, dy = bx - ax, by - ay
    h = clamp((px * dx + py * dy) / (dx * dx + dy * dy))
    return math.hypot(px - dx * h, py - dy * h) - r


def rotate(x: float, y: float, cx: float, cy: float, deg: float) -> tuple[float, float]:
    """The point (x, y) expressed in a frame rotated by deg around (cx, cy)."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    dx, dy = x - cx, y - cy
    return cx + dx * c + dy * s, cy - dx * s + dy * c


def cover(d: float, px: float) -> float:
    """Pixel coverage of a shape at signed distance d (points); px = points per pixel."""
    return clamp(0.5 - d / px)


def lerp(a: tuple, b: tuple, t: float) -> tuple:
    return tuple(a[i] + (b[i] - a[i]) * t for i in range(len(a)))


def over(dst: list[float], rgb: tuple, alpha: float) -> None:
    """Composite a straight-alpha colour over dst = [r, g, b, a] (straight alpha, 0..255/0..1)."""
    if alpha <= 0.0:
        return
    da = dst[3]
    oa = alpha + da * (1.0 - alpha)
    if oa <= 0.0:
        return
    for i in range(3):
        dst[i] = (rgb[i] * alpha + dst[i] * da * (1.0 - alpha)) / oa
    dst[3] = oa


def render(width_pt: float, height_pt: float, scale: int, shade) -> tuple[int, int, bytearray]:
    """Evaluate shade(x_pt, y_pt, px) -> [r, g, b, a] at every pixel centre."""
    w, h = round(width_pt * scale), round(height_pt * scale)
    px = 1.0 / scale
    out = bytearray(w * h * 4)
    o = 0
    for j in range(h):
        y = (j + 0.5) * px
        for i in range(w):
            r, g, b, a = shade((i + 0.5) * px, y, px)
            out[o] = round(clamp(r, 0, 255))
            out[o + 1] = round(clamp(g, 0, 255))
            out[o + 2] = round(clamp(b, 0, 255))
            out[o + 3] = round(clamp(a) * 255)
            o += 4
    return w, h, out


# --------------------------------------------------------------------------- designs

ICON_PT = 29.0


def shade_icon(x: float, y: float, px: float) -> list[float]:
    """Opaque navy tile (the system rounds it), white card with a knocked-out percent sign."""
    t = y / ICON_PT
    top, bottom = (34, 72, 122), (18, 43, 78)
    dst = list(lerp(top, bottom, t)) + [1.0]
    # The card: a landscape rounded rectangle, slightly above centre optically balanced.
    card = sd_round_box(x, y, 14.5, 14.5, 10.75, 7.75, 2.6)
    # Percent sign cut out of the card.
    dot_a = sd_circle(x, y, 10.6, 11.4, 1.85)
    dot_b = sd_circle(x, y, 18.4, 17.6, 1.85)
    slash = sd_capsule(x, y, 18.2, 10.2, 10.8, 18.8, 0.85)
    glyph = min(dot_a, dot_b, slash)
    shape = max(card, -glyph)
    over(dst, WHITE, cover(shape, px))
    return dst


LOGO_PT = 50.0


def shade_logo(x: float, y: float, px: float) -> list[float]:
    """Two stacked cards, the front one carrying the icon's percent sign, on transparency."""
    dst = [255.0, 255.0, 255.0, 0.0]
    # Front card: solid, level, lower left.
    front = sd_round_box(x, y, 21.5, 30.0, 16.5, 11.0, 3.2)
    # Back card: an outline, tilted, peeking out at the top right with a gap around the front.
    bx, by = rotate(x, y, 28.5, 21.0, -12.0)
    back = sd_round_box(bx, by, 28.5, 21.0, 16.0, 10.5, 3.2)
    back_visible = max(abs(back) - 1.3, -(front - 2.4))
    over(dst, WHITE, 0.6 * cover(back_visible, px))
    # The percent sign knocked out of the front card (transparent, so the pass colour shows).
    dot_a = sd_circle(x, y, 17.0, 26.2, 2.2)
    dot_b = sd_circle(x, y, 26.0, 33.8, 2.2)
    slash = sd_capsule(x, y, 26.2, 24.6, 16.8, 35.4, 0.95)
    front_shape = max(front, -min(dot_a, dot_b, slash))
    over(dst, WHITE, cover(front_shape, px))
    return dst


STRIP_W, STRIP_H = 375.0, 144.0


def shade_strip(x: float, y: float, px: float) -> list[float]:
    """Calm diagonal gradient, faint concentric arcs and a dot grid fading out to the left.

    The pass's primary field (the big number and its label) is drawn left-aligned over the
    strip in white, so the left two thirds stay nearly plain.
    """
    # Base: top-left a little lighter than the pass background, bottom-right a little deeper.
    t = clamp((x / STRIP_W) * 0.55 + (y / STRIP_H) * 0.45)
    light, deep = (33, 70, 118), (17, 41, 75)
    dst = list(lerp(light, deep, t)) + [1.0]
    # A soft glow on the right, behind the arcs.
    g = math.hypot(x - 330.0, y - 62.0)
    glow = 0.10 * clamp(1.0 - g / 170.0) ** 2
    over(dst, (70, 120, 180), glow)
    # Concentric arcs centred off the right edge: thin strokes, fading leftwards.
    fade = clamp((x - 150.0) / 150.0)
    if fade > 0.0:
        d = math.hypot(x - 410.0, y - 150.0)
        arcs = 0.0
        for k, r in enumerate((70.0, 104.0, 138.0, 172.0, 206.0)):
            ring = abs(d - r) - 0.55
            arcs = max(arcs, cover(ring, px) * (0.16 - 0.02 * k))
        over(dst, (190, 212, 240), arcs * fade)
    # Dot grid in the upper right, fading towards the left and the bottom.
    dfade = clamp((x - 215.0) / 130.0) * clamp(1.0 - y / 110.0)
    if dfade > 0.0:
        step = 12.0
        cx = (math.floor(x / step) + 0.5) * step
        cy = (math.floor(y / step) + 0.5) * step
        dot = sd_circle(x, y, cx, cy, 0.9)
        over(dst, (200, 220, 245), 0.22 * dfade * cover(dot, px))
    # A thin light rule along the bottom edge gives the strip a finished edge against the pass.
    rule = clamp((y - (STRIP_H - 1.0)) / px + 0.5) if y > STRIP_H - 1.5 else 0.0
    over(dst, (120, 160, 210), 0.18 * rule)
    return dst


IMAGES = (
    ("icon", ICON_PT, ICON_PT, shade_icon),
    ("logo", LOGO_PT, LOGO_PT, shade_logo),
    ("strip", STRIP_W, STRIP_H, shade_strip),
)


# --------------------------------------------------------------------------- PNG


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter_row(kind: int, row: bytes, prev: bytes, bpp: int) -> bytes:
    n = len(row)
    if kind == 0:
        return bytes(row)
    out = bytearray(n)
    if kind == 1:
        for i in range(n):
            out[i] = (row[i] - (row[i - bpp] if i >= bpp else 0)) & 0xFF
    elif kind == 2:
        for i in range(n):
            out[i] = (row[i] - prev[i]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = row[i - bpp] if i >= bpp else 0
            out[i] = (row[i] - ((left + prev[i]) >> 1)) & 0xFF
    else:
        for i in range(n):
            left = row[i - bpp] if i >= bpp else 0
            upleft = prev[i - bpp] if i >= bpp else 0
            out[i] = (row[i] - _paeth(left, prev[i], upleft)) & 0xFF
    return bytes(out)


def _cost(data: bytes) -> int:
    """Minimum sum of absolute differences (bytes read as signed), the libpng heuristic."""
    return sum(b if b < 128 else 256 - b for b in data)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(width: int, height: int, rgba: bytes) -> bytes:
    """RGBA8 PNG; tries per-row adaptive filtering and each fixed filter, keeps the smallest."""
    bpp, stride = 4, width * 4
    rows = [rgba[j * stride:(j + 1) * stride] for j in range(height)]
    zero = bytes(stride)
    # filtered[k][j] = row j under filter k
    filtered = []
    for k in range(5):
        filtered.append([_filter_row(k, rows[j], rows[j - 1] if j else zero, bpp) for j in range(height)])
    strategies = [[k] * height for k in range(5)]
    strategies.append([min(range(5), key=lambda k: _cost(filtered[k][j])) for j in range(height)])
    best = None
    for choice in strategies:
        raw = b"".join(bytes([choice[j]]) + filtered[choice[j]][j] for j in range(height))
        packed = zlib.compress(raw, 9)
        if best is None or len(packed) < len(best):
            best = packed
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", best) + _chunk(b"IEND", b"")


# --------------------------------------------------------------------------- previews


def upscale(w: int, h: int, rgba: bytes, factor: int, backdrop: tuple | None = None) -> tuple[int, int, bytes]:
    """Nearest-neighbour enlargement, optionally flattened onto an opaque backdrop."""
    out = bytearray()
    for j in range(h * factor):
        src = (j // factor) * w * 4
        line = bytearray()
        for i in range(w):
            p = rgba[src + i * 4:src + i * 4 + 4]
            if backdrop is not None:
                a = p[3] / 255.0
                p = bytes(round(p[c] * a + backdrop[c] * (1 - a)) for c in range(3)) + b"\xff"
            line += bytes(p) * factor
        out += line
    return w * factor, h * factor, bytes(out)


# --------------------------------------------------------------------------- main


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=root / "pass_templates" / "default")
    ap.add_argument("--preview", type=Path, help="also write enlarged previews (on navy) here")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, wpt, hpt, shade in IMAGES:
        for s in SCALES:
            w, h, rgba = render(wpt, hpt, s, shade)
            fname = f"{name}.png" if s == 1 else f"{name}@{s}x.png"
            data = encode_png(w, h, rgba)
            (args.out / fname).write_bytes(data)
            print(f"{fname:16} {w:5}x{h:<4} {len(data):7} bytes")
            if args.preview:
                args.preview.mkdir(parents=True, exist_ok=True)
                factor = max(1, 300 // max(w, h))
                pw, ph, prgba = upscale(w, h, rgba, factor, NAVY)
                (args.preview / f"preview-{fname}").write_bytes(encode_png(pw, ph, prgba))


if __name__ == "__main__":
    main()
