"""Test images built in memory: every case the processor must handle, no binary fixtures.

Each builder returns encoded bytes. Colours are chosen far apart so that checks survive
lossy encoding (JPEG, WebP) with a generous tolerance.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

RED = (220, 20, 20)
BLUE = (20, 40, 200)
GREEN = (20, 200, 40)
WHITE = (255, 255, 255)

# Stored pixels = upright image transformed by the inverse of what the EXIF orientation
# asks the viewer to do; written from the EXIF specification, independently of imaging.py.
INVERSE_OF_ORIENTATION: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def solid(size: tuple[int, int], colour: tuple[int, ...] = BLUE, mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def upright_with_marker(size: tuple[int, int] = (160, 96)) -> Image.Image:
    """Blue landscape image with a red block in its top-left corner."""
    image = solid(size, BLUE)
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 3, size[1] // 3), fill=RED)
    return image


def oriented_jpeg(orientation: int, size: tuple[int, int] = (160, 96)) -> bytes:
    """A JPEG whose pixels only look upright after applying EXIF ``orientation``."""
    upright = upright_with_marker(size)
    inverse = INVERSE_OF_ORIENTATION[orientation]
    stored = upright if inverse is None else upright.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def jpeg(size: tuple[int, int] = (640, 480), colour=BLUE, **params: object) -> bytes:
    return encode(solid(size, colour), "JPEG", quality=90, **params)


def progressive_jpeg(size: tuple[int, int] = (400, 300)) -> bytes:
    return encode(upright_with_marker(size), "JPEG", quality=90, progressive=True)


def cmyk_jpeg(size: tuple[int, int] = (300, 200)) -> bytes:
    """Pure red in CMYK (no ICC profile: converted naively)."""
    return encode(solid(size, (0, 255, 255, 0), "CMYK"), "JPEG", quality=95)


def rgba_png(size: tuple[int, int] = (200, 100)) -> bytes:
    """Left half opaque red, right half fully transparent."""
    image = solid(size, (*RED, 255), "RGBA")
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=(0, 0, 0, 0))
    return encode(image, "PNG")


def palette_png_with_transparency(size: tuple[int, int] = (120, 60)) -> bytes:
    """Palette image: index 0 transparent (left half), index 1 green (right half)."""
    image = Image.new("P", size, 0)
    image.putpalette([0, 0, 0, *GREEN] + [0] * (256 * 3 - 6))
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=1)
    return encode(image, "PNG", transparency=0)


def sixteen_bit_png(size: tuple[int, int] = (256, 32)) -> bytes:
    """Horizontal 16-bit grey ramp from 0 to 65535."""
    ramp = Image.linear_gradient("L").rotate(90).resize(size)
    wide = ramp.convert("I").point(lambda value: value * 257)
    return encode(wide.convert("I;16"), "PNG")


def sixteen_bit_png_with_transparency(size: tuple[int, int] = (120, 60)) -> bytes:
    """16-bit grey: left half the tRNS value 0 (transparent), right half 50000 (light grey)."""
    image = Image.new("I;16", size, 50000)
    image.paste(0, (0, 0, size[0] // 2, size[1]))
    return encode(image, "PNG", transparency=0)


def greyscale_png(size: tuple[int, int] = (100, 80), level: int = 128) -> bytes:
    return encode(solid(size, level, "L"), "PNG")


def greyscale_alpha_png(size: tuple[int, int] = (100, 80)) -> bytes:
    return encode(solid(size, (60, 128), "LA"), "PNG")


def bilevel_png(size: tuple[int, int] = (64, 64)) -> bytes:
    image = Image.new("1", size, 0)
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2, size[1]), fill=1)
    return encode(image, "PNG")


def animated_gif(size: tuple[int, int] = (90, 60)) -> bytes:
    """Three frames: red, green, blue. Only the first (red) must be used."""
    frames = [solid(size, colour) for colour in (RED, GREEN, BLUE)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def animated_webp(size: tuple[int, int] = (90, 60)) -> bytes:
    frames = [solid(size, colour) for colour in (RED, GREEN, BLUE)]
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def webp(size: tuple[int, int] = (300, 200), lossless: bool = False) -> bytes:
    return encode(upright_with_marker(size), "WEBP", quality=90, lossless=lossless)


def bmp(size: tuple[int, int] = (40, 30)) -> bytes:
    return encode(solid(size), "BMP")


def tiff(size: tuple[int, int] = (40, 30)) -> bytes:
    return encode(solid(size), "TIFF")


def photo_like(size: tuple[int, int], seed: int = 7) -> Image.Image:
    """Detailed synthetic 'photo': fractal, gradient, noise and many thin lines."""
    width, height = size
    rnd = random.Random(seed)
    fractal = Image.effect_mandelbrot(size, (-2.2, -1.3, 1.0, 1.3), 60)
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40).convert("L")
    image = Image.merge("RGB", (fractal, gradient, ImageChops.add(noise, fractal, 2)))
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = rnd.randrange(width), rnd.randrange(height)
        end = (x + rnd.randrange(-300, 300), y + rnd.randrange(-300, 300))
        colour = tuple(rnd.randrange(256) for _ in range(3))
        draw.line((x, y, *end), fill=colour, width=rnd.randrange(1, 4))
    return image.filter(ImageFilter.GaussianBlur(0.7))


def photo_bytes(size: tuple[int, int], fmt: str = "JPEG", seed: int = 7, **params: object) -> bytes:
    """:func:`photo_like` encoded (JPEG quality 90 unless ``params`` say otherwise)."""
    image = photo_like(size, seed)
    if fmt in ("JPEG", "WEBP"):
        params.setdefault("quality", 90)
    if fmt == "GIF":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    return encode(image, fmt, **params)


def gps_exif_jpeg(size: tuple[int, int] = (400, 300)) -> bytes:
    """JPEG carrying GPS EXIF, camera EXIF, XMP, a comment and an sRGB ICC profile."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model 9000"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    gps[3] = "E"
    gps[4] = (2.0, 17.0, 40.0)
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>SECRETXMP</x:xmpmeta>'
    )
    return encode(
        upright_with_marker(size),
        "JPEG",
        quality=90,
        exif=exif.tobytes(),
        xmp=xmp,
        comment=b"SECRETCOMMENT",
        icc_profile=srgb_icc_profile(),
    )


