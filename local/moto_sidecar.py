"""The moto server the emulator starts as its sidecar, with two CloudFront APIs moto lacks.

    <moto venv>/bin/python local/moto_sidecar.py --host 127.0.0.1 --port 5566

Runs ``moto.server`` (same arguments) after adding CloudFront response headers policies and
cache policies to moto's CloudFront routes: moto 5.2.5 has distributions and origin access
controls but answers 404 for these two, so a stack with a response headers policy could not be
applied on the sidecar. Both are control plane only, like the rest of moto's CloudFront: a
policy is stored and read back exactly as it was sent (create, get, get config, update with
If-Match, delete with If-Match, list), with AWS's error codes for a missing policy, a name
already taken and a stale ETag. Nothing here is served to a browser.

It also corrects three answers of moto's distributions that differ from AWS and would show as
changes in every plan after an apply (``tests/localcloud/test_sidecar.py`` lists them with the
plain-moto behaviour): an origin's ``OriginAccessControlId`` is kept (moto drops it), a cache
behaviour with a ``CachePolicyId`` gets no ``ForwardedValues`` (moto fills them in), and the
default certificate answers no ``SSLSupportMethod`` (moto says ``sni-only``). And a
distribution is deployed at once (moto simulates ~30-45 s that every apply and destroy waits
for).

Only moto and the standard library are imported: it runs in the sidecar's own virtualenv
(``.local/venvs/moto``, ``local/requirements-moto.txt``).
"""

from __future__ import annotations

import re
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
API = "{0}/2020-05-31"

# URL segment -> (the resource's XML element, what AWS calls it in error codes)
KINDS = {
    "response-headers-policy": ("ResponseHeadersPolicy", "ResponseHeadersPolicy"),
    "cache-policy": ("CachePolicy", "CachePolicy"),
}

Response = tuple[int, dict[str, str], str]


class PolicyStore:
    """In-memory policies of one kind (moto's state is in memory too)."""

    def __init__(self, element: str, error_name: str) -> None:
        self.element = element
        self.config_element = f"{element}Config"
        self.error_name = error_name
        self.items: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    # -- XML ----------------------------------------------------------------------------
    def config_of(self, body: str) -> tuple[str, str]:
        """(the config element as sent, without the XML declaration; its Name)."""
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", body).strip()
        root = ET.fromstring(text)
        if root.tag not in (f"{{{NAMESPACE}}}{self.config_element}", self.config_element):
            raise ValueError(f"expected <{self.config_element}>, got <{root.tag}>")
        name = root.findtext(f"{{{NAMESPACE}}}Name") or root.findtext("Name") or ""
        return text, name

    def element_of(self, item: dict[str, str], xmlns: str = f' xmlns="{NAMESPACE}"') -> str:
        return (
            f"<{self.element}{xmlns}><Id>{item['id']}</Id>"
            f"<LastModifiedTime>{item['modified']}</LastModifiedTime>"
            f"{item['config']}</{self.element}>"
        )

    def document(self, item: dict[str, str]) -> str:
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + self.element_of(item)

    def error(self, status: int, code: str, message: str) -> Response:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="{NAMESPACE}">'
            f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        return status, {"Content-Type": "text/xml"}, body

    def missing(self, policy_id: str) -> Response:
        return self.error(404, f"No{self.error_name}", f"{self.error_name} {policy_id} not found")

    def answer(self, status: int, item: dict[str, str], full_url: str = "") -> Response:
        headers = {"Content-Type": "text/xml", "ETag": item["etag"]}
        if status == 201:
            headers["Location"] = f"{full_url.rstrip('/')}/{item['id']}"
        return status, headers, self.document(item)

    # -- operations -----------------------------------------------------------------------
    def create(self, body: str, full_url: str) -> Response:
        config, name = self.config_of(body)
        with self.lock:
            if any(item["name"] == name for item in self.items.values()):
                return self.error(409, f"{self.error_name}AlreadyExists", f"{name} already exists")
            item = new_item(config, name)
            self.items[item["id"]] = item
        return self.answer(201, item, full_url)

    def get(self, policy_id: str, config_only: bool) -> Response:
        item = self.items.get(policy_id)
        if item is None:
            return self.missing(policy_id)
        if config_only:
            body = '<?xml version="1.0" encoding="UTF-8"?>\n' + item["config"]
            return 200, {"Content-Type": "text/xml", "ETag": item["etag"]}, body
        return self.answer(200, item)

    def update(self, policy_id: str, body: str, if_match: str | None) -> Response:
        config, name = self.config_of(body)
        with self.lock:
            item = self.items.get(policy_id)
            if item is None:
                return self.missing(policy_id)
            if if_match != item["etag"]:
                return self.error(412, "PreconditionFailed", "If-Match does not match the ETag")
            self.items[policy_id] = item = {**new_item(config, name), "id": policy_id}
        return self.answer(200, item)

    def delete(self, policy_id: str, if_match: str | None) -> Response:
        with self.lock:
            item = self.items.get(policy_id)
            if item is None:
                return self.missing(policy_id)
            if if_match != item["etag"]:
                return self.error(412, "PreconditionFailed", "If-Match does not match the ETag")
            del self.items[policy_id]
        return 204, {}, ""

    def list(self) -> Response:
        summaries = "".join(
            f"<{self.element}Summary><Type>custom</Type>{self.element_of(item, '')}"
            f"</{self.element}Summary>"
            for item in self.items.values()
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{self.element}List xmlns="{NAMESPACE}">'
            f"<MaxItems>100</MaxItems><Quantity>{len(self.items)}</Quantity>"
            f"<Items>{summaries}</Items></{self.element}List>"
        )
        return 200, {"Content-Type": "text/xml"}, body


