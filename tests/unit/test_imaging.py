"""The pure image core: formats, orientation, colour, metadata, sizes, rejections, quality."""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import subprocess
import sys

import pytest
from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat

from processor import imaging
from support import images as factory
from support.pipeline import REPO

VARIANTS = (
    imaging.VariantSpec("large", 1024, "jpeg", 85),
    imaging.VariantSpec("medium", 512, "png"),
    imaging.VariantSpec("thumb", 32, "webp", 80),
)
LIMITS = imaging.Limits()


def process(data: bytes, variants=VARIANTS, limits=LIMITS) -> imaging.ProcessedImage:
    return imaging.process_image(data, variants, limits)


def opened(variant: imaging.EncodedVariant) -> Image.Image:
    image = Image.open(io.BytesIO(variant.data))
    image.load()
    return image


def by_name(result: imaging.ProcessedImage) -> dict[str, imaging.EncodedVariant]:
    return {variant.name: variant for variant in result.variants}


def rgb_at(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    """Pixel at a fraction of the width and height, as RGB."""
    pixel = image.convert("RGB").getpixel(
        (min(image.width - 1, int(x * image.width)), min(image.height - 1, int(y * image.height)))
    )
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 30) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(value * value for value in ImageStat.Stat(diff).rms) / 3
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


# -- accepted inputs ----------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation: int) -> None:
    result = process(factory.oriented_jpeg(orientation, size=(160, 96)))

    assert (result.source.width, result.source.height) == (160, 96)
    for variant in result.variants:
        image = opened(variant)
        assert image.width > image.height, f"{variant.name} is not landscape"
        assert close(rgb_at(image, 0.05, 0.05), factory.RED), variant.name
        for corner in ((0.95, 0.05), (0.05, 0.95), (0.95, 0.95)):
            assert close(rgb_at(image, *corner), factory.BLUE), (variant.name, corner)


@pytest.mark.parametrize("orientation", [6, 8, 5])
def test_orientation_survives_jpeg_draft_scaling(orientation: int) -> None:
    # big enough that libjpeg decodes at a reduced DCT scale
    upright = factory.upright_with_marker((2000, 1200))
    inverse = factory.INVERSE_OF_ORIENTATION[orientation]
    assert inverse is not None
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = factory.encode(upright.transpose(inverse), "JPEG", quality=90, exif=exif.tobytes())
    variants = (imaging.VariantSpec("small", 200, "png"),)

    decoded, _, _, _ = imaging.decode(data, variants, LIMITS)
    assert max(decoded.size) < 2000, "draft did not reduce the decoded size"
    image = opened(process(data, variants).variants[0])

    assert image.size == (200, 120)
    assert close(rgb_at(image, 0.05, 0.05), factory.RED)
    assert close(rgb_at(image, 0.95, 0.95), factory.BLUE)


def test_progressive_jpeg() -> None:
    result = process(factory.progressive_jpeg((400, 300)))
    large = opened(by_name(result)["large"])
    assert large.size == (400, 300)
    assert close(rgb_at(large, 0.05, 0.05), factory.RED)


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    result = process(factory.cmyk_jpeg())
    assert result.source.format == "JPEG"
    for variant in result.variants:
        image = opened(variant)
        assert image.mode in ("RGB", "RGBA")
        assert close(rgb_at(image, 0.5, 0.5), (255, 0, 0)), variant.name


