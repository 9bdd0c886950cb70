"""decode_budget: structural pre-scan (inspect) and the decode deadline (DeadlineStream)."""

from __future__ import annotations

import functools
import io
import math
import random
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from common import contract
from processor import bmff
from processor import decode_budget as budget
from support import hostile_work as hostile
from support import images as factory

pytestmark = pytest.mark.unit

LIMITS = budget.WorkLimits()


def code_of(data: bytes, limits: budget.WorkLimits = LIMITS) -> str | None:
    """The code inspect() refuses ``data`` with, or None when it passes."""
    try:
        budget.inspect(data, limits)
    except budget.DecodeWorkExceeded as error:
        refused = error
    else:
        return None
    assert refused.code in contract.WORK_CODES
    assert refused.message
    return refused.code


class TickingClock:
    """A fake monotonic clock that advances by one on every call."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


# -- hostile inputs: refused by inspect with a specific code --------------------------------

HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "jpeg-3000-scans": (hostile.many_scans_jpeg, "too_many_scans"),
    "jpeg-2M-segments": (hostile.many_segments_jpeg, "too_many_segments"),
    "jpeg-icc-12MB": (
        lambda: hostile.jpeg_with_icc(hostile.oversized_icc()),
        "icc_profile_too_large",
    ),
    "jpeg-icc-deep-lut": (
        lambda: hostile.jpeg_with_icc(hostile.icc_with_lut(170)),
        "icc_profile_too_large",
    ),
    "png-1.5M-idat": (hostile.many_idat_png, "too_many_chunks"),
    "png-1M-ancillary": (hostile.many_ancillary_png, "too_many_chunks"),
    "png-iccp-deep-lut": (
        lambda: hostile.png_with_iccp(hostile.icc_with_lut(170)),
        "icc_profile_too_large",
    ),
    "png-iccp-inflating-64MB": (hostile.png_with_inflating_iccp, "icc_profile_too_large"),
    "gif-800k-frames": (hostile.many_frames_gif, "too_many_frames"),
    "gif-5M-extensions": (hostile.many_extensions_gif, "too_many_blocks"),
    "gif-8M-sub-blocks": (hostile.tiny_sub_blocks_gif, "too_many_blocks"),
    "webp-300k-frames": (hostile.many_frames_webp, "too_many_frames"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_file_is_refused_with_its_code(name: str) -> None:
    build, code = HOSTILE[name]
    data = build()

    assert len(data) <= 20 * 1024 * 1024, "must fit the upload limit"
    assert code_of(data) == code


def test_the_slow_progressive_jpeg_is_small_and_within_the_pixel_limit() -> None:
    data = hostile.many_scans_jpeg()

    assert len(data) < 1024 * 1024
    with Image.open(io.BytesIO(data)) as image:
        assert image.width * image.height <= 40_000_000
        assert image.info.get("progressive")
    assert data.count(b"\xff\xda") == 3000


@pytest.mark.parametrize(
    ("build", "limits", "code"),
    [
        (lambda n: hostile.many_scans_jpeg(n, (64, 48)), {"max_jpeg_scans": 20}, "too_many_scans"),
        (hostile.many_segments_jpeg, {"max_jpeg_segments": 40}, "too_many_segments"),
        (hostile.many_idat_png, {"max_png_chunks": 30}, "too_many_chunks"),
        (hostile.many_ancillary_png, {"max_png_ancillary_chunks": 20}, "too_many_chunks"),
        (hostile.many_frames_gif, {"max_frames": 20}, "too_many_frames"),
        (hostile.many_extensions_gif, {"max_gif_blocks": 30}, "too_many_blocks"),
        (hostile.many_frames_webp, {"max_frames": 20}, "too_many_frames"),
    ],
)
def test_a_limit_refuses_only_what_is_above_it(
    build: Callable[[int], bytes], limits: dict[str, int], code: str
) -> None:
    """Find the count at which a builder's file is refused: one over the limit, never below."""
    work = budget.WorkLimits(**limits)
    outcomes = {count: code_of(build(count), work) for count in range(1, 60)}

    refused = [count for count, outcome in outcomes.items() if outcome is not None]
    assert refused, outcomes
    assert {outcomes[count] for count in refused} == {code}
    assert refused == list(range(refused[0], 60)), "refused from one count on, for good"
    assert code_of(build(refused[0] - 1), work) is None


