"""Fixtures for the Terraform plan tests (no emulator, no network, fake credentials).

The root stack is copied into a temporary folder (root ``*.tf`` files, ``modules/`` linked) with
an ``override.tf`` that gives the AWS provider fake credentials and turns off every start-up call,
dummy zips as ``artifacts_dir`` and a small synthetic ``web/`` folder. ``terraform init`` runs
once per session; plans are cached per variable set.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
import tftest

from local import cloud_settings

REPO = cloud_settings.REPO

# Files of the synthetic page: (relative path, bytes).
WEB_FILES: dict[str, bytes] = {
    "index.html": b"<!doctype html><title>t</title>",
    "js/app.js": b"export const x = 1;\n",
    "css/style.css": b"body{}\n",
    "favicon.ico": b"\x00\x00\x01\x00",
    "icons/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "img/sample.png": b"\x89PNG\r\n\x1a\n",
    "site.webmanifest": b"{}",
    "data/strings.json": b"{}",
    "notes.bin": b"\x01\x02",
    # never published:
    "config.json": b'{"apiUrl": "http://local-dev"}',
    ".hidden": b"secret",
    "js/.eslintrc": b"{}",
}


# Nothing in these plans may reach AWS. The only data source that would (the account's zones,
# enable_vpc without vpc_availability_zones) fails at once on a closed local port instead of
# retrying for minutes: those plans run with terraform test's override_data
# (test_network_plan.py).
NO_AWS_OVERRIDE = "\n".join(
    f"""provider "aws" {{
{f'  alias       = "{alias}"' if alias else ""}
  max_retries = 1
  endpoints {{
    ec2 = "http://127.0.0.1:9"
  }}
}}
"""
    for alias in (None, *cloud_settings.PROVIDER_ALIASES)
)


def _dummy_zip(path: Path, name: str) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, "# dummy artefact for plan tests\n")


@pytest.fixture(scope="session")
def tf_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away copy of the root module, ready for ``terraform init``."""
    assert shutil.which("terraform"), "terraform is not on PATH: install Terraform >= 1.9"
    work = tmp_path_factory.mktemp("tfroot")
    for name in cloud_settings.ROOT_FILES:
        shutil.copy2(REPO / name, work / name)
    for name in ("modules", "lambda_src"):
        (work / name).symlink_to(REPO / name, target_is_directory=True)
    (work / "override.tf").write_text(cloud_settings.provider_override(None))
    (work / "no_aws_override.tf").write_text(NO_AWS_OVERRIDE)

    for rel, data in WEB_FILES.items():
        dest = work / "web" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)

    dist = work / "artifacts"
    dist.mkdir()
    for name in ("api", "processor"):
        _dummy_zip(dist / f"{name}.zip", "handler.py")
    for name in ("pillow-layer", "sdk-layer"):  # build.sh --arch: one zip per architecture
        for arch in ("x86_64", "arm64"):
            _dummy_zip(dist / f"{name}-{arch}.zip", "handler.py")
    return work


@pytest.fixture(scope="session")
def tf_env(tf_workdir: Path) -> dict[str, str]:
    """The fake account and the project's CLI config (offline provider mirror when present)."""
    return cloud_settings.terraform_env()


@pytest.fixture(scope="session")
def tf(tf_workdir: Path, tf_env: dict[str, str]) -> Iterator[Any]:
    """tftest handle on the copied root, initialised once for the whole session."""
    handle = tftest.TerraformTest(str(tf_workdir), env=tf_env)
    try:
        handle.setup(upgrade=False, cleanup_on_exit=True)
    except tftest.TerraformTestError as exc:
        pytest.fail(f"terraform init failed (is the provider mirror configured?):\n{exc}")
    return handle


