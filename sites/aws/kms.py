"""KMS: the key that encrypts every site's config."""

from __future__ import annotations

import json

from .clients import TAG_KEY, AwsError, _call, _is, _not_found, client, config_key_alias, console_principal_arn
from .iam import _edge_role_create
from .policies import config_key_policy


def config_key_ensure() -> str:
    """The KMS key that encrypts site configs (created once, found by alias); its ARN."""
    kms = client("kms")
    alias = config_key_alias()
    role_arn = _edge_role_create()
    policy = json.dumps(config_key_policy(console_arn=console_principal_arn(), edge_role_arn=role_arn))
    try:
        key_arn = _call(kms, "describe_key", KeyId=alias)["KeyMetadata"]["Arn"]
    except AwsError as exc:
        if not _not_found(exc):
            raise
        key_arn = _config_key_find_untagged_alias() or ""
        if not key_arn:
            key_arn = _call(
                kms,
                "create_key",
                Description="Gatehouse: site configs (session keys, client secrets)",
                KeyUsage="ENCRYPT_DECRYPT",
                KeySpec="SYMMETRIC_DEFAULT",
                Policy=policy,
                Tags=[{"TagKey": TAG_KEY, "TagValue": "config"}],
            )["KeyMetadata"]["Arn"]
        try:
            _call(kms, "create_alias", AliasName=alias, TargetKeyId=key_arn)
        except AwsError as exc:
            if not _is(exc, "AlreadyExistsException"):
                raise
            key_arn = _call(kms, "describe_key", KeyId=alias)["KeyMetadata"]["Arn"]
    # Re-applied every time so a changed console principal or role converges.
    _call(kms, "put_key_policy", KeyId=key_arn, PolicyName="default", Policy=policy)
    return key_arn


def _config_key_find_untagged_alias() -> str | None:
    """A key we created whose alias was never made (crash in between): reuse it."""
    kms = client("kms")
    for page in client("kms").get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            try:
                tags = _call(kms, "list_resource_tags", KeyId=key["KeyId"]).get("Tags", [])
                meta = _call(kms, "describe_key", KeyId=key["KeyId"])["KeyMetadata"]
            except AwsError as exc:
                if _not_found(exc) or _is(exc, "AccessDeniedException"):
                    continue
                raise
            if meta.get("KeyState") == "Enabled" and {"TagKey": TAG_KEY, "TagValue": "config"} in tags:
                return meta["Arn"]
    return None