def test_icc_limit_applies_to_the_profile_bytes() -> None:
    profile = hostile.oversized_icc(64 * 1024)
    work = budget.WorkLimits(max_icc_bytes=len(profile))

    assert code_of(hostile.jpeg_with_icc(profile), work) is None
    assert code_of(hostile.png_with_iccp(profile), work) is None
    small = budget.WorkLimits(max_icc_bytes=len(profile) - 1)
    assert code_of(hostile.jpeg_with_icc(profile), small) == "icc_profile_too_large"
    assert code_of(hostile.png_with_iccp(profile), small) == "icc_profile_too_large"


def test_webp_icc_chunk_is_bounded() -> None:
    profile = hostile.oversized_icc(64 * 1024)
    data = factory.encode(Image.new("RGB", (32, 32)), "WEBP", icc_profile=profile)

    assert code_of(data, budget.WorkLimits(max_icc_bytes=len(profile))) is None
    assert code_of(data, budget.WorkLimits(max_icc_bytes=len(profile) - 1)) == (
        "icc_profile_too_large"
    )


# -- normal images pass ---------------------------------------------------------------------


def noisy(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Noise: its entropy-coded JPEG data is full of 0xFF00 stuffing."""
    image = Image.effect_noise(size, 90)
    return image if mode == "L" else image.convert(mode)


NORMAL: dict[str, Callable[[], bytes]] = {
    "jpeg-baseline": lambda: factory.jpeg((640, 480)),
    "jpeg-progressive": lambda: factory.progressive_jpeg((400, 300)),
    "jpeg-progressive-noise-restarts": lambda: factory.encode(
        noisy((640, 480)), "JPEG", progressive=True, quality=95, restart_marker_blocks=4
    ),
    "jpeg-baseline-noise-restart-rows": lambda: factory.encode(
        noisy((640, 480)), "JPEG", quality=95, restart_marker_rows=1
    ),
    "jpeg-exif-gps": factory.gps_exif_jpeg,
    "jpeg-cmyk": factory.cmyk_jpeg,
    "jpeg-srgb-icc": lambda: factory.icc_jpeg((200, 30, 30), factory.srgb_icc_profile()),
    "jpeg-mpo": factory.mpo,
    "png-rgba": factory.rgba_png,
    "png-palette": factory.palette_png_with_transparency,
    "png-16-bit": factory.sixteen_bit_png,
    "png-interlaced": lambda: factory.encode(noisy((300, 200)), "PNG", interlace=1),
    "png-srgb-icc": lambda: factory.icc_png((200, 30, 30), factory.srgb_icc_profile()),
    "apng": lambda: factory.encode(
        Image.new("RGB", (40, 30)),
        "PNG",
        save_all=True,
        append_images=[Image.new("RGB", (40, 30), (9 * i, 0, 0)) for i in range(1, 30)],
    ),
    "gif": lambda: factory.encode(noisy((200, 100), "L"), "GIF"),
    "gif-animated": factory.animated_gif,
    "gif-3000-frames": lambda: factory.encode(
        Image.new("L", (16, 16)),
        "GIF",
        save_all=True,
        duration=20,
        append_images=[Image.new("L", (16, 16), i % 256) for i in range(1, 3000)],
    ),
    "webp-lossy": factory.webp,
    "webp-lossless": lambda: factory.webp(lossless=True),
    "webp-animated": factory.animated_webp,
    "webp-icc": lambda: factory.encode(
        Image.new("RGB", (32, 32)), "WEBP", icc_profile=factory.srgb_icc_profile()
    ),
}


@functools.cache
def normal(name: str) -> bytes:
    return NORMAL[name]()


@pytest.mark.parametrize("name", list(NORMAL))
def test_normal_images_pass(name: str) -> None:
    assert code_of(normal(name)) is None


@pytest.mark.parametrize(
    ("mode", "progressive", "scans"), [("RGB", True, 10), ("L", True, 6), ("RGB", False, 1)]
)
def test_jpeg_scans_are_counted_exactly_through_stuffing_and_restarts(
    mode: str, progressive: bool, scans: int
) -> None:
    """libjpeg's standard progression has 10 scans in colour, 6 in grey: counted exactly,
    so entropy-coded data (0xFF00, RSTn) was skipped correctly."""
    data = factory.encode(
        noisy((320, 240), mode),
        "JPEG",
        quality=95,
        progressive=progressive,
        restart_marker_blocks=3,
    )
    assert data.count(b"\xff\x00") > 100, "stuffing expected in the test image"
    assert any(bytes([0xFF, rst]) in data for rst in range(0xD0, 0xD8))

    assert code_of(data, budget.WorkLimits(max_jpeg_scans=scans)) is None
    assert code_of(data, budget.WorkLimits(max_jpeg_scans=scans - 1)) == "too_many_scans"


def test_only_the_first_image_of_a_jpeg_is_walked() -> None:
    """Bytes after EOI (an MPO's second picture, a polyglot's payload) are not scans."""
    one = factory.progressive_jpeg((64, 48))
    work = budget.WorkLimits(max_jpeg_scans=10)

    assert code_of(one + one + one, work) is None


def test_inspect_is_linear_on_a_large_normal_file() -> None:
    """Megabytes of noise JPEG (stuffing everywhere) are walked to the right count."""
    data = factory.encode(noisy((2000, 1500)), "JPEG", quality=100, progressive=True)
    assert code_of(data, budget.WorkLimits(max_jpeg_scans=10)) is None


# -- garbage never raises anything else ---------------------------------------------------

PREFIXES = (b"\xff\xd8", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"GIF87a", b"RIFF")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from((b"", *PREFIXES)), body=st.binary(max_size=600))
def test_garbage_is_left_to_pillow(prefix: bytes, body: bytes) -> None:
    if prefix == b"RIFF":
        body = body[:4] + b"WEBP" + body[4:]
    assert code_of(prefix + body) in (None, *contract.WORK_CODES)


@pytest.mark.parametrize("name", list(NORMAL))
def test_damaged_normal_images_never_crash_inspect(name: str) -> None:
    data = normal(name)
    rng = random.Random(name)
    damaged = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 40))]
    for _ in range(40):
        mutable = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutable[rng.randrange(len(mutable))] = rng.randrange(256)
        damaged.append(bytes(mutable))
    for sample in damaged:
        assert code_of(sample) in (None, *contract.WORK_CODES)


# -- what a decoder steps over, the check steps over: real files, decoded by Pillow ---------


def pillow_decodes(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    "segment",
    [b"\xff\xfe\x00\x00", b"\xff\xfe\x00\x01", b"\xff\xe1\x00\x00", b"\xff\xef\x00\x01"],
    ids=["COM-length-0", "COM-length-1", "APP1-length-0", "APP15-length-1"],
)
def test_a_jpeg_length_below_2_is_stepped_over_as_libjpeg_does(segment: bytes) -> None:
    """libjpeg (skip_variable) and Pillow's marker handlers skip max(0, length - 2) bytes and
    read on: the 150 scans behind such a segment are counted, not hidden."""
    data = hostile.behind_bogus_jpeg_segment(hostile.many_scans_jpeg(150, (64, 48)), segment)

    assert pillow_decodes(data).size == (64, 48)
    assert code_of(data) == "too_many_scans"
    assert code_of(data, budget.WorkLimits(max_jpeg_scans=150)) is None


@pytest.mark.parametrize(
    "stray", [b"\x00", b"\x99", b"junk", b"\x00" * 5000], ids=["nul", "0x99", "junk", "5000-nul"]
)
def test_stray_gif_bytes_are_stepped_over_as_pillow_does(stray: bytes) -> None:
    """Pillow's GIF parser skips any byte that is not ``!``, ``,`` or ``;``: so does the check,
    and every skipped byte counts as a block (Pillow spends a Python iteration on each)."""
    data = hostile.behind_stray_gif_byte(hostile.many_frames_gif(20), stray)

    assert getattr(pillow_decodes(data), "n_frames", 1) == 20
    assert code_of(data, budget.WorkLimits(max_frames=19)) == "too_many_frames"
    assert code_of(data, budget.WorkLimits(max_frames=20)) is None
    blocks = 2 * 20 + 1 + len(stray)  # control + image per frame, the loop extension, strays
    assert code_of(data, budget.WorkLimits(max_gif_blocks=blocks)) is None
    assert code_of(data, budget.WorkLimits(max_gif_blocks=blocks - 1)) == "too_many_blocks"


# -- the work bound, as properties over the segment/block/box grammar ----------------------

# Byte accesses a walk may make per byte of input (indexing and slicing of the data, counted
# by CountingBytes): the stated constant of the structure checks for JPEG and GIF.
READS_PER_BYTE = 4


class CountingBytes(bytes):
    """Bytes that count every index or slice taken of them (the walks' unit of work)."""

    reads = 0

    def __getitem__(self, key):  # type: ignore[override]
        type(self).reads += 1
        return super().__getitem__(key)


def reads_of(data: bytes, limits: budget.WorkLimits) -> tuple[int, str | None]:
    counted = type("Counted", (CountingBytes,), {"reads": 0})(data)
    code = code_of(counted, limits)
    return type(counted).reads, code


_JPEG_HEAD = factory.encode(Image.new("L", (8, 8), 90), "JPEG", quality=90)
_JPEG_HEAD = _JPEG_HEAD[: _JPEG_HEAD.find(b"\xff\xda")]  # SOI to the first SOS: tables, frame


@st.composite
def jpeg_segments(draw: st.DrawFn) -> tuple[bytes, int]:
    """A JPEG whose marker stream mixes well-formed and bogus-length (0, 1) APPn/COM segments,
    fill bytes before markers, stray bytes between segments and scans with stuffed and
    restart-marked entropy-coded data (all of which libjpeg and Pillow read through); with
    its number of scans."""
    parts = [_JPEG_HEAD]
    scans = 0
    kinds = st.sampled_from(["segment", "bogus", "stray", "scan"])
    for kind in draw(st.lists(kinds, max_size=40)):
        marker = b"\xff" * draw(st.integers(1, 4))  # fill bytes, then the marker byte
        marker += bytes([draw(st.sampled_from([0xE0, 0xE1, 0xE2, 0xEF, 0xFE]))])
        if kind == "segment":
            body = draw(st.binary(max_size=40))
            parts.append(marker + (len(body) + 2).to_bytes(2, "big") + body)
        elif kind == "bogus":
            parts.append(marker + bytes([0, draw(st.integers(0, 1))]))
        elif kind == "stray":
            parts.append(draw(st.binary(min_size=1, max_size=8)).replace(b"\xff", b"\x00"))
        else:
            scans += 1
            entropy = draw(st.binary(max_size=60)).replace(b"\xff", b"\xff\x00")
            restart = bytes([0xFF, 0xD0 + draw(st.integers(0, 7))])
            parts.append(b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + entropy + restart + entropy)
    return b"".join(parts) + b"\xff\xd9", scans


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=jpeg_segments())
def test_jpeg_scans_are_counted_exactly_with_bounded_work(generated: tuple[bytes, int]) -> None:
    data, scans = generated
    exact = budget.WorkLimits(max_jpeg_scans=scans, max_jpeg_segments=10_000)
    reads, code = reads_of(data, exact)
    assert code is None
    assert reads <= READS_PER_BYTE * len(data)
    if scans:
        fewer = budget.WorkLimits(max_jpeg_scans=scans - 1, max_jpeg_segments=10_000)
        assert code_of(data, fewer) == "too_many_scans"


_GIF_HEAD = b"GIF89a" + b"\x10\x00\x10\x00\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"


def _sub_blocks(draw: st.DrawFn) -> bytes:
    sizes = draw(st.lists(st.integers(1, 255), max_size=6))
    return b"".join(bytes([size]) + b"\x11" * size for size in sizes) + b"\x00"


@st.composite
def gif_blocks(draw: st.DrawFn) -> tuple[bytes, int]:
    """A GIF of extensions, images and stray bytes between them; with its number of frames."""
    parts = [_GIF_HEAD]
    frames = 0
    for kind in draw(st.lists(st.sampled_from(["extension", "image", "stray"]), max_size=40)):
        if kind == "extension":
            parts.append(b"\x21" + bytes([draw(st.sampled_from([0xF9, 0xFE, 0xFF]))]))
            parts.append(_sub_blocks(draw))
        elif kind == "image":
            frames += 1
            parts.append(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02" + _sub_blocks(draw))
        else:
            stray = draw(st.binary(min_size=1, max_size=16))
            parts.append(bytes(byte for byte in stray if byte not in b"!,;") or b"\x00")
    return b"".join(parts) + b"\x3b", frames


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=gif_blocks())
def test_gif_frames_are_counted_exactly_with_bounded_work(generated: tuple[bytes, int]) -> None:
    data, frames = generated
    loose = {"max_gif_blocks": 10**6, "max_gif_sub_blocks": 10**6}
    reads, code = reads_of(data, budget.WorkLimits(max_frames=frames, **loose))
    assert code is None
    assert reads <= READS_PER_BYTE * len(data)
    if frames:
        fewer = budget.WorkLimits(max_frames=frames - 1, **loose)
        assert code_of(data, fewer) == "too_many_frames"


def bmff_reads(data: bytes, limits: bmff.WalkLimits) -> tuple[bmff.BmffHeader, int]:
    """The header and the number of fields the walk read (``bmff._uint`` calls)."""
    calls = 0
    original = bmff._uint

    def counting(data: bytes, position: int, width: int) -> int:
        nonlocal calls
        calls += 1
        return original(data, position, width)

    bmff._uint = counting
    try:
        return bmff.read_header(data, limits), calls
    finally:
        bmff._uint = original


_FIELD_WIDTHS = st.sampled_from([0, 0, 0, 4, 8])


@st.composite
def iloc_boxes(draw: st.DrawFn) -> bytes:
    """An ``iloc`` with any field widths (zero-width ones often), declared item and extent
    counts up to the format's maximum, and as many bytes as it pleases (often far fewer)."""
    version = draw(st.integers(0, 2))
    offset_size, length_size, base_size, index_size = (draw(_FIELD_WIDTHS) for _ in range(4))
    count_width = 4 if version == 2 else 2
    count = draw(st.one_of(st.integers(0, 40), st.integers(0, 2 ** (8 * count_width) - 1)))
    head = bytes([offset_size << 4 | length_size, base_size << 4 | index_size])
    head += count.to_bytes(count_width, "big")
    entries = []
    for _ in range(min(count, 40)):
        extents = draw(st.one_of(st.integers(0, 40), st.just(0xFFFF)))
        entry = b"\x00" * (count_width - 1) + b"\x01"
        entry += b"\x00\x00" if version else b""
        entry += b"\x00\x00" + b"\x00" * base_size + extents.to_bytes(2, "big")
        per_extent = (index_size if version else 0) + offset_size + length_size
        entry += b"\x00" * (per_extent * min(extents, 40))
        entries.append(entry)
    body = head + b"".join(entries)
    body = body[: draw(st.integers(0, len(body)))] if draw(st.booleans()) else body
    return hostile.bmff_full_box(b"iloc", version, body)


@st.composite
def ipma_boxes(draw: st.DrawFn) -> bytes:
    version, flags = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    count = draw(st.one_of(st.integers(0, 40), st.integers(0, 2**32 - 1)))
    body = count.to_bytes(4, "big")
    for item in range(min(count, 40)):
        associations = draw(st.integers(0, 255))
        body += item.to_bytes(4 if version else 2, "big") + bytes([associations])
        body += draw(st.binary(max_size=8)) * min(associations, 20)
    return hostile.bmff_full_box(b"ipma", version, body, flags)


@st.composite
def junk_boxes(draw: st.DrawFn) -> bytes:
    """Boxes with sizes below their header, past their parent, 64-bit, to the end; raw bytes."""
    kind = draw(st.sampled_from([b"junk", b"iinf", b"pitm", b"stsz", b"ispe", b"colr", b"ipco"]))
    size = draw(st.sampled_from([0, 1, 4, 7, 8, 9, 16, 0xFFFFFFFF]))
    return size.to_bytes(4, "big") + kind + draw(st.binary(max_size=24))


BMFF_CHILD = st.one_of(iloc_boxes(), ipma_boxes(), junk_boxes())


@st.composite
def hostile_bmff(draw: st.DrawFn) -> bytes:
    children = draw(st.lists(BMFF_CHILD, max_size=6))
    ipco = hostile.bmff_box(b"ipco", b"".join(draw(st.lists(junk_boxes(), max_size=4))))
    inner = b"".join(children) + hostile.bmff_box(b"iprp", ipco)
    after = draw(st.lists(junk_boxes(), max_size=3))
    return hostile.avif_with_meta(inner, after=b"".join(after))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hostile_bmff(), max_items=st.sampled_from([1000, 100_000]))
