#!/usr/bin/env python3
"""Operator command for the users of a deployment with sign-in (``auth = "cognito"``).

    python -m tools.users create alice@example.com            # emails a temporary password
    python -m tools.users create alice@example.com --password 'Long-enough-1!'   # permanent
    python -m tools.users disable alice@example.com            # signs them out everywhere too
    python -m tools.users sign-out alice@example.com           # everywhere; they may sign in again
    python -m tools.users enable alice@example.com
    python -m tools.users list [--json]
    python -m tools.users jwks > jwks.json                     # the pool's public keys

The pool comes from the stack's outputs (``auth.user_pool_id``): ``--outputs FILE`` written by
``terraform output -json``, or by default the local deployment (``make up``), whose pool lives
in the emulator's moto sidecar (``auth.cognito_endpoint``). On AWS the usual credentials and
region apply. ``jwks`` prints the document ``auth_jwks_json`` takes for an API function with no
internet access (a VPC without NAT). Exit codes: 0 done, 1 failed, 2 bad usage.

``disable`` and ``sign-out`` make Cognito revoke the user's refresh tokens
(``AdminUserGlobalSignOut``; ``disable`` also refuses new sign-ins) and then write the user's
revocation time to the quota table (item ``<sub>#revoked``): the API refuses every ID token
whose session began before it, within ``REVOCATION_CACHE_SECONDS`` of lambda_src/api/auth.py
(30 s). Needs cognito-idp:AdminGetUser, AdminDisableUser, AdminUserGlobalSignOut and
dynamodb:PutItem on the quota table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.stack_access import (
    EMULATOR_CREDENTIALS,
    ToolError,
    aws_client,
    emulator_endpoint,
    load_outputs,
)

# lambda_src/api/auth.py revocation_item: kept past Cognito's longest ID-token lifetime (1 day).
REVOCATION_KEEP_SECONDS = 86_400 + 3_600


def pool_of(outputs: dict[str, Any]) -> dict[str, Any]:
    auth = outputs.get("auth") or {}
    if auth.get("mode") != "cognito" or not auth.get("user_pool_id"):
        raise ToolError('this deployment has no sign-in: apply it with auth = "cognito"')
    return auth


def cognito_client(outputs: dict[str, Any], auth: dict[str, Any]) -> Any:
    import boto3

    if emulator_endpoint(outputs.get("api_url")):
        return boto3.client(
            "cognito-idp", endpoint_url=auth["cognito_endpoint"], **EMULATOR_CREDENTIALS
        )
    # The stack's region output; a pool id starts with its region (outputs of older stacks).
    region = outputs.get("region") or auth["user_pool_id"].split("_", 1)[0]
    return boto3.client("cognito-idp", region_name=region)


def dynamodb_client(outputs: dict[str, Any], auth: dict[str, Any]) -> Any:
    endpoint = outputs.get("emulator_dynamodb_endpoint")
    if emulator_endpoint(outputs.get("api_url")) and endpoint:
        return aws_client("dynamodb", endpoint)
    import boto3

    return boto3.client("dynamodb", region_name=auth["user_pool_id"].split("_", 1)[0])


def now() -> float:
    return time.time()


def user_sub(client: Any, pool_id: str, email: str) -> str:
    user = client.admin_get_user(UserPoolId=pool_id, Username=email)
    sub = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}.get("sub")
    if not sub:
        raise ToolError(f"{email} has no sub attribute")
    return str(sub)


def sign_out_everywhere(
    cognito: Any,
    dynamodb: Any,
    auth: dict[str, Any],
    email: str,
    disable: bool = False,
    clock: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Revoke the user's refresh tokens (and disable them), then write the revocation time
    the API checks ID tokens against: no token of a session begun before it is accepted."""
    pool_id = auth["user_pool_id"]
    table = auth.get("quota_table")
    if not table:
        raise ToolError("the stack's outputs name no quota table (auth.quota_table)")
    sub = user_sub(cognito, pool_id, email)
    cognito.admin_user_global_sign_out(UserPoolId=pool_id, Username=email)
    if disable:
        cognito.admin_disable_user(UserPoolId=pool_id, Username=email)
    # Taken after Cognito's answers, rounded up: later than every token issued before.
    revoked_at = math.ceil((clock or now)())
    dynamodb.put_item(
        TableName=table,
        Item={
            "id": {"S": f"{sub}#revoked"},
            "revokedAt": {"N": str(revoked_at)},
            "expiresAt": {"N": str(revoked_at + REVOCATION_KEEP_SECONDS)},
        },
    )
    return {"email": email, "sub": sub, "disabled": disable, "revokedAt": revoked_at}


