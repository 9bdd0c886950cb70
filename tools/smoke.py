#!/usr/bin/env python3
"""Smoke test of any deployment, real AWS or local: the public flow, end to end.

    terraform output -json > outputs.json && python -m tools.smoke --outputs outputs.json
    python -m tools.smoke --terraform-dir .        # runs `terraform output -json` there
    python -m tools.smoke                          # the local deployment of `make up`

It reads the stack's outputs and, as the page would, checks: the page and its config.json, a
real JPEG through POST /uploads, the presigned PUT (a second PUT to the same URL must never
overwrite it), the status until ``done``, a file above the multipart threshold in parts (S3
refuses a part whose bytes differ from its granted SHA-256; one completion only), every variant downloaded and decoded at its declared
size, and refusals (a content type the API does not accept, a non-image that must end
``rejected``, an unknown id). When the page is delivered by CloudFront (output
``web_delivery = "cloudfront"``) it also checks the security headers, the HTTP-to-HTTPS
redirect and that the web bucket refuses a direct anonymous read (403). The API's CORS
preflight must allow the page's origin for Chromium's longest reuse (``Access-Control-Max-Age``
7200), and it prints the time of a request to the API and to the page's host (the edge), on a
new connection and reused: what only a real deployment measures (docs/cdn.md, "The API's
origin"). Last, every URL the
stack handed out (the API, the presigned PUT, each variant, Cognito) must be admitted by the
page's Content-Security-Policy (the CloudFront header and the page's meta tag), as a browser
would enforce it (``tools/csp_policy.py``).

When variants come through the distribution (output ``image_delivery.mode`` ``public`` or
``signed``, on AWS) it checks each is 200 there with its declared type and a ``max-age``
``Cache-Control``, that the same key read straight from the output bucket is 403, and in
``signed`` mode that every URL is signed by one key pair and served (the API read its key from
SSM: with ``enable_vpc``, through the VPC's SSM endpoint), and that the URL without its
signature, or with its expiry moved, is 403. With
sign-in it then deletes the upload and polls its URL until the edge stops serving it
(invalidation, docs/cdn.md), within ``--timeout``.

With sign-in (output ``auth.mode = "cognito"``) it first checks that the API refuses a request
without a token, then creates a throwaway user with your AWS credentials (``AdminCreateUser``,
no email sent, a random permanent password), signs in as the page does (``USER_PASSWORD_AUTH``)
and runs every check with that user's ID token; the user is deleted at the end, also when a
check failed. With outcome events (output ``events``) it listens on the stack's bus before the
upload (a temporary rule and SQS queue, removed at the end) and checks that the photo's
``Upload Processed`` event arrives and matches ``schemas/upload-event.schema.json``: on AWS
that proves the processor reached EventBridge (also from a VPC, through its endpoint) and the
rule delivered. Each check prints one line; the exit code is 0 only if all pass.
Needs requests, Pillow, boto3 and jsonschema (the project's .venv has them).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import secrets
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from lambda_src.api.cors import PREFLIGHT_MAX_AGE_SECONDS
from lambda_src.common.contract import OUTPUT_CACHE_CONTROL
from tools import csp_policy, outcome_events, users
from tools.stack_access import (
    ApiClient,
    ToolError,
    aws_client,
    emulator_endpoint,
    load_outputs,
    sha256_b64,
    sign_in,
)

# What the processor stores every output with: its key holds a fingerprint of what made its
# bytes, so they never change.
IMMUTABLE_OUTPUT = OUTPUT_CACHE_CONTROL

META_TAG = re.compile(r"<meta\b[^>]*>", re.IGNORECASE | re.DOTALL)
CSP_EQUIV = re.compile(r"\bhttp-equiv\s*=\s*([\"']?)content-security-policy\1", re.IGNORECASE)
CONTENT = re.compile(r"\bcontent\s*=\s*([\"'])(.*?)\1", re.IGNORECASE | re.DOTALL)

# Chromium's cap on reusing a preflight, which the API answers with.
PREFLIGHT_MAX_AGE = PREFLIGHT_MAX_AGE_SECONDS
ROUND_TRIP_SAMPLES = 5

SECURITY_HEADERS = (
    "Strict-Transport-Security",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
)


class SmokeFailed(Exception):
    """One check did not hold."""


class Smoke:
    def __init__(self, outputs: dict[str, Any], timeout: float) -> None:
        for name in ("api_url", "web_url"):
            if not outputs.get(name):
                raise ToolError(f"the outputs have no {name!r}: is this the image pipeline?")
        self.outputs = outputs
        self.timeout = timeout
        self.api = ApiClient(outputs["api_url"])
        self.passed = 0
        # (where, policy) of every CSP the page is delivered with; (directive, url) handed out.
        self.policies: list[tuple[str, csp_policy.Policy]] = []
        self.handed: list[tuple[str, str]] = [("connect-src", f"{self.api.api_url}/uploads")]
        self.auth = outputs.get("auth") or {}
        self.throwaway: str | None = None
        self.done_id: str | None = None
        self.done_variants: list[dict[str, Any]] = []
        self.events = outputs.get("events") or None
        self.listener: tuple[Any, Any, str, str] | None = None  # events, sqs, rule, queue URL

    def check(self, what: str, step: Callable[[], str]) -> None:
        try:
            detail = step()
        except (SmokeFailed, ToolError, requests.RequestException, KeyError, ValueError) as error:
            print(f"FAILED  {what}: {error}", flush=True)
            raise SmokeFailed(what) from error
        self.passed += 1
        print(f"ok      {what}: {detail}", flush=True)

    def run(self) -> None:
        signed_in = self.auth.get("mode") == "cognito"
        try:
            if signed_in:
                self.check("without a token the API answers 401", self.refuses_anonymous)
                self.check("a throwaway user signs in", self.sign_in_throwaway)
            self.run_checks()
        finally:
            if self.throwaway is not None:
                self.delete_throwaway()
            if self.listener is not None:
                self.stop_listening()

    def run_checks(self) -> None:
        self.check("the page loads", self.page_loads)
        if self.outputs.get("web_delivery") == "cloudfront":
            self.check("the page carries the security headers", self.security_headers)
            self.check("plain HTTP is redirected to HTTPS", self.redirects_to_https)
            self.check("the web bucket refuses direct reads", self.bucket_is_private)
        config = self.config()
        self.check("config.json points at this API", lambda: self.config_matches(config))
        self.check("the API's preflight may be reused for 2 h", self.preflight_is_reusable)
        self.check("round trips: the API direct, the page via its host", self.round_trips)
        if self.events:
            self.check("a rule on the event bus listens (temporary)", self.listen_for_events)
        upload_id, grant = self.upload_photo()
        self.check("a second PUT to the same URL is refused", lambda: self.no_overwrite(grant))
        self.check("the photo ends done", lambda: self.ends_done(upload_id, config))
        if self.events:
            self.check(
                "its processed event arrives, schema-valid", lambda: self.processed_event(upload_id)
            )
        self.check("a large file goes up in checked parts, once", lambda: self.multipart(config))
        mode = (self.outputs.get("image_delivery") or {}).get("mode")
        on_aws = emulator_endpoint(self.outputs["api_url"]) is None
        if mode in ("public", "signed") and on_aws:
            self.check("variants come through the distribution", self.variants_on_the_edge)
            self.check("the output bucket refuses direct reads", self.outputs_are_private)
            if mode == "signed":
                self.check("the API signs with its key from SSM", self.signed_with_the_key)
                self.check("unsigned or re-dated image URLs get 403", self.refuses_unsigned)
            if self.auth.get("mode") == "cognito":
                self.check("after DELETE the edge stops serving", self.stops_after_delete)
        self.check("an unaccepted content type gets 415", self.refuses_type)
        self.check("a non-image ends rejected", self.rejects_non_image)
        self.check("an unknown id gets 404", self.unknown_is_404)
        self.check("the page's CSP admits every URL handed out", self.csp_admits_handed_urls)

    # -- the page ----------------------------------------------------------------------------

    def page_loads(self) -> str:
        response = requests.get(self.outputs["web_url"], timeout=30)
        expect(
            response.status_code == 200, f"GET {self.outputs['web_url']}: {response.status_code}"
        )
        expect("<html" in response.text.lower(), "the page is not HTML")
        self.policies = page_policies(
            response.headers.get("Content-Security-Policy"), response.text
        )
        return f"{self.outputs['web_url']} ({len(response.content)} bytes)"

    def security_headers(self) -> str:
        response = requests.get(self.outputs["web_url"], timeout=30)
        missing = [name for name in SECURITY_HEADERS if name not in response.headers]
        expect(not missing, f"missing headers: {', '.join(missing)}")
        expect(response.headers["X-Frame-Options"].upper() == "DENY", "frames are not denied")
        return ", ".join(SECURITY_HEADERS)

    def redirects_to_https(self) -> str:
        plain = "http://" + self.outputs["web_url"].split("://", 1)[1]
        response = requests.get(plain, timeout=30, allow_redirects=False)
        location = response.headers.get("Location", "")
        expect(
            response.status_code in (301, 302, 307, 308) and location.startswith("https://"),
            f"GET {plain}: {response.status_code} {location}",
        )
        return f"{response.status_code} -> {location}"

    def bucket_is_private(self) -> str:
        region = self.outputs.get("region")
        host = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
        url = f"https://{self.outputs['web_bucket']}.{host}/index.html"
        response = requests.get(url, timeout=30)
        expect(response.status_code == 403, f"anonymous GET {url}: {response.status_code}")
        return f"anonymous GET {url}: 403"

    def config(self) -> dict[str, Any]:
        url = urllib.parse.urljoin(self.outputs["web_url"], "config.json")
        response = requests.get(url, timeout=30)
        expect(response.status_code == 200, f"GET {url}: {response.status_code}")
        return response.json()

    def config_matches(self, config: dict[str, Any]) -> str:
        expect(
            config.get("apiUrl", "").rstrip("/") == self.outputs["api_url"].rstrip("/"),
            f"config.json apiUrl is {config.get('apiUrl')!r}",
        )
        return f"{len(config.get('variants', []))} variants configured"

    def preflight_is_reusable(self) -> str:
        origin = page_origin(self.outputs["web_url"])
        response = requests.options(
            f"{self.api.api_url}/uploads", headers={"Origin": origin, **PREFLIGHT}, timeout=30
        )
        granted = response.headers.get("Access-Control-Allow-Origin")
        max_age = response.headers.get("Access-Control-Max-Age")
        expect(response.status_code in (200, 204), f"OPTIONS /uploads: {response.status_code}")
        expect(granted in (origin, "*"), f"OPTIONS /uploads from {origin}: allows {granted!r}")
        expect(max_age == PREFLIGHT_MAX_AGE, f"Access-Control-Max-Age is {max_age!r}")
        return f"OPTIONS /uploads from {origin}: Max-Age {max_age}"

    def round_trips(self) -> str:
        """What only a deployment shows (docs/cdn.md, "The API's origin"): the time of one
        request to the regional API and to the page's host (CloudFront's edge on AWS), on a new
        connection (TCP and TLS included) and then reused (median); printed, not judged."""
        origin = page_origin(self.outputs["web_url"])
        targets = (
            ("API", "OPTIONS", f"{self.api.api_url}/uploads", {"Origin": origin, **PREFLIGHT}),
            ("page", "HEAD", self.outputs["web_url"], {}),
        )
        figures = []
        for label, method, url, headers in targets:
            with requests.Session() as session:
                times = [timed_request(session, method, url, headers)]
                times += [
                    timed_request(session, method, url, headers) for _ in range(ROUND_TRIP_SAMPLES)
                ]
            figures.append(
                f"{label} {times[0]:.0f} ms new, {statistics.median(times[1:]):.0f} ms reused"
            )
        return "; ".join(figures)

    # -- one real upload -----------------------------------------------------------------------

    def upload_photo(self) -> tuple[str, dict[str, Any]]:
        data = sample_photo()
        grant: dict[str, Any] = {}

        def create() -> str:
            response = self.api.create_upload("image/jpeg", len(data), "smoke.jpg")
            expect(
                response.status_code == 201,
                f"POST /uploads: {response.status_code} {response.text[:200]}",
            )
            grant.update(response.json())
            self.handed.append(("connect-src", grant["uploadUrl"]))
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(grant["uploadUrl"]).query)
            signed = query.get("X-Amz-SignedHeaders", [""])[0]
            expect(
                signed == "content-length;content-type;host;if-none-match",
                f"the URL signs {signed!r}",
            )
            return f"id {grant['id']}, URL valid {grant['expiresIn']} s, signs {signed}"

        def put() -> str:
            response = self.api.put(grant, data)
            expect(
                response.status_code == 200, f"PUT: {response.status_code} {response.text[:200]}"
            )
            return f"{len(data)} bytes stored"

        self.check("POST /uploads grants a presigned PUT", create)
        self.check("the presigned PUT stores the photo", put)
        return grant["id"], grant

    def no_overwrite(self, grant: dict[str, Any]) -> str:
        response = self.api.put(grant, sample_photo(colour=(200, 30, 30)))
        expect(response.status_code in (403, 412), f"second PUT answered {response.status_code}")
        return f"answered {response.status_code}"

    def ends_done(self, upload_id: str, config: dict[str, Any]) -> str:
        body = self.api.wait_for_final(upload_id, timeout=self.timeout)
        expect(body.get("status") == "done", f"status {body.get('status')!r}: {body.get('error')}")
        names = sorted(variant["name"] for variant in body["variants"])
        expected = sorted(variant["name"] for variant in config.get("variants", []))
        expect(names == expected, f"variants {names}, configured {expected}")
        for variant in body["variants"]:
            for source in variant["sources"]:
                label = f"{variant['name']} {source['format']}"
                self.handed.append(("img-src", source["url"]))
                response = requests.get(source["url"], timeout=30)
                expect(response.status_code == 200, f"GET {label}: {response.status_code}")
                expect(
                    response.headers.get("Content-Type") == source["type"]
                    and response.headers.get("Cache-Control") == IMMUTABLE_OUTPUT,
                    f"{label}: {response.headers.get('Content-Type')}, "
                    f"Cache-Control {response.headers.get('Cache-Control')!r}",
                )
                image = Image.open(io.BytesIO(response.content))
                image.load()
                expect(
                    image.size == (variant["width"], variant["height"]),
                    f"{label} is {image.size}, declared {variant['width']}x{variant['height']}",
                )
                expect(not image.getexif(), f"{label} still carries EXIF")
        sizes = ", ".join(
            f"{v['name']} {v['width']}x{v['height']} ({'/'.join(s['format'] for s in v['sources'])})"
            for v in body["variants"]
        )
        self.done_id, self.done_variants = upload_id, body["variants"]
        return f"{sizes}; each downloaded, decoded, metadata-free, immutable"

    # -- processed images through the distribution ------------------------------------------------

    def variants_on_the_edge(self) -> str:
        edge = urllib.parse.urlsplit(self.outputs["web_url"]).netloc
        sources = [source for variant in self.done_variants for source in variant["sources"]]
        for source in sources:
            url = source["url"]
            expect(urllib.parse.urlsplit(url).netloc == edge, f"{url} is not on {edge}")
            response = requests.get(url, timeout=30)
            expect(response.status_code == 200, f"GET {url}: {response.status_code}")
            kind = response.headers.get("Content-Type", "")
            expect(kind == source["type"], f"{url}: Content-Type {kind!r}")
            cache = response.headers.get("Cache-Control", "")
            expect(cache == IMMUTABLE_OUTPUT, f"{url}: Cache-Control {cache!r}")
            expect("cloudfront" in response.headers.get("Via", "").lower(), f"{url}: no Via")
        return f"{len(sources)} images from {edge} with type and immutable Cache-Control"

    def outputs_are_private(self) -> str:
        region = self.outputs.get("region")
        key = urllib.parse.urlsplit(self.done_variants[0]["sources"][0]["url"]).path.lstrip("/")
        url = f"https://{self.outputs['output_bucket']}.s3.{region}.amazonaws.com/{key}"
        response = requests.get(url, timeout=30)
        expect(response.status_code == 403, f"anonymous GET {url}: {response.status_code}")
        return f"anonymous GET {url}: 403"

    def signed_with_the_key(self) -> str:
        """Every URL the status handed out carries a CloudFront signature, all by one key pair,
        and the edge serves it. The API can sign only with the private key it reads from SSM
        (docs/cdn.md), so on AWS this proves that read; with the stack's own VPC (output
        vpc_id) it can only have gone through the VPC's SSM interface endpoint."""
        sources = [source for variant in self.done_variants for source in variant["sources"]]
        pairs: set[str] = set()
        for source in sources:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(source["url"]).query)
            missing = [
                name for name in ("Expires", "Signature", "Key-Pair-Id") if name not in query
            ]
            expect(not missing, f"{source['url']} lacks {', '.join(missing)}")
            pairs.add(query["Key-Pair-Id"][0])
        expect(len(pairs) == 1, f"URLs signed by key pairs {sorted(pairs)}, not one")
        url = sources[0]["url"]
        status = requests.get(url, timeout=30).status_code
        expect(status == 200, f"GET {url}: {status}, a signature the key group does not trust")
        parameter = (self.outputs.get("image_delivery") or {}).get("signing_key_parameter")
        vpc = self.outputs.get("vpc_id")
        where = f" inside {vpc}, through its SSM interface endpoint" if vpc else ""
        return (
            f"{len(sources)} URLs signed by key pair {pairs.pop()} and served: "
            f"the API read {parameter} from SSM{where}"
        )

    def refuses_unsigned(self) -> str:
        url = self.done_variants[0]["sources"][0]["url"]
        bare = url.split("?", 1)[0]
        expires = re.search(r"Expires=(\d+)", url)
        expect(expires is not None, f"{url} carries no Expires")
        assert expires is not None
        moved = url.replace(expires.group(0), f"Expires={int(expires.group(1)) + 86_400}")
        expired = url.replace(expires.group(0), "Expires=1")
        answers = [requests.get(u, timeout=30).status_code for u in (bare, moved, expired)]
        expect(answers == [403, 403, 403], f"unsigned, later, past expiry answered {answers}")
        return "unsigned 403, expiry moved 403, expiry in the past 403"

    def stops_after_delete(self) -> str:
        assert self.done_id is not None
        url = self.done_variants[0]["sources"][0]["url"]
        response = self.api.delete(self.done_id)
        expect(response.status_code == 204, f"DELETE answered {response.status_code}")
        deadline = time.monotonic() + self.timeout
        while True:  # an invalidation takes seconds to minutes on AWS: poll, do not guess
            status = requests.get(url, timeout=30).status_code
            if status in (403, 404):
                return f"{url.split('?', 1)[0]} answers {status} after DELETE"
            expect(time.monotonic() < deadline, f"still {status} after {self.timeout:.0f} s")
            time.sleep(10)

    def multipart(self, config: dict[str, Any]) -> str:
        """Above the threshold: S3 refuses a part whose bytes do not match its granted SHA-256
        (and the bucket's CORS admits the checksum header from the page's origin); the parts
        complete once, a second completion is refused. Random bytes: it then ends rejected."""
        threshold = int((config.get("multipart") or {}).get("thresholdBytes") or 0)
        expect(threshold > 0, "config.json has no multipart.thresholdBytes")
        data = secrets.token_bytes(threshold + 1)
        created = self.api.create_upload("image/jpeg", len(data), "smoke-large.jpg")
        expect(created.status_code == 201, f"POST /uploads: {created.status_code}")
        start = created.json()
        expect(start.get("method") == "MULTIPART", f"method {start.get('method')!r}")
        upload_id, part_size = start["id"], start["multipart"]["partSize"]
        first = data[:part_size]
        granted = self.api.grant_parts(
            upload_id, [{"partNumber": 1, "size": len(first), "sha256": sha256_b64(first)}]
        )
        expect(granted.status_code == 200, f"grant: {granted.status_code} {granted.text[:200]}")
        part = granted.json()["parts"][0]
        self.handed.append(("connect-src", part["url"]))
        preflight = requests.options(
            part["url"],
            headers={
                "Origin": csp_policy.origin_of(self.outputs["web_url"]),
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "x-amz-checksum-sha256",
            },
            timeout=30,
        )
        expect(preflight.status_code == 200, f"the part URL's preflight: {preflight.status_code}")
        wrong = self.api.put_part(part, bytes(len(first)))
        expect(wrong.status_code == 400, f"a part with other bytes answered {wrong.status_code}")
        answers = self.api.send_parts(
            upload_id, data, part_size, list(range(1, start["multipart"]["partCount"] + 1))
        )
        expect(all(a.status_code == 200 for a in answers), "a part PUT was refused")
        done = self.api.complete(upload_id)
        expect(done.status_code == 200, f"complete: {done.status_code} {done.text[:200]}")
        again = self.api.complete(upload_id)
        expect(again.status_code == 409, f"a second completion answered {again.status_code}")
        return f"{len(answers)} parts; a wrong part 400, a second completion 409"

    # -- outcome events (docs/events.md) ---------------------------------------------------------

    def listen_for_events(self) -> str:
        endpoint = emulator_endpoint(self.outputs["api_url"])
        region = self.outputs.get("region")
        events = aws_client("events", endpoint, region)
        sqs = aws_client("sqs", endpoint, region)
        name = f"smoke-{uuid.uuid4().hex[:12]}"
        pattern = json.loads(self.events["event_pattern"])
        queue_url = outcome_events.rule_to_queue(
            events, sqs, self.events["bus_name"], name, pattern
        )
        self.listener = (events, sqs, name, queue_url)
        return f"rule {name} on {self.events['bus_name']} -> a queue (removed at the end)"

    def processed_event(self, upload_id: str) -> str:
        assert self.listener is not None
        _events, sqs, _name, queue_url = self.listener
        deadline = time.monotonic() + self.timeout
        received: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            received += outcome_events.drain(sqs, queue_url, wait_seconds=5)
            mine = outcome_events.of_upload(received, upload_id)
            if mine:
                detail = mine[0]["detail"]
                expect(detail["outcome"] == "processed", f"first event: {detail['outcome']}")
                expect(bool(detail["variants"]), "the processed event lists no variants")
                return f"eventId {detail['eventId']}, {len(detail['variants'])} variants"
        raise SmokeFailed(f"no event for {upload_id} within {self.timeout:.0f} s")

    def stop_listening(self) -> None:
        assert self.listener is not None
        events, sqs, name, queue_url = self.listener
        try:
            outcome_events.remove_rule(events, sqs, self.events["bus_name"], name, queue_url)
        except (BotoCoreError, ClientError) as error:
            print(f"FAILED  the temporary rule and queue are removed: {error}", flush=True)
            raise SmokeFailed("the temporary rule and queue are removed") from error
        self.passed += 1
        print(f"ok      the temporary rule and queue are removed: {name}", flush=True)
        self.listener = None

    # -- refusals ------------------------------------------------------------------------------

    def refuses_type(self) -> str:
        response = self.api.create_upload("text/html", 100, "page.html")
        expect(response.status_code == 415, f"answered {response.status_code}")
        expect(response.json().get("error") == "unsupported_media_type", response.text[:200])
        return "415 unsupported_media_type"

    def rejects_non_image(self) -> str:
        upload_id = self.api.upload(b"<html><body>not an image</body></html>", "image/png", "x.png")
        body = self.api.wait_for_final(upload_id, timeout=self.timeout)
        expect(body.get("status") == "rejected", f"status {body.get('status')!r}")
        return f"rejected: {body['error']['code']}"

    def unknown_is_404(self) -> str:
        response = self.api.status(str(uuid.uuid4()))
        expect(response.status_code == 404, f"answered {response.status_code}")
        return "404 not_found"

    # -- the page's Content-Security-Policy ------------------------------------------------------

    def csp_admits_handed_urls(self) -> str:
        expect(bool(self.policies), "the page has no Content-Security-Policy (header or meta)")
        origin = csp_policy.origin_of(self.outputs["web_url"])
        problems = [
            f"{where}: {problem}"
            for where, policy in self.policies
            for problem in csp_policy.refusals(policy, self.handed, origin)
        ]
        expect(not problems, "a browser would block it: " + " | ".join(problems))
        where = " and ".join(name for name, _ in self.policies)
        return f"{len(self.handed)} URLs admitted by the {where} policy"

    # -- sign-in (auth = "cognito") ----------------------------------------------------------------

    def refuses_anonymous(self) -> str:
        """401 without a token. On AWS it must be API Gateway's Cognito authorizer answering
        (its gateway response ``{"error": "UNAUTHORIZED"}``), not the function's own check
        (``"unauthorized"``): the emulator enforces no authorizer, so only here is it seen."""
        response = ApiClient(self.outputs["api_url"]).create_upload("image/jpeg", 1000, "a.jpg")
        expect(
            response.status_code == 401, f"POST /uploads without a token: {response.status_code}"
        )
        code = response.json().get("error")
        if emulator_endpoint(self.outputs["api_url"]):
            return f"401 {code} (the function's check; the emulator has no authorizer)"
        expect(code == "UNAUTHORIZED", f"401 came from {code!r}, not the Cognito authorizer")
        return "401 from API Gateway's Cognito authorizer"

    def sign_in_throwaway(self) -> str:
        client = users.cognito_client(self.outputs, users.pool_of(self.outputs))
        email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
        password = f"Sm0ke-{secrets.token_urlsafe(12)}-Aa1!"
        users.create(client, self.auth["user_pool_id"], email, password)
        self.throwaway = email
        endpoint = self.auth["cognito_endpoint"]
        tokens = sign_in(endpoint, self.auth["client_id"], email, password)
        self.api = ApiClient(self.outputs["api_url"], token=tokens["IdToken"])
        self.handed.append(("connect-src", endpoint))
        return f"{email} (deleted at the end)"

    def delete_throwaway(self) -> None:
        client = users.cognito_client(self.outputs, users.pool_of(self.outputs))
        try:
            client.admin_delete_user(UserPoolId=self.auth["user_pool_id"], Username=self.throwaway)
        except (BotoCoreError, ClientError) as error:  # reported; an earlier failure stays one
            print(f"FAILED  the throwaway user is deleted: {error}", flush=True)
            raise SmokeFailed("the throwaway user is deleted") from error
        self.passed += 1
        print(f"ok      the throwaway user is deleted: {self.throwaway}", flush=True)
        self.throwaway = None


PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


def page_origin(web_url: str) -> str:
    parts = urllib.parse.urlsplit(web_url)
    return f"{parts.scheme}://{parts.netloc}"


def timed_request(session: requests.Session, method: str, url: str, headers: dict) -> float:
    """Milliseconds until the answer's body is read; any status (this only times)."""
    started = time.perf_counter()
    session.request(method, url, headers=headers, timeout=30).close()
    return (time.perf_counter() - started) * 1000


def expect(condition: bool, problem: str) -> None:
    if not condition:
        raise SmokeFailed(problem)


def page_policies(header: str | None, html: str) -> list[tuple[str, csp_policy.Policy]]:
    """Every policy the browser enforces on the page: each one of the header (comma-separated)
    and the page's <meta http-equiv> tag."""
    found = [("header", csp_policy.parse(p)) for p in (header or "").split(",") if p.strip()]
    for tag in META_TAG.findall(html):
        content = CONTENT.search(tag)
        if CSP_EQUIV.search(tag) and content:
            found.append(("meta", csp_policy.parse(content.group(2))))
    return found


def sample_photo(colour: tuple[int, int, int] = (30, 90, 160)) -> bytes:
    """A 1600x1200 JPEG with EXIF (orientation 1 and a camera model) for the processor to strip."""
    image = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
    image.paste(colour, (0, 0, 800, 600))
    exif = Image.Exif()
    exif[0x0110] = "Smoke Test Camera"  # Model
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def terraform_outputs(folder: Path) -> dict[str, Any]:
    result = subprocess.run(
        ["terraform", "output", "-json"], cwd=folder, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ToolError(f"`terraform output -json` failed in {folder}:\n{result.stderr.strip()}")
    raw = json.loads(result.stdout)
    return {name: value["value"] for name, value in raw.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.smoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--outputs", type=Path, help="a file written by `terraform output -json`")
    source.add_argument("--terraform-dir", type=Path, help="run `terraform output -json` here")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait per upload")
    args = parser.parse_args(argv)
    try:
        if args.terraform_dir:
            outputs = terraform_outputs(args.terraform_dir)
        else:
            outputs = load_outputs(args.outputs)
        smoke = Smoke(outputs, args.timeout)
        print(f"smoke test of {outputs['api_url']}", flush=True)
        smoke.run()
    except SmokeFailed:
        return 1
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"all {smoke.passed} checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