def test_the_bmff_walk_is_bounded_by_the_bytes_it_reads(data: bytes, max_items: int) -> None:
    """Whatever the tables declare, the walk's loop iterations (``steps``) and field reads stay
    within a constant per byte, and declared counts over the limits are refused by code."""
    limits = bmff.WalkLimits(max_items=max_items)
    header, fields = bmff_reads(data, limits)

    assert header.steps <= bmff.STEPS_PER_BYTE * len(data)
    assert fields <= 3 * bmff.STEPS_PER_BYTE * len(data)
    if header.exceeded is not None:
        code, _what, limit, declared = header.exceeded
        assert code in contract.WORK_CODES
        assert declared > limit
    else:
        assert header.items <= max_items


@pytest.mark.parametrize(("items", "size"), [(1000, 6103), (2000, 12103)])
def test_the_zero_width_iloc_files_of_issue_20_are_refused_before_their_tables(
    items: int, size: int
) -> None:
    """Measured before the fix: the 6 KB file made the walk materialise 65,535,000 extents
    (17 s of CPU, 518 MB) and the walk ran twice; 12 KB went past 1 GB."""
    data = hostile.zero_width_iloc_avif(items)
    header, fields = bmff_reads(data, budget.bmff_walk_limits(LIMITS))

    assert len(data) == size
    assert header.exceeded is not None
    assert header.exceeded[0] == "too_many_items"
    assert header.steps < 20
    assert fields < 20
    assert code_of(data) == "too_many_items"


