"""Sending one webhook delivery: signed the Standard Webhooks way, or as a Slack message.

A standard endpoint gets the event's JSON with the headers webhook-id (the
delivery's message id, the same on every attempt), webhook-timestamp and
webhook-signature ("v1," + base64 of HMAC-SHA256 of "id.timestamp.body"
under the endpoint's whsec_ secret; the `standardwebhooks` package signs).
A Slack endpoint gets the same event as an incoming-webhook message (text
and blocks), unsigned: the URL is the secret.

The request goes only to a public address (sites/outbound.py, the guard
provider discovery uses; loopback only with GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK),
https (plain http only to loopback when that is allowed), within
GATEHOUSE_WEBHOOK_TIMEOUT seconds, and redirects are never followed: a 3xx is
a failed attempt like any other non-2xx answer.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..outbound import PinnedHTTPConnection, PinnedHTTPSConnection, address_is_public

log = logging.getLogger(__name__)

# What is kept of a receiver's answer: enough for a person to see why.
RESPONSE_KEEP = 300
_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


class DeliveryRefused(Exception):
    """The URL may not be sent to (scheme, address); retrying will not help."""


class DeliveryFailed(Exception):
    """This attempt failed (an answer other than 2xx, a timeout, no connection): the task retries it."""


@dataclass(frozen=True)
class Answer:
    code: int | None
    error: str = ""


# --- Slack formatting -----------------------------------------------------------------------------

_TITLES = {
    "deployment.started": ":arrow_forward: Deployment started",
    "deployment.succeeded": ":white_check_mark: Deployment succeeded",
    "deployment.failed": ":x: Deployment failed",
    "build.live": ":rocket: Build live",
    "access.ending_soon": ":hourglass: Access ending soon",
    "invitee.first_visit": ":wave: First visit by an invitee",
}


def _escape(text) -> str:
    # Slack's mrkdwn reads &, < and > as markup.
    return str(text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _site_words(site: dict | None) -> str:
    if not site:
        return "all sites"
    name = f"{site.get('client')} · {site.get('name')}" if site.get("name") else site.get("slug", "")
    return f"<{site['console_url']}|{_escape(name)}>" if site.get("console_url") else _escape(name)


def slack_message(payload: dict) -> dict:
    """The event as a Slack incoming-webhook message: `text` (notifications, fallback) and `blocks`."""
    event_type, data = payload.get("type", ""), payload.get("data") or {}
    title = _TITLES.get(event_type, event_type)
    site = data.get("site")
    lines, facts = [], []
    if event_type.startswith("deployment."):
        deployment = data.get("deployment") or {}
        lines.append(f"{_escape(deployment.get('kind', '')).capitalize()} of {_site_words(site)}")
        if deployment.get("message"):
            lines.append(f"> {_escape(deployment['message'])[:500]}")
        facts = [("Started by", deployment.get("started_by") or "system"), ("Deployment", f"#{deployment.get('id')}")]
    elif event_type == "build.live":
        build = data.get("build") or {}
        lines.append(f"Build {build.get('number')} is live on {_site_words(site)}")
        if build.get("message"):
            lines.append(f"> {_escape(build['message'])[:500]}")
        facts = [("Commit", (build.get("commit") or "")[:12] or "none"), ("Made live by", data.get("made_live_by") or "system")]
    elif event_type == "access.ending_soon":
        access = data.get("access") or {}
        days = access.get("days_left")
        lines.append(f"Access to {_site_words(site)} ends in {days} day{'s' if days != 1 else ''}")
        facts = [("Ends", access.get("not_after") or "")]
    elif event_type == "invitee.first_visit":
        lines.append(f"{_escape((data.get('invitee') or {}).get('email'))} opened {_site_words(site)} for the first time")
        facts = [("At", (data.get("visit") or {}).get("occurred_at") or "")]
    text = f"{title}: " + " ".join(line for line in lines if not line.startswith(">"))
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title.split(" ", 1)[-1], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines) or title}},
    ]
    if facts:
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{_escape(v)}"} for k, v in facts]})
    return {"text": text, "blocks": blocks}


# --- Signing and the request ----------------------------------------------------------------------


def body_for(endpoint: WebhookEndpoint, payload: dict) -> bytes:
    document = slack_message(payload) if endpoint.kind == WebhookEndpoint.Kind.SLACK else payload
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(*, secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for this body."""
    at = at.astimezone(dt_timezone.utc).replace(microsecond=0)
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body.decode())
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}


