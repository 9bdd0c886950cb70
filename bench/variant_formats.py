"""Sizes with formats: which formats the default variants get, by measurement (issue 22).

Each candidate default is a list of sizes (1024, 512, 128 px) with an ordered list of formats;
``today`` is the default before sizes had formats (large and medium JPEG q85, thumb WebP q80,
large-avif AVIF q70). For a 12 MP photo-like JPEG (bench/inputs.py) every configuration runs
through the processor's core (``imaging.process_image``, in a fresh worker process per
measurement, bench/worker.py) in interleaved rounds, its CPU time divided by ``today``'s in the same
round. Reported per configuration: the core's CPU time and that ratio (the budget), the bytes stored,
the bytes a browser fetches for one of each size (the first format of each size: what
Chromium, Firefox and Safari 16+ pick) and with only the last (fallback) format, and the worst
PSNR of any output against an exact full-resolution LANCZOS resize.

    .venv/bin/python bench/variant_formats.py [--smoke] [--rounds N]

Writes docs/benchmarks/variant_formats.json (not in --smoke) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import inputs  # bench/ is on the path as this script's folder
import run as bench_run
from PIL import Image, ImageChops, ImageStat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

QUALITY = {"jpeg": 85, "webp": 80, "avif": 70, "png": 85}  # rules.json's per-format defaults


def sizes(edges: tuple[int, int, int], formats: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Worker variants (one per size and format) of large/medium/thumb with these formats."""
    return [
        bench_run._variant(name, edge, fmt, QUALITY[fmt])
        for name, edge in zip(("large", "medium", "thumb"), edges, strict=True)
        for fmt in formats[name]
    ]


def configs(smoke: bool) -> dict[str, list[dict[str, Any]]]:
    edges = (256, 128, 32) if smoke else (1024, 512, 128)
    today = [
        bench_run._variant("large", edges[0], "jpeg", 85),
        bench_run._variant("medium", edges[1], "jpeg", 85),
        bench_run._variant("thumb", edges[2], "webp", 80),
        bench_run._variant("large-avif", edges[0], "avif", 70),
    ]
    return {
        "today": today,
        "avif+jpeg, thumb webp+jpeg": sizes(
            edges,
            {"large": ["avif", "jpeg"], "medium": ["avif", "jpeg"], "thumb": ["webp", "jpeg"]},
        ),
        "avif+jpeg everywhere": sizes(
            edges, {key: ["avif", "jpeg"] for key in ("large", "medium", "thumb")}
        ),
        "avif+webp+jpeg everywhere": sizes(
            edges, {key: ["avif", "webp", "jpeg"] for key in ("large", "medium", "thumb")}
        ),
        "webp+jpeg everywhere": sizes(
            edges, {key: ["webp", "jpeg"] for key in ("large", "medium", "thumb")}
        ),
    }


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(value * value for value in ImageStat.Stat(diff).rms) / 3
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


def psnrs(path: Path, variants: list[dict[str, Any]]) -> dict[str, float]:
    """PSNR (dB) of every output against the exact LANCZOS resize of the decoded source, keyed
    ``<size>.<format>``."""
    sys.path.insert(0, str(REPO / "lambda_src"))
    from processor import imaging

    data = path.read_bytes()
    specs = [
        imaging.VariantSpec(v["name"], v["max_edge"], v["format"], v["quality"], v["webp_method"])
        for v in variants
    ]
    processed = imaging.process_image(data, specs, imaging.Limits())
    source = Image.open(io.BytesIO(data)).convert("RGB")
    found = {}
    for output in processed.variants:
        exact = source.resize((output.width, output.height), Image.Resampling.LANCZOS)
        found[f"{output.name}.{output.format}"] = round(
            psnr(Image.open(io.BytesIO(output.data)), exact), 2
        )
    return found


def first_formats(variants: list[dict[str, Any]]) -> list[str]:
    """``<size>.<format>`` of each size's first format (what a modern browser fetches)."""
    seen: dict[str, str] = {}
    for v in variants:
        seen.setdefault(v["name"], f"{v['name']}.{v['format']}")
    return list(seen.values())


