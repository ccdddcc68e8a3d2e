"""Every boto3 call the console makes, in domain terms.

The rest of the console never imports boto3: it calls these functions and
sees `AwsError` / `AwsTransientError`, never a botocore exception. "Not found"
is not an error here: lookups return None and deletes of something already
gone succeed.

Clients are cached per (service, region, endpoint) and are thread-safe;
creating them is not, hence the lock. The endpoint comes from
`GATEHOUSE_AWS_ENDPOINT_URL` (moto's server in development, None for AWS).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from django.conf import settings

log = logging.getLogger(__name__)

# AWS managed policies (CloudFront Developer Guide, "Use managed cache
# policies" / "Use managed response headers policies"): attached by id, so
# nothing has to be created, and moto, which has no API for them, accepts them.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"

EDGE_HANDLER = "edge_runtime.handler.handler"
EDGE_MEMORY_MB = 128  # Lambda@Edge viewer-request maximum
EDGE_TIMEOUT_SECONDS = 5  # Lambda@Edge viewer-request maximum
EDGE_REGION = "us-east-1"  # Lambda@Edge functions live only there
MAX_ASSOCIATIONS_PER_FUNCTION = 500
ORIGIN_ID = "site-bucket"
TAG_KEY = "gatehouse:purpose"


class AwsError(Exception):
    """AWS refused; retrying the same call will not help."""

    def __init__(self, message: str, *, code: str = "", operation: str = ""):
        super().__init__(message)
        self.code = code
        self.operation = operation


class AwsTransientError(AwsError):
    """Throttling, a 5xx, a dropped connection: try again later."""


class AwsConflict(AwsTransientError):
    """Someone else kept changing the resource (ETag / precondition) while we tried."""


class EdgeFunctionNotReady(AwsError):
    """The function is still being created or updated; ask again in a few seconds."""


_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "KMSInternalException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "OperationAborted",
        # Lambda: "an update is in progress for this function".
        "ResourceConflictException",
        "TooManyInvalidationsInProgress",
        "ConcurrentModification",
        "ConcurrentModificationException",
    }
)
_NOT_FOUND_CODES = frozenset(
    {
        "NoSuchBucket",
        "NoSuchKey",
        "NoSuchEntity",
        "NotFoundException",
        "NoSuchDistribution",
        "NoSuchOriginAccessControl",
        "ResourceNotFoundException",
        "404",
        "NotFound",
    }
)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: Exception, operation: str) -> AwsError:
    if isinstance(exc, ClientError):
        code = _code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        text = f"{operation}: {code or status}: {message}"
        # A role just created is not assumable by Lambda for a few seconds
        # (IAM is eventually consistent); that heals by itself.
        role_not_ready = code == "InvalidParameterValueException" and "cannot be assumed" in message
        if code in _TRANSIENT_CODES or status >= 500 or status == 429 or role_not_ready:
            return AwsTransientError(text, code=code, operation=operation)
        return AwsError(text, code=code, operation=operation)
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return AwsTransientError(f"{operation}: {exc}", code=type(exc).__name__, operation=operation)
    return AwsError(f"{operation}: {exc}", code=type(exc).__name__, operation=operation)


def _call(client, operation: str, **params) -> dict:
    """One API call; botocore errors become ours."""
    try:
        return getattr(client, operation)(**params)
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, operation) from exc


def _is(exc: AwsError, *codes: str) -> bool:
    return exc.code in codes


def _not_found(exc: AwsError) -> bool:
    return exc.code in _NOT_FOUND_CODES


# --- clients -------------------------------------------------------------------

_lock = threading.Lock()
_clients: dict[tuple, Any] = {}
_session: boto3.session.Session | None = None
_account: dict[str, str] = {}


def _endpoint() -> str | None:
    return getattr(settings, "GATEHOUSE_AWS_ENDPOINT_URL", None) or None


def region() -> str:
    return getattr(settings, "GATEHOUSE_AWS_REGION", "us-east-1")


def _config(service: str) -> Config:
    options: dict[str, Any] = {
        "connect_timeout": getattr(settings, "GATEHOUSE_AWS_CONNECT_TIMEOUT", 5),
        "read_timeout": getattr(settings, "GATEHOUSE_AWS_READ_TIMEOUT", 30),
        # botocore's standard mode retries throttling and 5xx with jittered
        # backoff; what is left after that reaches the task's own retry.
        "retries": {"mode": "standard", "max_attempts": getattr(settings, "GATEHOUSE_AWS_MAX_ATTEMPTS", 4)},
    }
    if service == "s3":
        # Path style works for every endpoint (moto on an IP address cannot
        # serve virtual-hosted names), and SigV4 is what SSE-KMS requires.
        options["s3"] = {"addressing_style": "path"} if _endpoint() else {}
        options["signature_version"] = "s3v4"
    return Config(**options)


def client(service: str, *, region_name: str | None = None):
    """The cached client for `service`; CloudFront and IAM are global, Lambda@Edge is us-east-1."""
    global _session
    region_name = region_name or region()
    endpoint = _endpoint()
    key = (service, region_name, endpoint)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            if _session is None:
                _session = boto3.session.Session()
            _clients[key] = _session.client(
                service, region_name=region_name, endpoint_url=endpoint, config=_config(service)
            )
        return _clients[key]


def clients_reset() -> None:
    """Forget cached clients, credentials and account id (tests; credential rotation)."""
    global _session
    with _lock:
        _clients.clear()
        _account.clear()
        _session = None


def account_id() -> str:
    if "id" not in _account:
        identity = _call(client("sts"), "get_caller_identity")
        _account["id"] = identity["Account"]
        _account["arn"] = identity["Arn"]
    return _account["id"]


def console_principal_arn() -> str:
    """The IAM principal the console runs as, as a key policy can name it.

    `GATEHOUSE_CONSOLE_PRINCIPAL_ARN` wins: an assumed-role session ARN loses
    the role's path, which a key policy needs, so set it for roles with one.
    """
    configured = getattr(settings, "GATEHOUSE_CONSOLE_PRINCIPAL_ARN", "")
    if configured:
        return configured
    account_id()
    arn = _account["arn"]
    # arn:aws:sts::123:assumed-role/Role/session -> arn:aws:iam::123:role/Role
    if ":assumed-role/" in arn:
        partition = arn.split(":")[1]
        role_name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        return f"arn:{partition}:iam::{_account['id']}:role/{role_name}"
    return arn


def _setting(name: str, default: str) -> str:
    return getattr(settings, name, default)


def config_bucket_name() -> str:
    return _setting("GATEHOUSE_CONFIG_BUCKET", "gatehouse-config")


def config_prefix() -> str:
    return _setting("GATEHOUSE_CONFIG_PREFIX", "sites/")


def config_key_alias() -> str:
    return _setting("GATEHOUSE_CONFIG_KMS_KEY_ALIAS", "alias/gatehouse-config")


def edge_role_name() -> str:
    return _setting("GATEHOUSE_EDGE_ROLE_NAME", "gatehouse-edge")


def edge_function_base_name() -> str:
    return _setting("GATEHOUSE_EDGE_FUNCTION_NAME", "gatehouse-edge")


# --- policy documents (docs/iam/*.json are these, written down) -------------------


def edge_role_trust_policy() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def edge_role_policy(*, account: str, bucket: str, prefix: str, key_arn: str, function_name: str, partition: str = "aws") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSiteConfigs",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*",
            },
            {
                "Sid": "DecryptSiteConfigs",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
            },
            {
                # Lambda@Edge writes its logs in the region that ran it, to a
                # group named after the us-east-1 function.
                "Sid": "LogsInEveryRegion",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    f"arn:{partition}:logs:*:{account}:log-group:/aws/lambda/us-east-1.{function_name}*",
                    f"arn:{partition}:logs:*:{account}:log-group:/aws/lambda/us-east-1.{function_name}*:log-stream:*",
                ],
            },
        ],
    }


def config_key_policy(*, console_arn: str, edge_role_arn: str) -> dict:
    # Deliberately no account-root statement: IAM policies elsewhere in the
    # account cannot grant use of the key that protects every site's secrets.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConsoleManagesAndUsesTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": console_arn},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "EdgeDecryptsConfigs",
                "Effect": "Allow",
                "Principal": {"AWS": edge_role_arn},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
        ],
    }


def site_bucket_policy(*, name: str, distribution_arn: str, partition: str = "aws") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ThisDistributionReadsThroughItsOAC",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"arn:{partition}:s3:::{name}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            }
        ],
    }


def _tls_only_statement(name: str, partition: str = "aws") -> dict:
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:{partition}:s3:::{name}", f"arn:{partition}:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _partition() -> str:
    return "aws"


def _tls_statements(name: str) -> list[dict]:
    # A local stand-in on plain http (moto enforces bucket policies) would
    # refuse every request under a TLS-only rule.
    endpoint = _endpoint()
    if endpoint and not endpoint.startswith("https://"):
        return []
    return [_tls_only_statement(name, _partition())]


# --- S3: buckets -----------------------------------------------------------------


def _bucket_create(name: str) -> None:
    s3 = client("s3")
    params: dict[str, Any] = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
    if region() != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region()}
    try:
        _call(s3, "create_bucket", **params)
    except AwsError as exc:
        # Ours already: a re-run after a crash, or the second delivery of a task.
        if not _is(exc, "BucketAlreadyOwnedByYou"):
            raise
    _call(
        s3,
        "put_public_access_block",
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    # Also set at creation; repeated so a bucket made before that was
    # possible (or by hand) converges too.
    _call(
        s3,
        "put_bucket_ownership_controls",
        Bucket=name,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )


def bucket_exists(*, name: str) -> bool:
    try:
        _call(client("s3"), "head_bucket", Bucket=name)
        return True
    except AwsError as exc:
        if _not_found(exc):
            return False
        raise


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


def config_bucket_ensure() -> str:
    """The private, versioned, SSE-KMS config bucket; returns the key ARN."""
    name = config_bucket_name()
    s3 = client("s3")
    key_arn = config_key_ensure()
    _bucket_create(name)
    # Versioned: each revision's upload has its own S3 version to point at.
    _call(s3, "put_bucket_versioning", Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    _call(
        s3,
        "put_bucket_encryption",
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    statements = _tls_statements(name)
    if statements:
        _call(s3, "put_bucket_policy", Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return key_arn


def config_object_key(host: str) -> str:
    return f"{config_prefix()}{host}.json"


def config_object_put(*, host: str, body: bytes) -> str:
    """Write one host's config; returns the S3 VersionId ("" if unversioned)."""
    response = _call(
        client("s3"),
        "put_object",
        Bucket=config_bucket_name(),
        Key=config_object_key(host),
        Body=body,
        ContentType="application/json",
        CacheControl="no-store",
        ServerSideEncryption="aws:kms",
        # By alias, so an upload costs no KMS lookup; S3 resolves it.
        SSEKMSKeyId=config_key_alias(),
    )
    return response.get("VersionId") or ""


