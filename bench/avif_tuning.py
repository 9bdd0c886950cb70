"""AVIF encoder speed and quality for the processor (imaging.AVIF_SPEED), by measurement.

For each input, the exact LANCZOS resize to 1024 and 512 px is encoded as JPEG q85 (4:2:0,
the project's default), WebP q80 method 4 and AVIF at several speeds and qualities (libaom
through Pillow, one thread, 4:2:0). Reported per encoding: bytes, encode time (median of 3 in
this process), PSNR and SSIM (luma, 8x8 windows) against the exact resize. Results go to
docs/benchmarks/avif_tuning.json and a table on stdout (docs/formats.md quotes it).

    .local/venvs/bench/bin/python bench/avif_tuning.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

import inputs  # bench/ is on the path as this script's folder
import numpy as np
import quality
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

SPEEDS = (4, 6, 8, 9, 10)
QUALITIES = (50, 60, 70, 80)


def ssim(first: Image.Image, second: Image.Image) -> float:
    """Mean SSIM of the luma of two images over 8x8 windows (Wang et al. 2004 constants)."""
    a = np.asarray(first.convert("L"), dtype=np.float64)
    b = np.asarray(second.convert("L"), dtype=np.float64)
    height, width = (a.shape[0] // 8) * 8, (a.shape[1] // 8) * 8
    a = a[:height, :width].reshape(height // 8, 8, width // 8, 8).swapaxes(1, 2)
    b = b[:height, :width].reshape(height // 8, 8, width // 8, 8).swapaxes(1, 2)
    mean_a, mean_b = a.mean(axis=(2, 3)), b.mean(axis=(2, 3))
    var_a, var_b = a.var(axis=(2, 3)), b.var(axis=(2, 3))
    cov = ((a - mean_a[..., None, None]) * (b - mean_b[..., None, None])).mean(axis=(2, 3))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    value = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(value.mean())


def encode(image: Image.Image, fmt: str, **params: object) -> tuple[bytes, float]:
    times = []
    data = b""
    for _ in range(3):
        buffer = io.BytesIO()
        started = time.perf_counter()
        image.save(buffer, fmt, **params)
        times.append((time.perf_counter() - started) * 1000)
        data = buffer.getvalue()
    return data, statistics.median(times)


def measure(name: str, source: Image.Image, edge: int, speeds, qualities) -> list[dict]:
    scale = edge / max(source.size)
    size = (round(source.width * scale), round(source.height * scale))
    reference = source.resize(size, Image.Resampling.LANCZOS)
    candidates = [("jpeg", {"quality": 85, "subsampling": "4:2:0"}, "JPEG")]
    candidates.append(("webp", {"quality": 80, "method": 4}, "WEBP"))
    for speed in speeds:
        for q in qualities:
            candidates.append(
                ("avif", {"quality": q, "speed": speed, "subsampling": "4:2:0", "max_threads": 1},
                 "AVIF")
            )  # fmt: skip
    rows = []
    for label, params, fmt in candidates:
        data, ms = encode(reference, fmt, **params)
        decoded = Image.open(io.BytesIO(data)).convert("RGB")
        rows.append(
            {
                "input": name,
                "edge": edge,
                "format": label,
                "params": {k: v for k, v in params.items() if k != "max_threads"},
                "bytes": len(data),
                "encode_ms": round(ms, 1),
                "psnr": round(quality.psnr(reference, decoded), 2),
                "ssim": round(ssim(reference, decoded), 4),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one input, speeds 6 and 8 only")
    args = parser.parse_args()
    sources = {"photo-like 12 MP": inputs.photo((4000, 3000), 1)}
    corpus = REPO / "tests" / "support" / "corpus" / "kimono.avif"
    if corpus.exists() and not args.quick:
        sources["kimono (corpus photo)"] = Image.open(corpus).convert("RGB")
    speeds = (6, 8) if args.quick else SPEEDS
    rows = []
    for name, source in sources.items():
        for edge in (1024, 512):
            rows += measure(name, source, edge, speeds, QUALITIES)
    out = REPO / "docs" / "benchmarks" / "avif_tuning.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"pillow": Image.__version__, "rows": rows}, indent=1) + "\n")
    print("| input | edge | format | params | KB | encode ms | PSNR dB | SSIM |")
    print("|---|---:|---|---|---:|---:|---:|---:|")
    for row in rows:
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items() if k != "subsampling")
        print(
            f"| {row['input']} | {row['edge']} | {row['format']} | {params} | "
            f"{row['bytes'] / 1024:.1f} | {row['encode_ms']:.0f} | {row['psnr']:.2f} | "
            f"{row['ssim']:.4f} |"
        )


if __name__ == "__main__":
    main()
