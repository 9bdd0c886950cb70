"""tools/users.py on moto (Cognito and DynamoDB): sign-out everywhere and disable write the
revocation time the API function reads (lambda_src/api/auth.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api import auth
from common.table import UploadsTable, make_client
from support.lambda_env import REGION
from tools import users

QUOTA_TABLE = "sip-users-quotas-tool"
EMAIL = "alice@example.com"
PASSWORD = "A-long-password-1!"


@pytest.fixture
def stack(s3: Any, tmp_path) -> dict[str, Any]:
    """A pool with one user, the page's client, the quota table, and the outputs file."""
    import boto3

    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool_id = cognito.create_user_pool(PoolName="sip-users", UsernameAttributes=["email"])[
        "UserPool"
    ]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="page",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=QUOTA_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    outputs = {
        "api_url": "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
        "auth": {"mode": "cognito", "user_pool_id": pool_id, "quota_table": QUOTA_TABLE},
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert users.main(["--outputs", str(path), "create", EMAIL, "--password", PASSWORD]) == 0
    return {"cognito": cognito, "pool_id": pool_id, "client_id": client_id, "path": str(path)}


def sign_in(stack: dict[str, Any]) -> dict[str, Any]:
    return stack["cognito"].initiate_auth(
        ClientId=stack["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]


def refresh(stack: dict[str, Any], tokens: dict[str, Any]) -> Any:
    return stack["cognito"].initiate_auth(
        ClientId=stack["client_id"],
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )


def revocation_of(sub: str) -> int | None:
    """What the API function reads (api.handler.read_revocation)."""
    table = UploadsTable(make_client({"AWS_REGION": REGION}), QUOTA_TABLE)
    return auth.revoked_before(table.get(auth.revocation_key(sub)))


@pytest.mark.parametrize("command", ["sign-out", "disable"])
def test_revoking_writes_the_time_the_api_checks_and_revokes_refresh_tokens(
    stack, capsys, monkeypatch, command: str
) -> None:
    tokens = sign_in(stack)
    capsys.readouterr()
    monkeypatch.setattr(users, "now", lambda: 1_800_000_000.2)
    assert users.main(["--outputs", stack["path"], command, EMAIL]) == 0
    done = json.loads(capsys.readouterr().out)
    sub = users.user_sub(stack["cognito"], stack["pool_id"], EMAIL)
    assert done == {
        "email": EMAIL,
        "sub": sub,
        "disabled": command == "disable",
        "revokedAt": 1_800_000_001,  # rounded up: a token of this very second is refused
    }
    assert revocation_of(sub) == 1_800_000_001
    item = UploadsTable(make_client({"AWS_REGION": REGION}), QUOTA_TABLE).get(
        auth.revocation_key(sub)
    )
    assert item == auth.revocation_item(sub, 1_800_000_001)  # the API's own item shape
    with pytest.raises(stack["cognito"].exceptions.NotAuthorizedException):
        refresh(stack, tokens)
    user = stack["cognito"].admin_get_user(UserPoolId=stack["pool_id"], Username=EMAIL)
    assert user["Enabled"] is (command == "sign-out")
    if command == "sign-out":  # they may sign in again
        assert sign_in(stack)["IdToken"]


def test_an_unknown_user_is_an_error_and_writes_nothing(stack, capsys) -> None:
    assert users.main(["--outputs", stack["path"], "sign-out", "nobody@example.com"]) == 1
    assert "UserNotFoundException" in capsys.readouterr().err
    import boto3

    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=QUOTA_TABLE)["Items"]
    assert items == []
