"""The ISO base media file format header of HEIF (HEIC) and AVIF files, read without decoding.

Pure (standard library only). HEIC and AVIF are both HEIF containers: a ``ftyp`` box whose
brands say what the file is, a ``meta`` box that lists the items (images, tiles, thumbnails,
Exif), their properties (``ispe`` image size, ``irot``/``imir`` rotation and mirroring, ``colr``
colour profile) and where their data is (``iloc``), then ``mdat`` with the coded data. Image
sequences add a ``moov`` box with tracks. :func:`read_header` walks those boxes once, linearly,
so the processor can decide before any decoder sees the bytes:

* the format, by ``ftyp`` brand (:func:`kind_of`): ``AVIF``, ``HEIF``, ``VIDEO`` (an MP4 or
  QuickTime file, not an image) or ``None`` (not ISOBMFF);
* the largest image any item claims (every ``ispe``: the primary image, a grid's full size, its
  tiles, thumbnails, auxiliary images), so a file claiming a huge image is refused before
  libheif or libavif allocates anything;
* the amount of structure (boxes, items, sequence samples, ICC bytes) for the decode-work
  bounds of :mod:`processor.decode_budget`;
* whether the file is cut short: a box or an item's data extends past the end of the file.

Never raises: a structure it cannot follow ends the walk, and the decoder judges the rest.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

AVIF_BRANDS = frozenset({"avif", "avis"})
HEIF_BRANDS = frozenset(
    {"heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "msf1"}
)
# Brands of MP4, 3GP and QuickTime files: videos, not images.
VIDEO_BRANDS = frozenset(
    {"isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "qt  ", "3gp4", "3gp5",
     "M4V ", "M4A ", "dash", "mmp4"}
)  # fmt: skip

# Boxes whose payload is a list of boxes (after the full-box header for the starred ones).
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"iprp", b"ipco", b"dinf"})
_FULL_CONTAINERS = frozenset({b"meta"})
_MAX_DEPTH = 8


@dataclass
class BmffHeader:
    """What :func:`read_header` found; sizes are as stored (before ``irot``)."""

    major_brand: str = ""
    brands: frozenset[str] = frozenset()
    boxes: int = 0
    items: int = 0
    primary_item: int | None = None
    image_sizes: list[tuple[int, int]] = field(default_factory=list)  # every ispe, in order
    primary_size: tuple[int, int] | None = None
    primary_transforms: list[tuple[str, int]] = field(default_factory=list)  # ("irot"|"imir", v)
    icc_bytes: int = 0
    has_tracks: bool = False
    samples: int = 0  # samples of all tracks (frames of an image sequence)
    truncated: bool = False
    stopped: str | None = None  # why the walk ended early, if it did

    @property
    def kind(self) -> str | None:
        return kind_of(self.brands)

    @property
    def largest_pixels(self) -> int:
        return max((width * height for width, height in self.image_sizes), default=0)


def is_bmff(data: bytes) -> bool:
    """True when ``data`` starts with a ``ftyp`` box (HEIF, AVIF, MP4, QuickTime, ...)."""
    return len(data) >= 12 and data[4:8] == b"ftyp"


def kind_of(brands: frozenset[str]) -> str | None:
    """``AVIF``, ``HEIF`` (HEVC-coded HEIF: HEIC), ``VIDEO`` or ``None`` from the brands."""
    if brands & AVIF_BRANDS:
        return "AVIF"
    if brands & HEIF_BRANDS:
        return "HEIF"
    if brands & VIDEO_BRANDS:
        return "VIDEO"
    return None


def read_brands(data: bytes) -> tuple[str, frozenset[str]]:
    """The major brand and the set of all brands of the leading ``ftyp`` box."""
    if not is_bmff(data):
        return "", frozenset()
    size = int.from_bytes(data[0:4], "big")
    end = min(len(data), size if size >= 16 else 16)
    major = data[8:12].decode("latin-1")
    compatible = {data[i : i + 4].decode("latin-1") for i in range(16, end - 3, 4)}
    return major, frozenset({major, *compatible})


def read_header(data: bytes, max_boxes: int = 100_000) -> BmffHeader:
    """Walk the boxes of ``data`` (see the module docstring); at most ``max_boxes`` boxes."""
    header = BmffHeader()
    header.major_brand, header.brands = read_brands(data)
    if not is_bmff(data):
        header.stopped = "not ISOBMFF"
        return header
    walk = _Walk(data, header, max_boxes)
    try:
        walk.boxes(0, len(data), 0)
        walk.finish()
    except _Stop as stop:
        header.stopped = str(stop)
    except (struct.error, IndexError, ValueError) as error:
        header.stopped = f"unreadable structure: {error}"
    return header


class _Stop(Exception):
    pass


class _Walk:
    def __init__(self, data: bytes, header: BmffHeader, max_boxes: int) -> None:
        self.data = data
        self.header = header
        self.max_boxes = max_boxes
        self.properties: list[tuple[bytes, int, int]] = []  # (type, payload start, end)
        self.associations: dict[int, list[int]] = {}  # item id -> property indices (1-based)
        self.extent_ends: list[int] = []

    def boxes(self, start: int, end: int, depth: int, in_ipco: bool = False) -> None:
        data, header = self.data, self.header
        position = start
        while position + 8 <= end:
            size = int.from_bytes(data[position : position + 4], "big")
            kind = data[position + 4 : position + 8]
            payload = position + 8
            if size == 1:
                if payload + 8 > len(data):
                    header.truncated = True
                    return
                size = int.from_bytes(data[payload : payload + 8], "big")
                payload += 8
            elif size == 0:  # extends to the end of the file
                size = end - position
            if size < payload - position:
                raise _Stop(f"box {kind!r} has an invalid size {size}")
            box_end = position + size
            if box_end > len(data):
                header.truncated = True
                box_end = len(data)
            elif box_end > end:
                raise _Stop(f"box {kind!r} overruns its parent")
            header.boxes += 1
            if header.boxes > self.max_boxes:
                raise _Stop(f"more than {self.max_boxes} boxes")
            if in_ipco:
                self.properties.append((kind, payload, box_end))
            self.box(kind, payload, box_end, depth)
            position = box_end
        if end == len(self.data) and 0 < end - position < 8 and depth == 0:
            header.truncated = True  # a few stray bytes: the start of a box that was cut

    def box(self, kind: bytes, start: int, end: int, depth: int) -> None:
        data, header = self.data, self.header
        if depth >= _MAX_DEPTH:
            return
        if kind in _CONTAINERS:
            if kind == b"moov":
                header.has_tracks = True
            self.boxes(start, end, depth + 1, in_ipco=kind == b"ipco")
        elif kind in _FULL_CONTAINERS:
            self.boxes(start + 4, end, depth + 1)
        elif kind == b"pitm":
            version = data[start]
            width = 2 if version == 0 else 4
            header.primary_item = int.from_bytes(data[start + 4 : start + 4 + width], "big")
        elif kind == b"iinf":
            version = data[start]
            width = 2 if version == 0 else 4
            header.items = max(
                header.items, int.from_bytes(data[start + 4 : start + 4 + width], "big")
            )
        elif kind == b"iloc":
            self.iloc(start, end)
        elif kind == b"ipma":
            self.ipma(start, end)
        elif kind == b"stsz" or kind == b"stz2":
            header.samples += int.from_bytes(data[start + 8 : start + 12], "big")

    def iloc(self, start: int, end: int) -> None:
        data = self.data
        version = data[start]
        sizes = data[start + 4]
        offset_size, length_size = sizes >> 4, sizes & 15
        more = data[start + 5]
        base_offset_size = more >> 4
        index_size = (more & 15) if version in (1, 2) else 0
        position = start + 6
        count_width = 2 if version < 2 else 4
        count = _uint(data, position, count_width)
        position += count_width
        self.header.items = max(self.header.items, count)
        if count > self.max_boxes:
            raise _Stop(f"iloc lists {count} items")
        id_width = 2 if version < 2 else 4
        for _ in range(count):
            position += id_width
            construction = 0
            if version in (1, 2):
                construction = _uint(data, position, 2) & 15
                position += 2
            position += 2  # data reference index
            base = _uint(data, position, base_offset_size)
            position += base_offset_size
            extents = _uint(data, position, 2)
            position += 2
            for _ in range(extents):
                position += index_size
                offset = _uint(data, position, offset_size)
                position += offset_size
                length = _uint(data, position, length_size)
                position += length_size
                if construction == 0:
                    self.extent_ends.append(base + offset + length)
            if position > end:
                raise _Stop("iloc overruns its box")

    def ipma(self, start: int, end: int) -> None:
        data = self.data
        version, flags = data[start], int.from_bytes(data[start + 1 : start + 4], "big")
        count = _uint(data, start + 4, 4)
        position = start + 8
        id_width = 2 if version < 1 else 4
        index_width = 2 if flags & 1 else 1
        for _ in range(count):
            if position >= end:
                return
            item = _uint(data, position, id_width)
            position += id_width
            associations = data[position]
            position += 1
            indices = []
            for _ in range(associations):
                value = _uint(data, position, index_width)
                position += index_width
                indices.append(value & (0x7FFF if index_width == 2 else 0x7F))
            self.associations[item] = indices

    def finish(self) -> None:
        header, data = self.header, self.data
        for kind, start, end in self.properties:
            if kind == b"ispe" and end - start >= 12:
                header.image_sizes.append((_uint(data, start + 4, 4), _uint(data, start + 8, 4)))
            elif kind == b"colr" and data[start : start + 4] in (b"prof", b"rICC"):
                header.icc_bytes += max(0, end - start - 4)
        for index in self.associations.get(header.primary_item or -1, []):
            if not 1 <= index <= len(self.properties):
                continue
            kind, start, end = self.properties[index - 1]
            if kind == b"ispe" and end - start >= 12:
                header.primary_size = (_uint(data, start + 4, 4), _uint(data, start + 8, 4))
            elif kind in (b"irot", b"imir") and end > start:
                header.primary_transforms.append((kind.decode(), data[start] & 3))
        if any(extent_end > len(data) for extent_end in self.extent_ends):
            header.truncated = True


def _uint(data: bytes, position: int, width: int) -> int:
    if width == 0:
        return 0
    if position + width > len(data):
        raise IndexError("field past the end of the data")
    return int.from_bytes(data[position : position + width], "big")
