"""Deterministic, photo-like benchmark inputs (Pillow only, no numpy).

A photo is a smooth colour field (a coarse random grid upscaled bicubically), objects with
anti-aliased edges, mid-frequency texture and fine grain. At JPEG q90 that is about 2 bits per
pixel, like a phone photo. The phone HEIC (``PHONE_HEIC``) is the same kind of photo at a phone's
4032x3024, encoded by pillow-heif's x265 at quality 50: about 1.8 MB, 1.2 bits per pixel, inside
the 1-3 MB an iPhone's 12 MP HEIC weighs (q60 gives 3.5 MB, q70 4.9 MB; the earlier q90 file was
8 MB, three times a phone's bitrate, and its decode dominated every figure). Unlike a phone's
HEIC (a grid of 512x512 tiles, which libheif can decode in parallel) it is one HEVC image:
pillow-heif writes no grid. HEIC needs
pillow-heif, which only the benchmark venv has (``bash bench/setup.sh`` prints its python); from
another interpreter, ``python bench/inputs.py heic_12mp FOLDER`` run by that python prints the
cached file's path. Everything derives from ``random.Random(seed)``, so the same seed and
the same Pillow version give the same bytes; files are cached under the work folder, keyed by a
hash of their parameters and the Pillow version.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import PIL
from PIL import Image, ImageDraw, ImageFilter

GRAIN = 12  # fine noise, 0..255 blend weight
TEXTURE = 35  # mid-frequency noise, 0..255 blend weight


@dataclass(frozen=True)
class InputClass:
    name: str
    label: str
    format: str  # JPEG | PNG | GIF | WEBP | HEIC
    width: int
    height: int
    seed: int

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "HEIC": "heic"}[
            self.format
        ]

    @property
    def content_type(self) -> str:
        return {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}.get(
            self.format, f"image/{self.format.lower()}"
        )


FULL_CLASSES = (
    InputClass("jpeg_12mp", "JPEG 12 MP (4000x3000, q90)", "JPEG", 4000, 3000, 1),
    InputClass("jpeg_24mp", "JPEG 24 MP (6000x4000, q90)", "JPEG", 6000, 4000, 2),
    InputClass("png_rgba", "PNG RGBA 6 MP (3000x2000)", "PNG", 3000, 2000, 3),
    InputClass("gif", "GIF 2 MP (1600x1200, 256 colours)", "GIF", 1600, 1200, 4),
    InputClass("webp_12mp", "WebP 12 MP (4000x3000, q90)", "WEBP", 4000, 3000, 5),
)
HEIC_QUALITY = 50  # pillow-heif (x265) quality that lands a 12 MP photo at 1-3 MB, like a phone
PHONE_HEIC = InputClass("heic_12mp", "HEIC 12 MP phone (4032x3024, q50)", "HEIC", 4032, 3024, 11)
SMOKE_CLASSES = (
    InputClass("jpeg_12mp", "JPEG (smoke, 400x300)", "JPEG", 400, 300, 1),
    InputClass("png_rgba", "PNG RGBA (smoke, 360x240)", "PNG", 360, 240, 3),
    InputClass("gif", "GIF (smoke, 200x150)", "GIF", 200, 150, 4),
    InputClass("webp_12mp", "WebP (smoke, 400x300)", "WEBP", 400, 300, 5),
)


def photo(size: tuple[int, int], seed: int) -> Image.Image:
    """An RGB photo-like image: gradients, edges, texture and grain."""
    rng = random.Random(seed)
    width, height = size
    grid = (7, 5)
    base = Image.frombytes("RGB", grid, rng.randbytes(grid[0] * grid[1] * 3))
    base = base.resize(size, Image.Resampling.BICUBIC)
    # objects drawn at half scale, blurred a little, upscaled: soft but definite edges
    half = (max(1, width // 2), max(1, height // 2))
    layer = base.resize(half, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(layer)
    for _ in range(60):
        x0, y0 = rng.randrange(half[0]), rng.randrange(half[1])
        x1 = x0 + rng.randrange(half[0] // 20 + 1, half[0] // 3 + 2)
        y1 = y0 + rng.randrange(half[1] // 20 + 1, half[1] // 3 + 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        kind = rng.randrange(3)
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=rng.randrange(2, 12))
    layer = layer.filter(ImageFilter.GaussianBlur(1.2)).resize(size, Image.Resampling.BICUBIC)
    image = Image.blend(base, layer, 0.7)
    third = (max(1, width // 3), max(1, height // 3))
    texture = Image.frombytes("L", third, rng.randbytes(third[0] * third[1]))
    texture = texture.resize(size, Image.Resampling.BICUBIC)
    image = Image.blend(image, Image.merge("RGB", (texture,) * 3), TEXTURE / 255)
    grain = Image.frombytes("L", size, rng.randbytes(width * height))
    return Image.blend(image, Image.merge("RGB", (grain,) * 3), GRAIN / 255)


def cutout_alpha(size: tuple[int, int], seed: int) -> Image.Image:
    """An alpha mask like a product cut-out: opaque soft-edged shapes on transparency."""
    rng = random.Random(seed * 7919)
    width, height = size
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse((width * 0.1, height * 0.1, width * 0.9, height * 0.9), fill=255)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        draw.rectangle((x0, y0, x0 + width // 6, y0 + height // 8), fill=rng.randrange(96, 256))
    return mask.filter(ImageFilter.GaussianBlur(max(1, width // 400)))


def build(spec: InputClass) -> bytes:
    size = (spec.width, spec.height)
    image = photo(size, spec.seed)
    buffer = io.BytesIO()
    if spec.format == "JPEG":
        image.save(buffer, "JPEG", quality=90)
    elif spec.format == "WEBP":
        image.save(buffer, "WEBP", quality=90, method=4)
    elif spec.format == "PNG":
        image.putalpha(cutout_alpha(size, spec.seed))
        image.save(buffer, "PNG")
    elif spec.format == "HEIC":
        import pillow_heif  # benchmark venv only

        pillow_heif.register_heif_opener()
        image.save(buffer, "HEIF", quality=HEIC_QUALITY)
    elif spec.format == "GIF":
        paletted = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        paletted.save(buffer, "GIF")
    else:
        raise ValueError(spec.format)
    return buffer.getvalue()


def cache_key(spec: InputClass) -> str:
    recipe = {
        **asdict(spec),
        "grain": GRAIN,
        "texture": TEXTURE,
        **({"heic_quality": HEIC_QUALITY} if spec.format == "HEIC" else {}),
        "pillow": PIL.__version__,
        "generator": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def ensure(spec: InputClass, folder: Path) -> Path:
    """Path of the input file for ``spec``, generated once into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.name}-{spec.width}x{spec.height}-{cache_key(spec)}.{spec.extension}"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.write_bytes(build(spec))
        partial.replace(path)
    return path


def bits_per_pixel(spec: InputClass, path: Path) -> float:
    return round(path.stat().st_size * 8 / (spec.width * spec.height), 2)


def main(argv: list[str]) -> int:
    """``inputs.py NAME FOLDER``: generate (or find) the named input, print its path."""
    name, folder = argv
    classes = {spec.name: spec for spec in (*FULL_CLASSES, PHONE_HEIC)}
    print(ensure(classes[name], Path(folder)))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
