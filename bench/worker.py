"""One measurement in a fresh process: ``python bench/worker.py '<json job>'``.

The job names a strategy, an input file and the variants to produce. The worker imports what
the strategy needs, reads the input, records ``ru_maxrss`` (the idle baseline: interpreter,
modules, input bytes; ``VmHWM``, see :func:`_maxrss_kb`), runs the strategy ``warmup`` times untimed and ``iterations`` times
timed, and prints one JSON object: wall and CPU milliseconds of every timed call, the peak
resident set of the process, the outputs' sizes and, when asked, writes the outputs of the
last call to ``dump_dir`` for the quality check.

Strategies (all produce every variant, encoded, with no metadata):

* ``naive``: ``Image.open``, ``copy().thumbnail()`` per variant, save (no EXIF rotation).
* ``core``: the processor's ``imaging.process_image`` (the code that runs in the Lambda).
* ``vips_thumbnail``: ``pyvips.Image.thumbnail_buffer`` once per variant (a decode each).
* ``vips_cascade``: one ``thumbnail_buffer`` (shrink-on-load) for the largest variant, then
  each smaller one from the previous in memory (``thumbnail_image``).
* ``floor``: the JPEG decode at the DCT scale the core chooses (``draft``) plus encoding the
  outputs (crops of the right sizes): no resize, no rotation, no colour work. Non-JPEG inputs
  have no scaled decode in Pillow, so there it is a full decode plus encoding.
* ``encoders``: not a pipeline; times encoder settings on the three resized images (see
  :data:`ENCODER_SETTINGS`).
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AVIF_SPEED = 9  # imaging.AVIF_SPEED: a job entry without ``avif_speed`` (pyvips workers skip PIL)

# Settings compared by the ``encoders`` job: (key, format, Pillow save parameters).
ENCODER_SETTINGS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("jpeg_q85", "jpeg", {"quality": 85, "subsampling": "4:2:0"}),
    ("jpeg_q85_444", "jpeg", {"quality": 85, "subsampling": "4:4:4"}),
    ("jpeg_q85_optimize", "jpeg", {"quality": 85, "subsampling": "4:2:0", "optimize": True}),
    ("jpeg_q85_progressive", "jpeg", {"quality": 85, "subsampling": "4:2:0", "progressive": True}),
    *((f"webp_q80_m{method}", "webp", {"quality": 80, "method": method}) for method in range(7)),
)


def _maxrss_kb() -> int:
    """Peak resident set of this process's address space, in KiB.

    ``VmHWM`` rather than ``getrusage().ru_maxrss``: on Linux, ``ru_maxrss`` survives
    ``execve`` and so starts at the spawning parent's high-water mark (the orchestrator's,
    hundreds of MB), while ``VmHWM`` belongs to the fresh address space the worker runs in.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process
    return usage.ru_utime + usage.ru_stime


# --- Pillow strategies -------------------------------------------------------------------------


