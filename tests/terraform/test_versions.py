"""Version constraints: every versions.tf admits what CI runs, and nothing it never ran.

The root and every child module must declare the same hashicorp/aws constraint and the same
Terraform floor; the provider `terraform init` installed for the plan tests (the offline
mirror's) and the Terraform on the PATH must satisfy them, and the provider constraint must not
reach below the tested minor version or into the next major version.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.terraform

REPO = Path(__file__).resolve().parents[2]
VERSIONS_FILES = [REPO / "versions.tf", *sorted((REPO / "modules").glob("*/versions.tf"))]
AWS = "registry.terraform.io/hashicorp/aws"

Version = tuple[int, int, int]


def parse_version(text: str) -> Version:
    parts = [int(p) for p in text.strip().split(".")]
    return (*parts, 0, 0)[:3]  # type: ignore[return-value]


def admits(constraint: str, version: Version) -> bool:
    """Terraform's version-constraint syntax (=, !=, >, >=, <, <=, ~>), comma meaning "and"."""
    for part in constraint.split(","):
        match = re.fullmatch(r"\s*(~>|>=|<=|!=|=|>|<)?\s*([0-9][0-9.]*)\s*", part)
        assert match, f"cannot read the constraint part {part!r} of {constraint!r}"
        operator, text = match.group(1) or "=", match.group(2)
        bound = parse_version(text)
        if operator == "~>":
            # ~> 5.100 admits >= 5.100, < 6; ~> 5.100.1 admits >= 5.100.1, < 5.101.
            precision = len(text.split("."))
            upper = (bound[0] + 1, 0, 0) if precision <= 2 else (bound[0], bound[1] + 1, 0)
            ok = bound <= version < upper
        else:
            ok = {
                "=": version == bound,
                "!=": version != bound,
                ">": version > bound,
                ">=": version >= bound,
                "<": version < bound,
                "<=": version <= bound,
            }[operator]
        if not ok:
            return False
    return True


def declared(path: Path) -> tuple[str, str]:
    """(required_version, the hashicorp/aws version constraint) of one versions.tf."""
    text = path.read_text()
    core = re.search(r'required_version\s*=\s*"([^"]+)"', text)
    aws = re.search(
        r'aws\s*=\s*\{[^}]*source\s*=\s*"hashicorp/aws"[^}]*version\s*=\s*"([^"]+)"', text
    )
    assert core, f"{path.relative_to(REPO)} must declare required_version"
    assert aws, f"{path.relative_to(REPO)} must declare hashicorp/aws with a version"
    return core.group(1), aws.group(1)


@pytest.fixture(scope="module")
def installed(tf: Any) -> dict[str, Version]:
    """The Terraform on the PATH and the provider `terraform init` selected for the plan tests."""
    report = json.loads(tf.execute_command("version", "-json").out)
    return {
        "terraform": parse_version(report["terraform_version"]),
        "aws": parse_version(report["provider_selections"][AWS]),
    }


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        ("~> 5.100", "5.100.0", True),
        ("~> 5.100", "5.101.2", True),
        ("~> 5.100", "5.99.0", False),
        ("~> 5.100", "6.0.0", False),
        ("~> 5.100.1", "5.101.0", False),
        (">= 5.0, < 7.0", "6.3.0", True),
        (">= 1.9", "1.11.4", True),
        (">= 1.9", "1.8.5", False),
    ],
)
def test_the_constraint_reader(constraint: str, version: str, expected: bool) -> None:
    assert admits(constraint, parse_version(version)) is expected


def test_every_versions_tf_declares_the_same_constraints() -> None:
    root = declared(REPO / "versions.tf")
    differing = {
        str(path.relative_to(REPO)): declared(path)
        for path in VERSIONS_FILES
        if declared(path) != root
    }
    assert len(VERSIONS_FILES) == 1 + len(list((REPO / "modules").iterdir()))
    assert differing == {}, f"root declares {root}"


def test_the_installed_provider_and_terraform_satisfy_the_constraints(installed) -> None:
    core, aws = declared(REPO / "versions.tf")
    assert admits(core, installed["terraform"]), (core, installed["terraform"])
    assert admits(aws, installed["aws"]), (aws, installed["aws"])


def test_the_provider_constraint_admits_no_untested_minor_or_major(installed) -> None:
    """Nothing below the tested minor version (the floor the WAF rule limits and the v6-safe
    resources were written against), nothing of the next major version (untested)."""
    _, aws = declared(REPO / "versions.tf")
    major, minor, _ = installed["aws"]
    assert not admits(aws, (major, minor - 1, 99))
    assert not admits(aws, (major + 1, 0, 0))
    assert admits(aws, (major, minor, 0))