def config_object_delete(*, host: str) -> None:
    try:
        _call(client("s3"), "delete_object", Bucket=config_bucket_name(), Key=config_object_key(host))
    except AwsError as exc:
        if not _not_found(exc):
            raise


def site_bucket_ensure(*, name: str) -> None:
    """A private site bucket: public access blocked, owner-enforced, SSE-S3."""
    _bucket_create(name)
    _call(
        client("s3"),
        "put_bucket_encryption",
        Bucket=name,
        ServerSideEncryptionConfiguration={
            # SSE-S3, not KMS: CloudFront's OAC would need its own key grant,
            # and the site's files are not secrets (the auth config is).
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def site_bucket_policy_put(*, name: str, distribution_arn: str) -> None:
    policy = site_bucket_policy(name=name, distribution_arn=distribution_arn, partition=_partition())
    policy["Statement"].extend(_tls_statements(name))
    _call(client("s3"), "put_bucket_policy", Bucket=name, Policy=json.dumps(policy))


def site_bucket_empty_and_delete(*, name: str) -> None:
    s3 = client("s3")
    try:
        pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=name))
    except (ClientError, BotoCoreError) as exc:
        error = _translate(exc, "list_object_versions")
        if _not_found(error):
            return
        raise error from exc
    batch: list[dict] = []
    for page in pages:
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            batch.append({"Key": item["Key"], "VersionId": item["VersionId"]})
            if len(batch) == 1000:  # delete_objects' limit
                _objects_delete(name, batch)
                batch = []
    if batch:
        _objects_delete(name, batch)
    try:
        _call(s3, "delete_bucket", Bucket=name)
    except AwsError as exc:
        if not _not_found(exc):
            raise