def _pillow_save(image: Any, variant: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    if variant["format"] == "jpeg":
        image.save(buffer, "JPEG", quality=variant["quality"])
    elif variant["format"] == "webp":
        image.save(buffer, "WEBP", quality=variant["quality"], method=variant["webp_method"])
    elif variant["format"] == "avif":  # Pillow's defaults except the job's quality and speed
        image.save(
            buffer,
            "AVIF",
            quality=variant["quality"],
            speed=variant.get("avif_speed", AVIF_SPEED),
            max_threads=1,
        )
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()


def naive(data: bytes, variants: list[dict[str, Any]]) -> list[tuple[dict, int, int, bytes]]:
    from PIL import Image

    source = Image.open(io.BytesIO(data))
    outputs = []
    for variant in variants:
        copy = source.copy()
        copy.thumbnail((variant["max_edge"], variant["max_edge"]))
        if variant["format"] == "jpeg" and copy.mode not in ("RGB", "L"):
            copy = copy.convert("RGB")
        elif variant["format"] == "avif" and copy.mode not in ("RGB", "RGBA"):
            copy = copy.convert("RGBA" if copy.has_transparency_data else "RGB")
        outputs.append((variant, copy.width, copy.height, _pillow_save(copy, variant)))
    return outputs


def _specs(variants: list[dict[str, Any]]) -> list[Any]:
    """The core's specs: a job entry has VariantSpec's fields (bench/defaults.py)."""
    from processor import imaging

    return [imaging.VariantSpec(**variant) for variant in variants]


def core(data: bytes, variants: list[dict[str, Any]], stages: list[dict]) -> list:
    from processor import imaging

    processed = imaging.process_image(data, _specs(variants), imaging.Limits())
    stages.append(dict(processed.timings_ms))
    return [
        (variant, encoded.width, encoded.height, encoded.data)
        for variant, encoded in zip(variants, processed.variants, strict=True)
    ]


def floor(data: bytes, variants: list[dict[str, Any]]) -> list:
    from PIL import Image

    from processor import imaging

    specs = _specs(variants)
    image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        imaging.draft_for_largest_variant(image, specs, 1)
    image.load()
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    outputs = []
    for variant, spec in zip(variants, specs, strict=True):
        width, height = imaging.target_size(image.width, image.height, spec.max_edge)
        encoded = imaging.encode(image.crop((0, 0, width, height)), spec)
        outputs.append((variant, width, height, encoded.data))
    return outputs


# --- libvips strategies ------------------------------------------------------------------------


def _vips_save(image: Any, variant: dict[str, Any]) -> bytes:
    if variant["format"] == "jpeg":
        if image.hasalpha():
            image = image.flatten(background=[255] * (image.bands - 1))
        return image.jpegsave_buffer(
            Q=variant["quality"],
            optimize_coding=False,
            interlace=False,
            subsample_mode="on",
            keep="none",
        )
    if variant["format"] == "webp":
        return image.webpsave_buffer(
            Q=variant["quality"], effort=variant["webp_method"], keep="none"
        )
    if variant["format"] == "avif":  # libheif's AV1 encoder (aom) in libvips, one thread
        return image.heifsave_buffer(
            Q=variant["quality"],
            compression="av1",
            effort=_vips_effort(variant.get("avif_speed", AVIF_SPEED)),
            subsample_mode="on",
            keep="none",
        )
    return image.pngsave_buffer(keep="none")


def vips_thumbnail(data: bytes, variants: list[dict[str, Any]]) -> list:
    import pyvips

    outputs = []
    for variant in variants:
        edge = variant["max_edge"]
        image = pyvips.Image.thumbnail_buffer(data, edge, height=edge, size="down")
        outputs.append((variant, image.width, image.height, _vips_save(image, variant)))
    return outputs


def _vips_effort(avif_speed: int) -> int:
    """libvips's heifsave effort (0 fastest to 9) for a libaom speed (Pillow's 0 to 10)."""
    return max(0, min(9, 9 - avif_speed))


def vips_cascade(data: bytes, variants: list[dict[str, Any]]) -> list:
    """One decode, then each size from the previous; a size's formats share its pixels."""
    import pyvips

    sizes = sorted({v["name"]: v["max_edge"] for v in variants}.items(), key=lambda item: -item[1])
    pixels = {}
    current = None
    for name, edge in sizes:
        if current is None:
            current = pyvips.Image.thumbnail_buffer(data, edge, height=edge, size="down")
        else:
            current = current.thumbnail_image(edge, height=edge, size="down")
        current = current.copy_memory()  # the next step starts from these pixels, not the file
        pixels[name] = current
    return [
        (
            variant,
            pixels[variant["name"]].width,
            pixels[variant["name"]].height,
            _vips_save(pixels[variant["name"]], variant),
        )
        for variant in variants
    ]


# --- encoder settings --------------------------------------------------------------------------


def encoders(data: bytes, variants: list[dict[str, Any]], iterations: int) -> dict[str, Any]:
    """Time each encoder setting on the core's resized images, interleaved, ``iterations`` times."""
    from PIL import Image
    from quality import psnr

    from processor import imaging

    specs = _specs(variants)
    image = Image.open(io.BytesIO(data))
    stored_size = image.size
    imaging.draft_for_largest_variant(image, specs, 1)
    image.load()
    resized = imaging.resize_all(imaging.normalise_mode(image), stored_size, specs, None, [])
    images = [imaging._flatten_alpha(resized[spec.name]) for spec in specs]
    times: dict[str, list[float]] = {key: [] for key, _, _ in ENCODER_SETTINGS}
    results: dict[str, dict[str, Any]] = {}
    for round_index in range(iterations + 1):  # the first pass is the warm-up
        for key, fmt, params in ENCODER_SETTINGS:
            started = time.perf_counter()
            blobs = []
            for picture in images:
                buffer = io.BytesIO()
                picture.save(buffer, fmt.upper(), **params)
                blobs.append(buffer.getvalue())
            elapsed = (time.perf_counter() - started) * 1000.0
            if round_index:
                times[key].append(elapsed)
            elif key not in results:
                decoded = [
                    Image.open(io.BytesIO(blob)).convert(pic.mode)
                    for blob, pic in zip(blobs, images, strict=True)
                ]
                results[key] = {
                    "format": fmt,
                    "params": params,
                    "bytes": sum(len(blob) for blob in blobs),
                    "psnr_db": [
                        round(psnr(pic, dec), 3) for pic, dec in zip(images, decoded, strict=True)
                    ],
                }
    for key, entry in results.items():
        entry["ms"] = round(statistics.median(times[key]), 3)
    return {"settings": results, "sizes": [list(picture.size) for picture in images]}


STRATEGIES = {
    "naive": naive,
    "core": core,
    "vips_thumbnail": vips_thumbnail,
    "vips_cascade": vips_cascade,
    "floor": floor,
}
NEEDS_PYVIPS = {"vips_thumbnail", "vips_cascade"}


def run(job: dict[str, Any]) -> dict[str, Any]:
    strategy = job["strategy"]
    if strategy in NEEDS_PYVIPS:
        import pyvips

        pyvips.cache_set_max(0)  # the operation cache would return the previous call's result
        pyvips.version(0)
    else:
        from processor import imaging  # noqa: F401
    from PIL import Image

    Image.init()  # load every format plugin before the baseline
    data = Path(job["input"]).read_bytes()
    variants = job["variants"]
    baseline_kb = _maxrss_kb()
    if strategy == "encoders":
        report = encoders(data, variants, job["iterations"])
        report.update(rss_baseline_kb=baseline_kb, rss_peak_kb=_maxrss_kb())
        return report

    function = STRATEGIES[strategy]
    stages: list[dict] = []
    wall: list[float] = []
    cpu: list[float] = []
    outputs: list = []
    for index in range(job["warmup"] + job["iterations"]):
        started_cpu, started = _cpu_s(), time.perf_counter()
        outputs = (
            function(data, variants, stages) if strategy == "core" else function(data, variants)
        )
        elapsed, elapsed_cpu = time.perf_counter() - started, _cpu_s() - started_cpu
        if index >= job["warmup"]:
            wall.append(elapsed * 1000.0)
            cpu.append(elapsed_cpu * 1000.0)
    if job.get("dump_dir"):
        folder = Path(job["dump_dir"])
        folder.mkdir(parents=True, exist_ok=True)
        for variant, _, _, blob in outputs:
            (folder / f"{variant['name']}.{variant['format']}").write_bytes(blob)
    timed_stages = stages[job["warmup"] :]
    return {
        "wall_ms": [round(value, 3) for value in wall],
        "cpu_ms": [round(value, 3) for value in cpu],
        "rss_baseline_kb": baseline_kb,
        "rss_peak_kb": _maxrss_kb(),
        "outputs": [
            {
                "name": variant["name"],
                "format": variant["format"],
                "width": width,
                "height": height,
                "bytes": len(blob),
            }
            for variant, width, height, blob in outputs
        ],
        "stages_ms": {
            stage: round(statistics.median(entry[stage] for entry in timed_stages), 3)
            for stage in (timed_stages[0] if timed_stages else {})
        },
    }


def main() -> None:
    job = json.loads(sys.argv[1])
    try:
        report = run(job)
    except ImportError as error:
        report = {"skipped": f"{type(error).__name__}: {error}"}
    report["pid"] = os.getpid()
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
