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

Never raises: a structure it cannot follow ends the walk (``stopped``, with the depth it
stopped at), and what was read up to there is still summarised; a declared count over a
:class:`WalkLimits` bound ends it with ``exceeded`` (a rejection code) before any entry is
read.

Work bound: every loop iteration is counted in ``BmffHeader.steps`` and
``steps <= STEPS_PER_BYTE * len(data)``. Each box, property, brand and table entry costs at
least one byte, except the extents of an ``iloc`` item, whose fields may all be declared zero
bytes wide: at most ``max_extents_per_item`` of them (libheif's own limit, 32) per item of at
least 6 bytes, so 1 + 32 steps per 6 bytes. Only aggregates are kept (the furthest extent
end, not every extent); the property associations kept cost at least a byte each.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# The stated bound of the walk's work: loop iterations per byte of input (see above).
STEPS_PER_BYTE = 6

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
    stopped_depth: int | None = None  # 0: among the top-level boxes; more: inside a box
    exceeded: tuple[str, str, int, int] | None = None  # (code, what, limit, declared)
    steps: int = 0  # loop iterations of the walk (the work bound, STEPS_PER_BYTE)

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


@dataclass(frozen=True)
class WalkLimits:
    """Declared counts refused before any entry is read (``exceeded`` names the code)."""

    max_boxes: int = 100_000
    max_items: int = 100_000  # items of iloc, iinf and ipma
    max_extents_per_item: int = 32  # libheif 1.23's heif_security_limits default


def read_brands(data: bytes) -> tuple[str, frozenset[str]]:
    """The major brand and the set of all brands of the leading ``ftyp`` box."""
    if not is_bmff(data):
        return "", frozenset()
    size = int.from_bytes(data[0:4], "big")
    end = min(len(data), size if size >= 16 else 16)
    major = data[8:12].decode("latin-1")
    compatible = {data[i : i + 4].decode("latin-1") for i in range(16, end - 3, 4)}
    return major, frozenset({major, *compatible})


def read_header(data: bytes, limits: WalkLimits | None = None) -> BmffHeader:
    """Walk the boxes of ``data`` once (see the module docstring) within ``limits``."""
    header = BmffHeader()
    header.major_brand, header.brands = read_brands(data)
    header.steps += 1 + max(0, min(len(data), int.from_bytes(data[0:4], "big")) - 16) // 4
    if not is_bmff(data):
        header.stopped = "not ISOBMFF"
        header.stopped_depth = 0
        return header
    walk = _Walk(data, header, limits or WalkLimits())
    try:
        walk.boxes(0, len(data), 0)
    except _Exceeded as exceeded:
        header.exceeded = exceeded.args
        header.stopped = f"{exceeded.args[1]}: {exceeded.args[3]} declared"
        header.stopped_depth = walk.depth
    except _Stop as stop:
        header.stopped = str(stop)
        header.stopped_depth = walk.depth
    except (struct.error, IndexError, ValueError) as error:
        header.stopped = f"unreadable structure: {error}"
        header.stopped_depth = walk.depth
    walk.finish()  # what was read is summarised however the walk ended
    return header


class _Stop(Exception):
    pass


class _Exceeded(Exception):
    """(code, what, limit, declared): a declared count over a WalkLimits bound."""


class _Walk:
    def __init__(self, data: bytes, header: BmffHeader, limits: WalkLimits) -> None:
        self.data = data
        self.header = header
        self.limits = limits
        self.depth = 0  # of the box being read
        self.properties: list[tuple[bytes, int, int]] = []  # (type, payload start, end)
        self.associations: dict[int, list[int]] = {}  # item id -> property indices (1-based)
        self.furthest_extent = 0  # the furthest end of any item's data in the file

    def boxes(self, start: int, end: int, depth: int, in_ipco: bool = False) -> None:
        data, header = self.data, self.header
        position = start
        while position + 8 <= end:
            self.depth = depth
            header.steps += 1
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
            if header.boxes > self.limits.max_boxes:
                raise _Exceeded(
                    "too_many_chunks", "ISOBMFF boxes", self.limits.max_boxes, header.boxes
                )
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
        self.depth = depth + 1  # a failure reading this box's payload is inside it
        if kind in _CONTAINERS:
            if kind == b"moov":
                header.has_tracks = True
            self.boxes(start, end, depth + 1, in_ipco=kind == b"ipco")
        elif kind in _FULL_CONTAINERS:
            self.boxes(start + 4, end, depth + 1)
        elif kind == b"pitm":
            version = data[start]
            width = 2 if version == 0 else 4
            header.primary_item = _uint(data, start + 4, width)
        elif kind == b"iinf":
            version = data[start]
            width = 2 if version == 0 else 4
            self.count_items("iinf", _uint(data, start + 4, width))
        elif kind == b"iloc":
            self.iloc(start, end)
        elif kind == b"ipma":
            self.ipma(start, end)
        elif kind == b"stsz" or kind == b"stz2":
            header.samples += _uint(data, start + 8, 4)

    def count_items(self, table: str, count: int) -> None:
        """Record a declared item count; refuse it before any entry is read."""
        self.header.items = max(self.header.items, count)
        if count > self.limits.max_items:
            raise _Exceeded("too_many_items", f"HEIF items ({table})", self.limits.max_items, count)

    def iloc(self, start: int, end: int) -> None:
        data, header = self.data, self.header
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
        self.count_items("iloc", count)
        id_width = 2 if version < 2 else 4
        construction_width = 2 if version in (1, 2) else 0
        # id, construction method, data reference index, base offset, extent count
        item_bytes = id_width + construction_width + 2 + base_offset_size + 2
        extent_bytes = index_size + offset_size + length_size
        if count * item_bytes > end - position:
            raise _Stop(f"iloc declares {count} items in {end - position} bytes")
        for _ in range(count):
            header.steps += 1
            position += id_width
            construction = 0
            if construction_width:
                construction = _uint(data, position, 2) & 15
                position += 2
            position += 2  # data reference index
            base = _uint(data, position, base_offset_size)
            position += base_offset_size
            extents = _uint(data, position, 2)
            position += 2
            if extents > self.limits.max_extents_per_item:
                raise _Exceeded(
                    "too_many_items",
                    "data extents of one HEIF item",
                    self.limits.max_extents_per_item,
                    extents,
                )
            if position + extents * extent_bytes > end:
                raise _Stop("iloc overruns its box")
            header.steps += extents
            for _ in range(extents):
                position += index_size
                offset = _uint(data, position, offset_size)
                position += offset_size
                length = _uint(data, position, length_size)
                position += length_size
                if construction == 0:
                    self.furthest_extent = max(self.furthest_extent, base + offset + length)

    def ipma(self, start: int, end: int) -> None:
        data, header = self.data, self.header
        version, flags = data[start], _uint(data, start + 1, 3)
        count = _uint(data, start + 4, 4)
        position = start + 8
        self.count_items("ipma", count)
        id_width = 2 if version < 1 else 4
        index_width = 2 if flags & 1 else 1
        if count * (id_width + 1) > end - position:
            raise _Stop(f"ipma declares {count} entries in {end - position} bytes")
        for _ in range(count):
            header.steps += 1
            item = _uint(data, position, id_width)
            position += id_width
            associations = data[position]
            position += 1
            if position + associations * index_width > end:
                raise _Stop("ipma overruns its box")
            header.steps += associations
            mask = 0x7FFF if index_width == 2 else 0x7F
            self.associations[item] = [
                _uint(data, position + index_width * n, index_width) & mask
                for n in range(associations)
            ]
            position += associations * index_width

    def finish(self) -> None:
        header, data = self.header, self.data
        for kind, start, end in self.properties:
            header.steps += 1
            if kind == b"ispe" and end - start >= 12:
                header.image_sizes.append((_uint(data, start + 4, 4), _uint(data, start + 8, 4)))
            elif kind == b"colr" and data[start : start + 4] in (b"prof", b"rICC"):
                header.icc_bytes += max(0, end - start - 4)
        for index in self.associations.get(header.primary_item or -1, []):
            header.steps += 1
            if not 1 <= index <= len(self.properties):
                continue
            kind, start, end = self.properties[index - 1]
            if kind == b"ispe" and end - start >= 12:
                header.primary_size = (_uint(data, start + 4, 4), _uint(data, start + 8, 4))
            elif kind in (b"irot", b"imir") and end > start:
                header.primary_transforms.append((kind.decode(), data[start] & 3))
        if self.furthest_extent > len(data):
            header.truncated = True


def _uint(data: bytes, position: int, width: int) -> int:
    if width == 0:
        return 0
    if position + width > len(data):
        raise IndexError("field past the end of the data")
    return int.from_bytes(data[position : position + width], "big")