def test_png_alpha_is_kept_for_png_and_webp_and_flattened_on_white_for_jpeg() -> None:
    result = by_name(process(factory.rgba_png((200, 100))))

    jpeg = opened(result["large"])
    assert jpeg.mode == "RGB"
    assert close(rgb_at(jpeg, 0.25, 0.5), factory.RED)
    assert close(rgb_at(jpeg, 0.75, 0.5), factory.WHITE, tolerance=3)

    for name in ("medium", "thumb"):
        image = opened(result[name])
        assert image.mode == "RGBA", name
        assert image.getpixel((image.width // 4, image.height // 2))[3] == 255
        assert image.getpixel((image.width * 3 // 4, image.height // 2))[3] == 0


def test_palette_png_with_transparency() -> None:
    result = by_name(process(factory.palette_png_with_transparency((120, 60))))

    png = opened(result["medium"])
    assert png.mode == "RGBA"
    assert png.getpixel((10, 30))[3] == 0
    assert close(png.getpixel((110, 30))[:3], factory.GREEN, tolerance=2)
    jpeg = opened(result["large"])
    assert close(rgb_at(jpeg, 0.1, 0.5), factory.WHITE, tolerance=3)
    assert close(rgb_at(jpeg, 0.9, 0.5), factory.GREEN)


def test_sixteen_bit_grey_png_keeps_its_transparency() -> None:
    result = by_name(process(factory.sixteen_bit_png_with_transparency((120, 60))))

    for name in ("medium", "thumb"):  # PNG and WebP keep the alpha channel
        image = opened(result[name]).convert("LA")
        assert image.getpixel((2, image.height // 2))[1] == 0, name
        assert image.getpixel((image.width - 3, image.height // 2))[1] == 255, name
    jpeg = opened(result["large"])  # JPEG: transparent pixels flattened onto white, not black
    assert close(rgb_at(jpeg, 0.1, 0.5), factory.WHITE, tolerance=3)
    assert close(rgb_at(jpeg, 0.9, 0.5), (194, 194, 194), tolerance=4)


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    image = opened(by_name(process(factory.sixteen_bit_png((256, 32))))["medium"])

    assert image.size == (256, 32)
    grey = image.convert("L")
    left, middle, right = (grey.getpixel((x, 16)) for x in (2, 128, 253))
    assert left < 10
    assert 110 < middle < 145, "16-bit values were clipped instead of scaled"
    assert right > 245


@pytest.mark.parametrize(
    ("data", "expected_grey"),
    [
        (factory.greyscale_png(level=128), 128),
        (factory.bilevel_png(), None),
    ],
    ids=["L", "1"],
)
def test_greyscale_and_bilevel_png(data: bytes, expected_grey: int | None) -> None:
    result = process(data)
    for variant in result.variants:
        image = opened(variant)
        assert image.mode in ("L", "RGB", "RGBA", "LA"), variant.name
        if expected_grey is not None:
            assert close(rgb_at(image, 0.5, 0.5), (expected_grey,) * 3, tolerance=3)


@pytest.mark.parametrize(
    ("image", "mode", "probe"),
    [
        (Image.new("F", (4, 4), 0.5), "L", 128),  # 0..1 floats
        (Image.new("F", (4, 4), 200.0), "L", 200),  # 0..255 floats
        (Image.new("I", (4, 4), 40000), "L", 156),  # 16-bit range in a 32-bit image
        (Image.new("I", (4, 4), 100), "L", 100),  # 8-bit range in a 32-bit image
        (Image.new("I;16", (4, 4), 65535), "L", 255),
        (Image.new("I;16B", (4, 4), 32896), "L", 128),
        (Image.new("1", (4, 4), 1), "L", 255),
        (Image.new("La", (4, 4), (100, 255)), "LA", (100, 255)),
        (Image.new("RGBa", (4, 4), (10, 20, 30, 255)), "RGBA", (10, 20, 30, 255)),
        (Image.new("RGBX", (4, 4), (10, 20, 30, 0)), "RGB", (10, 20, 30)),
        (Image.new("YCbCr", (4, 4), (128, 128, 128)), "RGB", (128, 128, 128)),
        (Image.new("PA", (4, 4), (0, 7)), "RGBA", None),
        (Image.new("CMYK", (4, 4), (0, 0, 0, 0)), "CMYK", (0, 0, 0, 0)),
    ],
    ids=lambda value: value.mode if isinstance(value, Image.Image) else None,
)
def test_every_colour_mode_is_normalised(image: Image.Image, mode: str, probe) -> None:
    normalised = imaging.normalise_mode(image)
    assert normalised.mode == mode
    if probe is not None:
        got = normalised.getpixel((1, 1))
        assert got == probe or (isinstance(got, int) and abs(got - probe) <= 1), got


def test_unconvertible_colour_mode_is_rejected(monkeypatch) -> None:
    image = Image.new("HSV", (2, 2))

    def cannot_convert(*args, **kwargs):
        raise ValueError("conversion not supported")

    monkeypatch.setattr(image, "convert", cannot_convert)
    with pytest.raises(imaging.ImageRejected) as caught:
        imaging.normalise_mode(image)
    assert caught.value.code == "unsupported_format"


def test_greyscale_with_alpha_png() -> None:
    result = by_name(process(factory.greyscale_alpha_png()))
    png = opened(result["medium"])
    assert png.mode in ("LA", "RGBA")
    assert abs(png.getpixel((5, 5))[-1] - 128) <= 1
    jpeg = opened(result["large"])  # 60 at 50% over white
    assert abs(jpeg.convert("L").getpixel((5, 5)) - 157) <= 4


@pytest.mark.parametrize("builder", [factory.animated_gif, factory.animated_webp])
def test_animation_uses_the_first_frame(builder) -> None:
    result = process(builder((90, 60)))
    for variant in result.variants:
        assert close(rgb_at(opened(variant), 0.5, 0.5), factory.RED), variant.name


def test_multi_picture_jpeg_counts_as_jpeg_and_uses_the_first_picture() -> None:
    result = process(factory.mpo((120, 80)))
    assert result.source == imaging.SourceInfo("JPEG", 120, 80)
    assert close(rgb_at(opened(result.variants[0]), 0.5, 0.5), factory.RED)


def test_webp_input() -> None:
    result = process(factory.webp((300, 200)))
    assert result.source == imaging.SourceInfo("WEBP", 300, 200)
    assert close(rgb_at(opened(by_name(result)["large"]), 0.05, 0.05), factory.RED)


def test_one_by_one_pixel() -> None:
    result = process(factory.encode(factory.solid((1, 1), factory.GREEN), "PNG"))
    for variant in result.variants:
        image = opened(variant)
        assert image.size == (1, 1)
        assert close(rgb_at(image, 0, 0), factory.GREEN)


def test_extreme_aspect_ratio_keeps_at_least_one_pixel() -> None:
    result = by_name(process(factory.encode(factory.solid((10000, 10)), "PNG")))
    assert (result["large"].width, result["large"].height) == (1024, 1)
    assert (result["medium"].width, result["medium"].height) == (512, 1)
    assert (result["thumb"].width, result["thumb"].height) == (32, 1)
    assert opened(result["thumb"]).size == (32, 1)


def test_never_upscales() -> None:
    result = process(factory.jpeg((30, 20)))
    assert {(variant.width, variant.height) for variant in result.variants} == {(30, 20)}
    for variant in result.variants:
        assert opened(variant).size == (30, 20)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((4000, 3000), {"large": (1024, 768), "medium": (512, 384), "thumb": (32, 24)}),
        ((3000, 4000), {"large": (768, 1024), "medium": (384, 512), "thumb": (24, 32)}),
        ((1000, 333), {"large": (1000, 333), "medium": (512, 170), "thumb": (32, 11)}),
        ((600, 600), {"large": (600, 600), "medium": (512, 512), "thumb": (32, 32)}),
    ],
)
def test_variant_sizes_are_exact(source, expected) -> None:
    result = process(factory.jpeg(source))
    for variant in result.variants:
        assert (variant.width, variant.height) == expected[variant.name]
        assert opened(variant).size == expected[variant.name]
        assert (
            opened(variant).format == {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[variant.format]
        )


def test_outputs_follow_the_requested_order_and_carry_types() -> None:
    variants = (
        imaging.VariantSpec("b-small", 64, "webp", 70, webp_method=0),
        imaging.VariantSpec("a-big", 256, "png"),
        imaging.VariantSpec("c-mid", 128, "jpeg", 60),
    )
    result = process(factory.jpeg((800, 600)), variants)
    assert [variant.name for variant in result.variants] == ["b-small", "a-big", "c-mid"]
    assert [(v.content_type, v.extension) for v in result.variants] == [
        ("image/webp", "webp"),
        ("image/png", "png"),
        ("image/jpeg", "jpg"),
    ]
    assert set(result.timings_ms) == {"decode", "resize", "encode", "placeholder", "variants"}


CHILD_PROCESS = r"""
import hashlib, sys
from processor import imaging
fmt = sys.argv[1]
variants = [imaging.VariantSpec("big", 640, fmt, 80), imaging.VariantSpec("small", 160, fmt, 80)]
result = imaging.process_image(sys.stdin.buffer.read(), variants, imaging.Limits())
print(" ".join(hashlib.sha256(v.data).hexdigest() for v in result.variants))
"""


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "png", "avif"])
@pytest.mark.parametrize("source", ["jpeg-with-exif", "rgba-png"])
def test_every_output_format_is_byte_identical_when_processed_again(fmt: str, source: str) -> None:
    """Duplicate events and later reprocessing rely on it: the same original gives the same
    bytes, in this process and in a fresh interpreter (a new execution environment)."""
    data = (
        factory.gps_exif_jpeg((900, 600))
        if source == "jpeg-with-exif"
        else factory.encode(factory.photo_like((900, 600)).convert("RGBA"), "PNG")
    )
    variants = (
        imaging.VariantSpec("big", 640, fmt, 80),
        imaging.VariantSpec("small", 160, fmt, 80),
    )
    first, second = process(data, variants), process(data, variants)
    child = subprocess.run(
        [sys.executable, "-c", CHILD_PROCESS, fmt],
        input=data,
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "lambda_src")},
    )

    assert [v.data for v in first.variants] == [v.data for v in second.variants]
    assert child.stdout.decode().split() == [
        hashlib.sha256(v.data).hexdigest() for v in first.variants
    ]


# -- orientation recorded only in XMP (tiff:Orientation), as ImageOps.exif_transpose -----

XMP_TEMPLATE = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"{attribute}>'
    "{element}</rdf:Description></rdf:RDF></x:xmpmeta>"
    '<?xpacket end="w"?>'
)


def xmp_packet(orientation: int, form: str) -> bytes:
    """An XMP packet carrying ``tiff:Orientation`` as an attribute or as an element."""
    if form == "attribute":
        text = XMP_TEMPLATE.format(attribute=f' tiff:Orientation="{orientation}"', element="")
    else:
        element = f"<tiff:Orientation>{orientation}</tiff:Orientation>"
        text = XMP_TEMPLATE.format(attribute="", element=element)
    return text.encode()


def with_orientation_metadata(
    fmt: str, stored: Image.Image, xmp: bytes | None, exif_orientation: int | None = None
) -> bytes:
    """``stored`` encoded as ``fmt`` with an XMP packet and/or an EXIF orientation."""
    params: dict[str, object] = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        params["exif"] = exif.tobytes()
    if fmt == "PNG":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        if xmp is not None:
            info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        params["pnginfo"] = info
    elif xmp is not None:
        params["xmp"] = xmp
    if fmt == "WEBP":
        params["lossless"] = True
    if fmt in ("JPEG", "AVIF"):
        params["quality"] = 95
    return factory.encode(stored, fmt, **params)


def assert_upright(result: imaging.ProcessedImage) -> None:
    """The marker image (160x96, red block top-left, blue elsewhere) in every variant."""
    assert (result.source.width, result.source.height) == (160, 96)
    for variant in result.variants:
        image = opened(variant)
        assert image.width > image.height, f"{variant.name} is not landscape"
        assert close(rgb_at(image, 0.05, 0.05), factory.RED), variant.name
        for corner in ((0.95, 0.05), (0.05, 0.95), (0.95, 0.95)):
            assert close(rgb_at(image, *corner), factory.BLUE), (variant.name, corner)


XMP_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF")
EVERY_FORMAT_LIMITS = imaging.Limits(allowed_formats=("JPEG", "PNG", "WEBP", "GIF", "AVIF"))


@pytest.mark.parametrize("fmt", XMP_FORMATS)
@pytest.mark.parametrize("form", ["attribute", "element"])
@pytest.mark.parametrize("orientation", [2, 3, 6, 8])
def test_an_xmp_only_orientation_is_applied_once(fmt: str, form: str, orientation: int) -> None:
    inverse = factory.INVERSE_OF_ORIENTATION[orientation]
    assert inverse is not None
    stored = factory.upright_with_marker((160, 96)).transpose(inverse)
    data = with_orientation_metadata(fmt, stored, xmp_packet(orientation, form))

    original = Image.open(io.BytesIO(data))
    assert "xmp" in original.info or "XML:com.adobe.xmp" in original.info
    assert "exif" not in original.info
    transposed = ImageOps.exif_transpose(original)  # Pillow's reading, for reference
    assert transposed.size == (160, 96)
    assert close(rgb_at(transposed, 0.05, 0.05), factory.RED)
    assert_upright(process(data, limits=EVERY_FORMAT_LIMITS))


@pytest.mark.parametrize(
    ("fmt", "exif_orientation"),
    # Pillow's AVIF encoder turns an EXIF orientation into irot/imir and drops an EXIF block
    # whose orientation is 1, so an AVIF "EXIF 1 + XMP 3" file cannot be written.
    [(fmt, 1) for fmt in XMP_FORMATS if fmt != "AVIF"] + [(fmt, 6) for fmt in XMP_FORMATS],
)
def test_exif_orientation_wins_over_xmp(fmt: str, exif_orientation: int) -> None:
    """EXIF says ``exif_orientation``, XMP says 3: the EXIF one is applied, once (as Pillow's
    ImageOps.exif_transpose reads them: EXIF first, XMP only when EXIF has no orientation)."""
    inverse = factory.INVERSE_OF_ORIENTATION[exif_orientation]
    upright = factory.upright_with_marker((160, 96))
    stored = upright if inverse is None else upright.transpose(inverse)
    data = with_orientation_metadata(fmt, stored, xmp_packet(3, "attribute"), exif_orientation)

    assert_upright(process(data, limits=EVERY_FORMAT_LIMITS))


# -- colour management --------------------------------------------------------------------


def expected_srgb(colour: tuple[int, int, int], profile: bytes) -> tuple[int, ...]:
    pixel = Image.new("RGB", (1, 1), colour)
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    srgb = ImageCms.createProfile("sRGB")
    converted = ImageCms.profileToProfile(pixel, source, srgb, outputMode="RGB")
    assert converted is not None
    return converted.getpixel((0, 0))


@pytest.mark.parametrize("builder", [factory.icc_png, factory.icc_jpeg])
def test_adobe_rgb_is_converted_to_srgb(builder) -> None:
    adobe = factory.matrix_icc_profile()
    colour = (100, 180, 100)  # a green well inside Adobe RGB, more saturated in sRGB
    want = expected_srgb(colour, adobe)
    assert abs(want[0] - colour[0]) > 40, "test colour must change visibly"

    result = process(builder(colour, adobe))

    assert result.notes == ()
    for variant in result.variants:
        got = rgb_at(opened(variant), 0.5, 0.5)
        assert close(got, want, tolerance=8), (variant.name, got, want)
        assert not close(got, colour, tolerance=20), variant.name


def test_pure_adobe_green_is_mapped_into_srgb() -> None:
    adobe = factory.matrix_icc_profile()
    want = expected_srgb((0, 160, 0), adobe)
    got = rgb_at(opened(process(factory.icc_png((0, 160, 0), adobe)).variants[1]), 0.5, 0.5)
    assert close(got, want, tolerance=2)
    assert got != (0, 160, 0)


@pytest.mark.parametrize("mode", ["L", "LA"])
def test_grey_profile_is_converted_to_srgb(mode: str) -> None:
    # 50% in linear light is about 188 in sRGB, so an untouched 128 would be wrong
    colour = 128 if mode == "L" else (128, 255)
    data = factory.encode(
        factory.solid((60, 40), colour, mode), "PNG", icc_profile=factory.grey_icc_profile()
    )
    result = process(data)
    assert result.notes == ()
    for variant in result.variants:
        got = rgb_at(opened(variant), 0.5, 0.5)
        assert close(got, (188, 188, 188), tolerance=4), (variant.name, got)


def test_icc_profile_of_the_wrong_colour_space_is_ignored() -> None:
    data = factory.icc_png((10, 200, 30), factory.grey_icc_profile())
    result = process(data)
    assert "icc_profile_mismatch" in result.notes
    assert close(rgb_at(opened(result.variants[1]), 0.5, 0.5), (10, 200, 30), tolerance=1)


def test_srgb_profile_keeps_colours() -> None:
    result = process(factory.icc_png((100, 180, 100), factory.srgb_icc_profile()))
    assert close(rgb_at(opened(result.variants[1]), 0.5, 0.5), (100, 180, 100), tolerance=1)


def test_broken_icc_profile_is_ignored_and_reported() -> None:
    result = process(factory.icc_jpeg((0, 200, 0), b"definitely not an ICC profile" * 4))
    assert "icc_profile_invalid" in result.notes
    assert close(rgb_at(opened(result.variants[0]), 0.5, 0.5), (0, 200, 0), tolerance=10)


# -- metadata -----------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[int]:
    """Marker bytes of the JPEG header segments up to the start of scan."""
    markers, position = [], 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:
            break
        markers.append(marker)
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], 8
    while position + 8 <= len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        chunks.append(data[position + 4 : position + 8])
        position += 12 + length
    return chunks


def riff_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], 12
    while position + 8 <= len(data):
        length = struct.unpack("<I", data[position + 4 : position + 8])[0]
        chunks.append(data[position : position + 4])
        position += 8 + length + (length & 1)
    return chunks


