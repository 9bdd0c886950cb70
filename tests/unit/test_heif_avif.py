"""HEIC/HEIF and AVIF in, AVIF out, placeholders: real files from public corpora
(tests/support/corpus, LICENSE.md there), their container edits, and every rejection."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageChops, ImageStat

from processor import bmff, decode_budget, imaging
from support import hostile_work as hostile
from support import images as factory

VARIANTS = (
    imaging.VariantSpec("large", 1024, "jpeg", 85),
    imaging.VariantSpec("avif", 512, "avif", 70),
    imaging.VariantSpec("thumb", 64, "webp", 80),
)
LIMITS = imaging.Limits()
DISPLAY = {  # what a viewer does for EXIF orientation o (independent of imaging.py's table)
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def process(data: bytes, variants=VARIANTS, limits=LIMITS) -> imaging.ProcessedImage:
    return imaging.process_image(data, variants, limits)


def variant(result: imaging.ProcessedImage, name: str) -> Image.Image:
    found = next(v for v in result.variants if v.name == name)
    image = Image.open(io.BytesIO(found.data))
    image.load()
    return image


def psnr(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(value * value for value in ImageStat.Stat(diff).rms) / 3
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


def rejected(data: bytes, limits=LIMITS) -> imaging.ImageRejected:
    with pytest.raises(imaging.ImageRejected) as caught:
        process(data, limits=limits)
    return caught.value


# -- the corpus decodes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "size"),
    [
        (factory.HEIC_PHOTO, "HEIF", (451, 461)),
        (factory.HEIC_ALPHA, "HEIF", (512, 512)),
        (factory.AVIF_PHOTO, "AVIF", (722, 1024)),
        (factory.AVIF_ROTATE90, "AVIF", (722, 1024)),
        (factory.AVIF_MIRROR_ROTATE, "AVIF", (722, 1024)),
        (factory.AVIF_RED_TOP, "AVIF", (800, 800)),
        (factory.AVIF_SEQUENCE, "AVIF", (159, 159)),
    ],
)
def test_corpus_files_are_processed(name: str, fmt: str, size: tuple[int, int]) -> None:
    result = process(factory.corpus(name))
    assert (result.source.format, result.source.width, result.source.height) == (fmt, *size)
    assert [v.content_type for v in result.variants] == ["image/jpeg", "image/avif", "image/webp"]
    assert variant(result, "avif").format == "AVIF"
    assert result.placeholder is not None


def test_heic_alpha_is_kept_for_avif_and_webp() -> None:
    result = process(factory.corpus(factory.HEIC_ALPHA))
    assert variant(result, "avif").mode == "RGBA"
    assert variant(result, "thumb").mode == "RGBA"
    assert variant(result, "large").mode == "RGB"  # JPEG: flattened on white


# -- orientation: irot/imir (and EXIF) applied exactly once -------------------------------


@pytest.mark.parametrize("name", [factory.AVIF_ROTATE90, factory.AVIF_MIRROR_ROTATE])
def test_real_irot_imir_files_come_out_like_the_untransformed_one(name: str) -> None:
    upright = variant(process(factory.corpus(factory.AVIF_PHOTO)), "large")
    transformed = variant(process(factory.corpus(name)), "large")
    assert psnr(transformed, upright) > 30


@pytest.mark.parametrize(
    ("real", "irot", "imir"),
    [(factory.AVIF_ROTATE90, 3, None), (factory.AVIF_MIRROR_ROTATE, 1, 0)],
)
def test_container_edits_read_back_like_the_real_transformed_files(real, irot, imir) -> None:
    """with_heif_transform writes irot/imir as the corpus' encoder did (same orientation)."""
    edited = factory.with_heif_transform(factory.corpus(factory.AVIF_PHOTO), irot, imir)
    assert (
        bmff.read_header(edited).primary_transforms
        == bmff.read_header(factory.corpus(real)).primary_transforms
    )
    orientation = Image.open(io.BytesIO(edited)).getexif().get(0x0112)
    assert orientation == Image.open(io.BytesIO(factory.corpus(real))).getexif().get(0x0112)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("name", [factory.HEIC_PHOTO, factory.AVIF_RED_TOP])
def test_every_container_orientation_is_applied_once(name: str, orientation: int) -> None:
    plain = variant(process(factory.corpus(name)), "large")
    oriented = process(factory.oriented_heif(name, orientation))
    expected = plain if orientation == 1 else plain.transpose(DISPLAY[orientation])
    got = variant(oriented, "large")
    assert (oriented.source.width, oriented.source.height) == got.size == expected.size
    assert psnr(got, expected) > 30


