"""Helpers for tests that talk to moto's server through sites.aws.

moto drops LambdaFunctionAssociations and OriginAccessControlId from
distributions and accepts any IfMatch, so those are checked on what boto3
sends (`cloudfront_etags` adds CloudFront's ETag check back): `Sent` records each request's parameters and serialised body from
botocore's own event hooks on the cached clients.
"""

import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def aws(request, settings):
    """sites.aws pointed at a freshly reset moto server, with clean client caches."""
    server = request.getfixturevalue("moto_reset")
    request.getfixturevalue("aws_env")
    from sites import aws as module

    settings.GATEHOUSE_AWS_ENDPOINT_URL = server.endpoint_url
    module.clients_reset()
    yield module
    # Hooks registered by a test live on the cached clients: drop them.
    module.clients_reset()


@dataclass
class Request:
    operation: str
    params: dict
    body: bytes = b""

    def xml(self):
        root = ET.fromstring(self.body)
        for element in root.iter():
            element.tag = element.tag.split("}", 1)[-1]  # drop the namespace
        return root


@dataclass
class Sent:
    requests: list = field(default_factory=list)

    def of(self, operation):
        return [r for r in self.requests if r.operation == operation]

    def last(self, operation):
        found = self.of(operation)
        assert found, f"no {operation} request was sent"
        return found[-1]


def record(client) -> Sent:
    """Record every request `client` sends from now on."""
    sent = Sent()
    current = {}

    def params(params, model, **kwargs):
        current["request"] = Request(model.name, dict(params))
        sent.requests.append(current["request"])

    def before_send(request, **kwargs):
        if "request" in current:
            body = request.body
            if hasattr(body, "read"):
                body = b""  # streamed uploads: parameters are enough
            current["request"].body = body if isinstance(body, bytes) else (body or "").encode()

    client.meta.events.register("provide-client-params.*.*", params)
    client.meta.events.register("before-send.*.*", before_send)
    return sent


def fail(client, operation, code, *, status=400, times=1, message="injected"):
    """Make `operation` on `client` fail `times` times with an AWS error, then work again."""
    calls = {"failed": 0}
    service = client.meta.service_model.service_name

    def raise_error(**kwargs):
        if calls["failed"] < times:
            calls["failed"] += 1
            raise ClientError(
                {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                operation,
            )

    client.meta.events.register(f"before-call.{service}.{operation}", raise_error)
    return calls


def cloudfront_etags(client) -> dict:
    """CloudFront's ETag check, which moto skips, on `client`: a new ETag per write, and a write
    whose IfMatch is not the current one refused with 412 PreconditionFailed, as CloudFront does.

    Returns the current ETag of each distribution (by id), filled as they are created.
    """
    current: dict[str, str] = {}
    lock = threading.Lock()

    def bump(distribution_id):
        current[distribution_id] = f"E{len(current)}-{uuid.uuid4().hex[:8].upper()}"

    def check(params, model, context, **kwargs):
        context["distribution_id"] = params.get("Id")
        if model.name == "UpdateDistribution":
            with lock:
                if params.get("IfMatch") != current.get(params["Id"]):
                    raise ClientError(
                        {"Error": {"Code": "PreconditionFailed", "Message": "The If-Match version is missing or not valid"},
                         "ResponseMetadata": {"HTTPStatusCode": 412}},
                        model.name,
                    )

    def answer(parsed, model, context, **kwargs):
        if "Error" in parsed:
            return
        distribution_id = context.get("distribution_id") or parsed.get("Distribution", {}).get("Id")
        with lock:
            if model.name in ("CreateDistribution", "UpdateDistribution") or distribution_id not in current:
                bump(distribution_id)
            parsed["ETag"] = current[distribution_id]

    client.meta.events.register("provide-client-params.cloudfront.*", check)
    for operation in ("CreateDistribution", "UpdateDistribution", "GetDistribution", "GetDistributionConfig"):
        client.meta.events.register(f"after-call.cloudfront.{operation}", answer)
    return current


def ses_sent(endpoint_url: str) -> list:
    """The messages moto's SES has sent, parsed (moto keeps raw ones in its model data)."""
    import email
    import email.policy
    import json
    import urllib.request

    with urllib.request.urlopen(endpoint_url + "/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    raw = (data.get("ses") or {}).get("RawMessage") or []
    return [email.message_from_string(m["raw_data"], policy=email.policy.default) for m in raw]


def parts(message) -> dict:
    """{"text/plain": str, "text/html": str} of a multipart/alternative message."""
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


def ses_identity_verify(identity: str, region_name: str) -> None:
    """Make `identity` a verified sender in moto's SES (an operator's one-off step
    in real AWS, so not the console's: the console's policy has no CreateEmailIdentity)."""
    from sites.aws.clients import client

    ses = client("sesv2", region_name=region_name)
    try:
        ses.create_email_identity(EmailIdentity=identity)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AlreadyExistsException":
            raise
