#!/usr/bin/env python3
"""Resize benchmark: the processor's core against naive Pillow, libvips and the decode floor.

    python3 bench/run.py              # full run (~7 min): docs/benchmarks/results.json, .png, .md
    .venv/bin/python bench/run.py --smoke   # seconds, tiny inputs, one round; no docs touched

The full run first calls ``bench/setup.sh`` (the benchmark virtualenv ``.local/venvs/bench``
with pyvips, numpy and matplotlib) and re-executes itself with that interpreter. The smoke mode
runs with whatever interpreter starts it (the project's ``.venv`` in the tests) and reports the
pyvips strategies as skipped when pyvips cannot be imported.

Method: every measurement is a fresh worker process (``bench/worker.py``) doing ``--warmup``
untimed and ``--iterations`` timed calls; its value is the median of those. In each round, for
each input class and output configuration, all strategies run back to back in a rotated order
(interleaved), and each strategy's time is divided by naive Pillow's of the same round. The
reported ratio is the median of those per-round ratios; milliseconds are medians over rounds.
Peak memory is the worker's peak resident set (``VmHWM``: ``ru_maxrss`` would include the
orchestrator's, inherited across ``exec``) minus its own idle baseline taken after imports and
reading the input (both are reported). libvips runs with one thread (``VIPS_CONCURRENCY=1``,
like a Lambda with one vCPU) and its operation cache disabled.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# bench/ is on the path as this script's folder; the processor package for quality.Reference:
sys.path.insert(0, str(REPO / "lambda_src"))


STRATEGY_ORDER = ("naive", "core", "vips_thumbnail", "vips_cascade", "floor")
STRATEGY_LABELS = {
    "naive": "naive Pillow (baseline)",
    "core": "core (imaging.process_image)",
    "vips_thumbnail": "libvips thumbnail_buffer x3",
    "vips_cascade": "libvips one decode + cascade",
    "floor": "floor: scaled decode + encode only",
}
PYVIPS_STRATEGIES = ("vips_thumbnail", "vips_cascade")


def _variant(name: str, edge: int, fmt: str, quality: int, method: int = 4) -> dict[str, Any]:
    return {
        "name": name,
        "max_edge": edge,
        "format": fmt,
        "quality": quality,
        "webp_method": method,
    }


def output_configs(smoke: bool) -> dict[str, dict[str, Any]]:
    import defaults  # bench/ (this script's folder); needs Pillow: after ensure_bench_venv

    edges = (256, 128, 32) if smoke else (1024, 512, 128)
    names = ("large", "medium", "thumb")

    def three(fmt: str, quality: int, method: int = 4) -> list[dict[str, Any]]:
        return [
            _variant(name, edge, fmt, quality, method)
            for name, edge in zip(names, edges, strict=True)
        ]

    return {
        "jpeg": {"label": "3 x JPEG q85", "variants": three("jpeg", 85)},
        "webp": {"label": "3 x WebP q80 method 4 (default)", "variants": three("webp", 80, 4)},
        # thumbnail_buffer x3 is never the better libvips method: measured on the first two only
        "webp_fast": {
            "label": "3 x WebP q80 method 0 (fast)",
            "variants": three("webp", 80, 0),
            "skip": ["vips_thumbnail"],
        },
        # what a deployment makes when ``variants`` is not set (rules.json, bench/defaults.py)
        "project": {
            "label": f"shipped defaults ({defaults.shipped_label()})",
            "variants": defaults.shipped_variants(dict(zip(names, edges, strict=True))),
            "skip": ["vips_thumbnail"],
        },
    }


PIXELS_CONFIG = "pixels"  # lossless PNG outputs, quality only (run once, never timed)


# --- environment -------------------------------------------------------------------------------


def ensure_bench_venv(argv: list[str]) -> None:
    """Run bench/setup.sh and re-execute this script with the benchmark interpreter."""
    if os.environ.get("BENCH_IN_VENV") == "1":
        return
    result = subprocess.run(
        ["bash", str(BENCH / "setup.sh")], check=True, stdout=subprocess.PIPE, text=True
    )
    python = result.stdout.strip().splitlines()[-1]
    os.environ["BENCH_IN_VENV"] = "1"
    os.execv(python, [python, str(Path(__file__).resolve()), *argv])


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["VIPS_CONCURRENCY"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(REPO / "lambda_src")  # the processor package, as in its zip
    return env


def pyvips_status(python: str) -> str | None:
    """None when pyvips imports in a worker, else why not."""
    probe = subprocess.run(
        [python, "-c", "import pyvips; pyvips.version(0)"],
        capture_output=True,
        text=True,
        env=worker_env(),
    )
    if probe.returncode == 0:
        return None
    lines = probe.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit {probe.returncode}"


def versions() -> dict[str, Any]:
    import PIL

    found: dict[str, Any] = {
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
    }
    from PIL import features

    for feature in ("libjpeg_turbo", "webp", "zlib"):
        try:
            found[f"pillow_{feature}"] = features.version(feature)
        except Exception:
            pass
    try:
        import pyvips

        found["pyvips"] = pyvips.__version__
        found["libvips"] = ".".join(str(pyvips.version(i)) for i in range(3))
    except Exception as error:
        found["pyvips"] = f"unavailable ({type(error).__name__})"
    return found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# --- measurements ------------------------------------------------------------------------------


def run_worker(job: dict[str, Any]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(BENCH / "worker.py"), json.dumps(job)],
        capture_output=True,
        text=True,
        env=worker_env(),
        cwd=REPO,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"worker failed ({job['strategy']} on {Path(job['input']).name}):\n{completed.stderr}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def rotated(items: list[str], by: int) -> list[str]:
    by %= len(items)
    return items[by:] + items[:by]


def measure(
    args: argparse.Namespace,
    classes: list,
    paths: dict[str, Path],
    configs: dict,
    skipped: dict[str, str],
    work: Path,
) -> tuple[dict, list]:
    strategies = [name for name in args.strategies if name not in skipped]
    raw: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    encoder_rounds: list[dict[str, Any]] = []
    started = time.monotonic()
    for round_index in range(args.rounds):
        for class_index, spec in enumerate(classes):
            for config_index, (config_name, config) in enumerate(configs.items()):
                order = [
                    name
                    for name in rotated(strategies, round_index + class_index + config_index)
                    if name not in config.get("skip", ())
                ]
                for strategy in order:
                    job = {
                        "strategy": strategy,
                        "input": str(paths[spec.name]),
                        "variants": config["variants"],
                        "warmup": args.warmup,
                        "iterations": args.iterations,
                        "dump_dir": str(work / "outputs" / spec.name / config_name / strategy)
                        if round_index == 0
                        else None,
                    }
                    report = run_worker(job)
                    raw.setdefault(spec.name, {}).setdefault(config_name, {}).setdefault(
                        strategy, []
                    ).append(report)
        if args.encoders and classes:
            jpeg_class = next((spec for spec in classes if spec.format == "JPEG"), classes[0])
            encoder_rounds.append(
                run_worker(
                    {
                        "strategy": "encoders",
                        "input": str(paths[jpeg_class.name]),
                        "variants": output_configs(args.smoke)["jpeg"]["variants"],
                        "warmup": 1,
                        "iterations": args.iterations,
                    }
                )
            )
        if round_index == 0:
            pixels_pass(classes, paths, configs, strategies, work)
        _progress(
            f"round {round_index + 1}/{args.rounds} done after {time.monotonic() - started:.0f} s"
        )
    return raw, encoder_rounds


def pixels_pass(
    classes: list, paths: dict[str, Path], configs: dict, strategies: list[str], work: Path
) -> None:
    """Every strategy once with lossless PNG outputs: the resized pixels, for the quality table."""
    variants = [
        {**variant, "format": "png"} for variant in next(iter(configs.values()))["variants"]
    ]
    for spec in classes:
        for strategy in strategies:
            if strategy == "floor":
                continue
            run_worker(
                {
                    "strategy": strategy,
                    "input": str(paths[spec.name]),
                    "variants": variants,
                    "warmup": 0,
                    "iterations": 1,
                    "dump_dir": str(work / "outputs" / spec.name / PIXELS_CONFIG / strategy),
                }
            )


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def spread(values: list[float]) -> float:
    """(max - min) / median of per-round values: the spread reported next to a ratio."""
    middle = statistics.median(values)
    return round((max(values) - min(values)) / middle, 3) if middle else 0.0


def summarise(raw: dict, skipped: dict[str, str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for class_name, per_config in raw.items():
        for config_name, per_strategy in per_config.items():
            baseline_rounds = per_strategy.get("naive")
            entries: dict[str, Any] = {}
            for strategy, rounds in per_strategy.items():
                wall = [statistics.median(r["wall_ms"]) for r in rounds]
                cpu = [statistics.median(r["cpu_ms"]) for r in rounds]
                entry: dict[str, Any] = {
                    "ms": median(wall),
                    "cpu_ms": median(cpu),
                    "ms_rounds": [round(value, 3) for value in wall],
                    "rss_peak_mb": round(
                        statistics.median(r["rss_peak_kb"] for r in rounds) / 1024, 1
                    ),
                    "rss_delta_mb": round(
                        statistics.median(r["rss_peak_kb"] - r["rss_baseline_kb"] for r in rounds)
                        / 1024,
                        1,
                    ),
                    "rss_baseline_mb": round(
                        statistics.median(r["rss_baseline_kb"] for r in rounds) / 1024, 1
                    ),
                    "outputs": rounds[0]["outputs"],
                    "output_bytes": sum(output["bytes"] for output in rounds[0]["outputs"]),
                }
                if rounds[0].get("stages_ms"):
                    entry["stages_ms"] = {
                        stage: median([r["stages_ms"][stage] for r in rounds])
                        for stage in rounds[0]["stages_ms"]
                    }
                if baseline_rounds:
                    ratios = [
                        statistics.median(mine["wall_ms"]) / statistics.median(base["wall_ms"])
                        for mine, base in zip(rounds, baseline_rounds, strict=True)
                    ]
                    cpu_ratios = [
                        statistics.median(mine["cpu_ms"]) / statistics.median(base["cpu_ms"])
                        for mine, base in zip(rounds, baseline_rounds, strict=True)
                    ]
                    entry["ratio"] = median(ratios)
                    entry["ratio_rounds"] = [round(value, 3) for value in ratios]
                    entry["ratio_spread"] = spread(ratios)
                    entry["cpu_ratio"] = median(cpu_ratios)
                    entry["cpu_ratio_rounds"] = [round(value, 3) for value in cpu_ratios]
                    entry["cpu_ratio_spread"] = spread(cpu_ratios)
                    naive_delta = statistics.median(
                        r["rss_peak_kb"] - r["rss_baseline_kb"] for r in baseline_rounds
                    )
                    if naive_delta > 0:
                        entry["rss_delta_vs_naive"] = round(
                            statistics.median(
                                r["rss_peak_kb"] - r["rss_baseline_kb"] for r in rounds
                            )
                            / naive_delta,
                            3,
                        )
                entries[strategy] = entry
            for strategy, reason in skipped.items():
                entries[strategy] = {"skipped": reason}
            summary.setdefault(class_name, {})[config_name] = {
                name: entries[name] for name in STRATEGY_ORDER if name in entries
            }
    return summary


def summarise_encoders(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    if not rounds:
        return {}
    settings = rounds[0]["settings"]
    out: dict[str, Any] = {"sizes": rounds[0]["sizes"], "settings": {}}
    for key, first in settings.items():
        ratios = [r["settings"][key]["ms"] / r["settings"]["jpeg_q85"]["ms"] for r in rounds]
        out["settings"][key] = {
            "format": first["format"],
            "params": first["params"],
            "ms": median([r["settings"][key]["ms"] for r in rounds]),
            "ratio_to_jpeg_q85": median(ratios),
            "bytes": first["bytes"],
            "psnr_db": first["psnr_db"],
        }
    return out


def assess_quality(
    classes: list, paths: dict[str, Path], configs: dict, summary: dict, work: Path
) -> None:
    """Add PSNR against the exact reference to every measured output (round 0's dump)."""
    from quality import Reference

    for spec in classes:
        reference = Reference(paths[spec.name].read_bytes())
        for config_name, config in configs.items():
            for strategy, entry in summary.get(spec.name, {}).get(config_name, {}).items():
                if (
                    "skipped" in entry or strategy == "floor"
                ):  # the floor encodes crops, not resizes
                    continue
                folder = work / "outputs" / spec.name / config_name / strategy
                per_variant = []
                for variant in config["variants"]:
                    blob = (folder / f"{variant['name']}.{variant['format']}").read_bytes()
                    measured, size = reference.output_psnr(blob)
                    exact_psnr, exact_bytes = reference.encoded_psnr(size, variant)
                    per_variant.append(
                        {
                            "name": variant["name"],
                            "format": variant["format"],
                            "size": list(size),
                            "psnr_db": round(measured, 3),
                            "reference_psnr_db": round(exact_psnr, 3),
                            "reference_bytes": exact_bytes,
                            "loss_db": round(exact_psnr - measured, 3),
                        }
                    )
                entry["quality"] = per_variant
                entry["worst_loss_db"] = max(item["loss_db"] for item in per_variant)
        first = next(iter(configs.values()))["variants"]
        for strategy, entry in summary.get(spec.name, {}).get(next(iter(configs)), {}).items():
            folder = work / "outputs" / spec.name / PIXELS_CONFIG / strategy
            if "skipped" in entry or not folder.exists():
                continue
            pixels = []
            for variant in first:
                measured, _ = reference.output_psnr(
                    (folder / f"{variant['name']}.png").read_bytes()
                )
                pixels.append(round(measured, 2))
            for per_config in summary[spec.name].values():
                if strategy in per_config and "skipped" not in per_config[strategy]:
                    per_config[strategy]["pixels_psnr_db"] = pixels
        _progress(f"quality of {spec.name} assessed")


# --- cold start and layer sizes ----------------------------------------------------------------


COLD_CASES: dict[str, tuple[str | None, str, bool]] = {
    # name: (function, code run in the fresh interpreter, precompiled layers and zip)
    "python -c pass": (None, "pass", False),
    "processor: import handler": ("processor", "import processor.handler", False),
    "processor: import handler, layers and zip precompiled (.pyc)": (
        "processor",
        "import processor.handler",
        True,
    ),
    "processor: import imaging (PIL)": ("processor", "import processor.imaging", False),
    "processor: import imaging + pi-heif (its init before issue 26)": (
        "processor",
        "import processor.imaging; processor.imaging.register_heif_opener()",
        False,
    ),
    "api: import handler": ("api", "import api.handler", False),
}


COLD_REFERENCE = "processor: import handler"
# a case's ratio is to this one's (same round); the others' to COLD_REFERENCE
COLD_PAIRS = {
    "processor: import imaging + pi-heif (its init before issue 26)": (
        "processor: import imaging (PIL)"
    ),
}


def cold_start(repeats: int) -> dict[str, Any]:
    """Init of each handler in a fresh python3.12, laid out as Lambda lays it out.

    The layers (Pillow's and the SDK's) are unzipped into one ``opt/python`` and the function's
    zip into a task folder, both read-only as in Lambda (``PYTHONDONTWRITEBYTECODE``: the zips
    hold no ``.pyc``, so every init compiles its modules); the interpreter is the bare
    python3.12 behind the Lambda venv (nothing in its site-packages). The cases run interleaved,
    ``repeats`` times; one ``-X importtime`` run names the imports that dominate.
    """
    lambda_python = REPO / ".local" / "venvs" / "lambda-python3.12" / "bin" / "python"
    dist = REPO / "dist"
    layer_zips = [dist / "pillow-layer-x86_64.zip", dist / "sdk-layer-x86_64.zip"]
    result: dict[str, Any] = {}
    if layer_zips[0].exists():
        with zipfile.ZipFile(layer_zips[0]) as archive:
            result["layer"] = {
                "zip": str(layer_zips[0].relative_to(REPO)),
                "zip_mb": round(layer_zips[0].stat().st_size / 2**20, 2),
                "unzipped_mb": round(sum(info.file_size for info in archive.infolist()) / 2**20, 2),
            }
    vips_sizes = _site_package_sizes(
        ("pyvips", "pyvips_binary", "cffi", "pycparser", "_cffi_backend")
    )
    if vips_sizes:
        result["pyvips_unzipped_mb"] = vips_sizes
    needed = [lambda_python, *layer_zips, dist / "processor.zip", dist / "api.zip"]
    if not all(path.exists() for path in needed):
        result["skipped"] = (
            "needs ./build.sh (dist/) and local/setup.sh (.local/venvs/lambda-python3.12)"
        )
        return result
    python = str(lambda_python.resolve())  # the bare interpreter, not the venv's site-packages
    result["load_before"] = [round(value, 2) for value in os.getloadavg()]
    with tempfile.TemporaryDirectory() as scratch:
        roots = {False: Path(scratch) / "source", True: Path(scratch) / "compiled"}
        for compiled, root in roots.items():
            _lay_out(root, layer_zips, dist)
            if compiled:
                subprocess.run(
                    [
                        python,
                        "-m",
                        "compileall",
                        "-q",
                        "--invalidation-mode",
                        "unchecked-hash",
                        str(root),
                    ],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
        process_ms: dict[str, list[float]] = {name: [] for name in COLD_CASES}
        cpu_ms: dict[str, list[float]] = {name: [] for name in COLD_CASES}
        for _ in range(repeats):
            for name, (function, code, compiled) in COLD_CASES.items():
                command, env, cwd = _cold_command(python, roots[compiled], function, code)
                started, started_cpu = time.perf_counter(), _children_cpu_s()
                subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
                process_ms[name].append((time.perf_counter() - started) * 1000)
                cpu_ms[name].append((_children_cpu_s() - started_cpu) * 1000)
        command, env, cwd = _cold_command(
            python, roots[False], "processor", "import processor.handler"
        )
        profile = subprocess.run(
            [python, "-X", "importtime", *command[1:]],
            env=env,
            cwd=cwd,
            check=True,
            capture_output=True,
            text=True,
        )
    result["load_after"] = [round(value, 2) for value in os.getloadavg()]
    baseline = statistics.median(cpu_ms["python -c pass"])
    result["imports"] = {
        name: {
            "process_ms": median(process_ms[name]),
            "cpu_ms": median(samples),
            "init_cpu_ms": median([value - baseline for value in samples])
            if name != "python -c pass"
            else None,
            "cpu_spread": _spread(samples),
            "cpu_ms_rounds": [round(value, 1) for value in samples],
        }
        for name, samples in cpu_ms.items()
    }
    result["ratios"] = {}
    for name, samples in cpu_ms.items():
        reference = COLD_PAIRS.get(name, COLD_REFERENCE)
        if name in (reference, "python -c pass"):
            continue
        ratios = [mine / base for mine, base in zip(samples, cpu_ms[reference], strict=True)]
        result["ratios"][name] = {
            "to": reference,
            "median": median(ratios),
            "spread_iqr": _iqr_spread(ratios),
            "delta_cpu_ms": median(
                [mine - base for mine, base in zip(samples, cpu_ms[reference], strict=True)]
            ),
        }
    result["importtime_top"] = importtime_top(profile.stderr)
    result["method"] = (
        "fresh process, median of interleaved repeats; cpu_ms: the child's user + system CPU "
        "(steadier than wall time on a shared machine), process_ms: wall; init_cpu_ms: minus "
        "`python -c pass`; cpu_spread: (max - min) / median; ratios: median of per-round ratios to `to` "
        "(CPU), spread_iqr: their interquartile range / median; importtime_top: one -X importtime run, self time "
        "summed per top-level package (inflated by the profiler; read as shares), "
        "processor.handler's own includes building the AWS SDK clients"
    )
    return result


def _lay_out(root: Path, layer_zips: list[Path], dist: Path) -> None:
    """``root/opt`` (every layer, as /opt) and ``root/<function>`` (its zip, as /var/task)."""
    for layer in layer_zips:
        with zipfile.ZipFile(layer) as archive:
            archive.extractall(root / "opt")
    for function in ("processor", "api"):
        with zipfile.ZipFile(dist / f"{function}.zip") as archive:
            archive.extractall(root / function)


def _cold_command(
    python: str, root: Path, function: str | None, code: str
) -> tuple[list[str], dict[str, str], Path]:
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task and /opt are read-only in Lambda
    }
    cwd = root
    if function:
        env.update(cold_start_env(function))
        task = root / function
        env["PYTHONPATH"] = os.pathsep.join([str(task), str(root / "opt" / "python")])
        cwd = task
    return [python, "-c", code], env, cwd


def cold_start_env(function: str) -> dict[str, str]:
    """The settings a function's init requires (the rest keep their defaults)."""
    from common import contract

    if function == "processor":
        return {
            "OUTPUT_BUCKET": "bench-output",
            "UPLOADS_TABLE": "bench-uploads",
            "VARIANTS": json.dumps(contract.RULES["default_variants"]),  # the shipped sizes
        }
    return {
        "UPLOAD_BUCKET": "bench-uploads",
        "OUTPUT_BUCKET": "bench-output",
        "UPLOADS_TABLE": "bench-uploads",
        "ALLOWED_ORIGINS": "*",
    }


def _iqr_spread(samples: list[float]) -> float:
    """Interquartile range / median of per-round ratios (robust to a round another agent slowed)."""
    quartiles = statistics.quantiles(samples, n=4)
    return round((quartiles[2] - quartiles[0]) / statistics.median(samples), 3)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _spread(samples: list[float]) -> float:
    return round((max(samples) - min(samples)) / statistics.median(samples), 3)


def importtime_top(stderr: str, count: int = 8) -> list[dict[str, Any]]:
    """Self time (ms) summed per top-level package from ``-X importtime`` output, largest first
    (``processor.handler`` kept apart: its own time is the module body, the SDK clients)."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line.split("|")
        try:
            own_us = int(fields[0].split(":", 1)[1])
        except ValueError:
            continue  # the header line
        module = fields[2].strip()
        key = module if module == "processor.handler" else module.split(".")[0]
        totals[key] = totals.get(key, 0.0) + own_us / 1000
    everything = sum(totals.values()) or 1.0
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:count]
    return [
        {"module": name, "self_ms": round(ms, 1), "share": round(ms / everything, 3)}
        for name, ms in ranked
    ]


def _site_package_sizes(names: tuple[str, ...]) -> float | None:
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    total = 0
    found = False
    for entry in site.iterdir():
        if any(
            entry.name == n or entry.name.startswith(n + ".") or entry.name.startswith(n + "-")
            for n in names
        ):
            if entry.name.endswith(".dist-info"):
                continue
            found = True
            files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
            total += sum(p.stat().st_size for p in files if "__pycache__" not in p.parts)
    return round(total / 2**20, 1) if found else None


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, 1 round, a few seconds")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 4; smoke 1)")
    parser.add_argument(
        "--iterations", type=int, help="timed calls per worker (default 2; smoke 1)"
    )
    parser.add_argument(
        "--warmup", type=int, help="untimed calls per worker first (default 1; smoke 0)"
    )
    parser.add_argument("--classes", help="comma-separated input classes (default all)")
    parser.add_argument("--configs", help="comma-separated output configurations (default all)")
    parser.add_argument("--strategies", help="comma-separated strategies (default all)")
    parser.add_argument(
        "--no-encoders",
        dest="encoders",
        action="store_false",
        help="skip the encoder settings table",
    )
    parser.add_argument(
        "--cold-repeats", type=int, default=15, help="interleaved cold-start rounds (default 15)"
    )
    parser.add_argument(
        "--no-cold-start",
        dest="cold_start",
        action="store_false",
        help="skip handler import timings",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="results JSON (default docs/benchmarks/results.json; smoke: in --work-dir)",
    )
    parser.add_argument("--work-dir", type=Path, help="inputs and outputs (default .local/bench)")
    parser.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="do not write docs/benchmarks.md and the chart",
    )
    parser.add_argument(
        "--no-setup", action="store_true", help="use this interpreter, do not run bench/setup.sh"
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.smoke else 4)
    args.iterations = args.iterations or (1 if args.smoke else 2)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.smoke else 1)
    args.strategies = args.strategies.split(",") if args.strategies else list(STRATEGY_ORDER)
    if "naive" not in args.strategies:
        args.strategies.insert(0, "naive")  # every ratio needs the baseline of the same round
    args.work_dir = args.work_dir or (
        REPO / ".local" / "bench" / ("smoke" if args.smoke else "full")
    )
    if args.output is None:
        args.output = (
            args.work_dir / "results.json"
            if args.smoke
            else REPO / "docs" / "benchmarks" / "results.json"
        )
    if args.smoke:
        args.cold_start = False
        args.report = False
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not (args.smoke or args.no_setup):
        ensure_bench_venv(argv)
    import inputs

    classes = list(inputs.SMOKE_CLASSES if args.smoke else inputs.FULL_CLASSES)
    if args.classes:
        wanted = args.classes.split(",")
        classes = [spec for spec in classes if spec.name in wanted]
    configs = output_configs(args.smoke)
    if args.configs:
        configs = {name: configs[name] for name in args.configs.split(",")}
    elif args.smoke:
        configs = {name: configs[name] for name in ("jpeg", "webp")}
    started = time.monotonic()
    load_before = [round(value, 2) for value in os.getloadavg()]
    skipped: dict[str, str] = {}
    reason = (
        pyvips_status(sys.executable)
        if any(s in PYVIPS_STRATEGIES for s in args.strategies)
        else None
    )
    if reason:
        if not args.smoke:
            raise SystemExit(f"pyvips is needed for the full run: {reason}")
        skipped = {name: reason for name in PYVIPS_STRATEGIES if name in args.strategies}
    paths = {spec.name: inputs.ensure(spec, args.work_dir / "inputs") for spec in classes}
    _progress(f"inputs ready after {time.monotonic() - started:.0f} s")
    raw, encoder_rounds = measure(args, classes, paths, configs, skipped, args.work_dir)
    load_measured = [round(value, 2) for value in os.getloadavg()]
    summary = summarise(raw, skipped)
    assess_quality(classes, paths, configs, summary, args.work_dir)
    results: dict[str, Any] = {
        "schema": 1,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": "smoke" if args.smoke else "full",
        "method": {
            "rounds": args.rounds,
            "iterations": args.iterations,
            "warmup": args.warmup,
            "ratio": "median over rounds of (strategy ms / naive ms in the same round)",
            "ms": "median over rounds of each worker's median wall time per image",
            "rss": "VmHWM (peak RSS) of the fresh worker; delta = peak minus the same worker's idle baseline after imports and reading the input",
            "quality": "PSNR vs exact full-resolution LANCZOS resize; loss_db = PSNR(exact, encoded alike) - PSNR(output)",
            "vips_concurrency": 1,
            "spread": "(max - min) / median of the per-round ratios",
            "load_average": {"start": load_before, "measured": load_measured},
        },
        "versions": versions(),
        "strategies": {name: STRATEGY_LABELS[name] for name in args.strategies},
        "inputs": {
            spec.name: {
                "label": spec.label,
                "format": spec.format,
                "width": spec.width,
                "height": spec.height,
                "bytes": paths[spec.name].stat().st_size,
                "bits_per_pixel": round(
                    paths[spec.name].stat().st_size * 8 / (spec.width * spec.height), 2
                ),
            }
            for spec in classes
        },
        "configs": configs,
        "skipped": skipped,
        "results": summary,
        "encoders": summarise_encoders(encoder_rounds),
    }
    if args.cold_start:
        try:
            results["cold_start"] = cold_start(repeats=args.cold_repeats)
        except (subprocess.CalledProcessError, OSError) as error:  # never lose the measurements
            stderr = getattr(error, "stderr", "") or ""
            results["cold_start"] = {"skipped": f"{error} {stderr.strip()[-300:]}"}
    results["duration_s"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    _progress(f"wrote {args.output} after {results['duration_s']} s")
    if args.report:
        import report

        written = report.write(results, REPO / "docs")
        for path in written:
            _progress(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
