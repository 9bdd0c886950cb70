"""HTTPS delivery in `terraform plan`: CloudFront with origin access control in front of the
private web bucket (enable_cdn, default true), or the public S3 website endpoint
(enable_cdn = false); the optional custom domain and the optional WAF web ACLs.

These plans model real AWS (no emulator_endpoint) unless the fixture says emulator: there the
page is served path-style from the emulator's S3 in both modes, and the distribution only
exists on the moto sidecar.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from support.pipeline import REPO

pytestmark = pytest.mark.terraform

SUFFIX = "t1"
WEB = f"sip-web-{SUFFIX}"
WEB_ARN = f"arn:aws:s3:::{WEB}"
EMULATOR = "http://127.0.0.1:4566"
DOMAIN = "images.example.com"
ZONE = "Z0123456789ABCDEFGHIJ"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CDN = "module.cdn[0]"
DISTRIBUTION = f"{CDN}.aws_cloudfront_distribution.this"
HEADERS = f"{CDN}.aws_cloudfront_response_headers_policy.this"
BPA_FLAGS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)


@pytest.fixture(scope="module")
def cdn_plan(plan_factory):
    """Every default: enable_cdn = true, no custom domain, no WAF."""
    return plan_factory(bucket_name_suffix=SUFFIX)


@pytest.fixture(scope="module")
def website_plan(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX, enable_cdn=False)


@pytest.fixture(scope="module")
def domain_plan(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX, domain_name=DOMAIN, hosted_zone_id=ZONE)


@pytest.fixture(scope="module")
def waf_plan(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX, enable_waf=True)


@pytest.fixture(scope="module")
def emulator_cdn_plan(plan_factory):
    """Emulator mode with the CDN on (the shared integration stack's settings)."""
    return plan_factory(bucket_name_suffix=SUFFIX, emulator_endpoint=EMULATOR)


def module_call(plan, *path: str) -> dict[str, Any]:
    module = plan.raw["configuration"]["root_module"]
    call: dict[str, Any] = {}
    for name in path:
        call = module["module_calls"][name]
        module = call["module"]
    return call


def refs(expression: dict[str, Any]) -> list[str]:
    return expression.get("references", [])


def resources_of(plan, prefix: str) -> list[str]:
    return [address for address in plan.resources if address.startswith(prefix)]


def behaviours(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [*values["default_cache_behavior"], *values["ordered_cache_behavior"]]


def csp_directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def page_meta_csp() -> str:
    html = (REPO / "web" / "index.html").read_text()
    (policy,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    return policy


def allowed_by(source: str, allowed: list[str]) -> bool:
    """Does a CSP source list `allowed` permit the source expression `source`?"""
    if source in allowed:
        return True
    scheme = source.split("//", 1)[0] if "://" in source else None
    return scheme is not None and scheme in allowed


# ---------------------------------------------------------------------------------------------
# the web bucket: private behind CloudFront, public without it
# ---------------------------------------------------------------------------------------------


def test_with_the_cdn_the_web_bucket_blocks_all_public_access(cdn_plan) -> None:
    pab = cdn_plan.values("module.web_site.aws_s3_bucket_public_access_block.this")
    assert {flag: pab[flag] for flag in BPA_FLAGS} == dict.fromkeys(BPA_FLAGS, True)
    assert not resources_of(cdn_plan, "module.web_site.aws_s3_bucket_website_configuration")
    assert "module.web_site.data.aws_iam_policy_document.public_read[0]" not in cdn_plan.changes


def test_with_the_cdn_only_the_distribution_may_read_the_web_bucket(cdn_plan) -> None:
    document = cdn_plan.data("module.web_site.data.aws_iam_policy_document.cloudfront_read[0]")
    statements = {st["sid"]: st for st in document["statement"]}

    assert set(statements) == {"CloudFrontReadsPageFiles", "DenyInsecureTransport"}
    read = statements["CloudFrontReadsPageFiles"]
    assert read["effect"] == "Allow"
    assert read["actions"] == ["s3:GetObject"]
    assert read["resources"] == [f"{WEB_ARN}/*"]
    assert read["principals"] == [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}]
    (condition,) = read["condition"]
    assert (condition["test"], condition["variable"]) == ("StringEquals", "aws:SourceArn")
    # ...and the ARN is this stack's distribution (known after apply).
    cfg = cdn_plan.config_resource(["web_site"], "data.aws_iam_policy_document.cloudfront_read")
    (statement, _) = cfg["expressions"]["statement"]
    assert refs(statement["condition"][0]["values"]) == ["var.cloudfront_distribution_arn"]
    call = module_call(cdn_plan, "web_site")["expressions"]
    assert "module.cdn[0].distribution_arn" in refs(call["cloudfront_distribution_arn"])
    assert call["delivery"]["references"] == ["var.enable_cdn"]
    deny = statements["DenyInsecureTransport"]
    assert deny["effect"] == "Deny"
    assert deny["resources"] == sorted([WEB_ARN, f"{WEB_ARN}/*"])
    assert [(c["variable"], c["values"]) for c in deny["condition"]] == [
        ("aws:SecureTransport", ["false"])
    ]
    # No statement allows "*".
    assert all(
        p["identifiers"] != ["*"]
        for st in document["statement"]
        if st["effect"] == "Allow"
        for p in st["principals"]
    )


def test_without_the_cdn_the_page_is_a_public_s3_website(website_plan) -> None:
    assert not resources_of(website_plan, "module.cdn")
    pab = website_plan.values("module.web_site.aws_s3_bucket_public_access_block.this")
    assert pab["block_public_policy"] is False
    assert pab["restrict_public_buckets"] is False
    assert website_plan.values("module.web_site.aws_s3_bucket_website_configuration.this[0]")
    assert website_plan.output("web_delivery") == "s3-website"
    assert website_plan.output("cdn_distribution_id") is None


# ---------------------------------------------------------------------------------------------
# the distribution
# ---------------------------------------------------------------------------------------------


def test_the_distribution_reads_the_bucket_with_origin_access_control(cdn_plan) -> None:
    control = cdn_plan.values(f"{CDN}.aws_cloudfront_origin_access_control.this")
    assert control["origin_access_control_origin_type"] == "s3"
    assert control["signing_behavior"] == "always"
    assert control["signing_protocol"] == "sigv4"

    distribution = cdn_plan.config_resource(["cdn"], "aws_cloudfront_distribution.this")
    (origin,) = distribution["expressions"]["origin"]
    assert "aws_cloudfront_origin_access_control.this.id" in refs(
        origin["origin_access_control_id"]
    )
    assert refs(origin["domain_name"]) == ["var.bucket_regional_domain_name"]
    call = module_call(cdn_plan, "cdn")["expressions"]
    assert "module.web_site.bucket_regional_domain_name" in refs(
        call["bucket_regional_domain_name"]
    )
    values = cdn_plan.values(DISTRIBUTION)
    assert (
        "s3_origin_config" not in values["origin"][0] or not values["origin"][0]["s3_origin_config"]
    )  # no legacy origin access identity
    assert values["enabled"] is True
    assert values["default_root_object"] == "index.html"


def test_every_viewer_is_redirected_to_https_and_only_reads(cdn_plan) -> None:
    values = cdn_plan.values(DISTRIBUTION)
    for behaviour in behaviours(values):
        assert behaviour["viewer_protocol_policy"] == "redirect-to-https"
        assert behaviour["allowed_methods"] == ["GET", "HEAD"]
        # Page files are compressed; processed images (AVIF, WebP, JPEG) already are.
        assert behaviour["compress"] is (behaviour["target_origin_id"] == "web")


def test_the_security_headers_policy_is_on_every_behaviour(cdn_plan) -> None:
    headers = cdn_plan.values(HEADERS)["security_headers_config"][0]
    (hsts,) = headers["strict_transport_security"]
    assert hsts["access_control_max_age_sec"] == 63072000
    assert hsts["include_subdomains"] is True
    assert hsts["override"] is True
    assert headers["content_type_options"] == [{"override": True}]
    assert headers["frame_options"] == [{"frame_option": "DENY", "override": True}]
    assert headers["referrer_policy"] == [
        {"referrer_policy": "strict-origin-when-cross-origin", "override": True}
    ]
    assert headers["content_security_policy"][0]["override"] is True

    distribution = cdn_plan.config_resource(["cdn"], "aws_cloudfront_distribution.this")
    (default,) = distribution["expressions"]["default_cache_behavior"]
    assert "aws_cloudfront_response_headers_policy.this.id" in refs(
        default["response_headers_policy_id"]
    )
    # (dynamic blocks are not in the configuration JSON: every behaviour's policy id is the
    # policy's, known after apply, and the module sets it in each of them)
    unknown = cdn_plan.unknown(DISTRIBUTION)
    for behaviour in [*unknown["default_cache_behavior"], *unknown["ordered_cache_behavior"]]:
        assert behaviour["response_headers_policy_id"] is True
    module_text = (REPO / "modules" / "cdn" / "main.tf").read_text()
    assert (
        module_text.count(
            "response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id"
        )
        == 3  # the default, the page's uncached paths, the processed images
    )


def test_the_header_csp_is_the_pages_meta_csp_narrowed_to_the_stacks_origins(
    emulator_cdn_plan, cdn_plan
) -> None:
    header = emulator_cdn_plan.values(HEADERS)["security_headers_config"][0][
        "content_security_policy"
    ][0]["content_security_policy"]
    meta = csp_directives(page_meta_csp())
    sent = csp_directives(header)

    # Same directives as web/index.html, plus frame-ancestors (which a <meta> cannot carry).
    assert set(sent) == set(meta) | {"frame-ancestors"}
    assert sent["frame-ancestors"] == ["'none'"]
    for directive, sources in meta.items():
        for source in sent[directive]:
            assert allowed_by(source, sources), f"{directive} {source} is not allowed by the page"
    # Scripts connect to the API and PUT to the upload bucket; variants load as images.
    # The emulator serves them all from one origin: each is the path prefix playing that role.
    assert sent["connect-src"] == [
        "'self'",
        f"{EMULATOR}/_aws/execute-api/",
        f"{EMULATOR}/sip-uploads-{SUFFIX}/",
    ]
    assert sent["img-src"] == ["'self'", "data:", "blob:", f"{EMULATOR}/sip-output-{SUFFIX}/"]
    assert sent["script-src"] == ["'self'"]
    # On AWS those origins are the API's and the buckets' regional virtual hosts.
    csp = cdn_plan.raw["configuration"]["root_module"]
    call = csp["module_calls"]["cdn"]["expressions"]["content_security_policy"]
    assert refs(call) == ["local.content_security_policy"]
    main_tf = (REPO / "main.tf").read_text()
    assert "execute-api.${var.region}" in main_tf
    assert "${module.storage.upload_bucket_id}.s3.${var.region}" in main_tf
    assert "${module.storage.output_bucket_id}.s3.${var.region}" in main_tf


def test_the_page_and_its_settings_are_never_cached(cdn_plan) -> None:
    values = cdn_plan.values(DISTRIBUTION)
    never = {
        b["path_pattern"]: b["cache_policy_id"]
        for b in values["ordered_cache_behavior"]
        if b["target_origin_id"] == "web"  # (images: tests/terraform/test_plan_images.py)
    }
    assert never == {"/index.html": CACHING_DISABLED, "/config.json": CACHING_DISABLED}
    # "/" is answered with index.html by the default behaviour, whose policy lets the origin's
    # Cache-Control (no-cache for index.html and config.json) win.
    policy = cdn_plan.values(f"{CDN}.aws_cloudfront_cache_policy.this")
    assert policy["min_ttl"] == 0
    assert policy["default_ttl"] == 300
    objects = cdn_plan.of_type("aws_s3_object")
    assert objects['module.web_site.aws_s3_object.files["index.html"]']["cache_control"] == (
        "no-cache"
    )
    assert objects["module.web_site.aws_s3_object.config"]["cache_control"] == "no-cache"


def test_the_default_certificate_without_a_custom_domain(cdn_plan) -> None:
    values = cdn_plan.values(DISTRIBUTION)
    (certificate,) = values["viewer_certificate"]
    assert certificate["cloudfront_default_certificate"] is True
    assert values["aliases"] in (None, [])
    assert not cdn_plan.of_type("aws_acm_certificate")
    assert not cdn_plan.of_type("aws_route53_record")


# ---------------------------------------------------------------------------------------------
# origins: CORS, the API and its gateway responses follow the page's https:// origin
# ---------------------------------------------------------------------------------------------


def test_with_a_custom_domain_every_origin_is_its_https_origin(domain_plan) -> None:
    origin = f"https://{DOMAIN}"
    for bucket in ("upload", "output"):
        (rule,) = domain_plan.values(
            f'module.storage.aws_s3_bucket_cors_configuration.this["{bucket}"]'
        )["cors_rule"]
        assert rule["allowed_origins"] == [origin], bucket
    env = domain_plan.values("module.api.module.function.aws_lambda_function.this")["environment"][
        0
    ]["variables"]
    assert env["ALLOWED_ORIGINS"] == origin
    for response in domain_plan.of_type("aws_api_gateway_gateway_response").values():
        assert (
            response["response_parameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
            == f"'{origin}'"
        )
    assert domain_plan.output("allowed_origins") == [origin]
    assert domain_plan.output("web_url") == f"{origin}/"
    assert domain_plan.output("web_delivery") == "cloudfront"


def test_without_a_domain_the_origin_is_the_distributions(cdn_plan) -> None:
    change = cdn_plan.raw["output_changes"]["allowed_origins"]
    assert change["after_unknown"] in (True, [True])  # https://<id>.cloudfront.net
    assert cdn_plan.output("web_delivery") == "cloudfront"
    main_locals = (REPO / "main.tf").read_text()
    assert "var.enable_cdn ? module.cdn[0].origin : module.web_site.website_origin" in main_locals
    out = cdn_plan.raw["configuration"]["root_module"]["module_calls"]["cdn"]["module"]
    origin = out["outputs"]["origin"]["expression"]
    assert "aws_cloudfront_distribution.this.domain_name" in refs(origin)
    assert origin.get("constant_value") is None


def test_on_the_emulator_the_page_stays_path_style_with_the_cdn_on(emulator_cdn_plan) -> None:
    assert emulator_cdn_plan.output("web_delivery") == "emulator"
    assert emulator_cdn_plan.output("web_url") == f"{EMULATOR}/{WEB}/index.html"
    assert emulator_cdn_plan.output("allowed_origins") == [EMULATOR]
    # the distribution exists (on the sidecar) but does not wait for a deployment
    assert emulator_cdn_plan.values(DISTRIBUTION)["wait_for_deployment"] is False


# ---------------------------------------------------------------------------------------------
# custom domain
# ---------------------------------------------------------------------------------------------


def test_a_custom_domain_gets_a_us_east_1_certificate_and_alias_records(domain_plan) -> None:
    values = domain_plan.values(DISTRIBUTION)
    assert values["aliases"] == [DOMAIN]
    (certificate,) = values["viewer_certificate"]
    assert certificate["cloudfront_default_certificate"] is False
    assert certificate["ssl_support_method"] == "sni-only"
    assert certificate["minimum_protocol_version"] == "TLSv1.2_2021"

    acm = domain_plan.values(f"{CDN}.aws_acm_certificate.this[0]")
    assert acm["domain_name"] == DOMAIN
    assert acm["validation_method"] == "DNS"
    for address in ("aws_acm_certificate.this", "aws_acm_certificate_validation.this"):
        assert domain_plan.config_resource(["cdn"], address)["provider_config_key"].endswith(
            "aws.us_east_1"
        ), address
    providers = domain_plan.raw["configuration"]["provider_config"]
    assert providers["aws.us_east_1"]["expressions"]["region"]["constant_value"] == "us-east-1"

    aliases = {
        v["type"]: v for a, v in domain_plan.of_type("aws_route53_record").items() if ".alias[" in a
    }
    assert set(aliases) == {"A", "AAAA"}
    for record in aliases.values():
        assert record["zone_id"] == ZONE
        assert record["name"] == DOMAIN
        assert record["alias"][0]["evaluate_target_health"] is False
    validation = domain_plan.config_resource(["cdn"], "aws_route53_record.validation")
    assert "aws_acm_certificate.this" in refs(validation["for_each_expression"])


def test_the_us_east_1_provider_is_pinned_to_us_east_1_whatever_the_stack_region() -> None:
    providers_tf = (REPO / "providers.tf").read_text()
    blocks = re.findall(r'provider "aws" \{(.*?)\n\}', providers_tf, re.S)
    by_alias = {
        (re.search(r'alias\s*=\s*"([^"]+)"', block) or [None, None])[1]: block for block in blocks
    }
    assert set(by_alias) == {None, "us_east_1"}
    assert re.search(r"region\s*=\s*var\.region", by_alias[None])
    assert re.search(r'region\s*=\s*"us-east-1"', by_alias["us_east_1"])


# ---------------------------------------------------------------------------------------------
# WAF
# ---------------------------------------------------------------------------------------------


def rate_rule(acl: dict[str, Any]) -> dict[str, Any]:
    (rule,) = acl["rule"]
    return rule


def test_no_web_acl_by_default(cdn_plan) -> None:
    assert not cdn_plan.of_type("aws_wafv2_web_acl")
    assert cdn_plan.values(DISTRIBUTION).get("web_acl_id") in (None, "")
    assert cdn_plan.output("web_acl_arns") == {}


def test_waf_rate_limits_each_ip_on_the_api_stage_and_the_distribution(waf_plan) -> None:
    acls = waf_plan.of_type("aws_wafv2_web_acl")
    assert set(acls) == {
        "module.waf_api[0].aws_wafv2_web_acl.this",
        "module.waf_cdn[0].aws_wafv2_web_acl.this",
    }
    api = acls["module.waf_api[0].aws_wafv2_web_acl.this"]
    cdn = acls["module.waf_cdn[0].aws_wafv2_web_acl.this"]
    assert api["scope"] == "REGIONAL"
    assert cdn["scope"] == "CLOUDFRONT"
    for acl in (api, cdn):
        assert len(acl["default_action"][0]["allow"]) == 1
        assert acl["default_action"][0]["block"] == []
        rule = rate_rule(acl)
        assert len(rule["action"][0]["block"]) == 1
        (rate,) = rule["statement"][0]["rate_based_statement"]
        assert rate["aggregate_key_type"] == "IP"
        assert rate["limit"] == 500

    # The regional ACL is attached to this API's stage...
    association = waf_plan.config_resource(["waf_api"], "aws_wafv2_web_acl_association.this")
    assert refs(association["for_each_expression"]) == ["var.associations"]
    call = module_call(waf_plan, "waf_api")["expressions"]["associations"]
    assert "local.api_stage_arn" in refs(call)
    assert (
        "/restapis/${module.api.rest_api_id}/stages/${module.api.stage_name}"
        in (REPO / "main.tf").read_text()
    )
    # ...the CloudFront one to the distribution, and it is created in us-east-1.
    assert waf_plan.raw["configuration"]["root_module"]["module_calls"]["waf_cdn"]
    distribution = waf_plan.config_resource(["cdn"], "aws_cloudfront_distribution.this")
    assert refs(distribution["expressions"]["web_acl_id"]) == ["var.web_acl_arn"]
    assert "module.waf_cdn[0].web_acl_arn" in refs(
        module_call(waf_plan, "cdn")["expressions"]["web_acl_arn"]
    )
    waf_cdn = module_call(waf_plan, "waf_cdn")["module"]["resources"]
    assert {r["address"]: r["provider_config_key"] for r in waf_cdn}[
        "aws_wafv2_web_acl.this"
    ] == "aws.us_east_1"
    waf_api = module_call(waf_plan, "waf_api")["module"]["resources"]
    assert {r["address"]: r["provider_config_key"] for r in waf_api}[
        "aws_wafv2_web_acl.this"
    ] == "aws"


def test_waf_without_the_cdn_protects_the_api_only(plan_factory) -> None:
    plan = plan_factory(bucket_name_suffix=SUFFIX, enable_waf=True, enable_cdn=False)
    assert set(plan.of_type("aws_wafv2_web_acl")) == {"module.waf_api[0].aws_wafv2_web_acl.this"}
    assert set(plan.of_type("aws_wafv2_web_acl_association")) == {
        'module.waf_api[0].aws_wafv2_web_acl_association.this["api_stage"]'
    }


def test_the_rate_limit_is_configurable(plan_factory) -> None:
    plan = plan_factory(
        bucket_name_suffix=SUFFIX, enable_waf=True, waf_rate_limit_per_5_minutes=2000
    )
    for acl in plan.of_type("aws_wafv2_web_acl").values():
        assert rate_rule(acl)["statement"][0]["rate_based_statement"][0]["limit"] == 2000


# ---------------------------------------------------------------------------------------------
# variable rules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tf_vars", "message"),
    [
        ({"domain_name": DOMAIN}, "must be given together"),
        ({"hosted_zone_id": ZONE}, "must be given together"),
        ({"domain_name": "https://x.example.com", "hosted_zone_id": ZONE}, "lowercase DNS name"),
        ({"domain_name": DOMAIN, "hosted_zone_id": ZONE, "enable_cdn": False}, "needs enable_cdn"),
        (
            {"domain_name": DOMAIN, "hosted_zone_id": ZONE, "emulator_endpoint": EMULATOR},
            "no ACM or Route 53",
        ),
        ({"domain_name": DOMAIN, "hosted_zone_id": "zone-1"}, "hosted zone id"),
        ({"waf_rate_limit_per_5_minutes": 5}, "between 10 and 2000000000"),
        ({"cdn_price_class": "PriceClass_1"}, "PriceClass_100, PriceClass_200, PriceClass_All"),
    ],
)
def test_delivery_variables_are_validated(plan_error, tf_vars: dict, message: str) -> None:
    assert message in plan_error(**tf_vars)


def test_outputs_say_how_the_page_is_delivered(cdn_plan) -> None:
    outputs = cdn_plan.raw["configuration"]["root_module"]["outputs"]
    for name in ("web_delivery", "cdn_distribution_id", "cdn_domain_name", "web_acl_arns"):
        assert outputs[name]["description"], name
    assert json.dumps(cdn_plan.output("web_delivery")) == '"cloudfront"'