class Plan:
    """Convenience view of `terraform show -json` output."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.resources: dict[str, dict[str, Any]] = {}
        self._walk(raw["planned_values"]["root_module"])
        self.changes: dict[str, dict[str, Any]] = {
            rc["address"]: rc for rc in raw.get("resource_changes", [])
        }
        self.prior: dict[str, dict[str, Any]] = {}
        prior = raw.get("prior_state", {}).get("values", {}).get("root_module")
        if prior:
            self._walk(prior, self.prior)
        self.outputs = raw["planned_values"].get("outputs", {})

    def _walk(self, module: dict[str, Any], into: dict[str, dict[str, Any]] | None = None) -> None:
        target = self.resources if into is None else into
        for res in module.get("resources", []):
            target[res["address"]] = res
        for child in module.get("child_modules", []):
            self._walk(child, target)

    # -- managed resources ---------------------------------------------------------------
    def values(self, address: str) -> dict[str, Any]:
        assert address in self.resources, f"{address} not planned; have: {sorted(self.resources)}"
        return self.resources[address]["values"]

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {
            a: r["values"]
            for a, r in self.resources.items()
            if r["type"] == rtype and r["mode"] == "managed"
        }

    def unknown(self, address: str) -> dict[str, Any]:
        return self.changes[address]["change"]["after_unknown"]

    # -- data sources (read at plan time, or deferred to apply) --------------------------
    def data(self, address: str) -> dict[str, Any]:
        if address in self.changes and self.changes[address]["change"]["actions"] == ["read"]:
            return self.changes[address]["change"]["after"]
        if address in self.prior:
            return self.prior[address]["values"]
        if address in self.resources:
            return self.resources[address]["values"]
        raise AssertionError(f"data source {address} is not in the plan")

    def statements(self, address: str) -> dict[str, dict[str, Any]]:
        """Statements of an aws_iam_policy_document by Sid (resources None where unknown)."""
        out = {}
        for st in self.data(address)["statement"]:
            out[st["sid"]] = {
                "effect": st["effect"],
                "actions": sorted(st["actions"] or []),
                "resources": sorted(st["resources"])
                if st["resources"] and None not in st["resources"]
                else None,
                "condition": [
                    (c["test"], c["variable"], sorted(c["values"]))
                    for c in st.get("condition") or []
                ],
                "principals": [
                    (p["type"], sorted(p["identifiers"])) for p in st.get("principals") or []
                ],
            }
        return out

    # -- configuration (for values only known after apply) -------------------------------
    def config_resource(self, module_path: list[str], address: str) -> dict[str, Any]:
        mod = self.raw["configuration"]["root_module"]
        for name in module_path:
            mod = mod["module_calls"][name]["module"]
        for res in mod.get("resources", []):
            if res["address"] == address:
                return res
        raise AssertionError(
            f"{address} not configured in module {'.'.join(module_path) or 'root'}"
        )

    def output(self, name: str) -> Any:
        return self.outputs[name].get("value")


@pytest.fixture(scope="session")
def root_local() -> Any:
    """``root_local(name)``: a local value of the root's main.tf as written (python-hcl2). Where
    a plan's configuration shows only ``local.<name>``, this is what it is built from."""
    with (REPO / "main.tf").open() as handle:
        blocks = hcl2.load(handle)["locals"]
    values = {name: value for block in blocks for name, value in block.items()}
    return values.__getitem__


def normalise(text: str) -> str:
    """Terraform's diagnostics without box drawing and line wrapping."""
    return re.sub(r"\s+", " ", text.replace("│", " ").replace("╷", " ").replace("╵", " "))


def tf_var_values(tf_vars: dict[str, Any]) -> dict[str, Any]:
    """tftest passes scalars with str(): spell bools the HCL way (None cannot be passed)."""
    out = {}
    for key, value in tf_vars.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif value is None:
            raise ValueError(f"{key}: null cannot be passed with -var; leave it out")
        out[key] = value
    return out


@pytest.fixture(scope="session")
def plan_factory(tf: Any, tf_workdir: Path):
    """``plan_factory(**tf_vars) -> Plan``; cached per variable set for the session."""
    cache: dict[str, Plan] = {}
    base = {"artifacts_dir": str(tf_workdir / "artifacts")}

    def make(**tf_vars: Any) -> Plan:
        merged = {**base, **tf_vars}
        key = json.dumps(merged, sort_keys=True)
        if key not in cache:
            cache[key] = Plan(tf.plan(output=True, tf_vars=tf_var_values(merged), refresh=False))
        return cache[key]

    return make


@pytest.fixture(scope="session")
def tf_variables_only(tmp_path_factory: pytest.TempPathFactory, tf_env: dict[str, str]) -> Any:
    """The root's variables.tf alone: its validation rules are self-contained, so plans of it
    check them in a fraction of a second (no provider, no resources)."""
    work = tmp_path_factory.mktemp("tfvars")
    shutil.copy2(REPO / "variables.tf", work / "variables.tf")
    # variables.tf validates with the shared rule set it reads from lambda_src/common.
    (work / "lambda_src").symlink_to(REPO / "lambda_src", target_is_directory=True)
    handle = tftest.TerraformTest(str(work), env=tf_env)
    handle.setup(cleanup_on_exit=True)
    return handle


@pytest.fixture(scope="session")
def plan_error(tf_variables_only: Any):
    """``plan_error(**tf_vars) -> str``: the normalised error text of a plan expected to fail."""

    def run(**tf_vars: Any) -> str:
        with pytest.raises(tftest.TerraformTestError) as excinfo:
            tf_variables_only.plan(output=False, tf_vars=tf_var_values(tf_vars), refresh=False)
        return normalise(excinfo.value.cmd_error or str(excinfo.value))

    return run
