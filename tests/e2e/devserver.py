"""Development-only fake backend for the upload page (NOT used by the real e2e tests).

Serves ``web/`` under ``/site/`` (like ``http://127.0.0.1:4566/<bucket>/index.html``) and a
generated ``config.json``, plus, on a second port (a different origin, so CORS and preflights
are exercised as on AWS), a fake REST API and fake presigned S3 endpoints that behave like the
real ones:

- ``POST /prod/uploads``        -> 201 with a signed PUT URL valid for 60 s, or 400/413/415
- ``PUT  /s3/uploads/<id>?...`` -> checks signature, expiry, Content-Type, ``If-None-Match: *``
                                   (412 on overwrite) and size; S3-style XML errors
- ``GET  /prod/uploads/<id>``   -> processing | done | rejected (real Pillow resizing)
- ``GET  /out/<id>/<name>.<ext>?...`` -> variant bytes (signed, expiring)

Fault injection by file name: ``__500__`` (POST fails with 500), ``__expire__`` (first upload
link is already expired), ``__stuck__`` (never finishes processing), ``__slowproc__``.

Run:  .venv/bin/python tests/e2e/devserver.py [--port 8700] [--slow-kbps 2000]
      [--config ok|missing|invalid] [--api-down]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import mimetypes
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_ROOT = REPO_ROOT / "web"

SECRET = b"dev-only-not-a-secret"
ALLOWED_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"]
PIL_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_BYTES = 20 * 1024 * 1024
UPLOAD_TTL = 60
DOWNLOAD_TTL = 300
VARIANTS = [
    {"name": "large", "max_edge": 1024, "format": "jpeg", "quality": 85},
    {"name": "medium", "max_edge": 512, "format": "jpeg", "quality": 85},
    {"name": "thumb", "max_edge": 128, "format": "webp", "quality": 80},
]
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided."
)
EXT = {"jpeg": "jpg", "webp": "webp", "png": "png"}
CTYPE = {"jpeg": "image/jpeg", "webp": "image/webp", "png": "image/png"}


def sign(*parts: str) -> str:
    return hmac.new(SECRET, "|".join(parts).encode(), hashlib.sha256).hexdigest()


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.uploads: dict[str, dict] = {}  # id -> {"contentType", "filename", "data"}
        self.manifests: dict[str, dict] = {}
        self.outputs: dict[str, tuple[bytes, str]] = {}  # "<id>/<file>" -> (bytes, content-type)
        self.expired_once: set[str] = set()


def process(state: State, upload_id: str, filename: str, data: bytes) -> None:
    """Fake processor: real Pillow decoding and resizing, manifest written last."""
    from PIL import Image, ImageOps

    if "__stuck__" in filename:
        return
    time.sleep(6.0 if "__slowproc__" in filename else 0.8)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
        if fmt not in PIL_FORMATS:
            raise ValueError(f"format {fmt}")
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:
        manifest = {
            "id": upload_id,
            "status": "rejected",
            "variants": [],
            "error": {
                "code": "invalid_image",
                "message": (
                    "The file is not an image this service can read (JPEG, PNG, WebP or GIF)."
                ),
            },
        }
        print(f"[devserver] rejected {upload_id}: {exc}")
    else:
        img = ImageOps.exif_transpose(img)
        variants = []
        for spec in VARIANTS:
            w, h = img.size
            scale = min(1.0, spec["max_edge"] / max(w, h))
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            out = img.resize(size, Image.Resampling.LANCZOS) if size != img.size else img.copy()
            if spec["format"] == "jpeg" and out.mode not in ("RGB", "L"):
                out = out.convert("RGB")
            buf = io.BytesIO()
            out.save(buf, format=spec["format"].upper(), quality=spec["quality"])
            key = f"{upload_id}/{spec['name']}.{EXT[spec['format']]}"
            with state.lock:
                state.outputs[key] = (buf.getvalue(), CTYPE[spec["format"]])
            variants.append(
                {
                    "name": spec["name"],
                    "key": key,
                    "width": size[0],
                    "height": size[1],
                    "contentType": CTYPE[spec["format"]],
                    "bytes": len(buf.getvalue()),
                }
            )
        manifest = {"id": upload_id, "status": "done", "variants": variants, "error": None}
    with state.lock:
        state.manifests[upload_id] = manifest


def make_handler(state: State, opts: argparse.Namespace, api_base: str, web_port: int):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "devserver"

        def log_message(self, fmt, *args):  # quieter, one line per request
            if not opts.quiet:
                print(
                    f"[devserver] {self.command} {self.path[:90]}"
                    f" -> {args[1] if len(args) > 1 else ''}"
                )

        # ---- helpers ---------------------------------------------------------------
        def cors(self) -> None:
            origin = self.headers.get("Origin")
            if origin:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")
                self.send_header("Access-Control-Expose-Headers", "ETag")

        def send(self, status: int, body: bytes = b"", ctype: str = "application/json", extra=None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.cors()
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def json(self, status: int, obj) -> None:
            self.send(status, json.dumps(obj).encode())

        def api_error(self, status: int, code: str, message: str) -> None:
            self.json(status, {"error": code, "message": message})

        def s3_error(self, status: int, code: str, message: str) -> None:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
            ).encode()
            self.send(status, body, "application/xml")

        def drain(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        @property
        def is_api_port(self) -> bool:
            return self.server.server_address[1] != web_port

        # ---- verbs -------------------------------------------------------------------
        def do_OPTIONS(self):  # CORS preflight
            self.send_response(204)
            self.cors()
            self.send_header("Access-Control-Allow-Methods", "GET,POST,PUT,OPTIONS")
            req = self.headers.get("Access-Control-Request-Headers")
            if req:
                self.send_header("Access-Control-Allow-Headers", req)
            self.send_header("Access-Control-Max-Age", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            url = urlsplit(self.path)
            if not self.is_api_port:
                self.serve_site(url.path)
                return
            m = re.fullmatch(r"/prod/uploads/([^/]+)", url.path)
            if m:
                self.get_status(m.group(1))
                return
            m = re.fullmatch(r"/out/([^/]+/[^/]+)", url.path)
            if m:
                self.get_output(m.group(1), parse_qs(url.query))
                return
            if url.path.startswith("/prod/"):
                self.api_error(404, "not_found", "No such route.")
                return
            self.send(404, b"not found", "text/plain")

        def do_POST(self):
            url = urlsplit(self.path)
            body = self.drain()
            if not self.is_api_port:
                self.send(405, b"", "text/plain")
                return
            if url.path != "/prod/uploads":
                self.api_error(404, "not_found", "No such route.")
                return
            try:
                req = json.loads(body)
                assert isinstance(req, dict)
            except Exception:
                self.api_error(400, "invalid_json", "The request body must be a JSON object.")
                return
            ctype, size, filename = req.get("contentType"), req.get("size"), req.get("filename")
            if "__500__" in str(filename):
                self.api_error(
                    500,
                    "internal_error",
                    "Something went wrong on our side. Please try again later.",
                )
                return
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                self.api_error(
                    400, "invalid_size", "size must be a positive integer number of bytes."
                )
                return
            if ctype not in ALLOWED_TYPES:
                self.api_error(415, "unsupported_type", f"Content type {ctype!r} is not allowed.")
                return
            if size > MAX_BYTES:
                self.api_error(413, "too_large", f"Files must be at most {MAX_BYTES} bytes.")
                return
            upload_id = str(uuid.uuid4())
            expires = int(time.time()) + UPLOAD_TTL
            if "__expire__" in str(filename) and filename not in state.expired_once:
                state.expired_once.add(filename)
                expires = int(time.time()) - 1  # simulate a link that expired while queued
            query = urlencode(
                {
                    "X-Amz-Expires": UPLOAD_TTL,
                    "X-Amz-Date": expires,
                    "ct": ctype,
                    "size": size,
                    "X-Amz-Signature": sign(upload_id, ctype, str(expires)),
                }
            )
            with state.lock:
                state.uploads.setdefault(upload_id, {"filename": str(filename), "data": None})
            self.json(
                201,
                {
                    "id": upload_id,
                    "uploadUrl": f"{api_base}/s3/uploads/{upload_id}?{query}",
                    "method": "PUT",
                    "headers": {"Content-Type": ctype, "If-None-Match": "*"},
                    "expiresIn": UPLOAD_TTL,
                    "maxBytes": MAX_BYTES,
                },
            )

        def do_PUT(self):
            url = urlsplit(self.path)
            m = re.fullmatch(r"/s3/uploads/([^/]+)", url.path)
            if not self.is_api_port or not m:
                self.drain()
                self.s3_error(405, "MethodNotAllowed", "The specified method is not allowed.")
                return
            upload_id = m.group(1)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or -1)

            def fail(status, code, message):
                if 0 <= length <= MAX_BYTES:
                    self.rfile.read(length)  # like S3, answer after the body so the client sees it
                else:
                    self.close_connection = True
                self.s3_error(status, code, message)

            expected = sign(upload_id, q.get("ct", ""), q.get("X-Amz-Date", ""))
            if not hmac.compare_digest(expected, q.get("X-Amz-Signature", "")):
                fail(
                    403,
                    "SignatureDoesNotMatch",
                    SIGNATURE_MISMATCH,
                )
                return
            if int(q["X-Amz-Date"]) < time.time():
                fail(403, "AccessDenied", "Request has expired")
                return
            if self.headers.get("Content-Type") != q["ct"]:
                fail(
                    403,
                    "SignatureDoesNotMatch",
                    SIGNATURE_MISMATCH,
                )
                return
            if self.headers.get("If-None-Match") != "*":
                fail(
                    403,
                    "AccessDenied",
                    "There were headers present in the request which were not signed",
                )
                return
            if length < 0:
                fail(
                    411, "MissingContentLength", "You must provide the Content-Length HTTP header."
                )
                return
            if length > MAX_BYTES:
                fail(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
                return
            with state.lock:
                rec = state.uploads.get(upload_id)
                if rec is None:
                    fail(403, "AccessDenied", "Access Denied")
                    return
                if rec["data"] is not None:
                    fail(
                        412,
                        "PreconditionFailed",
                        "At least one of the pre-conditions you specified did not hold",
                    )
                    return
            # Read the body, optionally throttled so the progress bar can be watched.
            chunks, remaining = [], length
            chunk = 64 * 1024
            while remaining > 0:
                part = self.rfile.read(min(chunk, remaining))
                if not part:
                    break
                chunks.append(part)
                remaining -= len(part)
                if opts.slow_kbps:
                    time.sleep(len(part) / (opts.slow_kbps * 1024))
            data = b"".join(chunks)
            with state.lock:
                rec["data"] = data
            threading.Thread(
                target=process, args=(state, upload_id, rec["filename"], data), daemon=True
            ).start()
            self.send(200, b"", "text/plain", {"ETag": f'"{hashlib.md5(data).hexdigest()}"'})

        # ---- API GET -----------------------------------------------------------------
        def get_status(self, upload_id: str):
            with state.lock:
                manifest = state.manifests.get(upload_id)
                rec = state.uploads.get(upload_id)
            if manifest is None:
                if rec is None or rec["data"] is None:
                    self.api_error(404, "not_found", "No upload with this id.")
                    return
                self.json(
                    200, {"id": upload_id, "status": "processing", "variants": [], "error": None}
                )
                return
            expires = str(int(time.time()) + DOWNLOAD_TTL)
            variants = [
                {k: v[k] for k in ("name", "width", "height", "contentType", "bytes")}
                | {
                    "url": f"{api_base}/out/{v['key']}?"
                    + urlencode({"X-Amz-Date": expires, "X-Amz-Signature": sign(v["key"], expires)})
                }
                for v in manifest["variants"]
            ]
            self.json(
                200,
                {
                    "id": upload_id,
                    "status": manifest["status"],
                    "variants": variants,
                    "error": manifest["error"],
                },
            )

        def get_output(self, key: str, query):
            expires = (query.get("X-Amz-Date") or [""])[0]
            sig = (query.get("X-Amz-Signature") or [""])[0]
            if not hmac.compare_digest(sign(key, expires), sig) or int(expires or 0) < time.time():
                self.s3_error(403, "AccessDenied", "Request has expired")
                return
            with state.lock:
                item = state.outputs.get(key)
            if item is None:
                self.s3_error(404, "NoSuchKey", "The specified key does not exist.")
                return
            self.send(
                200, item[0], item[1], {"Cache-Control": "public, max-age=31536000, immutable"}
            )

        # ---- the page --------------------------------------------------------------------
        def serve_site(self, path: str):
            if path in ("/", "/site", "/site/"):
                self.send(302, b"", "text/plain", {"Location": "/site/index.html"})
                return
            if not path.startswith("/site/"):
                self.send(404, b"not found", "text/plain")
                return
            rel = path[len("/site/") :]
            if rel == "config.json":
                if opts.config == "missing":
                    self.s3_error(404, "NoSuchKey", "The specified key does not exist.")
                    return
                if opts.config == "invalid":
                    self.send(200, b'{"apiUrl": 42,', "application/json")
                    return
                api_url = "http://127.0.0.1:9/prod" if opts.api_down else f"{api_base}/prod"
                self.json(
                    200,
                    {
                        "apiUrl": api_url,
                        "maxBytes": MAX_BYTES,
                        "allowedTypes": ALLOWED_TYPES,
                        "variants": [
                            {"name": v["name"], "maxEdge": v["max_edge"], "format": v["format"]}
                            for v in VARIANTS
                        ],
                    },
                )
                return
            target = (WEB_ROOT / rel).resolve()
            if WEB_ROOT not in target.parents or not target.is_file():
                self.s3_error(404, "NoSuchKey", "The specified key does not exist.")
                return
            ctype = {
                ".js": "text/javascript",
                ".css": "text/css",
                ".html": "text/html",
                ".svg": "image/svg+xml",
            }.get(target.suffix) or mimetypes.guess_type(target.name)[0]
            self.send(
                200,
                target.read_bytes(),
                f"{ctype}; charset=utf-8" if ctype.startswith("text/") else ctype,
            )

    return Handler


class DevServer:
    """Start both servers in background threads (usable from a test fixture)."""

    def __init__(self, port: int = 0, api_port: int = 0, **options) -> None:
        defaults = {"slow_kbps": 0, "config": "ok", "api_down": False, "quiet": True}
        self.opts = argparse.Namespace(**(defaults | options))
        self.state = State()
        self.web = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
        self.api = ThreadingHTTPServer(("127.0.0.1", api_port), BaseHTTPRequestHandler)
        self.web.daemon_threads = self.api.daemon_threads = True
        web_port, api_port = self.web.server_address[1], self.api.server_address[1]
        self.api_base = f"http://127.0.0.1:{api_port}"
        handler = make_handler(self.state, self.opts, self.api_base, web_port)
        self.web.RequestHandlerClass = self.api.RequestHandlerClass = handler
        self.web_url = f"http://127.0.0.1:{web_port}/site/index.html"
        self.api_url = f"{self.api_base}/prod"
        self._threads = [
            threading.Thread(target=s.serve_forever, daemon=True) for s in (self.web, self.api)
        ]

    def start(self) -> DevServer:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        for s in (self.web, self.api):
            s.shutdown()
            s.server_close()

    def outputs(self) -> dict:
        """Same keys as the real stack's terraform outputs used by the e2e tests."""
        return {
            "web_url": self.web_url,
            "api_url": self.api_url,
            "upload_bucket": "dev-uploads",
            "output_bucket": "dev-output",
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--api-port", type=int, default=0, help="default: --port + 1")
    parser.add_argument(
        "--slow-kbps", type=int, default=0, help="throttle uploads to watch progress"
    )
    parser.add_argument("--config", choices=["ok", "missing", "invalid"], default="ok")
    parser.add_argument("--api-down", action="store_true", help="config points at a closed port")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    server = DevServer(
        args.port,
        args.api_port or args.port + 1,
        slow_kbps=args.slow_kbps,
        config=args.config,
        api_down=args.api_down,
        quiet=args.quiet,
    ).start()
    print(f"page: {server.web_url}\napi:  {server.api_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
