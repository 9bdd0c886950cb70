"""What `terraform plan` of the root stack creates, and how it is secured."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
import tftest

from common import contract

pytestmark = pytest.mark.terraform

SUFFIX = "t1"
UPLOAD = f"sip-uploads-{SUFFIX}"
OUTPUT = f"sip-output-{SUFFIX}"
WEB = f"sip-web-{SUFFIX}"
UPLOAD_ARN = f"arn:aws:s3:::{UPLOAD}"
OUTPUT_ARN = f"arn:aws:s3:::{OUTPUT}"
WEB_ARN = f"arn:aws:s3:::{WEB}"

PRIVATE = {"upload": UPLOAD, "output": OUTPUT}

EMULATOR = "http://127.0.0.1:4566"


KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def plan(plan_factory):
    """Default variables, fixed bucket suffix so names and ARNs are known at plan time."""
    return plan_factory(bucket_name_suffix=SUFFIX)


@pytest.fixture(scope="module")
def custom_plan(plan_factory):
    return plan_factory(
        bucket_name_suffix=SUFFIX,
        architecture="arm64",
        kms_key_arn=KMS_KEY,
        output_retention_days=90,
        processor_reserved_concurrency=5,
        processor_memory_mb=2048,
        processor_timeout_seconds=120,
        allowed_origins=["https://images.example.com"],
        api_access_log_enabled=True,
        api_stage_name="prod",
        api_throttle_burst_limit=50,
        api_throttle_rate_limit=25,
        log_retention_days=30,
        upload_retention_days=3,
        force_destroy_buckets=True,
        allowed_content_types=["image/jpeg", "image/png"],
        variants=[{"name": "small", "max_edge": 256, "formats": [{"format": "png"}]}],
    )


@pytest.fixture(scope="module")
def emulator_plan(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX, emulator_endpoint=EMULATOR)


def env_of(plan, module: str) -> dict[str, str]:
    return plan.values(f"module.{module}.module.function.aws_lambda_function.this")["environment"][
        0
    ]["variables"]


# ---------------------------------------------------------------------------------------------
# inventory
# ---------------------------------------------------------------------------------------------


def test_plan_creates_the_expected_resources(plan) -> None:
    counts: dict[str, int] = {}
    for res in plan.resources.values():
        if res["mode"] == "managed":
            counts[res["type"]] = counts.get(res["type"], 0) + 1
    assert counts["aws_s3_bucket"] == 3
    assert counts["aws_lambda_function"] == 2
    assert counts["aws_iam_role"] == 2
    assert counts["aws_iam_role_policy"] == 4  # logs + function policy per role
    assert counts["aws_cloudwatch_log_group"] == 2
    assert counts["aws_lambda_layer_version"] == 2  # Pillow (processor) and the SDK (both)
    assert counts["aws_sqs_queue"] == 1
    assert counts["aws_api_gateway_rest_api"] == 1
    assert counts["aws_api_gateway_stage"] == 1
    assert counts["aws_s3_bucket_notification"] == 1
    # No managed policies (AWSLambdaBasicExecutionRole & co grant logs:* everywhere).
    assert "aws_iam_role_policy_attachment" not in counts
    assert "aws_iam_policy" not in counts
    # Nothing deprecated or removed in provider 6.x.
    assert "aws_s3_bucket_object" not in counts
    assert "aws_s3_bucket_acl" not in counts


def test_every_change_is_a_create(plan) -> None:
    actions = {
        tuple(rc["change"]["actions"]) for rc in plan.changes.values() if rc["mode"] == "managed"
    }
    assert actions == {("create",)}


def test_bucket_names_come_from_prefix_and_suffix(plan) -> None:
    names = sorted(v["bucket"] for v in plan.of_type("aws_s3_bucket").values())
    assert names == sorted([UPLOAD, OUTPUT, WEB])


def test_without_suffix_bucket_prefix_makes_unique_names(plan_factory) -> None:
    default = plan_factory()
    prefixes = sorted(v["bucket_prefix"] for v in default.of_type("aws_s3_bucket").values())
    assert prefixes == ["sip-output-", "sip-uploads-", "sip-web-"]
    for address in default.of_type("aws_s3_bucket"):
        assert default.unknown(address)["bucket"] is True


# ---------------------------------------------------------------------------------------------
# private buckets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(PRIVATE))
def test_private_bucket_blocks_all_public_access(plan, key: str) -> None:
    pab = plan.values(f'module.storage.aws_s3_bucket_public_access_block.this["{key}"]')
    assert pab["bucket"] == PRIVATE[key]
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert pab[flag] is True, flag


@pytest.mark.parametrize("key", sorted(PRIVATE))
def test_private_bucket_disables_acls(plan, key: str) -> None:
    own = plan.values(f'module.storage.aws_s3_bucket_ownership_controls.this["{key}"]')
    assert own["rule"] == [{"object_ownership": "BucketOwnerEnforced"}]


@pytest.mark.parametrize("key", sorted(PRIVATE))
def test_private_bucket_default_encryption_is_sse_s3(plan, key: str) -> None:
    sse = plan.values(
        f'module.storage.aws_s3_bucket_server_side_encryption_configuration.this["{key}"]'
    )
    (rule,) = sse["rule"]
    assert rule["apply_server_side_encryption_by_default"] == [
        {"sse_algorithm": "AES256", "kms_master_key_id": ""}
    ]


@pytest.mark.parametrize("key", sorted(PRIVATE))
def test_private_bucket_kms_encryption_when_key_given(custom_plan, key: str) -> None:
    sse = custom_plan.values(
        f'module.storage.aws_s3_bucket_server_side_encryption_configuration.this["{key}"]'
    )
    (rule,) = sse["rule"]
    (default,) = rule["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    assert rule["bucket_key_enabled"] is True


@pytest.mark.parametrize("key", sorted(PRIVATE))
def test_private_bucket_policy_denies_insecure_transport(plan, key: str) -> None:
    document = plan.data(f'module.storage.data.aws_iam_policy_document.tls_only["{key}"]')
    # (the output bucket also admits the distribution: tests/terraform/test_plan_images.py)
    deny = [st for st in document["statement"] if st["sid"] == "DenyInsecureTransport"]
    statements = {
        st["sid"]: {
            "effect": st["effect"],
            "actions": st["actions"],
            "resources": sorted(st["resources"]),
            "condition": [(c["test"], c["variable"], c["values"]) for c in st["condition"]],
            "principals": [(p["type"], p["identifiers"]) for p in st["principals"]],
        }
        for st in deny
    }
    arn = f"arn:aws:s3:::{PRIVATE[key]}"
    assert statements == {
        "DenyInsecureTransport": {
            "effect": "Deny",
            "actions": ["s3:*"],
            "resources": [arn, f"{arn}/*"],
            "condition": [("Bool", "aws:SecureTransport", ["false"])],
            "principals": [("*", ["*"])],
        }
    }
    # ...and that document is the bucket's policy.
    cfg = plan.config_resource(["storage"], "aws_s3_bucket_policy.this")
    assert "data.aws_iam_policy_document.tls_only" in cfg["expressions"]["policy"]["references"]


def test_upload_bucket_cors_allows_put_from_the_page_only(plan) -> None:
    cors = plan.values('module.storage.aws_s3_bucket_cors_configuration.this["upload"]')
    (rule,) = cors["cors_rule"]
    assert rule["allowed_methods"] == ["PUT"]
    # the multipart path's part PUTs carry their signed SHA-256 (lambda_src/api/storage.py)
    assert sorted(rule["allowed_headers"]) == [
        "content-length",
        "content-type",
        "if-none-match",
        "x-amz-checksum-sha256",
    ]
    assert rule["expose_headers"] == ["ETag"]
    assert rule["max_age_seconds"] > 0
    # the origin is the website endpoint, known only after apply (see the emulator plan for
    # concrete origins)
    unknown = plan.unknown('module.storage.aws_s3_bucket_cors_configuration.this["upload"]')
    assert unknown["cors_rule"][0]["allowed_origins"] is True


def test_output_bucket_cors_is_get_only(plan) -> None:
    (rule,) = plan.values('module.storage.aws_s3_bucket_cors_configuration.this["output"]')[
        "cors_rule"
    ]
    assert rule["allowed_methods"] == ["GET"]
    assert rule["allowed_headers"] in (None, [])


def test_extra_origins_follow_the_page_origin(custom_plan) -> None:
    change = custom_plan.raw["output_changes"]["allowed_origins"]
    assert change["after"][1:] == ["https://images.example.com"]
    assert change["after_unknown"] == [True, False]  # the website origin comes first
    cors = custom_plan.config_resource(["storage"], "aws_s3_bucket_cors_configuration.this")
    assert cors["for_each_expression"]["references"][0] == "local.cors"


def test_upload_bucket_lifecycle(plan) -> None:
    rules = {
        r["id"]: r
        for r in plan.values("module.storage.aws_s3_bucket_lifecycle_configuration.upload")["rule"]
    }
    # anonymous: originals kept a bounded 30 days, too short to archive (test_originals_plan.py)
    assert set(rules) == {"expire-originals", "abort-incomplete-multipart-uploads"}
    expire = rules["expire-originals"]
    assert expire["status"] == "Enabled"
    assert expire["filter"][0]["prefix"] == "uploads/"
    assert expire["expiration"][0]["days"] == 30
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 1}]


def output_rules(plan) -> dict[str, dict]:
    lifecycle = plan.values("module.storage.aws_s3_bucket_lifecycle_configuration.output")
    return {rule["id"]: rule for rule in lifecycle["rule"]}


def test_outputs_expire_after_a_bounded_default_retention(plan) -> None:
    rules = output_rules(plan)
    assert rules["expire-variants"]["status"] == "Enabled"
    assert rules["expire-variants"]["expiration"][0]["days"] == 30  # variables.tf default
    # null (not expressible with -var) keeps them for ever: the rule is then disabled
    cfg = plan.config_resource(["storage"], "aws_s3_bucket_lifecycle_configuration.output")
    status = cfg["expressions"]["rule"][0]["status"]
    assert status["references"] == ["var.output_expiration_days"]


def test_every_private_bucket_aborts_incomplete_multipart_uploads(plan) -> None:
    lifecycles = {
        "upload": "module.storage.aws_s3_bucket_lifecycle_configuration.upload",
        "output": "module.storage.aws_s3_bucket_lifecycle_configuration.output",
        "web": "module.web_site.aws_s3_bucket_lifecycle_configuration.this",
    }
    for bucket, address in lifecycles.items():
        rules = {rule["id"]: rule for rule in plan.values(address)["rule"]}
        abort = rules["abort-incomplete-multipart-uploads"]
        assert abort["status"] == "Enabled", bucket
        assert abort["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 1}], bucket


def test_custom_retention_days(custom_plan) -> None:
    assert output_rules(custom_plan)["expire-variants"]["expiration"][0]["days"] == 90
    upload_rules = custom_plan.values(
        "module.storage.aws_s3_bucket_lifecycle_configuration.upload"
    )["rule"]
    assert {r["id"]: r for r in upload_rules}["expire-originals"]["expiration"][0]["days"] == 3


def test_buckets_are_not_force_destroyed_by_default(plan) -> None:
    for key in PRIVATE:
        assert plan.values(f'module.storage.aws_s3_bucket.this["{key}"]')["force_destroy"] is False


def test_buckets_can_be_force_destroyed(custom_plan) -> None:
    assert (
        custom_plan.values('module.storage.aws_s3_bucket.this["upload"]')["force_destroy"] is True
    )


# ---------------------------------------------------------------------------------------------
# web site bucket
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_website_plan(plan_factory):
    """enable_cdn = false: the public S3 website endpoint (tests/terraform/test_plan_cdn.py has the
    CloudFront default)."""
    return plan_factory(bucket_name_suffix=SUFFIX, enable_cdn=False)


def test_web_bucket_allows_a_public_policy_but_no_acls(s3_website_plan) -> None:
    plan = s3_website_plan
    pab = plan.values("module.web_site.aws_s3_bucket_public_access_block.this")
    assert pab["block_public_acls"] is True
    assert pab["ignore_public_acls"] is True
    assert pab["block_public_policy"] is False
    assert pab["restrict_public_buckets"] is False
    own = plan.values("module.web_site.aws_s3_bucket_ownership_controls.this")
    assert own["rule"] == [{"object_ownership": "BucketOwnerEnforced"}]
    sse = plan.values("module.web_site.aws_s3_bucket_server_side_encryption_configuration.this")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "AES256"


def test_web_bucket_policy_only_allows_get_object(s3_website_plan) -> None:
    policy = json.loads(
        s3_website_plan.values("module.web_site.aws_s3_bucket_policy.this")["policy"]
    )
    assert policy["Statement"] == [
        {
            "Sid": "PublicReadOfPageFiles",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"{WEB_ARN}/*",
        }
    ]


def test_web_bucket_hosts_a_website(s3_website_plan) -> None:
    site = s3_website_plan.values("module.web_site.aws_s3_bucket_website_configuration.this[0]")
    assert site["index_document"] == [{"suffix": "index.html"}]


EXPECTED_CONTENT_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "js/app.js": "text/javascript; charset=utf-8",
    "css/style.css": "text/css; charset=utf-8",
    "favicon.ico": "image/x-icon",
    "icons/logo.svg": "image/svg+xml",
    "img/sample.png": "image/png",
    "site.webmanifest": "application/manifest+json",
    "data/strings.json": "application/json",
    "notes.bin": "application/octet-stream",
}


def test_web_files_are_uploaded_with_content_types(plan) -> None:
    objects = {
        v["key"]: v
        for a, v in plan.of_type("aws_s3_object").items()
        if a.startswith("module.web_site.aws_s3_object.files")
    }
    # hidden files and a local config.json are not published
    assert set(objects) == set(EXPECTED_CONTENT_TYPES)
    for key, content_type in EXPECTED_CONTENT_TYPES.items():
        assert objects[key]["content_type"] == content_type, key
        assert objects[key]["bucket"] == WEB
        assert len(objects[key]["etag"]) == 32  # filemd5
    assert objects["index.html"]["cache_control"] == "no-cache"


def test_config_json_is_generated(plan) -> None:
    cfg = plan.values("module.web_site.aws_s3_object.config")
    assert cfg["key"] == "config.json"
    assert cfg["content_type"] == "application/json"
    assert cfg["cache_control"] == "no-cache"
    # apiUrl is only known after apply: the content is unknown in a plan
    assert plan.unknown("module.web_site.aws_s3_object.config")["content"] is True


# ---------------------------------------------------------------------------------------------
# Lambda functions and IAM
# ---------------------------------------------------------------------------------------------


def role_policy_statements(plan, module: str) -> dict[str, Any]:
    return plan.statements(f"module.{module}.data.aws_iam_policy_document.function")


def test_api_role_is_least_privilege(plan, root_local) -> None:
    assert role_policy_statements(plan, "api") == {
        "PresignPutOriginals": {
            "effect": "Allow",
            "actions": ["s3:PutObject"],
            "resources": [f"{UPLOAD_ARN}/uploads/*"],
            "condition": [],
            "principals": [],
        },
        "PresignGetVariants": {
            "effect": "Allow",
            "actions": ["s3:GetObject"],
            "resources": [f"{OUTPUT_ARN}/*"],
            "condition": [],
            "principals": [],
        },
        "CreateAndReadUploadRecords": {
            "effect": "Allow",
            "actions": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "resources": None,  # the table's ARN is known after apply (see below)
            "condition": [],
            "principals": [],
        },
        "ListUploadsByOwner": {
            "effect": "Allow",
            "actions": ["dynamodb:Query"],
            "resources": None,
            "condition": [],
            "principals": [],
        },
        "UpdateUploadRecords": {
            "effect": "Allow",
            "actions": ["dynamodb:UpdateItem"],
            "resources": None,
            "condition": [],
            "principals": [],
        },
        "ManageMultipartOriginals": {
            "effect": "Allow",
            "actions": ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            "resources": [f"{UPLOAD_ARN}/uploads/*"],
            "condition": [],
            "principals": [],
        },
    }
    assert statement_refs(plan, "api", "UpdateUploadRecords") == ["var.uploads_table.arn"]
    # no S3 read or listing at all: the status comes from the record, in this table only
    assert statement_refs(plan, "api", "CreateAndReadUploadRecords") == ["var.uploads_table.arn"]
    assert statement_refs(plan, "api", "ListUploadsByOwner") == [
        "var.uploads_table.owner_index_arn"
    ]
    calls = plan.raw["configuration"]["root_module"]["module_calls"]
    assert "local.uploads_table" in calls["api"]["expressions"]["uploads_table"]["references"]
    table = root_local("uploads_table")
    assert table["arn"] == "${module.uploads_table.arn}"
    assert table["owner_index_arn"] == "${module.uploads_table.owner_index_arn}"


def statement_refs(plan, module: str, sid: str) -> list[str]:
    cfg = plan.config_resource([module], "data.aws_iam_policy_document.function")
    statement = next(
        s for s in cfg["expressions"]["statement"] if s["sid"]["constant_value"] == sid
    )
    return [ref for ref in statement["resources"]["references"] if "." in ref][:1]


def test_processor_role_is_least_privilege(plan) -> None:
    statements = role_policy_statements(plan, "processor")
    assert set(statements) == {
        "ReadOriginals",
        "DistinguishMissingOriginals",
        "WriteVariantsAndManifests",
        "UpdateUploadRecords",
        "SendFailedEventsToDlq",
        "PublishOutcomeEvents",  # events on by default (test_events_plan.py)
    }
    # the processor may only read and update records (the API creates them); without sign-in
    # nothing is ever deleted, so it may delete nothing (EraseDeletedUploads: test_plan_auth)
    assert statements["UpdateUploadRecords"]["actions"] == [
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    ]
    assert statements["UpdateUploadRecords"]["resources"] is None  # known after apply
    assert statement_refs(plan, "processor", "UpdateUploadRecords") == ["var.uploads_table.arn"]
    assert statements["ReadOriginals"]["actions"] == ["s3:GetObject"]
    assert statements["ReadOriginals"]["resources"] == [f"{UPLOAD_ARN}/uploads/*"]
    assert statements["DistinguishMissingOriginals"]["actions"] == ["s3:ListBucket"]
    assert statements["DistinguishMissingOriginals"]["resources"] == [UPLOAD_ARN]
    assert statements["WriteVariantsAndManifests"]["actions"] == ["s3:PutObject"]
    assert statements["WriteVariantsAndManifests"]["resources"] == [f"{OUTPUT_ARN}/*"]
    assert statements["SendFailedEventsToDlq"]["actions"] == ["sqs:SendMessage"]
    # the queue ARN is only known after apply: check what it refers to
    cfg = plan.config_resource(["processor"], "data.aws_iam_policy_document.function")
    dlq = next(
        s
        for s in cfg["expressions"]["statement"]
        if s["sid"]["constant_value"] == "SendFailedEventsToDlq"
    )
    assert dlq["resources"]["references"][0] == "aws_sqs_queue.dlq.arn"
    for st in statements.values():
        assert st["effect"] == "Allow"
        assert st["condition"] == []


@pytest.mark.parametrize("module", ["api", "processor"])
def test_function_policies_are_attached_to_their_roles(plan, module: str) -> None:
    call = plan.raw["configuration"]["root_module"]["module_calls"][module]["module"][
        "module_calls"
    ]["function"]
    exprs = call["expressions"]
    assert exprs["attach_policy_json"]["constant_value"] is True
    assert "data.aws_iam_policy_document.function.json" in exprs["policy_json"]["references"]


@pytest.mark.parametrize("module", ["api", "processor"])
def test_function_logs_only_to_its_own_log_group(plan, module: str) -> None:
    prefix = f"module.{module}.module.function"
    statements = plan.statements(f"{prefix}.data.aws_iam_policy_document.logs")
    assert set(statements) == {"WriteOwnLogGroup"}
    assert statements["WriteOwnLogGroup"]["actions"] == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    cfg = plan.config_resource([module, "function"], "data.aws_iam_policy_document.logs")
    (statement,) = cfg["expressions"]["statement"]
    assert "aws_cloudwatch_log_group.this.arn" in statement["resources"]["references"]
    fn_name = f"sip-{module}"
    log_group = plan.values(f"{prefix}.aws_cloudwatch_log_group.this")
    assert log_group["name"] == f"/aws/lambda/{fn_name}"
    assert log_group["retention_in_days"] == 14


@pytest.mark.parametrize("module", ["api", "processor"])
def test_function_role_trusts_lambda_only(plan, module: str) -> None:
    role = plan.values(f"module.{module}.module.function.aws_iam_role.this")
    assert role["name"] == f"sip-{module}-us-east-1"
    trust = json.loads(role["assume_role_policy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"


def test_api_function_environment(emulator_plan) -> None:
    # With the emulator endpoint every value is known at plan time; on AWS, ALLOWED_ORIGINS
    # (the website endpoint) is known after apply only, and so is the whole map.
    plan = emulator_plan
    fn = plan.values("module.api.module.function.aws_lambda_function.this")
    assert fn["function_name"] == "sip-api"
    assert fn["handler"] == "api.handler.handler"
    assert fn["runtime"] == "python3.12"
    assert fn["architectures"] == ["x86_64"]
    env = env_of(plan, "api")
    assert set(env) == {
        "UPLOAD_BUCKET",
        "OUTPUT_BUCKET",
        "UPLOAD_PREFIX",
        "ALLOWED_CONTENT_TYPES",
        "MAX_UPLOAD_BYTES",
        "MULTIPART_THRESHOLD_BYTES",
        "UPLOAD_URL_TTL_SECONDS",
        "DOWNLOAD_URL_TTL_SECONDS",
        "ALLOWED_ORIGINS",
        "LOG_LEVEL",
        "PROCESSING_ATTEMPTS",
        "PROCESSING_WINDOW_SECONDS",
        "UPLOADS_TABLE",
        "RECORD_RETENTION_DAYS",
        "DELIVERY_MODE",
        "DELIVERY_BASE_URL",
        "DELIVERY_TTL_SECONDS",
        "DELIVERY_KEY_PAIR_ID",
        "DELIVERY_PRIVATE_KEY_PARAMETER",
    }
    assert env["UPLOADS_TABLE"] == "sip-uploads"
    assert env["RECORD_RETENTION_DAYS"] == "30"  # the records live as long as the outputs
    assert (env["PROCESSING_ATTEMPTS"], env["PROCESSING_WINDOW_SECONDS"]) == ("3", "420")
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in env  # only on the emulator
    assert env["UPLOAD_BUCKET"] == UPLOAD
    assert env["OUTPUT_BUCKET"] == OUTPUT
    assert env["UPLOAD_PREFIX"] == "uploads/"
    assert env["ALLOWED_CONTENT_TYPES"] == (
        "image/jpeg,image/png,image/webp,image/gif,image/heic,image/heif,image/avif"
    )
    assert env["MAX_UPLOAD_BYTES"] == "104857600"
    assert env["MULTIPART_THRESHOLD_BYTES"] == "16777216"
    assert env["UPLOAD_URL_TTL_SECONDS"] == "60"
    assert env["DOWNLOAD_URL_TTL_SECONDS"] == "300"
    assert env["LOG_LEVEL"] == "INFO"


def test_processor_function_environment_and_sizing(plan) -> None:
    fn = plan.values("module.processor.module.function.aws_lambda_function.this")
    assert fn["function_name"] == "sip-processor"
    assert fn["memory_size"] == 1769  # one vCPU: the lowest cost x latency (docs/cost.md)
    assert fn["timeout"] == 60
    assert fn["architectures"] == ["x86_64"]
    assert fn["reserved_concurrent_executions"] == -1
    env = env_of(plan, "processor")
    assert set(env) == {
        "OUTPUT_BUCKET",
        "UPLOAD_PREFIX",
        "MAX_UPLOAD_BYTES",
        "MAX_PIXELS",
        "ALLOWED_FORMATS",
        "VARIANTS",
        "LOG_LEVEL",
        "UPLOADS_TABLE",
        "PROCESSING_ATTEMPTS",
        "RECORD_RETENTION_DAYS",
        "METRICS_NAMESPACE",
        "METRICS_SERVICE",
        "EVENT_BUS_NAME",  # events on by default (test_events_plan.py)
        "EVENT_SOURCE",
        "EVENT_URL_TTL_SECONDS",
    }
    assert env["UPLOADS_TABLE"] == "sip-uploads"
    assert env["OUTPUT_BUCKET"] == OUTPUT
    assert env["UPLOAD_PREFIX"] == "uploads/"
    assert env["MAX_PIXELS"] == "40000000"
    assert env["ALLOWED_FORMATS"] == "JPEG,PNG,WEBP,GIF,HEIF,AVIF"  # heic and heif: one format
    assert json.loads(env["VARIANTS"]) == [
        {
            "name": name,
            "max_edge": edge,
            "animate": None,
            "formats": [{"format": f, "quality": None, "effort": None} for f in formats],
        }
        for name, edge, formats in (
            ("large", 1024, ("avif", "jpeg")),
            ("medium", 512, ("avif", "jpeg")),
            ("thumb", 128, ("webp", "jpeg")),
        )
    ]
    # rules.json repeats the default for the benchmarks (bench/defaults.py): the same sizes
    assert contract.size_rules(json.loads(env["VARIANTS"])) == contract.default_sizes()


def test_processor_layer(plan) -> None:
    layer = plan.values("module.processor.aws_lambda_layer_version.pillow")
    assert layer["compatible_runtimes"] == ["python3.12"]
    assert layer["compatible_architectures"] == ["x86_64"]
    assert layer["filename"].endswith("/pillow-layer-x86_64.zip")
    assert layer["source_code_hash"]


def test_the_uploads_table_uses_the_aws_owned_key_unless_one_is_given(plan, custom_plan) -> None:
    """enabled = true without a key would be the AWS-managed aws/dynamodb key (billed per
    request); enabled = false is DynamoDB's free AWS-owned key."""
    address = "module.uploads_table.aws_dynamodb_table.this"
    (default,) = plan.values(address)["server_side_encryption"]
    assert default["enabled"] is False
    assert default.get("kms_key_arn") in (None, "")
    (with_key,) = custom_plan.values(address)["server_side_encryption"]
    assert with_key == {"enabled": True, "kms_key_arn": KMS_KEY}


