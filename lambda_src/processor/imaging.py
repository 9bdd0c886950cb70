"""Pure image core of the processor: bytes in, encoded variants out. No AWS here.

Public API (stable, used by the handler and by benchmarks)::

    process_image(data: bytes, variants: Sequence[VariantSpec], limits: Limits,
                  *, decode_deadline: float = math.inf, workers: int = 1) -> ProcessedImage

* ``VariantSpec(name, max_edge, format, quality=85, webp_method=4, avif_speed=9)``:
  ``format`` is ``"jpeg"``, ``"webp"``, ``"png"`` or ``"avif"``; the output fits in
  ``max_edge`` x ``max_edge`` and is never upscaled. Specs sharing a ``name`` (one size in
  several formats) share one resize.
* ``Limits(max_pixels=40_000_000, allowed_formats=("JPEG", "PNG", "WEBP", "GIF"),
  max_bytes=None)``: ``allowed_formats`` are Pillow format names.
* ``ProcessedImage.source`` is a ``SourceInfo(format, width, height)`` (upright size, after
  EXIF orientation); ``ProcessedImage.variants`` is a tuple of ``EncodedVariant(name,
  format, content_type, extension, width, height, data)`` in the order of ``variants``;
  ``timings_ms`` has ``decode``, ``resize``, ``encode``, ``placeholder`` (``animate`` for an
  animated source) and ``variants``, the wall time of everything after the decode (see
  "Concurrency"); ``notes`` lists recoverable oddities (for example ``icc_profile_invalid``)
  for the caller to log.
* A file that is not an acceptable image raises ``ImageRejected(code, message)`` with
  ``code`` in :data:`REJECTION_CODES`. Any other exception is a bug or an environment
  problem, never a property of the input.

Pipeline, tuned for speed without visible quality loss:

1. Sniff the format from the bytes (``Image.open(..., formats=allowed)``; HEIC/HEIF and AVIF
   by their ``ftyp`` brand, :mod:`processor.bmff`); check the declared pixel count before any
   pixel is decoded (decompression bombs are errors; for HEIF/AVIF every ``ispe``).
2. JPEG only: ``Image.draft`` lets libjpeg decode at 1/2, 1/4 or 1/8 scale, the smallest
   that keeps every variant at least :data:`DRAFT_OVERSAMPLING` times its target (per output
   format: 1.25 for JPEG, 1.5 for WebP and PNG). Measured on detailed 3-24 MP photos: the
   encoded variants stay within 0.13 dB (JPEG q85) and 0.21 dB (WebP q80) PSNR of encoding an
   exact full-resolution LANCZOS resize at the same quality, while a 24 MP photo decodes at
   1/4 for JPEG outputs. (WebP's encoder turns the slight softness of a shorter last step into
   fewer bytes and, at equal quality, lower PSNR: 1.25x cost it 0.2-0.44 dB.)
3. EXIF orientation is applied to the (small) drafted image, exactly once: libheif has
   already applied a HEIF's ``irot``/``imir`` (its EXIF orientation is then ignored), Pillow
   reports an AVIF's as EXIF orientation. An orientation recorded only in XMP
   (``tiff:Orientation``, attribute or element) counts when EXIF has none, as
   ``ImageOps.exif_transpose`` reads it (Pillow's ``getexif`` merges it; pi-heif removes it
   from a HEIF's XMP, whose ``irot`` is applied). Colour modes are normalised.
4. The largest variant is resized with LANCZOS after an integer ``reduce()`` whose
   ``reducing_gap`` depends on the output format (:data:`REDUCING_GAP`); its colours are then
   converted from the embedded ICC profile to sRGB. Each smaller variant is resized from the
   previous, larger result.
5. Outputs are encoded without any metadata (EXIF, GPS, XMP, comments, ICC). Alpha is kept
   for PNG, WebP and AVIF and flattened onto white for JPEG.
6. ``ProcessedImage.placeholder`` (:mod:`processor.placeholder`): ThumbHash, dominant colour
   and aspect ratio, from the smallest variant's pixels.
7. Animations (issue 24, :mod:`processor.animation`, two marked hooks): an animated GIF, APNG,
   WebP or AVIF is bounded from its header before any pixel is decoded, and every variant whose
   format animates (``VariantSpec.animate`` and the rule set's ``animates``) is then streamed
   frame by frame; still variants and the placeholder keep the first frame from steps 1-6.
   ``ProcessedImage.animation`` is an ``AnimationInfo`` (frames, duration, plays) or ``None``.

Concurrency (issue 26): with ``workers`` > 1 (the handler passes :mod:`processor.cpus`' count),
steps 4-7 run as tasks on that many threads (Pillow releases the GIL in resize and encode):
the resize chain, each size's encodes as soon as that size is resized, each animated variant's
decode pass, the placeholder. Outputs, notes and the error raised are those of the sequential
path, byte for byte (tests/unit/test_imaging_concurrency.py). Steps 1-3 stay serial; libheif
(pi-heif ``DECODE_THREADS``, 4) and dav1d (Pillow's AVIF decoder, one thread per CPU) decode
with threads of their own. The AVIF encoder keeps one thread: two threads gave the same bytes
and encoded the 1024 px AVIF 1.59x faster on an otherwise idle 2 vCPUs, but the pool's other
worker is busy with the other sizes then, and the default memory size has one vCPU
(docs/benchmarks.md, "Every vCPU"). ``timings_ms``' stage times are then sums of overlapping
task durations; ``variants`` is the phase's wall time.
"""

