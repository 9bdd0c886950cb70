"""Property tests: damaged or arbitrary bytes yield valid outputs or ImageRejected, nothing else."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from processor import imaging
from support import images as factory

VARIANTS = (
    imaging.VariantSpec("big", 48, "jpeg", 80),
    imaging.VariantSpec("png", 24, "png"),
    imaging.VariantSpec("small", 12, "webp", 70, webp_method=0),
)
# small pixel budget: a mutated header cannot make a test allocate a huge canvas
LIMITS = imaging.Limits(max_pixels=250_000, max_bytes=200_000)

SEEDS = [
    factory.encode(factory.photo_like((64, 48)), "JPEG", quality=80),
    factory.encode(factory.photo_like((64, 48)), "JPEG", quality=80, progressive=True),
    factory.encode(factory.photo_like((40, 30)), "PNG"),
    factory.palette_png_with_transparency((40, 20)),
    factory.sixteen_bit_png((32, 8)),
    factory.animated_gif((30, 20)),
    factory.webp((40, 30)),
    factory.webp((40, 30), lossless=True),
    factory.oriented_jpeg(6, (40, 24)),
]


def assert_valid_outcome(data: bytes) -> None:
    try:
        result = imaging.process_image(data, VARIANTS, LIMITS)
    except imaging.ImageRejected as rejection:
        caught = rejection
    else:
        caught = None
    if caught is not None:
        assert caught.code in imaging.REJECTION_CODES
        assert caught.message
        return
    assert result.source.width > 0
    assert result.source.height > 0
    assert [variant.name for variant in result.variants] == ["big", "png", "small"]
    for spec, variant in zip(VARIANTS, result.variants, strict=True):
        expected = imaging.target_size(result.source.width, result.source.height, spec.max_edge)
        assert (variant.width, variant.height) == expected
        image = Image.open(io.BytesIO(variant.data))
        image.load()
        assert image.size == expected
        assert image.format == {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[spec.format]


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        action = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        position = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if action == "flip" and data:
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif action == "set" and data:
            data[position] = draw(st.integers(min_value=0, max_value=255))
        elif action == "truncate":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=16))]
    return bytes(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_images())
def test_mutated_images_give_valid_outputs_or_a_rejection(data: bytes) -> None:
    assert_valid_outcome(data)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_give_valid_outputs_or_a_rejection(data: bytes) -> None:
    assert_valid_outcome(data)


def test_every_seed_is_accepted() -> None:
    for seed in SEEDS:
        assert imaging.process_image(seed, VARIANTS, LIMITS).variants