def _objects_delete(bucket: str, objects: list[dict]) -> None:
    response = _call(client("s3"), "delete_objects", Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    errors = [e for e in response.get("Errors", []) if e.get("Code") != "NoSuchKey"]
    if errors:
        first = errors[0]
        raise AwsTransientError(
            f"delete_objects: {len(errors)} object(s) not deleted, e.g. {first.get('Key')}: {first.get('Code')}",
            code=str(first.get("Code", "")),
            operation="delete_objects",
        )


def build_object_put(*, bucket: str, key: str, body: bytes | Any, content_type: str, cache_control: str) -> None:
    _call(
        client("s3"),
        "put_object",
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType=content_type,
        CacheControl=cache_control,
    )


# --- CloudFront --------------------------------------------------------------------


def oac_ensure(*, name: str) -> str:
    """The shared origin access control, looked up by name, created once; its id."""
    cloudfront = client("cloudfront")
    found = _oac_find(name)
    if found:
        return found
    try:
        created = _call(
            cloudfront,
            "create_origin_access_control",
            OriginAccessControlConfig={
                "Name": name,
                "Description": "Gatehouse: CloudFront reads site buckets, signed",
                "SigningProtocol": "sigv4",
                "SigningBehavior": "always",
                "OriginAccessControlOriginType": "s3",
            },
        )
    except AwsError as exc:
        # Another worker created it between our lookup and our create.
        if _is(exc, "OriginAccessControlAlreadyExists"):
            found = _oac_find(name)
            if found:
                return found
        raise
    return created["OriginAccessControl"]["Id"]


def _oac_find(name: str) -> str | None:
    cloudfront = client("cloudfront")
    marker = None
    while True:
        params = {"Marker": marker} if marker else {}
        page = _call(cloudfront, "list_origin_access_controls", **params)["OriginAccessControlList"]
        for item in page.get("Items", []) or []:
            if item.get("Name") == name:
                return item["Id"]
        marker = page.get("NextMarker")
        if not page.get("IsTruncated") or not marker:
            return None


def is_numbered_version_arn(arn: str) -> bool:
    # arn:aws:lambda:us-east-1:123456789012:function:name:7
    parts = arn.split(":")
    return len(parts) == 8 and parts[2] == "lambda" and parts[5] == "function" and parts[7].isdigit()


def _require_numbered(arn: str) -> None:
    if not is_numbered_version_arn(arn):
        raise AwsError(
            f"Lambda@Edge needs a numbered function version, not {arn!r} ($LATEST and aliases are refused)",
            code="InvalidLambdaFunctionAssociation",
            operation="distribution_config",
        )


def distribution_settings_apply(
    config: dict,
    *,
    bucket_name: str,
    oac_id: str,
    aliases: Iterable[str],
    certificate_arn: str | None,
    edge_version_arn: str | None,
) -> dict:
    """Write everything Gatehouse manages into a DistributionConfig (in place; also returned).

    Used both to create a distribution and to re-apply settings on redeploy,
    so the two can never drift apart. Keeps CallerReference, Comment, Enabled.
    """
    if edge_version_arn is not None:
        _require_numbered(edge_version_arn)
    # CloudFront serves a custom name only with a certificate for it. Without
    # one (local development, *.localhost behind the gateway) the names stay
    # in the site's config but are not aliases of the distribution.
    aliases = sorted(set(aliases)) if certificate_arn else []
    domain = f"{bucket_name}.s3.{region()}.amazonaws.com"
    config["Origins"] = {
        "Quantity": 1,
        "Items": [
            {
                "Id": ORIGIN_ID,
                "DomainName": domain,
                "OriginPath": "",
                "CustomHeaders": {"Quantity": 0},
                # Empty identity: OAC replaces the legacy origin access identity.
                "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": oac_id,
                "ConnectionAttempts": 3,
                "ConnectionTimeout": 10,
            }
        ],
    }
    associations = (
        {
            "Quantity": 1,
            "Items": [{"LambdaFunctionARN": edge_version_arn, "EventType": "viewer-request", "IncludeBody": False}],
        }
        if edge_version_arn
        else {"Quantity": 0}
    )
    behavior = config.get("DefaultCacheBehavior") or {}
    for legacy in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"):
        # These conflict with a cache policy; older configs may carry them.
        behavior.pop(legacy, None)
    behavior.update(
        {
            "TargetOriginId": ORIGIN_ID,
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": {
                "Quantity": 2,
                "Items": ["GET", "HEAD"],
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            },
            "Compress": True,
            "CachePolicyId": CACHING_OPTIMIZED_POLICY_ID,
            "ResponseHeadersPolicyId": SECURITY_HEADERS_POLICY_ID,
            "LambdaFunctionAssociations": associations,
            "FunctionAssociations": {"Quantity": 0},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
            "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
            "SmoothStreaming": False,
            "FieldLevelEncryptionId": "",
        }
    )
    config["DefaultCacheBehavior"] = behavior
    config["DefaultRootObject"] = "index.html"
    config["Aliases"] = {"Quantity": len(aliases), "Items": aliases} if aliases else {"Quantity": 0}
    if certificate_arn:
        config["ViewerCertificate"] = {
            "ACMCertificateArn": certificate_arn,
            "SSLSupportMethod": "sni-only",
            "MinimumProtocolVersion": "TLSv1.2_2021",
        }
    else:
        config["ViewerCertificate"] = {"CloudFrontDefaultCertificate": True}
    config["HttpVersion"] = "http2and3"
    config["PriceClass"] = "PriceClass_100"
    config["IsIPV6Enabled"] = True
    return config