@pytest.mark.parametrize(
    "source",
    [factory.gps_exif_jpeg, lambda: factory.oriented_jpeg(6)],
    ids=["gps-xmp-comment-icc", "orientation"],
)
def test_no_metadata_in_any_output(source) -> None:
    data = source()
    assert b"Exif" in data
    all_formats = (
        imaging.VariantSpec("j", 300, "jpeg", 85),
        imaging.VariantSpec("p", 200, "png"),
        imaging.VariantSpec("w", 100, "webp", 80),
    )
    for variant in process(data, all_formats).variants:
        image = opened(variant)
        for key in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "dpi"):
            assert key not in image.info, (variant.name, key)
        assert len(image.getexif()) == 0, variant.name
        for needle in (b"Exif", b"SECRET", b"GPS", b"ICC_PROFILE", b"xmpmeta", b"adobe:ns"):
            assert needle not in variant.data, (variant.name, needle)
        if variant.format == "jpeg":
            assert set(jpeg_segments(variant.data)) <= {0xE0, 0xDB, 0xC0, 0xC4, 0xDD}, [
                hex(m) for m in jpeg_segments(variant.data)
            ]
        elif variant.format == "png":
            assert set(png_chunks(variant.data)) <= {b"IHDR", b"IDAT", b"IEND", b"PLTE", b"tRNS"}
        else:
            assert set(riff_chunks(variant.data)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}


