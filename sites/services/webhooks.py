"""Webhook endpoints and the events the console sends them.

Every event goes through `event_emit`: once the current transaction commits
(a rolled-back deployment start sends nothing), one WebhookDelivery is
recorded for each enabled endpoint that wants the event, and its delivery
task is sent (sites.enqueue, by name). The worker signs and posts it
(sites/services/webhook_delivery.py), retrying with backoff.

The events, and the services that emit them:
- deployment.started / .succeeded / .failed: the deployment engine
  (provisioning/engine.py `_begin`, provisioning/steps.py `_finish`), where the
  status changes by a conditional UPDATE, so each is sent once;
- build.live: a build upload that ends live, and making a build live again;
- access.ending_soon: reminders.py, claimed once per site per end date;
- invitee.first_visit: visits.py, claimed once per invitation.
"""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .. import enqueue, mail
from ..models import Activity, Build, Deployment, ProtectedSite, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

Event = WebhookEndpoint.Event
SECRET_PREFIX = "whsec_"


def secret_generate() -> str:
    """A Standard Webhooks signing secret: whsec_ and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


# --- Endpoints ------------------------------------------------------------------------------------


def endpoint_create(
    *, kind: str, url: str, description: str, events: list[str], actor, enabled: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and, for a standard one, its signing secret (to be shown once; "" for Slack)."""
    endpoint = WebhookEndpoint(
        kind=kind, description=description, events=sorted(set(events)), enabled=enabled,
        created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    endpoint.url = url
    secret = secret_generate() if kind == WebhookEndpoint.Kind.STANDARD else ""
    endpoint.secret = secret
    with transaction.atomic():
        endpoint.save()
        Activity.record(verb="webhook.create", actor=actor, detail=f"{endpoint.get_kind_display()} {endpoint.url_display}")
    return endpoint, secret


def endpoint_update(*, endpoint: WebhookEndpoint, description: str, events: list[str], enabled: bool, url: str = "", actor) -> None:
    """Change what an endpoint gets; `url` "" keeps the current one (a Slack URL is never shown again)."""
    endpoint.description = description
    endpoint.events = sorted(set(events))
    endpoint.enabled = enabled
    if url:
        endpoint.url = url
    with transaction.atomic():
        endpoint.save()
        Activity.record(verb="webhook.update", actor=actor, detail=f"{endpoint.url_display}: {', '.join(endpoint.events) or 'no events'}{'' if enabled else ' (disabled)'}")


def endpoint_enabled_set(*, endpoint: WebhookEndpoint, enabled: bool, actor) -> None:
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=enabled)
        endpoint.enabled = enabled
        Activity.record(verb="webhook.enable" if enabled else "webhook.disable", actor=actor, detail=endpoint.url_display)


def endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    with transaction.atomic():
        display = endpoint.url_display
        endpoint.delete()
        Activity.record(verb="webhook.delete", actor=actor, detail=display)


