"""Shared by the operator commands in tools/: where the stack is and how to talk to it.

* :func:`load_outputs` reads the stack's Terraform outputs: a file written by
  ``terraform output -json`` (or any ``{"name": value}`` JSON), or, by default, the local
  deployment through ``python -m local.stack outputs``.
* :func:`emulator_endpoint` recognises a stack on the local emulator from its API URL
  (``<endpoint>/_aws/execute-api/<id>/<stage>``); :func:`aws_client` then uses the emulator's
  fake credentials. For a real AWS stack the usual credential chain applies, in the stack's
  region (its ``region`` output), not the shell's default region.
* :class:`ApiClient` is the page's protocol in Python: ``POST /uploads``, the presigned
  ``PUT`` and ``GET /uploads/{id}``, retrying API Gateway throttling (429). A 502/503/504 is
  retried only when the caller says it expects them (``retry_server_errors=True``: the load
  tool, which counts them); tests and the smoke check see every 5xx, so a crashing function
  is never hidden behind a retry that happened to succeed.
  With sign-in (``auth = "cognito"``) give it the user's ID token (``token=``, or a callable
  returning one); it then also lists (``GET /uploads``) and deletes.
* :func:`sign_in` signs a user in with ``USER_PASSWORD_AUTH``, as the page does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
EMULATOR_CREDENTIALS = {
    "aws_access_key_id": "test",
    "aws_secret_access_key": "test",
    "region_name": "us-east-1",
}
THROTTLED_STATUS = frozenset({429})
SERVER_ERROR_STATUS = frozenset({502, 503, 504})  # retried only with retry_server_errors=True
FINAL_STATUSES = frozenset({"done", "rejected", "failed"})  # common.contract.Status


class ToolError(Exception):
    """A problem the operator can fix (missing outputs, unreachable stack...)."""


def load_outputs(outputs_json: Path | None = None, stack_workdir: Path | None = None) -> dict:
    """The stack's outputs as ``{name: value}``."""
    if outputs_json is not None:
        try:
            raw = json.loads(Path(outputs_json).read_text())
        except (OSError, ValueError) as error:
            raise ToolError(f"cannot read outputs from {outputs_json}: {error}") from None
    else:
        command = [sys.executable, "-m", "local.stack", "outputs"]
        if stack_workdir is not None:
            command += ["--workdir", str(Path(stack_workdir).resolve())]
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
        if result.returncode != 0:
            raise ToolError(
                "`python -m local.stack outputs` failed (is the local stack up? `make up`):\n"
                + result.stderr.strip()
            )
        try:
            raw = json.loads(result.stdout)
        except ValueError:
            raise ToolError("`python -m local.stack outputs` printed no JSON") from None
    if not isinstance(raw, dict):
        raise ToolError("the outputs must be a JSON object")
    # `terraform output -json` wraps each value: {"name": {"value": ..., "type": ...}}
    return {
        name: value["value"] if isinstance(value, dict) and "value" in value else value
        for name, value in raw.items()
    }


def emulator_endpoint(api_url: str | None) -> str | None:
    """``http://host:port`` of the emulator serving ``api_url``, else ``None`` (real AWS)."""
    if not api_url or "/_aws/execute-api/" not in api_url:
        return None
    parts = urllib.parse.urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}"


def aws_client(service: str, endpoint: str | None, region: str | None = None, **config: Any) -> Any:
    """A boto3 client for the emulator at ``endpoint``, or for AWS in ``region`` (the stack's
    ``region`` output; ``None``: the SDK's default) when it is ``None``."""
    import boto3
    from botocore.config import Config

    client_config = Config(retries={"mode": "standard", "max_attempts": 4}, **config)
    if endpoint:
        return boto3.client(
            service, endpoint_url=endpoint, config=client_config, **EMULATOR_CREDENTIALS
        )
    return boto3.client(service, region_name=region, config=client_config)


@dataclass
class Counters:
    """Retries made by every thread of an :class:`ApiClient` (thread-safe)."""

    retries: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, reason: str) -> None:
        with self._lock:
            self.retries[reason] = self.retries.get(reason, 0) + 1


