"""The page's Content-Security-Policy against the hosts the stack really hands the browser, in
several regions (us-east-1, whose S3 host botocore shapes differently by default, and regions
opened after 2019).

`terraform plan` cannot show the policy on AWS (it names the REST API's id, known after apply),
so ``terraform test`` applies the real root configuration with a mocked AWS provider
(``mock_provider``: nothing is called). What the mock must invent is derived, never copied:
the partition's DNS suffix comes from botocore's partition data for the region, and the stage's
invoke URL is the shape AWS gives it (``https://<api id>.execute-api.<region>.<suffix>/<stage>``).
Then, for each region:

* the policy is the one the CloudFront response-headers policy carries in that state;
* the presigned PUT and the presigned variant GET are signed by the API function's own code
  (``common.s3_client.make_client`` and ``api.storage.S3Storage``) with the function's
  environment from that state and the region Lambda gives it, offline;
* the API URL and (with sign-in) the Cognito endpoint are the ones the generated
  ``config.json`` hands the page; Cognito's must also be botocore's ``cognito-idp`` endpoint;

and every one must be admitted by the directive the browser checks it against
(``tools/csp_policy.py``, the same matcher ``tools/smoke.py`` applies to a real deployment).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import loaders

from api import config as api_config
from api import delivery as api_delivery
from api import storage as api_storage
from common import s3_client
from tools import csp_policy

pytestmark = pytest.mark.terraform

REPO = Path(__file__).resolve().parents[2]
ROOT_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "providers.tf")
SUFFIX = "t1"
API_ID = "a1b2c3d4e5"
# (region, auth): us-east-1 both ways, an older region, and regions opened after 2019
# (ap-southeast-3 2021, il-central-1 2023, mx-central-1 2025).
CASES = (
    ("us-east-1", "none"),
    ("us-east-1", "cognito"),
    ("eu-west-1", "none"),
    ("ap-southeast-3", "cognito"),
    ("il-central-1", "cognito"),
    ("mx-central-1", "none"),
)
CSP = "module.cdn[0].aws_cloudfront_response_headers_policy.this"
CONFIG = "module.web_site.aws_s3_object.config"
API_FUNCTION = "module.api.module.function.aws_lambda_function.this"
STAGE = "module.api.aws_api_gateway_stage.this"
FAKE_ACCOUNT = "123456789012"


def dns_suffix(region: str) -> str:
    """The DNS suffix of the region's partition, from botocore's own partition data."""
    for partition in loaders.create_loader().load_data("endpoints")["partitions"]:
        if region in partition["regions"] or re.match(partition["regionRegex"], region):
            return partition["dnsSuffix"]
    raise AssertionError(f"botocore knows no partition for {region}")


def arn(service: str, resource: str, region: str = "us-east-1") -> str:
    return f"arn:aws:{service}:{region}:{FAKE_ACCOUNT}:{resource}"


def mock_block(alias: str | None, region: str) -> str:
    """A mocked AWS provider: ARN-shaped ARNs where the configuration parses or validates them,
    and the region's real partition suffix."""
    defaults = {
        "aws_iam_role": {"arn": f"arn:aws:iam::{FAKE_ACCOUNT}:role/mock"},
        "aws_lambda_layer_version": {
            "arn": arn("lambda", "layer:mock:1"),
            "layer_arn": arn("lambda", "layer:mock"),
        },
        "aws_sqs_queue": {"arn": arn("sqs", "mock")},
        "aws_api_gateway_rest_api": {"execution_arn": arn("execute-api", "mockapi")},
        "aws_lambda_function": {
            "arn": arn("lambda", "function:mock"),
            "qualified_arn": arn("lambda", "function:mock:1"),
            "invoke_arn": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            + arn("lambda", "function:mock")
            + "/invocations",
        },
        "aws_cloudwatch_log_group": {"arn": arn("logs", "log-group:mock")},
        "aws_sns_topic": {"arn": arn("sns", "mock")},
        "aws_dynamodb_table": {"arn": arn("dynamodb", "table/mock")},
        "aws_cloudfront_distribution": {
            "arn": f"arn:aws:cloudfront::{FAKE_ACCOUNT}:distribution/MOCK",
            "domain_name": "dmock.cloudfront.net",
        },
        "aws_s3_bucket": {"arn": "arn:aws:s3:::mock"},
        "aws_cognito_user_pool": {"arn": arn("cognito-idp", "userpool/mock")},
    }
    lines = ['mock_provider "aws" {', *([f'  alias = "{alias}"'] if alias else [])]
    for rtype, values in defaults.items():
        lines += [f'  mock_resource "{rtype}" {{', f"    defaults = {json.dumps(values)}", "  }"]
    partition = {"dns_suffix": dns_suffix(region), "partition": "aws", "id": "aws"}
    lines += [
        '  mock_data "aws_partition" {',
        f"    defaults = {json.dumps(partition)}",
        "  }",
        '  mock_data "aws_iam_policy_document" {',
        '    defaults = { json = "{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[]}" }',
        "  }",
        "}",
    ]
    return "\n".join(lines)


