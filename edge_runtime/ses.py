"""Amazon SES v2 SendEmail from the edge: one SigV4-signed POST, standard library only.

`POST https://email.<region>.amazonaws.com/v2/email/outbound-emails` with a
JSON body, signed for service `ses` with the function's role credentials
(the environment Lambda sets). Locally the edge settings' `endpoint_url`
(moto's server) takes the place of the regional endpoint.
"""

import http.client
import json
import ssl
import time
from urllib.parse import urlsplit

from . import sigv4

PATH = "/v2/email/outbound-emails"
MAX_RESPONSE_BYTES = 16 * 1024
# SES answers in well under a second; the rest of the 5 s is the viewer's page.
TIMEOUT_SECONDS = 2.0
_ssl_context = None


class SendError(Exception):
    """The message was not accepted (`reason` is safe to log: no address, no code)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def endpoint(region, endpoint_url=None):
    return (endpoint_url.rstrip("/") if endpoint_url else f"https://email.{region}.amazonaws.com") + PATH


def _one_address(value):
    """Whether `value` is one bare address: printable ASCII, no space, no list or display-name syntax."""
    return (
        type(value) is str
        and 3 <= len(value) <= 254
        and value.isascii()
        and value.isprintable()
        and value.count("@") == 1
        and not any(ch in value for ch in ' ,;:<>()[]"\\')
    )


def message_body(*, sender, to, subject, text, html):
    """The SendEmail request body (Simple content: a text part always, with the HTML).

    Raises SendError for a sender or recipient that is not one bare address,
    whatever checked it before: SES is never asked to send to a list, a
    display name or anything with a line break in it.
    """
    if not (_one_address(sender) and _one_address(to)):
        raise SendError("not one plain address")
    if any(ch in subject for ch in "\r\n"):
        raise SendError("a line break in the subject")
    return json.dumps(
        {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
                }
            },
        },
        separators=(",", ":"),
    ).encode("utf-8")


def send(*, region, body, endpoint_url=None, credentials=None, timeout=TIMEOUT_SECONDS, now=None):
    """Send one message; return SES's MessageId or raise SendError."""
    url = endpoint(region, endpoint_url)
    try:
        creds = credentials or sigv4.credentials_from_env()
        headers = sigv4.sign(
            "POST",
            url,
            region=region,
            service="ses",
            credentials=creds,
            headers={"content-type": "application/json"},
            payload=body,
            now=now,
        )
    except sigv4.SigV4Error as exc:
        raise SendError(f"cannot sign: {exc}") from None
    parts = urlsplit(url)
    if parts.scheme == "https":
        global _ssl_context
        if _ssl_context is None:
            _ssl_context = ssl.create_default_context()
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=_ssl_context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise SendError(f"SES did not answer: {type(exc).__name__}") from None
    finally:
        conn.close()
        _record(time.monotonic() - started)
    if response.status != 200:
        raise SendError(f"SES answered {response.status}: {_error_type(data)}")
    try:
        return str(json.loads(data).get("MessageId", ""))[:200]
    except (ValueError, AttributeError):
        return ""


def _error_type(data):
    # SES v2 errors are JSON with a type name; the message may quote the address.
    try:
        doc = json.loads(data)
    except ValueError:
        return "unreadable error"
    if not isinstance(doc, dict):
        return "unreadable error"
    kind = doc.get("__type") or doc.get("code") or doc.get("Code") or "error"
    return str(kind).rpartition("#")[2][:80]


# How long a send takes in this container, so that a refused address can be
# answered after about as long (no timing oracle on the allowed list).
_durations = []


def _record(seconds):
    _durations.append(seconds)
    if len(_durations) > 16:
        del _durations[0]


def typical_duration():
    """The median of this container's last sends, in seconds (0.15 before any)."""
    if not _durations:
        return 0.15
    ordered = sorted(_durations)
    return ordered[len(ordered) // 2]
