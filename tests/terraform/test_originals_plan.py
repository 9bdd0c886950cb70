"""Originals archived, not lost (issue 23): kept per mode, moved to a colder class that reads
instantly, outputs left in S3 Standard. S3 applies lifecycle rules only on AWS (a day at a time):
the plans pin the rules; docs/cost.md prices each option."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.terraform

SUFFIX = "t1"
UPLOAD_LIFECYCLE = "module.storage.aws_s3_bucket_lifecycle_configuration.upload"
OUTPUT_LIFECYCLE = "module.storage.aws_s3_bucket_lifecycle_configuration.output"


def rules(plan, address: str = UPLOAD_LIFECYCLE) -> dict[str, dict]:
    return {rule["id"]: rule for rule in plan.values(address)["rule"]}


def archive_of(plan) -> tuple[int, str] | None:
    rule = rules(plan).get("archive-originals")
    if rule is None:
        return None
    assert rule["status"] == "Enabled"
    assert rule["filter"][0]["prefix"] == "uploads/"
    transition = rule["transition"][0]
    return transition["days"], transition["storage_class"]


def test_signed_in_originals_are_kept_until_deleted_and_archived_after_30_days(
    plan_factory,
) -> None:
    plan = plan_factory(bucket_name_suffix=SUFFIX, auth="cognito", image_access="public")
    assert rules(plan)["expire-originals"]["status"] == "Disabled"  # the owner's DELETE ends them
    assert archive_of(plan) == (30, "GLACIER_IR")


def test_anonymous_originals_are_bounded_and_too_short_lived_to_archive(plan_factory) -> None:
    plan = plan_factory(bucket_name_suffix=SUFFIX)
    expire = rules(plan)["expire-originals"]
    assert (expire["status"], expire["expiration"][0]["days"]) == ("Enabled", 30)
    # 30 days < 30 + GLACIER_IR's 90-day minimum: archiving would only add the early-delete fee
    assert archive_of(plan) is None


def test_anonymous_originals_kept_a_year_are_archived(plan_factory) -> None:
    plan = plan_factory(bucket_name_suffix=SUFFIX, upload_retention_days=365)
    assert rules(plan)["expire-originals"]["expiration"][0]["days"] == 365
    assert archive_of(plan) == (30, "GLACIER_IR")


def test_standard_ia_for_ever(plan_factory) -> None:
    plan = plan_factory(
        bucket_name_suffix=SUFFIX,
        upload_retention_days=0,
        original_archive_days=45,
        original_archive_storage_class="STANDARD_IA",
    )
    assert rules(plan)["expire-originals"]["status"] == "Disabled"
    assert archive_of(plan) == (45, "STANDARD_IA")


def test_outputs_stay_in_standard(plan_factory) -> None:
    for plan in (
        plan_factory(bucket_name_suffix=SUFFIX),
        plan_factory(bucket_name_suffix=SUFFIX, auth="cognito", image_access="public"),
    ):
        for rule in rules(plan, OUTPUT_LIFECYCLE).values():
            assert not rule.get("transition"), rule["id"]


def test_standard_ia_needs_30_days_and_only_instant_classes_are_allowed(plan_error) -> None:
    assert "set original_archive_days >= 30" in plan_error(
        original_archive_days=10, original_archive_storage_class="STANDARD_IA"
    )
    assert "must be one of: GLACIER_IR, STANDARD_IA." in plan_error(
        original_archive_storage_class="GLACIER"  # needs a restore: reprocessing could not read
    )