def run_block(region: str, auth: str, artifacts: Path) -> str:
    suffix = dns_suffix(region)
    return "\n".join(
        [
            'run "mocked_apply" {',
            "  command = apply",
            "  variables {",
            f'    region             = "{region}"',
            f'    auth               = "{auth}"',
            # (signed images need a key pair; their URLs are on the same distribution)
            '    image_access       = "public"',
            f'    bucket_name_suffix = "{SUFFIX}"',
            f'    artifacts_dir      = "{artifacts}"',
            "  }",
            "  override_resource {",
            "    target = module.api.aws_api_gateway_rest_api.this",
            f'    values = {{ id = "{API_ID}", execution_arn = "{arn("execute-api", API_ID, region)}" }}',
            "  }",
            "  override_resource {",
            f"    target = {STAGE}",
            f'    values = {{ invoke_url = "https://{API_ID}.execute-api.{region}.{suffix}/v1" }}',
            "  }",
            "}",
        ]
    )


@pytest.fixture(scope="module")
def states(tmp_path_factory, tf_env) -> dict[tuple[str, str], dict[str, Any]]:
    """The applied (mocked) state of each case, by (region, auth)."""
    work = tmp_path_factory.mktemp("csp_regions")
    for name in ROOT_FILES:
        shutil.copy2(REPO / name, work / name)
    for name in ("modules", "lambda_src", "web"):
        (work / name).symlink_to(REPO / name, target_is_directory=True)
    artifacts = work / "artifacts"
    artifacts.mkdir()
    for name in ("api", "processor", "pillow-layer-x86_64", "sdk-layer-x86_64"):
        with zipfile.ZipFile(artifacts / f"{name}.zip", "w") as zf:
            zf.writestr("handler.py", "# dummy artefact for the mocked apply\n")
    tests = work / "tests"
    tests.mkdir()
    # One file per case: each file has its own mocked providers and its own state.
    files = {}
    for index, (region, auth) in enumerate(CASES):
        name = f"tests/case{index}.tftest.hcl"
        blocks = [mock_block(None, region), mock_block("us_east_1", region)]
        (work / name).write_text("\n\n".join([*blocks, run_block(region, auth, artifacts)]))
        files[name] = (region, auth)

    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(work)), **tf_env}
    subprocess.run(
        ["terraform", "init", "-input=false", "-backend=false"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        ["terraform", "test", "-verbose", "-json"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    errors = [
        f"{m['@message']}: {m.get('diagnostic', {}).get('detail', '')}"
        for m in messages
        if m.get("@level") == "error"
    ]
    assert not errors, "\n".join(errors)
    assert done.returncode == 0, done.stderr
    found = {files[m["@testfile"]]: m["test_state"] for m in messages if m["type"] == "test_state"}
    assert sorted(found) == sorted(CASES), [m["@message"] for m in messages]
    return found


def resources(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            out[res["address"]] = res["values"]
        for child in module.get("child_modules", []):
            walk(child)

    walk(state["root_module"])
    return out


def signed_urls(function_env: dict[str, str], region: str, monkeypatch) -> tuple[str, str, str]:
    """A presigned PUT, a presigned variant GET and the variant URL the API hands out in the
    stack's delivery mode (api/delivery.py), from the API function's own code with the
    environment Terraform gives it and the region Lambda adds (no network: signing is local)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    environ = {**function_env, "AWS_REGION": region}
    config = api_config.load_config(environ)
    store = api_storage.S3Storage(s3_client.make_client(environ), config)
    upload_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    delivered = api_delivery.Delivery(config.delivery, store.presign_download)
    return (
        store.presign_upload(upload_id, "image/jpeg", 1234),
        store.presign_download(f"{upload_id}/large.jpg"),
        delivered.url(f"{upload_id}/large.jpg"),
    )


@pytest.mark.parametrize(("region", "auth"), CASES, ids=[f"{r}-{a}" for r, a in CASES])
def test_the_csp_admits_every_host_the_stack_hands_the_page(
    states, region: str, auth: str, monkeypatch
) -> None:
    values = resources(states[(region, auth)])
    headers = values[CSP]["security_headers_config"][0]
    policy = csp_policy.parse(headers["content_security_policy"][0]["content_security_policy"])
    page = f"https://{states[(region, auth)]['outputs']['cdn_domain_name']['value']}"
    config = json.loads(values[CONFIG]["content"])
    function_env = values[API_FUNCTION]["environment"][0]["variables"]

    put_url, get_url, image_url = signed_urls(function_env, region, monkeypatch)
    assert image_url.startswith(f"{page}/")  # public mode: on the distribution ('self')
    checks = [
        ("connect-src", put_url),
        ("img-src", image_url),
        ("connect-src", config["apiUrl"] + "/uploads"),
    ]
    if auth == "cognito":
        cognito = boto3.client("cognito-idp", region_name=region).meta.endpoint_url
        assert config["auth"]["endpoint"].rstrip("/") == cognito
        checks.append(("connect-src", config["auth"]["endpoint"]))
    assert csp_policy.refusals(policy, checks, page) == []
    # ...and nothing wider than the stack's own hosts: images come only from the distribution,
    # so even the stack's own output bucket is refused (its presigned GETs exist only without a
    # distribution, where no CloudFront header applies).
    assert csp_policy.refusals(policy, [("connect-src", "https://example.com/")], page) != []
    assert csp_policy.refusals(policy, [("img-src", get_url)], page) != []
