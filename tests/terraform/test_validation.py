"""Root variable validation: bad values are rejected at plan time with a helpful message.

Terraform reports every invalid variable of a plan at once, so the cases are grouped into a few
plans (each variable at most once per plan) instead of one slow plan per case.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.terraform

GOOD_VARIANT = {"name": "large", "max_edge": 1024, "formats": [{"format": "jpeg"}]}

# (case id, variable, bad value, expected error message)
CASES: list[tuple[str, str, Any, str]] = [
    ("bad architecture", "architecture", "x86", "architecture must be one of: x86_64, arm64."),
    (
        "upload ttl 0",
        "upload_url_ttl_seconds",
        0,
        "upload_url_ttl_seconds must be an integer between 1 and 3600.",
    ),
    (
        "download ttl too long",
        "download_url_ttl_seconds",
        3601,
        "download_url_ttl_seconds must be an integer between 1 and 3600.",
    ),
    (
        "bad variant format",
        "variants",
        [{"name": "x", "max_edge": 100, "formats": [{"format": "gif"}]}],
        "Each variant format must be one of: avif, jpeg, png, webp.",
    ),
    (
        "duplicate variant names",
        "variants",
        [GOOD_VARIANT, {**GOOD_VARIANT, "max_edge": 512}],
        "Variant names must be unique.",
    ),
    (
        "bad variant name",
        "variants",
        [{**GOOD_VARIANT, "name": "Large!"}],
        "Each variant name must match ^[a-z0-9][a-z0-9_-]{0,31}$",
    ),
    (
        "variant edge too small",
        "variants",
        [{**GOOD_VARIANT, "max_edge": 8}],
        "Each variant max_edge must be an integer between 16 and 8192.",
    ),
    (
        "variant quality 0",
        "variants",
        [{**GOOD_VARIANT, "formats": [{"format": "jpeg", "quality": 0}]}],
        "Each format's quality must be null or an integer between 1 and 100, and png has none.",
    ),
    (
        "a format twice in a size",
        "variants",
        [{**GOOD_VARIANT, "formats": [{"format": "jpeg"}, {"format": "jpeg"}]}],
        "Each variant needs 1 to 4 formats, each at most once.",
    ),
    (
        "avif effort out of range",
        "variants",
        [{**GOOD_VARIANT, "formats": [{"format": "avif", "effort": 11}]}],
        "Each format's effort must be null or an integer in its format's range",
    ),
    ("no variants", "variants", [], "variants must contain between 1 and 10 entries."),
    (
        "uppercase name_prefix",
        "name_prefix",
        "Sip",
        "name_prefix must be 3-24 characters of lowercase letters, digits and '-'",
    ),
    (
        "too long name_prefix",
        "name_prefix",
        "a" * 25,
        "name_prefix must be 3-24 characters of lowercase letters, digits and '-'",
    ),
    (
        "log retention not a CloudWatch value",
        "log_retention_days",
        10,
        "log_retention_days must be one of: 1, 3, 5, 7, 14, 30,",
    ),
    (
        "processor memory",
        "processor_memory_mb",
        64,
        "processor_memory_mb must be an integer between 128 and 10240.",
    ),
    (
        "processor timeout",
        "processor_timeout_seconds",
        901,
        "processor_timeout_seconds must be an integer between 1 and 900.",
    ),
    (
        "content type",
        "allowed_content_types",
        ["image/tiff"],
        "allowed_content_types must be a non-empty list without duplicates of: "
        "image/avif, image/gif, image/heic, image/heif, image/jpeg, image/png, image/webp.",
    ),
    (
        "max upload over 5 GiB",
        "max_upload_bytes",
        5368709121,
        "max_upload_bytes must be an integer between 1 and 5368709120 (5 GiB).",
    ),
    (
        "origin with a path",
        "allowed_origins",
        ["https://example.com/"],
        'allowed_origins entries must be "*" or exact origins scheme://host[:port]',
    ),
    (
        "emulator endpoint with trailing slash",
        "emulator_endpoint",
        "http://127.0.0.1:4566/",
        "emulator_endpoint must be null or scheme://host[:port] without a path or trailing slash",
    ),
    (
        "throttle burst 0",
        "api_throttle_burst_limit",
        0,
        "api_throttle_burst_limit must be an integer between 1 and 5000.",
    ),
    (
        "stage name with a space",
        "api_stage_name",
        "v 1",
        "api_stage_name must be 1-64 characters of letters, digits, '-' or '_'.",
    ),
    (
        "public vpc cidr",
        "vpc_cidr",
        "8.8.0.0/16",
        "vpc_cidr must be a private IPv4 CIDR block",
    ),
    (
        "one availability zone",
        "vpc_availability_zones",
        ["us-east-1a"],
        "vpc_availability_zones must be [] or 2-6 distinct availability zones of var.region",
    ),
    ("bad alarm email", "alarm_email", "ops", "alarm_email must be null or an email address"),
    (
        "alarm period 90 s",
        "alarm_period_seconds",
        90,
        "alarm_period_seconds must be a multiple of 60 between 60 and 86400.",
    ),
    (
        "AWS metrics namespace",
        "metrics_namespace",
        "AWS/Lambda",
        'metrics_namespace must be 1-255 characters of letters, digits and . _ - / # : and must not start with "AWS/".',
    ),
    (
        "duration percent",
        "alarm_processor_duration_percent",
        5,
        "alarm_processor_duration_percent must be between 10 and 100.",
    ),
    (
        "bad bucket suffix",
        "bucket_name_suffix",
        "-abc",
        "bucket_name_suffix must be null or 1-31 characters",
    ),
]


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# Terraform skips a variable's validation when another variable it reads is invalid: the
# bucket-name length rule of bucket_name_suffix reads name_prefix, so they never share a plan.
LINKED = ({"name_prefix", "bucket_name_suffix"},)


def _linked(var: str, tf_vars: dict[str, Any]) -> bool:
    return any(var in group and group & set(tf_vars) for group in LINKED)


def _plan_rounds() -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Spread the cases over as few plans as possible, each variable at most once per plan;
    also return the plan index of each case."""
    rounds: list[dict[str, Any]] = []
    round_of: dict[str, int] = {}
    for name, var, value, _ in CASES:
        for index, tf_vars in enumerate(rounds):
            if var not in tf_vars and not _linked(var, tf_vars):
                tf_vars[var] = value
                round_of[name] = index
                break
        else:
            rounds.append({var: value})
            round_of[name] = len(rounds) - 1
    return rounds, round_of