def distribution_config_new(
    *,
    caller_reference: str,
    comment: str,
    bucket_name: str,
    oac_id: str,
    aliases: Iterable[str],
    certificate_arn: str | None,
    edge_version_arn: str | None,
) -> dict:
    config = {"CallerReference": caller_reference, "Comment": comment[:128], "Enabled": True}
    return distribution_settings_apply(
        config,
        bucket_name=bucket_name,
        oac_id=oac_id,
        aliases=aliases,
        certificate_arn=certificate_arn,
        edge_version_arn=edge_version_arn,
    )


def _summary(distribution: dict) -> dict:
    return {
        "id": distribution["Id"],
        "arn": distribution["ARN"],
        "domain": distribution["DomainName"],
        "status": distribution["Status"],
    }


def distribution_find_by_caller_reference(caller_reference: str) -> dict | None:
    """The distribution created with this CallerReference, or None.

    List summaries carry no CallerReference, so we match on the Comment, which
    always contains it, then confirm against the full config.
    """
    cloudfront = client("cloudfront")
    marker = None
    while True:
        params = {"Marker": marker} if marker else {}
        page = _call(cloudfront, "list_distributions", **params)["DistributionList"]
        for item in page.get("Items", []) or []:
            if caller_reference not in (item.get("Comment") or ""):
                continue
            config = distribution_config_get(item["Id"])
            if config and config[0].get("CallerReference") == caller_reference:
                return _summary(item)
        marker = page.get("NextMarker")
        if not page.get("IsTruncated") or not marker:
            return None


