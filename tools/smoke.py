#!/usr/bin/env python3
"""Smoke test of any deployment, real AWS or local: the public flow, end to end.

    terraform output -json > outputs.json && python tools/smoke.py --outputs outputs.json
    python tools/smoke.py --terraform-dir .        # runs `terraform output -json` there
    python tools/smoke.py                          # the local deployment of `make up`

It reads the stack's outputs and, as the page would, checks: the page and its config.json, a
real JPEG through POST /uploads, the presigned PUT (a second PUT to the same URL must never
overwrite it), the status until ``done``, every variant downloaded and decoded at its declared
size, and refusals (a content type the API does not accept, a non-image that must end
``rejected``, an unknown id). When the page is delivered by CloudFront (output
``web_delivery = "cloudfront"``) it also checks the security headers, the HTTP-to-HTTPS
redirect and that the web bucket refuses a direct anonymous read (403). Each check prints one line; the exit code is 0 only if all pass.
Needs requests and Pillow (the project's .venv has both).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from stack_access import ApiClient, ToolError, load_outputs

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

    def check(self, what: str, step: Callable[[], str]) -> None:
        try:
            detail = step()
        except (SmokeFailed, ToolError, requests.RequestException, KeyError, ValueError) as error:
            print(f"FAILED  {what}: {error}", flush=True)
            raise SmokeFailed(what) from error
        self.passed += 1
        print(f"ok      {what}: {detail}", flush=True)

    def run(self) -> None:
        self.check("the page loads", self.page_loads)
        if self.outputs.get("web_delivery") == "cloudfront":
            self.check("the page carries the security headers", self.security_headers)
            self.check("plain HTTP is redirected to HTTPS", self.redirects_to_https)
            self.check("the web bucket refuses direct reads", self.bucket_is_private)
        config = self.config()
        self.check("config.json points at this API", lambda: self.config_matches(config))
        upload_id, grant = self.upload_photo()
        self.check("a second PUT to the same URL is refused", lambda: self.no_overwrite(grant))
        self.check("the photo ends done", lambda: self.ends_done(upload_id, config))
        self.check("an unaccepted content type gets 415", self.refuses_type)
        self.check("a non-image ends rejected", self.rejects_non_image)
        self.check("an unknown id gets 404", self.unknown_is_404)

    # -- the page ----------------------------------------------------------------------------

    def page_loads(self) -> str:
        response = requests.get(self.outputs["web_url"], timeout=30)
        expect(
            response.status_code == 200, f"GET {self.outputs['web_url']}: {response.status_code}"
        )
        expect("<html" in response.text.lower(), "the page is not HTML")
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
        url = f"https://{self.outputs['web_bucket']}.s3.amazonaws.com/index.html"
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
            response = requests.get(variant["url"], timeout=30)
            expect(response.status_code == 200, f"GET {variant['name']}: {response.status_code}")
            image = Image.open(io.BytesIO(response.content))
            image.load()
            expect(
                image.size == (variant["width"], variant["height"]),
                f"{variant['name']} is {image.size}, declared {variant['width']}x{variant['height']}",
            )
            expect(not image.getexif(), f"{variant['name']} still carries EXIF")
        sizes = ", ".join(f"{v['name']} {v['width']}x{v['height']}" for v in body["variants"])
        return f"{sizes}; each downloaded, decoded, metadata-free"

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


def expect(condition: bool, problem: str) -> None:
    if not condition:
        raise SmokeFailed(problem)


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
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
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
