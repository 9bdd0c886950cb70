"""Processed images through CloudFront in `terraform plan`, for every value of the new
variables: image_access (public / signed / default by auth), enable_cdn = false (presigned S3
GETs), one or two signing keys (rotation), the emulator, and retention per mode.

Checks: the output bucket as a second origin with origin access control, its bucket policy
admitting only this distribution, the image behaviour and its cache policy (no query string,
cookie or header in the key: signatures stay outside it), the trusted key group, and the API's
DELIVERY_* environment and config.json's ``delivery``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support.pipeline import REPO

pytestmark = pytest.mark.terraform

SUFFIX = "t1"
OUTPUT_ARN = f"arn:aws:s3:::sip-output-{SUFFIX}"
EMULATOR = "http://127.0.0.1:4566"
CDN = "module.cdn[0]"
DISTRIBUTION = f"{CDN}.aws_cloudfront_distribution.this"
IMAGE_PATTERN = "/????????-????-4???-????-????????????/*"
POLICY = "module.storage.data.aws_iam_policy_document.tls_only"
API_FUNCTION = "module.api.module.function.aws_lambda_function.this"


def public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def hcl_keys(**keys: str) -> str:
    """A map(string) of PEMs as -var passes it (HCL, newlines escaped)."""
    return (
        "{"
        + ", ".join(
            f'{name} = "{pem.strip()}\\n"'.replace("\n", "\\n").replace("\\\\n", "\\n")
            for name, pem in keys.items()
        )
        + "}"
    )


KEY_A = public_pem()
KEY_B = public_pem()


@pytest.fixture(scope="module")
def public_plan(plan_factory):
    """Defaults: auth = "none", so image_access resolves to "public"."""
    return plan_factory(bucket_name_suffix=SUFFIX)


@pytest.fixture(scope="module")
def signed_plan(plan_factory):
    """auth = "cognito": image_access defaults to "signed"; one key."""
    return plan_factory(
        bucket_name_suffix=SUFFIX, auth="cognito", image_signing_public_keys=hcl_keys(a=KEY_A)
    )


@pytest.fixture(scope="module")
def rotation_plan(plan_factory):
    """Two keys in the group while rotating; the new one signs."""
    return plan_factory(
        bucket_name_suffix=SUFFIX,
        image_access="signed",
        image_signing_public_keys=hcl_keys(a=KEY_A, b=KEY_B),
        image_signing_key="b",
        image_url_ttl_seconds=900,
    )


@pytest.fixture(scope="module")
def presigned_plan(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX, enable_cdn=False)


def api_environment(plan) -> dict[str, str]:
    return plan.values(API_FUNCTION)["environment"][0]["variables"]


def image_behaviour(plan) -> dict[str, Any]:
    behaviours = plan.values(DISTRIBUTION)["ordered_cache_behavior"]
    (images,) = [b for b in behaviours if b["target_origin_id"] == "images"]
    return images


# -- public ---------------------------------------------------------------------------------


def test_the_output_bucket_is_a_second_origin_read_with_origin_access_control(
    public_plan,
) -> None:
    origins = {o["origin_id"]: o for o in public_plan.values(DISTRIBUTION)["origin"]}
    assert set(origins) == {"web", "images"}
    assert not origins["images"].get("s3_origin_config")  # no legacy origin access identity
    # Its domain and control are known after apply: the configuration says where they come from.
    # (dynamic blocks are not in the configuration JSON: the module text says it)
    module_text = (REPO / "modules" / "cdn" / "main.tf").read_text()
    assert "domain_name              = origin.value.bucket_regional_domain_name" in module_text
    assert (
        module_text.count("origin_access_control_id = aws_cloudfront_origin_access_control.this.id")
        == 2
    )
    call = public_plan.raw["configuration"]["root_module"]["module_calls"]["cdn"]["expressions"]
    assert "module.storage.output_bucket_regional_domain_name" in json.dumps(call["images"])


def test_only_the_distribution_may_read_the_output_bucket(public_plan) -> None:
    document = public_plan.data(f'{POLICY}["output"]')
    statements = {st["sid"]: st for st in document["statement"]}
    assert set(statements) == {"CloudFrontReadsVariants", "DenyInsecureTransport"}
    read = statements["CloudFrontReadsVariants"]
    assert (read["effect"], read["actions"]) == ("Allow", ["s3:GetObject"])
    assert read["resources"] == [f"{OUTPUT_ARN}/*"]
    assert read["principals"] == [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}]
    (condition,) = read["condition"]
    assert (condition["test"], condition["variable"]) == ("StringEquals", "aws:SourceArn")
    call = public_plan.raw["configuration"]["root_module"]["module_calls"]["storage"]
    reader = json.dumps(call["expressions"]["output_cloudfront_reader"])
    assert "module.cdn[0].distribution_arn" in reader
    # The upload bucket admits no one new, and Block Public Access stays fully on.
    upload = {st["sid"] for st in public_plan.data(f'{POLICY}["upload"]')["statement"]}
    assert upload == {"DenyInsecureTransport"}
    flags = public_plan.values('module.storage.aws_s3_bucket_public_access_block.this["output"]')
    assert all(
        flags[f]
        for f in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )


def test_the_image_behaviour_honours_cache_control_and_keys_on_the_path_only(public_plan) -> None:
    images = image_behaviour(public_plan)
    assert images["path_pattern"] == IMAGE_PATTERN
    assert images["viewer_protocol_policy"] == "redirect-to-https"
    assert images["allowed_methods"] == ["GET", "HEAD"]
    assert not images["trusted_key_groups"]
    policy = public_plan.values(f"{CDN}.aws_cloudfront_cache_policy.images[0]")
    assert (policy["min_ttl"], policy["default_ttl"], policy["max_ttl"]) == (0, 86400, 31536000)
    (key,) = policy["parameters_in_cache_key_and_forwarded_to_origin"]
    assert key["query_strings_config"][0]["query_string_behavior"] == "none"
    assert key["cookies_config"][0]["cookie_behavior"] == "none"
    assert key["headers_config"][0]["header_behavior"] == "none"
    # The image pattern goes before the page's: no page file is named like an upload id.
    behaviours = public_plan.values(DISTRIBUTION)["ordered_cache_behavior"]
    assert behaviours[0]["path_pattern"] == IMAGE_PATTERN


def test_public_mode_hands_out_distribution_urls(public_plan) -> None:
    assert public_plan.output("image_delivery") == {
        "mode": "public",
        "ttl_seconds": None,
        "signing_key_parameter": None,
    }
    assert not [a for a in public_plan.resources if "aws_cloudfront_key_group" in a]
    assert not [a for a in public_plan.resources if "aws_cloudfront_public_key" in a]


# -- signed ---------------------------------------------------------------------------------


def test_signed_mode_trusts_a_key_group_of_the_given_key(signed_plan) -> None:
    (key,) = signed_plan.of_type("aws_cloudfront_public_key").values()
    assert key["encoded_key"] == KEY_A
    assert key["name"].endswith("-a")
    assert signed_plan.values(f"{CDN}.aws_cloudfront_key_group.images[0]")
    # The behaviour trusts the group (its id is known after apply).
    (images,) = [
        b
        for b in signed_plan.unknown(DISTRIBUTION)["ordered_cache_behavior"]
        if b.get("trusted_key_groups")
    ]
    assert images["trusted_key_groups"]
    assert signed_plan.output("image_delivery") == {
        "mode": "signed",
        "ttl_seconds": 3600,
        "signing_key_parameter": "/sip/image-signing/a",
    }
    statements = signed_plan.statements("module.api.data.aws_iam_policy_document.function")
    assert statements["ReadImageSigningKey"]["actions"] == ["ssm:GetParameter"]
    assert statements["ReadImageSigningKey"]["resources"] == [
        "arn:aws:ssm:us-east-1:*:parameter/sip/image-signing/a"
    ]


def test_rotation_keeps_both_keys_in_the_group_and_signs_with_the_chosen_one(
    rotation_plan,
) -> None:
    keys = rotation_plan.of_type("aws_cloudfront_public_key")
    assert sorted(k["encoded_key"] for k in keys.values()) == sorted([KEY_A, KEY_B])
    assert rotation_plan.output("image_delivery") == {
        "mode": "signed",
        "ttl_seconds": 900,
        "signing_key_parameter": "/sip/image-signing/b",
    }
    group = rotation_plan.config_resource(["cdn"], "aws_cloudfront_key_group.images")
    assert "aws_cloudfront_public_key.images" in json.dumps(group["expressions"]["items"])


def test_without_the_cdn_variants_stay_presigned_s3_gets(presigned_plan) -> None:
    assert presigned_plan.output("image_delivery")["mode"] == "presigned"
    assert not [a for a in presigned_plan.resources if a.startswith("module.cdn")]
    document = presigned_plan.data(f'{POLICY}["output"]')
    assert {st["sid"] for st in document["statement"]} == {"DenyInsecureTransport"}


def test_on_the_emulator_images_are_the_emulators_s3_paths(plan_factory) -> None:
    plan = plan_factory(bucket_name_suffix=SUFFIX, emulator_endpoint=EMULATOR)
    env = api_environment(plan)
    assert env["DELIVERY_MODE"] == "public"
    assert env["DELIVERY_BASE_URL"] == f"{EMULATOR}/sip-output-{SUFFIX}"
    assert (env["DELIVERY_KEY_PAIR_ID"], env["DELIVERY_PRIVATE_KEY_PARAMETER"]) == ("", "")
    # config.json's "delivery" is the API's own mode and lifetime (the page's footer reads it).
    call = plan.raw["configuration"]["root_module"]["module_calls"]["web_site"]["expressions"]
    assert {"local.delivery.mode", "local.delivery.ttl_seconds"} <= set(
        call["config"].get("references", [])
    )
    signed = plan_factory(bucket_name_suffix=SUFFIX, emulator_endpoint=EMULATOR, auth="cognito")
    assert signed.output("image_delivery") == {
        "mode": "presigned",
        "ttl_seconds": 300,
        "signing_key_parameter": None,
    }


# -- retention per mode ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tf_vars", "days"),
    [
        ({}, 30),
        ({"auth": "cognito", "image_access": "public"}, None),
        ({"output_retention_days": 0}, None),
        ({"output_retention_days": 90, "auth": "cognito", "image_access": "public"}, 90),
    ],
)
def test_outputs_expire_by_mode(plan_factory, tf_vars: dict[str, Any], days: int | None) -> None:
    plan = plan_factory(bucket_name_suffix=SUFFIX, emulator_endpoint=EMULATOR, **tf_vars)
    (rule,) = [
        r
        for r in plan.values("module.storage.aws_s3_bucket_lifecycle_configuration.output")["rule"]
        if r["id"] == "expire-variants"
    ]
    assert rule["status"] == ("Disabled" if days is None else "Enabled")
    if days is not None:
        assert rule["expiration"][0]["days"] == days
    if "auth" not in tf_vars:  # (with sign-in the pool's ids leave the map unknown)
        expected = "" if days is None else str(days)
        assert api_environment(plan)["RECORD_RETENTION_DAYS"] == expected


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tf_vars", "message"),
    [
        ({"image_access": "private"}, 'image_access must be null, "public" or "signed"'),
        ({"auth": "cognito"}, "needs image_signing_public_keys"),
        ({"image_access": "signed"}, "needs image_signing_public_keys"),
        ({"image_url_ttl_seconds": 59}, "between 60 and 604800"),
        (
            {"image_access": "signed", "image_signing_public_keys": hcl_keys(a=KEY_A, b=KEY_B)},
            "required when two keys are listed",
        ),
        (
            {"image_access": "signed", "image_signing_public_keys": '{a = "not a key"}'},
            "at most two PEM public keys",
        ),
        ({"output_retention_days": -1}, "0 (never expire)"),
    ],
)
def test_image_variables_are_validated(plan_error, tf_vars: dict, message: str) -> None:
    assert message in plan_error(**tf_vars)


# -- deletion reaches the edge --------------------------------------------------------------


def test_deletes_invalidate_through_a_function_outside_the_vpc(plan_factory, public_plan) -> None:
    plan = plan_factory(
        bucket_name_suffix=SUFFIX,
        auth="cognito",
        image_access="public",
        enable_vpc=True,
        vpc_availability_zones=["us-east-1a", "us-east-1b"],
    )
    purge = "module.edge_purge[0]"
    function = plan.values(f"{purge}.module.function.aws_lambda_function.this")
    assert function["handler"] == "api.edge_purge.handler"
    assert not function.get("vpc_config")  # CloudFront's API has no VPC endpoint
    api = plan.values(API_FUNCTION)
    assert api["vpc_config"]  # ...while the API itself stays in the VPC
    (target,) = plan.values(f"{purge}.aws_s3_bucket_notification.this")["lambda_function"]
    assert target["events"] == ["s3:ObjectRemoved:*"]
    statements = plan.statements(f"{purge}.data.aws_iam_policy_document.function")
    assert statements["InvalidateDeletedUploads"]["actions"] == ["cloudfront:CreateInvalidation"]
    assert plan.values(f"{purge}.aws_lambda_permission.s3")["principal"] == "s3.amazonaws.com"
    # Without sign-in nothing deletes outputs (lifecycle expiry is another event type).
    assert not [a for a in public_plan.resources if a.startswith("module.edge_purge")]
