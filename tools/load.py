#!/usr/bin/env python3
"""Push N real uploads through the stack and prove that none is lost or duplicated.

    .venv/bin/python -m tools.load                       # the local stack (`make up`), 200 uploads
    .venv/bin/python -m tools.load --count 50 --concurrency 8
    .venv/bin/python -m tools.load --outputs-json outputs.json   # `terraform output -json > ...`
    .venv/bin/python -m tools.load --api-url URL --no-bucket-check

Each upload is the page's protocol: ``POST /uploads``, the presigned ``PUT``, then
``GET /uploads/{id}`` until ``done`` or ``rejected``. The mix is deterministic (``--seed``):
JPEG, PNG, WebP and GIF images of small, medium and large sizes, each with its own dimensions,
and a known share (``--bad-share``) of bad files, each with the rejection code it must get.

It fails (exit 1) unless:

* every upload reaches its expected final status (and code) within ``--timeout``;
* every manifest belongs to its upload (same byte count and dimensions as what was sent) and
  lists the configured variants;
* the output bucket gained exactly the expected objects: for each upload its
  ``manifest.json``, plus one object per variant for a ``done`` one, and nothing else, with
  the sizes the manifest declares; the upload bucket holds each original exactly once.

It reports the latency from the end of the PUT to the final status seen by the client
(p50/p95/p99, max) and the throughput. Latency includes the polling granularity (the interval
grows from 0.2 s to at most 1 s). ``--report FILE`` also writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from tools import stack_access

EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "png": "png"}
# (share of the good uploads, base size, formats): small, medium, large
SIZE_CLASSES = (
    ("small", 0.4, (320, 240), ("image/jpeg", "image/png", "image/webp", "image/gif")),
    ("medium", 0.4, (1280, 960), ("image/jpeg", "image/webp", "image/png")),
    ("large", 0.2, (3000, 2000), ("image/jpeg",)),
)
BAD_KINDS = (
    "not_an_image",
    "truncated_image",
    "too_many_pixels",
    "unsupported_format",
    "corrupt_image",
)
PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}


@dataclass(frozen=True)
class PlannedUpload:
    index: int
    kind: str  # size class or "bad"
    content_type: str
    data: bytes = field(repr=False)
    width: int | None
    height: int | None
    expected_status: str
    expected_code: str | None = None


@dataclass
class UploadResult:
    index: int
    kind: str
    content_type: str
    bytes: int
    expected_status: str
    expected_code: str | None
    upload_id: str | None = None
    status: str | None = None
    error_code: str | None = None
    variants: list[dict[str, Any]] = field(default_factory=list)
    latency_s: float | None = None  # PUT end -> final status seen
    total_s: float | None = None  # POST start -> final status seen
    failure: str | None = None

    @property
    def as_expected(self) -> bool:
        return (
            self.failure is None
            and self.status == self.expected_status
            and self.error_code == self.expected_code
        )


# -- the mix ------------------------------------------------------------------------------


def _base_image(size: tuple[int, int], seed: int) -> Image.Image:
    """A photo-like RGB image: colour gradients plus a little noise (compresses like a photo)."""
    rng = random.Random(seed)
    gradient = Image.linear_gradient("L")
    channels = [
        gradient.rotate(rng.choice((0, 90, 180, 270))).resize(size, Image.Resampling.BILINEAR)
        for _ in range(3)
    ]
    image = Image.merge("RGB", channels)
    small = (max(1, size[0] // 8), max(1, size[1] // 8))
    noise = Image.frombytes("L", small, rng.randbytes(small[0] * small[1])).resize(size)
    return Image.blend(image, Image.merge("RGB", (noise, noise, noise)), 0.25)


def _encode(image: Image.Image, content_type: str) -> bytes:
    buffer = io.BytesIO()
    fmt = PILLOW_FORMATS[content_type]
    if fmt == "JPEG":
        image.save(buffer, fmt, quality=88)
    elif fmt == "WEBP":
        image.save(buffer, fmt, quality=80, method=0)
    elif fmt == "PNG":
        image.save(buffer, fmt, compress_level=1)
    else:
        image.convert("P", palette=Image.Palette.ADAPTIVE).save(buffer, fmt)
    return buffer.getvalue()


def _bad_file(kind: str, index: int) -> tuple[bytes, str]:
    """Bytes and claimed Content-Type of a bad upload whose rejection code is ``kind``."""
    if kind == "not_an_image":
        return f"upload {index}: plain text, not a picture\n".encode() * 20, "image/jpeg"
    if kind == "truncated_image":
        data = _encode(_base_image((400 + index, 300), index), "image/jpeg")
        return data[: len(data) // 2], "image/jpeg"
    if kind == "too_many_pixels":
        return _png_bomb(50_000 + index, 50_000), "image/png"
    if kind == "unsupported_format":
        buffer = io.BytesIO()
        Image.new("RGB", (40 + index % 50, 30), (10, 20, 30)).save(buffer, "BMP")
        return buffer.getvalue(), "image/png"
    if kind == "corrupt_image":
        return b"\xff\xd8\xff\xe0" + random.Random(index).randbytes(3000), "image/jpeg"
    raise ValueError(kind)


def _png_bomb(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1), 9))
        + chunk(b"IEND", b"")
    )


def plan_uploads(count: int, bad_share: float, seed: int) -> list[PlannedUpload]:
    """The deterministic mix: ``round(count * bad_share)`` bad files, the rest good images."""
    rng = random.Random(seed)
    bad_count = round(count * bad_share)
    bad_indices = set(rng.sample(range(count), bad_count))
    bases: dict[str, Image.Image] = {}
    planned: list[PlannedUpload] = []
    bad_seen = good_seen = 0
    for index in range(count):
        if index in bad_indices:
            kind = BAD_KINDS[bad_seen % len(BAD_KINDS)]
            bad_seen += 1
            data, content_type = _bad_file(kind, index)
            planned.append(
                PlannedUpload(index, "bad", content_type, data, None, None, "rejected", kind)
            )
            continue
        size_class = _size_class(good_seen)
        good_seen += 1
        name, _, (base_w, base_h), types = size_class
        content_type = types[index % len(types)]
        # every upload has its own dimensions, so a manifest can be matched to its upload
        width, height = base_w - (index % 97), base_h - (index * 7 % 89)
        if name not in bases:
            bases[name] = _base_image((base_w, base_h), seed)
        image = bases[name].crop((0, 0, width, height))
        planned.append(
            PlannedUpload(
                index, name, content_type, _encode(image, content_type), width, height, "done"
            )
        )
    return planned


def _size_class(position: int) -> tuple[str, float, tuple[int, int], tuple[str, ...]]:
    """Size classes in their shares, interleaved (small, medium, small, medium, large, ...)."""
    pattern = [cls for cls in SIZE_CLASSES for _ in range(round(cls[1] * 10))]
    order = sorted(range(len(pattern)), key=lambda i: (i % 2, i))
    return pattern[order[position % len(pattern)]]


# -- running ------------------------------------------------------------------------------


def run_one(client: stack_access.ApiClient, item: PlannedUpload, timeout: float) -> UploadResult:
    result = UploadResult(
        item.index,
        item.kind,
        item.content_type,
        len(item.data),
        item.expected_status,
        item.expected_code,
    )
    started = time.monotonic()
    try:
        created = client.create_upload(item.content_type, len(item.data), f"load-{item.index}")
        if created.status_code != 201:
            result.failure = f"POST /uploads {created.status_code}: {created.text[:200]}"
            return result
        grant = created.json()
        result.upload_id = grant["id"]
        put = client.put(grant, item.data)
        put_end = time.monotonic()
        if put.status_code != 200:
            result.failure = f"PUT {put.status_code}: {put.text[:200]}"
            return result
        body = client.wait_for_final(grant["id"], timeout=timeout)
        seen = time.monotonic()
    except Exception as error:  # a tool reports every failure, it never stops at the first
        result.failure = f"{type(error).__name__}: {error}"
        return result
    result.status = body.get("status")
    result.error_code = (body.get("error") or {}).get("code")
    result.variants = [
        {
            "name": variant.get("name"),
            "width": variant.get("width"),
            "height": variant.get("height"),
            "sources": [
                {key: source.get(key) for key in ("type", "bytes")}
                for source in variant.get("sources") or []
            ],
        }
        for variant in body.get("variants") or []
    ]
    result.latency_s = round(seen - put_end, 4)
    result.total_s = round(seen - started, 4)
    if result.status not in stack_access.FINAL_STATUSES:
        result.failure = f"no final status after {timeout:.0f} s (last: {result.status})"
    return result


def run_all(
    client: stack_access.ApiClient,
    planned: Sequence[PlannedUpload],
    concurrency: int,
    timeout: float,
    progress: bool = True,
) -> tuple[list[UploadResult], float]:
    done = 0
    lock = threading.Lock()

    def task(item: PlannedUpload) -> UploadResult:
        nonlocal done
        outcome = run_one(client, item, timeout)
        with lock:
            done += 1
            if progress and (done % 25 == 0 or done == len(planned)):
                print(f"  {done}/{len(planned)} uploads final", file=sys.stderr, flush=True)
        return outcome

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="upload") as pool:
        results = list(pool.map(task, planned))
    return results, time.monotonic() - started


# -- checks -------------------------------------------------------------------------------


def list_keys(s3: Any, bucket: str, prefix: str = "") -> dict[str, int]:
    keys: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            keys[item["Key"]] = item["Size"]
    return keys


def check_results(
    results: Sequence[UploadResult],
    planned: Sequence[PlannedUpload],
    variant_specs: Sequence[dict[str, Any]] | None,
) -> list[str]:
    """Problems visible from the API answers alone."""
    problems = []
    ids = [result.upload_id for result in results if result.upload_id]
    duplicates = [upload_id for upload_id, seen in Counter(ids).items() if seen > 1]
    if duplicates:
        problems.append(f"upload ids handed out twice: {duplicates}")
    expected_names = {spec["name"] for spec in variant_specs} if variant_specs else None
    for result, item in zip(results, planned, strict=True):
        label = f"upload #{result.index} ({result.kind}, {result.content_type}, {result.upload_id})"
        if not result.as_expected:
            problems.append(
                f"{label}: expected {result.expected_status}/{result.expected_code}, got "
                f"{result.status}/{result.error_code}"
                + (f" ({result.failure})" if result.failure else "")
            )
            continue
        if result.status == "done" and variant_specs:
            by_name = {variant["name"]: variant for variant in result.variants}
            if set(by_name) != expected_names:
                problems.append(f"{label}: variants {sorted(by_name)} != {sorted(expected_names)}")
                continue
            for spec in variant_specs:
                expected = fit(item.width or 0, item.height or 0, spec["maxEdge"])
                got = (by_name[spec["name"]]["width"], by_name[spec["name"]]["height"])
                if got != expected:
                    problems.append(f"{label}: {spec['name']} is {got}, expected {expected}")
    return problems


def fit(width: int, height: int, max_edge: int) -> tuple[int, int]:
    """The documented variant size: fit in a max_edge square, keep aspect, never upscale."""
    if max(width, height) <= max_edge:
        return width, height
    scale = max_edge / max(width, height)
    if width >= height:
        return max_edge, max(1, math.floor(height * scale + 0.5))
    return max(1, math.floor(width * scale + 0.5)), max_edge


def check_buckets(
    s3: Any,
    outputs: dict[str, Any],
    results: Sequence[UploadResult],
    planned: Sequence[PlannedUpload],
    output_keys_before: dict[str, int],
) -> tuple[list[str], dict[str, int]]:
    """Problems in the buckets: lost, extra or foreign objects, mismatched manifests."""
    problems: list[str] = []
    output_bucket = outputs["output_bucket"]
    after = list_keys(s3, output_bucket)
    new = {key: size for key, size in after.items() if key not in output_keys_before}
    expected: dict[str, int | None] = {}
    sizes_by_id = {result.upload_id: item for result, item in zip(results, planned, strict=True)}
    for result in results:
        if result.upload_id is None or result.status not in stack_access.FINAL_STATUSES:
            continue
        manifest_key = f"{result.upload_id}/manifest.json"
        expected[manifest_key] = None
        try:
            manifest = json.loads(
                s3.get_object(Bucket=output_bucket, Key=manifest_key)["Body"].read()
            )
        except Exception as error:
            problems.append(f"{manifest_key}: unreadable ({error})")
            continue
        item = sizes_by_id[result.upload_id]
        source = manifest.get("source") or {}
        if manifest.get("id") != result.upload_id or manifest.get("status") != result.status:
            problems.append(
                f"{manifest_key}: id/status {manifest.get('id')}/{manifest.get('status')}"
            )
        if source.get("bytes") != len(item.data):
            problems.append(
                f"{manifest_key}: source bytes {source.get('bytes')} != {len(item.data)}"
            )
        if result.status == "done" and (source.get("width"), source.get("height")) != (
            item.width,
            item.height,
        ):
            problems.append(
                f"{manifest_key}: source {source.get('width')}x{source.get('height')} != "
                f"{item.width}x{item.height} (another upload's result?)"
            )
        for variant in manifest.get("variants") or []:
            for stored in variant.get("sources") or []:
                expected[stored["key"]] = stored["bytes"]
    missing = sorted(set(expected) - set(new))
    extra = sorted(set(new) - set(expected))
    wrong_size = sorted(
        key
        for key, size in expected.items()
        if size is not None and key in new and new[key] != size
    )
    if missing:
        problems.append(f"{len(missing)} expected output objects missing: {missing[:10]}")
    if extra:
        problems.append(f"{len(extra)} unexpected output objects: {extra[:10]}")
    if wrong_size:
        problems.append(
            f"{len(wrong_size)} variants differ from the manifest size: {wrong_size[:10]}"
        )
    prefix = "uploads/"
    originals = list_keys(s3, outputs["upload_bucket"], prefix)
    for result, item in zip(results, planned, strict=True):
        if result.upload_id is None:
            continue
        size = originals.get(f"{prefix}{result.upload_id}")
        if size != len(item.data):
            problems.append(f"original of {result.upload_id}: {size} bytes, sent {len(item.data)}")
    summary = {"new_output_objects": len(new), "expected_output_objects": len(expected)}
    return problems, summary


# -- report -------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def latency_summary(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else None,
        "mean": round(sum(values) / len(values), 4) if values else None,
    }


def build_report(
    results: Sequence[UploadResult],
    wall_s: float,
    concurrency: int,
    problems: Sequence[str],
    bucket_summary: dict[str, Any] | None,
    retries: dict[str, int],
) -> dict[str, Any]:
    finals = [r for r in results if r.status in stack_access.FINAL_STATUSES]
    latencies = [r.latency_s for r in finals if r.latency_s is not None]
    done = [r.latency_s for r in finals if r.status == "done" and r.latency_s is not None]
    return {
        "uploads": len(results),
        "concurrency": concurrency,
        "good": sum(r.expected_status == "done" for r in results),
        "bad": sum(r.expected_status == "rejected" for r in results),
        "outcomes": dict(Counter(f"{r.status}/{r.error_code}" for r in results)),
        "as_expected": sum(r.as_expected for r in results),
        "wall_s": round(wall_s, 3),
        "throughput_per_s": round(len(finals) / wall_s, 3) if wall_s else None,
        "latency_s": latency_summary(latencies),
        "latency_done_s": latency_summary(done),
        "bytes_uploaded": sum(r.bytes for r in results),
        "api_retries": retries,
        "bucket_check": bucket_summary,
        "problems": list(problems),
        "passed": not problems,
        "results": [asdict(r) for r in results],
    }


def print_report(report: dict[str, Any]) -> None:
    def fmt(summary: dict[str, float | None]) -> str:
        return "  ".join(
            f"{name} {value:.2f}" if value is not None else f"{name} -"
            for name, value in summary.items()
            if name != "mean"
        )

    print(
        f"uploads       {report['uploads']} ({report['good']} good, {report['bad']} bad), "
        f"concurrency {report['concurrency']}"
    )
    print(
        f"outcomes      {report['as_expected']}/{report['uploads']} as expected: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["outcomes"].items()))
    )
    print(f"latency (s)   PUT end -> final status: {fmt(report['latency_s'])}")
    print(f"              done only:               {fmt(report['latency_done_s'])}")
    print(
        f"throughput    {report['throughput_per_s']} uploads/s "
        f"({report['uploads']} in {report['wall_s']:.1f} s, "
        f"{report['bytes_uploaded'] / 1e6:.1f} MB uploaded)"
    )
    bucket = report["bucket_check"]
    if bucket is None:
        print("buckets       not checked (--no-bucket-check, or no bucket names known)")
    else:
        print(
            f"buckets       {bucket['new_output_objects']} new output objects, "
            f"{bucket['expected_output_objects']} expected"
        )
    if report["api_retries"]:
        print(f"API retries   {report['api_retries']}")
    for problem in report["problems"][:40]:
        print(f"PROBLEM       {problem}")
    print(
        "RESULT        "
        + ("PASS: nothing lost, nothing duplicated" if report["passed"] else "FAIL")
    )


# -- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=200, help="uploads to make (default 200)")
    parser.add_argument("--concurrency", type=int, default=16, help="threads (default 16)")
    parser.add_argument(
        "--bad-share", type=float, default=0.1, help="share of bad files, 0..1 (default 0.1)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the mix (default 1)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds for one upload to become final"
    )
    parser.add_argument("--api-url", help="API base URL (default: from the stack's outputs)")
    parser.add_argument("--outputs-json", type=Path, help="`terraform output -json` of the stack")
    parser.add_argument("--stack-workdir", type=Path, help="python -m local.stack --workdir")
    parser.add_argument(
        "--endpoint-url", help="AWS endpoint for the bucket checks (default: the emulator's)"
    )
    parser.add_argument("--no-bucket-check", action="store_true", help="API checks only")
    parser.add_argument("--report", type=Path, help="write the report as JSON to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.count < 1 or args.concurrency < 1 or not 0 <= args.bad_share <= 1:
        parser.error("--count and --concurrency must be >= 1, --bad-share within 0..1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.api_url and not args.outputs_json:
            outputs: dict[str, Any] = {"api_url": args.api_url}
        else:
            outputs = stack_access.load_outputs(args.outputs_json, args.stack_workdir)
        api_url = args.api_url or outputs.get("api_url")
        if not api_url:
            raise stack_access.ToolError("no API URL: pass --api-url or --outputs-json")
        endpoint = args.endpoint_url or stack_access.emulator_endpoint(api_url)
        check_buckets_too = not args.no_bucket_check and {
            "output_bucket",
            "upload_bucket",
        } <= set(outputs)
        page_config = stack_access.fetch_page_config(outputs.get("web_url"))
        variant_specs = page_config.get("variants") if page_config else None

        print(f"planning {args.count} uploads (seed {args.seed})...", file=sys.stderr)
        planned = plan_uploads(args.count, args.bad_share, args.seed)
        s3 = (
            stack_access.aws_client("s3", endpoint, region=outputs.get("region"))
            if check_buckets_too
            else None
        )
        before = list_keys(s3, outputs["output_bucket"]) if s3 is not None else {}
        # Under load a 5xx is expected now and then: retried and reported (api_retries).
        client = stack_access.ApiClient(api_url, retry_server_errors=True)
        print(
            f"uploading to {api_url} with {args.concurrency} threads...",
            file=sys.stderr,
            flush=True,
        )
        results, wall = run_all(client, planned, args.concurrency, args.timeout, not args.quiet)
        problems = check_results(results, planned, variant_specs)
        if variant_specs is None and outputs.get("web_url"):
            problems.append("the page's config.json was not readable: variants not checked")
        bucket_summary = None
        if s3 is not None:
            bucket_problems, bucket_summary = check_buckets(s3, outputs, results, planned, before)
            problems += bucket_problems
    except stack_access.ToolError as error:
        print(f"load: {error}", file=sys.stderr)
        return 2
    report = build_report(
        results, wall, args.concurrency, problems, bucket_summary, client.counters.retries
    )
    print_report(report)
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
