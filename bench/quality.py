"""Quality of the outputs against an exact reference (Pillow only, no numpy).

The reference for an output of size W x H is the decoded, orientation-fixed source resized in
one full-resolution LANCZOS step (no ``reducing_gap``, no draft) to W x H. Every output, and the
reference encoded with the same format and quality by the same encoder the core uses, is
decoded and compared with that exact resize. ``loss_db`` = PSNR(reference encoded) - PSNR(output):
how much worse the strategy is than encoding the exact resize (negative: better).
Alpha is flattened onto white before comparing (what a page on white shows).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageOps

REPO = Path(__file__).resolve().parent.parent


def flatten(image: Image.Image) -> Image.Image:
    """RGB on white."""
    if image.mode in ("P", "PA", "LA", "La", "RGBa", "1", "L", "I", "I;16", "F", "CMYK"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def psnr(first: Image.Image, second: Image.Image) -> float:
    """PSNR in dB over the RGB channels of two same-size images (alpha flattened on white)."""
    if first.size != second.size:
        raise ValueError(f"sizes differ: {first.size} vs {second.size}")
    histogram = ImageChops.difference(flatten(first), flatten(second)).histogram()
    squared = sum(count * (index % 256) ** 2 for index, count in enumerate(histogram))
    if squared == 0:
        return 99.0
    mse = squared / (first.width * first.height * 3)
    return 10.0 * math.log10(255.0**2 / mse)


def decoded_source(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image) or image
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    image.load()
    return image


class Reference:
    """Exact resizes of one source, cached by size."""

    def __init__(self, data: bytes) -> None:
        self.source = decoded_source(data)
        self._cache: dict[tuple[int, int], Image.Image] = {}

    def exact(self, size: tuple[int, int]) -> Image.Image:
        if size not in self._cache:
            if size == self.source.size:
                self._cache[size] = self.source
            else:
                self._cache[size] = self.source.resize(size, Image.Resampling.LANCZOS)
        return self._cache[size]

    def encoded_psnr(self, size: tuple[int, int], variant: dict[str, Any]) -> tuple[float, int]:
        """PSNR and bytes of the exact resize encoded like ``variant`` (by the core's encoder)."""
        from processor import imaging

        spec = imaging.VariantSpec(**variant)
        exact = self.exact(size)
        encoded = imaging.encode(exact, spec)
        return psnr(exact, Image.open(io.BytesIO(encoded.data))), encoded.size

    def output_psnr(self, blob: bytes) -> tuple[float, tuple[int, int]]:
        output = Image.open(io.BytesIO(blob))
        output.load()
        return psnr(self.exact(output.size), output), output.size
