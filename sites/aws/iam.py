"""IAM: the edge function's role and its trust policy."""

from __future__ import annotations

import json

from .clients import TAG_KEY, AwsError, _call, _is, _not_found, client, edge_role_name
from .policies import edge_role_trust_policy


def _edge_role_create() -> str:
    """The edge role with its trust policy (no permissions yet); its ARN."""
    iam = client("iam")
    name = edge_role_name()
    trust = edge_role_trust_policy()
    try:
        role = _call(iam, "get_role", RoleName=name)["Role"]
    except AwsError as exc:
        if not _not_found(exc):
            raise
        try:
            role = _call(
                iam,
                "create_role",
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description="Gatehouse Lambda@Edge: reads site configs",
                Tags=[{"Key": TAG_KEY, "Value": "edge"}],
            )["Role"]
        except AwsError as exc2:
            if not _is(exc2, "EntityAlreadyExists"):
                raise
            role = _call(iam, "get_role", RoleName=name)["Role"]
        return role["Arn"]
    current = role.get("AssumeRolePolicyDocument")
    if isinstance(current, str):
        from urllib.parse import unquote

        current = json.loads(unquote(current))
    principals = ((current or {}).get("Statement") or [{}])[0].get("Principal", {}).get("Service", [])
    if sorted([principals] if isinstance(principals, str) else principals) != [
        "edgelambda.amazonaws.com",
        "lambda.amazonaws.com",
    ]:
        _call(iam, "update_assume_role_policy", RoleName=name, PolicyDocument=json.dumps(trust))
    return role["Arn"]
