"""Animated inputs (issue 24): generated GIFs (written byte by byte: every disposal, partial
frames, transparency, delays, loop counts), APNGs (every disposal and blend op), WebPs, real files
from Pillow's test corpus (tests/support/corpus/LICENSE.md), and hostile animations, each ending
in animated variants with the right frames and timing or a rejection with its code."""

from __future__ import annotations

import io
import json
import weakref
from collections.abc import Iterator

import pytest
from PIL import Image, ImageChops, ImageStat

from common import contract
from processor import animation, imaging
from processor import config as processor_config
from support import animations as anim
from support import images as factory

F = anim.GifFrame


def specs(sizes: list[dict]) -> tuple[imaging.VariantSpec, ...]:
    """The image core's specs of a VARIANTS list, as the processor builds them at cold start."""
    rules = processor_config.parse_variants("VARIANTS", json.dumps(sizes))
    return tuple(processor_config.variant_spec(output) for output in contract.output_rules(rules))


EXACT = specs(  # one size, quality 100, no resize (the canvases are smaller than max_edge)
    [
        {
            "name": "exact",
            "max_edge": 1024,
            "formats": [
                {"format": "png"},
                {"format": "webp", "quality": 100},
                {"format": "avif", "quality": 100},
            ],
        }
    ]
)
DEFAULTS = specs(  # variables.tf's default variants: every size in each of its formats
    [
        {"name": "large", "max_edge": 1024, "formats": [{"format": "avif"}, {"format": "jpeg"}]},
        {"name": "medium", "max_edge": 512, "formats": [{"format": "avif"}, {"format": "jpeg"}]},
        {"name": "thumb", "max_edge": 128, "formats": [{"format": "webp"}, {"format": "jpeg"}]},
    ]
)
LIMITS = imaging.Limits()


def process(data: bytes, variants=EXACT, limits: imaging.Limits = LIMITS) -> imaging.ProcessedImage:
    return imaging.process_image(data, variants, limits)


def by_name(result: imaging.ProcessedImage) -> dict[tuple[str, str], imaging.EncodedVariant]:
    """The encoded outputs by (size, format)."""
    return {(variant.name, variant.format): variant for variant in result.variants}


def exact(result: imaging.ProcessedImage, variant_format: str) -> imaging.EncodedVariant:
    """EXACT's one size in ``variant_format``."""
    return by_name(result)[("exact", variant_format)]


def rejection(
    data: bytes, variants=EXACT, limits: imaging.Limits = LIMITS
) -> imaging.ImageRejected:
    with pytest.raises(imaging.ImageRejected) as caught:
        process(data, variants, limits)
    return caught.value


