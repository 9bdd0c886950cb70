"""ThumbHash or BlurHash for the placeholder: encode time and size, measured.

Both written from their specifications in pure Python (the Lambda layer has Pillow, no
numpy), with the same separable DCT, on the same inputs: the smallest variant of a photo-like
image and of the kimono corpus photo, reduced to at most N pixels on the longest edge. BlurHash
with 4 x 3 components (its usual setting); ThumbHash as lambda_src/processor/placeholder.py.

    .venv/bin/python bench/placeholders.py
"""

from __future__ import annotations

import base64
import math
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "lambda_src"))  # the processor package, as its zip lays it out
import inputs  # noqa: E402  (bench/ is on the path as this script's folder)

from processor import imaging, placeholder  # noqa: E402

_B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def _base83(value: int, length: int) -> str:
    return "".join(_B83[(value // 83 ** (length - 1 - i)) % 83] for i in range(length))


def _linear(value: int) -> float:
    v = value / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _srgb(value: float) -> int:
    v = max(0.0, min(1.0, value))
    return round((v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055) * 255)


def blurhash(image: Image.Image, nx: int = 4, ny: int = 3) -> str:
    """BlurHash (https://github.com/woltapp/blurhash, algorithm.md), separable evaluation."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    table = [_linear(v) for v in range(256)]
    pixels = rgb.get_flattened_data()
    channels = [[table[p[c]] for p in pixels] for c in range(3)]
    fx = [[math.cos(math.pi * i * x / width) for x in range(width)] for i in range(nx)]
    fy = [[math.cos(math.pi * j * y / height) for y in range(height)] for j in range(ny)]
    factors = []
    for j in range(ny):
        for i in range(nx):
            norm = 1 if i == j == 0 else 2
            factor = []
            for channel in channels:
                total = 0.0
                for y in range(height):
                    row = channel[y * width : (y + 1) * width]
                    total += fy[j][y] * sum(map(float.__mul__, row, fx[i]))
                factor.append(norm * total / (width * height))
            factors.append(factor)
    dc, ac = factors[0], factors[1:]
    result = _base83((nx - 1) + (ny - 1) * 9, 1)
    maximum = max((abs(v) for f in ac for v in f), default=0.0)
    quantised = max(0, min(82, math.floor(maximum * 166 - 0.5))) if ac else 0
    actual = (quantised + 1) / 166 if ac else 1.0
    result += _base83(quantised, 1)
    result += _base83((_srgb(dc[0]) << 16) + (_srgb(dc[1]) << 8) + _srgb(dc[2]), 4)
    for factor in ac:

        def q(v: float) -> int:
            return max(0, min(18, math.floor(math.copysign(abs(v / actual) ** 0.5, v) * 9 + 9.5)))

        result += _base83(q(factor[0]) * 361 + q(factor[1]) * 19 + q(factor[2]), 2)
    return result


def timed(function, repeats: int = 15) -> float:
    function()
    times = []
    for _ in range(repeats):
        started = time.process_time()  # CPU time: the machine is shared with other work
        function()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    sources = {
        "photo-like 4:3": inputs.photo((1024, 768), 3),
        "kimono (corpus)": Image.open(REPO / "tests/support/corpus/kimono.avif").convert("RGB"),
    }
    print(
        "| input | input px | ThumbHash CPU ms | ThumbHash bytes (base64 chars) | BlurHash 4x3 CPU ms | BlurHash chars | colour CPU ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, source in sources.items():
        thumb = source.resize(imaging.target_size(*source.size, 128), Image.Resampling.LANCZOS)
        for edge in (32, 64, 100):
            placeholder.HASH_INPUT_EDGE = edge
            small = placeholder._small_rgba(thumb)
            hashed = placeholder.thumbhash(small)
            th_ms = timed(lambda small=small: placeholder.thumbhash(small))
            bh = blurhash(small)
            bh_ms = timed(lambda small=small: blurhash(small))
            colour_ms = timed(lambda small=small: placeholder.dominant_color(small))
            print(
                f"| {name} | {small.width}x{small.height} | {th_ms:.2f} | {len(hashed)} "
                f"({len(base64.b64encode(hashed))}) | {bh_ms:.2f} | {len(bh)} | {colour_ms:.2f} |"
            )


if __name__ == "__main__":
    main()
