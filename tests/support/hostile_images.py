"""Hostile inputs for the processor, built in memory (no binary fixtures), with the outcome
each one must have.

Every case names what it attacks, its bytes, the Content-Type a client would claim, whether it
can go through the API (``via="api"``) or must be written straight into the upload bucket
(``via="direct"``: sizes the API refuses to presign), and the expected final status:
``("rejected", code)`` or ``("done", None)``. Used by the emulator tests
(test_hostile_images.py) and the in-process memory/time budget test
(test_hostile_budget.py).

Decisions (docs/reliability.md):
* A polyglot whose leading image decodes is ``done``: the variants are re-encoded from pixels
  only, so the trailing payload (HTML, script, ZIP) never reaches an output. The tests check
  that no output contains the payload.
* Extreme aspect ratios and thousands of GIF frames are legitimate images: ``done``. Only the
  first frame is decoded; a side that would shrink below one pixel is kept at one pixel.
* A canvas just under ``max_pixels`` that compresses to a few kilobytes is legitimate too
  (``done``): it is the largest decode the limits allow, so it bounds memory and time.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from support import hostile_work as work
from support import images
from support.images import encode, png_chunk

MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # variables.tf default (max_upload_bytes)
MAX_PIXELS = 40_000_000  # variables.tf default (max_pixels)

HTML_PAYLOAD = b"<html><body><script>alert('polyglot')</script></body></html>"


@dataclass(frozen=True)
class HostileCase:
    name: str
    build: Callable[[], bytes] = field(repr=False)
    content_type: str
    expected_status: str  # "done" | "rejected"
    expected_code: str | None = None
    via: str = "api"  # "api" | "direct"
    payload_marker: bytes | None = None  # must never appear in an output

    @functools.cached_property
    def data(self) -> bytes:
        """The bytes, built on first use (collecting the tests builds nothing)."""
        return self.build()


def small_photo(size: tuple[int, int] = (96, 64)) -> Image.Image:
    image = Image.new("RGB", size, (20, 40, 200))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 3, size[1] // 3), fill=(220, 20, 20))
    return image


def png_bomb(width: int, height: int) -> bytes:
    """A PNG of a few hundred bytes that declares a ``width`` x ``height`` greyscale canvas."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width + 1) * 2, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )


