"""Responses the edge generates itself: small pages, redirects, JSON.

CloudFront wants `status` and `statusDescription`, lower-case header names as
keys, each value a list of `{key, value}`, and at most 40 KB in all.
"""

import json

MAX_BODY = 32 * 1024


def _escape(text):
    # html.escape's module drags in html.entities (a large table) at import.
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )
_MAX_TITLE = 200

STATUS_TEXT = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

# For hosts with no config (so no configured headers) and as the floor for
# every generated page: nothing on these pages needs scripts or frames.
DEFAULT_HEADERS = {
    "x-content-type-options": [{"key": "X-Content-Type-Options", "value": "nosniff"}],
    "x-frame-options": [{"key": "X-Frame-Options", "value": "DENY"}],
    "referrer-policy": [{"key": "Referrer-Policy", "value": "no-referrer"}],
    "content-security-policy": [
        {
            "key": "Content-Security-Policy",
            "value": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'",
        }
    ],
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;color:#1f2933;background:#f5f7fa;margin:0;display:grid;place-items:center;min-height:100vh}}
main{{background:#fff;max-width:32rem;margin:1rem;padding:2rem;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}}
h1{{font-size:1.25rem;margin:0 0 .5rem}}a{{color:#0b5fff}}</style>
</head><body><main><h1>{title}</h1>{body}</main></body></html>"""


def _headers(cfg, content_type):
    headers = dict(DEFAULT_HEADERS)
    if cfg is not None:
        headers.update(cfg.headers)
    headers["cache-control"] = [{"key": "Cache-Control", "value": "no-store"}]
    if content_type:
        headers["content-type"] = [{"key": "Content-Type", "value": content_type}]
    return headers


def _with_cookies(headers, cookies):
    if cookies:
        # One entry per cookie: folding them into one header breaks browsers.
        headers["set-cookie"] = [{"key": "Set-Cookie", "value": c} for c in cookies]
    return headers


def page(cfg, status, title, paragraphs=(), *, link=None, cookies=()):
    """An HTML page; `paragraphs` are plain text, escaped here."""
    body = "".join(f"<p>{_escape(p)}</p>" for p in paragraphs)
    if link is not None:
        href, label = link
        body += f'<p><a href="{_escape(href)}">{_escape(label)}</a></p>'
    text = _PAGE.format(title=_escape(title), body=body)
    # CloudFront's limit is in bytes, and a title can be too big on its own.
    if len(text.encode("utf-8")) > MAX_BODY:
        text = _PAGE.format(title=_escape(title[:_MAX_TITLE]), body="")
    return {
        "status": str(status),
        "statusDescription": STATUS_TEXT[status],
        "headers": _with_cookies(_headers(cfg, "text/html; charset=utf-8"), cookies),
        "body": text,
    }


def redirect(cfg, location, *, cookies=()):
    headers = _with_cookies(_headers(cfg, None), cookies)
    headers["location"] = [{"key": "Location", "value": location}]
    return {"status": "302", "statusDescription": "Found", "headers": headers}


def json_response(cfg, status, data, *, cookies=()):
    return {
        "status": str(status),
        "statusDescription": STATUS_TEXT[status],
        "headers": _with_cookies(_headers(cfg, "application/json"), cookies),
        "body": json.dumps(data, separators=(",", ":")),
    }


def cookie(name, value, max_age, *, path="/"):
    return f"{name}={value}; Path={path}; Max-Age={int(max_age)}; Secure; HttpOnly; SameSite=Lax"


def expired_cookie(name, *, path="/"):
    # A cookie is only replaced by one of the same name, domain and path.
    return (
        f"{name}=; Path={path}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
        "Secure; HttpOnly; SameSite=Lax"
    )
