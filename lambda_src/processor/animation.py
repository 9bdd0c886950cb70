"""Animated images (issue 24): GIF, APNG, WebP and AVIF sequences in, animated WebP/AVIF out.

Pure (bytes in, bytes out; Pillow and the shared contract, no AWS). :mod:`processor.imaging`
calls it at two marked hooks:

1. :func:`check_declared`, on the opened image before any pixel is decoded: the frame count the
   container declares (GIF image descriptors, APNG ``acTL``, WebP ``ANMF``, AVIF samples), the
   canvas a GIF's frames grow to, the summed area of all frames and the encode work of the
   animated variants, each against a named limit of :class:`AnimationLimits`.
2. :func:`encode_animated`, after the still variants: every variant that animates
   (:func:`animates`) is encoded from a stream of frames. For each frame Pillow decodes and
   composites the canvas (disposal, blend, partial frames, transparency: exactly as Pillow
   presents it), the frame is clipped to the declared canvas, made RGBA, oriented, resized
   with the still path's LANCZOS and reducing gap, converted to sRGB, handed to the encoder and
   dropped. No list of frames is ever held: memory is one source canvas (plus the previous one
   Pillow keeps for disposal) and one output frame per variant, whatever the frame count.
   While decoding, frames, summed area, total duration and the deadline are checked again.

Timing: per-frame durations are kept in milliseconds. A frame of 10 ms or less (GIF delays of
0 or 1 centisecond) plays for 100 ms in Chromium, Firefox and Safari; outputs get that 100 ms
written explicitly, so every decoder plays them as browsers play the source. Loop counts are
kept as "plays" (0 = for ever): a GIF without a NETSCAPE block plays once, one with loop
count n > 0 plays n + 1 times, as browsers do; APNG ``num_plays`` and WebP's loop count are
plays already. Pillow 13's AVIF writer has no loop option: AVIF outputs loop for ever.

Still formats (JPEG, PNG), variants with ``animate`` off and the placeholder get the first
frame (the frame browsers show before playback and in print), through the unchanged still path.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from PIL import Image

from common import contract
from processor import imaging  # its still path's steps, shared (imaging calls back at its hooks)
from processor.decode_budget import DeadlineStream, check_deadline, load_within
from processor.rejection import ImageRejected

# Frame delays at or below this many ms play for BROWSER_DEFAULT_DELAY_MS in every browser.
BROWSER_MIN_DELAY_MS = 10
BROWSER_DEFAULT_DELAY_MS = 100
_MAX_LOOP = 65535  # WebP's loop count field is 16 bits


@dataclass(frozen=True)
class AnimationLimits:
    """Bounds on an animation, each with its rejection code (docs/formats.md, "Animations").

    * ``max_frames=5000`` (``too_many_frames``): frames decoded and encoded per animated
      variant, the per-frame overhead the area limits do not see: 3,000 frames of 16x16 cost
      about 1.5 s of CPU with the default variants, and a 3,000-frame GIF stays a supported
      input (tests/support/hostile_images.py). (``WorkLimits.max_frames``, 10,000, still
      bounds the structure walk first, whatever the variants.)
    * ``max_total_pixels=400_000_000`` (``animation_too_large``): the summed canvas area of all
      frames, the decode work: 150 frames of 1920x1080 are 311 MP.
    * ``max_duration_ms=600_000`` (``animation_too_long``): ten minutes of playback.
    * ``max_output_pixels=150_000_000`` (``animation_work_exceeded``): the summed area of every
      output frame of every animated variant, the encode work. Measured (docs/benchmarks.md,
      "Animations"): about 14 MP of output per CPU second (AVIF speed 9 and WebP method 4, both
      decode passes included), so 150 MP is about 11 s of one core (the default 1,769 MB
      function's one vCPU; about 19 s at 1,024 MB's 0.58): inside the 26.5 s decode deadline of
      the default 60 s function, which still stops anything slower frame by frame.
    """

    max_frames: int = 5000
    max_total_pixels: int = 400_000_000
    max_duration_ms: int = 600_000
    max_output_pixels: int = 150_000_000


@dataclass(frozen=True)
class AnimationInfo:
    """What the record says about an animated source: frames, playback time, plays."""

    frames: int
    duration_ms: int
    loop: int  # plays; 0 = for ever


def format_animates(variant_format: str) -> bool:
    """True when the output format can hold an animation (the rule set's ``animates``)."""
    return bool(contract.OUTPUT_FORMATS[variant_format].get("animates", False))


def animates(spec: imaging.VariantSpec) -> bool:
    """True when ``spec`` is written animated for an animated source."""
    return spec.animate and format_animates(spec.format)


# Pillow formats whose frames are an animation (an MPO's second image or a HEIF collection's
# other images are not: those stay stills).
ANIMATED_FORMATS = frozenset({"GIF", "PNG", "WEBP", "AVIF"})


def frame_count(image: Image.Image) -> int:
    """The frames the opened ``image`` declares (1 for a still), as Pillow counts them.

    Pillow counts a GIF's frames by walking its blocks: a damaged block is ``corrupt_image``
    here, not an error the handler would retry."""
    with imaging.decoder_errors("The animation's frames could not be read."):
        return int(getattr(image, "n_frames", 1) or 1)


def first_animation_frame(image: Image.Image) -> int:
    """1 for an APNG whose IDAT image is not part of the animation (Pillow's frame 0, which
    browsers and the APNG specification skip when they animate, and decoders without APNG
    support show: the still variants use it), else 0."""
    return 1 if image.format == "PNG" and image.info.get("default_image") else 0


def animation_frames(image: Image.Image) -> int:
    """The frames an animation plays (1 for a still)."""
    return frame_count(image) - first_animation_frame(image)


def is_animated(image: Image.Image) -> bool:
    """True for an opened GIF, APNG, WebP or AVIF that plays more than one frame."""
    return image.format in ANIMATED_FORMATS and animation_frames(image) > 1


# -- before decoding -------------------------------------------------------------------------


def check_declared(
    image: Image.Image,
    data: bytes,
    variants: Sequence[imaging.VariantSpec],
    limits: AnimationLimits,
    max_pixels: int,
) -> None:
    """Refuse an animation whose header already exceeds a limit; nothing for stills.

    ``image`` is opened, not loaded. Only applies when some variant animates: a file whose
    variants are all stills is decoded as today (its first frame).
    """
    moving = [spec for spec in variants if animates(spec)]
    if not moving or not is_animated(image):
        return
    frames = frame_count(image)
    if frames > limits.max_frames:
        raise _too_many_frames(frames, limits)
    width, height = image.size
    if image.format == "GIF":
        grown = gif_frame_extent(data)
        if grown[0] * grown[1] > max_pixels:
            raise ImageRejected(
                "too_many_pixels",
                "An animation frame reaches outside the image far enough to be unsafe.",
                f"frames extend the {width}x{height} canvas to {grown[0]}x{grown[1]}",
            )
    summed = frames * width * height
    if summed > limits.max_total_pixels:
        raise _too_large(summed, limits)
    work = frames * sum(_area(imaging.target_size(width, height, spec.max_edge)) for spec in moving)
    if work > limits.max_output_pixels:
        raise ImageRejected(
            "animation_work_exceeded",
            "The animation would take too long to resize and encode.",
            f"{frames} frames x {len(moving)} animated variants = {work} output pixels, "
            f"limit {limits.max_output_pixels}",
        )


def gif_frame_extent(data: bytes) -> tuple[int, int]:
    """The canvas a GIF's image descriptors grow to (Pillow enlarges its image to hold a frame
    that reaches past the logical screen), without decoding. Stops quietly at damage."""
    width = int.from_bytes(data[6:8], "little")
    height = int.from_bytes(data[8:10], "little")
    flags = data[10] if len(data) > 10 else 0
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    end = len(data)
    while position < end:
        introducer = data[position]
        if introducer == 0x21:  # extension: label, then sub-blocks
            position = _after_sub_blocks(data, position + 2)
        elif introducer == 0x2C and position + 10 <= end:  # image descriptor
            left, top, frame_width, frame_height = (
                int.from_bytes(data[position + offset : position + offset + 2], "little")
                for offset in (1, 3, 5, 7)
            )
            width = max(width, left + frame_width)
            height = max(height, top + frame_height)
            local = data[position + 9]
            position += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            position = _after_sub_blocks(data, position + 1)  # LZW minimum code size
        elif introducer == 0x3B:
            break
        else:
            position += 1  # Pillow skips stray bytes between blocks too
    return width, height


def _after_sub_blocks(data: bytes, position: int) -> int:
    end = len(data)
    while position < end:
        size = data[position]
        position += size + 1
        if size == 0:
            break
    return position


# -- streaming -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FramePrep:
    """What the still path learnt from the first frame and applies to every frame."""

    orientation: int = 1  # EXIF orientation (imaging.read_orientation), applied per frame
    icc_profile: bytes | None = None  # converted to sRGB per output frame


@dataclass(frozen=True)
class AnimationJob:
    """An animated source as the still path found it: what every decode pass needs."""

    data: bytes
    source_format: str  # Pillow's format name
    limits: AnimationLimits
    prep: FramePrep
    deadline: float = math.inf


def encode_animated(
    job: AnimationJob, variants: Sequence[imaging.VariantSpec], notes: list[str]
) -> tuple[dict[tuple[str, str], imaging.EncodedVariant], AnimationInfo | None]:
    """Encode every animating variant of an animated source, one after the other; ``({},
    None)`` when none animates. The info is the last pass's (every pass reads the same file)."""
    encoded: dict[tuple[str, str], imaging.EncodedVariant] = {}  # by (size, format)
    info: AnimationInfo | None = None
    for spec in variants:
        if animates(spec):
            encoded[spec.name, spec.format], info = encode_variant(job, spec, notes)
    return encoded, info


def encode_variant(
    job: AnimationJob, spec: imaging.VariantSpec, notes: list[str]
) -> tuple[imaging.EncodedVariant, AnimationInfo]:
    """One animated variant from its own decode pass, which checks the limits and the deadline
    frame by frame. Passes share nothing: they may run concurrently (imaging's task group)."""
    stream = FrameStream(job.data, job.source_format, job.limits, job.deadline)
    return _encode_one(stream, spec, job.prep, notes), stream.info()


class FrameStream:
    """The frames of one decode pass, made one at a time: canvas-clipped, prepared, checked."""

    def __init__(
        self,
        data: bytes,
        source_format: str,
        limits: AnimationLimits,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.image = Image.open(DeadlineStream(data, deadline, clock), formats=[source_format])
        self.first = first_animation_frame(self.image)
        self.frames = animation_frames(self.image)
        self.canvas = self.image.size
        self.limits = limits
        self.deadline = deadline
        self.durations: list[int] = []
        self.loop = source_plays(self.image)
        self.summed_pixels = 0

    def __iter__(self) -> Iterator[Image.Image]:
        for index in range(self.frames):
            yield self.frame(index, self.first + index)

    def frame(self, index: int, position: int) -> Image.Image:
        """Animation frame ``index``, Pillow's frame ``position``, composited and checked."""
        check_deadline(self.deadline, self.clock)
        if index >= self.limits.max_frames:
            raise _too_many_frames(index + 1, self.limits)
        with imaging.decoder_errors(
            f"Frame {index + 1} could not be decoded.",
            "The animation ends before all of its frames.",
            f"{self.frames} frames declared, frame {index + 1}: ",
        ):
            if position:
                self.image.seek(position)
            load_within(self.image, self.deadline, clock=self.clock)
        self.summed_pixels += _area(self.image.size)
        if self.summed_pixels > self.limits.max_total_pixels:
            raise _too_large(self.summed_pixels, self.limits)
        self.durations.append(browser_duration(self.image.info.get("duration")))
        total = sum(self.durations)
        if total > self.limits.max_duration_ms:
            raise ImageRejected(
                "animation_too_long",
                "The animation plays for too long.",
                f"more than {total} ms, limit {self.limits.max_duration_ms} ms",
            )
        frame = self.image
        if frame.size != self.canvas:  # a GIF frame reaching past the logical screen
            frame = frame.crop((0, 0, *self.canvas))
        return frame

    def info(self) -> AnimationInfo:
        return AnimationInfo(len(self.durations), sum(self.durations), self.loop)


def browser_duration(duration: object) -> int:
    """A frame's delay in ms as browsers play it: <= 10 ms (or none) becomes 100 ms."""
    milliseconds = round(duration) if isinstance(duration, (int, float)) else 0
    return BROWSER_DEFAULT_DELAY_MS if milliseconds <= BROWSER_MIN_DELAY_MS else milliseconds


def source_plays(image: Image.Image) -> int:
    """How many times the source plays (0 = for ever), as browsers read its loop count."""
    loop = image.info.get("loop")
    if image.format == "GIF":
        if loop is None:
            return 1  # no NETSCAPE block: once
        return 0 if loop == 0 else min(loop + 1, _MAX_LOOP)  # n repeats after the first play
    if isinstance(loop, int) and loop >= 0:
        return min(loop, _MAX_LOOP)
    return 0


def _encode_one(
    stream: FrameStream, spec: imaging.VariantSpec, prep: FramePrep, notes: list[str]
) -> imaging.EncodedVariant:
    width, height = imaging.oriented_size(stream.canvas, prep.orientation)
    size = imaging.target_size(width, height, spec.max_edge)
    frame_notes: list[str] = []

    def output_frames() -> Iterator[Image.Image]:
        for source in stream:
            upright = imaging.apply_orientation(prepare(source), prep.orientation)
            resized = imaging.resize_to(upright, size, spec.format)
            yield imaging.to_srgb(resized, prep.icc_profile, frame_notes)

    sequence = FrameSequence(output_frames(), stream.frames)
    buffer = io.BytesIO()
    options: dict[str, object] = {"duration": stream.durations, "save_all": True}
    if spec.format == "webp":
        options.update(quality=spec.quality, method=spec.webp_method, loop=stream.loop)
    else:  # avif: the still path's settings (one AVIF speed, 4:2:0, one thread)
        options.update(
            quality=spec.quality, speed=imaging.AVIF_SPEED, subsampling="4:2:0", max_threads=1
        )
    sequence.save(buffer, contract.OUTPUT_FORMATS[spec.format]["pillow"], **options)
    if sequence.made != stream.frames:
        raise RuntimeError(f"the encoder took {sequence.made} of {stream.frames} frames")
    notes.extend(dict.fromkeys(frame_notes))  # once each, not once per frame
    data = buffer.getvalue()
    if spec.format == "avif":
        data = without_clock_times(data)
    content_type, extension = spec.content_type, spec.extension
    return imaging.EncodedVariant(
        spec.name, spec.format, content_type, extension, *size, data, encoded_frames(data)
    )


# ISOBMFF boxes whose version-dependent header starts with creation and modification times
# (ISO/IEC 14496-12: mvhd, tkhd, mdhd), and the containers that hold them.
_TIMED_BOXES = frozenset({b"mvhd", b"tkhd", b"mdhd"})
_TIME_CONTAINERS = frozenset({b"moov", b"trak", b"mdia"})


def without_clock_times(data: bytes) -> bytes:
    """An AVIF image sequence with its movie, track and media creation and modification times
    set to 0 ("unknown"). libavif writes the wall clock there, so without this the same frames
    would give other bytes every second: an output key promises the same bytes for ever
    (common/contract.py's fingerprint), and a concurrent encode must equal a sequential one."""
    buffer = bytearray(data)
    _zero_times(buffer, 0, len(buffer))
    return bytes(buffer)


def _zero_times(buffer: bytearray, start: int, end: int) -> None:
    position = start
    while position + 8 <= end:
        size = int.from_bytes(buffer[position : position + 4], "big")
        kind = bytes(buffer[position + 4 : position + 8])
        header = 8
        if size == 1:
            size = int.from_bytes(buffer[position + 8 : position + 16], "big")
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            return  # not a box libavif wrote: leave the rest as it is
        body = position + header
        if kind in _TIME_CONTAINERS:
            _zero_times(buffer, body, position + size)
        elif kind in _TIMED_BOXES and body + 4 <= position + size:
            width = 8 if buffer[body] == 1 else 4  # version 1: 64-bit times
            times = body + 4  # after version and flags
            if times + 2 * width <= position + size:
                buffer[times : times + 2 * width] = bytes(2 * width)
        position += size


def encoded_frames(data: bytes) -> int:
    """Frames in an encoded WebP or AVIF (headers only). libwebp merges a frame identical to
    the one before into it (adding its duration), so this can be below the source's count."""
    with Image.open(io.BytesIO(data)) as encoded:
        return frame_count(encoded)


def prepare(frame: Image.Image) -> Image.Image:
    """Any frame mode -> RGBA (one mode for the whole sequence, whatever each frame was)."""
    normalised = imaging.normalise_mode(frame)
    if normalised.mode == "CMYK":
        normalised = normalised.convert("RGB")
    return normalised if normalised.mode == "RGBA" else normalised.convert("RGBA")


class FrameSequence(Image.Image):
    """A multi-frame image whose frames are made on demand, in order.

    Pillow's ``save_all`` writers (WebP, AVIF) read ``n_frames``, then ``seek(0..n-1)`` each
    frame once and encode it before the next ``seek``; the per-frame ``duration`` list they
    read is filled by the stream as each frame is decoded (read after that frame's ``seek``).
    Only the current frame exists, so the writer never sees a list of frames.
    """

    def __init__(self, frames: Iterator[Image.Image], count: int) -> None:
        super().__init__()
        self.n_frames = count
        self.is_animated = True
        self._frames = frames
        self._index = 0
        self.made = 0
        self._show(self._next())

    def _next(self) -> Image.Image:
        frame = next(self._frames)
        self.made += 1
        return frame

    def _show(self, frame: Image.Image) -> None:
        frame.load()
        self.im = frame.im
        self._mode = frame.mode
        self._size = frame.size
        self.info = {}

    def tell(self) -> int:
        return self._index

    def seek(self, frame: int) -> None:
        if frame == self._index:
            return
        if frame == self._index + 1:
            self._show(self._next())
            self._index = frame
            return
        if frame < self._index:  # the writer's closing seek(tell()), also after an error
            return
        raise ValueError(f"frames are made in order: asked for {frame} after {self._index}")


def _area(size: tuple[int, int]) -> int:
    return size[0] * size[1]


def _too_many_frames(frames: int, limits: AnimationLimits) -> ImageRejected:
    return ImageRejected(
        "too_many_frames",
        f"The animation has more than {limits.max_frames} frames.",
        f"{frames} frames",
    )


def _too_large(summed: int, limits: AnimationLimits) -> ImageRejected:
    return ImageRejected(
        "animation_too_large",
        "The animation's frames add up to too many pixels.",
        f"{summed} pixels in all frames, limit {limits.max_total_pixels}",
    )
