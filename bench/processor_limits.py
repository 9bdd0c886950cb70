#!/usr/bin/env python3
"""The processor's core at the largest files the limits accept (issue 25): wall time and peak
memory of ``imaging.process_image`` with the default variants, each case in a fresh process.

    .venv/bin/python bench/processor_limits.py

Cases: a 40 MP noisy JPEG (the default ``max_pixels``, about 48 MiB: a camera's worst case),
the same padded to 100 MiB (the default ``max_upload_bytes``: the bytes are read into memory,
decoders stop at the end-of-image marker), a 40 MP PNG, and a 100 MP JPEG with ``max_pixels``
raised to 100 MP. Peak memory is the child's ``ru_maxrss`` (Python, Pillow, the file's bytes
and the decoded image). Runs on the host's CPU, not under a Lambda CPU share (bench/lambda_memory.py
models that). Inputs are made once under .local/bench/processor_limits; run it twice after
making them: ``ru_maxrss`` survives exec, so a child started right after the parent built a
large input reports the parent's peak. Writes docs/benchmarks/processor_limits.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
MIB = 1024 * 1024

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from processor import imaging
from processor.config import load_config
path, max_pixels = sys.argv[2], int(sys.argv[3])
variants = load_config({
    "OUTPUT_BUCKET": "b", "UPLOADS_TABLE": "t", "MAX_UPLOAD_BYTES": str(100 * 1024 * 1024),
    "MAX_PIXELS": str(max_pixels), "ALLOWED_FORMATS": "JPEG,PNG,WEBP,GIF,HEIF,AVIF",
    "VARIANTS": sys.argv[4],
}).variants
limits = imaging.Limits(max_pixels, ("JPEG", "PNG", "WEBP", "GIF", "HEIF", "AVIF"), 100 * 1024 * 1024)
with open(path, "rb") as handle:
    data = handle.read()  # as the handler holds the original: all of it in memory
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    timings = imaging.process_image(data, variants, limits).timings_ms
    outcome = "done"
except imaging.ImageRejected as error:  # e.g. a noise PNG beyond the byte limit
    timings, outcome = {}, f"rejected: {error.code}"
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"bytes": len(data), "outcome": outcome, "process_ms": round(elapsed * 1000),
    "timings_ms": {k: round(v) for k, v in timings.items()},
    "peak_rss_mb": round(peak / 1024), "rss_with_file_mb": round(before / 1024)}))
"""

CASES = [
    ("40 MP JPEG q95", "jpeg", 7300, 5470, 40_000_000),
    ("40 MP JPEG padded to 100 MiB", "padded", 7300, 5470, 40_000_000),
    ("40 MP PNG (16-level noise)", "png", 7300, 5470, 40_000_000),
    ("100 MP JPEG q85 (max_pixels = 100 MP)", "jpeg85", 11500, 8690, 100_000_000),
]


def make_input(kind: str, width: int, height: int) -> Path:
    """The case's file, made once (noise: the worst case for the encoders' size)."""
    import io
    import os

    from PIL import Image

    folder = REPO / ".local" / "bench" / "processor_limits"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{width}x{height}.{'png' if kind == 'png' else 'jpg'}"
    if path.exists():
        return path
    noise = os.urandom(width * height * 3)
    if kind == "png":  # full noise would not fit 100 MiB as a PNG: 16 levels per channel
        noise = bytes(value & 0xF0 for value in noise)
    image = Image.frombytes("RGB", (width, height), noise)
    buffer = io.BytesIO()
    if kind == "png":
        image.save(buffer, "PNG", compress_level=6)
    else:
        image.save(buffer, "JPEG", quality=85 if kind == "jpeg85" else 95)
    data = buffer.getvalue()
    if kind == "padded":
        data += bytes(100 * MIB - len(data))
    path.write_bytes(data)
    return path


def default_variants() -> str:
    """The root's default variants (variables.tf), as the processor's VARIANTS."""
    return json.dumps(
        [
            {"name": "large", "max_edge": 1024, "format": "jpeg", "quality": 85},
            {"name": "medium", "max_edge": 512, "format": "jpeg", "quality": 85},
            {"name": "thumb", "max_edge": 128, "format": "webp", "quality": 80},
            {"name": "large-avif", "max_edge": 1024, "format": "avif", "quality": 70},
        ]
    )


def main() -> int:
    results = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cases": {}}
    for label, kind, width, height, max_pixels in CASES:
        answer = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(REPO / "lambda_src"),
                str(make_input(kind, width, height)),
                str(max_pixels),
                default_variants(),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results["cases"][label] = json.loads(answer.stdout.strip().splitlines()[-1])
        print(f"{label}: {results['cases'][label]}", file=sys.stderr, flush=True)
    output = REPO / "docs" / "benchmarks" / "processor_limits.json"
    output.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