# -- rejections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (factory.random_bytes(), "not_an_image"),
        (factory.text_file(), "not_an_image"),
        (factory.truncated_jpeg(), "truncated_image"),
        (factory.truncated_png(), "truncated_image"),
        (factory.png_bomb(), "too_many_pixels"),
        (factory.bmp(), "unsupported_format"),
        (factory.tiff(), "unsupported_format"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 64, "corrupt_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "corrupt_image"),
    ],
    ids=[
        "zero-bytes",
        "random-bytes",
        "text",
        "truncated-jpeg",
        "truncated-png",
        "png-bomb",
        "bmp",
        "tiff",
        "jpeg-garbage-header",
        "png-garbage-header",
    ],
)
def test_bad_inputs_are_rejected_with_a_specific_code(data: bytes, code: str) -> None:
    with pytest.raises(imaging.ImageRejected) as caught:
        process(data)
    assert caught.value.code == code
    assert caught.value.code in imaging.REJECTION_CODES
    assert caught.value.message


def test_format_allow_list_comes_from_limits() -> None:
    only_png = imaging.Limits(allowed_formats=("PNG",))
    with pytest.raises(imaging.ImageRejected) as caught:
        process(factory.jpeg((40, 30)), limits=only_png)
    assert caught.value.code == "unsupported_format"
    assert process(factory.greyscale_png(), limits=only_png).source.format == "PNG"