def new_item(config: str, name: str) -> dict[str, str]:
    return {
        "id": str(uuid.uuid4()),
        "etag": uuid.uuid4().hex[:14].upper(),
        "modified": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "config": config,
        "name": name,
    }


STORES = {segment: PolicyStore(*names) for segment, names in KINDS.items()}


def handler_for(segment: str):
    """moto's handler signature: (request, full_url, headers) -> (status, headers, body)."""
    store = STORES[segment]
    pattern = re.compile(
        rf"/2020-05-31/{re.escape(segment)}(?:/(?P<id>[^/?]+))?(?P<config>/config)?"
    )

    def handle(request: Any, full_url: str, headers: dict[str, str]) -> Response:
        path = full_url.split("://", 1)[-1]
        path = path[path.find("/") :].split("?", 1)[0]
        match = pattern.fullmatch(path)
        if match is None:
            return store.error(404, "NotFound", path)
        policy_id, config_only = match.group("id"), bool(match.group("config"))
        body = request.data.decode() if getattr(request, "data", None) else ""
        if_match = headers.get("If-Match") or headers.get("if-match")
        try:
            if policy_id is None and request.method == "POST":
                return store.create(body, full_url.split("?", 1)[0])
            if policy_id is None and request.method == "GET":
                return store.list()
            if policy_id is not None and request.method == "GET":
                return store.get(policy_id, config_only)
            if policy_id is not None and request.method == "PUT":
                return store.update(policy_id, body, if_match)
            if policy_id is not None and request.method == "DELETE":
                return store.delete(policy_id, if_match)
        except (ET.ParseError, ValueError) as error:
            return store.error(400, "MalformedXML", str(error))
        return store.error(405, "MethodNotAllowed", request.method)

    handle.__name__ = f"handle_{segment.replace('-', '_')}"  # moto names Flask endpoints by it
    return handle


def install() -> None:
    """Add the routes to moto's CloudFront URL table (read when moto builds its Flask app)."""
    from moto.cloudfront import urls

    for segment in KINDS:
        handle = handler_for(segment)
        urls.url_paths[f"{API}/{segment}$"] = handle
        urls.url_paths[f"{API}/{segment}/(?P<policy_id>[^/]+)$"] = handle
        urls.url_paths[f"{API}/{segment}/(?P<policy_id>[^/]+)/config$"] = handle


def correct_distributions() -> None:
    """Make moto's distributions read back what AWS reads back (see the module docstring)."""
    from moto.cloudfront import models

    origin_init = models.Origin.__init__

    def origin(self: Any, origin: dict[str, Any]) -> None:
        origin_init(self, origin)
        self.origin_access_control_id = origin.get("OriginAccessControlId") or ""

    behaviour_init = models.DefaultCacheBehaviour.__init__

    def behaviour(self: Any, config: dict[str, Any]) -> None:
        legacy = "ForwardedValues" in config
        behaviour_init(self, config)
        if config.get("CachePolicyId") and not legacy:
            self.forwarded_values = None

    certificate_init = models.ViewerCertificate.__init__

    def certificate(self: Any, config: dict[str, Any]) -> None:
        certificate_init(self, config)
        if not config.get("SSLSupportMethod"):
            self.ssl_support_method = None

    models.Origin.__init__ = origin
    models.DefaultCacheBehaviour.__init__ = behaviour
    models.ViewerCertificate.__init__ = certificate


def deploy_distributions_at_once() -> None:
    """A distribution is "Deployed" at once, not after moto's simulated ~30-45 s: it serves no
    traffic here, so the wait would only slow every apply and destroy (Terraform waits for it
    before deleting a distribution)."""
    from moto.moto_api import state_manager

    state_manager.set_transition(
        model_name="cloudfront::distribution", transition={"progression": "immediate"}
    )


ITEM_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def serialise_item_writes(patch: Callable[[Any, str, Any], None] = setattr) -> None:
    """One lock around moto's DynamoDB writes, so a conditional write is checked and applied as
    one step (coarser than DynamoDB's per-item guarantee: it only costs throughput here).
    ``patch`` sets each wrapped method (the unit tier passes ``monkeypatch.setattr``, so the
    in-process moto gets the same guarantee for one test only)."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()  # batch and transaction writes call the single-item ones

    def atomic(write: Any) -> Any:
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return write(self, *args, **kwargs)

        locked.__name__ = write.__name__
        return locked

    for name in ITEM_WRITES:
        patch(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))


def main(argv: list[str] | None = None) -> None:
    install()
    correct_distributions()
    deploy_distributions_at_once()
    serialise_item_writes()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
