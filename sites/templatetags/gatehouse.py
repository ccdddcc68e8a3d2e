from datetime import UTC, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.simple_tag
def when(value, empty="—"):
    """A <time>: "3 minutes ago · 25 Nov 2026 08:31 UTC".

    Relative for the glance, absolute because "2 days ago" cannot be quoted
    in a ticket or compared with an AWS log; the datetime attribute keeps
    the exact instant for machines.
    """
    if not value:
        return empty
    now = timezone.now()
    absolute = value.astimezone(UTC).strftime("%d %b %Y %H:%M UTC").lstrip("0")
    delta = value - now
    if abs(delta) < timedelta(seconds=60):
        relative = "just now"
    elif delta.total_seconds() > 0:
        relative = "in " + timeuntil(value, now, depth=1)
    else:
        relative = timesince(value, now, depth=1) + " ago"
    return format_html(
        '<time datetime="{}" title="{}">{} <span class="abs">· {}</span></time>', value.isoformat(), absolute, relative, absolute
    )


STATUS_TONES = {
    # Green: working as intended. Blue: in progress. Red: needs a person.
    # Amber: going away or about to. Grey: not started or switched off.
    "live": "ok",
    "succeeded": "ok",
    "uploaded": "ok",
    "ready": "ok",
    "published": "ok",
    "provisioning": "busy",
    "running": "busy",
    "uploading": "busy",
    "publishing": "busy",
    "sending": "busy",
    "retrying": "warn",
    "enabled": "ok",
    "building": "busy",
    "queued": "wait",
    "pending": "wait",
    "staged": "wait",
    "failed": "bad",
    "deleting": "warn",
    "expired": "bad",
    "expiring": "warn",
    "retired": "off",
    "superseded": "off",
    "skipped": "off",
    "draft": "off",
    "disabled": "off",
    # A live site with no build yet: the address answers but serves nothing.
    "no_build": "warn",
}


@register.simple_tag
def badge(status, label=None):
    status = str(status or "")
    return format_html(
        '<span class="badge tone-{}" data-status="{}">{}</span>',
        STATUS_TONES.get(status, "off"),
        status,
        label or status.replace("_", " "),
    )


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (for pagination and filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


@register.filter
def duration(seconds):
    """Seconds as "8 hours", "90 minutes", "2 days"."""
    from ..presenters import duration as text

    return text(seconds)


@register.simple_tag
def took(start, end):
    """How long a step ran: "4 s", "2 min 5 s"."""
    if not (start and end):
        return ""
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"


@register.simple_tag
def cloudfront_wait():
    """How long a distribution change takes here: minutes on CloudFront, seconds on the local stand-in."""
    from ..presenters import cloudfront_wait as wait

    return wait()


@register.filter
def deployment_note(deployment):
    from ..presenters import deployment_note as note

    return note(deployment)


@register.simple_tag
def step_message(step, deployment):
    from ..presenters import step_message as message

    return message(step, deployment)


@register.simple_tag
def site_state(site):
    """What a viewer gets at the site right now (see presenters.site_state)."""
    from ..presenters import site_state as state

    return state(site)


@register.filter
def sign_in_methods(methods):
    """["oidc", "email_code"] as "identity provider, e-mail code"."""
    from ..visit_text import method_name

    return ", ".join(method_name(m) for m in methods or []) or "—"


@register.filter
def pretty_json(value) -> str:
    """A JSON document indented for a person (the template escapes it)."""
    import json

    return json.dumps(value, indent=2, sort_keys=True)