from __future__ import annotations

import io
import math
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial

from PIL import Image, ImageCms, ImageMath, UnidentifiedImageError

from common import contract
from processor import animation, bmff
from processor.decode_budget import (
    DEFAULT_READ_BLOCK,
    DeadlineStream,
    DecodeWorkExceeded,
    WorkLimits,
    inspect,
    load_within,
    sniff_format,
)
from processor.placeholder import Placeholder, make_placeholder
from processor.rejection import ImageRejected
from processor.tasks import TaskGroup

OUTPUT_FORMATS: dict[str, tuple[str, str, str]] = {
    # variant format -> (Pillow format, Content-Type, file extension)
    name: (spec["pillow"], spec["content_type"], spec["extension"])
    for name, spec in contract.OUTPUT_FORMATS.items()
}
REJECTION_CODES = contract.REJECTION_CODES

DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_ALLOWED_FORMATS = tuple(dict.fromkeys(contract.CONTENT_TYPE_FORMATS.values()))

# Per output format. Decode JPEGs at the smallest DCT scale that keeps at least this many
# source pixels per output pixel for every variant (the largest requirement wins).
DRAFT_OVERSAMPLING: dict[str, float] = {"jpeg": 1.25, "webp": 1.5, "png": 1.5, "avif": 1.5}
# Integer-reduce (box filter) first while the remaining step still shrinks by this factor.
# JPEG q85 hides the box step's slight aliasing (<= 0.1 dB); after WebP q80 the same step
# costs 0.2-0.4 dB, and PNG keeps every difference.
REDUCING_GAP: dict[str, float] = {"jpeg": 1.45, "webp": 3.0, "png": 3.0, "avif": 3.0}
# AVIF encoder (libaom through Pillow) speed, 0 (slowest, smallest) to 10: chosen by measurement
# (bench/avif_tuning.py, docs/formats.md). One thread: Lambda's vCPU share, deterministic bytes.
AVIF_SPEED = 9
AVIF_MAX_SPEED = 10  # libaom's fastest; rules.json's AVIF effort is AVIF_MAX_SPEED - speed
# Formats decoded by a library that already applies the container's irot/imir (libheif): their
# EXIF orientation is informational and must not be applied a second time.
_TRANSFORMED_BY_DECODER = frozenset({"HEIF"})

_EXIF_ORIENTATION_TAG = 0x0112
_TRANSPOSE_FOR_ORIENTATION: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = frozenset({5, 6, 7, 8})
_WHITE = {"RGB": (255, 255, 255), "L": 255}
_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_PROFILE_SPACE_FOR_MODE = {"RGB": "RGB", "RGBA": "RGB", "L": "GRAY", "LA": "GRAY", "CMYK": "CMYK"}


@dataclass(frozen=True)
class VariantSpec:
    name: str
    max_edge: int
    format: str
    quality: int = 85
    webp_method: int = 4
    avif_speed: int = AVIF_SPEED
    animate: bool = True  # for an animated source, when the format animates (animation.py)

    @property
    def content_type(self) -> str:
        return OUTPUT_FORMATS[self.format][1]

    @property
    def extension(self) -> str:
        return OUTPUT_FORMATS[self.format][2]


@dataclass(frozen=True)
class Limits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    allowed_formats: tuple[str, ...] = DEFAULT_ALLOWED_FORMATS
    max_bytes: int | None = None
    work: WorkLimits = field(default_factory=WorkLimits)
    animation: animation.AnimationLimits = field(
        default_factory=lambda: animation.AnimationLimits()  # lazy: the modules import each other
    )


