"""The benchmark's smoke mode runs and writes well-formed results (no timing assertions).

Runs ``bench/run.py --smoke`` with this interpreter (the project venv, where pyvips is usually
not installed: those strategies must then be reported as skipped, not fail the run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support import bench_scripts

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
STRATEGIES = {"naive", "core", "vips_thumbnail", "vips_cascade", "floor"}


def smoke_run(work_dir: Path, *options: str) -> dict:
    """bench/run.py --smoke with ``options``, writing into ``work_dir``: its results.json."""
    output = work_dir / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--smoke",
            *options,
            "--work-dir",
            str(work_dir),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(output.read_text())


def test_smoke_run_writes_well_formed_json(tmp_path: Path) -> None:
    results = smoke_run(tmp_path)

    assert results["mode"] == "smoke"
    assert set(results["strategies"]) == STRATEGIES
    assert results["inputs"], "no input class was generated"
    for class_name, per_config in results["results"].items():
        assert class_name in results["inputs"]
        assert set(per_config) == {"jpeg", "webp"}
        for config_name, per_strategy in per_config.items():
            assert set(per_strategy) == STRATEGIES, (class_name, config_name)
            for strategy, entry in per_strategy.items():
                if "skipped" in entry:
                    assert strategy in {"vips_thumbnail", "vips_cascade"}
                    assert entry["skipped"]
                    continue
                assert entry["ms"] > 0
                assert entry["ratio"] > 0
                assert entry["rss_peak_mb"] >= entry["rss_delta_mb"] >= 0
                assert len(entry["outputs"]) == 3
                assert all(output["bytes"] > 0 for output in entry["outputs"])
                if strategy != "floor":
                    assert len(entry["quality"]) == 3
                    assert all(0 < item["psnr_db"] <= 99 for item in entry["quality"])
            assert per_strategy["naive"]["ratio"] == 1.0
    assert results["encoders"]["settings"]["jpeg_q85"]["ratio_to_jpeg_q85"] == 1.0


def test_smoke_does_not_touch_docs(tmp_path: Path) -> None:
    """Smoke mode never writes the committed report, whatever the results path."""
    report = REPO / "docs" / "benchmarks.md"
    before = report.read_bytes() if report.exists() else None
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--smoke",
            "--work-dir",
            str(tmp_path),
            "--classes",
            "jpeg_12mp",
            "--strategies",
            "naive,core",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "results.json").exists()
    assert (report.read_bytes() if report.exists() else None) == before


def test_variant_formats_smoke_compares_every_candidate_with_todays_default(
    tmp_path: Path,
) -> None:
    """bench/variant_formats.py --smoke: one row per candidate default, today's at 1.00."""
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "variant_formats.py"),
            "--smoke",
            "--work-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr
    rows = [
        line.split("|")[1:-1] for line in completed.stdout.splitlines() if line.startswith("| ")
    ]
    table = {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows[1:]}
    assert set(table) == {
        "today",
        "avif+jpeg, thumb webp+jpeg",
        "avif+jpeg everywhere",
        "avif+webp+jpeg everywhere",
        "webp+jpeg everywhere",
    }
    assert table["today"][2] == table["today"][3] == "1.00"
    assert table["today"][0] == "4"
    assert table["avif+webp+jpeg everywhere"][0] == "9"
    for cells in table.values():
        stored, first, fallback = (float(cells[i]) for i in (5, 6, 7))
        assert stored >= fallback > 0
        assert stored >= first > 0


def test_project_configuration_is_the_shipped_default(tmp_path: Path) -> None:
    """``--configs project`` measures rules.json's default variants (bench/defaults.py): every
    size in each of its formats, two outputs per size name, AVIF included, named in the report."""
    defaults = bench_scripts.load("defaults")
    results = smoke_run(
        tmp_path,
        "--configs",
        "project",
        "--classes",
        "jpeg_12mp,png_rgba",
        "--strategies",
        "naive,core,floor",
        "--no-encoders",
    )
    shipped = [(v["name"], v["format"]) for v in defaults.shipped_variants()]
    assert len(set(shipped)) == len(shipped) > len({name for name, _ in shipped})
    assert "avif" in {fmt for _, fmt in shipped}
    assert defaults.shipped_label() in results["configs"]["project"]["label"]
    assert set(results["results"]) == {"jpeg_12mp", "png_rgba"}
    for per_config in results["results"].values():
        assert set(per_config) == {"project"}
        for strategy, entry in per_config["project"].items():
            outputs = [(o["name"], o["format"]) for o in entry["outputs"]]
            assert outputs == shipped, strategy
            assert all(o["bytes"] > 0 for o in entry["outputs"])
            if strategy != "floor":
                assert [(q["name"], q["format"]) for q in entry["quality"]] == shipped
        core_sizes = {(o["name"], o["width"]) for o in per_config["project"]["core"]["outputs"]}
        assert len(core_sizes) == len({name for name, _ in shipped})  # one size per name
