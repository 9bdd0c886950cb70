"""Bounds on the decode work of an untrusted image, before and during decoding.

Pure: the standard library, Pillow and the shared contract (its codes), no AWS. Two guards:

1. :func:`inspect` walks the container structure (JPEG marker segments, PNG chunks, GIF
   blocks, WebP RIFF chunks, HEIF/AVIF boxes and items) without decoding a pixel and refuses files whose *structure*
   promises unbounded decoder work: a progressive JPEG with thousands of scans, a PNG with
   millions of chunks, a GIF with millions of frames or blocks, an ICC profile of many
   megabytes. It is linear in the file size, stops at the first limit exceeded, and never
   raises anything but :class:`DecodeWorkExceeded`: bytes it cannot follow end the walk and
   are left for Pillow to classify (corrupt, truncated, not an image).
2. :class:`DeadlineStream` is the file object handed to ``Image.open``: every ``read()``
   raises ``DecodeWorkExceeded("decode_time_exceeded")`` once ``time.monotonic()`` has passed
   the deadline. Pillow regains control between reads: its Python header parsers read field by
   field, and ``ImageFile.load`` feeds the C decoders (libjpeg-turbo, zlib for PNG, LZW for GIF)
   ``decodermaxblock`` bytes at a time, each call returning when its block is used up (libjpeg
   runs with a suspending data source). :func:`load_within` lowers that block from 64 KiB to
   :data:`DEFAULT_READ_BLOCK` so a decoder cannot spend long on one block. Measured with
   libjpeg-turbo 3.2 in Pillow 13 on a 40 MP progressive JPEG with 61-byte scans (35-75 ms of
   libjpeg each): with 64 KiB blocks one block held every scan; with 4 KiB the deadline was
   overshot by 4-5 s, with 1 KiB by 0.2 s, at a cost of about 0.05 s on an 18 MB JPEG.
   The scan limit of :func:`inspect`, not the deadline, is what bounds JPEG work.
   WebP is the exception: Pillow reads the whole file and libwebp decodes the first frame in
   one C call (``WebPAnimDecoder.get_next``), so no read happens during its decode; that call is
   bounded by the pixel limit (checked before it; 40 MP decode in 3-3.5 s) and
   :func:`load_within` checks the deadline again when it returns.

Typical use (``imaging.decode`` does this; the handler derives the deadline)::

    header = inspect(data, WorkLimits())  # the ISOBMFF header, or None
    deadline = decode_deadline(context.get_remaining_time_in_millis())
    image = Image.open(DeadlineStream(data, deadline), formats=[...])
    load_within(image, deadline)
"""

from __future__ import annotations

import io
import re
import struct
import time
import zlib
from collections.abc import Buffer, Callable
from dataclasses import dataclass

from PIL import Image

from processor import bmff
from processor.rejection import ImageRejected

# Below this many seconds of decode budget the invocation is retried rather than the image
# rejected: a budget eaten by a slow download says nothing about the file.
MIN_BUDGET_SECONDS = 2.0

# Bytes a decoder is fed per call while a deadline is enforced (Pillow's default is 64 KiB).
DEFAULT_READ_BLOCK = 1024


class DecodeWorkExceeded(ImageRejected):
    """Decoding this input would take more work than allowed. ``code`` is in WORK_CODES."""


