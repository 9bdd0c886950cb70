"""enable_vpc's network: zones chosen from the account, and nothing placed in it too early.

Which zones exist is per account (zone letters are shuffled per account, some regions have no
"b", some zones refuse new subnets), so the subnets take their zones from the
`aws_availability_zones` data source. Reading it needs EC2, which the offline plan tests do not
have: these scenarios run with `terraform test` and `override_data`, which answers the data
source with a given account's zone list (plan only, nothing applied). The emulator's EC2 answers
the real call in the integration tier (the shared stack has enable_vpc).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.terraform

DATA_SOURCE = "module.network[0].data.aws_availability_zones.available"
NETWORK_READY = {
    "aws_route_table_association.private",
    "aws_vpc_endpoint.gateway",
    "aws_vpc_security_group_egress_rule.https_to_endpoints",
}


def run_terraform_test(workdir: Path, env: dict[str, str], name: str, hcl: str) -> str:
    """Run one generated .tftest.hcl file in the initialised root copy; its output."""
    folder = workdir / "network_tests"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.tftest.hcl").write_text(hcl)
    result = subprocess.run(
        [
            "terraform",
            "test",
            "-no-color",
            "-test-directory=network_tests",
            f"-filter=network_tests/{name}.tftest.hcl",
        ],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.stdout + result.stderr


def zone_scenario(region: str, listed: list[str], expected: list[str], artifacts: Path) -> str:
    """A plan of the stack in `region` for an account whose data source lists `listed`."""
    return f"""
run "zones_of_{region.replace("-", "_")}" {{
  command = plan

  variables {{
    region             = "{region}"
    enable_vpc         = true
    bucket_name_suffix = "t1"
    artifacts_dir      = "{artifacts}"
  }}

  override_data {{
    target = {DATA_SOURCE}
    values = {{
      names = {json.dumps(listed)}
    }}
  }}

  assert {{
    condition     = jsonencode(module.network[0].availability_zones) == jsonencode({json.dumps(expected)})
    error_message = "subnets in ${{jsonencode(module.network[0].availability_zones)}}, not {expected}"
  }}
}}
"""


@pytest.fixture(scope="module")
def terraform_test(tf: Any, tf_workdir: Path, tf_env: dict[str, str]):
    def run(name: str, hcl: str) -> str:
        return run_terraform_test(tf_workdir, tf_env, name, hcl)

    return run


# (region, zones the account lists as available, the two the subnets must take)
ACCOUNTS = [
    # An account whose us-east-1 lists no "a" or "b" as available (letters are per account).
    ("us-east-1", ["us-east-1f", "us-east-1c", "us-east-1d"], ["us-east-1c", "us-east-1d"]),
    # ap-northeast-1 has no zone "b" for newer accounts.
    (
        "ap-northeast-1",
        ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"],
        ["ap-northeast-1a", "ap-northeast-1c"],
    ),
]


def test_subnets_take_the_zones_the_account_lists(terraform_test, tf_workdir: Path) -> None:
    runs = [
        zone_scenario(region, listed, expected, tf_workdir / "artifacts")
        for region, listed, expected in ACCOUNTS
    ]
    out = terraform_test("zones", "\n".join(runs))
    assert f"{len(ACCOUNTS)} passed, 0 failed" in out, out


def test_a_region_listing_one_zone_is_refused_with_a_clear_message(
    terraform_test, tf_workdir: Path
) -> None:
    out = terraform_test(
        "one_zone",
        zone_scenario("us-east-1", ["us-east-1c"], ["us-east-1c"], tf_workdir / "artifacts"),
    )
    assert "0 passed, 1 failed" in out, out
    text = " ".join(out.split())
    assert "The account lists 1 available availability zone(s) in us-east-1 (us-east-1c)" in text
    assert "Set vpc_availability_zones to two zones that take subnets." in text


def test_given_zones_are_used_and_the_data_source_is_not_read(plan_factory) -> None:
    """One subnet per zone of the module's availability_zones output (what the scenarios above
    check), in that order."""
    zones = ["us-east-1d", "us-east-1f"]
    plan = plan_factory(bucket_name_suffix="t1", enable_vpc=True, vpc_availability_zones=zones)
    subnets = sorted(plan.of_type("aws_subnet").values(), key=lambda s: s["cidr_block"])
    assert [s["availability_zone"] for s in subnets] == zones
    network = plan.raw["configuration"]["root_module"]["module_calls"]["network"]["module"]
    assert network["outputs"]["availability_zones"]["expression"]["references"] == ["local.azs"]
    assert not [a for a in plan.changes if "aws_availability_zones" in a]


def test_the_data_source_asks_for_available_plain_zones(plan_factory) -> None:
    plan = plan_factory(bucket_name_suffix="t1")  # the configuration is the same in any plan
    config = plan.config_resource(["network"], "data.aws_availability_zones.available")
    expressions = config["expressions"]
    assert expressions["state"]["constant_value"] == "available"
    (zone_type,) = expressions["filter"]
    assert zone_type["name"]["constant_value"] == "zone-type"
    assert zone_type["values"]["constant_value"] == ["availability-zone"]


def test_the_functions_network_outputs_wait_for_routes_endpoints_and_egress(
    plan_factory, root_local
) -> None:
    """The functions' vpc_config reads these two outputs: they must depend on everything that
    gives the subnets their way to S3 and DynamoDB, or a first apply races."""
    plan = plan_factory(bucket_name_suffix="t1")
    network = plan.raw["configuration"]["root_module"]["module_calls"]["network"]["module"]
    for name in ("private_subnet_ids", "function_security_group_id"):
        assert set(network["outputs"][name].get("depends_on", [])) >= NETWORK_READY, name
    main = plan.raw["configuration"]["root_module"]
    settings = main["module_calls"]["api"]["expressions"]["function_settings"]
    assert "local.function_settings" in settings["references"]
    assert "local.function_vpc_subnet_ids" in root_local("function_settings")["vpc"]
