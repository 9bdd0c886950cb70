"""Sign-in on the applied stack with auth = "cognito" (tests/support/stacks.py auth_stack_deployment):
the user pool in the moto sidecar, real tokens, and the API function checking them itself
(LocalStack does not enforce API Gateway authorizers, so this is the check that holds here)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from common.table import deserialise
from support import images, second_plan
from support.tokens import TokenFactory
from tools import stack_access

TIMEOUT = 90
# variables.tf's default variants (the stack under test keeps them): large and medium in AVIF
# and JPEG, thumb in WebP and JPEG
DEFAULT_VARIANTS = {"large", "medium", "thumb"}
DEFAULT_OUTPUTS = 6


@pytest.fixture(scope="module")
def outputs(auth_stack_outputs: dict[str, Any]) -> dict[str, Any]:
    return auth_stack_outputs


@pytest.fixture(scope="module")
def alice(make_user):
    return make_user("alice")


@pytest.fixture(scope="module")
def bob(make_user):
    return make_user("bob")


@pytest.fixture(scope="module")
def alices_upload(alice) -> dict[str, Any]:
    upload_id = alice.api.upload(images.jpeg((800, 600)), "image/jpeg", "holiday.jpg")
    result = alice.api.wait_for_final(upload_id, timeout=TIMEOUT)
    assert result["status"] == "done", result
    return result


def test_second_plan_of_the_signed_in_stack_shows_no_changes(auth_stack_deployment) -> None:
    """The pool, its client, the authorizer, the quota table and every sign-in setting come
    back from the emulator as planned: a second plan is empty (same accepted drift as the
    anonymous stack, tests/support/second_plan.py)."""
    assert second_plan.real_changes(auth_stack_deployment) == {}


def test_the_stack_publishes_its_sign_in_settings(outputs, sidecar_endpoint) -> None:
    auth = outputs["auth"]
    assert auth["mode"] == "cognito"
    assert auth["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{auth['user_pool_id']}"
    assert auth["cognito_endpoint"] == f"{sidecar_endpoint}/"
    config = stack_access.fetch_page_config(outputs["web_url"])
    assert config["auth"]["clientId"] == auth["client_id"]
    assert config["auth"]["userPoolId"] == auth["user_pool_id"]


def test_the_function_checks_tokens_with_the_sidecars_keys(outputs, aws_client, sidecar_endpoint):
    auth = outputs["auth"]
    config = aws_client("lambda").get_function_configuration(
        FunctionName=outputs["api_function_name"]
    )
    env = config["Environment"]["Variables"]
    assert env["AUTH_MODE"] == "cognito"
    assert env["AUTH_ISSUER"] == auth["issuer"]  # the real AWS issuer string
    assert env["AUTH_CLIENT_ID"] == auth["client_id"]
    assert env["AUTH_JWKS_URL"] == (
        f"{sidecar_endpoint}/{auth['user_pool_id']}/.well-known/jwks.json"
    )
    assert env["AUTH_JWKS"] == ""
    assert env["QUOTA_TABLE"] == auth["quota_table"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/uploads"),
        ("GET", "/uploads"),
        ("GET", "/uploads/{id}"),
        ("DELETE", "/uploads/{id}"),
    ],
)
def test_nobody_without_a_token_gets_anything(outputs, method, path) -> None:
    url = outputs["api_url"] + path.replace("{id}", "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f")
    body = {"contentType": "image/jpeg", "size": 100} if method == "POST" else None
    response = requests.request(method, url, json=body, timeout=30)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"


def test_forged_tokens_are_refused_on_the_stack(outputs, alice) -> None:
    auth = outputs["auth"]
    # Right issuer, client and kid-shape, but signed by a key that is not the pool's.
    forged = TokenFactory(issuer=auth["issuer"], client_id=auth["client_id"]).token(alice.sub)
    access = alice.tokens["AccessToken"]  # a real token of the pool, but not an ID token
    for token in (forged, access, alice.tokens["IdToken"][:-4] + "AAAA"):
        client = stack_access.ApiClient(outputs["api_url"], token=token)
        response = client.create_upload("image/jpeg", 100)
        assert response.status_code == 401, response.text


def test_the_preflight_stays_anonymous(outputs) -> None:
    response = requests.options(
        outputs["api_url"] + "/uploads",
        headers={
            "Origin": outputs["allowed_origins"][0],
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=30,
    )
    assert response.status_code == 204
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_a_signed_in_upload_is_processed_and_owned(alice, alices_upload, outputs, dynamodb) -> None:
    item = dynamodb.get_item(
        TableName=outputs["uploads_table"],
        Key={"id": {"S": alices_upload["id"]}},
        ConsistentRead=True,
    )["Item"]
    assert deserialise(item)["owner"] == alice.sub
    assert {v["name"] for v in alices_upload["variants"]} == DEFAULT_VARIANTS


def test_each_user_sees_only_their_own_uploads(alice, bob, alices_upload) -> None:
    bobs_id = bob.api.upload(images.jpeg((320, 240)), "image/jpeg", "bob.jpg")
    assert alice.api.status(alices_upload["id"]).status_code == 200
    other = bob.api.status(alices_upload["id"])
    assert (other.status_code, other.json()["error"]) == (404, "not_found")
    assert alice.api.status(bobs_id).status_code == 404

    alices = alice.api.list_uploads().json()["uploads"]
    bobs = bob.api.list_uploads().json()["uploads"]
    assert alices_upload["id"] in [u["id"] for u in alices]
    assert bobs_id not in [u["id"] for u in alices]
    assert [u["id"] for u in bobs] == [bobs_id]
    listed = next(u for u in alices if u["id"] == alices_upload["id"])
    assert (listed["fileName"], listed["status"]) == ("holiday.jpg", "done")
    assert all(s["url"].startswith("http") for v in listed["variants"] for s in v["sources"])


def test_nobody_deletes_another_users_upload(alice, bob, alices_upload) -> None:
    assert bob.api.delete(alices_upload["id"]).status_code == 204  # like a missing id
    assert alice.api.status(alices_upload["id"]).status_code == 200


def test_delete_removes_every_object_and_the_record(
    make_user, outputs, aws_client, dynamodb
) -> None:
    carol = make_user("carol")
    upload_id = carol.api.upload(images.jpeg((640, 480)), "image/jpeg", "erase-me.jpg")
    assert carol.api.wait_for_final(upload_id, timeout=TIMEOUT)["status"] == "done"
    s3 = aws_client("s3")
    outputs_before = s3.list_objects_v2(Bucket=outputs["output_bucket"], Prefix=f"{upload_id}/")
    assert len(outputs_before["Contents"]) == DEFAULT_OUTPUTS + 1  # and the manifest

    for _ in range(2):  # idempotent
        assert carol.api.delete(upload_id).status_code == 204

    assert "Contents" not in s3.list_objects_v2(
        Bucket=outputs["output_bucket"], Prefix=f"{upload_id}/"
    )
    assert "Contents" not in s3.list_objects_v2(
        Bucket=outputs["upload_bucket"], Prefix=f"uploads/{upload_id}"
    )
    record = dynamodb.get_item(TableName=outputs["uploads_table"], Key={"id": {"S": upload_id}})
    tombstone = deserialise(record["Item"])  # kept until no late PUT or attempt can write
    assert (tombstone["status"], tombstone["deletedBy"]) == ("deleted", carol.sub)
    assert "fileName" not in tombstone
    assert carol.api.status(upload_id).status_code == 404
    assert upload_id not in [u["id"] for u in carol.api.list_uploads().json()["uploads"]]


def test_the_daily_quota_refuses_with_429(make_user, outputs, aws_client) -> None:
    config = aws_client("lambda").get_function_configuration(
        FunctionName=outputs["api_function_name"]
    )
    per_day = int(config["Environment"]["Variables"]["QUOTA_UPLOADS_PER_DAY"])
    dave = make_user("dave")
    dave.api.attempts = 1  # a 429 is the answer here, not something to retry
    for _ in range(per_day):
        assert dave.api.create_upload("image/jpeg", 1000).status_code == 201
    refused = dave.api.create_upload("image/jpeg", 1000)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "quota_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 86_400
    # Another user is not affected.
    assert make_user("erin").api.create_upload("image/jpeg", 1000).status_code == 201


def test_pages_of_the_listing_follow_the_cursor(make_user) -> None:
    frank = make_user("frank")
    made = [frank.api.create_upload("image/png", 10 + n).json()["id"] for n in range(3)]
    seen, cursor = [], None
    while True:
        page = frank.api.list_uploads(limit=2, cursor=cursor).json()
        seen += [u["id"] for u in page["uploads"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == made[::-1]


def refresh(auth: dict[str, Any], tokens: dict[str, Any]) -> requests.Response:
    """REFRESH_TOKEN_AUTH the way the page sends it."""
    return requests.post(
        auth["cognito_endpoint"],
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
            "Content-Type": "application/x-amz-json-1.1",
        },
        data=json.dumps(
            {
                "AuthFlow": "REFRESH_TOKEN_AUTH",
                "ClientId": auth["client_id"],
                "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"]},
            }
        ),
        timeout=30,
    )


def test_signing_out_everywhere_stops_the_earlier_id_token(make_user, outputs, tmp_path):
    from tools import users

    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    grace = make_user("grace")  # signed in; her ID token is valid for an hour
    grace.api.attempts = 1
    assert refresh(outputs["auth"], grace.tokens).status_code == 200
    assert users.main(["--outputs", str(path), "sign-out", grace.email]) == 0
    # Her first request after the revocation: no container has her revocation time cached.
    refused = grace.api.list_uploads()
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "unauthorized"
    assert "signed out everywhere" in refused.json()["message"]
    assert grace.api.create_upload("image/jpeg", 100).status_code == 401
    assert refresh(outputs["auth"], grace.tokens).status_code == 400  # refresh token revoked
    # Signing in again works (the new session starts at or after the revocation time).
    assert stack_access.sign_in(
        outputs["auth"]["cognito_endpoint"],
        outputs["auth"]["client_id"],
        grace.email,
        grace.password,
    )["IdToken"]


def test_the_operator_tool_creates_disables_and_lists_users(outputs, tmp_path, capsys) -> None:
    from tools import users

    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    email = "operator-made@example.com"
    assert (
        users.main(["--outputs", str(path), "create", email, "--password", "Op-Made-pass-1!"]) == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert created["email"] == email
    auth = outputs["auth"]
    tokens = stack_access.sign_in(
        auth["cognito_endpoint"], auth["client_id"], email, "Op-Made-pass-1!"
    )
    assert users.main(["--outputs", str(path), "disable", email]) == 0
    assert json.loads(capsys.readouterr().out)["disabled"] is True
    # The ID token from before is refused at once (never used before: nothing cached).
    refused = stack_access.ApiClient(outputs["api_url"], token=tokens["IdToken"], attempts=1)
    assert refused.list_uploads().status_code == 401
    with pytest.raises(stack_access.ToolError):
        stack_access.sign_in(auth["cognito_endpoint"], auth["client_id"], email, "Op-Made-pass-1!")
    assert users.main(["--outputs", str(path), "list", "--json"]) == 0
    listed = {u["email"]: u for u in json.loads(capsys.readouterr().out)}
    assert listed[email]["enabled"] is False
    assert users.main(["--outputs", str(path), "jwks"]) == 0
    assert json.loads(capsys.readouterr().out)["keys"]