def distribution_get(distribution_id: str) -> dict | None:
    try:
        response = _call(client("cloudfront"), "get_distribution", Id=distribution_id)
    except AwsError as exc:
        if _not_found(exc):
            return None
        raise
    summary = _summary(response["Distribution"])
    summary["enabled"] = response["Distribution"]["DistributionConfig"]["Enabled"]
    summary["etag"] = response["ETag"]
    return summary


def distribution_config_get(distribution_id: str) -> tuple[dict, str] | None:
    try:
        response = _call(client("cloudfront"), "get_distribution_config", Id=distribution_id)
    except AwsError as exc:
        if _not_found(exc):
            return None
        raise
    return response["DistributionConfig"], response["ETag"]


def distribution_ensure(
    *,
    caller_reference: str,
    comment: str,
    bucket_name: str,
    oac_id: str,
    aliases: Iterable[str] = (),
    certificate_arn: str | None = None,
    edge_version_arn: str | None,
) -> dict:
    """Create the distribution, or find the one this CallerReference already made.

    Returns {"id", "arn", "domain", "status", "created"}.
    """
    if caller_reference not in comment:
        # The lookup above matches on the Comment (128 characters at most):
        # the reference must survive any trimming.
        comment = f"{comment[: 128 - len(caller_reference) - 3]} [{caller_reference}]"
    config = distribution_config_new(
        caller_reference=caller_reference,
        comment=comment,
        bucket_name=bucket_name,
        oac_id=oac_id,
        aliases=aliases,
        certificate_arn=certificate_arn,
        edge_version_arn=edge_version_arn,
    )
    existing = distribution_find_by_caller_reference(caller_reference)
    if existing:
        return {**existing, "created": False}
    try:
        response = _call(client("cloudfront"), "create_distribution", DistributionConfig=config)
    except AwsError as exc:
        # Created by an earlier run whose answer we never saw (or a twin task).
        if _is(exc, "DistributionAlreadyExists"):
            existing = distribution_find_by_caller_reference(caller_reference)
            if existing:
                return {**existing, "created": False}
        raise
    return {**_summary(response["Distribution"]), "created": True}