def test_the_uploads_table(plan, plan_factory) -> None:
    table = plan.values("module.uploads_table.aws_dynamodb_table.this")
    assert table["name"] == "sip-uploads"
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["hash_key"] == "id"
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["deletion_protection_enabled"] is True
    assert table["ttl"] == [{"attribute_name": "expiresAt", "enabled": True}]
    (index,) = table["global_secondary_index"]
    assert (index["name"], index["hash_key"], index["range_key"]) == (
        "byOwner",
        "owner",
        "createdAt",
    )
    off = plan_factory(
        bucket_name_suffix=SUFFIX,
        uploads_table_point_in_time_recovery=False,
        uploads_table_deletion_protection=False,
    ).values("module.uploads_table.aws_dynamodb_table.this")
    assert off["point_in_time_recovery"][0]["enabled"] is False
    assert off["deletion_protection_enabled"] is False


def test_on_the_emulator_dynamodb_is_the_sidecar(plan_factory) -> None:
    emulated = plan_factory(
        bucket_name_suffix=SUFFIX,
        emulator_endpoint=EMULATOR,
        emulator_sidecar_endpoint="http://127.0.0.1:5566",
    )
    for module in ("api", "processor"):
        assert env_of(emulated, module)["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:5566"
    table = emulated.values("module.uploads_table.aws_dynamodb_table.this")
    assert table["deletion_protection_enabled"] is False  # emulator state is throw-away


def test_both_functions_ship_the_pinned_sdk_layer(plan, root_local) -> None:
    layer = plan.values("module.sdk_layer.aws_lambda_layer_version.this")
    assert layer["filename"].endswith("/sdk-layer-x86_64.zip")
    assert layer["compatible_runtimes"] == ["python3.12"]
    for module in ("api", "processor"):
        cfg = plan.config_resource([module, "function"], "aws_lambda_function.this")
        refs = cfg["expressions"]["layers"]["references"]
        assert {"var.settings.shared_layer_arns", "var.layers"} <= set(refs)
        call = plan.raw["configuration"]["root_module"]["module_calls"][module]
        assert (
            "var.function_settings"
            in call["module"]["module_calls"]["function"]["expressions"]["settings"]["references"]
        )
        assert "local.function_settings" in call["expressions"]["function_settings"]["references"]
    assert root_local("function_settings")["shared_layer_arns"] == ["${module.sdk_layer.arn}"]


@pytest.mark.parametrize(("which", "arch"), [("plan", "x86_64"), ("custom_plan", "arm64")])
def test_every_layer_declares_only_the_architecture_of_the_functions(
    which: str, arch: str, request
) -> None:
    """The layers hold compiled code for the one architecture build.sh --arch built (the SDK
    layer's cryptography, Pillow): each declares exactly that one, the functions run on it, and
    each zip is the one built for it."""
    planned = request.getfixturevalue(which)
    functions = planned.of_type("aws_lambda_function")
    assert len(functions) == 2
    for address, function in functions.items():
        assert function["architectures"] == [arch], address
    layers = planned.of_type("aws_lambda_layer_version")
    assert len(layers) == 2
    for address, layer in layers.items():
        assert layer["compatible_architectures"] == [arch], address
        assert layer["filename"].endswith(f"-layer-{arch}.zip"), address


def test_a_layer_zip_missing_for_the_architecture_is_refused(plan_factory, tf_workdir) -> None:
    """architecture = arm64 after ./build.sh built only x86_64: the plan names the command."""
    missing = tf_workdir / "artifacts-x86-only"
    shutil.copytree(tf_workdir / "artifacts", missing, dirs_exist_ok=True)
    (missing / "sdk-layer-arm64.zip").unlink(missing_ok=True)
    with pytest.raises(tftest.TerraformTestError) as excinfo:
        plan_factory(bucket_name_suffix=SUFFIX, architecture="arm64", artifacts_dir=str(missing))
    error = " ".join((excinfo.value.cmd_error or str(excinfo.value)).replace("│", " ").split())
    assert (
        "sdk-layer-arm64.zip does not exist: build it for arm64 with ./build.sh --arch arm64"
        in error
    )


def test_custom_sizing_architecture_and_kms(custom_plan) -> None:
    fn = custom_plan.values("module.processor.module.function.aws_lambda_function.this")
    assert fn["architectures"] == ["arm64"]
    assert fn["memory_size"] == 2048
    assert fn["timeout"] == 120
    assert fn["reserved_concurrent_executions"] == 5
    layer = custom_plan.values("module.processor.aws_lambda_layer_version.pillow")
    assert layer["compatible_architectures"] == ["arm64"]
    assert layer["filename"].endswith("/pillow-layer-arm64.zip")
    api_fn = custom_plan.values("module.api.module.function.aws_lambda_function.this")
    assert api_fn["architectures"] == ["arm64"]
    env = env_of(custom_plan, "processor")
    assert env["ALLOWED_FORMATS"] == "JPEG,PNG"
    assert json.loads(env["VARIANTS"]) == [
        {
            "name": "small",
            "max_edge": 256,
            "animate": None,
            "formats": [{"format": "png", "quality": None, "effort": None}],
        }
    ]
    # (the API function's environment holds the website origin: unknown until apply)
    assert custom_plan.unknown("module.api.module.function.aws_lambda_function.this")[
        "environment"
    ] == [{"variables": True}]
    for module in ("api", "processor"):
        kms = role_policy_statements(custom_plan, module)["UseBucketKmsKey"]
        assert kms["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert kms["resources"][0].startswith("arn:aws:kms:us-east-1:111122223333:key/")
        lg = custom_plan.values(f"module.{module}.module.function.aws_cloudwatch_log_group.this")
        assert lg["retention_in_days"] == 30


# ---------------------------------------------------------------------------------------------
# processor triggers, retries and DLQ
# ---------------------------------------------------------------------------------------------


def test_upload_bucket_notifies_the_processor(plan) -> None:
    notification = plan.values("module.processor.aws_s3_bucket_notification.this")
    assert notification["bucket"] == UPLOAD
    (target,) = notification["lambda_function"]
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["filter_prefix"] == "uploads/"
    cfg = plan.config_resource(["processor"], "aws_s3_bucket_notification.this")
    assert "aws_lambda_permission.s3" in cfg["depends_on"]


def test_s3_may_invoke_the_processor_from_the_upload_bucket_only(plan) -> None:
    perm = plan.values("module.processor.aws_lambda_permission.s3")
    assert perm["principal"] == "s3.amazonaws.com"
    assert perm["action"] == "lambda:InvokeFunction"
    assert perm["source_arn"] == UPLOAD_ARN
    assert perm["function_name"] == "sip-processor"
    # the account is the function's own (from its ARN, known after apply)
    assert plan.unknown("module.processor.aws_lambda_permission.s3")["source_account"] is True
    cfg = plan.config_resource(["processor"], "aws_lambda_permission.s3")
    assert "module.function.function_arn" in cfg["expressions"]["source_account"]["references"]


def test_failed_events_go_to_an_encrypted_dlq(plan) -> None:
    cfg = plan.values("module.processor.aws_lambda_function_event_invoke_config.this")
    assert cfg["maximum_retry_attempts"] == 2
    assert cfg["maximum_event_age_in_seconds"] == 3600
    unknown = plan.unknown("module.processor.aws_lambda_function_event_invoke_config.this")
    assert unknown["destination_config"][0]["on_failure"][0]["destination"] is True
    expr = plan.config_resource(["processor"], "aws_lambda_function_event_invoke_config.this")
    on_failure = expr["expressions"]["destination_config"][0]["on_failure"][0]
    assert "aws_sqs_queue.dlq.arn" in on_failure["destination"]["references"]
    queue = plan.values("module.processor.aws_sqs_queue.dlq")
    assert queue["sqs_managed_sse_enabled"] is True
    assert queue["message_retention_seconds"] == 14 * 24 * 3600
    assert queue["name"] == "sip-processor-dlq"


# ---------------------------------------------------------------------------------------------
# API Gateway
# ---------------------------------------------------------------------------------------------


def test_rest_api_routes(plan) -> None:
    api = plan.values("module.api.aws_api_gateway_rest_api.this")
    assert api["endpoint_configuration"][0]["types"] == ["REGIONAL"]
    # Which methods: the routes of rules.json (tests/terraform/test_rule_drift.py).
    methods = plan.of_type("aws_api_gateway_method")
    by_key = {a.split('"')[1]: v for a, v in methods.items()}
    assert all(v["authorization"] == "NONE" for v in by_key.values())
    for key, method in by_key.items():
        # every resource under /uploads/{id} takes the id (the multipart parts and complete too)
        expected = None if key.endswith("_uploads") else {"method.request.path.id": True}
        assert method["request_parameters"] == expected, key
    integrations = plan.of_type("aws_api_gateway_integration")
    assert integrations.keys() == {a.replace("_method.", "_integration.") for a in methods}
    for integration in integrations.values():
        assert integration["type"] == "AWS_PROXY"
        assert integration["integration_http_method"] == "POST"


def test_deployment_is_redeployed_on_changes(plan) -> None:
    cfg = plan.config_resource(["api"], "aws_api_gateway_deployment.this")
    refs = set(cfg["expressions"]["triggers"]["references"])
    assert {"aws_api_gateway_method.this", "aws_api_gateway_integration.this"} <= refs
    assert {"local.methods", "local.gateway_response_parameters"} <= refs
    # attributes read back from the API are normalised on refresh (null -> {}): hashing them
    # would redeploy on every plan
    assert not [r for r in refs if r.endswith(("_parameters", "_templates")) and "local." not in r]
    assert "stage_name" not in cfg["expressions"]  # the stage is its own resource
    assert cfg["expressions"]["rest_api_id"]["references"][0] == "aws_api_gateway_rest_api.this.id"


def test_stage_and_throttling(plan, custom_plan) -> None:
    stage = plan.values("module.api.aws_api_gateway_stage.this")
    assert stage["stage_name"] == "v1"
    assert stage["access_log_settings"] == []
    settings = plan.values("module.api.aws_api_gateway_method_settings.this")
    assert settings["method_path"] == "*/*"
    assert settings["settings"][0]["throttling_burst_limit"] == 20
    assert settings["settings"][0]["throttling_rate_limit"] == 10

    custom = custom_plan.values("module.api.aws_api_gateway_method_settings.this")
    assert custom["stage_name"] == "prod"
    assert custom["settings"][0]["throttling_burst_limit"] == 50
    assert custom["settings"][0]["throttling_rate_limit"] == 25
    custom_stage = custom_plan.values("module.api.aws_api_gateway_stage.this")
    assert len(custom_stage["access_log_settings"]) == 1
    access = custom_plan.values("module.api.aws_cloudwatch_log_group.access[0]")
    assert access["retention_in_days"] == 30
    assert "module.api.aws_cloudwatch_log_group.access[0]" not in plan.resources


def test_api_gateway_may_invoke_the_api_function_for_this_api_only(plan) -> None:
    perm = plan.values("module.api.aws_lambda_permission.api_gateway")
    assert perm["principal"] == "apigateway.amazonaws.com"
    assert perm["function_name"] == "sip-api"
    cfg = plan.config_resource(["api"], "aws_lambda_permission.api_gateway")
    assert (
        "aws_api_gateway_rest_api.this.execution_arn"
        in cfg["expressions"]["source_arn"]["references"]
    )


def test_gateway_errors_carry_cors_headers(plan) -> None:
    responses = plan.of_type("aws_api_gateway_gateway_response")
    assert {v["response_type"] for v in responses.values()} == {"DEFAULT_4XX", "DEFAULT_5XX"}


# ---------------------------------------------------------------------------------------------
# outputs and the emulator mode
# ---------------------------------------------------------------------------------------------

ROOT_OUTPUTS = {
    "web_url",
    "api_url",
    "upload_bucket",
    "output_bucket",
    "web_bucket",
    "dead_letter_queue_url",
    "processor_function_name",
    "api_function_name",
    "rest_api_id",
}


def test_root_outputs(plan) -> None:
    assert set(plan.raw["configuration"]["root_module"]["outputs"]) >= ROOT_OUTPUTS
    for name, out in plan.raw["configuration"]["root_module"]["outputs"].items():
        assert out.get("description"), f"output {name} has no description"
    assert plan.output("upload_bucket") == UPLOAD
    assert plan.output("output_bucket") == OUTPUT
    assert plan.output("web_bucket") == WEB
    assert plan.output("api_function_name") == "sip-api"
    assert plan.output("processor_function_name") == "sip-processor"


def test_emulator_mode_uses_local_urls_and_origin(emulator_plan) -> None:
    assert emulator_plan.output("web_url") == f"{EMULATOR}/{WEB}/index.html"
    assert env_of(emulator_plan, "api")["ALLOWED_ORIGINS"] == EMULATOR
    (rule,) = emulator_plan.values(
        'module.storage.aws_s3_bucket_cors_configuration.this["upload"]'
    )["cors_rule"]
    assert rule["allowed_origins"] == [EMULATOR]
    assert emulator_plan.output("allowed_origins") == [EMULATOR]
    # emulator state is throw-away: buckets with objects can be destroyed
    for key in PRIVATE:
        bucket = emulator_plan.values(f'module.storage.aws_s3_bucket.this["{key}"]')
        assert bucket["force_destroy"] is True
    responses = emulator_plan.of_type("aws_api_gateway_gateway_response")
    for response in responses.values():
        assert response["response_parameters"][
            "gatewayresponse.header.Access-Control-Allow-Origin"
        ] == (f"'{EMULATOR}'")
    # api_url = <endpoint>/_aws/execute-api/<id>/<stage>: the id is known after apply only
    api_url = emulator_plan.raw["configuration"]["root_module"]["outputs"]["api_url"]
    assert "local.api_url" in api_url["expression"]["references"]


def test_real_aws_mode_uses_the_website_origin(s3_website_plan) -> None:
    plan = s3_website_plan
    assert plan.output("web_url") is None  # website endpoint: known after apply
    unknown = plan.unknown("module.api.module.function.aws_lambda_function.this")
    assert unknown["environment"][0]["variables"] is True  # ALLOWED_ORIGINS = website origin
    change = plan.raw["output_changes"]["allowed_origins"]
    assert change["after_unknown"] is True or change["after_unknown"] == [True]
