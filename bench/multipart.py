#!/usr/bin/env python3
"""Multipart vs single PUT on the local emulator, the browser's checksum cost, and the
processor at the largest accepted file (issue 25; optional, a few minutes, a quiet machine).

    .venv/bin/python bench/multipart.py [--sizes-mib 8,16,32,100] [--rounds 3]

Starts its own LocalStack (the first free port from 4569, state in .local/bench/multipart), applies the root stack
(prefix ``sbm``, ``max_upload_bytes`` = 100 MiB and the default threshold), then measures:

* upload time of 8..100 MiB files both ways: the single presigned PUT (the API's POST, then the
  PUT with the URL it signs; for sizes above the threshold the URL is presigned by this script
  exactly as api/storage.py does, since the API would answer with parts) and the multipart path
  through the API (start, a grant per part, 3 parts in flight, complete), medians of ``--rounds``;
* the HTTP requests each path makes (counted by the client; a browser adds a CORS preflight per
  distinct URL and method, counted separately);
* in Chromium: SHA-256 of 100 MiB in 8 MiB parts with Web Crypto and with the page's
  plain-JavaScript fallback (web/js/sha256.js, for pages served over http);
* the processor's duration and peak memory (the executor's REPORT lines) for the largest files
  the defaults accept: a 40 MP photo, and 100 MiB (the byte limit).

Writes docs/benchmarks/multipart.json. Localhost has no bandwidth limit or latency: the
times compare the protocols' overheads, not a real network (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

import e2e  # noqa: E402  (bench/e2e.py: the stack helpers and REPORT parsing)

FIRST_PORT = 4569  # the first free one from here (tests and other benches use 4566-4568)
WORK = REPO / ".local" / "bench" / "multipart"
PREFIX = "sbm"
MIB = 1024 * 1024
PART = 8 * MIB
CONCURRENCY = 3


def sha_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class Counter:
    """Requests per path, by kind."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def add(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1


def single_put(api: str, s3: Any, bucket: str, data: bytes, counter: Counter) -> float:
    """POST /uploads, then one presigned PUT (the API's URL, or the same signature made here
    for a size the API sends the multipart way)."""
    import requests

    started = time.perf_counter()
    grant = requests.post(
        f"{api}/uploads", json={"contentType": "image/jpeg", "size": len(data)}, timeout=60
    ).json()
    counter.add("api POST /uploads")
    if grant["method"] == "PUT":
        url, headers = grant["uploadUrl"], grant["headers"]
    else:  # the same presigned PUT api/storage.py makes, for the comparison only
        requests.delete(f"{api}/uploads/{grant['id']}/parts", timeout=60)
        url = s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": bucket,
                "Key": f"uploads/{grant['id']}",
                "ContentType": "image/jpeg",
                "ContentLength": len(data),
                "IfNoneMatch": "*",
            },
            ExpiresIn=600,
            HttpMethod="PUT",
        )
        headers = {"Content-Type": "image/jpeg", "If-None-Match": "*"}
    put = requests.put(url, data=data, headers=headers, timeout=600)
    put.raise_for_status()
    counter.add("s3 PUT object")
    return time.perf_counter() - started


def multipart(api: str, data: bytes, counter: Counter) -> float:
    """The page's multipart protocol: start, then per part grant + PUT (3 at once), complete."""
    import requests

    started = time.perf_counter()
    grant = requests.post(
        f"{api}/uploads", json={"contentType": "image/jpeg", "size": len(data)}, timeout=60
    ).json()
    counter.add("api POST /uploads")
    assert grant["method"] == "MULTIPART", grant
    upload_id, part_size = grant["id"], grant["multipart"]["partSize"]

    def one(number: int) -> None:
        chunk = data[(number - 1) * part_size : number * part_size]
        body = {"parts": [{"partNumber": number, "size": len(chunk), "sha256": sha_b64(chunk)}]}
        part = requests.post(f"{api}/uploads/{upload_id}/parts", json=body, timeout=60).json()
        counter.add("api POST parts (grant)")
        (granted,) = part["parts"]
        put = requests.put(granted["url"], data=chunk, headers=granted["headers"], timeout=600)
        put.raise_for_status()
        counter.add("s3 PUT part")

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        list(pool.map(one, range(1, grant["multipart"]["partCount"] + 1)))
    done = requests.post(f"{api}/uploads/{upload_id}/complete", timeout=120)
    done.raise_for_status()
    counter.add("api POST complete")
    return time.perf_counter() - started