def fetched_bytes(variants: list[dict[str, Any]], outputs: list[dict[str, Any]], pick: str) -> int:
    """Bytes of one output per size: its first format (``first``) or its last (``last``)."""
    chosen: dict[str, int] = {}
    for variant, output in zip(variants, outputs, strict=True):
        name = variant["name"]
        if pick == "last" or name not in chosen:
            chosen[name] = output["bytes"]
    return sum(chosen.values())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny input, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=REPO / ".local" / "bench-variant-formats")
    args = parser.parse_args(argv)
    size = (400, 300) if args.smoke else (4000, 3000)
    spec = inputs.InputClass("photo", "JPEG 12 MP", "JPEG", size[0], size[1], 11)
    path = inputs.ensure(spec, args.work_dir)
    rounds = 1 if args.smoke else args.rounds
    iterations = 1 if args.smoke else 3
    measured = configs(args.smoke)
    reports: dict[str, list[dict[str, Any]]] = {name: [] for name in measured}
    started = time.monotonic()
    for round_index in range(rounds):
        for name in bench_run.rotated(list(measured), round_index):
            reports[name].append(
                bench_run.run_worker(
                    {
                        "strategy": "core",
                        "input": str(path),
                        "variants": measured[name],
                        "warmup": 1,
                        "iterations": iterations,
                    }
                )
            )
    # CPU time of the timed calls: this 2-core machine is shared, and wall time under another
    # process's load says more about the neighbours than about the encoders.
    today_ms = [statistics.median(r["cpu_ms"]) for r in reports["today"]]
    today_wall = [statistics.median(r["wall_ms"]) for r in reports["today"]]
    rows = []
    for name, variants in measured.items():
        ms = [statistics.median(r["cpu_ms"]) for r in reports[name]]
        outputs = reports[name][-1]["outputs"]
        rows.append(
            {
                "config": name,
                "outputs": len(variants),
                "ms": round(statistics.median(ms), 1),
                "ratio_to_today": round(
                    statistics.median(m / t for m, t in zip(ms, today_ms, strict=True)), 2
                ),
                "wall_ratio_to_today": round(
                    statistics.median(
                        statistics.median(r["wall_ms"]) / t
                        for r, t in zip(reports[name], today_wall, strict=True)
                    ),
                    2,
                ),
                "encode_ms": round(
                    statistics.median(
                        r.get("stages_ms", {}).get("encode", 0.0) for r in reports[name]
                    ),
                    1,
                ),
                "stored_kb": round(sum(o["bytes"] for o in outputs) / 1024, 1),
                "fetched_first_kb": round(fetched_bytes(variants, outputs, "first") / 1024, 1),
                "fetched_fallback_kb": round(fetched_bytes(variants, outputs, "last") / 1024, 1),
                "psnr_db": (scores := psnrs(path, variants)),
                "fetched_psnr_db": {key: scores[key] for key in first_formats(variants)},
            }
        )
    print(
        "| configuration | outputs | core CPU ms | x today (CPU) | x today (wall) | encode ms | stored KB | "
        "a modern browser fetches KB | fallback only KB | PSNR dB of what it fetches |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['config']} | {row['outputs']} | {row['ms']:.0f} | {row['ratio_to_today']:.2f} | "
            f"{row['wall_ratio_to_today']:.2f} | "
            f"{row['encode_ms']:.0f} | {row['stored_kb']} | {row['fetched_first_kb']} | "
            f"{row['fetched_fallback_kb']} | "
            + ", ".join(f"{k} {v}" for k, v in row["fetched_psnr_db"].items())
            + " |"
        )
    print(
        f"({rounds} rounds, {time.monotonic() - started:.0f} s; input {path.stat().st_size // 1024} KB)"
    )
    if not args.smoke:
        out = REPO / "docs" / "benchmarks" / "variant_formats.json"
        out.write_text(
            json.dumps({"versions": bench_run.versions(), "rows": rows}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
