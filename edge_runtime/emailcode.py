"""Sign-in with a code sent by e-mail (schema 3, `signin_methods` holds "email_code").

    GET  /_gatehouse/sign-in?r=/path   the page: an address form (and the
                                       provider's button when both methods are on);
                                       mints the e-mail transaction cookie
    POST /_gatehouse/sign-in           address=...&t=<tid>: send a code if the
                                       address is allowed; the same page either way
    POST /_gatehouse/sign-in/code      code=...&t=<tid>: the session cookie

Stateless: the e-mail transaction (`__Host-gh-email`, signed with the site's
key for its own purpose) carries the transaction id, the return path, how
many codes it has sent, the address and an HMAC of the code, and expires
with the code. Nothing is stored anywhere; what a container remembers
(sends per address, wrong codes and used transactions) is a bound per
container, said so in docs/email-code.md. No GET changes anything but the
viewer's own fresh cookie, so a mail scanner opening the site's link from the
message uses up nothing, and the message holds no link with a secret in it.
"""

import hashlib
import hmac
import os
import time
from urllib.parse import parse_qsl, urlencode

from . import paths, responses, tokens
from .visits import visit_log
from .config import CODE_ALPHABET, CODE_LENGTH, is_lower_case_email

COOKIE = "__Host-gh-email"
START_PATH = "/_gatehouse/sign-in"
CODE_PATH = "/_gatehouse/sign-in/code"
IDP_PATH = "/_gatehouse/sign-in/idp"
# Time to type an address before the transaction lapses.
ADDRESS_TTL = 900
MAX_ADDRESS = 254
MAX_FORM_BYTES = 2048
# Wrong codes one container accepts for one transaction before it makes the
# viewer start again (the guessing bound in the docs does not rely on it).
MAX_ATTEMPTS = 5
# Per-container tables, bounded so random input cannot grow them.
MAX_TRACKED = 4096
MAX_PADDING = 1.0
_sends = {}  # address digest -> send times within the last hour
_attempts = {}  # transaction id -> wrong codes
_used = {}  # transaction id -> expiry, for transactions that signed in
_sleep = time.sleep

# The form pages post to themselves; every other edge page keeps form-action 'none'.
FORM_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def log(event, **fields):
    from .handler import log as handler_log

    handler_log(event, **fields)


# --- pages -----------------------------------------------------------------


def _esc(text):
    return responses._escape(text)


def _form_page(cfg, status, title, paragraphs, form, *, cookies=(), extra=""):
    result = responses.page(cfg, status, title, paragraphs, cookies=cookies)
    result["body"] = result["body"].replace("</main>", form + extra + "</main>", 1)
    result["headers"]["content-security-policy"] = [{"key": "Content-Security-Policy", "value": FORM_CSP}]
    return result


def _address_form(tid, value=""):
    return (
        f'<form method="post" action="{START_PATH}">'
        f'<input type="hidden" name="t" value="{_esc(tid)}">'
        '<p><label for="address">E-mail address</label><br>'
        f'<input id="address" name="address" type="email" autocomplete="email" required maxlength="{MAX_ADDRESS}" '
        f'value="{_esc(value)}"></p>'
        '<p><button type="submit">Send me a code</button></p></form>'
    )


def _code_form(tid):
    return (
        f'<form method="post" action="{CODE_PATH}">'
        f'<input type="hidden" name="t" value="{_esc(tid)}">'
        '<p><label for="code">Code</label><br>'
        '<input id="code" name="code" autocomplete="one-time-code" required maxlength="20" '
        'autocapitalize="characters" spellcheck="false"></p>'
        '<p><button type="submit">Sign in</button></p></form>'
    )


def _idp_link(cfg, return_to):
    if not cfg.uses_idp:
        return ""
    href = IDP_PATH + "?" + urlencode({"r": return_to})
    return f'<p>Or <a href="{_esc(href)}">sign in with your organisation\'s account</a>.</p>'