@dataclass(frozen=True)
class WorkLimits:
    """Structural limits checked by :func:`inspect`. Defaults, and where they come from:

    * ``max_jpeg_scans=100``: libjpeg's standard progression has 10 scans for a colour image
      (6 for greyscale) and optimising encoders (mozjpeg, jpegtran) stay in the tens. libjpeg
      itself has no limit; libjpeg-turbo leaves it to the application (``djpeg -maxscans``,
      TurboJPEG's ``TJPARAM_SCANLIMIT``, default none, set to 500 in its own fuzzers) since the
      "Two Issues with the JPEG Standard" report (LJT-01-004). Each scan costs the decoder a
      pass over every block of its components: measured 31-37 ms per scan at 40 MP, so 100
      scans bound libjpeg to about 4 s while a 1000-scan file of 216 kB took 37 s.
    * ``max_jpeg_segments=1000``: marker segments (APPn, COM, DQT, DHT, SOS, ...) in the first
      image. A photo has 10-30; 255 ICC APP2 segments plus extended XMP stay well below.
      Pillow parses every header segment in Python (a few microseconds each).
    * ``max_png_chunks=50_000``: all chunks. A 20 MB PNG written in 8 KiB IDAT chunks has
      2,500; an APNG has two per frame. Pillow spends a few microseconds in Python per chunk.
    * ``max_png_ancillary_chunks=1000``: ancillary chunks other than the APNG frame chunks
      (fcTL, fdAT): text, private and unknown chunks, which Pillow keeps in memory. This is
      libpng's default ``PNG_USER_CHUNK_CACHE_MAX``.
    * ``max_frames=10_000``: GIF images, WebP ANMF frames and APNG fcTL chunks. Only the first
      frame is decoded, but the parsers walk the rest; 10,000 frames is over three minutes of
      animation at 50 fps, and a 3,000-frame GIF is a supported input.
    * ``max_gif_blocks=25_000``: GIF extension blocks plus image descriptors (a normal animation
      has two per frame: graphic control extension and image). Pillow parses each in Python.
    * ``max_gif_sub_blocks=200_000``: GIF data sub-blocks (at most 255 bytes each; a 20 MB GIF
      of full sub-blocks has about 82,000). Pillow reads extension sub-blocks one by one in
      Python; 1-byte sub-blocks would otherwise give millions of iterations.
    * ``max_webp_chunks=25_000``: RIFF chunks at the top level of a WebP file.
    * ``max_bmff_boxes=10_000``: ISOBMFF boxes of a HEIF or AVIF file (``processor/bmff.py``
      walks them all). A still photo has 15-40; an iPhone HEIC with its 48 tiles, thumbnail and
      gain map has a few hundred at most. Each is a few microseconds in libheif's parser.
    * ``max_heif_items=1000``: items of a HEIF or AVIF file (``iinf``/``iloc``). A 12 MP iPhone
      photo has 48 tiles plus the grid, thumbnail, Exif and gain-map items (about 100); a 48 MP
      one about 250. Each tile is a separate HEVC decode, so the count bounds libheif's work
      beyond the pixel limit (many tiny tiles of a large grid).
    * ``max_frames`` also bounds the samples of a HEIF/AVIF image sequence (``stsz``): only
      the first image is decoded, as for GIFs.
    * ``max_icc_bytes=4 MiB``: the embedded ICC profile (JPEG APP2 total, PNG iCCP inflated,
      WebP ICCP). sRGB is 3 kB; the largest profiles in use (CMYK press profiles with 16-bit
      colour lookup tables) are 0.5-3 MB. LittleCMS reads and interpolates the whole lookup
      table, so the profile size bounds its work.
    """

    max_jpeg_scans: int = 100
    max_jpeg_segments: int = 1000
    max_png_chunks: int = 50_000
    max_png_ancillary_chunks: int = 1000
    max_frames: int = 10_000
    max_gif_blocks: int = 25_000
    max_gif_sub_blocks: int = 200_000
    max_webp_chunks: int = 25_000
    max_icc_bytes: int = 4 * 1024 * 1024
    max_bmff_boxes: int = 10_000
    max_heif_items: int = 1000


# -- inspect ---------------------------------------------------------------------------------


def inspect(data: bytes, limits: WorkLimits) -> bmff.BmffHeader | None:
    """Refuse ``data`` if its structure exceeds ``limits``.

    Raises :class:`DecodeWorkExceeded` and nothing else: unknown formats and damaged
    structures end the walk silently (Pillow classifies them afterwards). Returns the header
    of an ISOBMFF (HEIF, AVIF) file, walked once here, for the container checks that follow;
    ``None`` for other formats. Check the allowed formats (:func:`sniff_format`) first: this
    walks whatever the bytes say they are.
    """
    if bmff.is_bmff(data):
        return _inspect_bmff(data, limits)
    walker = _walker_for(data)
    if walker is None:
        return None
    try:
        walker(data, limits)
    except DecodeWorkExceeded:
        raise
    except Exception:  # a structure this walker cannot follow: Pillow's call
        return None
    return None


