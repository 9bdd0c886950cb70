#!/usr/bin/env python3
"""Animated inputs (issue 24): time, peak memory and bytes of the processor's streaming core
against naive Pillow (every frame in memory) and libvips (``n=-1``), plus AVIF speed settings
for sequences. A benchmark, not a test: ``docs/benchmarks.md`` ("Animations") has the results.

    PY=$(bash bench/setup.sh)   # or BENCH_VENV=/some/dir bash bench/setup.sh
    $PY bench/animation.py [--rounds 2] [--frames 150] [--out docs/benchmarks/animation.json]

Every measurement is a fresh process (``--worker``): it imports what its strategy needs, reads
the input, takes ``VmHWM`` as its idle baseline, runs the strategy once and reports wall and
CPU time, ``VmHWM`` minus the baseline (the peak the work added) and the output bytes. Rounds
interleave the strategies in a rotated order. Inputs (generated, seeded, cached in
``.local/bench-inputs``): a ``--frames`` x 640x480 animation of soft moving shapes over a
drifting gradient, as a 256-colour GIF, a lossy animated WebP (q80) and an APNG, 40 ms a frame.

Outputs: the project's default variants (rules.json ``default_variants``), every size in each
of its formats (settings resolved by ``common.contract``): large 1024 and medium 512 as AVIF q70 (animated)
and JPEG q85 (first frame), thumb 128 as WebP q80 (animated) and JPEG q85 (a 640x480 source is
never upscaled). Output bytes are keyed ``<size>/<format>``.

Strategies:

* ``core``: ``imaging.process_image`` (what the Lambda runs: frames streamed one at a time).
* ``naive``: Pillow, every frame decoded into a list first (``ImageSequence``, RGBA copies),
  then each variant resized frame by frame into a second list and ``save_all``-ed.
* ``vips``: pyvips, ``thumbnail_buffer(..., option_string="n=-1")`` per variant (all pages,
  libvips' way to load an animation), ``webpsave``/``heifsave`` (AV1); stills from page 0.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".local" / "bench-inputs"
SIZE = (640, 480)
DURATION_MS = 40
STRATEGIES = ("core", "naive", "vips")
CLASSES = ("gif", "webp", "apng")
AVIF_SPEEDS = (6, 8, 9, 10)


# -- inputs ----------------------------------------------------------------------------------


def frames(count: int) -> Any:
    """``count`` RGB frames of 640x480: a drifting gradient with moving soft discs."""
    from PIL import Image, ImageDraw, ImageFilter

    width, height = SIZE
    gradient = Image.linear_gradient("L").resize((width * 2, height))
    for index in range(count):
        shift = (index * 7) % width
        red = gradient.crop((shift, 0, shift + width, height))
        base = Image.merge("RGB", (red, red.transpose(Image.Transpose.FLIP_LEFT_RIGHT), red))
        draw = ImageDraw.Draw(base)
        for disc in range(6):
            x = (disc * 113 + index * (3 + disc)) % width
            y = (disc * 71 + index * (2 + disc % 3)) % height
            colour = ((disc * 40) % 256, (disc * 90 + index) % 256, (200 - disc * 30) % 256)
            draw.ellipse((x - 40, y - 40, x + 40, y + 40), fill=colour)
        yield base.filter(ImageFilter.GaussianBlur(1.5))


def make_input(kind: str, count: int) -> Path:
    path = CACHE / f"anim_{count}x640x480.{kind}"
    if path.exists():
        return path
    from PIL import Image

    CACHE.mkdir(parents=True, exist_ok=True)
    made = list(frames(count))
    buffer = io.BytesIO()
    common = {"save_all": True, "append_images": made[1:], "duration": DURATION_MS, "loop": 0}
    if kind == "gif":
        palette = [frame.quantize(256, Image.Quantize.FASTOCTREE) for frame in made]
        palette[0].save(buffer, "GIF", **{**common, "append_images": palette[1:]})
    elif kind == "webp":
        made[0].save(buffer, "WEBP", quality=80, method=4, **common)
    else:
        made[0].save(buffer, "PNG", **common)
    path.write_bytes(buffer.getvalue())
    return path


# -- the worker --------------------------------------------------------------------------------


def vmhwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def outputs() -> list[dict[str, Any]]:
    """Every output of the shipped default sizes (a size in one format), its settings resolved by the
    contract as the processor resolves them: ``{key, max_edge, format, quality}``."""
    from common import contract

    return [
        {
            "key": f"{output.size}/{output.format}",
            "max_edge": output.max_edge,
            "format": output.format,
            "quality": output.rule.quality,
        }
        for output in contract.output_rules(contract.default_sizes())
    ]


def run_core(data: bytes, avif_speed: int | None) -> dict[str, int]:
    from dataclasses import replace

    from common import contract
    from processor import config, imaging

    specs = [
        config.variant_spec(output) for output in contract.output_rules(contract.default_sizes())
    ]
    if avif_speed is not None:
        specs = [replace(s, avif_speed=avif_speed) if s.format == "avif" else s for s in specs]
    result = imaging.process_image(data, specs, imaging.Limits(max_bytes=None))
    return {f"{variant.name}/{variant.format}": variant.size for variant in result.variants}


def run_naive(data: bytes, avif_speed: int | None) -> dict[str, int]:
    from PIL import Image, ImageSequence

    source = Image.open(io.BytesIO(data))
    durations = []
    decoded = []
    for frame in ImageSequence.Iterator(source):
        decoded.append(frame.convert("RGBA"))
        durations.append(round(frame.info.get("duration") or DURATION_MS))
    sizes = {}
    for variant in outputs():
        scale = min(1.0, variant["max_edge"] / max(source.size))
        size = (round(source.width * scale), round(source.height * scale))
        buffer = io.BytesIO()
        if variant["format"] == "jpeg":
            decoded[0].convert("RGB").resize(size, Image.Resampling.LANCZOS).save(
                buffer, "JPEG", quality=variant["quality"]
            )
        else:
            resized = [frame.resize(size, Image.Resampling.LANCZOS) for frame in decoded]
            options: dict[str, Any] = {"quality": variant["quality"]}
            if variant["format"] == "avif":
                options.update(speed=avif_speed or 9, max_threads=1)
            resized[0].save(
                buffer,
                variant["format"].upper(),
                save_all=True,
                append_images=resized[1:],
                duration=durations,
                loop=0,
                **options,
            )
        sizes[variant["key"]] = len(buffer.getvalue())
    return sizes


def run_vips(data: bytes, avif_speed: int | None) -> dict[str, int]:
    import pyvips

    sizes = {}
    for variant in outputs():
        edge = variant["max_edge"]
        if variant["format"] == "jpeg":
            image = pyvips.Image.thumbnail_buffer(data, edge, size="down")
            out = image.jpegsave_buffer(Q=variant["quality"], strip=True)
        else:
            image = pyvips.Image.thumbnail_buffer(data, edge, size="down", option_string="n=-1")
            if variant["format"] == "webp":
                out = image.webpsave_buffer(Q=variant["quality"], effort=4, strip=True)
            else:
                effort = 9 - (avif_speed or 9)  # libvips' effort 0 (fast) .. 9 = aom speed 9 .. 0
                out = image.heifsave_buffer(
                    Q=variant["quality"], compression="av1", effort=max(0, effort), strip=True
                )
        sizes[variant["key"]] = len(out)
    return sizes


RUNNERS = {"core": run_core, "naive": run_naive, "vips": run_vips}


def worker(strategy: str, path: str, avif_speed: int | None) -> None:
    sys.path.insert(0, str(REPO / "lambda_src"))
    if strategy == "vips":
        os.environ.setdefault("VIPS_CONCURRENCY", "1")
        import pyvips

        pyvips.cache_set_max(0)
    else:
        from PIL import Image  # noqa: F401

        if strategy == "core":
            from processor import imaging  # noqa: F401
    data = Path(path).read_bytes()
    baseline = vmhwm_kb()
    started, cpu = time.perf_counter(), time.process_time()
    sizes = RUNNERS[strategy](data, avif_speed)
    result = {
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "cpu_ms": round((time.process_time() - cpu) * 1000, 1),
        "peak_mb": round((vmhwm_kb() - baseline) / 1024, 1),
        "process_peak_mb": round(vmhwm_kb() / 1024, 1),
        "bytes": sizes,
    }
    print(json.dumps(result))


# -- the orchestrator --------------------------------------------------------------------------


def measure(strategy: str, path: Path, avif_speed: int | None = None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", strategy, str(path)]
    if avif_speed is not None:
        command += ["--avif-speed", str(avif_speed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2)
    parser.add_argument("--avif-speed", type=int)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks" / "animation.json"))
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.avif_speed)
        return
    inputs = {kind: make_input(kind, args.frames) for kind in CLASSES}
    rows: dict[str, list[dict[str, Any]]] = {}
    for round_ in range(args.rounds):
        for kind, path in inputs.items():
            order = STRATEGIES[round_ % 3 :] + STRATEGIES[: round_ % 3]
            for strategy in order:
                rows.setdefault(f"{kind}/{strategy}", []).append(measure(strategy, path))
                print(kind, strategy, rows[f"{kind}/{strategy}"][-1], file=sys.stderr)
        for speed in AVIF_SPEEDS:
            key = f"gif/core/avif_speed_{speed}"
            rows.setdefault(key, []).append(measure("core", inputs["gif"], speed))
            print(key, rows[key][-1], file=sys.stderr)
    summary = {
        "frames": args.frames,
        "size": SIZE,
        "inputs_bytes": {kind: path.stat().st_size for kind, path in inputs.items()},
        "rounds": args.rounds,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": {key: summarise(values) for key, values in rows.items()},
    }
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


def summarise(values: list[dict[str, Any]]) -> dict[str, Any]:
    good = [value for value in values if "error" not in value]
    if not good:
        return {"error": values[-1].get("error")}
    return {
        "ms": statistics.median(value["ms"] for value in good),
        "cpu_ms": statistics.median(value["cpu_ms"] for value in good),
        "peak_mb": max(value["peak_mb"] for value in good),
        "process_peak_mb": max(value["process_peak_mb"] for value in good),
        "bytes": good[-1]["bytes"],
    }


if __name__ == "__main__":
    main()