def _fresh_start(cfg, title, message, *, return_to="/"):
    """A small page sending the viewer back to a new sign-in; the cookie goes."""
    href = START_PATH + "?" + urlencode({"r": paths.safe_return_path(return_to)})
    return responses.page(
        cfg, 400, title, [message], link=(href, "Start again"), cookies=[responses.expired_cookie(COOKIE)]
    )


# --- the transaction -------------------------------------------------------


def _transaction(cfg, ours, now):
    for name, value in ours:
        if name == COOKIE:
            claims = tokens.verify(cfg, tokens.EMAIL, value, now)
            if claims is not None and _is_tid(claims.get("tid")):
                return claims
    return None


def _is_tid(value):
    from .handler import is_tx_id

    return is_tx_id(value)


def _cookie(cfg, claims, now):
    return responses.cookie(COOKIE, tokens.sign(cfg, tokens.EMAIL, claims), max(1, claims["exp"] - int(now)))


def _code_mac(cfg, tid, address, code):
    key = cfg.derived.get("email-code-key")
    if key is None:
        secret = cfg.session_keys[cfg.current_kid]
        key = cfg.derived["email-code-key"] = hmac.new(secret, b"gatehouse/email-code", hashlib.sha256).digest()
    mac = hmac.new(key, f"{tid}\n{address}\n{code}".encode(), hashlib.sha256).digest()
    return tokens._b64(mac)


def new_code():
    """CODE_LENGTH symbols of CODE_ALPHABET, uniformly (32 divides 256)."""
    return "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in os.urandom(CODE_LENGTH))


def shown(code):
    half = len(code) // 2
    return code[:half] + "-" + code[half:]


def normalise_code(text):
    """The code a viewer typed, upper-cased, without spaces and dashes; None when it cannot be one."""
    if type(text) is not str or len(text) > 20:
        return None
    code = text.strip().upper().replace("-", "").replace(" ", "")
    if len(code) != CODE_LENGTH or not all(ch in CODE_ALPHABET for ch in code):
        return None
    return code


def normalise_address(text):
    """A lower-case address fit for a header, or None (over-long, control characters,
    CR/LF header injection, a display name, more than one address)."""
    if type(text) is not str:
        return None
    address = text.strip().lower()
    if not address or len(address) > MAX_ADDRESS:
        return None
    if any(ch in address for ch in ' ,;:<>()[]"\\'):
        return None
    if not address.isascii() or not address.isprintable():
        return None
    local = address.rpartition("@")[0]
    if len(local) > 64 or not is_lower_case_email(address):
        return None
    return address


def admits(cfg, address):
    """Exactly the site's allowed e-mails and domains (never allow_any_user)."""
    if type(address) is not str:
        return False
    if address in cfg.emails:
        return True
    domain = address.rpartition("@")[2]
    return bool(domain) and domain in cfg.email_domains


def read_form(request):
    """The posted form as a dict, or None when the body is missing, cut off,
    malformed, too big, or repeats a field."""
    body = request.get("body")
    if type(body) is not dict or body.get("inputTruncated") is True:
        return None
    data = body.get("data")
    if type(data) is not str or len(data) > 2 * MAX_FORM_BYTES:
        return None
    if body.get("encoding") == "base64":
        import base64
        import binascii

        try:
            raw = base64.b64decode(data, validate=True)
        except (ValueError, binascii.Error):
            return None
    else:
        raw = data.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_FORM_BYTES:
        return None
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    return form if len(form) == len(pairs) else None


# --- limits kept per container --------------------------------------------


def _digest(address):
    return hashlib.sha256(address.encode()).digest()[:16]


def _may_send(address, limit, now):
    key = _digest(address)
    recent = [t for t in _sends.get(key, ()) if now - t < 3600]
    if len(recent) >= limit:
        _sends[key] = recent
        return False
    if key not in _sends and len(_sends) >= MAX_TRACKED:
        _sends.clear()
    recent.append(now)
    _sends[key] = recent
    return True


def _bounded(table):
    if len(table) >= MAX_TRACKED:
        table.clear()