def sniff_format(data: bytes) -> str | None:
    """The Pillow format the leading bytes announce, before any structure is walked.

    ``JPEG``, ``PNG``, ``GIF``, ``WEBP``; for ISOBMFF the kind its ``ftyp`` brands name
    (``AVIF``, ``HEIF``, ``VIDEO``), or ``BMFF`` for brands this service does not know;
    ``None`` for anything else (Pillow classifies it).
    """
    if data.startswith(b"\xff\xd8"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if bmff.is_bmff(data):
        return bmff.kind_of(bmff.read_brands(data)[1]) or "BMFF"
    return None


def _walker_for(data: bytes) -> Callable[[bytes, WorkLimits], None] | None:
    """The walk for the format :func:`sniff_format` names (the one the allow-list judged)."""
    return _WALKERS.get(sniff_format(data) or "")


class _Counter:
    """Counts one kind of structure and raises once it passes its limit."""

    def __init__(self, code: str, what: str, limit: int) -> None:
        self.code = code
        self.what = what
        self.limit = limit
        self.count = 0

    def add(self, amount: int = 1) -> None:
        self.count += amount
        if self.count > self.limit:
            raise DecodeWorkExceeded(
                self.code,
                f"The image has more than {self.limit} {self.what}.",
                f"{self.what}: more than {self.limit} (counted {self.count} so far)",
            )


def _icc_counter(limits: WorkLimits) -> _Counter:
    return _Counter("icc_profile_too_large", "bytes of ICC profile", limits.max_icc_bytes)


# JPEG ---------------------------------------------------------------------------------------

# The end of entropy-coded data: 0xFF followed by a byte that is neither stuffing (0x00), a
# restart marker (RST0-7, 0xD0-0xD7) nor fill (0xFF, which precedes the real marker byte).
_ENTROPY_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
_SOS, _EOI, _APP2 = 0xDA, 0xD9, 0xE2
_ICC_SIGNATURE = b"ICC_PROFILE\0"


def _inspect_jpeg(data: bytes, limits: WorkLimits) -> None:
    """Walk the marker segments of the first image (up to EOI), skipping entropy-coded data."""
    scans = _Counter("too_many_scans", "scans", limits.max_jpeg_scans)
    segments = _Counter("too_many_segments", "marker segments", limits.max_jpeg_segments)
    icc = _icc_counter(limits)
    position, end = 2, len(data)
    while position < end:
        marker, position = _next_marker(data, position)
        if marker is None or marker == _EOI:
            return
        if marker in _STANDALONE_MARKERS:
            continue
        if position + 2 > end:
            return
        length = int.from_bytes(data[position : position + 2], "big")
        segments.add()
        if marker == _APP2 and data.startswith(_ICC_SIGNATURE, position + 2):
            icc.add(max(0, length - 2 - len(_ICC_SIGNATURE) - 2))
        # A length below 2 (it counts itself) is bogus: libjpeg's skip_variable and Pillow's
        # marker handlers skip max(0, length - 2) bytes after it and read on, and so do we.
        position += max(length, 2)
        if marker == _SOS:
            scans.add()
            position = _skip_entropy_coded_data(data, position)


def _next_marker(data: bytes, position: int) -> tuple[int | None, int]:
    """The marker byte at ``position`` (after any fill bytes) and the position after it.

    Bytes that are not 0xFF where a marker is due are skipped, as libjpeg does (with a
    warning); ``None`` when the data ends first.
    """
    start = data.find(b"\xff", position)
    while start != -1:
        following = start + 1
        while following < len(data) and data[following] == 0xFF:
            following += 1
        if following >= len(data):
            return None, len(data)
        if data[following] != 0x00:
            return data[following], following + 1
        start = data.find(b"\xff", following + 1)
    return None, len(data)


def _skip_entropy_coded_data(data: bytes, position: int) -> int:
    """The position of the 0xFF that starts the first marker after entropy-coded data."""
    match = _ENTROPY_END.search(data, position)
    return len(data) if match is None else match.start()


# PNG ----------------------------------------------------------------------------------------

_PNG_FRAME_CHUNKS = frozenset({b"fcTL", b"fdAT"})
_PNG_CHUNK_HEADER = struct.Struct(">I4s")


def _inspect_png(data: bytes, limits: WorkLimits) -> None:
    """Count chunks (all, ancillary, APNG frames) and inflate iCCP up to the ICC limit."""
    chunks = _Counter("too_many_chunks", "PNG chunks", limits.max_png_chunks)
    ancillary = _Counter("too_many_chunks", "ancillary PNG chunks", limits.max_png_ancillary_chunks)
    frames = _Counter("too_many_frames", "animation frames", limits.max_frames)
    position, end = 8, len(data)
    while position + 8 <= end:
        length, kind = _PNG_CHUNK_HEADER.unpack_from(data, position)
        if length > 0x7FFFFFFF:
            return
        body_start = position + 8
        position = body_start + length + 4  # data and CRC
        chunks.add()
        if kind == b"fcTL":
            frames.add()
        elif kind[0] & 0x20 and kind not in _PNG_FRAME_CHUNKS:
            ancillary.add()
        if kind == b"iCCP":
            _check_iccp(data[body_start : min(body_start + length, end)], limits)
        elif kind == b"IEND":
            return


def _check_iccp(body: bytes, limits: WorkLimits) -> None:
    """Inflate the iCCP profile, never more than one byte past the ICC limit."""
    separator = body.find(b"\0")
    if separator < 0:
        return
    compressed = body[separator + 2 :]  # name, NUL, compression method
    try:
        inflated = zlib.decompressobj().decompress(compressed, limits.max_icc_bytes + 1)
    except zlib.error:
        return  # a damaged profile is imaging's note, not a work limit
    _icc_counter(limits).add(len(inflated))


# GIF ----------------------------------------------------------------------------------------

_GIF_EXTENSION, _GIF_IMAGE, _GIF_TRAILER = 0x21, 0x2C, 0x3B
_GIF_INTRODUCER = re.compile(rb"[!,;]")


def _inspect_gif(data: bytes, limits: WorkLimits) -> None:
    """Count image descriptors, all blocks and data sub-blocks until the trailer."""
    frames = _Counter("too_many_frames", "animation frames", limits.max_frames)
    blocks = _Counter("too_many_blocks", "GIF blocks", limits.max_gif_blocks)
    sub_blocks = _Counter("too_many_blocks", "GIF data sub-blocks", limits.max_gif_sub_blocks)
    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    end = len(data)
    while position < end:
        introducer = data[position]
        if introducer == _GIF_EXTENSION:
            blocks.add()
            position = _skip_sub_blocks(data, position + 2, sub_blocks)
        elif introducer == _GIF_IMAGE:
            blocks.add()
            frames.add()
            position = _skip_image_header(data, position)
            position = _skip_sub_blocks(data, position + 1, sub_blocks)  # LZW code size
        elif introducer == _GIF_TRAILER:
            return
        else:
            # Pillow's GIF parser reads one byte at a time until it finds an extension, an
            # image or the trailer, skipping any other byte (one Python iteration each): so do
            # we, in one step, counting every skipped byte as a block.
            found = _GIF_INTRODUCER.search(data, position)
            following = end if found is None else found.start()
            blocks.add(following - position)
            position = following


def _skip_image_header(data: bytes, position: int) -> int:
    """The position after an image descriptor and its local colour table."""
    flags = data[position + 9]
    return position + 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)


