"""Edge releases: build the edge zip, publish it as a numbered Lambda version, pick a function with room."""

from __future__ import annotations

import base64
import hashlib

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from edge_runtime import __version__ as edge_version
from edge_runtime.config import CURRENT_SCHEMA_VERSION

from ... import aws
from ...context import chain
from ...models import Activity, Deployment, EdgeRelease, ProtectedSite, edge_public_origin
from .steps import Kind, Progress, StepFailed, Wait, _deployment_create, _finish, _run


def edge_release_publish_start(*, actor=None) -> Deployment | None:
    """Build the edge zip and start publishing it; None when that exact zip is already published."""
    data, sha_hex, _ = edge_zip()
    published = EdgeRelease.objects.filter(
        zip_sha256=sha_hex, function_name=aws.function_name_for_index(0), status=EdgeRelease.Status.PUBLISHED
    ).first()
    if published is not None:
        Activity.record(verb="edge_release.reused", actor=actor, detail=f"{published.version}: same zip already published")
        return None
    with chain(), transaction.atomic():
        release, _ = _release_for(sha_hex, len(data), 0, actor)
        if release.status == EdgeRelease.Status.FAILED:
            EdgeRelease.objects.filter(pk=release.pk).update(status=EdgeRelease.Status.PUBLISHING, message="")
        Activity.record(verb="edge_release.publish", actor=actor, detail=release.version)
        return _deployment_create(kind=Kind.EDGE_RELEASE, edge_release=release, actor=actor)


def edge_release_publish(deployment: Deployment) -> Progress:
    release = deployment.edge_release
    if release is None:
        _finish(deployment, Deployment.Status.FAILED, "the release row is gone")
        return Progress("failed")

    def role() -> str:
        aws.config_bucket_ensure()
        return f"role {aws.edge_role_ensure()}"

    def publish() -> str:
        if not _release_push(release):
            raise Wait(f"Lambda is still creating or updating {release.function_name}", countdown=10)
        return f"{release.version_arn}"

    def done() -> str:
        Activity.record(verb="edge_release.published", actor=deployment.started_by, detail=release.version_arn)
        return f"published {release.version} as {release.version_arn}"

    return _run(deployment, [("Config bucket and edge role", role), ("Publish function version", publish)], done)


def edge_settings() -> dict:
    """What the edge function bakes in (docs/edge-config.md, "Settings of the function itself")."""
    doc = {
        "config_bucket": aws.config_bucket_name(),
        "config_prefix": aws.config_prefix(),
        "config_region": aws.region(),
        "endpoint_url": settings.GATEHOUSE_AWS_ENDPOINT_URL or None,
    }
    public_origin = edge_public_origin()
    if public_origin:
        doc["public_origin"] = public_origin
    return doc


def edge_zip() -> tuple[bytes, str, str]:
    """The edge function's zip for this console's settings: (bytes, sha256 hex, sha256 base64)."""
    from edge_runtime.build import build_zip

    runtime, interpreter = settings.GATEHOUSE_EDGE_RUNTIME, settings.GATEHOUSE_EDGE_BUILD_PYTHON or None
    data = build_zip(settings=edge_settings(), python=runtime, interpreter=interpreter)  # byte-code for the runtime
    digest = hashlib.sha256(data).digest()
    return data, digest.hex(), base64.b64encode(digest).decode()


def sites_per_function() -> int:
    """How many sites one edge function takes: the setting, else Lambda@Edge's limit."""
    return settings.GATEHOUSE_EDGE_SITES_PER_FUNCTION or aws.MAX_ASSOCIATIONS_PER_FUNCTION


def _function_index_with_room() -> int:
    counts = dict(
        ProtectedSite.objects.exclude(edge_release=None)
        .values("edge_release__function_name")
        .annotate(n=Count("pk"))
        .values_list("edge_release__function_name", "n")
    )
    index = 0
    while counts.get(aws.function_name_for_index(index), 0) >= sites_per_function():
        index += 1
    return index


def _release_version(sha_hex: str, function_index: int) -> str:
    suffix = f"-f{function_index + 1}" if function_index else ""
    return f"{edge_version}-{sha_hex[:12]}{suffix}"


def _release_for(sha_hex: str, size: int, function_index: int, actor=None) -> tuple[EdgeRelease, bool]:
    function_name = aws.function_name_for_index(function_index)
    return EdgeRelease.objects.get_or_create(
        version=_release_version(sha_hex, function_index),
        defaults={
            "zip_sha256": sha_hex,
            "zip_size": size,
            "schema_version": CURRENT_SCHEMA_VERSION,
            "function_name": function_name,
            "status": EdgeRelease.Status.PUBLISHING,
            "created_by": actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        },
    )


def _release_push(release: EdgeRelease) -> bool:
    """Publish `release` to Lambda; False while Lambda is still busy with the function."""
    if release.status == EdgeRelease.Status.PUBLISHED and release.version_arn:
        return True
    data, sha_hex, sha_b64 = edge_zip()
    if sha_hex != release.zip_sha256:
        raise StepFailed(
            f"this worker builds a different zip ({sha_hex[:12]}) than release {release.version}; "
            "the code or the edge settings changed since: publish a new release"
        )
    try:
        published = aws.edge_function_publish(zip_bytes=data, sha256_b64=sha_b64, function_name=release.function_name)
    except aws.EdgeFunctionNotReady:
        return False
    EdgeRelease.objects.filter(pk=release.pk).update(
        function_arn=published.function_arn,
        version_arn=published.version_arn,
        status=EdgeRelease.Status.PUBLISHED,
        published_at=release.published_at or timezone.now(),
        message=f"version {published.version} of {release.function_name}",
    )
    release.refresh_from_db()
    return True