# --- the steps -------------------------------------------------------------


def start(cfg, request, now, ours):
    """GET /_gatehouse/sign-in: the page, with a new e-mail transaction."""
    from .handler import _query

    params = _query(request) or {}
    return_to = paths.safe_return_path(params.get("r", "/"))
    tid = tokens._b64(os.urandom(12))
    claims = {"tid": tid, "r": return_to, "s": 0, "exp": int(now) + ADDRESS_TTL, "site": cfg.site_id}
    log("email_code_page", site=cfg.site_id)
    return _form_page(
        cfg,
        200,
        "Sign in",
        ["Type your e-mail address and we will send you a code to sign in with."],
        _address_form(tid),
        extra=_idp_link(cfg, return_to),
        cookies=[_cookie(cfg, claims, now)],
    )


def send(cfg, request, host, now, ours):
    """POST /_gatehouse/sign-in: send a code if the address is allowed."""
    transaction = _transaction(cfg, ours, now)
    form = read_form(request)
    if transaction is None:
        return _fresh_start(cfg, "Sign-in expired", "This sign-in page has expired. Please start again.")
    return_to = transaction.get("r", "/")
    if form is None or not hmac.compare_digest(str(form.get("t", "")), transaction["tid"]):
        return _fresh_start(cfg, "Sign-in expired", "This form was not sent from this sign-in page.", return_to=return_to)
    section = cfg.email_code
    address = normalise_address(form.get("address"))
    if address is None:
        return _form_page(
            cfg, 400, "Sign in", ["That does not look like an e-mail address. Please check it and try again."],
            _address_form(transaction["tid"]),
        )
    sends = transaction.get("s")
    if type(sends) is not int or sends >= section["max_sends_per_transaction"]:
        log("email_code_refused", site=cfg.site_id, reason="transaction send limit")
        return _fresh_start(
            cfg, "Too many codes", "Too many codes were asked for in this sign-in. Please start again.", return_to=return_to
        )
    tid = transaction["tid"]
    lifetime = section["code_lifetime_seconds"]
    code = new_code()
    allowed = admits(cfg, address)
    if allowed and _may_send(address, section["max_sends_per_address"], now):
        if not _deliver(cfg, host, address, code, lifetime):
            return responses.page(
                cfg, 503, "The code could not be sent", ["Please try again in a minute."],
                link=(START_PATH + "?" + urlencode({"r": return_to}), "Start again"),
            )
        mac = _code_mac(cfg, tid, address, code)
    else:
        # The same page, cookie and (about) the same time as a real send: the
        # answer never tells which addresses are allowed. The stored MAC is of
        # no code at all.
        log("email_code_not_sent", site=cfg.site_id, reason="address not allowed" if not allowed else "address send limit")
        if not allowed:
            # Staff see who was refused; the viewer's page says nothing.
            visit_log("refused", cfg, host=host, claims={"email": address}, method="email_code",
                      at="email_code", why=["e-mail code: address not on the site's e-mail list"])
        _sleep(min(MAX_PADDING, _typical_send()))
        mac = tokens._b64(os.urandom(32))
    claims = {
        "tid": tid, "r": return_to, "s": sends + 1, "e": address, "h": mac,
        "exp": int(now) + lifetime, "site": cfg.site_id,
    }
    return _code_page(cfg, address, lifetime, tid, 200, cookies=[_cookie(cfg, claims, now)])


