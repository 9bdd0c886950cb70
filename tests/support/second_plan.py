"""A second `terraform plan` right after the apply must be empty: what is left is either drift
the configuration causes (a real bug: every apply would change something) or a difference the
emulator makes, which is accepted only when it is named below with its reason."""

from __future__ import annotations

import json
from typing import Any


def _policy_without_version(text: str | None) -> Any:
    document = json.loads(text or "{}")
    document.pop("Version", None)
    return document


def emulator_drift(address: str, attribute: str, now: Any, planned: Any) -> bool:
    """Differences that are the emulator's, not the configuration's (LocalStack's EC2 is moto):
    it drops the Version of a VPC endpoint's policy, and a security group rule made with
    aws_vpc_security_group_{egress,ingress}_rule reads back without its description and names
    the group it references as ``<account>/<group id>`` (the functions' rules to and from the
    EventBridge endpoint's group). AWS keeps the description and answers the bare id."""
    if ".aws_vpc_endpoint." in address and attribute == "policy":
        return _policy_without_version(now) == _policy_without_version(planned)
    rule = (".aws_vpc_security_group_egress_rule.", ".aws_vpc_security_group_ingress_rule.")
    if any(kind in address for kind in rule) and attribute == "description":
        return now is None and bool(planned)
    if any(kind in address for kind in rule) and attribute == "referenced_security_group_id":
        return isinstance(now, str) and bool(planned) and now.endswith(f"/{planned}")
    return False


def real_changes(deployment: Any) -> dict[str, dict[str, tuple[Any, Any]]]:
    """What a fresh plan of `deployment` (local/stack.py) would change, minus accepted drift."""
    changes = deployment.pending_attribute_changes()
    return {
        address: attributes
        for address, attributes in changes.items()
        if not attributes
        or not all(emulator_drift(address, key, *values) for key, values in attributes.items())
    }
