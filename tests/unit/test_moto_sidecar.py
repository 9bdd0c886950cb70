"""local/moto_sidecar.py in-process: the CloudFront policy APIs it adds to moto, and its three
corrections of moto's distributions (each still needed by plain moto, or this fails)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import moto_sidecar

pytestmark = pytest.mark.unit

HEADERS_POLICY = {
    "Name": "page",
    "Comment": "security headers",
    "SecurityHeadersConfig": {
        "StrictTransportSecurity": {
            "Override": True,
            "AccessControlMaxAgeSec": 63072000,
            "IncludeSubdomains": True,
        },
        "ContentSecurityPolicy": {"Override": True, "ContentSecurityPolicy": "default-src 'none'"},
        "FrameOptions": {"Override": True, "FrameOption": "DENY"},
    },
}


def distribution_config(**behaviour: Any) -> dict[str, Any]:
    return {
        "CallerReference": "ref",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "web",
                    "DomainName": "web.s3.us-east-1.amazonaws.com",
                    "OriginAccessControlId": "E2OAC",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "web",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            **behaviour,
        },
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
    }


@pytest.fixture
def cloudfront(aws_credentials) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudfront", region_name="us-east-1")


@pytest.fixture
def corrected(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.cloudfront import models

    for cls in (models.Origin, models.DefaultCacheBehaviour, models.ViewerCertificate):
        monkeypatch.setattr(cls, "__init__", cls.__init__)  # restored after the test
    moto_sidecar.correct_distributions()


def read_back(cloudfront: Any) -> dict[str, Any]:
    created = cloudfront.create_distribution(DistributionConfig=distribution_config())
    return cloudfront.get_distribution(Id=created["Distribution"]["Id"])["Distribution"][
        "DistributionConfig"
    ]


def test_plain_moto_still_gets_the_three_answers_wrong(cloudfront) -> None:
    config = read_back(cloudfront)

    assert not config["Origins"]["Items"][0].get("OriginAccessControlId")
    assert "ForwardedValues" in config["DefaultCacheBehavior"]
    assert config["ViewerCertificate"].get("SSLSupportMethod") == "sni-only"


def test_the_sidecar_answers_them_as_aws_does(cloudfront, corrected) -> None:
    config = read_back(cloudfront)

    assert config["Origins"]["Items"][0]["OriginAccessControlId"] == "E2OAC"
    assert "ForwardedValues" not in config["DefaultCacheBehavior"]
    assert "SSLSupportMethod" not in config["ViewerCertificate"]


def test_a_legacy_behaviour_keeps_its_forwarded_values(cloudfront, corrected) -> None:
    legacy = {"ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "all"}}}
    created = cloudfront.create_distribution(DistributionConfig=distribution_config(**legacy))
    config = cloudfront.get_distribution(Id=created["Distribution"]["Id"])["Distribution"][
        "DistributionConfig"
    ]

    assert config["DefaultCacheBehavior"]["ForwardedValues"]["QueryString"] is True


class FakeRequest:
    def __init__(self, method: str, body: str = "") -> None:
        self.method = method
        self.data = body.encode()


BASE = "http://127.0.0.1:5566/2020-05-31/response-headers-policy"


def xml_config(name: str, comment: str = "c") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<ResponseHeadersPolicyConfig xmlns="{moto_sidecar.NAMESPACE}">'
        f"<Comment>{comment}</Comment><Name>{name}</Name></ResponseHeadersPolicyConfig>"
    )


def test_a_policy_is_stored_and_read_back_exactly_as_sent() -> None:
    handle = moto_sidecar.handler_for("response-headers-policy")
    sent = xml_config("read-back")

    status, headers, body = handle(FakeRequest("POST", sent), BASE, {})
    policy_id = body.split("<Id>", 1)[1].split("</Id>", 1)[0]
    got = handle(FakeRequest("GET"), f"{BASE}/{policy_id}", {})
    config = handle(FakeRequest("GET"), f"{BASE}/{policy_id}/config", {})

    assert status == 201
    assert headers["Location"] == f"{BASE}/{policy_id}"
    assert got[0] == 200
    assert got[1]["ETag"] == headers["ETag"]
    assert sent.split("?>", 1)[1] in got[2]
    assert config[2].endswith(sent.split("?>", 1)[1])


def test_names_are_unique_and_stale_etags_are_refused() -> None:
    handle = moto_sidecar.handler_for("response-headers-policy")
    _, headers, body = handle(FakeRequest("POST", xml_config("once")), BASE, {})
    policy_id = body.split("<Id>", 1)[1].split("</Id>", 1)[0]

    duplicate = handle(FakeRequest("POST", xml_config("once")), BASE, {})
    stale = handle(
        FakeRequest("PUT", xml_config("once", "d")), f"{BASE}/{policy_id}", {"If-Match": "old"}
    )
    updated = handle(
        FakeRequest("PUT", xml_config("once", "d")),
        f"{BASE}/{policy_id}",
        {"If-Match": headers["ETag"]},
    )
    deleted = handle(FakeRequest("DELETE"), f"{BASE}/{policy_id}", {"If-Match": updated[1]["ETag"]})
    missing = handle(FakeRequest("GET"), f"{BASE}/{policy_id}", {})

    assert duplicate[0] == 409
    assert "ResponseHeadersPolicyAlreadyExists" in duplicate[2]
    assert stale[0] == 412
    assert updated[0] == 200
    assert "<Comment>d</Comment>" in updated[2]
    assert deleted[0] == 204
    assert missing[0] == 404
    assert "NoResponseHeadersPolicy" in missing[2]


def test_boto3_reads_what_the_handler_answers() -> None:
    """The answer parses with botocore's own CloudFront model (what Terraform's SDK uses too)."""
    from botocore.parsers import create_parser
    from botocore.session import get_session

    handle = moto_sidecar.handler_for("response-headers-policy")
    _, _, body = handle(FakeRequest("POST", xml_config("parsed")), BASE, {})
    model = get_session().get_service_model("cloudfront")
    operation = model.operation_model("GetResponseHeadersPolicy")

    parsed = create_parser("rest-xml").parse(
        {"status_code": 200, "headers": {"ETag": "E1"}, "body": body.encode()},
        operation.output_shape,
    )

    assert parsed["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]["Name"] == "parsed"
    assert parsed["ETag"] == "E1"


def test_cache_policies_are_served_too() -> None:
    handle = moto_sidecar.handler_for("cache-policy")
    sent = (
        f'<CachePolicyConfig xmlns="{moto_sidecar.NAMESPACE}"><Name>cp</Name>'
        "<MinTTL>0</MinTTL></CachePolicyConfig>"
    )

    status, _, body = handle(FakeRequest("POST", sent), "http://x/2020-05-31/cache-policy", {})

    assert status == 201
    assert body.count("<CachePolicy ") == 1
