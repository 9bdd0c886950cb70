"""tools/csp_policy.py: CSP Level 3 source matching as Chromium applies it to this page's fetches."""

from __future__ import annotations

import pytest

from tools import csp_policy

PAGE = "https://d111.cloudfront.net"
POLICY = csp_policy.parse(
    "default-src 'none'; img-src 'self' data: blob: https://out.s3.eu-west-1.amazonaws.com; "
    "connect-src 'self' https://*.execute-api.eu-west-1.amazonaws.com http://127.0.0.1:4566 "
    "https://up.s3.eu-west-1.amazonaws.com/uploads/; frame-ancestors 'none'"
)


@pytest.mark.parametrize(
    ("directive", "url", "admitted"),
    [
        ("img-src", "https://out.s3.eu-west-1.amazonaws.com/id/large.jpg?X-Amz-Signature=1", True),
        ("img-src", "https://out.s3.amazonaws.com/id/large.jpg", False),  # global host
        ("img-src", "http://out.s3.eu-west-1.amazonaws.com/id/large.jpg", False),  # scheme
        ("img-src", "https://out.s3.eu-west-1.amazonaws.com:8443/x", False),  # port
        ("img-src", "data:image/png;base64,AA", True),
        ("img-src", "blob:https://d111.cloudfront.net/1", True),
        ("img-src", "https://d111.cloudfront.net/favicon.svg", True),  # 'self'
        ("connect-src", "https://abc.execute-api.eu-west-1.amazonaws.com/v1/uploads", True),
        ("connect-src", "https://execute-api.eu-west-1.amazonaws.com/v1", False),  # no apex
        ("connect-src", "https://a.b.execute-api.eu-west-1.amazonaws.com/", True),
        ("connect-src", "http://127.0.0.1:4566/bucket/key", True),
        ("connect-src", "https://127.0.0.1:4566/bucket/key", True),  # http source, https URL
        ("connect-src", "http://127.0.0.1:4567/bucket/key", False),
        ("connect-src", "https://up.s3.eu-west-1.amazonaws.com/uploads/x?sig=1", True),
        ("connect-src", "https://up.s3.eu-west-1.amazonaws.com/other/x", False),  # path
        ("connect-src", "data:text/plain,x", False),
        ("script-src", "https://d111.cloudfront.net/js/main.js", False),  # default-src 'none'
    ],
)
def test_urls_are_matched_like_a_browser(directive: str, url: str, admitted: bool) -> None:
    assert csp_policy.admits(POLICY, directive, url, PAGE) is admitted


def test_a_policy_without_the_directive_or_default_restricts_nothing() -> None:
    policy = csp_policy.parse("frame-ancestors 'none'")
    assert csp_policy.admits(policy, "connect-src", "https://anything.example/", PAGE)


def test_the_first_occurrence_of_a_directive_wins_and_names_ignore_case() -> None:
    policy = csp_policy.parse("CONNECT-SRC https://a.example; connect-src https://b.example")
    assert csp_policy.admits(policy, "connect-src", "https://a.example/x", PAGE)
    assert not csp_policy.admits(policy, "connect-src", "https://b.example/x", PAGE)


def test_star_admits_network_schemes_but_not_data() -> None:
    policy = csp_policy.parse("img-src *")
    assert csp_policy.admits(policy, "img-src", "https://x.example/a.png", PAGE)
    assert not csp_policy.admits(policy, "img-src", "data:image/png;base64,AA", PAGE)


def test_self_on_an_http_page_admits_its_https_upgrade_only_on_default_ports() -> None:
    policy = csp_policy.parse("connect-src 'self'")
    assert csp_policy.admits(policy, "connect-src", "https://site.example/x", "http://site.example")
    assert not csp_policy.admits(
        policy, "connect-src", "http://site.example:81/x", "http://site.example"
    )


def test_refusals_name_the_directive_the_origin_and_what_is_admitted() -> None:
    (message,) = csp_policy.refusals(
        POLICY, [("img-src", "https://out.s3.amazonaws.com/id/large.jpg?X-Amz-Signature=s")], PAGE
    )
    assert "img-src refuses https://out.s3.amazonaws.com/id/large.jpg" in message
    assert "X-Amz-Signature" not in message
    assert "https://out.s3.eu-west-1.amazonaws.com" in message


def test_an_empty_policy_is_an_error() -> None:
    with pytest.raises(csp_policy.PolicyError):
        csp_policy.parse("  ")