def _target(url: str) -> tuple[str, str, int, str]:
    allow_loopback = settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise DeliveryRefused("the URL is not a URL") from None
    if not host or parts.username or parts.password:
        raise DeliveryRefused("the URL has no host name")
    if parts.scheme == "https":
        pass
    elif parts.scheme == "http" and allow_loopback and (host in _LOCAL_NAMES or host.endswith(".localhost")):
        pass
    else:
        raise DeliveryRefused("the URL must use https")
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, path


def _resolve(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise DeliveryFailed(f"{host} does not resolve") from None
    addresses = [info[4][0] for info in infos]
    # Every address must pass, or a name with one public and one private
    # address would be let through half the time.
    for ip in addresses:
        if not address_is_public(ip, allow_loopback=settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK):
            raise DeliveryRefused(f"{host} resolves to {ip}, a private or local address; refused")
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once; the answer's status, or why there was none. Raises DeliveryRefused for a URL never to send to."""
    scheme, host, port, path = _target(url)
    timeout = settings.GATEHOUSE_WEBHOOK_TIMEOUT
    deadline = time.monotonic() + timeout
    try:
        ip = _resolve(host, port)
    except DeliveryFailed as exc:
        return Answer(None, str(exc))
    remaining = max(deadline - time.monotonic(), 0.05)
    if scheme == "https":
        conn = PinnedHTTPSConnection(host, port, ip, timeout=remaining, context=ssl.create_default_context())
    else:
        conn = PinnedHTTPConnection(host, port, ip, timeout=remaining)
    try:
        conn.request(
            "POST", path, body=body,
            headers={"Content-Type": "application/json", "User-Agent": "gatehouse-webhooks", **headers},
        )
        response = conn.getresponse()
        # Read a little of the answer (the receiver's reason), never all of it.
        response.read(4096)
        return Answer(response.status)
    except (TimeoutError, socket.timeout):
        return Answer(None, f"no answer within {timeout:g} seconds")
    except ssl.SSLError as exc:
        return Answer(None, f"TLS failed ({exc.reason or exc})")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, f"unreachable ({exc.__class__.__name__}: {exc})"[:RESPONSE_KEEP])
    finally:
        conn.close()


# --- One attempt ----------------------------------------------------------------------------------


def _lease() -> timedelta:
    # Longer than an attempt can take: a claim older than this was a dead worker's.
    return timedelta(seconds=settings.GATEHOUSE_WEBHOOK_TIMEOUT * 4 + 60)


def delivery_attempt(*, delivery_id: int, final: bool) -> str:
    """Send a delivery once and record the attempt: "succeeded", "failed", "retrying" or "skipped".

    The claim (a conditional UPDATE to "sending") makes a second delivery of
    the same task message harmless. A failed attempt that is not the last
    raises DeliveryFailed, for the task to retry with backoff.
    """
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id)
        .filter(
            Q(status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING])
            | Q(status=WebhookDelivery.Status.SENDING, claimed_at__lt=now - _lease())
        )
        .update(status=WebhookDelivery.Status.SENDING, claimed_at=now)
    )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    number = delivery.attempts + 1
    started = time.monotonic()
    if not endpoint.enabled:
        answer, refused = Answer(None, "the endpoint is disabled"), True
    else:
        body = body_for(endpoint, delivery.payload)
        headers = {}
        if endpoint.kind == WebhookEndpoint.Kind.STANDARD:
            headers = signed_headers(secret=endpoint.secret, message_id=delivery.message_id, body=body, at=timezone.now())
        try:
            answer, refused = post(endpoint.url, body, headers), False
        except DeliveryRefused as exc:
            answer, refused = Answer(None, str(exc)), True
    ok = answer.code is not None and 200 <= answer.code < 300
    WebhookAttempt.objects.create(
        delivery=delivery, number=number, response_code=answer.code,
        duration_ms=int((time.monotonic() - started) * 1000), error=answer.error[:RESPONSE_KEEP],
    )
    if ok:
        status = WebhookDelivery.Status.SUCCEEDED
    elif refused or final:
        status = WebhookDelivery.Status.FAILED
    else:
        status = WebhookDelivery.Status.RETRYING
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=status, attempts=number, last_response_code=answer.code,
        finished_at=timezone.now() if status != WebhookDelivery.Status.RETRYING else None,
    )
    if status == WebhookDelivery.Status.RETRYING:
        # The URL is never logged: for Slack it is the secret.
        log.info("webhook delivery %s attempt %s failed (%s); retrying", delivery_id, number, answer.code or answer.error)
        raise DeliveryFailed(f"attempt {number}: {answer.code or answer.error}")
    return status
