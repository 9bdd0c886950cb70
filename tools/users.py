#!/usr/bin/env python3
"""Operator command for the users of a deployment with sign-in (``auth = "cognito"``).

    python tools/users.py create alice@example.com            # emails a temporary password
    python tools/users.py create alice@example.com --password 'Long-enough-1!'   # permanent
    python tools/users.py disable alice@example.com            # signs them out everywhere too
    python tools/users.py enable alice@example.com
    python tools/users.py list [--json]
    python tools/users.py jwks > jwks.json                     # the pool's public keys

The pool comes from the stack's outputs (``auth.user_pool_id``): ``--outputs FILE`` written by
``terraform output -json``, or by default the local deployment (``make up``), whose pool lives
in the emulator's moto sidecar (``auth.cognito_endpoint``). On AWS the usual credentials and
region apply. ``jwks`` prints the document ``auth_jwks_json`` takes for an API function with no
internet access (a VPC without NAT). Exit codes: 0 done, 1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from stack_access import EMULATOR_CREDENTIALS, ToolError, emulator_endpoint, load_outputs


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
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outputs", type=Path, help="terraform output -json of the stack")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("create", help="create a user (email address)")
    add.add_argument("email")
    add.add_argument("--password", help="set a permanent password instead of emailing one")
    for name in ("disable", "enable"):
        commands.add_parser(name, help=f"{name} a user").add_argument("email")
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
        elif args.command == "disable":
            client.admin_disable_user(UserPoolId=pool_id, Username=args.email)
            client.admin_user_global_sign_out(UserPoolId=pool_id, Username=args.email)
            print(f"disabled {args.email} (and signed them out)")
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
