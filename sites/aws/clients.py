"""The cached boto3 clients, AWS's errors in our terms, and the names settings give.

Every other module of the package calls AWS through `_call`, so a botocore
exception never leaves the package: callers see `AwsError` /
`AwsTransientError`. "Not found" is not an error here: lookups return None
and deletes of something already gone succeed.

Clients are cached per (service, region, endpoint) and are thread-safe;
creating them is not, hence the lock. The endpoint comes from
`GATEHOUSE_AWS_ENDPOINT_URL` (moto's server in development, None for AWS).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from django.conf import settings

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
    return settings.GATEHOUSE_AWS_ENDPOINT_URL or None


def region() -> str:
    return settings.GATEHOUSE_AWS_REGION


def _config(service: str) -> Config:
    options: dict[str, Any] = {
        "connect_timeout": settings.GATEHOUSE_AWS_CONNECT_TIMEOUT,
        "read_timeout": settings.GATEHOUSE_AWS_READ_TIMEOUT,
        # botocore's standard mode retries throttling and 5xx with jittered
        # backoff; what is left after that reaches the task's own retry.
        "retries": {"mode": "standard", "max_attempts": settings.GATEHOUSE_AWS_MAX_ATTEMPTS},
    }
    if service == "cloudfront":
        # A roll-out sends this many calls at once from one client; botocore's
        # pool keeps 10 connections, and past that opens and drops new ones.
        options["max_pool_connections"] = max(10, settings.GATEHOUSE_ROLLOUT_CONCURRENCY)
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
    configured = console_principal_configured()
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



def console_principal_configured() -> str:
    """`GATEHOUSE_CONSOLE_PRINCIPAL_ARN`, or "" (then only a new key names the caller)."""
    return settings.GATEHOUSE_CONSOLE_PRINCIPAL_ARN or ""


def console_id() -> str:
    """Which console (environment) this is, in tags: `GATEHOUSE_CONSOLE_ID`, else the config bucket."""
    return settings.GATEHOUSE_CONSOLE_ID or config_bucket_name()


# --- names the settings give ------------------------------------------------------


def config_bucket_name() -> str:
    return settings.GATEHOUSE_CONFIG_BUCKET


def config_prefix() -> str:
    return settings.GATEHOUSE_CONFIG_PREFIX


def config_key_alias() -> str:
    return settings.GATEHOUSE_CONFIG_KMS_KEY_ALIAS


def edge_role_name() -> str:
    return settings.GATEHOUSE_EDGE_ROLE_NAME


def ses_sender() -> str:
    return settings.GATEHOUSE_SES_SENDER


def ses_region() -> str:
    return settings.GATEHOUSE_SES_REGION


def edge_function_base_name() -> str:
    return settings.GATEHOUSE_EDGE_FUNCTION_NAME



def _partition() -> str:
    return "aws"


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
