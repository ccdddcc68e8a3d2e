"""The webhooks page: an endpoint's URL, kind and events.

No I/O here: the address a host name resolves to is judged when a delivery
is sent (sites/services/webhook_delivery.py), where it is the address
actually connected to. The form refuses what can be told from the URL alone.
"""

import ipaddress
from urllib.parse import urlsplit

from django import forms
from django.conf import settings

from ..models import WebhookEndpoint
from ..outbound import address_is_public

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def url_problem(url: str, *, kind: str) -> str | None:
    """Why this URL cannot be an endpoint, or None."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "Enter a full URL, e.g. https://hooks.example.com/gatehouse."
    if not host:
        return "Enter a full URL, e.g. https://hooks.example.com/gatehouse."
    if parts.username or parts.password:
        return "Leave the user name and password out of the URL."
    loopback = host in _LOOPBACK_NAMES or host.endswith(".localhost")
    allow_loopback = settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback and allow_loopback):
        return "The URL must use https."
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if (literal is not None and not address_is_public(host, allow_loopback=allow_loopback)) or (loopback and not allow_loopback):
        return "That is a private or local address: webhooks go to public addresses only."
    return None


class EndpointForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", choices=WebhookEndpoint.Kind.choices, initial=WebhookEndpoint.Kind.STANDARD, widget=forms.RadioSelect,
        help_text="Standard Webhooks: signed JSON for your own receiver. Slack: the same events as messages in a channel.",
    )
    url = forms.CharField(
        label="URL", max_length=2000, required=False,
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="https only. A Slack incoming-webhook URL is a secret: it is never shown again after you save it.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False, help_text="What receives it, e.g. “#demos in Slack”.")
    events = forms.MultipleChoiceField(
        label="Events", choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple,
        help_text="Which events this endpoint gets.",
    )
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    def __init__(self, *args, endpoint: WebhookEndpoint | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        if endpoint is None:
            self.fields["url"].required = True
        else:
            # The kind decides whether there is a secret: fixed once made.
            self.fields["kind"].disabled = True
            self.fields["url"].help_text = (
                f"Now {endpoint.url_display}. Leave this empty to keep it; enter a new URL to replace it."
            )

    def clean(self):
        cleaned = super().clean()
        url = (cleaned.get("url") or "").strip()
        kind = self.endpoint.kind if self.endpoint else cleaned.get("kind")
        if url and kind:
            problem = url_problem(url, kind=kind)
            if problem:
                self.add_error("url", problem)
        cleaned["url"] = url
        return cleaned
