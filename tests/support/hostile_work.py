"""Inputs whose structure promises unbounded decode work, built at test time (no fixtures).

Each builder makes a small, mostly well-formed file with Pillow and then multiplies one of its
structures by byte surgery: scans of a progressive JPEG, PNG chunks, GIF frames or blocks,
WebP animation frames, ICC profile bytes. Sizes are parameters: the defaults are the hostile
files (all under the 20 MB upload limit), tests may build smaller ones.
"""

from __future__ import annotations

import struct
import zlib

from PIL import Image, ImageCms

from support.images import encode, png_chunk

# -- JPEG -----------------------------------------------------------------------------------


def many_scans_jpeg(scans: int = 3000, size: tuple[int, int] = (6000, 6600)) -> bytes:
    """A flat greyscale progressive JPEG whose last scan (AC refinement) is repeated.

    Pillow writes libjpeg's 6-scan progression; the copies make libjpeg warn ("inconsistent
    progression") and go on, each one a pass over every 8x8 block. The default, 6000x6600 (just
    under 40 MP) with 3000 scans, is about 340 kB; libjpeg-turbo 3.2 spends about 35 ms per
    scan on it.
    """
    data = encode(Image.new("L", size, 128), "JPEG", progressive=True, quality=85)
    last_scan = data.rfind(b"\xff\xda")  # Pillow's output has no metadata: SOS is unambiguous
    assert last_scan > 0
    assert data.endswith(b"\xff\xd9")
    copies = data[last_scan:-2] * max(0, scans - data.count(b"\xff\xda"))
    return data[:-2] + copies + b"\xff\xd9"


def many_segments_jpeg(segments: int = 2_000_000) -> bytes:
    """A small JPEG with ``segments`` empty COM segments before its frame (4 bytes each)."""
    data = encode(Image.new("RGB", (16, 16), (200, 30, 30)), "JPEG", quality=80)
    return data[:2] + b"\xff\xfe\x00\x02" * segments + data[2:]


def jpeg_with_icc(profile: bytes, size: tuple[int, int] = (64, 48)) -> bytes:
    """An RGB JPEG carrying ``profile`` (Pillow splits it into APP2 segments)."""
    return encode(Image.new("RGB", size, (30, 120, 200)), "JPEG", quality=85, icc_profile=profile)


# -- ICC ------------------------------------------------------------------------------------