ROUNDS, ROUND_OF = _plan_rounds()


def _rounds() -> list[dict[str, Any]]:
    return ROUNDS


@pytest.fixture(scope="module")
def errors(plan_error) -> list[str]:
    return [plan_error(**tf_vars) for tf_vars in _rounds()]


def _round_of(case: str) -> int:
    return ROUND_OF[case]


@pytest.mark.parametrize(
    ("case", "message"), [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_values_are_rejected(errors: list[str], case: str, message: str) -> None:
    error = errors[_round_of(case)]
    assert "Invalid value for variable" in error
    assert normalise(message) in error, error


def test_each_bad_variable_fails_exactly_one_rule(errors: list[str]) -> None:
    for tf_vars, error in zip(_rounds(), errors, strict=True):
        assert error.count("Invalid value for variable") == len(tf_vars), error


def test_bucket_names_over_63_characters_are_refused_by_validation(
    plan_error, tf_variables_only
) -> None:
    """<name_prefix>-uploads-<suffix> is the longest name: 24 + 9 + 31 = 64 is one too many."""
    error = plan_error(name_prefix="a" * 24, bucket_name_suffix="b" * 31)
    assert "must be at most 63 characters (S3's bucket name limit)" in error
    # 24 + 9 + 30 = 63: accepted
    tf_variables_only.plan(
        output=False, tf_vars={"name_prefix": "a" * 24, "bucket_name_suffix": "b" * 30}
    )