@dataclass(frozen=True)
class SourceInfo:
    format: str
    width: int
    height: int


@dataclass(frozen=True)
class EncodedVariant:
    name: str
    format: str
    content_type: str
    extension: str
    width: int
    height: int
    data: bytes = field(repr=False)
    frames: int = 1  # > 1: an animated variant (animation.py)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def animated(self) -> bool:
        return self.frames > 1


@dataclass(frozen=True)
class ProcessedImage:
    source: SourceInfo
    variants: tuple[EncodedVariant, ...]
    timings_ms: dict[str, float]
    notes: tuple[str, ...] = ()
    placeholder: Placeholder | None = None
    animation: animation.AnimationInfo | None = None  # an animated source with animated variants


def process_image(
    data: bytes,
    variants: Sequence[VariantSpec],
    limits: Limits,
    *,
    decode_deadline: float = math.inf,
    workers: int = 1,
) -> ProcessedImage:
    """Decode ``data`` once and return every variant encoded. See the module docstring.

    ``decode_deadline`` (a ``time.monotonic()`` value) bounds the decode's time: past it the
    image is rejected with ``decode_time_exceeded`` (``decode_budget.decode_deadline``).
    ``workers`` is how many CPUs the caller may use (:mod:`processor.cpus`): 1 is the plain
    sequential path; more resize and encode the variants concurrently, byte for byte the same
    outputs, notes and rejections (:func:`make_variants_concurrently`).
    """
    timings: dict[str, float] = {}
    notes: list[str] = []
    check_byte_size(data, limits)
    with _timed(timings, "decode"):
        decoded, source_format, orientation, stored_size = decode(
            data, variants, limits, decode_deadline
        )
        icc_profile = decoded.info.get("icc_profile")
        upright = normalise_mode(apply_orientation(decoded, orientation))
        upright.info = {}  # never carry EXIF, XMP, comments or ICC into an output
    # Sizes come from the image as stored, not from a DCT-scaled decode, so a variant's size
    # never depends on how the JPEG happened to be decoded.
    source = SourceInfo(source_format, *oriented_size(stored_size, orientation))
    # -- issue 24 hook: an animated source's animating variants are streamed (animation.py);
    # the still variants and the placeholder keep its first frame.
    moving = animation.is_animated(decoded) and any(map(animation.animates, variants))
    job = VariantJob(
        upright,
        (source.width, source.height),
        tuple(variants),
        icc_profile,
        animation.AnimationJob(
            data,
            decoded.format or "",
            limits.animation,
            animation.FramePrep(orientation, icc_profile),
            decode_deadline,
        )
        if moving
        else None,
    )
    with _timed(timings, "variants"):
        if workers <= 1:
            made = make_variants(job, timings, notes)
        else:
            made = make_variants_concurrently(job, workers, timings, notes)
    return ProcessedImage(
        source,
        tuple(made.encoded[spec.name, spec.format] for spec in variants),
        timings,
        tuple(notes),
        made.placeholder,
        made.animation,
    )


@dataclass(frozen=True)
class VariantJob:
    """Everything after the decode: the upright first frame and what the variants need."""

    image: Image.Image  # upright, normalised mode, no info; possibly a DCT-scaled decode
    source_size: tuple[int, int]  # upright size as stored: target sizes come from it
    variants: tuple[VariantSpec, ...]
    icc_profile: bytes | None
    animated: animation.AnimationJob | None = None  # an animated source (issue 24 hook)

    def streams(self, spec: VariantSpec) -> bool:
        """True when ``spec`` is streamed from the animation instead of the first frame."""
        return self.animated is not None and animation.animates(spec)

    @property
    def placeholder_size(self) -> str | None:
        """The size the placeholder is made from (the smallest), if any."""
        return min(self.variants, key=lambda spec: spec.max_edge).name if self.variants else None


@dataclass(frozen=True)
class MadeVariants:
    encoded: dict[tuple[str, str], EncodedVariant]  # by (size, format)
    placeholder: Placeholder | None
    animation: animation.AnimationInfo | None


def make_variants(job: VariantJob, timings: dict[str, float], notes: list[str]) -> MadeVariants:
    """The sequential path: resize every size, encode the stills, stream the animated, then the
    placeholder. ``timings`` gets ``resize``, ``encode``, ``animate`` and ``placeholder``."""
    with _timed(timings, "resize"):
        resized = resize_all(job.image, job.source_size, job.variants, job.icc_profile, notes)
    with _timed(timings, "encode"):
        encoded = {
            (spec.name, spec.format): encode(resized[spec.name], spec)
            for spec in job.variants
            if not job.streams(spec)
        }
    info = None
    if job.animated is not None:
        with _timed(timings, "animate"):
            streamed, info = animation.encode_animated(job.animated, job.variants, notes)
        encoded.update(streamed)
    with _timed(timings, "placeholder"):
        smallest = job.placeholder_size
        placeholder = (
            None if smallest is None else make_placeholder(resized[smallest], job.source_size)
        )
    return MadeVariants(encoded, placeholder, info)


