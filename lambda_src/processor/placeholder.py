"""What a page shows before an image's variants arrive: a ThumbHash, the dominant colour and
the aspect ratio. Pure Python and Pillow, no AWS.

ThumbHash (https://evanw.github.io/thumbhash/, public domain / MIT by Evan Wallace) is written
here from its reference encoder: the image, at most 100 x 100, is converted to luminance (L),
yellow-blue (P), red-green (Q) and alpha; each channel is reduced to a few low-frequency DCT
coefficients (up to 7 for L, 3 for P and Q, 5 for alpha), quantised to 4 bits and packed
behind a 5-6 byte header that also carries the aspect ratio and whether there is alpha. The
result, typically 20-25 bytes, is sent base64-encoded (no padding trimmed: the page decodes it
with ``atob``). The page decodes it (``web/js/thumbhash.js``) into a 32-pixel image on a canvas.

Why ThumbHash and not BlurHash, and why a 32-pixel input: measured in ``bench/placeholders.py``,
results in docs/benchmarks.md. The DCT is evaluated separably (rows first), so its cost is
``O(nx * w * h)`` instead of ``O(nx * ny * w * h)``.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from PIL import Image

# Longest edge of the image the hash is computed from (ThumbHash accepts up to 100).
HASH_INPUT_EDGE = 32
# Colours the dominant colour is chosen among (median cut on the same small image).
DOMINANT_PALETTE = 8


@dataclass(frozen=True)
class Placeholder:
    thumbhash: str  # base64 of the ThumbHash bytes
    color: str  # "#rrggbb", the most common colour
    aspect_ratio: float  # width / height of the upright source, 4 decimals

    def as_json(self) -> dict[str, object]:
        return {"thumbhash": self.thumbhash, "color": self.color, "aspectRatio": self.aspect_ratio}


def make_placeholder(image: Image.Image, source_size: tuple[int, int]) -> Placeholder:
    """The placeholder of ``image`` (any size: the smallest variant is enough), whose upright
    source measures ``source_size``. ``image`` is L, LA, RGB or RGBA in sRGB."""
    small = _small_rgba(image)
    width, height = source_size
    return Placeholder(
        base64.b64encode(thumbhash(small)).decode("ascii"),
        dominant_color(small),
        round(width / height, 4),
    )


def _small_rgba(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    scale = HASH_INPUT_EDGE / max(rgba.size)
    if scale < 1:
        size = (max(1, round(rgba.width * scale)), max(1, round(rgba.height * scale)))
        rgba = rgba.resize(size, Image.Resampling.BOX)
    return rgba


def dominant_color(image: Image.Image) -> str:
    """The most common of a few median-cut colours of the opaque-composited image, as hex."""
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    quantised = flat.quantize(colors=DOMINANT_PALETTE, method=Image.Quantize.MEDIANCUT)
    counts = quantised.getcolors() or [(1, 0)]
    _, index = max(counts, key=lambda item: (item[0], -item[1]))
    palette = quantised.getpalette() or [0, 0, 0]
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def thumbhash(image: Image.Image) -> bytes:
    """ThumbHash of an RGBA image of at most 100 x 100 pixels (the reference encoder's rules)."""
    width, height = image.size
    if width > 100 or height > 100:
        raise ValueError(f"{width}x{height} does not fit in 100x100")
    pixels = image.convert("RGBA").get_flattened_data()
    count = width * height
    avg_r = avg_g = avg_b = avg_a = 0.0
    for red, green, blue, alpha_byte in pixels:
        alpha = alpha_byte / 255
        avg_r += alpha / 255 * red
        avg_g += alpha / 255 * green
        avg_b += alpha / 255 * blue
        avg_a += alpha
    if avg_a:
        avg_r, avg_g, avg_b = avg_r / avg_a, avg_g / avg_a, avg_b / avg_a
    has_alpha = avg_a < count
    l_limit = 5 if has_alpha else 7
    lx = max(1, round(l_limit * width / max(width, height)))
    ly = max(1, round(l_limit * height / max(width, height)))
    lum, yellow_blue, red_green, alphas = [], [], [], []
    for red, green, blue, alpha_byte in pixels:
        alpha = alpha_byte / 255
        r = avg_r * (1 - alpha) + alpha / 255 * red
        g = avg_g * (1 - alpha) + alpha / 255 * green
        b = avg_b * (1 - alpha) + alpha / 255 * blue
        lum.append((r + g + b) / 3)
        yellow_blue.append((r + g) / 2 - b)
        red_green.append(r - g)
        alphas.append(alpha)
    l_dc, l_ac, l_scale = _encode_channel(lum, width, height, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel(yellow_blue, width, height, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(red_green, width, height, 3, 3)
    is_landscape = width > height
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if is_landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(is_landscape) << 15)
    )
    result = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _encode_channel(alphas, width, height, 5, 5)
        result.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        channels.append(a_ac)
    start = len(result)
    index = 0
    for ac in channels:
        for factor in ac:
            position = start + (index >> 1)
            while len(result) <= position:
                result.append(0)
            result[position] |= _round(15 * factor) << ((index & 1) << 2)
            index += 1
    return bytes(result)


def _encode_channel(
    channel: list[float], width: int, height: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    """DC, normalised AC terms and their scale of one channel (triangle of nx x ny terms)."""
    cos, pi = math.cos, math.pi
    fx = [[cos(pi / width * cx * (x + 0.5)) for x in range(width)] for cx in range(nx)]
    fy = [[cos(pi / height * cy * (y + 0.5)) for y in range(height)] for cy in range(ny)]
    rows = [channel[y * width : (y + 1) * width] for y in range(height)]
    # projections[cx][y] = sum over x of channel[y][x] * fx[cx][x]
    projections = [[sum(map(float.__mul__, row, fx[cx])) for row in rows] for cx in range(nx)]
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            value = sum(map(float.__mul__, projections[cx], fy[cy])) / (width * height)
            if cx or cy:
                ac.append(value)
                scale = max(scale, abs(value))
            else:
                dc = value
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * value for value in ac]
    return dc, ac, scale


def _round(value: float) -> int:
    """JavaScript's Math.round (halves up), as the reference encoder rounds."""
    return math.floor(value + 0.5)
