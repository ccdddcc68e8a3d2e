"""CloudFront: the shared origin access control, distributions, invalidations."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterable

from .clients import AwsConflict, AwsError, _call, _is, _not_found, client
from .distribution_config import distribution_config_new

log = logging.getLogger(__name__)


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



def _summary(distribution: dict) -> dict:
    return {
        "id": distribution["Id"],
        "arn": distribution["ARN"],
        "domain": distribution["DomainName"],
        "status": distribution["Status"],
    }


def _with_version(response: dict) -> dict:
    """The summary of a create or update answer, with the config it wrote and its ETag (for `known`)."""
    return {
        **_summary(response["Distribution"]),
        "config": response["Distribution"]["DistributionConfig"],
        "etag": response["ETag"],
    }


def distribution_find_by_caller_reference(caller_reference: str) -> dict | None:
    """The distribution created with this CallerReference, or None, by listing
    every distribution: only for teardown of a site whose create was never
    recorded, and as the fallback when CloudFront's answer names no id.

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


# CloudFront's (and moto's) DistributionAlreadyExists message ends with the
# id: "... associated with another distribution. Already exists: E1SXXXXXXXXXX".
_ALREADY_EXISTS_ID = re.compile(r"Already exists: ([A-Z0-9]{8,32})\b")


def _distribution_with_reference(distribution_id: str, caller_reference: str) -> dict | None:
    try:
        response = _call(client("cloudfront"), "get_distribution", Id=distribution_id)
    except AwsError as exc:
        if _not_found(exc):
            return None
        raise
    distribution = response["Distribution"]
    if distribution["DistributionConfig"].get("CallerReference") != caller_reference:
        return None
    return _summary(distribution)


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

    Returns {"id", "arn", "domain", "status", "created"}, with "config" and
    "etag" when this call created it.
    """
    if caller_reference not in comment:
        # The listing fallback matches on the Comment (128 characters at
        # most): the reference must survive any trimming.
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
    # No lookup first: the CallerReference makes the create idempotent, so
    # one call answers for a new site whatever the account holds.
    try:
        response = _call(client("cloudfront"), "create_distribution", DistributionConfig=config)
    except AwsError as exc:
        # Created by an earlier run whose answer we never saw (or a twin task).
        if not _is(exc, "DistributionAlreadyExists"):
            raise
        named = _ALREADY_EXISTS_ID.search(str(exc))
        existing = _distribution_with_reference(named.group(1), caller_reference) if named else None
        # The message is prose, not a field: if it ever stops naming the id, list.
        existing = existing or distribution_find_by_caller_reference(caller_reference)
        if existing:
            return {**existing, "created": False}
        raise
    return {**_with_version(response), "created": True}


def distribution_update(
    *, distribution_id: str, mutate: Callable[[dict], None], attempts: int = 4, known: tuple[dict, str] | None = None
) -> dict:
    """Read the config with its ETag, change it, write it back with IfMatch.

    A PreconditionFailed means someone changed it in between: read again and
    re-apply `mutate` (which must be idempotent), a bounded number of times.

    `known` is a (config, ETag) pair from an earlier answer (the "config" and
    "etag" of what this returns, or of distribution_ensure's). The first try
    writes over it without reading: CloudFront refuses the write when the
    ETag is no longer current, and that refusal falls back to a read, so a
    change made meanwhile (in the AWS console, say) is never written over.
    It halves the calls of a roll-out. Returns the summary with the new
    "config" and "etag".
    """
    cloudfront = client("cloudfront")
    for attempt in range(1, attempts + 1):
        if attempt == 1 and known is not None:
            config, etag = copy.deepcopy(known[0]), known[1]
        else:
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
        return _with_version(response)
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