def gif_bomb(width: int = 65535, height: int = 65535) -> bytes:
    """A GIF whose logical screen is ``width`` x ``height`` with one 1x1 frame (about 40 bytes)."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # global colour table, 2 colours
    palette = b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + palette + frame + b"\x3b"


def jpeg_bomb(width: int = 65500, height: int = 65500) -> bytes:
    """A real small JPEG whose SOF header is patched to declare ``width`` x ``height``."""
    data = bytearray(encode(small_photo((16, 16)), "JPEG", quality=80))
    sof = data.find(b"\xff\xc0")
    assert sof > 0, "baseline JPEG expected"
    # SOF0: marker(2) length(2) precision(1) height(2) width(2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def near_limit_png(max_pixels: int = MAX_PIXELS) -> bytes:
    """A flat RGB PNG just under ``max_pixels`` (compresses to well under a megabyte)."""
    width = 6000
    height = max_pixels // width - 1
    image = Image.new("RGB", (width, height), (200, 200, 200))
    return encode(image, "PNG", compress_level=9)


def many_frames_gif(frames: int = 3000, size: tuple[int, int] = (16, 16)) -> bytes:
    """An animated GIF with ``frames`` distinct frames (each a different grey)."""
    images = [Image.new("L", size, index % 256) for index in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=20)


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def corrupted_png() -> bytes:
    """A PNG whose compressed pixel data is overwritten with noise (CRCs recomputed)."""
    image = small_photo((200, 120))
    data = encode(image, "PNG")
    start = data.find(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    noise = bytes((index * 73 + 41) % 256 for index in range(length))
    body = noise
    return data[: start - 8] + png_chunk(b"IDAT", body) + data[start + length + 4 :]


def corrupted_jpeg() -> bytes:
    """A JPEG start-of-image marker followed by garbage."""
    return b"\xff\xd8\xff\xe0" + bytes((index * 37 + 11) % 256 for index in range(4000))


def polyglot_png_html() -> bytes:
    return encode(small_photo(), "PNG") + HTML_PAYLOAD


def polyglot_jpeg_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("evil.html", HTML_PAYLOAD)
    return encode(small_photo(), "JPEG", quality=85) + archive.getvalue()


def html_leading_png() -> bytes:
    """HTML first, a real PNG later in the file: not an image."""
    return HTML_PAYLOAD + encode(small_photo(), "PNG")


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10000" '
    b'height="10000"><script>alert(1)</script><rect width="100%" height="100%"/></svg>'
)


def oversized_object() -> bytes:
    """A JPEG header followed by zeros, one byte over the upload limit."""
    head = encode(small_photo(), "JPEG", quality=85)
    return head + b"\0" * (MAX_UPLOAD_BYTES + 1 - len(head))


def extreme_aspect_png(size: tuple[int, int]) -> bytes:
    return encode(Image.new("RGB", size, (10, 120, 30)), "PNG")


def bmp_as_png() -> bytes:
    return encode(small_photo(), "BMP")


@functools.cache
def _inflating_to_200_mb() -> bytes:
    return zlib.compress(b"A" * (200 * 1024 * 1024), 9)


def png_with_compressed_chunk_bomb(kind: bytes) -> bytes:
    """A 8x8 PNG with a zTXt or iCCP chunk that inflates to 200 MB (about 200 kB on disk)."""
    inflated = _inflating_to_200_mb()
    body = (b"Comment\0\0" if kind == b"zTXt" else b"icc\0\0") + inflated
    png = encode(Image.new("RGB", (8, 8)), "PNG")
    end_of_header = 8 + 25  # signature + IHDR chunk
    return png[:end_of_header] + png_chunk(kind, body) + png[end_of_header:]


@functools.cache
def cases() -> tuple[HostileCase, ...]:
    """Every hostile case with its expected outcome; bytes are built on first use."""
    rejected, done = "rejected", "done"
    return (
        HostileCase(
            "png-bomb-100000x100000",
            lambda: png_bomb(100_000, 100_000),
            "image/png",
            rejected,
            "too_many_pixels",
        ),
        HostileCase("gif-bomb-65535x65535", gif_bomb, "image/gif", rejected, "too_many_pixels"),
        HostileCase(
            "heic-claims-60000x60000",
            lambda: images.heif_with_size(images.corpus(images.HEIC_PHOTO), 60_000, 60_000),
            "image/heic",
            rejected,
            "too_many_pixels",
        ),
        HostileCase(
            "heic-truncated",
            lambda: truncated(images.corpus(images.HEIC_PHOTO)),
            "image/heic",
            rejected,
            "truncated_image",
        ),
        HostileCase(
            "mp4-video-as-heic",
            lambda: images.heif_with_brand(images.corpus(images.HEIC_PHOTO), b"isom"),
            "image/heic",
            rejected,
            "unsupported_format",
        ),
        HostileCase("jpeg-bomb-65500x65500", jpeg_bomb, "image/jpeg", rejected, "too_many_pixels"),
        HostileCase(
            "png-just-over-max-pixels",
            lambda: png_bomb(6325, 6325),
            "image/png",
            rejected,
            "too_many_pixels",
        ),
        HostileCase(
            "truncated-jpeg",
            lambda: truncated(encode(small_photo((640, 480)), "JPEG")),
            "image/jpeg",
            rejected,
            "truncated_image",
        ),
        HostileCase(
            "truncated-png",
            lambda: truncated(encode(small_photo((300, 200)), "PNG")),
            "image/png",
            rejected,
            "truncated_image",
        ),
        HostileCase("corrupted-png", corrupted_png, "image/png", rejected, "corrupt_image"),
        HostileCase("corrupted-jpeg", corrupted_jpeg, "image/jpeg", rejected, "corrupt_image"),
        HostileCase("svg-as-png", lambda: SVG, "image/png", rejected, "not_an_image"),
        HostileCase("html-as-png", lambda: HTML_PAYLOAD * 4, "image/png", rejected, "not_an_image"),
        HostileCase("html-then-png", html_leading_png, "image/png", rejected, "not_an_image"),
        HostileCase("bmp-as-png", bmp_as_png, "image/png", rejected, "unsupported_format"),
        HostileCase(
            "png-ztxt-bomb",
            lambda: png_with_compressed_chunk_bomb(b"zTXt"),
            "image/png",
            rejected,
            "corrupt_image",
        ),
        HostileCase(
            "png-iccp-bomb",
            lambda: png_with_compressed_chunk_bomb(b"iCCP"),
            "image/png",
            rejected,
            "icc_profile_too_large",
        ),
        # Structures that promise unbounded decoder work (support/hostile_work.py)
        HostileCase(
            "jpeg-3000-scans", work.many_scans_jpeg, "image/jpeg", rejected, "too_many_scans"
        ),
        HostileCase(
            "jpeg-2m-segments", work.many_segments_jpeg, "image/jpeg", rejected, "too_many_segments"
        ),
        HostileCase(
            "jpeg-12mb-icc",
            lambda: work.jpeg_with_icc(work.oversized_icc()),
            "image/jpeg",
            rejected,
            "icc_profile_too_large",
        ),
        HostileCase(
            "png-1.5m-idat-chunks", work.many_idat_png, "image/png", rejected, "too_many_chunks"
        ),
        HostileCase(
            "gif-5m-extensions", work.many_extensions_gif, "image/gif", rejected, "too_many_blocks"
        ),
        HostileCase(
            "webp-300k-frames", work.many_frames_webp, "image/webp", rejected, "too_many_frames"
        ),
        # Structures a decoder steps over and the checks used to stop at (issue 20)
        HostileCase(
            "avif-zero-width-iloc-6kb",
            work.zero_width_iloc_avif,
            "image/avif",
            rejected,
            "too_many_items",
        ),
        HostileCase(
            "avif-zero-width-iloc-12kb",
            lambda: work.zero_width_iloc_avif(2000),
            "image/avif",
            rejected,
            "too_many_items",
        ),
        HostileCase(
            "avif-32-free-extents-per-item",
            lambda: work.avif_with_meta(work.zero_width_iloc(1000, extents=32)),
            "image/avif",
            rejected,
            "corrupt_image",
        ),
        HostileCase(
            "heic-49mp-claim-behind-junk-box",
            lambda: work.heic_with_trailing_junk(
                images.heif_with_size(images.corpus(images.HEIC_PHOTO), 7000, 7000)
            ),
            "image/heic",
            rejected,
            "too_many_pixels",
        ),
        HostileCase(
            "jpeg-scans-behind-bogus-length",
            lambda: work.behind_bogus_jpeg_segment(work.many_scans_jpeg()),
            "image/jpeg",
            rejected,
            "too_many_scans",
        ),
        HostileCase(
            "gif-frames-behind-stray-byte",
            lambda: work.behind_stray_gif_byte(work.many_frames_gif(20_000)),
            "image/gif",
            rejected,
            "too_many_frames",
        ),
        HostileCase("zero-bytes", lambda: b"", "image/png", rejected, "empty_file", via="direct"),
        HostileCase(
            "over-size-limit", oversized_object, "image/jpeg", rejected, "too_large", via="direct"
        ),
        HostileCase(
            "polyglot-png-html",
            polyglot_png_html,
            "image/png",
            done,
            payload_marker=b"<script>",
        ),
        HostileCase(
            "polyglot-jpeg-zip",
            polyglot_jpeg_zip,
            "image/jpeg",
            done,
            payload_marker=b"evil.html",
        ),
        HostileCase("aspect-20000x2", lambda: extreme_aspect_png((20_000, 2)), "image/png", done),
        HostileCase("aspect-2x20000", lambda: extreme_aspect_png((2, 20_000)), "image/png", done),
        HostileCase("gif-3000-frames", many_frames_gif, "image/gif", done),
        HostileCase("png-near-max-pixels", near_limit_png, "image/png", done),
    )