def test_the_most_extents_allowed_stay_within_the_stated_bound() -> None:
    """1000 items of 32 zero-byte extents each: the worst the limits let through."""
    data = hostile.avif_with_meta(hostile.zero_width_iloc(1000, extents=32))
    header, _fields = bmff_reads(data, budget.bmff_walk_limits(LIMITS))

    assert header.exceeded is None
    assert header.stopped is None
    assert header.steps == pytest.approx(1000 * 33, abs=50)
    assert header.steps <= bmff.STEPS_PER_BYTE * len(data)
    extents = hostile.avif_with_meta(hostile.zero_width_iloc(1, extents=33))
    assert code_of(extents) == "too_many_items"


# -- the decode deadline -------------------------------------------------------------------


def slow_jpeg() -> bytes:
    """A progressive JPEG whose decode takes libjpeg a while (1,000 scans over 3 MP)."""
    return hostile.many_scans_jpeg(1000, (2000, 1500))


def test_an_expired_deadline_stops_image_open() -> None:
    stream = budget.DeadlineStream(factory.jpeg(), deadline=time.monotonic() - 1)

    with pytest.raises(budget.DecodeWorkExceeded) as raised:
        Image.open(stream)
    assert raised.value.code == "decode_time_exceeded"


def test_the_stream_stops_a_slow_decode_in_its_first_read() -> None:
    data = slow_jpeg()
    stream = budget.DeadlineStream(data, deadline=math.inf)
    image = Image.open(stream)
    stream.deadline = time.monotonic() - 1  # expires between open and load

    with pytest.raises(budget.DecodeWorkExceeded) as raised:
        budget.load_within(image, math.inf)
    assert raised.value.code == "decode_time_exceeded"
    assert stream.tell() < len(data), "the decoder must not have been fed the whole file"