def srgb_icc_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def icc_jpeg(colour: tuple[int, int, int], icc_profile: bytes, size=(120, 80)) -> bytes:
    return encode(solid(size, colour), "JPEG", quality=95, icc_profile=icc_profile)


def icc_png(colour: tuple[int, int, int], icc_profile: bytes, size=(120, 80)) -> bytes:
    return encode(solid(size, colour), "PNG", icc_profile=icc_profile)


# -- ICC profile written by hand (ICC v2 matrix/TRC display profile) ----------------------

ADOBE_RGB_D50_COLORANTS = (
    (0.60974, 0.31111, 0.01947),
    (0.20528, 0.62567, 0.06087),
    (0.14919, 0.06322, 0.74457),
)
D50_WHITE = (0.9642, 1.0, 0.8249)


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: Sequence[float]) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15f16(v) for v in xyz)


def _gamma_tag(gamma: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _desc_tag(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    body = b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_text)) + ascii_text
    body += struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67
    return body + b"\0" * (-len(body) % 4)


def _text_tag(text: str) -> bytes:
    body = b"text" + b"\0" * 4 + text.encode("ascii") + b"\0"
    return body + b"\0" * (-len(body) % 4)


def _profile(colour_space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table = struct.pack(">I", len(tags))
    data = b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = 128 + table_size + len(data)
    header = struct.pack(">I", size) + b"none" + struct.pack(">I", 0x02100000)
    header += b"mntr" + colour_space + b"XYZ " + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    header += b"acsp" + b"APPL" + b"\0" * 4 + b"none" + b"none" + b"\0" * 8
    header += struct.pack(">I", 0) + b"".join(_s15f16(v) for v in D50_WHITE)
    header += b"none" + b"\0" * 16 + b"\0" * 28
    assert len(header) == 128
    return header + table + data


def grey_icc_profile(gamma: float = 1.0, description: str = "Test linear grey") -> bytes:
    """Build a minimal valid GRAY display profile (linear light by default)."""
    return _profile(
        b"GRAY",
        [
            (b"desc", _desc_tag(description)),
            (b"cprt", _text_tag("No copyright, test data")),
            (b"wtpt", _xyz_tag(D50_WHITE)),
            (b"kTRC", _gamma_tag(gamma)),
        ],
    )


def matrix_icc_profile(
    colorants: Sequence[Sequence[float]] = ADOBE_RGB_D50_COLORANTS,
    gamma: float = 563 / 256,
    description: str = "Test Adobe RGB (1998) compatible",
) -> bytes:
    """Build a minimal valid RGB display profile (Adobe RGB (1998) by default)."""
    return _profile(
        b"RGB ",
        [
            (b"desc", _desc_tag(description)),
            (b"cprt", _text_tag("No copyright, test data")),
            (b"wtpt", _xyz_tag(D50_WHITE)),
            (b"rXYZ", _xyz_tag(colorants[0])),
            (b"gXYZ", _xyz_tag(colorants[1])),
            (b"bXYZ", _xyz_tag(colorants[2])),
            (b"rTRC", _gamma_tag(gamma)),
            (b"gTRC", _gamma_tag(gamma)),
            (b"bTRC", _gamma_tag(gamma)),
        ],
    )


# -- hostile or broken inputs -----------------------------------------------------------


def truncated_jpeg(size: tuple[int, int] = (640, 480), keep: float = 0.5) -> bytes:
    data = encode(photo_like(size), "JPEG", quality=90)
    return data[: int(len(data) * keep)]


def truncated_png(size: tuple[int, int] = (300, 200), keep: float = 0.5) -> bytes:
    data = encode(photo_like(size), "PNG")
    return data[: int(len(data) * keep)]


def random_bytes(length: int = 4096, seed: int = 3) -> bytes:
    return random.Random(seed).randbytes(length)


def text_file() -> bytes:
    return b"Hello, this is definitely not a picture.\n" * 20


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG declaring a huge greyscale canvas (decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * (width + 1) * 4, 9)  # a few rows; the rest is "missing"
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def mpo(size: tuple[int, int] = (120, 80)) -> bytes:
    """Multi-picture JPEG (as phones write): red first picture, blue second."""
    frames = [solid(size, RED), solid(size, BLUE)]
    return encode(frames[0], "MPO", save_all=True, append_images=frames[1:])


# -- HEIF (HEIC) and AVIF: real files from public corpora, and edits of their containers ------

CORPUS = Path(__file__).resolve().parent / "corpus"  # LICENSE.md there names every source

HEIC_PHOTO = "rainbow-451x461.heic"  # libheif tests/data, upright, 451x461 after clap
HEIC_ALPHA = "with-alpha-512x512.heic"  # libheif tests/data, RGBA
AVIF_PHOTO = "kimono.avif"  # link-u avif-sample-images: 722x1024, no transform
AVIF_ROTATE90 = "kimono.rotate90.avif"  # stored rotated 90 ccw, irot 270 ccw puts it upright
AVIF_MIRROR_ROTATE = "kimono.mirror-vertical.rotate270.avif"  # irot and imir together
AVIF_RED_TOP = "red-at-12-oclock-with-color-profile-lossy.avif"  # red mark at top, ICC
AVIF_SEQUENCE = "star-8bpc.avifs"  # 5-frame image sequence (brand avis)
KIMONO_REFERENCE = "kimono.jpg"  # the upright original of the kimono files


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


# (irot angle in 90-degree steps anticlockwise, imir axis or None) for each EXIF orientation: the
# same display transform as HEIF container properties (ISO/IEC 23008-12: rotation first, then
# mirroring). imir's axis as libheif, libavif and the link-u files have it: 0 flips top to
# bottom, 1 left to right (kimono.mirror-horizontal.avif has axis 1; the unit tests check that
# edits made with with_heif_transform read back like the real irot/imir files).
HEIF_TRANSFORM_FOR_ORIENTATION: dict[int, tuple[int, int | None]] = {
    1: (0, None),
    2: (0, 1),
    3: (2, None),
    4: (0, 0),
    5: (1, 0),
    6: (3, None),
    7: (3, 0),
    8: (1, None),
}


def _box_at(data: bytes, position: int) -> tuple[bytes, int, int]:
    size = struct.unpack_from(">I", data, position)[0]
    return data[position + 4 : position + 8], position + 8, position + size


def _children(data: bytes, start: int, end: int) -> dict[bytes, tuple[int, int, int]]:
    found: dict[bytes, tuple[int, int, int]] = {}
    position = start
    while position + 8 <= end:
        kind, payload, box_end = _box_at(data, position)
        found.setdefault(kind, (position, payload, box_end))
        position = box_end
    return found


def with_heif_transform(data: bytes, irot: int = 0, imir: int | None = None) -> bytes:
    """``data`` (a HEIF/AVIF file) with ``irot``/``imir`` properties on its primary item.

    Appends the properties to ``ipco``, associates them with the primary item in ``ipma``,
    grows the parent boxes and moves every ``iloc`` offset that points behind ``meta``. The
    coded image is untouched: a decoder that honours the properties shows it transformed.
    """
    top = _children(data, 0, len(data))
    meta_at, meta_payload, meta_end = top[b"meta"]
    in_meta = _children(data, meta_payload + 4, meta_end)
    iprp_at, iprp_payload, iprp_end = in_meta[b"iprp"]
    in_iprp = _children(data, iprp_payload, iprp_end)
    ipco_at, ipco_payload, ipco_end = in_iprp[b"ipco"]
    ipma_at, ipma_payload, ipma_end = in_iprp[b"ipma"]
    pitm_payload = in_meta[b"pitm"][1]
    primary = struct.unpack_from(">H" if data[pitm_payload] == 0 else ">I", data, pitm_payload + 4)[
        0
    ]
    properties = len(_children_list(data, ipco_payload, ipco_end))
    new_boxes = b""
    new_indices: list[int] = []
    if irot:
        new_boxes += struct.pack(">I4sB", 9, b"irot", irot & 3)
        new_indices.append(properties + len(new_indices) + 1)
    if imir is not None:
        new_boxes += struct.pack(">I4sB", 9, b"imir", imir & 1)
        new_indices.append(properties + len(new_indices) + 1)
    if not new_boxes:
        return data
    # ipma: find the primary item's entry and append the associations (essential bit set).
    version, flags = data[ipma_payload], int.from_bytes(data[ipma_payload + 1 : ipma_payload + 4])
    id_width, index_width = (2 if version < 1 else 4), (2 if flags & 1 else 1)
    count = struct.unpack_from(">I", data, ipma_payload + 4)[0]
    position = ipma_payload + 8
    ipma = bytearray(data[ipma_at:ipma_end])
    for _ in range(count):
        item = int.from_bytes(data[position : position + id_width])
        associations = data[position + id_width]
        if item == primary:
            count_at = position + id_width
            insert_at = count_at + 1 + associations * index_width
            added = b"".join(
                ((0x8000 | index).to_bytes(2) if index_width == 2 else bytes([0x80 | index]))
                for index in new_indices
            )
            relative = insert_at - ipma_at
            ipma[count_at - ipma_at] = associations + len(new_indices)
            ipma[relative:relative] = added
            break
        position += id_width + 1 + associations * index_width
    else:
        raise ValueError("the primary item has no ipma entry")
    struct.pack_into(">I", ipma, 0, len(ipma))
    ipco = bytearray(data[ipco_at:ipco_end]) + new_boxes
    struct.pack_into(">I", ipco, 0, len(ipco))
    before_ipco, between, after_ipma = _split_around(
        data, iprp_payload, iprp_end, ipco_at, ipco_end, ipma_at, ipma_end
    )
    iprp_body = before_ipco + bytes(ipco) + between + bytes(ipma) + after_ipma
    iprp = struct.pack(">I4s", 8 + len(iprp_body), b"iprp") + iprp_body
    delta = len(iprp) - (iprp_end - iprp_at)
    meta = bytearray(data[meta_at:iprp_at] + iprp + data[iprp_end:meta_end])
    struct.pack_into(">I", meta, 0, len(meta))
    _shift_iloc(meta, meta_at, meta_end, delta)
    return data[:meta_at] + bytes(meta) + data[meta_end:]


def _children_list(data: bytes, start: int, end: int) -> list[bytes]:
    kinds, position = [], start
    while position + 8 <= end:
        kind, _, box_end = _box_at(data, position)
        kinds.append(kind)
        position = box_end
    return kinds


def _split_around(data, start, end, a_start, a_end, b_start, b_end):
    if a_start > b_start:
        raise ValueError("ipco after ipma is not supported")
    return data[start:a_start], data[a_end:b_start], data[b_end:end]


def _shift_iloc(meta: bytearray, meta_at: int, old_meta_end: int, delta: int) -> None:
    """Add ``delta`` to every file offset in ``iloc`` that points behind the old ``meta``."""
    in_meta = _children(bytes(meta), 12, len(meta))
    _, start, _ = in_meta[b"iloc"]
    version = meta[start]
    offset_size, length_size = meta[start + 4] >> 4, meta[start + 4] & 15
    base_size = meta[start + 5] >> 4
    index_size = (meta[start + 5] & 15) if version in (1, 2) else 0
    position = start + 6
    count_width = 2 if version < 2 else 4
    count = int.from_bytes(meta[position : position + count_width])
    position += count_width
    for _ in range(count):
        position += 2 if version < 2 else 4
        construction = 0
        if version in (1, 2):
            construction = int.from_bytes(meta[position : position + 2]) & 15
            position += 2
        position += 2
        base_at = position
        base = int.from_bytes(meta[position : position + base_size]) if base_size else 0
        position += base_size
        extents = int.from_bytes(meta[position : position + 2])
        position += 2
        for _ in range(extents):
            position += index_size
            offset_at = position
            offset = int.from_bytes(meta[position : position + offset_size])
            position += offset_size + length_size
            if construction == 0 and base == 0 and offset >= old_meta_end:
                meta[offset_at : offset_at + offset_size] = (offset + delta).to_bytes(offset_size)
        if construction == 0 and base_size and base >= old_meta_end:
            meta[base_at : base_at + base_size] = (base + delta).to_bytes(base_size)


def heif_with_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` with every ``ispe`` claiming ``width`` x ``height`` (same byte length)."""
    patched = bytearray(data)
    position = patched.find(b"ispe")
    while position != -1:
        struct.pack_into(">II", patched, position + 8, width, height)
        position = patched.find(b"ispe", position + 4)
    return bytes(patched)


def heif_with_brand(data: bytes, brand: bytes) -> bytes:
    """``data`` with its ``ftyp`` major and compatible brands replaced by ``brand``."""
    size = struct.unpack_from(">I", data, 0)[0]
    brands = brand * ((size - 16) // 4)
    return data[:8] + brand + data[12:16] + brands + data[size:]


def oriented_heif(name: str, orientation: int) -> bytes:
    """The corpus file ``name`` with the container transform of EXIF ``orientation``."""
    irot, imir = HEIF_TRANSFORM_FOR_ORIENTATION[orientation]
    return with_heif_transform(corpus(name), irot, imir)
