"""Processor configuration parsing and the S3 event / manifest helpers."""

from __future__ import annotations

import json

import pytest

from common import contract
from processor import config as processor_config
from processor import imaging, manifest, s3_events
from processor.placeholder import Placeholder
from support.lambda_env import PROCESSOR_ENV
from support.lambda_events import s3_event

UPLOAD_ID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def test_full_configuration() -> None:
    config = processor_config.load_config(PROCESSOR_ENV)
    assert config.output_bucket == "sip-output-test"
    assert config.upload_prefix == "uploads/"
    assert config.max_upload_bytes == 20971520
    assert config.max_pixels == 40_000_000
    assert config.allowed_formats == ("JPEG", "PNG", "WEBP", "GIF")
    assert config.variants[0] == imaging.VariantSpec("large", 1024, "jpeg", 85, 4)
    assert config.variants[2] == imaging.VariantSpec("thumb", 128, "webp", 80, 4)
    assert config.limits == imaging.Limits(40_000_000, ("JPEG", "PNG", "WEBP", "GIF"), 20971520)


def test_defaults_for_optional_variables() -> None:
    config = processor_config.load_config(
        {"OUTPUT_BUCKET": "b", "VARIANTS": PROCESSOR_ENV["VARIANTS"], "UPLOADS_TABLE": "t"}
    )
    assert config.max_pixels == 40_000_000
    assert config.upload_prefix == "uploads/"
    assert config.log_level == "INFO"
    assert config.processing_attempts == 3
    assert config.record_retention_days is None  # records kept as long as outputs are


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OUTPUT_BUCKET", ""),
        ("VARIANTS", ""),
        ("VARIANTS", "not json"),
        ("VARIANTS", "[]"),
        ("VARIANTS", '{"name": "x"}'),
        ("VARIANTS", '[{"name": "x", "max_edge": 16, "format": "jpeg"}]'),  # no formats list
        ("VARIANTS", '[{"name": "x", "max_edge": 16, "formats": [{"format": "gif"}]}]'),
        ("VARIANTS", '[{"name": "x", "max_edge": 0, "formats": [{"format": "png"}]}]'),
        ("VARIANTS", '[{"name": "x", "max_edge": true, "formats": [{"format": "png"}]}]'),
        ("VARIANTS", '[{"name": "x", "max_edge": 16, "formats": ["jpeg"]}]'),
        ("VARIANTS", '[{"name": "x", "max_edge": 16, "formats": [{"format": "jpeg", "q": 1}]}]'),
        (
            "VARIANTS",
            '[{"name": "x", "max_edge": 16, "formats": [{"format": "jpeg", "quality": 101}]}]',
        ),
        (
            "VARIANTS",
            '[{"name": "x", "max_edge": 16, "formats": [{"format": "webp", "effort": 7}]}]',
        ),
        ("VARIANTS", '[{"name": "../x", "max_edge": 16, "formats": [{"format": "png"}]}]'),
        (
            "VARIANTS",
            '[{"name": "x", "max_edge": 16, "formats": [{"format": "png"}]},'
            ' {"name": "x", "max_edge": 20, "formats": [{"format": "png"}]}]',
        ),
        ("MAX_PIXELS", "-1"),
        ("MAX_PIXELS", "lots"),
        ("MAX_UPLOAD_BYTES", "0"),
        ("ALLOWED_FORMATS", "JPEG,NOPE"),
        ("UPLOAD_PREFIX", "uploads"),
        ("UPLOAD_PREFIX", "/uploads/"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(processor_config.ConfigError) as caught:
        processor_config.load_config({**PROCESSOR_ENV, variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)


def test_optional_format_settings_may_be_null_and_take_each_formats_default() -> None:
    """Terraform sends ``null`` for an optional setting it was not given."""
    variants = json.dumps(
        [
            {
                "name": "x",
                "max_edge": 16,
                "formats": [
                    {"format": f, "quality": None, "effort": None}
                    for f in ("avif", "webp", "png", "jpeg")
                ],
            }
        ]
    )
    config = processor_config.load_config({**PROCESSOR_ENV, "VARIANTS": variants})
    assert config.variants == (
        imaging.VariantSpec("x", 16, "avif", 70, avif_speed=imaging.AVIF_SPEED),
        imaging.VariantSpec("x", 16, "webp", 80, webp_method=4),
        imaging.VariantSpec("x", 16, "png"),
        imaging.VariantSpec("x", 16, "jpeg", 85),
    )
    assert [output.rule.quality for output in config.outputs] == [70, 80, None, 85]
    assert [output.rule.effort for output in config.outputs] == [1, 4, None, None]


def test_effort_is_the_encoders_setting() -> None:
    """Higher effort is slower and smaller: libwebp's method, libavif's speed counted down."""
    variants = json.dumps(
        [
            {
                "name": "x",
                "max_edge": 16,
                "formats": [{"format": "webp", "effort": 6}, {"format": "avif", "effort": 4}],
            }
        ]
    )
    config = processor_config.load_config({**PROCESSOR_ENV, "VARIANTS": variants})
    assert [(spec.webp_method, spec.avif_speed) for spec in config.variants] == [
        (6, imaging.AVIF_SPEED),
        (4, 6),
    ]


def test_allowed_formats_are_normalised() -> None:
    config = processor_config.load_config({**PROCESSOR_ENV, "ALLOWED_FORMATS": " jpeg, png ,PNG"})
    assert config.allowed_formats == ("JPEG", "PNG")


# -- s3_events ----------------------------------------------------------------------------


def test_parse_event_decodes_keys_and_filters() -> None:
    event = s3_event(
        f"uploads/{UPLOAD_ID}",
        "uploads%2F" + UPLOAD_ID,  # same key, encoded: de-duplicated
        "other/" + UPLOAD_ID,
        "uploads/cat.jpg",
    )
    uploads, ignored = s3_events.parse_event(event, "uploads/")
    assert uploads == [s3_events.UploadRef("sip-uploads-test", f"uploads/{UPLOAD_ID}", UPLOAD_ID)]
    assert [item.reason for item in ignored] == ["outside_prefix", "not_an_upload_id"]


def test_parse_event_ignores_other_event_types_and_junk() -> None:
    removed = s3_event(f"uploads/{UPLOAD_ID}", name="ObjectRemoved:Delete")
    assert s3_events.parse_event(removed, "uploads/")[1][0].reason == "not_object_created"
    assert s3_events.parse_event({"Records": [{"junk": 1}]}, "uploads/")[1][0].reason == (
        "not_an_s3_record"
    )
    assert s3_events.parse_event({}, "uploads/") == (
        [],
        [s3_events.IgnoredRecord(None, "no_records")],
    )


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (UPLOAD_ID, True),
        (UPLOAD_ID.upper(), False),
        ("3f1c2d4e-5a6b-1c7d-8e9f-0a1b2c3d4e5f", False),  # version 1
        ("3f1c2d4e5a6b4c7d8e9f0a1b2c3d4e5f", False),
        (UPLOAD_ID + "\n", False),
        ("../" + UPLOAD_ID, False),
    ],
)
def test_is_upload_id(value: str, valid: bool) -> None:
    assert contract.is_upload_id(value) is valid