def pillow_frames(data: bytes) -> list[Image.Image]:
    """The frames as Pillow composites them (the reference: issue 24 keeps Pillow's compositing),
    skipping an APNG default image that is not part of the animation."""
    image = Image.open(io.BytesIO(data))
    first = 1 if image.format == "PNG" and image.info.get("default_image") else 0
    frames = []
    for index in range(first, image.n_frames):
        image.seek(index)
        image.load()
        frames.append(image.convert("RGBA"))
    return frames


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel (0-255), both flattened on black by alpha."""
    return max(ImageStat.Stat(ImageChops.difference(flat(a), flat(b))).mean)


def flat(image: Image.Image) -> Image.Image:
    base = Image.new("RGB", image.size, (0, 0, 0))
    base.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
    return base


def assert_same_frames(
    variant: imaging.EncodedVariant, reference: list[Image.Image], tolerance: float = 8
) -> None:
    decoded = anim.decoded_frames(variant.data)
    assert variant.frames == len(reference) == len(decoded), variant.name
    for index, ((frame, _), expected) in enumerate(zip(decoded, reference, strict=True)):
        resized = expected.resize(frame.size, Image.Resampling.LANCZOS)
        # close to its own source frame (AVIF 4:2:0 blurs saturated edges a little) ...
        assert difference(frame, resized) < tolerance, (variant.name, index)
        # ... and closer to it than to any other frame that differs from it
        for other, candidate in enumerate(reference):
            if other != index and difference(candidate, expected) > 1:
                nearer = difference(frame, candidate.resize(frame.size)) > difference(
                    frame, resized
                )
                assert nearer, (variant.name, index, other)


def disposal_gif(loop: int | None = 3) -> bytes:
    """60x60: blue (keep), red 20x20 partial (to background), green partial (to previous),
    yellow partial with a transparent upper half, white partial."""
    upper_transparent = [[anim.MAGENTA] * 20] * 10 + [[anim.YELLOW] * 20] * 10
    return anim.gif(
        (60, 60),
        [
            F.fill(60, 60, anim.BLUE, disposal=1, delay_cs=10),
            F.fill(20, 20, anim.RED, left=20, top=20, disposal=2, delay_cs=0),
            F.fill(20, 20, anim.GREEN, disposal=3, delay_cs=1),
            F(
                upper_transparent,
                left=40,
                top=40,
                transparent=anim.MAGENTA,
                disposal=1,
                delay_cs=25,
            ),
            F.fill(20, 20, anim.WHITE, left=40, top=0, delay_cs=5),
        ],
        loop=loop,
    )


# -- compositing -----------------------------------------------------------------------------


def test_gif_disposal_partial_frames_and_transparency_are_composited() -> None:
    data = disposal_gif()
    result = process(data)
    blue, red, green, yellow, white = (anim.PALETTE[i] for i in (3, 1, 2, 5, 4))
    background = anim.PALETTE[anim.BLACK]  # Pillow fills a "to background" area with it
    expected = [  # at (10,10), (30,30), (50,45), (50,55), (50,10), written from the GIF spec
        (blue, blue, blue, blue, blue),
        (blue, red, blue, blue, blue),  # partial frame at (20,20)
        (green, background, blue, blue, blue),  # red's area back to background
        (blue, background, blue, yellow, blue),  # green's area back to the previous frame;
        (blue, background, blue, yellow, white),  # transparent half shows what was there
    ]
    points = ((10, 10), (30, 30), (50, 45), (50, 55), (50, 10))
    for name in ("webp", "avif"):
        frames = anim.decoded_frames(exact(result, name).data)
        assert len(frames) == 5
        for index, (frame, _) in enumerate(frames):
            for point, colour in zip(points, expected[index], strict=True):
                got = frame.getpixel(point)[:3]
                assert max(abs(g - c) for g, c in zip(got, colour, strict=True)) <= 12, (
                    name,
                    index,
                    point,
                    got,
                )
        assert_same_frames(exact(result, name), pillow_frames(data))


@pytest.mark.parametrize("disposal", [0, 1, 2])
@pytest.mark.parametrize("blend", [0, 1])
def test_apng_every_disposal_and_blend_op(disposal: int, blend: int) -> None:
    size = (48, 32)
    frames = [anim.solid(size, (20, 40, 200, 255))]
    for colour in ((220, 20, 20, 128), (20, 200, 40, 255), (240, 220, 30, 64)):
        frame = frames[-1].copy()
        frame.paste(Image.new("RGBA", (16, 16), colour), (len(frames) * 10, 8))  # a partial change
        frames.append(frame)
    data = anim.apng(frames, [40, 50, 60, 70], disposal=[disposal] * 4, blend=[blend] * 4, loop=2)
    result = process(data)
    for name in ("webp", "avif"):
        variant = exact(result, name)
        assert_same_frames(variant, pillow_frames(data))
        assert [duration for _, duration in anim.decoded_frames(variant.data)] == [40, 50, 60, 70]
    assert result.animation == animation.AnimationInfo(4, 220, 2)
    assert anim.loop_of(exact(result, "webp").data) == 2


def test_animated_webp_in_keeps_frames_timing_and_alpha() -> None:
    frames = [
        anim.solid((40, 30), colour)
        for colour in ((220, 20, 20, 255), (20, 200, 40, 0), (20, 40, 200, 128))
    ]
    data = anim.webp(frames, [30, 40, 500], loop=5)
    result = process(data)
    webp = exact(result, "webp")
    assert_same_frames(webp, pillow_frames(data))
    assert [d for _, d in anim.decoded_frames(webp.data)] == [30, 40, 500]
    assert anim.loop_of(webp.data) == 5
    assert anim.decoded_frames(webp.data)[1][0].getpixel((5, 5))[3] == 0  # transparent frame


def test_durations_are_played_as_browsers_play_them() -> None:
    result = process(disposal_gif())
    assert result.animation == animation.AnimationInfo(5, 100 + 100 + 100 + 250 + 50, 4)
    for name in ("webp", "avif"):
        timings = [d for _, d in anim.decoded_frames(exact(result, name).data)]
        assert timings == [100, 100, 100, 250, 50], name  # 0 and 1 cs play as 100 ms


@pytest.mark.parametrize(("loop", "plays"), [(None, 1), (0, 0), (1, 2), (7, 8)])
def test_gif_loop_count_becomes_plays(loop: int | None, plays: int) -> None:
    result = process(disposal_gif(loop=loop))
    assert result.animation is not None
    assert result.animation.loop == plays
    assert anim.loop_of(exact(result, "webp").data) == plays


def test_still_variants_and_placeholder_get_the_first_frame() -> None:
    result = process(disposal_gif(), DEFAULTS)
    frames = {key: variant.frames for key, variant in by_name(result).items()}
    assert frames == {  # every size: its webp or avif animates, its jpeg is the first frame
        ("large", "avif"): 5,
        ("large", "jpeg"): 1,
        ("medium", "avif"): 5,
        ("medium", "jpeg"): 1,
        ("thumb", "webp"): 5,
        ("thumb", "jpeg"): 1,
    }
    large = Image.open(io.BytesIO(by_name(result)[("large", "jpeg")].data))
    assert large.getpixel((30, 30)) == pytest.approx(anim.PALETTE[anim.BLUE], abs=12)
    assert result.placeholder is not None
    colour = bytes.fromhex(result.placeholder.color[1:])
    assert tuple(colour) == pytest.approx(anim.PALETTE[anim.BLUE], abs=3)


def test_a_variant_with_animate_off_stays_still() -> None:
    formats = [{"format": "webp"}, {"format": "avif"}]
    variants = specs([{"name": "thumb", "max_edge": 64, "animate": False, "formats": formats}])
    result = process(disposal_gif(), variants)
    assert [variant.format for variant in result.variants] == ["webp", "avif"]
    for variant in result.variants:
        assert variant.frames == 1
        assert getattr(Image.open(io.BytesIO(variant.data)), "n_frames", 1) == 1
    assert result.animation is None


def test_resized_animation_keeps_aspect_and_every_frame() -> None:
    frames = [
        factory.photo_like((320, 240), seed).quantize(64, Image.Quantize.FASTOCTREE)
        for seed in range(4)
    ]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    data = buffer.getvalue()
    result = process(data, DEFAULTS)
    thumb = by_name(result)[("thumb", "webp")]
    assert (thumb.width, thumb.height, thumb.frames) == (128, 96, 4)
    assert by_name(result)[("large", "avif")].width == 320  # never upscaled
    reference = pillow_frames(data)
    decoded = anim.decoded_frames(thumb.data)
    for index, (frame, _) in enumerate(decoded):
        distances = [difference(frame, ref.resize(frame.size)) for ref in reference]
        assert min(range(4), key=distances.__getitem__) == index


def test_single_frame_animation_is_a_still() -> None:
    data = anim.gif((30, 20), [F.fill(30, 20, anim.RED)], loop=0)
    result = process(data)
    assert result.animation is None
    assert all(variant.frames == 1 for variant in result.variants)


def test_frame_larger_than_the_canvas_is_clipped_to_it() -> None:
    data = anim.gif(
        (40, 30),
        [F.fill(40, 30, anim.BLUE, disposal=1), F.fill(30, 30, anim.RED, left=20, top=10)],
    )
    assert animation.gif_frame_extent(data) == (50, 40)
    result = process(data)
    webp = exact(result, "webp")
    assert (webp.width, webp.height, webp.frames) == (40, 30, 2)
    last, _ = anim.decoded_frames(webp.data)[1]
    assert last.size == (40, 30)
    assert last.getpixel((35, 25))[:3] == pytest.approx(anim.PALETTE[anim.RED], abs=12)
    assert last.getpixel((5, 5))[:3] == pytest.approx(anim.PALETTE[anim.BLUE], abs=12)


# -- bounds ----------------------------------------------------------------------------------


def tiny_frames_gif(count: int, canvas: tuple[int, int] = (4, 4)) -> bytes:
    return anim.gif(canvas, [F.fill(1, 1, index % 6, delay_cs=2) for index in range(count)])


def test_thousands_of_tiny_frames_play_with_every_frame_and_delay() -> None:
    result = process(tiny_frames_gif(3000), DEFAULTS)
    assert result.animation == animation.AnimationInfo(3000, 3000 * 20, 0)  # 2 cs: 20 ms
    thumb = by_name(result)[("thumb", "webp")]
    assert thumb.frames == 3000  # no two neighbours alike (6 colours in turn)


def test_a_flood_of_tiny_frames_is_refused_before_decoding() -> None:
    refused = rejection(tiny_frames_gif(6000))
    assert refused.code == "too_many_frames"
    assert refused.detail == "6000 frames"


def test_frames_reaching_far_outside_the_canvas_are_refused_before_decoding() -> None:
    data = anim.gif(
        (16, 16), [F.fill(16, 16, anim.BLUE), F.fill(1, 1, anim.RED, left=65000, top=65000)]
    )
    refused = rejection(data)
    assert refused.code == "too_many_pixels"
    assert "65001x65001" in (refused.detail or "")


def test_summed_frame_area_is_bounded_before_decoding() -> None:
    # 120 frames of a 2000x2000 canvas (1-pixel frames: a 2 KB file) = 480 MP > 400 MP
    refused = rejection(tiny_frames_gif(120, (2000, 2000)))
    assert refused.code == "animation_too_large"


def test_encode_work_is_bounded_before_decoding() -> None:
    # 160 frames x 1000x1000 (1024-px variants: no downscale) = 160 MP per animated variant
    data = tiny_frames_gif(160, (1000, 1000))
    assert rejection(data, DEFAULTS).code == "animation_work_exceeded"
    stills = tuple(spec for spec in DEFAULTS if spec.format == "jpeg")
    assert process(data, stills).animation is None  # no animated variant: no animation bound


def test_total_duration_is_bounded_while_decoding() -> None:
    frames = [F.fill(8, 8, anim.RED, delay_cs=65535), F.fill(8, 8, anim.BLUE, delay_cs=65535)]
    refused = rejection(anim.gif((8, 8), frames))  # 2 x 655 s
    assert refused.code == "animation_too_long"


def test_limits_are_enforced_frame_by_frame_while_decoding() -> None:
    small = imaging.Limits(animation=animation.AnimationLimits(max_total_pixels=60 * 60 * 3))
    stream = animation.FrameStream(disposal_gif(), "GIF", small.animation, float("inf"))
    iterator = iter(stream)
    next(iterator), next(iterator), next(iterator)
    with pytest.raises(imaging.ImageRejected) as caught:
        next(iterator)
    assert caught.value.code == "animation_too_large"


def test_declared_frames_that_are_missing_are_a_truncated_image() -> None:
    good = anim.gif((20, 20), [F.fill(20, 20, i) for i in range(1, 4)], trailer=False)
    cut = good[: len(good) - 40]  # the last frame's data is cut short
    refused = rejection(cut)
    assert refused.code in ("truncated_image", "corrupt_image")
    frames = [anim.solid((16, 16), (i * 60, 0, 0, 255)) for i in range(4)]
    apng = anim.apng(frames, [50] * 4, disposal=[0] * 4, blend=[0] * 4)
    declared = apng.replace(b"acTL\x00\x00\x00\x04", b"acTL\x00\x00\x00\x06")  # CRC not fixed
    fixed = _fix_png_crc(declared, b"acTL")
    refused = rejection(fixed)
    assert refused.code == "truncated_image"
    assert "6 frames declared" in (refused.detail or "")


def _fix_png_crc(data: bytes, kind: bytes) -> bytes:
    import zlib

    start = data.index(kind)
    length = int.from_bytes(data[start - 4 : start], "big")
    crc = zlib.crc32(data[start : start + 4 + length]).to_bytes(4, "big")
    return data[: start + 4 + length] + crc + data[start + 8 + length :]


def test_deadline_stops_the_stream_between_frames() -> None:
    now = [0.0]
    stream = animation.FrameStream(disposal_gif(), "GIF", LIMITS.animation, 1.0, lambda: now[0])
    frames = iter(stream)
    next(frames)
    now[0] = 2.0  # the deadline passes while the first frame is encoded
    with pytest.raises(imaging.ImageRejected) as caught:
        next(frames)
    assert caught.value.code == "decode_time_exceeded"


def test_animation_codes_are_rejection_codes() -> None:
    for code in ("animation_too_large", "animation_too_long", "animation_work_exceeded"):
        assert code in contract.REJECTION_CODES


# -- memory: one frame at a time ---------------------------------------------------------------


def test_the_encoder_never_holds_more_than_the_current_frame() -> None:
    alive: list[int] = []
    peak = [0]

    def frames() -> Iterator[Image.Image]:
        for index in range(12):
            frame = Image.new("RGBA", (32, 32), (index * 20, 0, 0, 255))
            alive.append(index)
            weakref.finalize(frame, alive.remove, index)
            peak[0] = max(peak[0], len(alive))
            yield frame

    sequence = animation.FrameSequence(frames(), 12)
    buffer = io.BytesIO()
    sequence.save(buffer, "WEBP", save_all=True, duration=[50] * 12, lossless=True)
    assert sequence.made == 12
    assert len(anim.decoded_frames(buffer.getvalue())) == 12
    assert peak[0] <= 2  # the frame being encoded and the one being made


# -- the rule set ------------------------------------------------------------------------------


def test_rule_set_says_which_formats_animate() -> None:
    animates = {name: spec["animates"] for name, spec in contract.OUTPUT_FORMATS.items()}
    assert animates == {"jpeg": False, "webp": True, "png": False, "avif": True}
    assert contract.VARIANT_RULES["animate"]["default"] is True


@pytest.mark.parametrize(
    ("item", "animate"),
    [({}, True), ({"animate": None}, True), ({"animate": False}, False), ({"animate": True}, True)],
)
def test_variant_animate_flag_defaults_on(item: dict, animate: bool) -> None:
    raw = [{"name": "thumb", "max_edge": 64, "formats": [{"format": "webp"}], **item}]
    (size,) = processor_config.parse_variants("VARIANTS", json.dumps(raw))
    assert size.animate is animate
    (output,) = contract.output_rules((size,))
    assert processor_config.variant_spec(output).animate is animate


def test_variant_animate_flag_must_be_a_boolean() -> None:
    problems = contract.variant_problems(
        0, {"name": "a", "max_edge": 64, "formats": [{"format": "webp"}], "animate": "yes"}
    )
    assert problems == ["item 0: 'animate' must be true or false"]


# -- real files (tests/support/corpus, LICENSE.md there) ---------------------------------------

# file -> (frames, durations in ms as played, plays)
REAL = {
    "dispose_bgnd.gif": (5, [1000] * 5, 0),
    "dispose_prev.gif": (5, [100, 1000, 1000, 1000, 1000], 0),  # a 0 ms first frame
    "test_extents.gif": (2, [100, 100], 1),  # no delays, no loop block; frame past the screen
    "star.gif": (4, [100] * 4, 0),
    "dispose_op_previous.png": (3, [100] * 3, 1),  # APNG, default image not animated
    "blend_op_over.png": (2, [100] * 2, 1),
    "delay.png": (4, [500, 1000, 500, 1000], 0),
    "star-8bpc.avifs": (5, None, 0),  # AVIF sequence
    "iss634.webp": (42, None, 0),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_animation_keeps_its_frames_and_timing(name: str) -> None:
    frames, durations, plays = REAL[name]
    data = factory.corpus(name)
    result = process(data, DEFAULTS)
    assert result.animation is not None
    assert (result.animation.frames, result.animation.loop) == (frames, plays)
    expected = durations or [animation.browser_duration(d) for d in pillow_durations(data)]
    assert result.animation.duration_ms == sum(expected)
    for variant in (by_name(result)[("thumb", "webp")], by_name(result)[("large", "avif")]):
        played = [d for _, d in anim.decoded_frames(variant.data)]
        assert variant.frames == len(played)
        timing = merged(expected, pillow_frames(data), variant.format)
        assert played == (timing if len(timing) > 1 else [0])  # one frame left: a still
    assert by_name(result)[("large", "jpeg")].frames == 1
    if frames <= 5:  # quality 100, no resize: frame by frame against Pillow's compositing
        avif_only = tuple(spec for spec in EXACT if spec.format == "avif")
        assert_same_frames(exact(process(data, avif_only), "avif"), pillow_frames(data), 12)


def merged(durations: list[int], frames: list[Image.Image], variant_format: str) -> list[int]:
    """Durations as libwebp writes them: a frame identical to the one before is merged into it."""
    if variant_format != "webp":
        return durations
    played: list[int] = []
    for index, duration in enumerate(durations):
        same = ImageChops.difference(frames[index], frames[index - 1]).getbbox(alpha_only=False)
        if index and same is None:
            played[-1] += duration
        else:
            played.append(duration)
    return played


def pillow_durations(data: bytes) -> list[float]:
    image = Image.open(io.BytesIO(data))
    durations = []
    for index in range(image.n_frames):
        image.seek(index)
        image.load()
        durations.append(image.info.get("duration"))
    return durations


def test_real_apng_declaring_missing_frames_is_a_truncated_image() -> None:
    refused = rejection(factory.corpus("syntax_num_frames_high.png"), DEFAULTS)
    assert refused.code == "truncated_image"


@pytest.mark.parametrize("length", [108, 116])
def test_a_gif_whose_blocks_break_off_is_a_corrupt_image_not_a_crash(length: int) -> None:
    """Pillow counts a GIF's frames by walking its blocks; cut inside one (an IndexError at
    108 bytes, a struct.error at 116: found by test_imaging_properties' mutations), the count
    fails. The upload is rejected ``corrupt_image`` instead of failing every attempt."""
    frames = [Image.new("RGB", (31, 20), (i * 60, 20, 20)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = buffer.getvalue()[:length]

    with pytest.raises(imaging.ImageRejected) as caught:
        animation.frame_count(Image.open(io.BytesIO(data)))
    assert caught.value.code == "corrupt_image"
    with pytest.raises(imaging.ImageRejected):
        process(data, DEFAULTS)
