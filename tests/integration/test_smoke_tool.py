"""tools/smoke.py, the check a user runs after `terraform apply`, against the local stack."""

from __future__ import annotations

from tools import smoke


def test_the_smoke_test_passes_on_the_deployed_stack(outputs_file, capsys):
    code = smoke.main(["--outputs", str(outputs_file), "--timeout", "90"])
    out = capsys.readouterr().out

    assert code == 0, out
    assert "FAILED" not in out
    for check in (
        "the page loads",
        "POST /uploads grants a presigned PUT",
        "a second PUT to the same URL is refused",
        "the photo ends done",
        "a large file goes up in checked parts, once",
        "an unaccepted content type gets 415",
        "a non-image ends rejected",
        "an unknown id gets 404",
        "the API's preflight may be reused for 2 h",
        "round trips: the API direct, the page via its host",
    ):
        assert f"ok      {check}" in out
    assert "ok      the page's CSP admits every URL handed out" in out
    # outcome events (issue 23): a temporary rule hears the photo's processed event, then goes
    assert "ok      its processed event arrives, schema-valid" in out
    assert "ok      the temporary rule and queue are removed" in out
    assert "all 16 checks passed" in out


def test_the_smoke_test_signs_in_with_a_throwaway_user_on_the_signed_in_stack(
    auth_stack_outputs, sidecar_endpoint, tmp_path, capsys
):
    import json

    import boto3

    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(auth_stack_outputs))
    auth = auth_stack_outputs["auth"]
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=sidecar_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )

    def smoke_users() -> list[str]:
        found = cognito.list_users(UserPoolId=auth["user_pool_id"])["Users"]
        return [u["Username"] for u in found if u["Username"].startswith("smoke-")]

    code = smoke.main(["--outputs", str(outputs_file), "--timeout", "90"])
    out = capsys.readouterr().out

    assert code == 0, out
    for check in (
        "without a token the API answers 401",
        "a throwaway user signs in",
        "the photo ends done",
        "the page's CSP admits every URL handed out",
        "the throwaway user is deleted",
    ):
        assert f"ok      {check}" in out
    assert smoke_users() == []


def test_the_smoke_test_fails_clearly_on_a_wrong_api(outputs_file, tmp_path, capsys):
    import json

    outputs = json.loads(outputs_file.read_text())
    wrong = tmp_path / "outputs.json"
    wrong.write_text(json.dumps({**outputs, "api_url": outputs["api_url"] + "/nowhere"}))

    code = smoke.main(["--outputs", str(wrong), "--timeout", "5"])
    out = capsys.readouterr().out

    assert code == 1
    assert "FAILED  config.json points at this API" in out
