"""bench/defaults.py: the benchmarks measure the variant set a deployment makes by default."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from common import contract
from processor import imaging
from support import bench_scripts

pytestmark = pytest.mark.unit

BENCH_DEFAULTS = Path(__file__).resolve().parents[2] / "bench" / "defaults.py"


@pytest.fixture(scope="module")
def defaults() -> ModuleType:
    return bench_scripts.load("defaults")


def test_one_job_entry_per_shipped_output_in_preference_order(defaults: ModuleType) -> None:
    outputs = contract.output_rules(contract.default_sizes())
    jobs = defaults.shipped_variants()
    assert [(job["name"], job["max_edge"], job["format"]) for job in jobs] == [
        (output.size, output.max_edge, output.rule.format) for output in outputs
    ]
    assert any(job["format"] == "avif" for job in jobs)  # the variant the old bench left out


def test_entries_are_the_cores_specs_with_the_rule_defaults(defaults: ModuleType) -> None:
    specs = [imaging.VariantSpec(**job) for job in defaults.shipped_variants()]
    avif = next(spec for spec in specs if spec.format == "avif")
    assert avif.quality == contract.OUTPUT_FORMATS["avif"]["quality"]["default"]
    effort = contract.OUTPUT_FORMATS["avif"]["effort"]["default"]
    assert avif.avif_speed == imaging.AVIF_MAX_SPEED - effort


def test_smoke_edges_replace_a_sizes_edge_by_name(defaults: ModuleType) -> None:
    jobs = defaults.shipped_variants({"large": 256, "medium": 128, "thumb": 32})
    assert {(job["name"], job["max_edge"]) for job in jobs} == {
        ("large", 256),
        ("medium", 128),
        ("thumb", 32),
    }


def test_the_label_names_every_size_and_format(defaults: ModuleType) -> None:
    label = defaults.shipped_label()
    for size in contract.default_sizes():
        assert f"{size.name} {size.max_edge}:" in label
        for rule in size.formats:
            assert rule.format in label