# -- manifest -----------------------------------------------------------------------------


def test_manifest_shapes_and_deterministic_bytes() -> None:
    processed = imaging.ProcessedImage(
        imaging.SourceInfo("PNG", 10, 5),
        (imaging.EncodedVariant("thumb", "webp", "image/webp", "webp", 4, 2, b"data"),),
        {"decode": 1.0},
        placeholder=Placeholder("AAAAAAAA", "#102030", 2.0),
    )
    (output,) = contract.output_rules(
        (contract.SizeRule("thumb", 4, (contract.FormatRule("webp", 80, 4),)),)
    )
    done = manifest.done_manifest(UPLOAD_ID, f"uploads/{UPLOAD_ID}", 99, processed, [output])
    assert done == {
        "id": UPLOAD_ID,
        "status": "done",
        "source": {
            "key": f"uploads/{UPLOAD_ID}",
            "bytes": 99,
            "format": "PNG",
            "width": 10,
            "height": 5,
            "animation": None,
        },
        "variants": [
            {
                "name": "thumb",
                "width": 4,
                "height": 2,
                "animated": False,
                "sources": [
                    {
                        "format": "webp",
                        "type": "image/webp",
                        "key": f"{UPLOAD_ID}/thumb.{output.fingerprint}.webp",
                        "bytes": 4,
                        "fingerprint": output.fingerprint,
                        "frames": 1,
                    }
                ],
            }
        ],
        "placeholder": {"thumbhash": "AAAAAAAA", "color": "#102030", "aspectRatio": 2.0},
        "error": None,
    }
    assert manifest.serialise(done) == manifest.serialise(json.loads(manifest.serialise(done)))
    rejected = manifest.rejected_manifest(
        UPLOAD_ID, f"uploads/{UPLOAD_ID}", 0, imaging.ImageRejected("empty_file", "Empty.")
    )
    assert rejected["status"] == "rejected"
    assert rejected["variants"] == []
    assert rejected["placeholder"] is None
    assert rejected["error"] == {"code": "empty_file", "message": "Empty."}
