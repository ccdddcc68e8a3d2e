"""CloudWatch Logs for the edge function, and the readiness probe's bucket check."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from .clients import AwsError, _call, _probe_client, client
from .lambda_ import EDGE_REGION

log = logging.getLogger(__name__)


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


# CloudWatch's JSON filter for the edge's visit lines (edge_runtime/visits.py
# VISIT_MARK): only they cross the network, not every request's START/REPORT.
VISIT_FILTER = "{ $.visit = 1 }"


def edge_log_events(*, function_name: str, region_name: str, start_ms: int, end_ms: int | None = None) -> Iterator[dict]:
    """The edge function's visit lines in one region from `start_ms` on, oldest first.

    Yields {"stream", "event_id", "timestamp" (ms), "message"}; nothing when
    the function never ran in that region (no log group yet).
    """
    logs = client("logs", region_name=region_name)
    params = {"logGroupName": edge_log_group_name(function_name), "startTime": int(start_ms), "filterPattern": VISIT_FILTER}
    if end_ms is not None:
        params["endTime"] = int(end_ms)
    while True:
        try:
            page = _call(logs, "filter_log_events", **params)
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":
                return
            raise
        for event in page.get("events", []):
            yield {
                "stream": event.get("logStreamName", ""),
                "event_id": str(event.get("eventId", "")),
                "timestamp": int(event.get("timestamp", 0)),
                "message": event.get("message", ""),
            }
        token = page.get("nextToken")
        if not token or token == params.get("nextToken"):
            return
        params["nextToken"] = token
