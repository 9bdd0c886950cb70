#!/usr/bin/env python3
"""Deploy the root Terraform configuration onto the local emulator.

    python -m local.stack up        # apply, then print the page and API URLs
    python -m local.stack up --auth cognito   # the same with sign-in (users: python -m tools.users)
    python -m local.stack outputs   # `terraform output -json` of the local deployment
    python -m local.stack destroy

The root configuration is linked into a working folder of its own (`.local/stack` by default)
beside a provider override that points every AWS service at the emulator with fake credentials.
The override exists only there, and the local state lives only there, so a local deployment
never shares state with a real-AWS one and neither can target the other by accident.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

import tftest

from local import cloud_settings

REPO = cloud_settings.REPO
DEFAULT_WORKDIR = REPO / ".local" / "stack"
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"


class LocalDeployment:
    """The root stack in its own working folder, applied on the emulator at `endpoint`."""

    def __init__(
        self,
        workdir: Path,
        endpoint: str,
        extra_vars: dict[str, Any] | None = None,
        sidecar_endpoint: str | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.endpoint = endpoint.rstrip("/")
        self.sidecar_endpoint = sidecar_endpoint or cloud_settings.default_sidecar(self.endpoint)
        self.variables = {
            "emulator_endpoint": self.endpoint,
            "emulator_sidecar_endpoint": self.sidecar_endpoint,
            "artifacts_dir": str(REPO / "dist"),
            **(extra_vars or {}),
        }
        self._tf: tftest.TerraformTest | None = None

    def prepare(self) -> None:
        cloud_settings.link_root(self.workdir)
        (self.workdir / "emulator_override.tf").write_text(
            cloud_settings.provider_override(self.endpoint, self.sidecar_endpoint)
        )
        (self.workdir / "emulator.auto.tfvars.json").write_text(
            json.dumps(self.variables, indent=2) + "\n"
        )

    @property
    def terraform(self) -> tftest.TerraformTest:
        if self._tf is None:
            self._tf = tftest.TerraformTest(self.workdir, env=cloud_settings.terraform_env())
        return self._tf

    def apply(self, show_progress: bool = False) -> None:
        """``terraform apply``; with ``show_progress`` each resource is printed as it is done."""
        self.prepare()
        self.terraform.setup(cleanup_on_exit=False)
        if show_progress:
            apply_with_progress(self.workdir, self.terraform.env)
        else:
            self.terraform.apply()

    def outputs(self) -> dict[str, Any]:
        return dict(self.terraform.output())

    def pending_changes(self) -> list[str]:
        """Addresses that a fresh plan would change (empty when the stack is converged)."""
        plan = self.terraform.plan(output=True)
        return [
            change["address"]
            for change in plan.get("resource_changes", [])
            if change["change"]["actions"] not in (["no-op"], ["read"])
        ]

    def pending_attribute_changes(self) -> dict[str, dict[str, tuple[Any, Any]]]:
        """What a fresh plan would change: address -> attribute -> (now, planned)."""
        plan = self.terraform.plan(output=True)
        changes: dict[str, dict[str, tuple[Any, Any]]] = {}
        for change in plan.get("resource_changes", []):
            if change["change"]["actions"] in (["no-op"], ["read"]):
                continue
            before = change["change"].get("before") or {}
            after = change["change"].get("after") or {}
            changes[change["address"]] = {
                key: (before.get(key), after.get(key))
                for key in sorted(set(before) | set(after))
                if before.get(key) != after.get(key)
            }
        return changes

    def destroy(self) -> None:
        if (self.workdir / ".terraform").exists():
            self.terraform.destroy()


def apply_with_progress(workdir: Path, env: dict[str, str], out: TextIO = sys.stdout) -> None:
    """Run ``terraform apply -json`` and print one line per finished resource with a count.

    An apply on the emulator takes over a minute; this says what is happening meanwhile
    (``[ 12/41] created module.api.aws_api_gateway_rest_api.this (1s)``). Terraform's own
    diagnostics are printed as they come; a failed apply raises ``TerraformTestError``.
    """
    command = ["terraform", "apply", "-auto-approve", "-input=false", "-no-color", "-json"]
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    progress = ApplyProgress(out)
    for line in process.stdout:
        progress.handle(line)
    stderr = process.stderr.read() if process.stderr else ""
    if process.wait() != 0:
        raise tftest.TerraformTestError(
            f"terraform apply failed:\n{chr(10).join(progress.errors)}\n{stderr}"
        )


DONE_VERBS = {"create": "created", "update": "updated", "delete": "deleted", "replace": "replaced"}


class ApplyProgress:
    """Turns ``terraform apply -json`` messages into short progress lines."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.total = 0
        self.done = 0
        self.errors: list[str] = []

    def handle(self, line: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        kind = message.get("type")
        if kind == "change_summary" and message["changes"].get("operation") == "plan":
            changes = message["changes"]
            self.total = changes["add"] + changes["change"] + changes["remove"]
            self.say(f"applying {self.total} changes")
        elif kind == "apply_complete" and message["hook"].get("action") in DONE_VERBS:
            self.done += 1
            hook = message["hook"]
            verb = DONE_VERBS.get(hook.get("action"), hook.get("action", "done"))
            width = len(str(self.total))
            self.say(
                f"[{self.done:>{width}}/{self.total}] {verb} {hook['resource']['addr']}"
                f" ({hook.get('elapsed_seconds', 0)}s)"
            )
        elif kind == "diagnostic" and message.get("@level") == "error":
            self.errors.append(message.get("@message", ""))
            self.say(f"error: {message.get('@message', '')}")

    def say(self, text: str) -> None:
        print(f"[terraform] {text}", file=self.out, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["up", "outputs", "destroy"])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--endpoint", default=os.environ.get("EMULATOR_ENDPOINT", DEFAULT_ENDPOINT))
    parser.add_argument(
        "--auth",
        choices=["none", "cognito"],
        default=os.environ.get("AUTH") or None,
        help="the stack's auth variable (default: keep the last applied, or none); env AUTH",
    )
    args = parser.parse_args()
    extra = {"auth": args.auth} if args.auth else None
    if extra is None and (args.workdir / "emulator.auto.tfvars.json").exists():
        previous = json.loads((args.workdir / "emulator.auto.tfvars.json").read_text())
        extra = {"auth": previous["auth"]} if "auth" in previous else None
    deployment = LocalDeployment(args.workdir, args.endpoint, extra)
    try:
        if args.command == "up":
            deployment.apply(show_progress=True)
            outputs = deployment.outputs()
            print(f"\nThe page:  {outputs['web_url']}\nThe API:   {outputs['api_url']}")
        elif args.command == "outputs":
            print(json.dumps(deployment.outputs(), indent=2))
        else:
            deployment.destroy()
    except tftest.TerraformTestError as error:
        print(f"terraform failed:\n{error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