class ApiClient:
    """The upload protocol of the page, for tools and tests. Safe to share between threads."""

    def __init__(
        self,
        api_url: str,
        timeout: float = 30.0,
        attempts: int = 6,
        origin: str | None = None,
        token: str | Callable[[], str] | None = None,
        retry_server_errors: bool = False,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.retry_server_errors = retry_server_errors
        self.token = token
        self.timeout = timeout
        self.attempts = attempts
        self.origin = origin
        self.counters = Counters()
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One API call; 429 (and 502-504 when opted in) retried with jittered backoff."""
        headers = dict(kwargs.pop("headers", None) or {})
        if self.origin:
            headers.setdefault("Origin", self.origin)
        if self.token is not None:
            token = self.token() if callable(self.token) else self.token
            headers.setdefault("Authorization", token)
        retryable = THROTTLED_STATUS | (SERVER_ERROR_STATUS if self.retry_server_errors else set())
        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt == self.attempts:
                    raise
                self.counters.add(type(error).__name__)
            else:
                if response.status_code not in retryable or attempt == self.attempts:
                    return response
                self.counters.add(f"http_{response.status_code}")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def create_upload(
        self, content_type: str, size: int, filename: str | None = None
    ) -> requests.Response:
        body: dict[str, Any] = {"contentType": content_type, "size": size}
        if filename is not None:
            body["filename"] = filename
        return self._request("POST", f"{self.api_url}/uploads", json=body)

    def status(self, upload_id: str) -> requests.Response:
        return self._request("GET", f"{self.api_url}/uploads/{upload_id}")

    def list_uploads(
        self, limit: int | None = None, cursor: str | None = None
    ) -> requests.Response:
        params = {
            key: value for key, value in (("limit", limit), ("cursor", cursor)) if value is not None
        }
        return self._request("GET", f"{self.api_url}/uploads", params=params)

    def delete(self, upload_id: str) -> requests.Response:
        return self._request("DELETE", f"{self.api_url}/uploads/{upload_id}")

    def put(self, grant: dict[str, Any], data: bytes) -> requests.Response:
        """The presigned PUT, exactly as granted (never retried: a URL creates one object)."""
        return self.session.request(
            grant["method"],
            grant["uploadUrl"],
            data=data,
            headers=grant["headers"],
            timeout=self.timeout,
        )

    def upload(self, data: bytes, content_type: str, filename: str | None = None) -> str:
        """POST, then the path the API chose: one PUT, or (above the multipart threshold) the
        parts and the completion. Returns the upload id or raises :class:`ToolError`."""
        created = self.create_upload(content_type, len(data), filename)
        if created.status_code != 201:
            raise ToolError(f"POST /uploads: {created.status_code} {created.text[:300]}")
        grant = created.json()
        if grant.get("method") == "MULTIPART":
            return self._upload_parts(grant, data)
        put = self.put(grant, data)
        if put.status_code != 200:
            raise ToolError(f"PUT {grant['id']}: {put.status_code} {put.text[:300]}")
        return grant["id"]

    def _upload_parts(self, grant: dict[str, Any], data: bytes) -> str:
        upload_id, plan = grant["id"], grant["multipart"]
        numbers = list(range(1, plan["partCount"] + 1))
        for number, put in zip(
            numbers, self.send_parts(upload_id, data, plan["partSize"], numbers), strict=True
        ):
            if put.status_code != 200:
                raise ToolError(f"PUT part {number} of {upload_id}: {put.status_code}")
        done = self.complete(upload_id)
        if done.status_code != 200:
            raise ToolError(f"complete {upload_id}: {done.status_code} {done.text[:300]}")
        return upload_id

    # -- the multipart path (lambda_src/api/multipart.py) -----------------------------------

    def grant_parts(self, upload_id: str, parts: list[dict[str, Any]]) -> requests.Response:
        """``parts``: [{partNumber, size, sha256}] -> one URL each, bound to all three."""
        url = f"{self.api_url}/uploads/{upload_id}/parts"
        return self._request("POST", url, json={"parts": parts})

    def list_parts(self, upload_id: str) -> requests.Response:
        return self._request("GET", f"{self.api_url}/uploads/{upload_id}/parts")

    def complete(self, upload_id: str) -> requests.Response:
        return self._request("POST", f"{self.api_url}/uploads/{upload_id}/complete")

    def abort(self, upload_id: str) -> requests.Response:
        return self._request("DELETE", f"{self.api_url}/uploads/{upload_id}/parts")

    def put_part(self, part: dict[str, Any], data: bytes) -> requests.Response:
        """One granted part's PUT, with the signed checksum header it was granted with."""
        return self.session.request(
            "PUT", part["url"], data=data, headers=part["headers"], timeout=self.timeout
        )

    def send_parts(
        self, upload_id: str, data: bytes, part_size: int, numbers: list[int]
    ) -> list[requests.Response]:
        """Grant and PUT the parts ``numbers`` of ``data`` one by one (the page runs several
        at once); the PUTs' answers."""
        answers = []
        for number in numbers:
            chunk = data[(number - 1) * part_size : number * part_size]
            granted = self.grant_parts(
                upload_id, [{"partNumber": number, "size": len(chunk), "sha256": sha256_b64(chunk)}]
            )
            if granted.status_code != 200:
                raise ToolError(f"grant part {number}: {granted.status_code} {granted.text[:300]}")
            answers.append(self.put_part(granted.json()["parts"][0], chunk))
        return answers

    def wait_for_final(
        self,
        upload_id: str,
        timeout: float = 60.0,
        first_interval: float = 0.2,
        not_found_grace: float = 15.0,
    ) -> dict[str, Any]:
        """Poll ``GET /uploads/{id}`` until ``done``/``rejected``; the last body on timeout.

        The interval grows from ``first_interval`` by 1.5x up to 1 s, so the status is seen
        at most about a second after it is written. A 404 is polled through for
        ``not_found_grace`` seconds, as the page does: an original written straight into the
        bucket has no record until the processor's first attempt starts.
        """
        started = time.monotonic()
        deadline = started + timeout
        interval = first_interval
        while True:
            response = self.status(upload_id)
            if response.status_code == 404 and time.monotonic() - started < not_found_grace:
                time.sleep(interval)
                interval = min(interval * 1.5, 1.0)
                continue
            if response.status_code != 200:
                raise ToolError(f"GET {upload_id}: {response.status_code} {response.text[:300]}")
            body = response.json()
            if body.get("status") in FINAL_STATUSES or time.monotonic() >= deadline:
                return body
            time.sleep(interval)
            interval = min(interval * 1.5, 1.0)


def sha256_b64(data: bytes) -> str:
    """Base64 SHA-256, as S3's ``x-amz-checksum-sha256`` carries it."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def fetch_page_config(web_url: str | None, timeout: float = 30.0) -> dict[str, Any] | None:
    """The page's ``config.json`` (configured variants, limits) next to ``web_url``."""
    if not web_url:
        return None
    config_url = urllib.parse.urljoin(web_url, "config.json")
    try:
        response = requests.get(config_url, timeout=timeout)
    except requests.RequestException:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def sign_in(cognito_endpoint: str, client_id: str, email: str, password: str) -> dict[str, Any]:
    """``USER_PASSWORD_AUTH`` the way the page sends it (an unsigned call to Cognito); returns
    the ``AuthenticationResult`` (``IdToken``, ``AccessToken``, ``RefreshToken``, ``ExpiresIn``)
    or raises :class:`ToolError` with Cognito's message."""
    response = requests.post(
        cognito_endpoint,
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
            "Content-Type": "application/x-amz-json-1.1",
        },
        data=json.dumps(
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client_id,
                "AuthParameters": {"USERNAME": email, "PASSWORD": password},
            }
        ),
        timeout=30,
    )
    body = response.json() if response.content else {}
    if response.status_code != 200 or "AuthenticationResult" not in body:
        raise ToolError(f"sign-in of {email} failed: {response.status_code} {body}")
    return body["AuthenticationResult"]
