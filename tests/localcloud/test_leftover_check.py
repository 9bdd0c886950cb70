"""The leftover check of every stack the tests stand up (tests/support/stacks.py): derived from
the state, it names what a destroy left on the emulator, whatever its kind, and nothing else.

A throwaway configuration of three resources of kinds the shared stacks also have: the bucket is
taken out of the state before the destroy (the way a resource the provider failed to delete
outlives it), so the destroy removes only the topic and the dashboard. (A topic rather than a
queue: the provider spends about 25 s creating a queue and 40 s re-reading a deleted one on the
emulator, a minute of every run for the same proof.)
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import tftest

from local import cloud_settings
from support import stacks

CONFIGURATION = """
variable "name" {
  type = string
}

resource "aws_s3_bucket" "kept" {
  bucket        = "${var.name}-kept"
  force_destroy = true
}

resource "aws_sns_topic" "destroyed" {
  name = "${var.name}-destroyed"
}

# LocalStack answers the read of a deleted dashboard with InvalidParameterValue ("does not
# exist"), which the provider does not take for "gone": the check must still see it gone.
resource "aws_cloudwatch_dashboard" "destroyed" {
  dashboard_name = "${var.name}-destroyed"
  dashboard_body = jsonencode({ widgets = [] })
}
"""


def applied(workdir: Path, provider: str, name: str) -> tftest.TerraformTest:
    (workdir / "main.tf").write_text(CONFIGURATION)
    (workdir / "provider.tf").write_text(provider)
    (workdir / "run.auto.tfvars.json").write_text(json.dumps({"name": name}))
    terraform = tftest.TerraformTest(str(workdir), env=cloud_settings.terraform_env())
    terraform.setup(cleanup_on_exit=False)
    terraform.apply()
    return terraform


def test_the_leftover_check_names_what_the_destroy_left_and_only_that(
    tmp_path: Path, emulator_endpoint: str, sidecar_endpoint: str, aws_client
) -> None:
    name = f"leftover-{uuid.uuid4().hex[:8]}"
    provider = cloud_settings.provider_override(emulator_endpoint, sidecar_endpoint)
    terraform = applied(tmp_path, provider, name)
    before_destroy = stacks.state_snapshot(tmp_path)
    stacks.terraform(tmp_path, "state", "rm", "aws_s3_bucket.kept")
    terraform.destroy()
    try:
        assert stacks.leftovers(tmp_path, before_destroy, provider) == [
            f"aws_s3_bucket {name}-kept (aws_s3_bucket.kept)"
        ]
    finally:
        aws_client("s3").delete_bucket(Bucket=f"{name}-kept")
    assert stacks.leftovers(tmp_path, before_destroy, provider) == []
