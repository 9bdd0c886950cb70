#!/usr/bin/env python3
"""The API's origin: cross-origin (today) against same-origin behind the page's host (issue 22).

    .venv/bin/python bench/api_origin.py [--rounds 3] [--rtts 40,100] [--photos 3] [--multipart 1]

(docs/benchmarks.md's run: --rounds 4; about 15 minutes on a shared 2-core machine.)

Drives the real upload page in Chromium (Playwright, as tests/e2e does) against the root stack
applied on a LocalStack of its own (port from 4620, state in .local/bench/api_origin), in three
modes, interleaved round by round (the order alternates each round):

* ``cross``: today. The page comes from one origin and calls the API on its execute-api URL,
  another origin, so the browser sends the CORS preflights it really sends;
* ``same``: what a CloudFront behaviour ``/api/*`` in front of the API would give the browser.
  The page comes from the same kind of local reverse proxy (python stdlib), which also forwards
  ``/api/*`` to the emulator's API, and the page's config.json (rewritten by the proxy, as
  Terraform would write it) points ``apiUrl`` at ``<page origin>/api``;
* ``cross_nostore``: ``cross`` with the page as it was before this benchmark's finding: its
  API calls used ``fetch(..., {cache: 'no-store'})``, which makes Chromium skip its preflight
  cache (the proxy serves js/api.js with that option put back).

In every mode the page is served by such a proxy (one per mode, each its own origin; all are
in the stack's ``allowed_origins``), so the modes differ in the API's origin (and the page's
fetch cache mode) only. The presigned PUTs go to the emulator's S3, another origin, in all of
them (as on AWS, where the upload bucket is not behind the distribution).

Every browser context is fresh (empty HTTP and preflight caches). Every request Chromium sends
goes through a "link" proxy (``--proxy-server``, loopback included) that holds it for the
stated RTT before forwarding it, preflights included: one round trip per request, as on a
kept-alive connection (no TCP/TLS set-up, no throughput limit). Not Chromium's own network
emulation: CDP ``Network.emulateNetworkConditions`` delays requests but not the CORS
preflights (measured: at 300 ms latency a POST with its preflight took 348-392 ms, one whose
preflight was cached 333-365 ms), so it would hide exactly the cost compared here. The
photos are picked one at a time; per upload, from the browser's own network events (CDP
``Network.requestWillBeSent``, which reports preflights with type ``Preflight``), it counts API
requests, API preflights, S3 PUTs, S3 preflights, and, from the page's own data-status changes,
the time from the file pick to ``uploading`` finishing (``processing``) and to ``done``.

Writes docs/benchmarks/api_origin.json. It always destroys the stack and stops its emulator
(unless ``--keep``, for a second run against the same stack).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))  # the local package (local.stack, local.emulator)
sys.path.insert(0, str(REPO / "tests"))  # support.images: the test photos

WORK = REPO / ".local" / "bench" / "api_origin"
PREFIX = "sbo"
FIRST_PORT = 4620
MODES = ("cross", "same", "cross_nostore")
# The page before the fix (web/js/api.js fetched the API with cache: 'no-store', which makes
# Chromium skip its preflight cache): served by the cross proxy's twin with that line put back.
FETCH_LINE = "await fetch(url, { ...init, headers, credentials: 'omit' })"
NOSTORE_LINE = "await fetch(url, { ...init, headers, credentials: 'omit', cache: 'no-store' })"
API_PATH = "/api"  # the path a CloudFront behaviour for the API would use
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
SETTLE_TIMEOUT_MS = 150_000
FINAL = ("done", "rejected", "error", "refused")


# ---- the same-origin reverse proxy ------------------------------------------------------


@dataclass
class Route:
    """Where the proxy on one port sends what: the page's folder, and (mode same) the API."""

    mode: str
    origin: str
    web_folder: str  # http://emulator/<web bucket>/
    api_url: str  # http://emulator/_aws/execute-api/<id>/<stage>
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def target(self, path: str) -> str | None:
        """The upstream URL of a request path, or None (the API is not here in mode cross)."""
        if path == API_PATH or path.startswith(API_PATH + "/"):
            return self.api_url + path[len(API_PATH) :] if self.mode == "same" else None
        page_path = path.lstrip("/") or "index.html"
        return self.web_folder + page_path

    def count(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1


def rewrite_page(path: str, body: bytes, route: Route) -> bytes:
    """config.json as Terraform would write it with the API behind the page's host (mode
    same); api.js as it was before the fix (mode cross_nostore); anything else unchanged."""
    if path.endswith("/config.json"):
        return rewrite_config(body, route)
    if path.endswith("/js/api.js") and route.mode == "cross_nostore":
        text = body.decode()
        if text.count(FETCH_LINE) != 1:
            raise RuntimeError("web/js/api.js changed: cannot restore its no-store fetch")
        return text.replace(FETCH_LINE, NOSTORE_LINE).encode()
    return body


def rewrite_config(body: bytes, route: Route) -> bytes:
    """config.json as Terraform would write it with the API behind the page's host."""
    if route.mode != "same":
        return body
    config = json.loads(body)
    config["apiUrl"] = route.origin + API_PATH
    return json.dumps(config).encode()


def forward(method: str, url: str, headers: dict[str, str], body: bytes | None) -> tuple:
    """One upstream request: (status, [(name, value)], body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


class Answering(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the browser would get from an edge

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}

    def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


@dataclass
class Link:
    """The browser's network: every request it sends waits ``rtt_ms`` in the link proxy
    (Chromium's --proxy-server), preflights included, before it goes on."""

    rtt_ms: int = 0
    requests: int = 0


def make_link_handler(link: Link) -> type[BaseHTTPRequestHandler]:
    class LinkHandler(Answering):
        def _serve(self) -> None:
            body = self._body()
            link.requests += 1
            time.sleep(link.rtt_ms / 1000)  # the emulated round trip, not a synchronisation
            status, headers, payload = forward(self.command, self.path, self._headers(), body)
            self._answer(status, headers, payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = _serve

    return LinkHandler


def make_handler(route: Route) -> type[BaseHTTPRequestHandler]:
    class Handler(Answering):
        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            upstream = route.target(path)
            body = self._body()
            if upstream is None:
                self._answer(404, [("Content-Type", "text/plain")], b"not here")
                return
            route.count(f"{'api' if path.startswith(API_PATH) else 'page'} {self.command}")
            url = upstream + (f"?{query}" if query else "")
            status, upstream_headers, payload = forward(self.command, url, self._headers(), body)
            if status == 200:
                payload = rewrite_page(path, payload, route)
            self._answer(status, upstream_headers, payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = _serve

    return Handler


@contextmanager
def proxies(ports: dict[str, int], link: Link | None = None) -> Iterator[dict[str, Route]]:
    """One proxy per mode on its port (routes filled in once the stack's outputs are known),
    and the link proxy on ports["link"] when ``link`` is given."""
    modes = [mode for mode in ports if mode != "link"]
    routes = {mode: Route(mode, f"http://127.0.0.1:{ports[mode]}", "", "") for mode in modes}
    servers = [ThreadingHTTPServer(("127.0.0.1", ports[m]), make_handler(routes[m])) for m in modes]
    if link is not None:
        servers.append(ThreadingHTTPServer(("127.0.0.1", ports["link"]), make_link_handler(link)))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield routes
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


# ---- the browser's side -----------------------------------------------------------------

WATCH_SCRIPT = """() => {
  window.__pickAt = {};
  window.__marks = {};
  document.addEventListener('change', (event) => {
    const input = event.target;
    if (input && input.type === 'file') {
      for (const file of input.files) window.__pickAt[file.name] = performance.now();
    }
  }, true);
  const mark = (row) => {
    const name = row.querySelector('.file-row__name')?.textContent?.trim();
    if (!name) return;
    const marks = (window.__marks[name] = window.__marks[name] || {});
    if (!(row.dataset.status in marks)) marks[row.dataset.status] = performance.now();
  };
  new MutationObserver((records) => {
    for (const r of records) {
      const rows = r.type === 'attributes' ? [r.target]
        : [...r.addedNodes].filter((n) => n.nodeType === 1).flatMap(
            (n) => [n, ...n.querySelectorAll('[data-file-row]')]);
      rows.filter((n) => n.matches && n.matches('[data-file-row]')).forEach(mark);
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ['data-status']});
}"""


@dataclass
class NetworkLog:
    """CDP Network.requestWillBeSent events, each tagged with the upload then in progress."""

    current: str | None = None
    events: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    def on_request(self, event: dict[str, Any]) -> None:
        self.events.append((self.current, event))

    def of(self, tag: str) -> list[dict[str, Any]]:
        return [event for current, event in self.events if current == tag]


def classify(event: dict[str, Any], api_base: str, storage: str) -> str:
    """api / api_preflight / s3_put / s3_preflight / s3_get / other."""
    request = event["request"]
    url, method = request["url"], request["method"]
    preflight = event.get("type") == "Preflight" or method == "OPTIONS"
    if url.startswith(api_base + "/") or url == api_base:
        return "api_preflight" if preflight else "api"
    if url.startswith(storage):
        if preflight:
            return "s3_preflight"
        return "s3_put" if method == "PUT" else "s3_get"
    return "other"


def preflight_label(event: dict[str, Any], api_base: str) -> str:
    """What a preflight was for: ``API <method> <path>`` or ``S3 <method>`` (the method and
    headers the browser asked about)."""
    headers = {k.lower(): v for k, v in event["request"].get("headers", {}).items()}
    method = headers.get("access-control-request-method", "?")
    asked = headers.get("access-control-request-headers", "")
    url = event["request"]["url"].split("?", 1)[0]
    if url.startswith(api_base):
        return f"API {method} {url[len(api_base) :]} [{asked}]"
    return f"S3 {method} [{asked}]"


@dataclass(frozen=True)
class Photo:
    name: str
    body: bytes
    multipart: bool


def make_photos(count: int, multipart: int) -> list[Photo]:
    from PIL import Image

    from support import images

    photos = [
        Photo(f"photo{i}.jpg", images.photo_bytes((1600, 1200), "JPEG", seed=i + 1), False)
        for i in range(count)
    ]
    for i in range(multipart):
        # Noise does not compress: a 15.6 MP JPEG of about 17 MiB, three parts (8, 8, ~1 MiB).
        pixels = random.Random(22 + i).randbytes(3000 * 5200 * 3)
        buffer = io.BytesIO()
        Image.frombytes("RGB", (3000, 5200), pixels).save(buffer, "JPEG", quality=95)
        photos.append(Photo(f"large{i}.jpg", buffer.getvalue(), True))
    return photos


def one_session(
    browser: Any,
    route: Route,
    link: Link,
    rtt_ms: int,
    photos: list[Photo],
    tag: str,
    storage: str,
) -> list[dict[str, Any]]:
    """A fresh context (empty caches) at ``rtt_ms``; each photo picked alone and awaited."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    link.rtt_ms = rtt_ms
    try:
        page = context.new_page()
        page.set_default_timeout(SETTLE_TIMEOUT_MS)
        session = context.new_cdp_session(page)
        log = NetworkLog()
        session.on("Network.requestWillBeSent", log.on_request)
        session.send("Network.enable")
        page.goto(f"{route.origin}/index.html")
        page.wait_for_selector("#app[data-app-state='ready']")
        page.evaluate(WATCH_SCRIPT)
        api_base = route.origin + API_PATH if route.mode == "same" else route.api_url
        results = []
        for index, photo in enumerate(photos):
            upload = f"{tag}/{index}"
            log.current = upload
            page.set_input_files(
                "input[type=file]",
                files=[{"name": photo.name, "mimeType": "image/jpeg", "buffer": photo.body}],
            )
            row = page.locator("[data-file-row]").filter(
                has=page.locator(".file-row__name", has_text=photo.name)
            )
            final = ", ".join(f"[data-status='{s}']" for s in FINAL)
            row.and_(page.locator(final)).wait_for()
            log.current = None
            marks = page.evaluate(
                "(name) => ({pick: window.__pickAt[name], marks: window.__marks[name]})",
                photo.name,
            )
            kinds: dict[str, int] = {}
            preflighted: list[str] = []
            for event in log.of(upload):
                kind = classify(event, api_base, storage)
                kinds[kind] = kinds.get(kind, 0) + 1
                if kind.endswith("preflight"):
                    preflighted.append(preflight_label(event, api_base))
            status = row.get_attribute("data-status")
            pick = marks["pick"]
            results.append(
                {
                    "photo": photo.name,
                    "multipart": photo.multipart,
                    "index_in_session": index,
                    "status": status,
                    "requests": kinds,
                    "preflights": preflighted,
                    "pick_to_uploaded_ms": round(marks["marks"]["processing"] - pick, 1),
                    "pick_to_done_ms": round(marks["marks"][status] - pick, 1),
                }
            )
        return results
    finally:
        link.rtt_ms = 0
        context.close()


# ---- figures ----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 1)


KINDS = ("api", "api_preflight", "s3_put", "s3_preflight")


def summarise(uploads: list[dict[str, Any]]) -> dict[str, Any]:
    """Per kind of upload (single PUT, multipart; first of a session or later): mean requests
    by kind, preflights, and p50/p95 of pick-to-uploaded and pick-to-done."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in uploads:
        if item["status"] != "done":
            continue
        kind = "multipart" if item["multipart"] else "single"
        position = "first" if item["index_in_session"] == 0 else "later"
        groups.setdefault(f"{kind} ({position} in session)", []).append(item)
        groups.setdefault(kind, []).append(item)
    summary = {}
    for name, items in sorted(groups.items()):
        per_kind = {
            kind: round(statistics.fmean(i["requests"].get(kind, 0) for i in items), 2)
            for kind in KINDS
        }
        uploaded = [i["pick_to_uploaded_ms"] for i in items]
        done = [i["pick_to_done_ms"] for i in items]
        summary[name] = {
            "uploads": len(items),
            "requests_per_upload": per_kind,
            "preflights_per_upload": round(per_kind["api_preflight"] + per_kind["s3_preflight"], 2),
            "pick_to_uploaded_ms": {
                "p50": percentile(uploaded, 0.5),
                "p95": percentile(uploaded, 0.95),
            },
            "pick_to_done_ms": {"p50": percentile(done, 0.5), "p95": percentile(done, 0.95)},
        }
    return summary


# ---- the stack --------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_ports(count: int, start: int) -> list[int]:
    found = []
    for port in range(start, start + 200):
        if port_free(port):
            found.append(port)
            if len(found) == count:
                return found
    raise RuntimeError(f"no {count} free ports from {start}")


def emulator_cli(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "local.emulator", *args],
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--rtts", default="40,100", help="emulated RTTs in ms (default 40,100)")
    parser.add_argument("--photos", type=int, default=3, help="small photos per session")
    parser.add_argument("--multipart", type=int, default=1, help="photos above 16 MiB")
    parser.add_argument("--keep", action="store_true", help="leave the stack and emulator up")
    parser.add_argument("--output", type=Path, default=REPO / "docs/benchmarks/api_origin.json")
    args = parser.parse_args(argv)
    rtts = [int(value) for value in args.rtts.split(",")]

    from playwright.sync_api import sync_playwright

    from local import emulator
    from local.stack import LocalDeployment
    from support.browser import CHROMIUM, CHROMIUM_ARGS  # the page tests' browser

    state_dir = WORK / "emulator"
    port_file = WORK / "ports.json"
    if args.keep and port_file.exists():
        ports = json.loads(port_file.read_text())
    else:
        emulator_cli("stop", "--state-dir", str(state_dir), "--purge")
        emulator_port = next(
            p
            for p in free_ports(60, FIRST_PORT)
            if port_free(emulator.sidecar_port(p))
            and all(port_free(p + 200 + i) for i in range(len(MODES) + 1))
        )
        ports = {"emulator": emulator_port}
        ports.update({mode: emulator_port + 200 + index for index, mode in enumerate(MODES)})
        ports["link"] = emulator_port + 200 + len(MODES)
        WORK.mkdir(parents=True, exist_ok=True)
        port_file.write_text(json.dumps(ports))
    endpoint = f"http://127.0.0.1:{ports['emulator']}"
    if emulator.health(ports["emulator"]) is None:
        emulator_cli("start", "--port", str(ports["emulator"]), "--state-dir", str(state_dir))
    dist = WORK / "dist"
    subprocess.run(
        [str(REPO / "build.sh"), "--out", str(dist)], check=True, stdout=subprocess.DEVNULL
    )
    origins = [f"http://127.0.0.1:{ports[mode]}" for mode in MODES]
    deployment = LocalDeployment(
        workdir=WORK / "stack",
        endpoint=endpoint,
        extra_vars={"name_prefix": PREFIX, "artifacts_dir": str(dist), "allowed_origins": origins},
        sidecar_endpoint=emulator.sidecar_endpoint(ports["emulator"], state_dir),
    )
    photos = make_photos(args.photos, args.multipart)
    results: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "setup": {
            "rounds": args.rounds,
            "rtts_ms": rtts,
            "photos": [
                {"name": p.name, "bytes": len(p.body), "multipart": p.multipart} for p in photos
            ],
            "network": "the link proxy holds every request (preflights included) for the RTT;"
            " no TCP/TLS set-up, no throughput limit",
            "chromium": CHROMIUM,
        },
    }
    try:
        deployment.apply()
        outputs = deployment.outputs()
        web_folder = outputs["web_url"].rsplit("/", 1)[0] + "/"
        storage = endpoint + "/"  # the buckets, path-style on the emulator's S3
        uploads: dict[str, dict[str, list]] = {str(r): {m: [] for m in MODES} for r in rtts}
        link = Link()
        with proxies({name: ports[name] for name in (*MODES, "link")}, link) as routes:
            for route in routes.values():
                route.web_folder = web_folder
                route.api_url = outputs["api_url"].rstrip("/")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=CHROMIUM_ARGS,
                    # "<-loopback>": through the link proxy even to 127.0.0.1
                    proxy={"server": f"http://127.0.0.1:{ports['link']}", "bypass": "<-loopback>"},
                )
                try:
                    # One warm-up session (cold Lambdas), not counted.
                    one_session(browser, routes["cross"], link, 0, photos[:1], "warm", storage)
                    for round_ in range(args.rounds):
                        order = MODES if round_ % 2 == 0 else MODES[::-1]
                        for rtt in rtts:
                            for mode in order:
                                tag = f"{mode}/{rtt}/{round_}"
                                found = one_session(
                                    browser, routes[mode], link, rtt, photos, tag, storage
                                )
                                uploads[str(rtt)][mode] += found
                                print(f"api_origin: {tag}: {found}", file=sys.stderr, flush=True)
                finally:
                    browser.close()
            results["proxy_requests"] = {mode: dict(routes[mode].counts) for mode in MODES}
            results["link_requests"] = link.requests
        results["uploads"] = uploads
        results["summary"] = {
            rtt: {mode: summarise(items) for mode, items in by_mode.items()}
            for rtt, by_mode in uploads.items()
        }
    finally:
        if not args.keep:
            try:
                deployment.destroy()
            finally:
                emulator_cli("stop", "--state-dir", str(state_dir), "--purge")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