def test_file_over_max_bytes_is_rejected_before_decoding() -> None:
    with pytest.raises(imaging.ImageRejected) as caught:
        process(factory.jpeg((40, 30)), limits=imaging.Limits(max_bytes=100))
    assert caught.value.code == "too_large"


@pytest.mark.parametrize("size", [(41, 30), (100, 100)], ids=["just-over", "over-twice"])
def test_pixel_limit_is_enforced_before_decoding(size) -> None:
    # 41x30 = 1230 > 1200: only Pillow's DecompressionBombWarning (turned into an error)
    # or our own check can catch it; 100x100 is over twice the limit (DecompressionBombError).
    limits = imaging.Limits(max_pixels=1200)
    with pytest.raises(imaging.ImageRejected) as caught:
        process(factory.encode(factory.solid(size), "PNG"), limits=limits)
    assert caught.value.code == "too_many_pixels"
    assert process(factory.encode(factory.solid((40, 30)), "PNG"), limits=limits).variants


def test_pixel_limit_does_not_leak_into_pillow_globally() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(imaging.ImageRejected):
        process(factory.png_bomb())
    assert before == Image.MAX_IMAGE_PIXELS


# -- sizes and quality --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "edge", "expected"),
    [
        ((4000, 3000), 1024, (1024, 768)),
        ((3000, 4000), 1024, (768, 1024)),
        ((1024, 10), 1024, (1024, 10)),
        ((10000, 10), 128, (128, 1)),
        ((1, 1), 128, (1, 1)),
        ((333, 1000), 100, (33, 100)),
        ((335, 1000), 100, (34, 100)),  # 33.5 rounds half up
    ],
)
def test_target_size(size, edge, expected) -> None:
    assert imaging.target_size(*size, edge) == expected