def test_heif_exif_orientation_is_never_applied_on_top_of_irot(monkeypatch) -> None:
    """libheif has applied irot/imir; an EXIF orientation (as iPhones write) is informational."""
    monkeypatch.setattr(imaging, "read_orientation", lambda image: 6)
    oriented = factory.oriented_heif(factory.HEIC_PHOTO, 6)
    monkeypatch.undo()
    expected = variant(process(oriented), "large")
    monkeypatch.setattr(imaging, "read_orientation", lambda image: 6)
    assert psnr(variant(process(oriented), "large"), expected) > 60


# -- limits and rejections ----------------------------------------------------------------


@pytest.mark.parametrize("name", [factory.HEIC_PHOTO, factory.AVIF_PHOTO])
def test_huge_claimed_dimensions_are_refused_before_decoding(name: str, monkeypatch) -> None:
    def no_decoder(*args, **kwargs):
        raise AssertionError("the decoder must not see this file")

    monkeypatch.setattr(Image, "open", no_decoder)
    error = rejected(factory.heif_with_size(factory.corpus(name), 60_000, 60_000))
    assert error.code == "too_many_pixels"
    assert "60000x60000" in (error.detail or "")


@pytest.mark.parametrize("name", [factory.HEIC_PHOTO, factory.AVIF_PHOTO, factory.AVIF_SEQUENCE])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_files_are_truncated_image(name: str, keep: float) -> None:
    data = factory.corpus(name)
    assert rejected(data[: int(len(data) * keep)]).code == "truncated_image"


def test_a_header_without_its_image_data_is_truncated() -> None:
    data = factory.corpus(factory.HEIC_PHOTO)
    mdat = data.find(b"mdat") - 4
    assert rejected(data[:mdat]).code == "truncated_image"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (
            factory.heif_with_brand(factory.corpus(factory.HEIC_PHOTO), b"isom"),
            "unsupported_format",
        ),
        (factory.heif_with_brand(factory.corpus(factory.HEIC_PHOTO), b"avif"), "corrupt_image"),
        (factory.heif_with_brand(factory.corpus(factory.AVIF_PHOTO), b"heic"), "corrupt_image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00heicmif1" + b"\x00" * 64, "corrupt_image"),
        (factory.text_file(), "not_an_image"),
    ],
    ids=["mp4-video", "hevc-labelled-avif", "av1-labelled-heic", "heic-without-meta", "text"],
)
def test_mislabelled_files_are_rejected_with_specific_codes(data: bytes, code: str) -> None:
    assert rejected(data).code == code


def test_heif_and_avif_obey_the_format_allow_list() -> None:
    limits = imaging.Limits(allowed_formats=("JPEG", "PNG"))
    assert rejected(factory.corpus(factory.HEIC_PHOTO), limits).code == "unsupported_format"
    assert rejected(factory.corpus(factory.AVIF_PHOTO), limits).code == "unsupported_format"


def test_a_sequence_is_handled_like_a_gif_first_image_only() -> None:
    result = process(factory.corpus(factory.AVIF_SEQUENCE))
    first = Image.open(io.BytesIO(factory.corpus(factory.AVIF_SEQUENCE))).convert("RGB")
    assert psnr(variant(result, "large").convert("RGB"), first) > 30
    assert bmff.read_header(factory.corpus(factory.AVIF_SEQUENCE)).samples == 5


@pytest.mark.parametrize(
    ("work", "code"),
    [
        (decode_budget.WorkLimits(max_frames=4), "too_many_frames"),
        (decode_budget.WorkLimits(max_bmff_boxes=10), "too_many_chunks"),
        (decode_budget.WorkLimits(max_heif_items=0), "too_many_items"),
        (decode_budget.WorkLimits(max_icc_bytes=100), "icc_profile_too_large"),
    ],
)
def test_decode_work_bounds_cover_heif_structures(work, code) -> None:
    limits = imaging.Limits(work=work)
    name = factory.AVIF_SEQUENCE if code == "too_many_frames" else factory.HEIC_PHOTO
    assert rejected(factory.corpus(name), limits).code == code


# -- the structure walk: once, after the allow-list, its checks however it ends ------------