def make_variants_concurrently(
    job: VariantJob, workers: int, timings: dict[str, float], notes: list[str]
) -> MadeVariants:
    """The same work as :func:`make_variants` as tasks on ``workers`` threads.

    Tasks: the resize chain (one task: each size is resized from the one before, so the steps
    cannot overlap), which submits a size's encodes, and the placeholder, as soon as that size is
    resized; one task per animated variant (each its own decode pass). Each encode saves its own
    copy of the shared pixels (``Image.save`` keeps its options on the image object). Results,
    notes and the first error are taken in the sequential path's order
    (:class:`processor.tasks.TaskGroup`), so outputs are byte-identical. ``timings`` gets the
    same stages, each the sum of its tasks' durations (they overlap: the wall time of the whole
    phase is the caller's ``variants``).
    """
    order = resize_order(job.variants)
    last_step = {spec.name: position for position, spec in enumerate(order)}
    index_of = {(spec.name, spec.format): index for index, spec in enumerate(job.variants)}
    encoded: dict[tuple[str, str], EncodedVariant] = {}
    made: dict[str, Placeholder] = {}
    chain_notes: list[str] = []
    stream_notes: dict[int, list[str]] = {}
    infos: dict[int, animation.AnimationInfo] = {}

    def encode_task(image: Image.Image, spec: VariantSpec) -> None:
        encoded[spec.name, spec.format] = encode(image.copy(), spec)

    def placeholder_task(image: Image.Image) -> None:
        made["placeholder"] = make_placeholder(image, job.source_size)

    def stream_task(index: int, spec: VariantSpec) -> None:
        assert job.animated is not None
        stream_notes[index] = []
        variant, infos[index] = animation.encode_variant(job.animated, spec, stream_notes[index])
        encoded[spec.name, spec.format] = variant

    def chain(group: TaskGroup) -> None:
        current = job.image
        for position, step in enumerate(order):
            current = resize_step(
                current, position, step, job.source_size, job.icc_profile, chain_notes
            )
            if last_step[step.name] != position:
                continue
            for spec in job.variants:
                if spec.name == step.name and not job.streams(spec):
                    index = index_of[spec.name, spec.format]
                    group.submit((1, index), "encode", partial(encode_task, current, spec))
            if step.name == job.placeholder_size:
                group.submit((3,), "placeholder", partial(placeholder_task, current))

    with TaskGroup(workers) as group:
        group.submit((0,), "resize", partial(chain, group))
        for index, spec in enumerate(job.variants):
            if job.streams(spec):
                group.submit((2, index), "animate", partial(stream_task, index, spec))
    timings.update({stage: round(ms, 3) for stage, ms in group.stage_ms.items()})
    notes.extend(chain_notes)
    for index in sorted(stream_notes):
        notes.extend(stream_notes[index])
    info = infos[max(infos)] if infos else None  # the sequential path keeps the last pass's
    return MadeVariants(encoded, made.get("placeholder"), info)


def resize_order(variants: Sequence[VariantSpec]) -> list[VariantSpec]:
    """Largest first. Of one size's formats, the one needing the gentlest resize goes first and
    the others share its result: the pixels never depend on the order formats are listed in."""
    return sorted(
        variants, key=lambda spec: (spec.max_edge, REDUCING_GAP[spec.format]), reverse=True
    )


def resize_all(
    image: Image.Image,
    source_size: tuple[int, int],
    variants: Sequence[VariantSpec],
    icc_profile: bytes | None,
    notes: list[str],
) -> dict[str, Image.Image]:
    """Resize largest-first, each variant from the previous result; sRGB after the first.

    ``image`` may be a DCT-scaled decode; target sizes are computed from ``source_size``.
    """
    resized: dict[str, Image.Image] = {}
    current = image
    for position, spec in enumerate(resize_order(variants)):
        current = resize_step(current, position, spec, source_size, icc_profile, notes)
        resized[spec.name] = current
    return resized