@pytest.mark.parametrize(
    "build",
    [
        slow_jpeg,
        lambda: factory.encode(noisy((600, 400)), "PNG"),
        lambda: factory.encode(noisy((600, 400), "L"), "GIF"),
    ],
    ids=["jpeg-progressive", "png", "gif"],
)
def test_the_deadline_stops_a_decode_midway(build: Callable[[], bytes]) -> None:
    """With a clock that ticks on each read, the deadline passes during image.load(): the
    decoder is fed in small blocks, so Python regains control and the load stops early."""
    data = build()
    clock = TickingClock()
    stream = budget.DeadlineStream(data, math.inf, clock)
    image = Image.open(stream)
    assert len(data) - stream.tell() > 5 * budget.DEFAULT_READ_BLOCK
    stream.deadline = clock.now + 4  # four more clock readings: the check before, three reads

    with pytest.raises(budget.DecodeWorkExceeded) as raised:
        budget.load_within(image, math.inf, clock=clock)
    assert raised.value.code == "decode_time_exceeded"
    assert stream.tell() < len(data)


@pytest.mark.parametrize(
    "build",
    [
        lambda: factory.encode(noisy((600, 400)), "JPEG", quality=95, progressive=True),
        lambda: factory.encode(noisy((600, 400)), "PNG"),
        lambda: factory.encode(noisy((600, 400), "L"), "GIF"),
    ],
    ids=["jpeg-progressive", "png", "gif"],
)
def test_decoders_are_fed_in_small_blocks(build: Callable[[], bytes]) -> None:
    data = build()
    stream = budget.DeadlineStream(data, math.inf)
    image = Image.open(stream)
    reads_before, position = stream.reads, stream.tell()

    budget.load_within(image, math.inf)
    assert stream.reads - reads_before >= (len(data) - position) // budget.DEFAULT_READ_BLOCK


