"""Generated animations for the animation tests, written byte by byte where Pillow's writers
would choose for us: a GIF writer with every frame's position, size, disposal, delay and
transparency given (Pillow's GIF writer crops and picks disposal itself), APNG and WebP through
Pillow's writers (whose disposal and blend parameters are explicit)."""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

# The global colour table: index -> colour.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),  # 0 black (the background colour index)
    (220, 20, 20),  # 1 red
    (20, 200, 40),  # 2 green
    (20, 40, 200),  # 3 blue
    (255, 255, 255),  # 4 white
    (240, 220, 30),  # 5 yellow
    (255, 0, 255),  # 6 magenta: the transparent index where a frame uses one
    (128, 128, 128),  # 7 grey
)
BLACK, RED, GREEN, BLUE, WHITE, YELLOW, MAGENTA, GREY = range(8)


@dataclass(frozen=True)
class GifFrame:
    """One image of a GIF: ``pixels`` rows of palette indices placed at ``left``, ``top``."""

    pixels: Sequence[Sequence[int]]
    left: int = 0
    top: int = 0
    delay_cs: int | None = 10  # None: no graphic control extension at all
    disposal: int = 0  # 0 unspecified, 1 keep, 2 background, 3 previous
    transparent: int | None = None

    @staticmethod
    def fill(width: int, height: int, index: int, **kwargs: object) -> GifFrame:
        return GifFrame([[index] * width for _ in range(height)], **kwargs)  # type: ignore[arg-type]


def gif(
    canvas: tuple[int, int],
    frames: Sequence[GifFrame],
    *,
    loop: int | None = 0,
    background: int = BLACK,
    trailer: bool = True,
) -> bytes:
    """A GIF89a with the global PALETTE; ``loop`` None writes no NETSCAPE block."""
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", canvas[0], canvas[1], 0x80 | 0x70 | 2, background, 0)
    for index in range(8):
        out += bytes(PALETTE[index])
    if loop is not None:
        out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00"
    for frame in frames:
        out += _frame(frame)
    if trailer:
        out += b"\x3b"
    return bytes(out)


def _frame(frame: GifFrame) -> bytes:
    out = bytearray()
    if frame.delay_cs is not None:
        flags = (frame.disposal << 2) | (1 if frame.transparent is not None else 0)
        out += b"\x21\xf9\x04" + struct.pack("<BHB", flags, frame.delay_cs, frame.transparent or 0)
        out += b"\x00"
    height = len(frame.pixels)
    width = len(frame.pixels[0]) if height else 0
    out += b"\x2c" + struct.pack("<HHHHB", frame.left, frame.top, width, height, 0)
    out += lzw_uncompressed([value for row in frame.pixels for value in row])
    return bytes(out)


def lzw_uncompressed(indices: Sequence[int], minimum_code_size: int = 8) -> bytes:
    """GIF image data that any LZW decoder reads: literal codes only, with a clear code often
    enough that the code width never grows (so no compression is needed to write it)."""
    clear, end = 1 << minimum_code_size, (1 << minimum_code_size) + 1
    width = minimum_code_size + 1
    codes = [clear]
    for position, value in enumerate(indices):
        if position and position % 250 == 0:
            codes.append(clear)
        codes.append(value)
    codes.append(end)
    bits = 0
    count = 0
    packed = bytearray()
    for code in codes:
        bits |= code << count
        count += width
        while count >= 8:
            packed.append(bits & 0xFF)
            bits >>= 8
            count -= 8
    if count:
        packed.append(bits & 0xFF)
    out = bytearray([minimum_code_size])
    for start in range(0, len(packed), 255):
        chunk = packed[start : start + 255]
        out += bytes([len(chunk)]) + chunk
    return bytes(out + b"\x00")


def solid(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGBA") -> Image.Image:
    return Image.new(mode, size, colour)


def apng(
    frames: Sequence[Image.Image],
    durations: Sequence[float],
    *,
    disposal: Sequence[int],
    blend: Sequence[int],
    loop: int = 0,
) -> bytes:
    """An APNG through Pillow's writer (which stores changed regions as partial frames)."""
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "PNG",
        save_all=True,
        append_images=list(frames[1:]),
        duration=list(durations),
        disposal=list(disposal),
        blend=list(blend),
        loop=loop,
    )
    return buffer.getvalue()


def webp(frames: Sequence[Image.Image], durations: Sequence[int], loop: int = 0) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "WEBP",
        save_all=True,
        append_images=list(frames[1:]),
        duration=list(durations),
        loop=loop,
        lossless=True,
    )
    return buffer.getvalue()


def decoded_frames(data: bytes) -> list[tuple[Image.Image, int]]:
    """Every frame of an encoded animation as RGBA, with its duration in ms."""
    image = Image.open(io.BytesIO(data))
    frames = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        image.load()
        frames.append((image.convert("RGBA"), int(image.info.get("duration") or 0)))
    return frames


def loop_of(data: bytes) -> int | None:
    return Image.open(io.BytesIO(data)).info.get("loop")