def resize_step(
    image: Image.Image,
    position: int,
    spec: VariantSpec,
    source_size: tuple[int, int],
    icc_profile: bytes | None,
    notes: list[str],
) -> Image.Image:
    """Step ``position`` of the resize chain: towards ``spec``, then (first step) to sRGB."""
    resized = resize_to(image, target_size(*source_size, spec.max_edge), spec.format)
    return to_srgb(resized, icc_profile, notes) if position == 0 else resized


def resize_to(image: Image.Image, size: tuple[int, int], output_format: str) -> Image.Image:
    """One LANCZOS step towards a variant of ``output_format``, with its reducing gap."""
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP[output_format])


def check_byte_size(data: bytes, limits: Limits) -> None:
    rejection = rejection_for_size(len(data), limits.max_bytes)
    if rejection is not None:
        raise rejection


def rejection_for_size(size: int, max_bytes: int | None) -> ImageRejected | None:
    """The rejection for a file of ``size`` bytes, or ``None``; usable before reading it."""
    if size <= 0:
        return ImageRejected("empty_file", "The uploaded file is empty.")
    if max_bytes is not None and size > max_bytes:
        return ImageRejected(
            "too_large", f"The file is {size} bytes; the limit is {max_bytes} bytes."
        )
    return None


def target_size(width: int, height: int, max_edge: int) -> tuple[int, int]:
    """Fit ``width`` x ``height`` into a ``max_edge`` square, keeping aspect, never upscaling."""
    if max(width, height) <= max_edge:
        return width, height
    scale = max_edge / max(width, height)
    if width >= height:
        return max_edge, max(1, math.floor(height * scale + 0.5))
    return max(1, math.floor(width * scale + 0.5)), max_edge


