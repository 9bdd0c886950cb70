"""HEIC and AVIF inputs, AVIF outputs and the placeholder's cost, by bench/run.py's method.

Each measurement is a fresh worker process (bench/worker.py: 1 warm-up call, then timed
calls), strategies interleaved in a rotated order each round, times divided by naive Pillow's
in the same round (naive opens HEIC through pi-heif, as the core does). libvips (pyvips-binary)
is measured where it can read the input: its libheif has AV1 (AVIF) but no HEVC decoder, so
HEIC has no libvips column. The placeholder's cost is the core's ``placeholder`` stage.
Inputs are generated and cached: the phone-bitrate HEIC of bench/inputs.py (``PHONE_HEIC``:
4032x3024 at pillow-heif q50, about 1.8 MB, 1.2 bits per pixel, like a phone's; until issue 26 it
was an 8 MB q90 file whose decode dominated everything) and a 12 MP photo-like image as AVIF q80
speed 6.

    .local/venvs/bench/bin/python bench/formats.py [--smoke] [--rounds N]

Writes docs/benchmarks/formats.json (not in --smoke) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import defaults  # bench/ is on the path as this script's folder
import inputs
import pillow_heif
import run as bench_run
from PIL import Image

pillow_heif.register_heif_opener()

HERE = Path(__file__).resolve().parent

REPO = HERE.parent


def build(fmt: str, size: tuple[int, int], folder: Path, smoke: bool) -> Path:
    if fmt == "HEIC":  # the phone-bitrate HEIC, 4032x3024 (smoke: the same recipe at `size`)
        spec = inputs.PHONE_HEIC
        if smoke:
            spec = inputs.InputClass(spec.name, "HEIC (smoke)", "HEIC", *size, spec.seed)
        return inputs.ensure(spec, folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"photo-{size[0]}x{size[1]}.{fmt.lower()}"
    if path.exists():
        return path
    image = inputs.photo(size, 11)
    buffer = io.BytesIO()
    image.save(buffer, "AVIF", quality=80, speed=6)
    path.write_bytes(buffer.getvalue())
    return path


def configs(smoke: bool) -> dict[str, list[dict[str, Any]]]:
    edges = (256, 128, 32) if smoke else (1024, 512, 128)
    variant = bench_run._variant
    return {
        # the shipped default variants (rules.json through bench/defaults.py)
        "project": defaults.shipped_variants(
            dict(zip(("large", "medium", "thumb"), edges, strict=True))
        ),
        "avif": [
            variant(n, e, "avif", 70)
            for n, e in zip(("large", "medium", "thumb"), edges, strict=True)
        ],
        "jpeg": [
            variant(n, e, "jpeg", 85)
            for n, e in zip(("large", "medium", "thumb"), edges, strict=True)
        ],
    }


def vips_reads(python: str, path: Path) -> bool:
    import subprocess

    code = f"import pyvips; pyvips.Image.new_from_file({str(path)!r}).avg()"
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=REPO / ".local" / "bench-formats")
    args = parser.parse_args(argv)
    size = (400, 300) if args.smoke else (4000, 3000)
    rounds = 1 if args.smoke else args.rounds
    iterations = 1 if args.smoke else 2
    files = {
        fmt: build(fmt, size, args.work_dir / "inputs", args.smoke) for fmt in ("HEIC", "AVIF")
    }
    sizes = {fmt: Image.open(path).size for fmt, path in files.items()}
    has_vips = bench_run.pyvips_status(sys.executable) is None
    runs: dict[str, dict[str, dict[str, list[dict]]]] = {}
    started = time.monotonic()
    for round_index in range(rounds):
        for fmt, path in files.items():
            strategies = ["naive", "core"]
            if has_vips and vips_reads(sys.executable, path):
                strategies.append("vips_cascade")
            for config_index, (config, variants) in enumerate(configs(args.smoke).items()):
                for strategy in bench_run.rotated(strategies, round_index + config_index):
                    report = bench_run.run_worker(
                        {
                            "strategy": strategy,
                            "input": str(path),
                            "variants": variants,
                            "warmup": 1,
                            "iterations": iterations,
                        }
                    )
                    runs.setdefault(fmt, {}).setdefault(config, {}).setdefault(strategy, []).append(
                        report
                    )
    rows = []
    for fmt, by_config in runs.items():
        for config, by_strategy in by_config.items():
            naive = [statistics.median(r["wall_ms"]) for r in by_strategy["naive"]]
            for strategy, reports in by_strategy.items():
                ms = [statistics.median(r["wall_ms"]) for r in reports]
                stages = [r.get("stages_ms", {}) for r in reports]
                rows.append(
                    {
                        "input": f"{fmt} {sizes[fmt][0]}x{sizes[fmt][1]}",
                        "input_bytes": files[fmt].stat().st_size,
                        "outputs": config,
                        "strategy": strategy,
                        "ms": round(statistics.median(ms), 1),
                        "ratio": round(
                            statistics.median(m / n for m, n in zip(ms, naive, strict=True)), 2
                        ),
                        "rss_mb": round(
                            max(r["rss_peak_kb"] - r["rss_baseline_kb"] for r in reports) / 1024, 1
                        ),
                        "kb": round(sum(o["bytes"] for o in reports[-1]["outputs"]) / 1024, 1),
                        "placeholder_ms": round(
                            statistics.median(s.get("placeholder", 0.0) for s in stages), 2
                        )
                        if strategy == "core"
                        else None,
                        "decode_ms": round(
                            statistics.median(s.get("decode", 0.0) for s in stages), 1
                        )
                        if strategy == "core"
                        else None,
                    }
                )
    print(
        "| input | outputs | strategy | ms | ratio to naive | RSS MB | KB | core decode ms | placeholder ms |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        extra = (
            f"{row['decode_ms']} | {row['placeholder_ms']}"
            if row["strategy"] == "core"
            else "- | -"
        )
        print(
            f"| {row['input']} ({row['input_bytes'] // 1024} KB) | {row['outputs']} | "
            f"{row['strategy']} | {row['ms']:.0f} | {row['ratio']:.2f} | {row['rss_mb']} | "
            f"{row['kb']} | {extra} |"
        )
    print(f"({rounds} rounds, {time.monotonic() - started:.0f} s)")
    if not args.smoke:
        out = REPO / "docs" / "benchmarks" / "formats.json"
        out.write_text(
            json.dumps({"versions": bench_run.versions(), "rows": rows}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