def srgb_profile() -> bytes:
    """LittleCMS's built-in sRGB profile, serialised."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def icc_with_lut(grid_points: int = 170) -> bytes:
    """An RGB display profile whose perceptual A2B0 tag is a lut8 with ``grid_points``^3 nodes.

    The colour lookup table is ``3 * grid_points**3`` bytes (170: 14.7 MB, the most that fits
    into a JPEG's 255 APP2 segments). LittleCMS reads and interpolates all of it when a
    transform is built from the profile.
    """
    base = srgb_profile()
    tag_count = struct.unpack_from(">I", base, 128)[0]
    tags = [struct.unpack_from(">4sII", base, 132 + 12 * index) for index in range(tag_count)]
    lut = _lut8(grid_points)
    table_end = 132 + 12 * (tag_count + 1)
    shift = 12  # every existing tag moves down by the new table entry
    entries = [(sig, offset + shift, length) for sig, offset, length in tags]
    body = base[132 + 12 * tag_count :]
    lut_offset = table_end + len(body)
    lut_offset += -lut_offset % 4
    entries.append((b"A2B0", lut_offset, len(lut)))
    table = struct.pack(">I", len(entries)) + b"".join(
        struct.pack(">4sII", sig, offset, length) for sig, offset, length in entries
    )
    profile = bytearray(base[:128] + table + body)
    profile += b"\0" * (lut_offset - len(profile)) + lut
    struct.pack_into(">I", profile, 0, len(profile))
    profile[44:48] = b"\0\0\0\0"  # no profile ID (MD5) for the modified profile
    profile[84:100] = b"\0" * 16
    return bytes(profile)


def _lut8(grid_points: int) -> bytes:
    """A lut8Type (``mft1``) tag: identity matrix, curves and a colour lookup table."""
    identity = struct.pack(
        ">9i", *(65536 if row == col else 0 for row in range(3) for col in range(3))
    )
    curve = bytes(range(256))
    clut = bytes(((index * 37) & 0xFF) for index in range(3 * 256)) * (
        (3 * grid_points**3) // (3 * 256) + 1
    )
    clut = clut[: 3 * grid_points**3]
    header = b"mft1" + b"\0" * 4 + bytes([3, 3, grid_points, 0])
    return header + identity + curve * 3 + clut + curve * 3


def oversized_icc(size: int = 12 * 1024 * 1024) -> bytes:
    """sRGB with a private tag of ``size`` filler bytes: large but never read by LittleCMS."""
    base = srgb_profile()
    tag_count = struct.unpack_from(">I", base, 128)[0]
    tags = [struct.unpack_from(">4sII", base, 132 + 12 * index) for index in range(tag_count)]
    entries = [(sig, offset + 12, length) for sig, offset, length in tags]
    body = base[132 + 12 * tag_count :]
    filler_offset = 132 + 12 * (tag_count + 1) + len(body)
    filler_offset += -filler_offset % 4
    entries.append((b"zzzz", filler_offset, size))
    table = struct.pack(">I", len(entries)) + b"".join(
        struct.pack(">4sII", *entry) for entry in entries
    )
    profile = bytearray(base[:128] + table + body)
    profile += b"\0" * (filler_offset - len(profile)) + b"zzzz" + b"\0" * (size - 4)
    struct.pack_into(">I", profile, 0, len(profile))
    profile[84:100] = b"\0" * 16
    return bytes(profile)


# -- PNG ------------------------------------------------------------------------------------


def _small_png() -> bytes:
    return encode(Image.new("RGB", (32, 32), (20, 160, 60)), "PNG")


def many_idat_png(chunks: int = 1_500_000) -> bytes:
    """A 32x32 PNG whose pixel data is followed by ``chunks`` empty IDAT chunks (12 bytes each).

    Empty IDAT chunks are legal; Pillow handles each chunk boundary in Python.
    """
    data = _small_png()
    iend = data.rfind(b"IEND") - 4
    return data[:iend] + png_chunk(b"IDAT", b"") * chunks + data[iend:]


def many_ancillary_png(chunks: int = 1_000_000) -> bytes:
    """A 32x32 PNG with ``chunks`` empty private ancillary chunks (``prVt``) before IDAT."""
    data = _small_png()
    first_idat = data.find(b"IDAT") - 4
    return data[:first_idat] + png_chunk(b"prVt", b"") * chunks + data[first_idat:]


def png_with_iccp(profile: bytes) -> bytes:
    """A 32x32 RGB PNG carrying ``profile`` in its iCCP chunk (zlib-compressed by Pillow)."""
    return encode(Image.new("RGB", (32, 32), (20, 160, 60)), "PNG", icc_profile=profile)


def png_with_inflating_iccp(inflated: int = 64 * 1024 * 1024) -> bytes:
    """A 32x32 PNG whose iCCP chunk inflates to ``inflated`` bytes (about inflated / 1000)."""
    compressed = zlib.compress(b"\0" * inflated, 9)
    data = _small_png()
    after_ihdr = 8 + 25
    iccp = png_chunk(b"iCCP", b"icc\0\0" + compressed)
    return data[:after_ihdr] + iccp + data[after_ihdr:]


# -- GIF ------------------------------------------------------------------------------------

_GIF_SCREEN = b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
# graphic control extension (20 ms) + a 1x1 image: 23 bytes per frame
_GIF_FRAME = (
    b"\x21\xf9\x04\x04\x02\x00\x00\x00"
    + b"\x2c"
    + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    + b"\x02\x02\x44\x01\x00"
)
_NETSCAPE_LOOP = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"


def many_frames_gif(frames: int = 800_000) -> bytes:
    """A 16x16 animated GIF of ``frames`` 1x1 frames (23 bytes each: 800,000 is 18 MB)."""
    return _GIF_SCREEN + _NETSCAPE_LOOP + _GIF_FRAME * frames + b"\x3b"


def many_extensions_gif(extensions: int = 5_000_000) -> bytes:
    """A one-frame GIF preceded by ``extensions`` empty comment extensions (3 bytes each)."""
    return _GIF_SCREEN + b"\x21\xfe\x00" * extensions + _GIF_FRAME + b"\x3b"


def tiny_sub_blocks_gif(sub_blocks: int = 8_000_000) -> bytes:
    """A one-frame GIF whose comment extension is ``sub_blocks`` 1-byte sub-blocks (2 bytes each)."""
    comment = b"\x21\xfe" + b"\x01C" * sub_blocks + b"\x00"
    return _GIF_SCREEN + comment + _GIF_FRAME + b"\x3b"


# -- WebP -----------------------------------------------------------------------------------


def many_frames_webp(frames: int = 300_000) -> bytes:
    """An animated WebP whose second ANMF frame chunk is repeated up to ``frames`` frames."""
    images = [Image.new("RGB", (16, 16), (index * 80, 30, 30)) for index in range(2)]
    data = encode(images[0], "WEBP", save_all=True, append_images=images[1:], lossless=True)
    chunks = _riff_chunks(data)
    anmf = [chunk for chunk in chunks if chunk[:4] == b"ANMF"]
    assert len(anmf) == 2
    first = b"".join(chunk for chunk in chunks if chunk[:4] != b"ANMF") + anmf[0]
    body = b"WEBP" + first + anmf[1] * (frames - 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _riff_chunks(data: bytes) -> list[bytes]:
    """The top-level chunks of a RIFF file, each with its header and padding."""
    chunks = []
    position = 12
    while position + 8 <= len(data):
        size = struct.unpack_from("<I", data, position + 4)[0]
        end = position + 8 + size + (size & 1)
        chunks.append(data[position:end])
        position = end
    return chunks


# -- HEIF / AVIF (ISOBMFF) ------------------------------------------------------------------


def bmff_box(kind: bytes, payload: bytes) -> bytes:
    """One ISOBMFF box: 32-bit size, type, payload."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def bmff_full_box(kind: bytes, version: int, payload: bytes, flags: int = 0) -> bytes:
    """A full box: version and 24-bit flags before the payload."""
    return bmff_box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def avif_ftyp() -> bytes:
    return bmff_box(b"ftyp", b"avif" + b"\0\0\0\0" + b"avifmif1miaf")


def avif_with_meta(*children: bytes, after: bytes = b"") -> bytes:
    """``ftyp`` (avif) + ``meta`` (hdlr pict, pitm 1, then ``children``) + ``after``."""
    hdlr = bmff_full_box(b"hdlr", 0, b"\0" * 4 + b"pict" + b"\0" * 12 + b"\0")
    pitm = bmff_full_box(b"pitm", 0, struct.pack(">H", 1))
    return avif_ftyp() + bmff_full_box(b"meta", 0, hdlr + pitm + b"".join(children)) + after


def zero_width_iloc(items: int, extents: int = 0xFFFF, version: int = 0) -> bytes:
    """An ``iloc`` whose offset, length, base offset and index fields are 0 bytes wide.

    Each item then costs 6 bytes (version 0: id, data reference, extent count) and may declare
    up to 65,535 extents that take no bytes at all.
    """
    id_width = 2 if version < 2 else 4
    head = b"\0\0" + items.to_bytes(id_width, "big")  # field sizes 0/0, base/index 0/0
    construction = b"\0\0" if version in (1, 2) else b""
    entry = (1).to_bytes(id_width, "big") + construction + b"\0\0" + struct.pack(">H", extents)
    return bmff_full_box(b"iloc", version, head + entry * items)


def zero_width_iloc_avif(items: int = 1000) -> bytes:
    """The ~6 KB file of issue 20 (1000 items of 65,535 free extents each); 2000 is ~12 KB."""
    return avif_with_meta(zero_width_iloc(items))


def heic_with_trailing_junk(data: bytes, junk: bytes = b"\0\0\0\x04junk") -> bytes:
    """``data`` followed by a top-level box whose size (4) is below its own header: libheif
    and Pillow decode the file regardless, the header walk stops there."""
    return data + junk


def behind_bogus_jpeg_segment(data: bytes, segment: bytes = b"\xff\xfe\x00\x00") -> bytes:
    """``data`` (a JPEG) with a COM segment whose length field (0) is below its minimum of 2
    right after SOI: libjpeg and Pillow skip the length field and read on."""
    assert data.startswith(b"\xff\xd8")
    return data[:2] + segment + data[2:]


def behind_stray_gif_byte(data: bytes, stray: bytes = b"\x00") -> bytes:
    """``data`` (a GIF) with ``stray`` bytes before its first block: Pillow's parser skips
    any byte that is not an extension, an image or the trailer."""
    screen = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    return data[:screen] + stray + data[screen:]
