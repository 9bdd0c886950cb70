"""Names that are global per account (or per partition) never collide between two stacks with
the same name_prefix in two regions.

CloudFront's origin access controls, cache and response-headers policies, CLOUDFRONT-scope web
ACLs (all in us-east-1), CloudWatch dashboards and IAM roles have one namespace per account;
S3 bucket names one per partition. Every resource type the stack plans (every option on) must be
listed here as global or as regional, so a new global type cannot slip in unchecked.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.terraform

REGIONS = ("us-east-1", "ap-southeast-5")  # the default, and a region opened in 2024

# Resource type -> the attribute that must be unique across the account.
GLOBAL_NAME = {
    "aws_cloudfront_origin_access_control": "name",
    "aws_cloudfront_cache_policy": "name",
    "aws_cloudfront_response_headers_policy": "name",
    "aws_cloudwatch_dashboard": "dashboard_name",
    "aws_iam_role": "name",
    "aws_s3_bucket": "bucket",
}
# Global only with scope = "CLOUDFRONT"; REGIONAL web ACLs live in their region.
SCOPED = {"aws_wafv2_web_acl": "name"}
# Named per region (or not named at all, or named by an attribute of another resource).
REGIONAL = {
    "aws_api_gateway_account",
    "aws_api_gateway_authorizer",
    "aws_api_gateway_deployment",
    "aws_api_gateway_gateway_response",
    "aws_api_gateway_integration",
    "aws_api_gateway_integration_response",
    "aws_api_gateway_method",
    "aws_api_gateway_method_response",
    "aws_api_gateway_method_settings",
    "aws_api_gateway_resource",
    "aws_api_gateway_rest_api",
    "aws_api_gateway_stage",
    "aws_cloudfront_distribution",  # no name; its comment is free text
    "aws_cloudwatch_event_bus",  # event buses are named per account and region
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_metric_alarm",
    "aws_cognito_user_pool",
    "aws_cognito_user_pool_client",
    "aws_default_security_group",
    "aws_dynamodb_table",
    "aws_iam_role_policy",  # inline: named within its role
    "aws_lambda_event_source_mapping",
    "aws_lambda_function",
    "aws_lambda_function_event_invoke_config",
    "aws_lambda_layer_version",
    "aws_lambda_permission",
    "aws_route_table",
    "aws_route_table_association",
    "aws_s3_bucket_cors_configuration",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_notification",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_website_configuration",
    "aws_s3_object",
    "aws_security_group",
    "aws_sns_topic",
    "aws_sns_topic_subscription",
    "aws_sqs_queue",
    "aws_subnet",
    "aws_vpc",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_endpoint",
    "aws_vpc_security_group_egress_rule",
    "aws_wafv2_web_acl_association",
}

EVERY_OPTION = {
    "enable_waf": True,
    "enable_alarms": True,
    "alarm_email": "ops@example.com",
    "enable_vpc": True,
    "auth": "cognito",
    "image_access": "public",
}


@pytest.fixture(scope="module")
def plans(plan_factory) -> dict[str, Any]:
    return {
        region: plan_factory(
            region=region,
            vpc_availability_zones=[f"{region}a", f"{region}b"],
            **EVERY_OPTION,
        )
        for region in REGIONS
    }


def global_names(plan) -> dict[str, str | None]:
    """address -> the account-wide name (None when the provider generates a unique one)."""
    names: dict[str, str | None] = {}
    for address, resource in plan.resources.items():
        rtype = resource["type"]
        if resource["mode"] != "managed" or rtype not in {*GLOBAL_NAME, *SCOPED}:
            continue
        values = resource["values"]
        if rtype in GLOBAL_NAME:
            name = values.get(GLOBAL_NAME[rtype])
            if rtype == "aws_s3_bucket" and name is None:
                assert values.get("bucket_prefix"), address  # a unique generated name
            names[address] = name
        elif rtype in SCOPED and values.get("scope") == "CLOUDFRONT":
            names[address] = values[SCOPED[rtype]]
    return names


def test_every_planned_resource_type_is_classified(plans) -> None:
    planned = {
        r["type"]
        for plan in plans.values()
        for r in plan.resources.values()
        if r["mode"] == "managed"
    }
    unknown = planned - set(GLOBAL_NAME) - set(SCOPED) - REGIONAL
    assert unknown == set(), "classify these as global (with their name) or regional"


def test_the_plan_has_every_global_kind(plans) -> None:
    """The options above really plan each global type, so the next test checks them all."""
    for plan in plans.values():
        kinds = {plan.resources[address]["type"] for address in global_names(plan)}
        assert kinds == set(GLOBAL_NAME) | set(SCOPED)


def test_no_global_name_collides_between_two_regions(plans) -> None:
    first, second = (global_names(plans[region]) for region in REGIONS)
    taken = {name for name in first.values() if name is not None}
    clashes = {a: n for a, n in second.items() if n is not None and n in taken}
    assert clashes == {}


def test_global_names_carry_the_region(plans) -> None:
    for region, plan in plans.items():
        for address, name in global_names(plan).items():
            if name is not None:
                assert region in name, address
