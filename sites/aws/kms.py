"""KMS: the key that encrypts every site's config."""

from __future__ import annotations

import json

from .clients import (
    TAG_KEY,
    AwsError,
    _call,
    _is,
    _not_found,
    _partition,
    account_id,
    client,
    config_key_alias,
    console_id,
    console_principal_arn,
    console_principal_configured,
)
from .iam import _edge_role_create
from .policies import config_key_policy, key_policy_merge

# Which console made the key: another environment's key in the same account
# is never adopted.
CONSOLE_TAG_KEY = "gatehouse:console"


def config_key_ensure() -> str:
    """The KMS key that encrypts site configs (created once, found by alias); its ARN.

    An existing key's policy is merged into, never replaced (key_policy_merge):
    the configured console principal and the edge role are added if missing.
    The caller's own principal is named only in a key it creates, and only
    when no console principal is configured.
    """
    kms = client("kms")
    alias = config_key_alias()
    role_arn = _edge_role_create()
    configured = console_principal_configured()
    try:
        key_arn = _call(kms, "describe_key", KeyId=alias)["KeyMetadata"]["Arn"]
    except AwsError as exc:
        if not _not_found(exc):
            raise
        key_arn = _config_key_find_unaliased() or ""
        if not key_arn:
            policy = config_key_policy(
                account=account_id(),
                console_arn=configured or console_principal_arn(),
                edge_role_arn=role_arn,
                partition=_partition(),
            )
            key_arn = _call(
                kms,
                "create_key",
                Description="Gatehouse: site configs (session keys, client secrets)",
                KeyUsage="ENCRYPT_DECRYPT",
                KeySpec="SYMMETRIC_DEFAULT",
                Policy=json.dumps(policy),
                Tags=[{"TagKey": TAG_KEY, "TagValue": "config"}, {"TagKey": CONSOLE_TAG_KEY, "TagValue": console_id()}],
            )["KeyMetadata"]["Arn"]
        try:
            _call(kms, "create_alias", AliasName=alias, TargetKeyId=key_arn)
        except AwsError as exc:
            if not _is(exc, "AlreadyExistsException"):
                raise
            key_arn = _call(kms, "describe_key", KeyId=alias)["KeyMetadata"]["Arn"]
    wanted = config_key_policy(account=account_id(), console_arn=configured or None, edge_role_arn=role_arn, partition=_partition())
    current = json.loads(_call(kms, "get_key_policy", KeyId=key_arn, PolicyName="default")["Policy"])
    merged = key_policy_merge(current, wanted)
    if merged != current:
        _call(kms, "put_key_policy", KeyId=key_arn, PolicyName="default", Policy=json.dumps(merged))
    return key_arn


def _config_key_find_unaliased() -> str | None:
    """A key this console created whose alias was never made (crash in between): reuse it.

    Matched on this console's id too: a key of another environment in the
    same account (staging, a developer's) is never adopted.
    """
    kms = client("kms")
    wanted = [{"TagKey": TAG_KEY, "TagValue": "config"}, {"TagKey": CONSOLE_TAG_KEY, "TagValue": console_id()}]
    for page in client("kms").get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            try:
                tags = _call(kms, "list_resource_tags", KeyId=key["KeyId"]).get("Tags", [])
                meta = _call(kms, "describe_key", KeyId=key["KeyId"])["KeyMetadata"]
            except AwsError as exc:
                if _not_found(exc) or _is(exc, "AccessDeniedException"):
                    continue
                raise
            if meta.get("KeyState") == "Enabled" and all(tag in tags for tag in wanted):
                return meta["Arn"]
    return None