def distribution_update(
    *, distribution_id: str, mutate: Callable[[dict], None], attempts: int = 4
) -> dict:
    """Read the config with its ETag, change it, write it back with IfMatch.

    A PreconditionFailed means someone changed it in between: read again and
    re-apply `mutate` (which must be idempotent), a bounded number of times.
    """
    cloudfront = client("cloudfront")
    for attempt in range(1, attempts + 1):
        current = distribution_config_get(distribution_id)
        if current is None:
            raise AwsError(f"distribution {distribution_id} does not exist", code="NoSuchDistribution")
        config, etag = current
        mutate(config)
        try:
            response = _call(cloudfront, "update_distribution", Id=distribution_id, IfMatch=etag, DistributionConfig=config)
        except AwsError as exc:
            if _is(exc, "PreconditionFailed", "InvalidIfMatchVersion") and attempt < attempts:
                log.info("distribution %s changed while updating (attempt %d), reading again", distribution_id, attempt)
                continue
            if _is(exc, "PreconditionFailed", "InvalidIfMatchVersion"):
                raise AwsConflict(str(exc), code=exc.code, operation="update_distribution") from exc
            raise
        return _summary(response["Distribution"])
    raise AssertionError("unreachable")


def distribution_status(distribution_id: str) -> str | None:
    """"InProgress", "Deployed", or None when there is no such distribution."""
    found = distribution_get(distribution_id)
    return found["status"] if found else None


def distribution_disable(*, distribution_id: str, detach_edge: bool = True) -> bool:
    """Disable (and detach the edge function from) a distribution.

    Returns False when there is nothing to disable (gone already). Detaching
    lets Lambda start removing the function's replicas for this distribution.
    """

    def mutate(config: dict) -> None:
        config["Enabled"] = False
        if detach_edge:
            config.setdefault("DefaultCacheBehavior", {})["LambdaFunctionAssociations"] = {"Quantity": 0}

    current = distribution_config_get(distribution_id)
    if current is None:
        return False
    config = current[0]
    attached = (config.get("DefaultCacheBehavior", {}).get("LambdaFunctionAssociations") or {}).get("Quantity", 0)
    if not config.get("Enabled") and not (detach_edge and attached):
        return True
    distribution_update(distribution_id=distribution_id, mutate=mutate)
    return True


def distribution_delete(*, distribution_id: str) -> bool:
    """Delete a disabled, deployed distribution. True: gone. False: not yet (ask again later)."""
    found = distribution_get(distribution_id)
    if found is None:
        return True
    if found["enabled"] or found["status"] != "Deployed":
        return False
    try:
        _call(client("cloudfront"), "delete_distribution", Id=distribution_id, IfMatch=found["etag"])
    except AwsError as exc:
        if _not_found(exc):
            return True
        if _is(exc, "PreconditionFailed", "DistributionNotDisabled", "InvalidIfMatchVersion"):
            return False
        raise
    return True


def invalidation_create(*, distribution_id: str, paths: list[str], caller_reference: str) -> str:
    """Invalidate `paths`; the same caller_reference twice makes one invalidation."""
    response = _call(
        client("cloudfront"),
        "create_invalidation",
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": list(paths)}, "CallerReference": caller_reference},
    )
    return response["Invalidation"]["Id"]


# --- IAM + Lambda (the edge release) ---------------------------------------------------


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


def edge_role_ensure() -> str:
    """The edge function's role: trusted by Lambda and Lambda@Edge, reads configs; its ARN."""
    arn = _edge_role_create()
    key_arn = config_key_ensure()
    policy = edge_role_policy(
        account=account_id(),
        bucket=config_bucket_name(),
        prefix=config_prefix(),
        key_arn=key_arn,
        function_name=edge_function_base_name(),
        partition=_partition(),
    )
    _call(
        client("iam"),
        "put_role_policy",
        RoleName=edge_role_name(),
        PolicyName="gatehouse-edge-config-read",
        PolicyDocument=json.dumps(policy),
    )
    return arn


def function_name_for_index(n: int) -> str:
    """The n-th shared edge function (0-based): each serves at most 500 distributions."""
    base = edge_function_base_name()
    return base if n == 0 else f"{base}-{n + 1}"


def _lambda():
    return client("lambda", region_name=EDGE_REGION)