def decode(
    data: bytes, variants: Sequence[VariantSpec], limits: Limits, deadline: float = math.inf
) -> tuple[Image.Image, str, int, tuple[int, int]]:
    """Check the structure's work bound, then open, check and load the first frame.

    Returns (image, format, EXIF orientation, size as stored before any DCT scaling).
    """
    check_allowed(sniff_format(data), limits)  # before any structure is walked
    header = inspect(data, limits.work)  # scans, chunks, frames, ICC size: no pixel decoded yet
    container_format = None if header is None else check_container(header, len(data), limits)
    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = open_image(data, limits, deadline, container_format)
            check_pixel_count(image.size, limits)
            # issue 24 hook: an animation's declared frames, area and work, before any pixel
            animation.check_declared(image, data, variants, limits.animation, limits.max_pixels)
            stored_size = image.size
            is_jpeg = image.format in ("JPEG", "MPO")
            if is_jpeg:  # EXIF is in the header: draft before decoding any pixel
                orientation = read_orientation(image)
                draft_for_largest_variant(image, variants, orientation)
            load_pixels(image, deadline)
            if image.format in _TRANSFORMED_BY_DECODER:  # irot/imir applied by libheif
                orientation = 1
            elif not is_jpeg:  # PNG may keep EXIF after the pixels: read it once loaded
                orientation = read_orientation(image)
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit
    source_format = "JPEG" if image.format == "MPO" else (image.format or "UNKNOWN")
    return image, source_format, orientation, stored_size


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size after applying EXIF ``orientation`` (5 to 8 swap width and height)."""
    width, height = size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def check_allowed(declared: str | None, limits: Limits) -> None:
    """Refuse a format the leading bytes announce and the deployment does not allow.

    Runs before any structure walk, so a deployment that allows only JPEG never parses an
    ISOBMFF header. ``declared`` is :func:`decode_budget.sniff_format`'s answer; ``None``
    (unknown bytes) is left to Pillow, which only tries the allowed formats.
    """
    allowed = set(limits.allowed_formats)
    if declared == "VIDEO":
        raise ImageRejected(
            "unsupported_format", "Video files are not accepted; upload a still image."
        )
    if declared == "BMFF":  # a HEIF-like container whose brands this service does not know
        if allowed & {"HEIF", "AVIF"}:
            return
    elif declared is None or declared in allowed:
        return
    raise ImageRejected(
        "unsupported_format",
        f"{declared} images are not accepted; allowed formats: "
        f"{', '.join(limits.allowed_formats)}.",
    )


def check_container(header: bmff.BmffHeader, size: int, limits: Limits) -> str | None:
    """Judge a HEIF/AVIF container from its header (walked once by ``inspect``), before any
    decoder sees it.

    Returns the Pillow format its ``ftyp`` brands name (``AVIF`` or ``HEIF``), or ``None`` for
    brands this service does not know (Pillow then classifies the file). Refuses files cut
    short and any item claiming more than ``max_pixels`` (every ``ispe``: the primary image, a
    grid, its tiles, thumbnails, auxiliary images), however far the walk got; then a walk that
    stopped inside a box (a structure libheif would not parse either). Videos and formats not
    allowed were refused before the walk (:func:`check_allowed`).
    """
    kind = header.kind
    if header.truncated:
        raise ImageRejected(
            "truncated_image",
            "The image file is incomplete.",
            f"a box or item of the {kind} file extends past its {size} bytes",
        )
    for width, height in header.image_sizes:
        check_pixel_count((width, height), limits)
    if header.stopped is not None and header.stopped_depth:
        raise ImageRejected(
            "corrupt_image", "The image structure could not be read.", header.stopped
        )
    if kind not in ("HEIF", "AVIF"):
        return None
    if kind == "HEIF" and header.primary_item is None and header.has_tracks:
        raise ImageRejected(
            "unsupported_format",
            "HEIF image sequences without a still image are not supported.",
            "tracks but no primary item (pitm)",
        )
    if header.primary_item is None and not header.has_tracks:
        raise ImageRejected(
            "corrupt_image", f"The {kind} file holds no image.", "no primary item (pitm)"
        )
    return kind


@cache
def register_heif_opener() -> None:
    """HEIC/HEIF through libheif (pi-heif: decode only, LGPL; docs/formats.md). Only the
    primary image is read: thumbnails, depth and auxiliary images are never decoded.

    Imported on the first ISOBMFF input, not with this module: loading libheif is a large
    part of a cold start that no JPEG, PNG, GIF, WebP or AVIF needs (docs/benchmarks.md).
    """
    import pi_heif

    pi_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def formats_to_try(data: bytes, formats: Sequence[str]) -> list[str]:
    """The Pillow formats ``Image.open`` tries: HEIF's opener is registered for an ISOBMFF
    file, and HEIF left out for any other bytes (which it would never accept)."""
    if "HEIF" not in formats:
        return list(formats)
    if bmff.is_bmff(data):
        register_heif_opener()
        return list(formats)
    return [name for name in formats if name != "HEIF"]


def open_image(
    data: bytes, limits: Limits, deadline: float = math.inf, container_format: str | None = None
) -> Image.ImageFile.ImageFile:
    formats = [container_format] if container_format else list(limits.allowed_formats)
    formats = formats_to_try(data, formats)
    try:
        return Image.open(DeadlineStream(data, deadline), formats=formats)
    except DecodeWorkExceeded:  # already a rejection with its code: not "corrupt_image"
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(str(error)) from error
    except UnidentifiedImageError as error:
        raise classify_unidentified(data, limits) from error
    except Exception as error:  # any parser failure on untrusted bytes
        raise ImageRejected(
            "corrupt_image", "The image header could not be read.", repr(error)
        ) from error


def classify_unidentified(data: bytes, limits: Limits) -> ImageRejected:
    """Tell a damaged allowed image from another image format or from a non-image."""
    Image.init()
    prefix = data[:16]
    allowed = set(limits.allowed_formats)
    if "JPEG" in allowed:
        allowed.add("MPO")  # Pillow opens multi-picture JPEGs through the JPEG plugin
    for format_name in Image.ID:
        accept = Image.OPEN[format_name][1]
        if accept is None or not _accepts(accept, prefix):
            continue
        if format_name in allowed:
            return ImageRejected("corrupt_image", f"The {format_name} image is damaged.")
    for format_name in Image.ID:
        accept = Image.OPEN[format_name][1]
        if format_name not in allowed and accept is not None and _accepts(accept, prefix):
            return ImageRejected(
                "unsupported_format",
                f"{format_name} images are not accepted; "
                f"allowed formats: {', '.join(limits.allowed_formats)}.",
            )
    return ImageRejected("not_an_image", "The file is not a recognised image.")


def _accepts(accept: object, prefix: bytes) -> bool:
    try:
        return bool(accept(prefix))  # type: ignore[operator]
    except Exception:
        return False


def check_pixel_count(size: tuple[int, int], limits: Limits) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageRejected(
            "corrupt_image", f"The image declares an invalid size {width}x{height}."
        )
    if width * height > limits.max_pixels:
        raise _too_many_pixels(f"{width}x{height} is {width * height} pixels")


def _too_many_pixels(detail: str) -> ImageRejected:
    return ImageRejected(
        "too_many_pixels", "The image has too many pixels to be processed safely.", detail
    )


def read_orientation(image: Image.Image) -> int:
    """EXIF orientation, else XMP ``tiff:Orientation`` (Pillow's ``getexif`` adds it)."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not reject an otherwise fine image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def draft_for_largest_variant(
    image: Image.Image, variants: Sequence[VariantSpec], orientation: int
) -> None:
    """Let libjpeg decode at the smallest DCT scale that keeps enough pixels (JPEG only)."""
    if not variants:
        return
    width, height = image.size
    if orientation in _SWAPS_AXES:
        width, height = height, width
    needed_width = needed_height = 1
    for spec in variants:
        target_width, target_height = target_size(width, height, spec.max_edge)
        oversampling = DRAFT_OVERSAMPLING[spec.format]
        needed_width = max(needed_width, math.ceil(target_width * oversampling))
        needed_height = max(needed_height, math.ceil(target_height * oversampling))
    if orientation in _SWAPS_AXES:
        needed_width, needed_height = needed_height, needed_width
    image.draft(image.mode, (needed_width, needed_height))


