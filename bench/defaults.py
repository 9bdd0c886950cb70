"""The variant set a deployment makes when ``variants`` is not set, in the benchmarks' job shape.

Read from the rule set (``lambda_src/common/rules.json`` ``default_variants``; ``variables.tf``
repeats it and tests/terraform/test_plan.py proves the two agree) through the processor's own
config code, so a benchmark's "shipped defaults" measures exactly what a deployment runs, and
its report names that configuration (:func:`shipped_label`).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambda_src"))

from common import contract
from processor import config

SPEC_FIELDS = ("name", "max_edge", "format", "quality", "webp_method", "avif_speed", "animate")


def shipped_variants(edges: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """One job entry per output (size by size, formats in preference order), as
    ``processor.config`` turns the default rules into the core's specs. ``edges`` replaces a
    size's longest edge (the smoke run's tiny inputs), by size name."""
    outputs = contract.output_rules(contract.default_sizes())
    specs = [dataclasses.asdict(config.variant_spec(output)) for output in outputs]
    for spec in specs:
        spec["max_edge"] = (edges or {}).get(spec["name"], spec["max_edge"])
    return [{field: spec[field] for field in SPEC_FIELDS} for spec in specs]


def shipped_label() -> str:
    """What the shipped defaults are, for a report: ``large 1024: avif q70 e1, jpeg q85; ...``."""
    return "; ".join(
        f"{size.name} {size.max_edge}: " + ", ".join(_format_label(rule) for rule in size.formats)
        for size in contract.default_sizes()
    )


def _format_label(rule: contract.FormatRule) -> str:
    settings = [f"q{rule.quality}" if rule.quality is not None else ""]
    settings.append(f"e{rule.effort}" if rule.effort is not None else "")
    return " ".join([rule.format, *filter(None, settings)])