@pytest.mark.parametrize(
    ("build", "block"),
    [
        (slow_jpeg, budget.DEFAULT_READ_BLOCK),
        (lambda: factory.encode(noisy((600, 400)), "PNG"), 16 * 1024),
        (lambda: factory.encode(noisy((600, 400), "L"), "GIF"), 16 * 1024),
    ],
    ids=["jpeg-progressive", "png", "gif"],
)
def test_the_core_feeds_each_decoder_its_block(build: Callable[[], bytes], block: int) -> None:
    """imaging.load_pixels: JPEG in 1 KiB blocks (a progressive scan is slow), zlib and LZW in
    16 KiB (fewer Python round trips, each call's work still bounded), with the same pixels."""
    from processor import imaging

    data = build()
    stream = budget.DeadlineStream(data, math.inf)
    image = Image.open(stream)
    reads_before, position = stream.reads, stream.tell()
    imaging.load_pixels(image, math.inf)
    reads, pixel_bytes = stream.reads - reads_before, len(data) - position
    assert reads >= pixel_bytes // block  # never more than a block per call
    if block > budget.DEFAULT_READ_BLOCK:  # PNG's chunk headers add reads, not 1 KiB ones
        assert reads * 4 * budget.DEFAULT_READ_BLOCK < pixel_bytes
    expected = Image.open(io.BytesIO(data))
    assert image.tobytes() == expected.tobytes()