# Bytes fed to the decoder per call while the decode deadline is enforced, by format. A block
# bounds the work one call can do before Python checks the deadline again: JPEG keeps
# decode_budget's 1 KiB (a progressive scan can cost libjpeg 35-75 ms per block); zlib (PNG) and
# LZW (GIF) expand a 16 KiB block into at most a few tens of MB, so a late call overshoots by
# milliseconds; WebP, AVIF and HEIF decode in one call before any block and then copy the
# decoded pixels through Pillow's raw decoder, where blocks only cost Python round trips.
# Measured against 1 KiB (docs/benchmarks.md): PNG and GIF decode 8-9 % faster, WebP 10-11 %.
READ_BLOCK: dict[str, int] = {"PNG": 16 * 1024, "GIF": 16 * 1024}
ONE_CALL_DECODERS = frozenset({"WEBP", "AVIF", "HEIF"})
ONE_CALL_READ_BLOCK = 1024 * 1024


def read_block_for(image_format: str | None) -> int:
    """The block :func:`load_pixels` feeds the decoder of ``image_format`` (see READ_BLOCK)."""
    if image_format in ONE_CALL_DECODERS:
        return ONE_CALL_READ_BLOCK
    return READ_BLOCK.get(image_format or "", DEFAULT_READ_BLOCK)


def load_pixels(image: Image.Image, deadline: float = math.inf) -> None:
    with decoder_errors():
        load_within(image, deadline, read_block=read_block_for(image.format))


@contextmanager
def decoder_errors(
    corrupt: str = "The image data could not be decoded.",
    truncated: str = "The image file is incomplete.",
    context: str = "",
) -> Iterator[None]:
    """The one mapping of a decoder's failure on untrusted bytes to a rejection.

    Used wherever Pillow or a plugin reads pixels or walks frames (:func:`load_pixels`,
    :func:`processor.animation.frame_count` for the declared frames, the animation's frame
    stream): a rejection raised inside (a work limit, the deadline) passes unchanged; a
    decompression bomb is ``too_many_pixels``; an ``EOFError`` or an error saying "truncated"
    is ``truncated_image`` with the ``truncated`` message; anything else a decoder raises
    (``OSError``, ``SyntaxError``, ``IndexError``, ``struct.error``, ...) is ``corrupt_image``
    with the ``corrupt`` message. ``context`` prefixes the detail (which frame, for example).
    """
    try:
        yield
    except ImageRejected:  # already a rejection with its code: not "corrupt_image"
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(str(error)) from error
    except Exception as error:  # decoder failures on untrusted bytes
        if isinstance(error, EOFError) or "truncated" in str(error).lower():
            raise ImageRejected("truncated_image", truncated, f"{context}{error!r}") from error
        raise ImageRejected("corrupt_image", corrupt, f"{context}{error!r}") from error


def apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return image if method is None else image.transpose(method)


def normalise_mode(image: Image.Image) -> Image.Image:
    """Return an image in L, LA, RGB, RGBA or CMYK (CMYK is converted later, with its ICC)."""
    mode = image.mode
    if mode in ("L", "RGB") and image.info.get("transparency") is not None:
        return image.convert("LA" if mode == "L" else "RGBA")
    if mode in _PROFILE_SPACE_FOR_MODE:
        return image
    if mode in ("P", "PA"):
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I"):
        grey = _sixteen_bit_to_l(image)
        transparent = image.info.get("transparency")
        if isinstance(transparent, int):  # PNG tRNS: one 16-bit grey value is transparent
            grey.putalpha(_alpha_where_not(image, transparent))
        return grey
    if mode == "F":
        return _float_to_l(image)
    if mode == "La":
        return image.convert("LA")
    try:  # RGBa, RGBX, YCbCr, ...
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    except ValueError as error:
        raise ImageRejected(
            "unsupported_format", f"Images in colour mode {mode} are not supported."
        ) from error


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    as_int = image.convert("I")
    _, highest = as_int.getextrema()
    if isinstance(highest, (int, float)) and highest <= 255 and image.mode == "I":
        return as_int.convert("L")
    return as_int.point(lambda value: value * (1 / 257)).convert("L")