def webhook_deliveries_purge(*, now=None) -> int:
    """Delete finished deliveries older than GATEHOUSE_WEBHOOK_LOG_DAYS; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.GATEHOUSE_WEBHOOK_LOG_DAYS)
    finished = [WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED]
    _, deleted = WebhookDelivery.objects.filter(status__in=finished, created_at__lt=cutoff).delete()
    return deleted.get(WebhookDelivery._meta.label, 0)  # its attempts go with it, uncounted


def delivery_redeliver(*, delivery: WebhookDelivery, actor) -> bool:
    """Send a finished delivery again (same message id, a fresh run of retries); False if one is under way."""
    with transaction.atomic():
        again = WebhookDelivery.objects.filter(
            pk=delivery.pk, status__in=[WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED]
        ).update(status=WebhookDelivery.Status.PENDING, finished_at=None, claimed_at=None)
        if not again:
            return False
        Activity.record(verb="webhook.redeliver", actor=actor, detail=f"{delivery.event_type} to {delivery.endpoint.url_display}")
        enqueue.webhook_deliver_on_commit(delivery.pk)
    return True


# --- Emitting -------------------------------------------------------------------------------------


def event_emit(*, event_type: str, data: dict) -> None:
    """Record a delivery of this event for each endpoint that wants it, and send each, once the transaction commits.

    robust: a failure here is logged and never undoes or breaks the work
    that emitted the event.
    """
    if event_type not in Event.values:
        raise ValueError(f"{event_type!r} is not a webhook event")
    payload = {"type": event_type, "timestamp": _iso(timezone.now()), "data": data}
    transaction.on_commit(lambda: _deliveries_record(event_type, payload), robust=True)


def _deliveries_record(event_type: str, payload: dict) -> list[int]:
    created = []
    for endpoint in WebhookEndpoint.objects.filter(enabled=True):
        if not endpoint.wants(event_type):
            continue
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_type=event_type, payload=payload, message_id=f"msg_{uuid.uuid4().hex}"
        )
        enqueue.webhook_deliver(delivery.pk)
        created.append(delivery.pk)
    return created


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def _site_data(site: ProtectedSite | None, slug: str = "") -> dict | None:
    if site is None:
        return {"slug": slug, "name": "", "client": "", "address": "", "console_url": ""} if slug else None
    return {
        "slug": site.slug,
        "name": site.name,
        "client": site.client,
        "address": mail.site_address(site),
        "console_url": mail.console_link(reverse("sites:site", kwargs={"slug": site.slug})),
    }


def _who(user) -> str | None:
    return user.get_username() if user is not None else None


def deployment_event(deployment: Deployment, event_type: str) -> None:
    deployment = Deployment.objects.select_related("site", "started_by", "build").get(pk=deployment.pk)
    site = deployment.site
    emit_data = {
        "site": _site_data(site, deployment.site_slug),
        "deployment": {
            "id": deployment.pk,
            "kind": deployment.kind,
            "status": deployment.status,
            "message": deployment.message,
            "started_by": _who(deployment.started_by),
            "created_at": _iso(deployment.created_at),
            "started_at": _iso(deployment.started_at),
            "finished_at": _iso(deployment.finished_at),
            "build": deployment.build.number if deployment.build_id else None,
            "console_url": mail.console_link(reverse("sites:site_deployments", kwargs={"slug": site.slug})) if site else "",
        },
    }
    event_emit(event_type=event_type, data=emit_data)


def deployment_started_emit(deployment: Deployment) -> None:
    deployment_event(deployment, Event.DEPLOYMENT_STARTED)


def deployment_finished_emit(deployment: Deployment) -> None:
    status = Deployment.objects.filter(pk=deployment.pk).values_list("status", flat=True).first()
    if status == Deployment.Status.SUCCEEDED:
        deployment_event(deployment, Event.DEPLOYMENT_SUCCEEDED)
    elif status == Deployment.Status.FAILED:
        deployment_event(deployment, Event.DEPLOYMENT_FAILED)


def build_live_emit(*, site: ProtectedSite, build: Build, actor=None) -> None:
    event_emit(
        event_type=Event.BUILD_LIVE,
        data={
            "site": _site_data(site),
            "build": {
                "id": build.pk,
                "number": build.number,
                "message": build.deploy_message,
                "commit": build.commit,
                "files": build.file_count,
                "bytes": build.total_bytes,
                "created_at": _iso(build.created_at),
                "console_url": mail.console_link(reverse("sites:builds", kwargs={"slug": site.slug})),
            },
            "made_live_by": _who(actor) if actor is not None and getattr(actor, "is_authenticated", False) else None,
        },
    )


def access_ending_emit(*, site: ProtectedSite, days_left: int) -> None:
    event_emit(
        event_type=Event.ACCESS_ENDING,
        data={"site": _site_data(site), "access": {"not_after": _iso(site.not_after), "days_left": days_left}},
    )


def invitee_first_visit_emit(*, site: ProtectedSite, email: str, occurred_at: datetime, kind: str) -> None:
    event_emit(
        event_type=Event.INVITEE_FIRST_VISIT,
        data={"site": _site_data(site), "invitee": {"email": email}, "visit": {"occurred_at": _iso(occurred_at), "kind": kind}},
    )

