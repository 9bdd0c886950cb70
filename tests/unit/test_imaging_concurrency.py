"""Issue 26: the core's concurrent phase makes exactly what the sequential path makes.

``process_image(..., workers=n)`` resizes and encodes the variants on ``n`` threads
(:func:`imaging.make_variants_concurrently`, :class:`processor.tasks.TaskGroup`); ``workers=1``
is the sequential path. Outputs, notes, placeholder and animation info must be byte for byte the
same for every worker count, and a failure must surface as the error the sequential path raises
first, whichever task fails first in time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common import contract
from processor import config as processor_config
from processor import imaging, metrics
from processor.tasks import TaskGroup
from support import animations as anim
from support import images as factory

pytestmark = pytest.mark.unit

SHIPPED_EDGES = {"large": 96, "medium": 48, "thumb": 16}  # the shipped set, on small inputs
SHIPPED = tuple(
    dataclasses.replace(processor_config.variant_spec(output), max_edge=SHIPPED_EDGES[output.size])
    for output in contract.output_rules(contract.default_sizes())
)
EVERY_FORMAT = (  # every output format, with a still size sharing a resize with an animated one
    imaging.VariantSpec("big", 80, "png"),
    imaging.VariantSpec("big", 80, "webp", 80, webp_method=0),
    imaging.VariantSpec("mid", 40, "avif", 60, avif_speed=10),
    imaging.VariantSpec("mid", 40, "jpeg", 80, animate=False),
    imaging.VariantSpec("tiny", 12, "webp", 70, webp_method=0, animate=False),
)
LIMITS = imaging.Limits(
    allowed_formats=("JPEG", "PNG", "WEBP", "GIF", "HEIF", "AVIF"), max_bytes=10_000_000
)


def _gif_palette() -> bytes:
    return factory.encode(factory.photo_like((120, 90)).quantize(64), "GIF")


def _matrix_icc_jpeg() -> bytes:
    return factory.icc_jpeg((200, 40, 40), factory.matrix_icc_profile(), (150, 100))


INPUTS: dict[str, Callable[[], bytes]] = {
    "jpeg_photo": lambda: factory.photo_bytes((400, 300), "JPEG", quality=90),
    "jpeg_exif_orientation_6": lambda: factory.oriented_jpeg(6, (160, 96)),
    "jpeg_exif_orientation_3": lambda: factory.oriented_jpeg(3, (160, 96)),
    "jpeg_cmyk": lambda: factory.cmyk_jpeg((300, 200)),
    "jpeg_icc_matrix": _matrix_icc_jpeg,
    "png_rgba": lambda: factory.rgba_png((200, 100)),
    "png_16_bit": lambda: factory.sixteen_bit_png((256, 32)),
    "png_16_bit_transparent": lambda: factory.sixteen_bit_png_with_transparency((120, 60)),
    "png_palette_transparent": lambda: factory.palette_png_with_transparency((120, 60)),
    "png_grey_alpha": lambda: factory.greyscale_alpha_png((100, 80)),
    "gif_palette": _gif_palette,
    "gif_animated": lambda: factory.animated_gif((90, 60)),
    "webp_animated": lambda: factory.animated_webp((90, 60)),
    "webp_lossless": lambda: factory.webp((300, 200), lossless=True),
    "heic": lambda: factory.corpus("rainbow-451x461.heic"),
    "avif_rotated": lambda: factory.corpus("kimono.rotate90.avif"),
    "avif_animated": lambda: factory.corpus("star-8bpc.avifs"),
    "apng_dispose_previous": lambda: factory.corpus("dispose_op_previous.png"),
}


def made(result: imaging.ProcessedImage) -> tuple:
    """Everything a caller sees of a result, except the timings."""
    return (
        result.source,
        [(v.name, v.format, v.width, v.height, v.frames, v.data) for v in result.variants],
        result.notes,
        result.placeholder,
        result.animation,
    )


@pytest.mark.parametrize("variants", [SHIPPED, EVERY_FORMAT], ids=["shipped", "every_format"])
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_every_worker_count_makes_the_same_bytes(name: str, variants) -> None:
    data = INPUTS[name]()
    sequential = imaging.process_image(data, variants, LIMITS, workers=1)
    for workers in (2, 4):
        concurrent = imaging.process_image(data, variants, LIMITS, workers=workers)
        assert made(concurrent) == made(sequential), f"workers={workers}"
        assert set(concurrent.timings_ms) == set(sequential.timings_ms)


def test_an_animated_source_streams_its_variants_concurrently_with_the_same_info() -> None:
    frames = [anim.solid((48, 32), (40 * i, 90, 200 - 30 * i)) for i in range(5)]
    data = anim.webp(frames, [60, 70, 80, 90, 100], loop=3)
    sequential = imaging.process_image(data, EVERY_FORMAT, LIMITS)
    concurrent = imaging.process_image(data, EVERY_FORMAT, LIMITS, workers=3)
    assert sequential.animation is not None
    assert sequential.animation.frames == 5
    assert [v.frames for v in concurrent.variants] == [1, 5, 5, 1, 1]
    assert made(concurrent) == made(sequential)
    assert "animate" in concurrent.timings_ms


def test_a_colour_note_is_recorded_once_whatever_the_worker_count() -> None:
    data = factory.icc_jpeg((200, 40, 40), b"not an ICC profile at all" * 8, (150, 100))
    notes = {
        workers: imaging.process_image(data, SHIPPED, LIMITS, workers=workers).notes
        for workers in (1, 2, 4)
    }
    assert notes[1] == ("icc_profile_invalid",)
    assert notes[2] == notes[4] == notes[1]


def test_a_frame_missing_from_the_file_is_the_same_rejection_with_workers() -> None:
    data = factory.corpus("syntax_num_frames_high.png")  # APNG declaring more frames than it has
    with pytest.raises(imaging.ImageRejected) as sequential:
        imaging.process_image(data, EVERY_FORMAT, LIMITS, workers=1)
    with pytest.raises(imaging.ImageRejected) as concurrent:
        imaging.process_image(data, EVERY_FORMAT, LIMITS, workers=4)
    assert sequential.value.code == "truncated_image"
    assert (concurrent.value.code, str(concurrent.value), concurrent.value.detail) == (
        sequential.value.code,
        str(sequential.value),
        sequential.value.detail,
    )


def test_the_error_raised_is_the_first_in_sequential_order_not_in_time(monkeypatch) -> None:
    """The large JPEG's encode fails only after the thumb's has failed: the large one's error
    is still the one raised, as the sequential path (large before thumb) raises it."""
    thumb_failed = threading.Event()
    real_encode = imaging.encode

    def failing_encode(image, spec: imaging.VariantSpec) -> imaging.EncodedVariant:
        if (spec.name, spec.format) == ("thumb", "jpeg"):
            thumb_failed.set()
            raise imaging.ImageRejected("corrupt_image", "thumb failed")
        if (spec.name, spec.format) == ("large", "jpeg"):
            thumb_failed.wait(timeout=30)  # a guard against a hang, not a synchronisation
            raise RuntimeError("large failed")
        return real_encode(image, spec)

    monkeypatch.setattr(imaging, "encode", failing_encode)
    data = factory.photo_bytes((300, 200), "JPEG")
    with pytest.raises(RuntimeError, match="large failed"):
        imaging.process_image(data, SHIPPED, LIMITS, workers=1)
    thumb_failed.clear()
    with pytest.raises(RuntimeError, match="large failed"):
        imaging.process_image(data, SHIPPED, LIMITS, workers=4)
    assert thumb_failed.is_set()  # the thumb's encode did run and fail first


def test_a_resize_failure_stops_the_chain_and_is_raised(monkeypatch) -> None:
    calls: list[str] = []
    real_step = imaging.resize_step

    def failing_step(image, position, spec, *rest):
        calls.append(spec.name)
        if spec.name == "medium":
            raise MemoryError("medium resize")
        return real_step(image, position, spec, *rest)

    monkeypatch.setattr(imaging, "resize_step", failing_step)
    with pytest.raises(MemoryError, match="medium resize"):
        imaging.process_image(factory.photo_bytes((300, 200)), SHIPPED, LIMITS, workers=3)
    assert "thumb" not in calls


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(8, 160),
    height=st.integers(8, 160),
    edges=st.lists(st.integers(4, 200), min_size=1, max_size=4),
    formats=st.lists(st.sampled_from(["jpeg", "webp", "png"]), min_size=4, max_size=4),
    workers=st.integers(2, 5),
    seed=st.integers(0, 50),
)
def test_property_concurrent_equals_sequential(
    width: int, height: int, edges: list[int], formats: list[str], workers: int, seed: int
) -> None:
    variants = tuple(
        imaging.VariantSpec(f"s{index}", edge, formats[index], 80, webp_method=0)
        for index, edge in enumerate(edges)
    )
    data = factory.photo_bytes((width, height), "PNG" if seed % 2 else "JPEG", seed=seed)
    sequential = imaging.process_image(data, variants, LIMITS)
    concurrent = imaging.process_image(data, variants, LIMITS, workers=workers)
    assert made(concurrent) == made(sequential)


def test_timings_sum_the_overlapping_stages_and_give_the_phase_wall_time() -> None:
    result = imaging.process_image(factory.photo_bytes((400, 300)), SHIPPED, LIMITS, workers=2)
    timings = result.timings_ms
    assert set(timings) == {"decode", "resize", "encode", "placeholder", "variants"}
    assert all(value > 0 for value in timings.values())
    document = metrics.processed("NS", "svc", {**timings, "process": 1.0})
    names = {metric["Name"] for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"DecodeMs", "ResizeMs", "EncodeMs", "VariantsMs"} <= names


def test_a_task_group_waits_for_tasks_submitted_by_tasks_and_sums_their_stages() -> None:
    done: list[str] = []
    with TaskGroup(2) as group:

        def parent() -> None:
            for index in range(5):
                group.submit((1, index), "child", lambda index=index: done.append(f"c{index}"))
            done.append("parent")

        group.submit((0,), "parent", parent)
    assert sorted(done) == ["c0", "c1", "c2", "c3", "c4", "parent"]
    assert set(group.stage_ms) == {"parent", "child"}


def test_a_task_group_raises_the_earliest_failure_by_order() -> None:
    def fail(message: str) -> Callable[[], None]:
        def work() -> None:
            raise ValueError(message)

        return work

    def run() -> None:
        with TaskGroup(3) as group:
            group.submit((2, 0), "x", fail("third"))
            group.submit((1, 5), "x", fail("second"))
            group.submit((3,), "x", fail("fourth"))

    with pytest.raises(ValueError, match="second"):
        run()
    with pytest.raises(ValueError, match="at least 1"):
        TaskGroup(0)


def test_an_animated_avif_carries_no_clock_time() -> None:
    """libavif writes the wall clock into an image sequence's mvhd, tkhd and mdhd: the same
    frames gave other bytes each second (and a concurrent encode other bytes than a sequential
    one). The core sets those times to 0."""
    data = imaging.process_image(factory.animated_gif((90, 60)), SHIPPED, LIMITS).variants[0].data
    assert SHIPPED[0].format == "avif"
    times = dict(movie_times(data))
    assert set(times) == {b"mvhd", b"tkhd", b"mdhd"}
    assert set(times.values()) == {0}


def movie_times(data: bytes, start: int = 0, end: int | None = None):
    """(box, creation + modification time) of every mvhd, tkhd and mdhd (ISO/IEC 14496-12)."""
    end = len(data) if end is None else end
    position = start
    while position + 8 <= end:
        size = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        if kind in (b"moov", b"trak", b"mdia"):
            yield from movie_times(data, position + 8, position + size)
        elif kind in (b"mvhd", b"tkhd", b"mdhd"):
            width = 8 if data[position + 8] == 1 else 4
            fields = data[position + 12 : position + 12 + 2 * width]
            yield kind, int.from_bytes(fields, "big")
        position += size