@dataclass(frozen=True)
class FunctionState:
    state: str  # Pending, Active, Inactive, Failed
    last_update_status: str  # InProgress, Successful, Failed
    code_sha256: str
    reason: str

    @property
    def ready(self) -> bool:
        return self.state == "Active" and self.last_update_status in ("Successful", "")

    @property
    def failed(self) -> bool:
        return self.state == "Failed" or self.last_update_status == "Failed"


def edge_function_state(*, function_name: str | None = None) -> FunctionState | None:
    try:
        config = _call(_lambda(), "get_function_configuration", FunctionName=function_name or function_name_for_index(0))
    except AwsError as exc:
        if _not_found(exc):
            return None
        raise
    return FunctionState(
        state=config.get("State", "Active"),
        last_update_status=config.get("LastUpdateStatus", ""),
        code_sha256=config.get("CodeSha256", ""),
        reason=config.get("StateReason") or config.get("LastUpdateStatusReason") or "",
    )


def edge_function_code_put(*, zip_bytes: bytes, sha256_b64: str, role_arn: str, function_name: str) -> FunctionState:
    """Create the function, or update its code when it differs; never waits."""
    lam = _lambda()
    state = edge_function_state(function_name=function_name)
    if state is None:
        runtime = getattr(settings, "GATEHOUSE_EDGE_RUNTIME", "python3.12")
        try:
            _call(
                lam,
                "create_function",
                FunctionName=function_name,
                Runtime=runtime,
                Role=role_arn,
                Handler=EDGE_HANDLER,
                Code={"ZipFile": zip_bytes},
                Description="Gatehouse viewer-request auth (Lambda@Edge)",
                Timeout=EDGE_TIMEOUT_SECONDS,
                MemorySize=EDGE_MEMORY_MB,
                Architectures=["x86_64"],
                Publish=False,
                Tags={TAG_KEY: "edge"},
            )
        except AwsError as exc:
            if not _is(exc, "ResourceConflictException"):
                raise
        return edge_function_state(function_name=function_name)  # type: ignore[return-value]
    if state.code_sha256 == sha256_b64:
        return state
    if not state.ready:
        raise EdgeFunctionNotReady(f"{function_name} is {state.state}/{state.last_update_status}", code="NotReady")
    _call(lam, "update_function_code", FunctionName=function_name, ZipFile=zip_bytes, Publish=False)
    return edge_function_state(function_name=function_name)  # type: ignore[return-value]


@dataclass(frozen=True)
class PublishedVersion:
    function_arn: str
    version_arn: str
    version: str


def edge_version_publish(*, function_name: str, sha256_b64: str) -> PublishedVersion:
    """Publish a numbered version of exactly this code (or return the one that has it)."""
    lam = _lambda()
    existing = _version_with_sha(function_name, sha256_b64)
    if existing:
        return existing
    state = edge_function_state(function_name=function_name)
    if state is None:
        raise AwsError(f"function {function_name} does not exist", code="ResourceNotFoundException")
    if state.failed:
        raise AwsError(f"function {function_name} failed: {state.reason}", code="FunctionFailed")
    if not state.ready:
        raise EdgeFunctionNotReady(f"{function_name} is {state.state}/{state.last_update_status}", code="NotReady")
    try:
        # CodeSha256: refuse to publish if $LATEST holds other code by now.
        response = _call(lam, "publish_version", FunctionName=function_name, CodeSha256=sha256_b64)
    except AwsError as exc:
        if _is(exc, "PreconditionFailedException", "InvalidParameterValueException") and "sha" in str(exc).lower():
            raise AwsConflict(str(exc), code=exc.code, operation="publish_version") from exc
        raise
    if response.get("CodeSha256") and response["CodeSha256"] != sha256_b64:
        raise AwsConflict(f"{function_name}: published code {response['CodeSha256']} is not {sha256_b64}")
    return _published(response)


def _published(config: dict) -> PublishedVersion:
    version_arn = config["FunctionArn"]
    _require_numbered(version_arn)
    return PublishedVersion(
        function_arn=version_arn.rsplit(":", 1)[0], version_arn=version_arn, version=config["Version"]
    )


def _version_with_sha(function_name: str, sha256_b64: str) -> PublishedVersion | None:
    lam = _lambda()
    marker = None
    while True:
        params: dict[str, Any] = {"FunctionName": function_name}
        if marker:
            params["Marker"] = marker
        try:
            page = _call(lam, "list_versions_by_function", **params)
        except AwsError as exc:
            if _not_found(exc):
                return None
            raise
        for version in page.get("Versions", []):
            if version.get("Version") != "$LATEST" and version.get("CodeSha256") == sha256_b64:
                return _published(version)
        marker = page.get("NextMarker")
        if not marker:
            return None