def create(client: Any, pool_id: str, email: str, password: str | None) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "UserPoolId": pool_id,
        "Username": email,
        "UserAttributes": [
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
        "DesiredDeliveryMediums": ["EMAIL"],
    }
    if password:
        arguments["MessageAction"] = "SUPPRESS"  # the operator hands the password over
    user = client.admin_create_user(**arguments)["User"]
    if password:
        client.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=password, Permanent=True
        )
    return summary(user, status="CONFIRMED" if password else None)


def summary(user: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    attributes = {
        a["Name"]: a["Value"] for a in user.get("Attributes", user.get("UserAttributes", []))
    }
    created = user.get("UserCreateDate")
    return {
        "email": attributes.get("email", user.get("Username")),
        "sub": attributes.get("sub"),
        "status": status or user.get("UserStatus"),
        "enabled": user.get("Enabled", True),
        "created": created.isoformat() if hasattr(created, "isoformat") else created,
    }


def list_users(client: Any, pool_id: str) -> list[dict[str, Any]]:
    users = []
    for page in client.get_paginator("list_users").paginate(UserPoolId=pool_id):
        users += [summary(user) for user in page["Users"]]
    return sorted(users, key=lambda user: str(user["email"]))


def jwks(outputs: dict[str, Any], auth: dict[str, Any]) -> str:
    if emulator_endpoint(outputs.get("api_url")):
        url = f"{auth['cognito_endpoint'].rstrip('/')}/{auth['user_pool_id']}/.well-known/jwks.json"
    else:
        url = f"{auth['issuer']}/.well-known/jwks.json"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.dumps(json.loads(response.read()), indent=2)


def print_table(users: list[dict[str, Any]]) -> None:
    print(f"{'email':<36} {'status':<22} {'enabled':<8} sub")
    for user in users:
        print(f"{user['email']:<36} {user['status']!s:<22} {user['enabled']!s:<8} {user['sub']}")
    print(f"{len(users)} user(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.users",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--outputs", type=Path, help="terraform output -json of the stack")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("create", help="create a user (email address)")
    add.add_argument("email")
    add.add_argument("--password", help="set a permanent password instead of emailing one")
    for name, text in (
        ("disable", "disable a user and sign them out everywhere"),
        ("sign-out", "sign a user out everywhere (they may sign in again)"),
        ("enable", "enable a user"),
    ):
        commands.add_parser(name, help=text).add_argument("email")
    listing = commands.add_parser("list", help="list users")
    listing.add_argument("--json", action="store_true")
    commands.add_parser("jwks", help="print the pool's public keys (for auth_jwks_json)")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        outputs = load_outputs(args.outputs)
        auth = pool_of(outputs)
        if args.command == "jwks":
            print(jwks(outputs, auth))
            return 0
        client = cognito_client(outputs, auth)
        pool_id = auth["user_pool_id"]
        if args.command == "create":
            print(json.dumps(create(client, pool_id, args.email, args.password)))
        elif args.command in ("disable", "sign-out"):
            done = sign_out_everywhere(
                client,
                dynamodb_client(outputs, auth),
                auth,
                args.email,
                disable=args.command == "disable",
            )
            print(json.dumps(done))
            print(
                f"{'disabled and ' if done['disabled'] else ''}signed out {args.email}"
                " everywhere: refresh tokens revoked; the API refuses their earlier ID tokens"
                " within 30 s",
                file=sys.stderr,
            )
        elif args.command == "enable":
            client.admin_enable_user(UserPoolId=pool_id, Username=args.email)
            print(f"enabled {args.email}")
        else:
            users = list_users(client, pool_id)
            if args.json:
                print(json.dumps(users, indent=2))
            else:
                print_table(users)
    except ToolError as error:
        print(f"users.py: {error}", file=sys.stderr)
        return 1
    except ClientError as error:
        detail = error.response.get("Error", {})
        print(f"users.py: {detail.get('Code')}: {detail.get('Message')}", file=sys.stderr)
        return 1
    except (BotoCoreError, OSError) as error:
        print(f"users.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