def _skip_sub_blocks(data: bytes, position: int, sub_blocks: _Counter) -> int:
    """The position after a chain of data sub-blocks and its zero-length terminator."""
    end = len(data)
    count = 0
    while position < end:
        size = data[position]
        position += size + 1
        if size == 0:
            break
        count += 1
        if count >= 4096:  # keep the counter's own cost out of the loop
            sub_blocks.add(count)
            count = 0
    sub_blocks.add(count)
    return position


# WebP ---------------------------------------------------------------------------------------

_RIFF_CHUNK_HEADER = struct.Struct("<4sI")


def _inspect_webp(data: bytes, limits: WorkLimits) -> None:
    """Count top-level RIFF chunks and ANMF frames; bound the ICCP chunk."""
    chunks = _Counter("too_many_chunks", "WebP chunks", limits.max_webp_chunks)
    frames = _Counter("too_many_frames", "animation frames", limits.max_frames)
    icc = _icc_counter(limits)
    position, end = 12, len(data)
    while position + 8 <= end:
        kind, size = _RIFF_CHUNK_HEADER.unpack_from(data, position)
        position += 8 + size + (size & 1)
        chunks.add()
        if kind == b"ANMF":
            frames.add()
        elif kind == b"ICCP":
            icc.add(size)


_WALKERS: dict[str, Callable[[bytes, WorkLimits], None]] = {
    "JPEG": _inspect_jpeg,
    "PNG": _inspect_png,
    "GIF": _inspect_gif,
    "WEBP": _inspect_webp,
}