def _code_page(cfg, address, lifetime, tid, status, *, lead=None, cookies=()):
    minutes = max(1, lifetime // 60)
    paragraphs = [
        lead or f"If {address} may open this demo, a code is on its way to it.",
        f"Type the code here. It works for {minutes} minutes, in this browser only.",
    ]
    return _form_page(cfg, status, "Check your e-mail", paragraphs, _code_form(tid), cookies=cookies)


def _typical_send():
    from . import ses

    return ses.typical_duration()


def _deliver(cfg, host, address, code, lifetime):
    from . import ses

    section = cfg.email_code
    minutes = max(1, lifetime // 60)
    text = (
        f"Your code to sign in to {host} is {shown(code)}\n\n"
        f"Type it on the sign-in page where you asked for it. It works for {minutes} minutes.\n"
        "If you did not ask for a code, you can ignore this message.\n"
    )
    html = (
        f"<p>Your code to sign in to {_esc(host)} is</p><p style=\"font-size:1.5em;font-family:monospace\">"
        f"<strong>{_esc(shown(code))}</strong></p><p>Type it on the sign-in page where you asked for it. "
        f"It works for {minutes} minutes.</p><p>If you did not ask for a code, you can ignore this message.</p>"
    )
    try:
        body = ses.message_body(
            sender=section["sender"], to=address, subject=f"Your sign-in code for {host}", text=text, html=html
        )
        ses.send(region=section["region"], body=body, endpoint_url=_endpoint_url())
    except ses.SendError as exc:
        log("email_code_send_failed", site=cfg.site_id, reason=exc.reason)
        return False
    log("email_code_sent", site=cfg.site_id)
    return True


def _endpoint_url():
    # Locally the settings name moto's server; at the edge there is none and
    # SES's regional endpoint is used.
    from .settings import get_settings

    return get_settings().endpoint_url


def verify(cfg, request, now, ours, *, host=None):
    """POST /_gatehouse/sign-in/code: the code against the transaction.
    Returns (session claims, return path, None) or (None, None, response)."""
    transaction = _transaction(cfg, ours, now)
    form = read_form(request)
    if transaction is None or "h" not in transaction:
        return None, None, _fresh_start(cfg, "Code expired", "This code has expired or was already used. Please start again.")
    tid, return_to = transaction["tid"], transaction.get("r", "/")
    if form is None or not hmac.compare_digest(str(form.get("t", "")), tid):
        return None, None, _fresh_start(
            cfg, "Sign-in expired", "This form was not sent from this sign-in page.", return_to=return_to
        )
    if _attempts.get(tid, 0) >= MAX_ATTEMPTS:
        return None, None, _fresh_start(cfg, "Too many tries", "That code was wrong too often. Please start again.", return_to=return_to)
    if tid in _used:
        return None, None, _fresh_start(cfg, "Code already used", "This code was already used. Please start again.", return_to=return_to)
    address = transaction.get("e")
    code = normalise_code(form.get("code"))
    mac = transaction.get("h")
    if (
        code is None
        or type(address) is not str
        or type(mac) is not str
        or not hmac.compare_digest(_code_mac(cfg, tid, address, code), mac)
    ):
        wrong = _attempts.get(tid, 0) + 1
        if tid not in _attempts:
            _bounded(_attempts)
        _attempts[tid] = wrong
        log("email_code_wrong", site=cfg.site_id, attempt=wrong)
        if wrong >= MAX_ATTEMPTS:
            return None, None, _fresh_start(cfg, "Too many tries", "That code was wrong too often. Please start again.", return_to=return_to)
        lifetime = max(0, transaction["exp"] - int(now))
        page = _code_page(
            cfg, address, lifetime, tid, 400,
            lead="That code is not right. Check the message and type it again, or start again for a new code.",
        )
        return None, None, page
    if not admits(cfg, address):
        # Allowed when the code was sent, no longer now (the list changed).
        visit_log("refused", cfg, host=host, claims={"email": address}, method="email_code",
                  at="email_code", why=["e-mail code: address no longer allowed"])
        return None, None, responses.page(
            cfg, 403, "No access", ["This address may not open this demo."], cookies=[responses.expired_cookie(COOKIE)]
        )
    _bounded(_used)
    for old in [t for t, exp in _used.items() if exp <= now]:
        del _used[old]
    _used[tid] = transaction["exp"]
    _attempts.pop(tid, None)
    return {"sub": "email:" + address, "email": address, "email_verified": True, "via": "email_code"}, return_to, None


def clear_cookie():
    return responses.expired_cookie(COOKIE)
