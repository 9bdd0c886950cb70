"""`terraform plan` with both values of `auth`: what sign-in adds, and that with "cognito"
nothing but the CORS preflight is left anonymous."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.terraform

SUFFIX = "t1"
UPLOAD_ARN = f"arn:aws:s3:::sip-uploads-{SUFFIX}"
OUTPUT_ARN = f"arn:aws:s3:::sip-output-{SUFFIX}"
EMULATOR = "http://127.0.0.1:4566"
SIDECAR = "http://127.0.0.1:5566"


@pytest.fixture(scope="module")
def anonymous(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX)


@pytest.fixture(scope="module")
def cognito(plan_factory):
    # (image_access "signed", sign-in's default, needs a signing key: test_plan_images.py)
    return plan_factory(bucket_name_suffix=SUFFIX, auth="cognito", image_access="public")


@pytest.fixture(scope="module")
def cognito_local(plan_factory):
    return plan_factory(
        bucket_name_suffix=SUFFIX,
        auth="cognito",
        emulator_endpoint=EMULATOR,
        emulator_sidecar_endpoint=SIDECAR,
        auth_self_sign_up=True,
        quota_uploads_per_day=7,
        quota_bytes_per_day=1000,
    )


def methods(plan) -> dict[str, dict[str, Any]]:
    return {a.split('"')[1]: v for a, v in plan.of_type("aws_api_gateway_method").items()}


def api_env(plan) -> dict[str, str]:
    fn = plan.values("module.api.module.function.aws_lambda_function.this")
    return fn["environment"][0]["variables"]


def statements(plan) -> dict[str, Any]:
    return plan.statements("module.api.data.aws_iam_policy_document.function")


def page_config(plan) -> dict[str, Any]:
    return json.loads(plan.values("module.web_site.aws_s3_object.config")["content"])


# -- auth = "none" ------------------------------------------------------------------------


def test_none_is_the_default_and_adds_nothing(anonymous) -> None:
    assert not [a for a in anonymous.resources if a.startswith("module.auth")]
    assert not anonymous.of_type("aws_api_gateway_authorizer")
    assert not anonymous.of_type("aws_cognito_user_pool")
    # Which methods: the routes of rules.json (tests/terraform/test_rule_drift.py).
    assert all(m["authorization"] == "NONE" for m in methods(anonymous).values())
    assert set(statements(anonymous)) == {
        "PresignPutOriginals",
        "PresignGetVariants",
        "CreateAndReadUploadRecords",
        "ListUploadsByOwner",
        "UpdateUploadRecords",
        "ManageMultipartOriginals",
    }
    assert anonymous.output("auth")["mode"] == "none"


# -- auth = "cognito" ---------------------------------------------------------------------


def test_every_method_but_options_needs_the_cognito_authorizer(cognito) -> None:
    found = methods(cognito)  # which ones: tests/terraform/test_rule_drift.py
    anonymous = sorted(k for k, v in found.items() if v["authorization"] == "NONE")
    assert anonymous == ["options_complete", "options_parts", "options_upload", "options_uploads"]
    assert {"get_uploads", "delete_upload"} <= found.keys()  # the signed_in routes
    protected = {k: v for k, v in found.items() if v["http_method"] != "OPTIONS"}
    assert {v["authorization"] for v in protected.values()} == {"COGNITO_USER_POOLS"}
    config = cognito.raw["configuration"]["root_module"]["module_calls"]["api"]["module"]
    method_cfg = next(
        r for r in config["resources"] if r["address"] == "aws_api_gateway_method.this"
    )
    assert (
        "aws_api_gateway_authorizer.cognito"
        in method_cfg["expressions"]["authorizer_id"]["references"]
    )
    assert len(cognito.of_type("aws_api_gateway_integration")) == len(found)


def test_the_authorizer_reads_the_pools_id_tokens(cognito) -> None:
    (authorizer,) = cognito.of_type("aws_api_gateway_authorizer").values()
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["identity_source"] == "method.request.header.Authorization"
    config = cognito.config_resource(["api"], "aws_api_gateway_authorizer.cognito")
    assert "var.auth.user_pool_arn" in config["expressions"]["provider_arns"]["references"]


def test_the_user_pool_signs_in_by_email_with_a_strong_password(cognito) -> None:
    pool = cognito.values("module.auth[0].aws_cognito_user_pool.this")
    assert pool["name"] == "sip-users"
    assert pool["username_attributes"] == ["email"]
    assert pool["auto_verified_attributes"] == ["email"]
    policy = pool["password_policy"][0]
    assert policy["minimum_length"] >= 12
    assert all(
        policy[f"require_{kind}"] for kind in ("lowercase", "uppercase", "numbers", "symbols")
    )
    assert pool["admin_create_user_config"][0]["allow_admin_create_user_only"] is True
    assert pool["deletion_protection"] == "ACTIVE"


SES_IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"


def test_a_new_email_address_counts_only_once_verified(cognito, cognito_local) -> None:
    for plan in (cognito, cognito_local):
        pool = plan.values("module.auth[0].aws_cognito_user_pool.this")
        assert pool["user_attribute_update_settings"] == [
            {"attributes_require_verification_before_update": ["email"]}
        ]
        assert "email" in pool["auto_verified_attributes"]  # AWS requires both together


def test_emails_go_through_cognitos_own_sender_by_default(cognito) -> None:
    pool = cognito.values("module.auth[0].aws_cognito_user_pool.this")
    (email,) = pool["email_configuration"]
    assert email["email_sending_account"] == "COGNITO_DEFAULT"
    assert not email.get("source_arn")
    assert not email.get("from_email_address")


def test_an_ses_identity_sends_the_pools_emails(plan_factory) -> None:
    plan = plan_factory(
        bucket_name_suffix=SUFFIX,
        auth="cognito",
        image_access="public",
        auth_email_sender={
            "ses_identity_arn": SES_IDENTITY,
            "from_address": "Images <no-reply@mail.example.com>",
            "reply_to": "help@example.com",
        },
    )
    pool = plan.values("module.auth[0].aws_cognito_user_pool.this")
    (email,) = pool["email_configuration"]
    assert email["email_sending_account"] == "DEVELOPER"
    assert email["source_arn"] == SES_IDENTITY
    assert email["from_email_address"] == "Images <no-reply@mail.example.com>"
    assert email["reply_to_email_address"] == "help@example.com"
    assert not email.get("configuration_set")


@pytest.mark.parametrize(
    ("sender", "message"),
    [
        (
            {
                "ses_identity_arn": "arn:aws:sns:us-east-1:123456789012:topic",
                "from_address": "a@b.c",
            },
            "auth_email_sender.ses_identity_arn must be an SES identity ARN",
        ),
        (
            {"ses_identity_arn": SES_IDENTITY, "from_address": "no-reply@evil-example.com"},
            "auth_email_sender.from_address must be an address",
        ),
        (
            {
                "ses_identity_arn": SES_IDENTITY.replace("example.com", "ops@example.com"),
                "from_address": "other@example.com",
            },
            "auth_email_sender.from_address must be an address",
        ),
        (
            {"ses_identity_arn": SES_IDENTITY, "from_address": "not an address"},
            "auth_email_sender.from_address must be an address",
        ),
        (
            {"ses_identity_arn": SES_IDENTITY, "from_address": "a@example.com", "reply_to": "x"},
            "auth_email_sender.reply_to must be null or an email address",
        ),
        (
            {
                "ses_identity_arn": SES_IDENTITY,
                "from_address": "a@example.com",
                "configuration_set": "bad name!",
            },
            "auth_email_sender.configuration_set must be null",
        ),
    ],
    ids=["arn", "foreign-domain", "other-address", "no-address", "reply-to", "config-set"],
)
def test_the_email_sender_is_validated(plan_error, sender, message) -> None:
    assert message in plan_error(auth_email_sender=sender)


def test_self_sign_up_confirms_the_email_address(cognito_local) -> None:
    pool = cognito_local.values("module.auth[0].aws_cognito_user_pool.this")
    assert pool["admin_create_user_config"][0]["allow_admin_create_user_only"] is False
    assert pool["verification_message_template"][0]["default_email_option"] == "CONFIRM_WITH_CODE"
    assert pool["deletion_protection"] == "INACTIVE"  # emulator state is throw-away


def test_the_page_client_is_public_with_password_and_refresh_flows_only(cognito) -> None:
    client = cognito.values("module.auth[0].aws_cognito_user_pool_client.page")
    assert client["generate_secret"] is False
    assert sorted(client["explicit_auth_flows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
    ]
    assert client["prevent_user_existence_errors"] == "ENABLED"
    assert client["enable_token_revocation"] is True


def test_the_quota_table_is_encrypted_and_expires_old_days(cognito) -> None:
    table = cognito.values("module.auth[0].aws_dynamodb_table.quotas")
    assert table["name"] == "sip-users-quotas"
    assert table["hash_key"] == "id"
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["ttl"][0] == {"attribute_name": "expiresAt", "enabled": True}
    # DynamoDB's free AWS-owned key (enabled = true alone would be the billed aws/dynamodb key).
    assert table["server_side_encryption"][0]["enabled"] is False


def test_the_quota_table_uses_the_key_given(plan_factory) -> None:
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    plan = plan_factory(
        bucket_name_suffix=SUFFIX, auth="cognito", image_access="public", kms_key_arn=key
    )
    table = plan.values("module.auth[0].aws_dynamodb_table.quotas")
    assert table["server_side_encryption"] == [{"enabled": True, "kms_key_arn": key}]


def test_the_api_role_gets_exactly_what_erasure_and_quotas_need(cognito) -> None:
    found = statements(cognito)
    assert set(found) == {
        "PresignPutOriginals",
        "PresignGetVariants",
        "CreateAndReadUploadRecords",
        "ListUploadsByOwner",
        "EraseOwnUploads",
        "ListOneUploadsOutputs",
        "UpdateUploadRecords",
        "ManageMultipartOriginals",
        "CountDailyQuotas",
        "ReadRevocations",
        "PublishOutcomeEvents",  # the deleted event (enable_events, the default)
    }
    assert found["EraseOwnUploads"]["actions"] == ["s3:DeleteObject"]
    assert found["EraseOwnUploads"]["resources"] == sorted(
        [f"{UPLOAD_ARN}/uploads/*", f"{OUTPUT_ARN}/*"]
    )
    assert found["ListOneUploadsOutputs"]["actions"] == ["s3:ListBucket"]
    assert found["ListOneUploadsOutputs"]["resources"] == [OUTPUT_ARN]
    assert found["ListOneUploadsOutputs"]["condition"] == [
        ("StringLike", "s3:prefix", ["????????-????-4???-????-????????????/"])
    ]
    assert found["UpdateUploadRecords"]["actions"] == ["dynamodb:UpdateItem"]
    assert found["CountDailyQuotas"]["actions"] == ["dynamodb:UpdateItem"]
    assert found["ReadRevocations"]["actions"] == ["dynamodb:GetItem"]
    for sid in ("UpdateUploadRecords", "CountDailyQuotas", "ReadRevocations"):
        assert found[sid]["effect"] == "Allow"
    # No wildcard action anywhere.
    assert not [s for s in found.values() if any("*" in a for a in s["actions"])]


def test_with_deletes_the_processor_may_erase_a_deleted_upload(cognito, anonymous) -> None:
    """A tombstoned upload's late outputs and original are the processor's to erase (issue 20):
    s3:DeleteObject on originals and outputs, only when uploads can be deleted (sign-in)."""
    address = "module.processor.data.aws_iam_policy_document.function"
    signed_in = cognito.statements(address)
    assert signed_in["EraseDeletedUploads"]["actions"] == ["s3:DeleteObject"]
    assert signed_in["EraseDeletedUploads"]["resources"] == sorted(
        [f"{UPLOAD_ARN}/uploads/*", f"{OUTPUT_ARN}/*"]
    )
    assert "EraseDeletedUploads" not in anonymous.statements(address)
    assert not [
        s for s in anonymous.statements(address).values() if "s3:DeleteObject" in s["actions"]
    ]


def module_refs(plan, module: str, argument: str) -> set[str]:
    calls = plan.raw["configuration"]["root_module"]["module_calls"]
    return set(calls[module]["expressions"][argument]["references"])


def test_the_function_gets_the_pool_its_keys_and_the_quotas(cognito_local) -> None:
    # The pool's ids are known after apply only (the applied stack's values are checked in
    # tests/integration/test_auth.py): here, where each value comes from.
    refs = module_refs(cognito_local, "api", "auth")
    assert {
        "module.auth[0].user_pool_arn",
        "module.auth[0].issuer",
        "module.auth[0].client_id",
        "local.auth_jwks_url",
        "var.auth_jwks_json",
        "module.auth[0].quota_table_name",
        "module.auth[0].quota_table_arn",
        "var.quota_uploads_per_day",
        "var.quota_bytes_per_day",
    } <= refs
    api = cognito_local.raw["configuration"]["root_module"]["module_calls"]["api"]["module"]
    function = api["module_calls"]["function"]["expressions"]["environment_variables"]
    assert {"var.auth.issuer", "var.auth.client_id", "var.auth.jwks_json"} <= set(
        function["references"]
    )


def test_without_sign_in_the_function_gets_no_auth_settings(plan_factory) -> None:
    plan = plan_factory(bucket_name_suffix=SUFFIX, emulator_endpoint=EMULATOR)
    env = api_env(plan)
    assert not [name for name in env if name.startswith(("AUTH_", "QUOTA_"))]


def test_the_page_config_says_how_to_sign_in(cognito_local, anonymous) -> None:
    refs = module_refs(cognito_local, "web_site", "config")
    assert {
        "var.auth",
        "module.auth[0].user_pool_id",
        "module.auth[0].client_id",
        "local.cognito_endpoint",
        "var.auth_self_sign_up",
        "var.auth_password_minimum_length",
    } <= refs
    plan = anonymous
    address = "module.web_site.aws_s3_object.config"
    content = plan.values(address).get("content")
    if content is not None:  # known at plan time only when the API URL is
        assert json.loads(content)["auth"]["mode"] == "none"


def test_auth_accepts_only_its_two_values(plan_error) -> None:
    assert "auth must be one of: none, cognito." in plan_error(auth="ldap")


def test_sign_in_is_refused_on_the_plain_http_page(plan_error, tf_variables_only) -> None:
    """auth = "cognito" with enable_cdn = false would post passwords to an http:// page."""
    error = plan_error(auth="cognito", enable_cdn=False)
    assert (
        'auth = "cognito" needs enable_cdn = true: without CloudFront the page is served' in error
    )
    assert "passwords unencrypted" in error
    # Each alone is fine, and so is the emulator (http everywhere, never real users).
    for allowed in (
        {"auth": "cognito", "image_access": "public"},
        {"enable_cdn": "false"},
        {"auth": "cognito", "enable_cdn": "false", "emulator_endpoint": EMULATOR},
    ):
        tf_variables_only.plan(output=False, tf_vars=allowed, refresh=False)


def test_quotas_are_validated(plan_error) -> None:
    assert "quota_uploads_per_day must be null or an integer" in plan_error(quota_uploads_per_day=0)
    assert "quota_bytes_per_day must be null or a positive integer" in plan_error(
        quota_bytes_per_day=1.5
    )
    assert "auth_jwks_json must be null or a JWKS document" in plan_error(auth_jwks_json="{}")


def test_the_cloudfront_csp_lets_the_page_reach_cognito(cognito_local, anonymous) -> None:
    address = "module.cdn[0].aws_cloudfront_response_headers_policy.this"
    header = cognito_local.values(address)["security_headers_config"][0]["content_security_policy"][
        0
    ]["content_security_policy"]
    directives = {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}
    assert directives["connect-src"] == [
        "'self'",
        f"{EMULATOR}/_aws/execute-api/",
        f"{EMULATOR}/sip-uploads-{SUFFIX}/",
        SIDECAR,
    ]
