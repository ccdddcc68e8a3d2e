"""S3: the config bucket and its objects, the site buckets and their builds."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .clients import (
    AwsError,
    AwsTransientError,
    _call,
    _endpoint,
    _is,
    _not_found,
    _partition,
    _translate,
    client,
    config_bucket_name,
    config_key_alias,
    config_prefix,
    region,
)
from .kms import config_key_ensure
from .policies import _tls_only_statement, site_bucket_policy


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


def config_object_digest(*, host: str) -> str | None:
    """The sha256 of one host's config object as S3 holds it; None when there is none."""
    try:
        response = _call(client("s3"), "get_object", Bucket=config_bucket_name(), Key=config_object_key(host))
    except AwsError as exc:
        if _not_found(exc):
            return None
        raise
    return hashlib.sha256(response["Body"].read()).hexdigest()


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


# CloudFront fetches a custom error page straight from the origin: the
# viewer-request function does not run for it ("CloudFront events that can
# trigger a Lambda@Edge function": not "when fetching a custom error page"),
# so the page cannot be mapped to the live build's prefix at the edge. It is
# one object at a fixed key instead, rewritten whenever a config naming a
# build is uploaded. Viewers never reach the key directly: the edge answers
# every /_gatehouse/ path itself.
NOT_FOUND_PAGE_KEY = "_gatehouse/not-found.html"
NOT_FOUND_PAGE_PATH = "/" + NOT_FOUND_PAGE_KEY
NOT_FOUND_CACHE = "no-cache"  # CloudFront keeps it for the policy's 1 s minimum, browsers revalidate


def not_found_page_put(*, bucket: str, build_prefix: str | None, default_page: bytes) -> str:
    """Point the site's not-found page at the live build's own 404.html, or `default_page`.

    Returns where the page came from (for a log line).
    """
    s3 = client("s3")
    if build_prefix:
        source = f"{build_prefix.strip('/')}/404.html"
        try:
            _call(
                s3,
                "copy_object",
                Bucket=bucket,
                Key=NOT_FOUND_PAGE_KEY,
                CopySource={"Bucket": bucket, "Key": source},
                MetadataDirective="REPLACE",
                ContentType="text/html; charset=utf-8",
                CacheControl=NOT_FOUND_CACHE,
            )
            return source
        except AwsError as exc:
            if not _not_found(exc):
                raise
    _call(
        s3,
        "put_object",
        Bucket=bucket,
        Key=NOT_FOUND_PAGE_KEY,
        Body=default_page,
        ContentType="text/html; charset=utf-8",
        CacheControl=NOT_FOUND_CACHE,
    )
    return "the Gatehouse page"


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


# --- a site's content store (manifest deploys) ----------------------------------


def object_size(*, bucket: str, key: str) -> int | None:
    """The object's size in bytes, or None when there is no such object."""
    try:
        return _call(client("s3"), "head_object", Bucket=bucket, Key=key)["ContentLength"]
    except AwsError as exc:
        if _not_found(exc) or exc.code in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def object_sha256(*, bucket: str, key: str) -> str:
    """The SHA-256 of the object's bytes, read in chunks (never whole in memory)."""
    body = _call(client("s3"), "get_object", Bucket=bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    try:
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            digest.update(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, "get_object") from exc
    return digest.hexdigest()


def object_copy(*, bucket: str, source_key: str, key: str, content_type: str = "", cache_control: str = "") -> None:
    """A copy inside the bucket, done by S3 (no bytes through the console); headers replaced when given."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "CopySource": {"Bucket": bucket, "Key": source_key}}
    if content_type:
        params.update(MetadataDirective="REPLACE", ContentType=content_type, CacheControl=cache_control)
    _call(client("s3"), "copy_object", **params)


def object_delete(*, bucket: str, key: str) -> None:
    _call(client("s3"), "delete_object", Bucket=bucket, Key=key)


def upload_url_presign(*, bucket: str, key: str, expires_in: int) -> str:
    """An address a client PUTs one object's bytes to, straight to S3.

    Signed locally (no request to AWS), so it is made inside a web request.
    """
    try:
        return client("s3").generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in, HttpMethod="PUT"
        )
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, "generate_presigned_url") from exc
