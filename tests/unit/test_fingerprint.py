"""Immutable output keys: equal fingerprints mean equal bytes, and what can change the bytes
changes the fingerprint (common/contract.py ``output_fingerprint``).

The processor writes ``<id>/<size>.<fingerprint>.<ext>`` with ``Cache-Control: public,
max-age=31536000, immutable``: a cache may keep those bytes for a year, so a key must never be
given other bytes. These tests hold the fingerprint to that from three sides: the rule fields
it covers, real outputs of the image core under several rule sets, and the pinned encoder
library plus a golden digest per ``OUTPUT_CODE_VERSION`` (a code change that alters bytes
without bumping it fails here).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from dataclasses import replace
from pathlib import Path

import PIL
import pytest
from PIL import Image, ImageDraw, ImageFilter

from common import contract
from processor import config as processor_config
from processor import imaging
from support import images as factory

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
F = contract.FormatRule
S = contract.SizeRule

BASE = (
    S("large", 1024, (F("avif", 70, 1), F("jpeg", 85, None))),
    S("medium", 512, (F("avif", 70, 1), F("jpeg", 85, None))),
    S("thumb", 128, (F("webp", 80, 4), F("jpeg", 85, None))),
)


def fingerprints(sizes: tuple[contract.SizeRule, ...]) -> dict[tuple[str, str], str]:
    return {(o.size, o.format): o.fingerprint for o in contract.output_rules(sizes)}


def with_format(sizes, size_index: int, format_index: int, **changes):
    size = sizes[size_index]
    formats = list(size.formats)
    formats[format_index] = replace(formats[format_index], **changes)
    return (*sizes[:size_index], replace(size, formats=tuple(formats)), *sizes[size_index + 1 :])


def test_fingerprints_are_short_hex_and_differ_per_output() -> None:
    prints = fingerprints(BASE)
    assert all(re.fullmatch(r"[0-9a-f]{12}", value) for value in prints.values())
    assert len(set(prints.values())) == len(prints)
    key = contract.output_rules(BASE)[0].key("id")
    assert key == f"id/large.{prints['large', 'avif']}.avif"


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        ("quality of large avif", {("large", "avif")}),
        ("effort of large avif", {("large", "avif")}),
        ("quality of thumb jpeg", {("thumb", "jpeg")}),
        ("code version", "all"),
        ("an edge", "all"),
        ("a format added to a size", "all but new"),
        ("formats reordered in a size", set()),
        ("a size renamed", set()),
    ],
)
def test_what_changes_a_fingerprint(change: str, changed) -> None:
    before = fingerprints(BASE)
    if change == "quality of large avif":
        after = fingerprints(with_format(BASE, 0, 0, quality=60))
    elif change == "effort of large avif":
        after = fingerprints(with_format(BASE, 0, 0, effort=2))
    elif change == "quality of thumb jpeg":
        after = fingerprints(with_format(BASE, 2, 1, quality=90))
    elif change == "code version":
        after = {
            (o.size, o.format): contract.output_fingerprint(
                o.max_edge, o.rule, BASE, code_version="next"
            )
            for o in contract.output_rules(BASE)
        }
    elif change == "an edge":
        after = fingerprints((BASE[0], replace(BASE[1], max_edge=640), BASE[2]))
    elif change == "a format added to a size":
        after = fingerprints(
            (BASE[0], BASE[1], replace(BASE[2], formats=(F("png", None, None), *BASE[2].formats)))
        )
    elif change == "formats reordered in a size":
        after = fingerprints((replace(BASE[0], formats=BASE[0].formats[::-1]), *BASE[1:]))
    else:  # compared under the old name
        renamed = fingerprints((replace(BASE[0], name="large2"), *BASE[1:]))
        after = {(("large" if s == "large2" else s), f): v for (s, f), v in renamed.items()}
    differing = {key for key in before if before[key] != after.get(key)}
    if changed == "all" or changed == "all but new":
        assert differing == set(before)
    else:
        assert differing == changed


def photo() -> bytes:
    """A detailed, fully seeded 1600 x 1200 JPEG (``support.images.photo_like`` draws its noise
    with Pillow's unseeded ``effect_noise``: fine for shapes, not for pinned bytes)."""
    size = (1600, 1200)
    rnd = random.Random(5)
    noise = Image.frombytes("L", size, rnd.randbytes(size[0] * size[1])).filter(
        ImageFilter.BoxBlur(1)
    )
    fractal = Image.effect_mandelbrot(size, (-2.2, -1.3, 1.0, 1.3), 60)
    image = Image.merge("RGB", (fractal, Image.linear_gradient("L").resize(size), noise))
    draw = ImageDraw.Draw(image)
    for _ in range(200):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        end = (x + rnd.randrange(-300, 300), y + rnd.randrange(-300, 300))
        draw.line((x, y, *end), fill=tuple(rnd.randrange(256) for _ in range(3)), width=2)
    return factory.encode(image, "JPEG", quality=92)


def encoded(sizes: tuple[contract.SizeRule, ...], data: bytes) -> dict[str, bytes]:
    """fingerprint -> bytes, through the processor's own spec mapping and the image core."""
    outputs = contract.output_rules(sizes)
    processed = imaging.process_image(
        data, [processor_config.variant_spec(o) for o in outputs], imaging.Limits()
    )
    return {
        output.fingerprint: variant.data
        for output, variant in zip(outputs, processed.variants, strict=True)
    }


SMALL = (
    S("medium", 320, (F("avif", 60, 1), F("jpeg", 85, None))),
    S("thumb", 96, (F("webp", 80, 4), F("jpeg", 85, None))),
)
RULE_SETS = {
    "base": SMALL,
    # the same outputs listed in another order: same fingerprints, so the bytes must agree
    "reordered": (
        replace(SMALL[0], formats=SMALL[0].formats[::-1]),
        replace(SMALL[1], formats=SMALL[1].formats[::-1]),
    ),
    # one format's quality: the other outputs keep their fingerprints and so their bytes
    "avif quality": with_format(SMALL, 0, 0, quality=50),
    "thumb webp effort": with_format(SMALL, 1, 0, effort=6),
    # a size renamed keeps every fingerprint (the name is in the key, not in the bytes)
    "renamed": (replace(SMALL[0], name="mid"), SMALL[1]),
    # a larger size on top changes the decode and the cascade: every fingerprint changes
    "larger size added": (S("large", 800, (F("jpeg", 85, None),)), *SMALL),
}


def test_equal_fingerprints_mean_equal_bytes() -> None:
    data = photo()
    results = {name: encoded(sizes, data) for name, sizes in RULE_SETS.items()}
    shared = 0
    for (name_a, a), (name_b, b) in itertools.combinations(results.items(), 2):
        for fingerprint in a.keys() & b.keys():
            shared += 1
            assert a[fingerprint] == b[fingerprint], (name_a, name_b, fingerprint)
    assert shared >= 10  # the comparison really covered outputs shared between rule sets
    # and the changed rule did change its output (so the check above is not vacuous)
    assert set(results["avif quality"]) != set(results["base"])
    assert results["larger size added"].keys().isdisjoint(results["base"].keys())


def pinned_pillow() -> str:
    text = (REPO / "lambda_src" / "requirements-pillow-layer.txt").read_text()
    match = re.search(r"^Pillow==(\S+)$", text, re.M)
    assert match, "requirements-pillow-layer.txt pins no Pillow"
    return f"Pillow=={match.group(1)}"


def test_the_fingerprint_names_the_layers_encoder_library() -> None:
    """A Pillow bump (new libjpeg-turbo, libwebp, libavif) must give every output new keys."""
    assert pinned_pillow() == contract.ENCODER_LIBRARIES
    assert f"Pillow=={PIL.__version__}" == contract.ENCODER_LIBRARIES  # what the goldens ran


# sha256 of each output of GOLDEN_SIZES for photo(), per OUTPUT_CODE_VERSION. A change to the
# processor that alters any of these bytes must bump contract.OUTPUT_CODE_VERSION (new keys for
# every output) and add that version's digests here.
GOLDEN_SIZES = (
    S("medium", 320, (F("avif", 60, 1), F("webp", 80, 4), F("jpeg", 85, None))),
    S("thumb", 96, (F("png", None, None),)),
)
GOLDEN: dict[str, dict[str, str]] = {
    "1": {
        "medium.avif": "2662f4a6bba9923e",
        "medium.webp": "28332a97e310eedf",
        "medium.jpeg": "7fd4259fed7147f5",
        "thumb.png": "f1976aeb2add8278",
    },
}


def test_bytes_are_pinned_to_the_code_version() -> None:
    outputs = contract.output_rules(GOLDEN_SIZES)
    produced = encoded(GOLDEN_SIZES, photo())
    digests = {
        f"{o.size}.{o.format}": hashlib.sha256(produced[o.fingerprint]).hexdigest()[:16]
        for o in outputs
    }
    expected = GOLDEN.get(contract.OUTPUT_CODE_VERSION)
    assert expected is not None, f"add GOLDEN[{contract.OUTPUT_CODE_VERSION!r}] = {digests}"
    assert digests == expected, (
        "the processor's bytes changed: bump contract.OUTPUT_CODE_VERSION and add its digests "
        f"{digests}"
    )


def test_the_smoke_tool_expects_the_processors_cache_control() -> None:
    from tools import smoke

    assert smoke.IMMUTABLE_OUTPUT == contract.OUTPUT_CACHE_CONTROL