# HEIF and AVIF (ISOBMFF) ------------------------------------------------------------------


def bmff_walk_limits(limits: WorkLimits) -> bmff.WalkLimits:
    """The declared-count bounds of the ISOBMFF walk, from the work limits."""
    return bmff.WalkLimits(max_boxes=limits.max_bmff_boxes, max_items=limits.max_heif_items)


def _inspect_bmff(data: bytes, limits: WorkLimits) -> bmff.BmffHeader:
    """Walk the boxes once: boxes and declared item/extent counts are refused before they are
    read; then items, sequence samples and the ICC profile (``colr``) are bounded."""
    header = bmff.read_header(data, bmff_walk_limits(limits))
    if header.exceeded is not None:
        code, what, limit, declared = header.exceeded
        raise DecodeWorkExceeded(
            code, f"The image has more than {limit} {what}.", f"{what}: {declared} declared"
        )
    _Counter("too_many_items", "HEIF items", limits.max_heif_items).add(header.items)
    _Counter("too_many_frames", "animation frames", limits.max_frames).add(header.samples)
    _icc_counter(limits).add(header.icc_bytes)
    return header


# -- the decode deadline ---------------------------------------------------------------------


def decode_budget_seconds(
    remaining_ms: float, *, share: float = 0.5, margin_ms: float = 3000.0
) -> float:
    """Seconds the decode may take when the invocation has ``remaining_ms`` left.

    At most ``share`` of the remaining time, minus ``margin_ms`` kept back so that a refused
    file can still be recorded as rejected (never negative). With the 60 s processor timeout
    and about 59 s remaining: 0.5 * 59 s - 3 s = 26.5 s.
    """
    return max(0.0, (remaining_ms * share - margin_ms) / 1000.0)


def decode_deadline(
    remaining_ms: float,
    *,
    share: float = 0.5,
    margin_ms: float = 3000.0,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """The ``time.monotonic()`` value after which decoding stops (see decode_budget_seconds)."""
    return clock() + decode_budget_seconds(remaining_ms, share=share, margin_ms=margin_ms)


def _time_exceeded(deadline: float, now: float) -> DecodeWorkExceeded:
    return DecodeWorkExceeded(
        "decode_time_exceeded",
        "Decoding the image took longer than its time budget.",
        f"{now - deadline:.3f} s past the deadline",
    )


def check_deadline(deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
    """Raise ``decode_time_exceeded`` if ``deadline`` has passed."""
    now = clock()
    if now > deadline:
        raise _time_exceeded(deadline, now)


class DeadlineStream(io.BytesIO):
    """An in-memory file whose reads fail with ``decode_time_exceeded`` after ``deadline``.

    Give it to ``Image.open`` instead of ``io.BytesIO(data)``: both Pillow's header parsing and
    ``image.load()`` read through it. The deadline is a ``clock()`` value
    (``time.monotonic()`` unless a test passes another clock).
    """

    def __init__(
        self, data: bytes, deadline: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(data)
        self.deadline = deadline
        self.clock = clock
        self.reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads += 1
        check_deadline(self.deadline, self.clock)
        return super().read(size)

    def readinto(self, buffer: Buffer, /) -> int:
        self.reads += 1
        check_deadline(self.deadline, self.clock)
        return super().readinto(buffer)


def load_within(
    image: Image.Image,
    deadline: float,
    *,
    read_block: int = DEFAULT_READ_BLOCK,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """``image.load()`` that stops with ``decode_time_exceeded`` once ``deadline`` passes.

    ``image`` must have been opened from a :class:`DeadlineStream` for the deadline to act
    during the decode; the decoder is fed ``read_block`` bytes per call so it returns to
    Python often. The deadline is also checked before and after (WebP decodes in one call).
    """
    check_deadline(deadline, clock)
    if hasattr(image, "decodermaxblock"):
        image.decodermaxblock = read_block
    image.load()
    check_deadline(deadline, clock)
