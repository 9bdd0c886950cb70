"""One rule set, every layer: the same variant edge cases through each layer that checks them.

The layers are the root's ``variables.tf`` (Terraform validation, what ``terraform apply``
refuses), the processor's cold-start parser (``processor.config.parse_variants``, what would
otherwise fail every invocation with ``ConfigError``) and the page's ``validate.js`` (fed the
``variantRules`` Terraform puts into ``config.json``). Child modules check no variant rule of
their own (asserted below). Each layer must give every case the verdict written next to it, so a
rule changed in one layer alone (a regex edited in Python, a bound in HCL, a check in JS) fails
here; a rule changed in ``lambda_src/common/rules.json`` changes all three at once.

The API's routes too: each route of the rule set is an API Gateway method in the plan and an
entry of the function's dispatch table with a registered handler, and nothing else is.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from api import core as api_core
from common import contract
from local import cloud_settings
from processor import config as processor_config

REPO = cloud_settings.REPO


def fmt(name: str = "jpeg", **settings: Any) -> dict[str, Any]:
    return {"format": name, **settings}


def variant(**overrides: Any) -> dict[str, Any]:
    return {"name": "large", "max_edge": 1024, "formats": [fmt("avif"), fmt("jpeg")], **overrides}


def formats(*entries: dict[str, Any]) -> list[dict[str, Any]]:
    return [variant(formats=list(entries))]


# (case, variants, accepted?)
CASES: list[tuple[str, list[dict[str, Any]], bool]] = [
    (
        "defaults-like",
        [variant(), variant(name="thumb", max_edge=128, formats=[fmt("webp")])],
        True,
    ),
    ("leading underscore name", [variant(name="_thumb")], False),
    ("leading dash name", [variant(name="-thumb")], False),
    ("upper-case name", [variant(name="Large")], False),
    ("32-character name", [variant(name="a" * 32)], True),
    ("33-character name", [variant(name="a" * 33)], False),
    ("digits and separators", [variant(name="2x_thumb-b")], True),
    ("path in name", [variant(name="../x")], False),
    ("dot in name", [variant(name="a.b")], False),
    ("smallest edge", [variant(max_edge=16)], True),
    ("edge below minimum", [variant(max_edge=15)], False),
    ("largest edge", [variant(max_edge=8192)], True),
    ("edge above maximum", [variant(max_edge=8193)], False),
    ("fractional edge", [variant(max_edge=100.5)], False),
    ("png format", formats(fmt("png")), True),
    ("every format once", formats(fmt("avif"), fmt("webp"), fmt("png"), fmt("jpeg")), True),
    ("no formats", formats(), False),
    ("a format twice", formats(fmt("jpeg"), fmt("webp"), fmt("jpeg")), False),
    ("heif is no output format", formats(fmt("heif")), False),
    ("gif format", formats(fmt("jpeg"), fmt("gif")), False),
    ("quality 1 and 100", formats(fmt("jpeg", quality=1), fmt("avif", quality=100)), True),
    ("quality 0", formats(fmt(quality=0)), False),
    ("quality 101", formats(fmt("webp", quality=101)), False),
    ("fractional quality", formats(fmt("avif", quality=70.5)), False),
    ("png has no quality", formats(fmt("png", quality=90)), False),
    (
        "webp effort 0 and 6",
        [
            variant(formats=[fmt("webp", effort=0)]),
            variant(name="b", formats=[fmt("webp", effort=6)]),
        ],
        True,
    ),
    ("webp effort 7", formats(fmt("webp", effort=7)), False),
    ("avif effort 10", formats(fmt("avif", effort=10)), True),
    ("avif effort 11", formats(fmt("avif", effort=11)), False),
    ("avif effort -1", formats(fmt("avif", effort=-1)), False),
    ("jpeg has no effort", formats(fmt("jpeg", effort=1)), False),
    ("png has no effort", formats(fmt("png", effort=0)), False),
    ("animate off", [variant(formats=[fmt("webp")], animate=False)], True),
    ("animate on for a still format", [variant(animate=True)], True),
    ("animate not a bool", [variant(animate="yes")], False),
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
        "perVariant": {"min": rules["formats"]["min"], "max": rules["formats"]["max"]},
    }
    configs = {
        case: {
            "apiUrl": "https://api.example.com/v1",
            "maxBytes": 1,
            "allowedTypes": ["image/jpeg"],
            "variants": [  # the shape of main.tf's config.variants
                {
                    "name": v["name"],
                    "maxEdge": v["max_edge"],
                    "formats": [f["format"] for f in v["formats"]],
                }
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
        # the page sees no quality, effort or animate (config.json: name, maxEdge, formats)
        "validate.js": page_verdicts[case],
    }
    if any(key in f for v in variants for f in v["formats"] for key in ("quality", "effort")):
        verdicts.pop("validate.js")
    if any("animate" in v for v in variants):
        verdicts.pop("validate.js", None)
    assert verdicts == dict.fromkeys(verdicts, accepted), verdicts


def test_main_tf_gives_the_page_the_shared_rules() -> None:
    text = (REPO / "main.tf").read_text()
    block = re.search(r"variantRules = \{(.*?)\n    \}", text, re.S)
    assert block, "main.tf no longer puts variantRules into config.json"
    for source in (
        "local.rules.variant.name_pattern",
        "local.rules.variant.max_edge",
        "local.rules.variant.formats",
    ):
        assert source in block.group(1)


def test_child_modules_check_no_variant_rule_of_their_own() -> None:
    """A second copy of a user-facing rule is how the drift began: the root owns them."""
    for path in sorted((REPO / "modules").glob("*/variables.tf")):
        text = path.read_text()
        block = re.search(r'variable "variants" \{(.*?)\n\}', text, re.S)
        if block:
            assert "validation" not in block.group(1), path


# -- routes -------------------------------------------------------------------------------
# rules.json "routes" is the route table: modules/api derives the API Gateway methods from it
# (plus OPTIONS and ANY per path), api/core.py the function's dispatch table, naming functions
# api/handler.py registers with @route_handler. A route added, dropped or renamed in one layer
# alone fails here.

# modules/api's resource per path template; its method keys are "<method>_<resource>".
GATEWAY_RESOURCE = {
    "/uploads": "uploads",
    "/uploads/{id}": "upload",
    "/uploads/{id}/parts": "parts",
    "/uploads/{id}/complete": "complete",
}


def served_routes(signed_in: bool) -> list[dict[str, str]]:
    return [r for r in contract.RULES["routes"] if signed_in or r["auth"] == "any"]


def gateway_methods(signed_in: bool) -> dict[str, str]:
    """The API Gateway methods the routes make: method key -> HTTP method."""
    methods = {}
    for route in served_routes(signed_in):
        resource = GATEWAY_RESOURCE[route["path"]]
        for method in (route["method"], "OPTIONS", "ANY"):
            methods[f"{method.lower()}_{resource}"] = method
    return methods


def registered_handlers() -> set[str]:
    """Names of the functions api/handler.py registers with @route_handler (read, not run)."""
    tree = ast.parse((REPO / "lambda_src" / "api" / "handler.py").read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "route_handler" for d in node.decorator_list)
    }


@pytest.mark.parametrize("auth", ["none", "cognito"])
def test_every_route_is_a_gateway_method_and_handled_and_nothing_else(
    plan_factory, auth: str
) -> None:
    signed_in = auth == "cognito"
    plan = plan_factory(
        bucket_name_suffix="t1", **({"auth": auth, "image_access": "public"} if signed_in else {})
    )
    planned = {
        address.split('"')[1]: values["http_method"]
        for address, values in plan.of_type("aws_api_gateway_method").items()
    }
    assert planned == gateway_methods(signed_in)
    call = plan.raw["configuration"]["root_module"]["module_calls"]["api"]["expressions"]
    assert "local.rules.routes" in call["routes"]["references"]
    assert api_core.route_table(signed_in) == {
        (r["method"], r["path"]): r["handler"] for r in served_routes(signed_in)
    }
    assert api_core.route_methods(signed_in).keys() == {r["path"] for r in served_routes(signed_in)}
    # every route's handler is registered, and every registered handler serves a route
    assert {r["handler"] for r in contract.RULES["routes"]} == registered_handlers()


def test_the_gateway_resources_are_the_route_paths(plan_factory) -> None:
    plan = plan_factory(bucket_name_suffix="t1", auth="cognito", image_access="public")
    parts = {v["path_part"] for v in plan.of_type("aws_api_gateway_resource").values()}
    paths = {r["path"] for r in contract.RULES["routes"]}
    assert parts == {segment for path in paths for segment in path.strip("/").split("/")}
    assert paths == set(GATEWAY_RESOURCE)
