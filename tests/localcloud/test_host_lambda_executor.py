"""The local emulator itself: LocalStack on the host with the project's Lambda executor.

These run against a real LocalStack started by the test run (tests/support/stacks.py).
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.localcloud

HANDLER = """
import json, os, subprocess, sys, time
import boto3
import greeting  # provided by the layer


def handler(event, context):
    print("handling", json.dumps(event))
    action = event.get("action")
    if action == "raise":
        raise ValueError("the handler refused")
    if action == "sleep":
        child = subprocess.Popen(["sleep", "300"])
        with open(event["pid_file"], "w") as pid_file:
            pid_file.write(f"{os.getpid()} {child.pid}")
        time.sleep(event["seconds"])
        with open(event["pid_file"] + ".finished", "w") as finished:  # only if never stopped
            finished.write("the sleep ran to its end")
    if action == "allocate":
        hoard = bytearray(event["megabytes"] * 1024 * 1024)  # zero pages: touch them to be resident
        for offset in range(0, len(hoard), 4096):
            hoard[offset] = 1
        while event.get("hold"):  # keep it resident until the executor stops the invocation
            time.sleep(60)
        return {"allocated": len(hoard)}
    if "Records" in event:  # S3 notification: copy a marker to the target bucket
        record = event["Records"][0]["s3"]
        boto3.client("s3").put_object(
            Bucket=os.environ["TARGET_BUCKET"],
            Key="seen/" + record["object"]["key"],
            Body=record["bucket"]["name"].encode(),
        )
        return {"copied": record["object"]["key"]}
    if "httpMethod" in event:  # API Gateway proxy
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Probe": "yes"},
            "body": json.dumps({"path": event["path"], "greeting": greeting.hello("api")}),
        }
    return {
        "greeting": greeting.hello(event.get("name", "nobody")),
        "python": sys.version.split()[0],
        "remaining_ms": context.get_remaining_time_in_millis(),
        "target": os.environ.get("TARGET_BUCKET"),
    }