def transfer_times(target: e2e.Stack, sizes_mib: list[int], rounds: int) -> dict[str, Any]:
    api, bucket = target.outputs["api_url"], target.outputs["upload_bucket"]
    results: dict[str, Any] = {}
    for size in sizes_mib:
        data = os.urandom(size * MIB)
        single_counter, multi_counter = Counter(), Counter()
        singles, multis = [], []
        for _ in range(rounds):  # interleaved, so drift hits both alike
            singles.append(single_put(api, target.s3, bucket, data, single_counter))
            if size * MIB > 16 * MIB:
                multis.append(multipart(api, data, multi_counter))
        row: dict[str, Any] = {
            "single_put_s_median": round(statistics.median(singles), 3),
            "single_put_requests": {k: v // rounds for k, v in single_counter.counts.items()},
        }
        if multis:
            row["multipart_s_median"] = round(statistics.median(multis), 3)
            row["multipart_requests"] = {k: v // rounds for k, v in multi_counter.counts.items()}
        results[f"{size} MiB"] = row
        print(f"multipart bench: {size} MiB: {row}", file=sys.stderr, flush=True)
    return results


def browser_checksums(total_mib: int = 100) -> dict[str, Any]:
    """SHA-256 of ``total_mib`` MiB in 8 MiB parts inside Chromium: Web Crypto vs web/js/sha256.js."""
    from playwright.sync_api import sync_playwright

    web = REPO / "web"

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(web), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = """async ([totalMib, partMib]) => {
        const { sha256 } = await import('/js/sha256.js');
        const part = new Uint8Array(partMib * 1024 * 1024).map((_, i) => (i * 31) & 255);
        const parts = Math.ceil(totalMib / partMib);
        let t = performance.now();
        for (let i = 0; i < parts; i += 1) await crypto.subtle.digest('SHA-256', part);
        const webCrypto = performance.now() - t;
        t = performance.now();
        for (let i = 0; i < parts; i += 1) sha256(part);
        const plain = performance.now() - t;
        return { webCryptoMs: Math.round(webCrypto), plainJsMs: Math.round(plain), parts };
    }"""
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
            runs = [page.evaluate(script, [total_mib, 8]) for _ in range(3)]
            browser.close()
    finally:
        server.shutdown()
    return {
        "total_mib": total_mib,
        "part_mib": 8,
        "web_crypto_ms_median": statistics.median(r["webCryptoMs"] for r in runs),
        "plain_js_ms_median": statistics.median(r["plainJsMs"] for r in runs),
    }


def noisy_jpeg(width: int, height: int, quality: int) -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def processor_at_the_limits(target: e2e.Stack) -> dict[str, Any]:
    """Upload the largest files the defaults accept through the multipart path and read the
    processor's REPORT lines: a 40 MP noisy JPEG (the pixel limit) and the same photo padded
    to 100 MiB (the byte limit; JPEG decoders stop at the end-of-image marker)."""
    api = target.outputs["api_url"]
    photo = noisy_jpeg(7300, 5470, 95)  # 39.9 MP
    padded = photo + bytes(100 * MIB - len(photo))
    results: dict[str, Any] = {}
    for label, data in (("40 MP JPEG", photo), ("40 MP JPEG padded to 100 MiB", padded)):
        before = len(target.processor_log_lines())
        multipart(api, data, Counter())
        deadline = time.time() + 300
        figures: dict[str, Any] = {}
        while time.time() < deadline:
            lines = target.processor_log_lines()[before:]
            figures = e2e.log_figures(lines)
            if figures["reports"].get("duration_ms"):
                break
            time.sleep(1)
        results[label] = {"bytes": len(data), **figures.get("reports", {})}
        print(f"multipart bench: processor {label}: {results[label]}", file=sys.stderr, flush=True)
    return results


def free_port() -> int:
    """The first port from FIRST_PORT free for LocalStack and its sidecar."""
    from local import emulator

    for port in range(FIRST_PORT, FIRST_PORT + 200):
        sidecar = port + emulator.SIDECAR_PORT_OFFSET
        if not emulator.port_in_use(port) and not emulator.port_in_use(sidecar):
            return port
    raise RuntimeError("no free port pair for the emulator")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mib", default="8,16,32,100")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-processor", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument(
        "--output", type=Path, default=REPO / "docs" / "benchmarks" / "multipart.json"
    )
    args = parser.parse_args(argv)

    from local import stack as local_stack

    results: dict[str, Any] = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if args.skip_browser:
        results["browser_checksums"] = "skipped"
    else:
        results["browser_checksums"] = browser_checksums()
    print(f"multipart bench: {results['browser_checksums']}", file=sys.stderr, flush=True)
    dist = WORK / "dist"
    subprocess.run(
        [str(REPO / "build.sh"), "--out", str(dist)], check=True, stdout=subprocess.DEVNULL
    )
    state = ["--state-dir", str(WORK / "emulator")]
    e2e.emulator("stop", *state, "--purge")
    port = free_port()
    e2e.emulator("start", "--port", str(port), *state)
    endpoint = f"http://127.0.0.1:{port}"
    deployment = local_stack.LocalDeployment(
        workdir=WORK / "stack",
        endpoint=endpoint,
        extra_vars={"name_prefix": PREFIX, "artifacts_dir": str(dist)},
    )
    try:
        deployment.apply()
        target = e2e.Stack(endpoint)
        target.outputs = deployment.outputs()
        sizes = [int(value) for value in args.sizes_mib.split(",")]
        results["transfer"] = transfer_times(target, sizes, args.rounds)
        if not args.skip_processor:
            results["processor"] = processor_at_the_limits(target)
    finally:
        try:
            deployment.destroy()
        finally:
            e2e.emulator("stop", *state, "--purge")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