def _alpha_where_not(image: Image.Image, transparent: int) -> Image.Image:
    """An L mask: 0 where a (16-bit) pixel equals ``transparent``, 255 elsewhere."""
    # point() on an "I" image only takes linear maps: compare with ImageMath instead.
    opaque = ImageMath.lambda_eval(
        lambda args: args["image"] != transparent, image=image.convert("I")
    )
    return opaque.point(lambda value: value * 255).convert("L")


def _float_to_l(image: Image.Image) -> Image.Image:
    _, highest = image.getextrema()
    scale = 255.0 if isinstance(highest, (int, float)) and highest <= 1.0 else 1.0
    return image.point(lambda value: value * scale).convert("L")


def to_srgb(image: Image.Image, icc_profile: bytes | None, notes: list[str]) -> Image.Image:
    """Convert colours from the embedded ICC profile to sRGB; return L/LA/RGB/RGBA."""
    profile = _load_profile(icc_profile, notes) if icc_profile else None
    if profile is not None and _profile_space(profile) != _PROFILE_SPACE_FOR_MODE[image.mode]:
        notes.append("icc_profile_mismatch")
        profile = None
    if profile is not None and not _is_srgb(profile):
        try:
            return _convert_with_profile(image, profile)
        except Exception:
            notes.append("icc_transform_failed")
    return image.convert("RGB") if image.mode == "CMYK" else image


def _load_profile(icc_profile: bytes, notes: list[str]) -> ImageCms.ImageCmsProfile | None:
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
    except Exception:
        notes.append("icc_profile_invalid")
        return None


def _profile_space(profile: ImageCms.ImageCmsProfile) -> str:
    return (profile.profile.xcolor_space or "").strip().upper()


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    description = profile.profile.profile_description or ""
    return _profile_space(profile) == "RGB" and "SRGB" in description.upper()


def _convert_with_profile(image: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image:
    intent = ImageCms.Intent.PERCEPTUAL
    if image.mode == "LA":
        grey, alpha = image.split()
        colour = ImageCms.profileToProfile(grey, profile, _SRGB_PROFILE, intent, outputMode="RGB")
        assert colour is not None
        colour.putalpha(alpha)
        return colour
    output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    converted = ImageCms.profileToProfile(
        image, profile, _SRGB_PROFILE, intent, outputMode=output_mode
    )
    assert converted is not None
    return converted


def encode(image: Image.Image, spec: VariantSpec) -> EncodedVariant:
    """Encode one variant with no metadata at all."""
    pillow_format, content_type, extension = OUTPUT_FORMATS[spec.format]
    prepared = _flatten_alpha(image) if spec.format == "jpeg" else image
    prepared.info = {}  # Pillow writes some of info (ICC, comment, EXIF) back on save
    buffer = io.BytesIO()
    if spec.format == "jpeg":
        prepared.save(
            buffer,
            pillow_format,
            quality=spec.quality,
            optimize=False,
            progressive=False,
            subsampling="4:2:0",
        )
    elif spec.format == "webp":
        prepared.save(buffer, pillow_format, quality=spec.quality, method=spec.webp_method)
    elif spec.format == "avif":
        if prepared.mode in ("L", "LA"):  # libavif takes RGB(A); grey stays grey in YUV
            prepared = prepared.convert("RGBA" if prepared.mode == "LA" else "RGB")
        prepared.save(
            buffer,
            pillow_format,
            quality=spec.quality,
            speed=spec.avif_speed,
            subsampling="4:2:0",
            max_threads=1,
        )
    else:
        prepared.save(buffer, pillow_format, optimize=False)
    return EncodedVariant(
        spec.name,
        spec.format,
        content_type,
        extension,
        image.width,
        image.height,
        buffer.getvalue(),
    )


def _flatten_alpha(image: Image.Image) -> Image.Image:
    if image.mode not in ("RGBA", "LA"):
        return image
    base_mode = image.mode[:-1]
    background = Image.new(base_mode, image.size, _WHITE[base_mode])
    background.paste(image.convert(base_mode), mask=image.getchannel("A"))
    return background


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round((time.perf_counter() - started) * 1000.0, 3)
