"""Lambda (us-east-1): the shared edge function, its role's permissions, its numbered versions."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from .clients import (
    TAG_KEY,
    AwsConflict,
    AwsError,
    EdgeFunctionNotReady,
    _call,
    _is,
    _not_found,
    _partition,
    account_id,
    client,
    config_bucket_name,
    config_prefix,
    edge_function_base_name,
    edge_role_name,
    ses_region,
    ses_sender,
)
from .distribution_config import _require_numbered
from .iam import _edge_role_create
from .kms import config_key_ensure
from .policies import edge_role_policy

EDGE_HANDLER = "edge_runtime.handler.handler"
EDGE_MEMORY_MB = 128  # Lambda@Edge viewer-request maximum
EDGE_TIMEOUT_SECONDS = 5  # Lambda@Edge viewer-request maximum
EDGE_REGION = "us-east-1"  # Lambda@Edge functions live only there
MAX_ASSOCIATIONS_PER_FUNCTION = 500


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
        ses_sender=ses_sender(),
        ses_region=ses_region(),
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
    """The n-th shared edge function (0-based): each serves at most MAX_ASSOCIATIONS_PER_FUNCTION distributions."""
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
        runtime = settings.GATEHOUSE_EDGE_RUNTIME
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