"""

LAYER_MODULE = 'def hello(name):\n    return f"hello {name}"\n'


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def role_arn(aws_client: Callable[..., Any]) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return aws_client("iam").create_role(
        RoleName=unique("probe"), AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]


@pytest.fixture(scope="module")
def target_bucket(aws_client: Callable[..., Any]) -> str:
    name = unique("probe-target")
    aws_client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def probe_function(aws_client: Callable[..., Any], role_arn: str, target_bucket: str) -> str:
    """A python3.12 function from a zip plus a layer that provides a module it imports."""
    lambda_client = aws_client("lambda")
    layer = lambda_client.publish_layer_version(
        LayerName=unique("greeting"),
        Content={"ZipFile": zip_bytes({"python/greeting.py": LAYER_MODULE})},
        CompatibleRuntimes=["python3.12"],
    )
    name = unique("probe")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": HANDLER})},
        Layers=[layer["LayerVersionArn"]],
        Timeout=3,
        Environment={"Variables": {"TARGET_BUCKET": target_bucket}},
    )
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def invoke(aws_client: Callable[..., Any], name: str, event: dict[str, Any]) -> dict[str, Any]:
    client = aws_client("lambda", read_timeout=60)
    response = client.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    response["Body"] = json.loads(response["Payload"].read())
    return response


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


def test_function_with_layer_becomes_active_and_returns_its_result(
    aws_client, probe_function, target_bucket
):
    configuration = aws_client("lambda").get_function(FunctionName=probe_function)["Configuration"]
    assert configuration["State"] == "Active"

    response = invoke(aws_client, probe_function, {"name": "world"})

    assert "FunctionError" not in response
    assert response["Body"]["greeting"] == "hello world"
    assert response["Body"]["python"].startswith("3.12.")
    assert response["Body"]["target"] == target_bucket
    assert 0 < response["Body"]["remaining_ms"] <= 3000


def test_logs_are_captured_with_platform_lines(aws_client, probe_function):
    import base64

    response = invoke(aws_client, probe_function, {"name": "logged"})

    tail = base64.b64decode(response["LogResult"]).decode()
    assert 'handling {"name": "logged"}' in tail
    assert tail.startswith("START RequestId:")
    assert "END RequestId:" in tail
    assert "REPORT RequestId:" in tail


def test_handler_exception_is_a_function_error_with_stack_trace(aws_client, probe_function):
    response = invoke(aws_client, probe_function, {"action": "raise"})

    assert response["FunctionError"] == "Unhandled"
    assert response["Body"]["errorType"] == "ValueError"
    assert response["Body"]["errorMessage"] == "the handler refused"
    assert any("app.py" in frame for frame in response["Body"]["stackTrace"])


def test_timeout_kills_the_handler_and_its_children(aws_client, probe_function, tmp_path):
    pid_file = tmp_path / "pids"

    response = invoke(
        aws_client, probe_function, {"action": "sleep", "seconds": 30, "pid_file": str(pid_file)}
    )

    assert response["FunctionError"] == "Unhandled"
    assert response["Body"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 3.00 seconds" in response["Body"]["errorMessage"]
    handler_pid, child_pid = (int(pid) for pid in pid_file.read_text().split())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (
        process_exists(handler_pid) or process_exists(child_pid)
    ):
        time.sleep(0.1)
    assert not process_exists(handler_pid), "the timed-out handler process is still running"
    assert not process_exists(child_pid), "a process started by the handler outlived the timeout"
    # The timeout stopped the handler mid-sleep: it never reached the line after its 30 s sleep
    # (no clock is read: the handler's own progress shows where it was stopped).
    assert not Path(f"{pid_file}.finished").exists(), "the invocation waited for the 30 s sleep"

    # The environment initialises again and serves the next invocation.
    assert (
        invoke(aws_client, probe_function, {"name": "again"})["Body"]["greeting"] == "hello again"
    )


def test_memory_over_the_configured_size_kills_the_invocation(aws_client, probe_function):
    import base64

    within = invoke(aws_client, probe_function, {"action": "allocate", "megabytes": 16})
    response = invoke(
        aws_client, probe_function, {"action": "allocate", "megabytes": 400, "hold": True}
    )

    assert "FunctionError" not in within
    assert "Max Memory Used: " in base64.b64decode(within["LogResult"]).decode()
    assert response["FunctionError"] == "Unhandled"
    assert response["Body"]["errorType"] == "Runtime.OutOfMemory"
    assert (
        invoke(aws_client, probe_function, {"name": "after"})["Body"]["greeting"] == "hello after"
    )


def test_s3_notification_is_accepted_and_runs_the_function(
    aws_client, probe_function, target_bucket
):
    s3 = aws_client("s3")
    lambda_client = aws_client("lambda")
    source = unique("probe-source")
    s3.create_bucket(Bucket=source)
    function_arn = lambda_client.get_function(FunctionName=probe_function)["Configuration"][
        "FunctionArn"
    ]
    lambda_client.add_permission(
        FunctionName=probe_function,
        StatementId=unique("s3"),
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{source}",
    )
    s3.put_bucket_notification_configuration(
        Bucket=source,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": function_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}},
                }
            ]
        },
    )

    s3.put_object(Bucket=source, Key="in/photo.jpg", Body=b"payload")

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = s3.list_objects_v2(Bucket=target_bucket, Prefix="seen/in/photo.jpg").get(
            "KeyCount", 0
        )
        if found:
            break
        time.sleep(0.2)
    marker = s3.get_object(Bucket=target_bucket, Key="seen/in/photo.jpg")["Body"].read()
    assert marker == source.encode()


def test_api_gateway_proxy_integration_returns_the_handler_response(
    aws_client, probe_function, emulator_endpoint, role_arn
):
    apigateway = aws_client("apigateway")
    lambda_client = aws_client("lambda")
    function_arn = lambda_client.get_function(FunctionName=probe_function)["Configuration"][
        "FunctionArn"
    ]
    api_id = apigateway.create_rest_api(name=unique("probe-api"))["id"]
    root_id = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    resource_id = apigateway.create_resource(restApiId=api_id, parentId=root_id, pathPart="things")[
        "id"
    ]
    apigateway.put_method(
        restApiId=api_id, resourceId=resource_id, httpMethod="POST", authorizationType="NONE"
    )
    apigateway.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    lambda_client.add_permission(
        FunctionName=probe_function,
        StatementId=unique("api"),
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    apigateway.create_deployment(restApiId=api_id, stageName="test")

    response = requests.post(
        f"{emulator_endpoint}/_aws/execute-api/{api_id}/test/things", json={}, timeout=30
    )

    assert response.status_code == 201
    assert response.headers["X-Probe"] == "yes"
    assert response.json() == {"path": "/things", "greeting": "hello api"}


def test_unsupported_runtime_fails_with_a_clear_reason(aws_client, role_arn):
    lambda_client = aws_client("lambda")
    name = unique("node")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="nodejs20.x",
        Role=role_arn,
        Handler="index.handler",
        Code={"ZipFile": zip_bytes({"index.js": "exports.handler = async () => 1;"})},
    )
    deadline = time.monotonic() + 10
    configuration = {}
    while time.monotonic() < deadline:
        configuration = lambda_client.get_function(FunctionName=name)["Configuration"]
        if configuration["State"] != "Pending":
            break
        time.sleep(0.2)
    assert configuration["State"] == "Failed"
    assert "cannot run runtime 'nodejs20.x'" in configuration["StateReason"]


def test_import_error_is_reported_as_a_function_error(aws_client, role_arn):
    lambda_client = aws_client("lambda")
    name = unique("broken")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": "import module_that_does_not_exist\n"})},
    )
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name)

    response = invoke(aws_client, name, {})

    assert response["FunctionError"] == "Unhandled"
    assert response["Body"]["errorType"] == "Runtime.ImportModuleError"
    assert "module_that_does_not_exist" in response["Body"]["errorMessage"]


def test_presigned_put_with_a_different_content_type_is_refused(aws_client):
    s3 = aws_client("s3", signature_version="s3v4")
    bucket = unique("probe-presign")
    s3.create_bucket(Bucket=bucket)
    url = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "uploads/one", "ContentType": "image/jpeg"},
        ExpiresIn=60,
    )

    refused = requests.put(url, data=b"x" * 10, headers={"Content-Type": "image/png"}, timeout=10)
    accepted = requests.put(url, data=b"x" * 10, headers={"Content-Type": "image/jpeg"}, timeout=10)

    assert refused.status_code == 403
    assert accepted.status_code == 200


def test_presigned_put_binds_length_and_refuses_overwrite(aws_client):
    s3 = aws_client("s3", signature_version="s3v4")
    bucket = unique("probe-presign")
    s3.create_bucket(Bucket=bucket)
    url = s3.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": bucket,
            "Key": "uploads/two",
            "ContentType": "image/jpeg",
            "ContentLength": 10,
            "IfNoneMatch": "*",
        },
        ExpiresIn=60,
    )
    headers = {"Content-Type": "image/jpeg", "If-None-Match": "*"}

    wrong_length = requests.put(url, data=b"x" * 11, headers=headers, timeout=10)
    first = requests.put(url, data=b"a" * 10, headers=headers, timeout=10)
    second = requests.put(url, data=b"b" * 10, headers=headers, timeout=10)

    assert wrong_length.status_code == 403
    assert first.status_code == 200
    assert second.status_code == 412
    assert s3.get_object(Bucket=bucket, Key="uploads/two")["Body"].read() == b"a" * 10
