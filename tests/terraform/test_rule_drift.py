"""One rule set, every layer: the same variant edge cases through each layer that checks them.

The layers are the root's ``variables.tf`` (Terraform validation, what ``terraform apply``
refuses), the processor's cold-start parser (``processor.config.parse_variants``, what would
otherwise fail every invocation with ``ConfigError``) and the page's ``validate.js`` (fed the
``variantRules`` Terraform puts into ``config.json``). Child modules check no variant rule of
their own (asserted below). Each layer must give every case the verdict written next to it, so a
rule changed in one layer alone (a regex edited in Python, a bound in HCL, a check in JS) fails
here; a rule changed in ``lambda_src/common/rules.json`` changes all three at once.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from common import contract
from local import cloud_settings
from processor import config as processor_config

REPO = cloud_settings.REPO


def variant(**overrides: Any) -> dict[str, Any]:
    return {"name": "large", "max_edge": 1024, "format": "jpeg", **overrides}


# (case, variants, accepted?)
CASES: list[tuple[str, list[dict[str, Any]], bool]] = [
    ("defaults-like", [variant(), variant(name="thumb", max_edge=128, format="webp")], True),
    ("leading underscore name", [variant(name="_thumb")], False),
    ("leading dash name", [variant(name="-thumb")], False),
    ("upper-case name", [variant(name="Large")], False),
    ("32-character name", [variant(name="a" * 32)], True),
    ("33-character name", [variant(name="a" * 33)], False),
    ("digits and separators", [variant(name="2x_thumb-b")], True),
    ("path in name", [variant(name="../x")], False),
    ("smallest edge", [variant(max_edge=16)], True),
    ("edge below minimum", [variant(max_edge=15)], False),
    ("largest edge", [variant(max_edge=8192)], True),
    ("edge above maximum", [variant(max_edge=8193)], False),
    ("fractional edge", [variant(max_edge=100.5)], False),
    ("png format", [variant(format="png")], True),
    ("avif format", [variant(format="avif", quality=70)], True),
    ("heif is no output format", [variant(format="heif")], False),
    ("gif format", [variant(format="gif")], False),
    ("quality 1 and 100", [variant(quality=1), variant(name="b", quality=100)], True),
    ("quality 0", [variant(quality=0)], False),
    ("quality 101", [variant(quality=101)], False),
    ("webp_method 6", [variant(format="webp", webp_method=6)], True),
    ("webp_method 7", [variant(format="webp", webp_method=7)], False),
    ("no variants", [], False),
    ("ten variants", [variant(name=f"v{i}") for i in range(10)], True),
    ("eleven variants", [variant(name=f"v{i}") for i in range(11)], False),
    ("duplicate names", [variant(), variant()], False),
]
IDS = [case[0] for case in CASES]


@pytest.fixture(scope="module")
def terraform_verdict(tf_variables_only: Any):
    import tftest

    def verdict(variants: list[dict[str, Any]]) -> bool:
        try:
            tf_variables_only.plan(
                output=False, tf_vars={"variants": json.dumps(variants)}, refresh=False
            )
        except tftest.TerraformTestError as error:
            text = " ".join((error.cmd_error or str(error)).split())
            assert 'variable "variants"' in text, text  # refused for the variants, nothing else
            return False
        return True

    return verdict


def python_verdict(variants: list[dict[str, Any]]) -> bool:
    try:
        processor_config.parse_variants("VARIANTS", json.dumps(variants))
    except processor_config.ConfigError:
        return False
    return True


@pytest.fixture(scope="module")
def page_verdicts() -> dict[str, bool]:
    """``validate.js`` on every case at once, with the rules main.tf puts into config.json."""
    node = shutil.which("node")
    assert node, "node is not installed: run `make setup`"
    rules = contract.VARIANT_RULES
    variant_rules = {  # the shape of main.tf's config.variantRules
        "namePattern": rules["name_pattern"],
        "maxEdge": {"min": rules["max_edge"]["min"], "max": rules["max_edge"]["max"]},
        "formats": sorted(contract.OUTPUT_FORMATS),
        "count": {"min": rules["count"]["min"], "max": rules["count"]["max"]},
    }
    configs = {
        case: {
            "apiUrl": "https://api.example.com/v1",
            "maxBytes": 1,
            "allowedTypes": ["image/jpeg"],
            "variants": [
                {"name": v["name"], "maxEdge": v["max_edge"], "format": v["format"]}
                for v in variants
            ],
            "variantRules": variant_rules,
        }
        for case, variants, _ in CASES
    }
    script = f"""
import {{ parseConfig }} from {json.dumps(str(REPO / "web" / "js" / "validate.js"))};
const configs = {json.dumps(configs)};
const verdicts = {{}};
for (const [name, raw] of Object.entries(configs)) {{
  try {{ parseConfig(raw); verdicts[name] = true; }} catch {{ verdicts[name] = false; }}
}}
console.log(JSON.stringify(verdicts));
"""
    completed = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout)


@pytest.mark.parametrize(("case", "variants", "accepted"), CASES, ids=IDS)
def test_every_layer_gives_the_same_verdict(
    case: str,
    variants: list[dict[str, Any]],
    accepted: bool,
    terraform_verdict: Any,
    page_verdicts: dict[str, bool],
) -> None:
    verdicts = {
        "variables.tf": terraform_verdict(variants),
        "processor config": python_verdict(variants),
        # the page sees no quality or webp_method (config.json carries name, maxEdge, format)
        "validate.js": page_verdicts[case],
    }
    if any(key in v for v in variants for key in ("quality", "webp_method")):
        verdicts.pop("validate.js")
    assert verdicts == dict.fromkeys(verdicts, accepted), verdicts


def test_main_tf_gives_the_page_the_shared_rules() -> None:
    text = (REPO / "main.tf").read_text()
    block = re.search(r"variantRules = \{(.*?)\n    \}", text, re.S)
    assert block, "main.tf no longer puts variantRules into config.json"
    for source in ("local.rules.variant.name_pattern", "local.rules.variant.max_edge"):
        assert source in block.group(1)


def test_child_modules_check_no_variant_rule_of_their_own() -> None:
    """A second copy of a user-facing rule is how the drift began: the root owns them."""
    for path in sorted((REPO / "modules").glob("*/variables.tf")):
        text = path.read_text()
        block = re.search(r'variable "variants" \{(.*?)\n\}', text, re.S)
        if block:
            assert "validation" not in block.group(1), path