@pytest.fixture(scope="module")
def detailed_jpeg() -> bytes:
    return factory.encode(factory.photo_like((2400, 1600)), "JPEG", quality=92)


def _smallest_enough_scale(source, variants) -> int:
    """The rule: the smallest DCT scale that keeps every variant oversampled enough."""
    for scale in (8, 4, 2):
        decoded = tuple(-(-edge // scale) for edge in source)
        if all(
            min(decoded[0] / target[0], decoded[1] / target[1])
            >= imaging.DRAFT_OVERSAMPLING[spec.format]
            for spec in variants
            for target in [imaging.target_size(*source, spec.max_edge)]
        ):
            return scale
    return 1


@pytest.mark.parametrize("large_format", ["jpeg", "webp", "png"])
@pytest.mark.parametrize(
    "source", [(4032, 3024), (6000, 4000), (7200, 5400), (3000, 2000), (2048, 1536), (1000, 800)]
)
def test_jpeg_draft_is_the_smallest_scale_that_keeps_the_oversampling(source, large_format) -> None:
    data = factory.encode(factory.solid(source), "JPEG", quality=50)
    variants = (
        imaging.VariantSpec("large", 1024, large_format),
        imaging.VariantSpec("s", 64, "png"),
    )
    image, _, _, _ = imaging.decode(data, variants, LIMITS)
    scale = _smallest_enough_scale(source, variants)
    assert image.size == tuple(-(-edge // scale) for edge in source)
    for spec in variants:
        target = imaging.target_size(*source, spec.max_edge)
        ratio = min(image.width / target[0], image.height / target[1])
        assert scale == 1 or ratio >= imaging.DRAFT_OVERSAMPLING[spec.format]


def test_jpeg_outputs_allow_a_smaller_draft_than_webp_and_png() -> None:
    assert (
        imaging.DRAFT_OVERSAMPLING["jpeg"]
        <= imaging.DRAFT_OVERSAMPLING["webp"]
        <= imaging.DRAFT_OVERSAMPLING["png"]
    )
    data = factory.encode(factory.solid((6000, 4000)), "JPEG", quality=50)
    sizes = {
        fmt: imaging.decode(data, (imaging.VariantSpec("large", 1024, fmt),), LIMITS)[0].size
        for fmt in ("jpeg", "webp", "png")
    }
    assert sizes == {"jpeg": (1500, 1000), "webp": (3000, 2000), "png": (3000, 2000)}


@pytest.mark.parametrize(("output_format", "quality"), [("jpeg", 85), ("webp", 80)])
def test_fast_path_quality_matches_exact_lanczos(
    detailed_jpeg: bytes, output_format: str, quality: int
) -> None:
    variants = (
        imaging.VariantSpec("large", 512, output_format, quality),
        imaging.VariantSpec("small", 200, output_format, quality),
    )
    full = Image.open(io.BytesIO(detailed_jpeg)).convert("RGB")

    decoded, _, _, stored_size = imaging.decode(detailed_jpeg, variants, LIMITS)
    assert decoded.size == (1200, 800), "expected a 1/2 DCT-scaled decode"
    assert stored_size == full.size
    fast_pixels = imaging.resize_all(
        imaging.normalise_mode(decoded), stored_size, variants, None, []
    )
    result = by_name(process(detailed_jpeg, variants))

    for spec in variants:
        size = imaging.target_size(*full.size, spec.max_edge)
        exact = full.resize(size, Image.Resampling.LANCZOS)
        exact_encoded = opened(imaging.encode(exact, spec))
        assert psnr(fast_pixels[spec.name], exact) > 45, spec.name
        fast_encoded = opened(result[spec.name])
        assert psnr(fast_encoded, exact) >= psnr(exact_encoded, exact) - 0.2, spec.name


def test_smaller_variants_are_resized_from_the_larger_result(monkeypatch) -> None:
    seen: list[tuple[int, int]] = []
    original = imaging.resize_to

    def spy(image: Image.Image, size: tuple[int, int], *args: object) -> Image.Image:
        seen.append(image.size)
        return original(image, size, *args)

    monkeypatch.setattr(imaging, "resize_to", spy)
    process(factory.jpeg((3000, 2000)))
    assert seen[0] != seen[1] == (1024, 683)
    assert seen[2] == (512, 341)


def test_resize_step_reducing_gap_follows_the_output_format(monkeypatch) -> None:
    calls: list[tuple[tuple[int, int], object, object]] = []
    original = Image.Image.resize

    def spy(self, size, resample=None, box=None, reducing_gap=None):
        calls.append((self.size, resample, reducing_gap))
        return original(self, size, resample, box, reducing_gap)

    monkeypatch.setattr(Image.Image, "resize", spy)
    source = Image.new("RGB", (3000, 2000), (10, 120, 200))
    for fmt in ("jpeg", "webp", "png"):
        calls.clear()
        assert imaging.resize_to(source, (1024, 683), fmt).size == (1024, 683)
        assert calls == [((3000, 2000), Image.Resampling.LANCZOS, imaging.REDUCING_GAP[fmt])]
    assert imaging.REDUCING_GAP["jpeg"] < imaging.REDUCING_GAP["webp"]


def test_each_step_uses_the_gap_of_the_variant_it_makes(monkeypatch) -> None:
    seen: list[tuple[tuple[int, int], str]] = []
    original = imaging.resize_to

    def spy(image, size, output_format):
        seen.append((size, output_format))
        return original(image, size, output_format)

    monkeypatch.setattr(imaging, "resize_to", spy)
    variants = (
        imaging.VariantSpec("thumb", 128, "webp"),
        imaging.VariantSpec("large", 1024, "jpeg"),
        imaging.VariantSpec("medium", 512, "png"),
    )
    process(factory.encode(Image.new("RGB", (3000, 2000), (1, 2, 3)), "PNG"), variants)
    assert seen == [((1024, 683), "jpeg"), ((512, 341), "png"), ((128, 85), "webp")]


@pytest.mark.parametrize("orientation", [1, 6])
def test_sizes_come_from_the_stored_image_not_from_a_scaled_decode(orientation):
    """2980x1949 decodes at 1/2 as 1490x975; 1024 px must still be 1024x670, as from 2980x1949."""
    image = Image.new("RGB", (2980, 1949), (200, 120, 40))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif)
    variants = (
        imaging.VariantSpec("large", 1024, "jpeg"),
        imaging.VariantSpec("thumb", 128, "jpeg"),
    )

    decoded, _, _, _ = imaging.decode(buffer.getvalue(), variants, LIMITS)
    result = imaging.process_image(buffer.getvalue(), variants, LIMITS)

    swapped = orientation == 6
    assert decoded.size[0] < 2980, "the test needs a DCT-scaled decode to mean anything"
    assert (result.source.width, result.source.height) == (
        (1949, 2980) if swapped else (2980, 1949)
    )
    sizes = {variant.name: (variant.width, variant.height) for variant in result.variants}
    assert sizes["large"] == ((670, 1024) if swapped else (1024, 670))
    assert sizes["thumb"] == ((84, 128) if swapped else (128, 84))
    for variant in result.variants:
        assert Image.open(io.BytesIO(variant.data)).size == (variant.width, variant.height)
