"""The placeholder encoder (ThumbHash, dominant colour, aspect ratio)."""

from __future__ import annotations

import base64

import pytest
from PIL import Image, ImageDraw

from processor import placeholder


def red_blue() -> Image.Image:
    image = Image.new("RGB", (64, 32), (220, 20, 20))
    ImageDraw.Draw(image).rectangle((32, 0, 63, 31), fill=(20, 40, 200))
    return image


def green_disc() -> Image.Image:
    image = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((5, 5, 35, 35), fill=(20, 200, 40, 255))
    return image


def test_the_page_decodes_these_exact_hashes() -> None:
    """tests/unit/js/thumbhash.test.mjs decodes these strings with the page's decoder."""
    assert placeholder.make_placeholder(red_blue(), (64, 32)).thumbhash == (
        "1bYCrKJMa6qMiIiFiI+PiPiIeA=="
    )
    assert placeholder.make_placeholder(green_disc(), (40, 40)).thumbhash == (
        "FZqABQA3B9iHeICN1/h4f3AIB1iHiICJWA=="
    )


def test_header_fields() -> None:
    raw = base64.b64decode(placeholder.make_placeholder(red_blue(), (64, 32)).thumbhash)
    assert raw[2] & 0x80 == 0  # no alpha
    assert raw[4] & 0x80  # landscape
    assert (
        base64.b64decode(placeholder.make_placeholder(green_disc(), (40, 40)).thumbhash)[2] & 0x80
    )


def test_colour_and_aspect_ratio() -> None:
    made = placeholder.make_placeholder(Image.new("RGB", (300, 100), (10, 120, 240)), (4032, 3024))
    assert made.color == "#0a78f0"
    assert made.aspect_ratio == 1.3333
    assert made.as_json() == {
        "thumbhash": made.thumbhash,
        "color": "#0a78f0",
        "aspectRatio": 1.3333,
    }


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_every_output_mode_is_accepted(mode: str) -> None:
    assert placeholder.make_placeholder(Image.new(mode, (128, 96)), (128, 96)).thumbhash


def test_a_hash_input_over_100_pixels_is_refused() -> None:
    with pytest.raises(ValueError, match="100x100"):
        placeholder.thumbhash(Image.new("RGBA", (101, 10)))