def edge_function_publish(
    *, zip_bytes: bytes, sha256_b64: str, function_name: str | None = None, wait_seconds: float = 0.0
) -> PublishedVersion:
    """Create/update the shared function and publish a numbered version of this zip.

    Raises EdgeFunctionNotReady while Lambda is still creating or updating the
    function: the caller (a task) comes back later rather than waiting here.
    `wait_seconds` allows a short bounded poll for the common fast case.
    """
    function_name = function_name or function_name_for_index(0)
    existing = _version_with_sha(function_name, sha256_b64)
    if existing:
        return existing
    role_arn = edge_role_ensure()
    state = edge_function_code_put(
        zip_bytes=zip_bytes, sha256_b64=sha256_b64, role_arn=role_arn, function_name=function_name
    )
    deadline = time.monotonic() + wait_seconds
    while not state.ready and not state.failed and time.monotonic() < deadline:
        time.sleep(1)
        state = edge_function_state(function_name=function_name) or state
    return edge_version_publish(function_name=function_name, sha256_b64=sha256_b64)


# --- Operations: readiness probe and edge log retention ---------------------------------
# (issue 9 items 4: kept in one block so the split of this module into a
# package can move it whole, e.g. to sites/aws/operations.py.)

# Regions with a CloudFront regional edge cache, where Lambda@Edge runs a
# viewer-request function and so writes its logs (CloudFront Developer Guide,
# "Edge function logs"; GATEHOUSE_EDGE_LOG_REGIONS overrides the list).
EDGE_LOG_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
)
# The values PutRetentionPolicy accepts (CloudWatch Logs API Reference).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


def _probe_client(service: str):
    """A client for health probes: short timeouts, one attempt, so /readyz answers quickly."""
    global _session
    endpoint = _endpoint()
    key = (f"{service}:probe", region(), endpoint)
    with _lock:
        if key not in _clients:
            if _session is None:
                _session = boto3.session.Session()
            config = _config(service).merge(
                Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 1})
            )
            _clients[key] = _session.client(service, region_name=region(), endpoint_url=endpoint, config=config)
        return _clients[key]


def buckets_reachable(*, buckets: Iterable[str]) -> None:
    """Raises AwsError unless every bucket answers HeadBucket (exists and is ours to read)."""
    s3 = _probe_client("s3")
    for bucket in buckets:
        _call(s3, "head_bucket", Bucket=bucket)


def edge_log_group_name(function_name: str) -> str:
    # Lambda@Edge prefixes the function's home region in every region's group.
    return f"/aws/lambda/{EDGE_REGION}.{function_name}"


def edge_log_retention_ensure(*, function_name: str, days: int, regions: Iterable[str]) -> list[str]:
    """Create the edge function's log group where absent and set its retention, per region.

    Lambda@Edge creates a group on the first invocation in a region, with no
    retention (kept forever); creating it first means the retention holds from
    the first line. Returns the regions done; raises AwsError for the first
    region that refused (the others are still attempted first).
    """
    if days not in LOG_RETENTION_DAYS:
        raise AwsError(f"{days} is not a retention CloudWatch Logs accepts", code="InvalidParameterValue")
    name = edge_log_group_name(function_name)
    done, failures = [], []
    for region_name in regions:
        logs = client("logs", region_name=region_name)
        try:
            try:
                _call(logs, "create_log_group", logGroupName=name)
            except AwsError as exc:
                if exc.code != "ResourceAlreadyExistsException":
                    raise
            _call(logs, "put_retention_policy", logGroupName=name, retentionInDays=days)
        except AwsError as exc:
            failures.append(exc)
            log.warning("edge log group %s in %s: %s", name, region_name, exc)
            continue
        done.append(region_name)
    if failures:
        raise failures[0]
    return done


def edge_log_retention_get(*, function_name: str, region_name: str) -> int | None:
    """The retention in days of the edge log group in one region; None if absent or unset."""
    name = edge_log_group_name(function_name)
    found = _call(client("logs", region_name=region_name), "describe_log_groups", logGroupNamePrefix=name)
    for group in found.get("logGroups", []):
        if group["logGroupName"] == name:
            return group.get("retentionInDays")
    return None