def count_walks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    walks: list[int] = []
    original = bmff.read_header

    def counting(data, *args, **kwargs):
        walks.append(len(data))
        return original(data, *args, **kwargs)

    monkeypatch.setattr(bmff, "read_header", counting)
    return walks


@pytest.mark.parametrize("name", [factory.HEIC_PHOTO, factory.AVIF_PHOTO, factory.AVIF_SEQUENCE])
def test_the_header_is_walked_once(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    walks = count_walks(monkeypatch)
    process(factory.corpus(name))
    assert len(walks) == 1


@pytest.mark.parametrize(
    "data",
    [
        hostile.zero_width_iloc_avif(2000),
        factory.corpus(factory.HEIC_PHOTO),
        factory.heif_with_brand(factory.corpus(factory.HEIC_PHOTO), b"isom"),
    ],
    ids=["hostile-avif", "heic", "mp4"],
)
def test_a_format_not_allowed_is_refused_before_any_walk(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    walks = count_walks(monkeypatch)
    assert rejected(data, imaging.Limits(allowed_formats=("JPEG",))).code == "unsupported_format"
    assert walks == []


def test_a_jpeg_only_deployment_never_walks_other_structures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walked: list[str] = []
    for name in ("PNG", "GIF", "WEBP"):
        monkeypatch.setitem(decode_budget._WALKERS, name, lambda *args, n=name: walked.append(n))
    monkeypatch.setattr(decode_budget, "_inspect_bmff", lambda *args: walked.append("BMFF"))
    limits = imaging.Limits(allowed_formats=("JPEG",))
    for data in (
        factory.rgba_png(),
        factory.animated_gif(),
        factory.webp(),
        factory.corpus(factory.AVIF_PHOTO),
    ):
        assert rejected(data, limits).code == "unsupported_format"
    assert walked == []
    imaging.decode(factory.rgba_png(), (), imaging.Limits())  # the same walks, when allowed
    assert walked == ["PNG"]


@pytest.mark.parametrize("name", [factory.HEIC_PHOTO, factory.AVIF_PHOTO])
def test_a_trailing_junk_box_is_read_past_like_the_decoders_do(name: str) -> None:
    """The walk stops at a top-level box whose size is below its header; libheif and Pillow
    decode the file regardless, and so does the processor."""
    data = hostile.heic_with_trailing_junk(factory.corpus(name))
    assert bmff.read_header(data).stopped_depth == 0
    assert process(data).source.width > 0


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda data: factory.heif_with_size(data, 7000, 7000), "too_many_pixels"),
        (lambda data: data[:-200], "truncated_image"),
    ],
    ids=["49-MP-claim", "cut-short"],
)
def test_the_final_checks_run_when_the_walk_stops_early(edit, code) -> None:
    data = hostile.heic_with_trailing_junk(edit(factory.corpus(factory.HEIC_PHOTO)))
    assert bmff.read_header(data).stopped is not None or code == "truncated_image"
    assert rejected(data).code == code


def test_a_walk_stopped_inside_a_box_is_a_corrupt_image() -> None:
    """An iloc that declares more items than its bytes hold: libheif refuses it too."""
    data = hostile.avif_with_meta(hostile.bmff_full_box(b"iloc", 0, b"\x44\x00\x00\x05\x00\x01"))
    header = bmff.read_header(data)
    assert header.stopped_depth
    assert rejected(data).code == "corrupt_image"


# -- outputs: metadata-free, deterministic AVIF; placeholders ------------------------------


@pytest.mark.parametrize("name", [factory.HEIC_PHOTO, factory.AVIF_RED_TOP])
def test_outputs_carry_no_metadata(name: str) -> None:
    for encoded in process(factory.corpus(name)).variants:
        image = Image.open(io.BytesIO(encoded.data))
        assert not {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"} & set(image.info)
        assert not image.getexif()
        if encoded.format == "avif":
            assert bmff.read_header(encoded.data).items == 1  # the image, no Exif or XMP item


def test_avif_output_is_deterministic() -> None:
    data = factory.corpus(factory.HEIC_PHOTO)
    assert [v.data for v in process(data).variants] == [v.data for v in process(data).variants]


def test_placeholder_describes_the_upright_image() -> None:
    result = process(factory.oriented_heif(factory.HEIC_PHOTO, 6))
    assert result.placeholder is not None
    assert result.placeholder.aspect_ratio == round(461 / 451, 4)
    assert result.placeholder.color.startswith("#")
    assert len(result.placeholder.color) == 7
    assert 20 <= len(result.placeholder.thumbhash) <= 48