def test_the_deadline_still_stops_a_png_the_core_decodes_in_larger_blocks() -> None:
    from processor import imaging

    data = factory.encode(noisy((600, 400)), "PNG")
    clock = TickingClock()
    stream = budget.DeadlineStream(data, math.inf, clock)
    image = Image.open(stream)
    assert len(data) - stream.tell() > 5 * imaging.read_block_for("PNG")
    stream.deadline = clock.now + 3

    with pytest.raises(budget.DecodeWorkExceeded) as raised:
        imaging.load_pixels(image, math.inf)
    assert raised.value.code == "decode_time_exceeded"
    assert stream.tell() < len(data)


def test_one_call_decoders_copy_their_pixels_in_large_blocks() -> None:
    """WebP (and AVIF, HEIF) decode in one call, then Pillow copies the pixels through its raw
    decoder ``decodermaxblock`` bytes at a time: 1 KiB blocks there only cost round trips."""
    from processor import imaging

    image = Image.open(budget.DeadlineStream(factory.webp(), math.inf))
    imaging.load_pixels(image, math.inf)
    assert image.decodermaxblock == imaging.read_block_for("WEBP") >= 1024 * 1024


def test_webp_is_checked_when_its_one_call_decode_returns() -> None:
    """libwebp decodes in one call with no read: the check after load() refuses a late one."""
    clock = TickingClock()
    image = Image.open(budget.DeadlineStream(factory.webp(), math.inf, clock))
    deadline = clock.now + 1.5  # the check before load passes, the one after does not

    with pytest.raises(budget.DecodeWorkExceeded) as raised:
        budget.load_within(image, deadline, clock=clock)
    assert raised.value.code == "decode_time_exceeded"


@pytest.mark.parametrize(
    "name", ["jpeg-progressive", "png-interlaced", "gif-animated", "webp-animated"]
)
def test_a_distant_deadline_changes_nothing(name: str) -> None:
    data = normal(name)
    expected = Image.open(io.BytesIO(data))
    expected.load()

    image = Image.open(budget.DeadlineStream(data, time.monotonic() + 600))
    budget.load_within(image, time.monotonic() + 600)
    assert image.tobytes() == expected.tobytes()


def test_decode_budget_is_half_the_remaining_time_minus_the_margin() -> None:
    assert budget.decode_budget_seconds(58_000) == pytest.approx(26.0)
    assert budget.decode_budget_seconds(10_000, share=0.4, margin_ms=1000) == pytest.approx(3.0)
    assert budget.decode_budget_seconds(4_000) == 0.0


def test_decode_deadline_is_on_the_given_clock() -> None:
    assert budget.decode_deadline(58_000, clock=lambda: 100.0) == pytest.approx(126.0)
