#!/usr/bin/env python3
"""Where the core's time goes on PNG, GIF and WebP inputs, next to libvips's (issue 26).

    .local/venvs/bench/bin/python bench/libvips_gap.py [--rounds 9] [--smoke]

For each input (bench/inputs.py's RGBA PNG, GIF and 12 MP WebP) and the shipped default
outputs (bench/defaults.py), one process times each stage of the core (``processor.imaging``'s
own helpers: decode, mode normalisation, the first full-resolution resize, encoding) and of
libvips (decode, shrink-on-load, resize, the whole one-decode cascade of bench/worker.py), in
interleaved rounds (the order rotates each round). Times are CPU time of this process (every
thread), which a shared machine disturbs less than wall time; each stage is reported as the
median of its per-round ratios to the core's whole ``process_image`` with the spread
((max - min) / median) and as milliseconds (context only). libvips runs with one thread and no
operation cache, as in bench/run.py. Writes docs/benchmarks/libvips_gap.json (not with --smoke).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("VIPS_CONCURRENCY", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lambda_src"))

import defaults  # noqa: E402  (bench/, this script's folder)
import inputs  # noqa: E402
import worker  # noqa: E402

CLASSES = ("png_rgba", "gif", "webp_12mp")
REFERENCE = "core: process_image (shipped outputs)"


def stages(data: bytes, variants: list[dict[str, Any]]) -> dict[str, Callable[[], object]]:
    """The stages to time on one input, each a call that does only that stage's work."""
    import pyvips
    from PIL import Image

    from processor import decode_budget, imaging

    specs = [imaging.VariantSpec(**variant) for variant in variants]
    limits = imaging.Limits()

    def decode(block: int | None = None) -> Image.Image:
        image = Image.open(decode_budget.DeadlineStream(data, math.inf))
        if block is None:
            imaging.load_pixels(image, math.inf)
        else:
            decode_budget.load_within(image, math.inf, read_block=block)
        return image

    decoded = decode()
    upright = imaging.normalise_mode(decoded)
    first = imaging.target_size(*upright.size, max(spec.max_edge for spec in specs))
    resized = imaging.resize_all(upright, upright.size, specs, None, [])
    in_memory = pyvips.Image.new_from_buffer(data, "").copy_memory()
    return {
        REFERENCE: lambda: imaging.process_image(data, specs, limits),
        "core: decode": decode,
        "core: decode, 1 KiB blocks (before issue 26)": lambda: decode(
            decode_budget.DEFAULT_READ_BLOCK
        ),
        "core: normalise_mode": lambda: imaging.normalise_mode(decoded),
        "core: first resize, LANCZOS, AVIF/WebP gap 3.0 (shipped)": lambda: imaging.resize_to(
            upright, first, "avif"
        ),
        "core: first resize, LANCZOS, JPEG gap 1.45": lambda: imaging.resize_to(
            upright, first, "jpeg"
        ),
        "core: encode the shipped outputs": lambda: [
            imaging.encode(resized[spec.name], spec) for spec in specs
        ],
        "vips: decode": lambda: pyvips.Image.new_from_buffer(
            data, "", access="sequential"
        ).copy_memory(),
        "vips: first resize (lanczos3) from memory": lambda: in_memory.resize(
            first[0] / in_memory.width, kernel="lanczos3"
        ).copy_memory(),
        "vips: thumbnail_buffer (shrink-on-load decode + resize)": lambda: (
            pyvips.Image.thumbnail_buffer(
                data, first[0], height=first[0], size="down"
            ).copy_memory()
        ),
        "vips: one decode + cascade (shipped outputs)": lambda: worker.vips_cascade(data, variants),
    }


def measure(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, Any]:
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds + 1):  # round 0 warms up
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.process_time()
            cases[name]()
            elapsed = (time.process_time() - started) * 1000
            if index:
                samples[name].append(elapsed)
    result = {}
    for name, values in samples.items():
        ratios = [mine / base for mine, base in zip(values, samples[REFERENCE], strict=True)]
        middle = statistics.median(ratios)
        result[name] = {
            "cpu_ms": round(statistics.median(values), 1),
            "ratio_to_core": round(middle, 3),
            "spread": round((max(ratios) - min(ratios)) / middle, 3),
        }
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, 2 rounds, no JSON")
    args = parser.parse_args(argv)
    import pyvips

    pyvips.cache_set_max(0)
    catalogue = inputs.SMOKE_CLASSES if args.smoke else inputs.FULL_CLASSES
    classes = [spec for spec in catalogue if spec.name in CLASSES]
    edges = {"large": 256, "medium": 128, "thumb": 32} if args.smoke else None
    variants = defaults.shipped_variants(edges)
    work = REPO / ".local" / "bench" / ("smoke" if args.smoke else "full") / "inputs"
    load_start = [round(value, 2) for value in os.getloadavg()]
    results: dict[str, Any] = {}
    for spec in classes:
        data = inputs.ensure(spec, work).read_bytes()
        results[spec.name] = {
            "label": spec.label,
            "stages": measure(stages(data, variants), 2 if args.smoke else args.rounds),
        }
        print(f"libvips_gap: {spec.name} measured", file=sys.stderr, flush=True)
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "outputs": defaults.shipped_label(),
        "rounds": args.rounds,
        "method": "CPU time of one process, interleaved rounds (rotated order); ratio_to_core: "
        "median of per-round ratios to the core's process_image; spread: (max - min) / median",
        "libvips": ".".join(str(pyvips.version(i)) for i in range(3)),
        "load_average": {"start": load_start, "end": [round(v, 2) for v in os.getloadavg()]},
        "inputs": results,
    }
    for entry in results.values():
        print(f"\n{entry['label']}\n| stage | CPU ms | x core | spread |\n|---|---:|---:|---:|")
        for stage, value in entry["stages"].items():
            print(
                f"| {stage} | {value['cpu_ms']:.0f} | {value['ratio_to_core']:.2f} | "
                f"{value['spread']:.1%} |"
            )
    if not args.smoke:
        out = REPO / "docs" / "benchmarks" / "libvips_gap.json"
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
