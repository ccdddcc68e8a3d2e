"""The viewer-request entry point: `edge_runtime.handler.handler`.

Returns the request (let through to the origin, rewritten to the live build)
or a generated response. It never raises: anything unexpected becomes a small
fail-closed error page.
"""

import hashlib
import json
import os
import sys
import time

from . import paths, responses, tokens
from .visits import opens_the_site, visit_log
from .config import SHARE_LINK_PREFIX, is_host_name

SESSION_COOKIE = "__Host-gh-session"
TX_COOKIE_PREFIX = "__Host-gh-tx-"
EMAIL_TX_COOKIE = "__Host-gh-email"  # emailcode.COOKIE
COOKIE_MARK = "__Host-gh-"
# The provider's id_token, kept for `id_token_hint` at sign-out. `__Secure-`
# rather than `__Host-` because it is scoped to the sign-out path: the
# browser then sends it with that one request instead of with every asset
# request, and it never reaches anything but the edge (docs/edge-config.md).
ID_TOKEN_COOKIE = "__Secure-gh-idt"
# Browsers keep a cookie of at most 4,096 bytes (name and value); an
# id_token above this is not kept and sign-out goes without the hint.
MAX_ID_TOKEN_COOKIE = 3500
# A transaction id is 12 random bytes in base64url: a cookie name of any
# other shape was not minted here and is never echoed back.
TX_ID_LENGTH = 16
_TX_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# Expired cookies one response carries at most: with the page and the
# site's headers it stays far inside CloudFront's 40 KB whatever the
# request held (a viewer with more pending logins loses the rest later).
MAX_EXPIRED_COOKIES = 8
# After "sign everyone out", sign-ins within this period must show an
# authentication at the provider that is newer than the revocation.
FRESH_AUTH_WINDOW = 30 * 24 * 3600
GATEHOUSE_PREFIX = "/_gatehouse/"
ME_PATH = "/_gatehouse/me"
SIGNED_OUT_PATH = "/_gatehouse/signed-out"
SIGN_IN_PATH = "/_gatehouse/sign-in"
SIGN_IN_CODE_PATH = "/_gatehouse/sign-in/code"
SIGN_IN_IDP_PATH = "/_gatehouse/sign-in/idp"
JWKS_PATH = "/_gatehouse/jwks.json"
# The identity assertion's request header (assertion.py). A viewer's own
# header of this name never reaches the origin.
ASSERTION_HEADER = "x-gatehouse-assertion"
LOGIN_TTL = 600
MAX_PENDING_LOGINS = 4
MAX_NAME = 200

# Raw Host header values already seen valid -> the host they name.
MAX_KNOWN_HOSTS = 256
_known_hosts = {}

_store = None


class _NeverRaised(Exception):
    pass


# The store module (and its http.client/ssl imports) loads on the first
# request, not at import: ConfigUnavailable is bound then.
ConfigUnavailable = _NeverRaised


def _get_store():
    global _store, ConfigUnavailable
    if _store is None:
        from .settings import get_settings
        from .store import ConfigStore
        from .store import ConfigUnavailable as unavailable

        ConfigUnavailable = unavailable
        _store = ConfigStore(get_settings())
    return _store


def _public_origin(host):
    from .settings import get_settings, origin_for

    return origin_for(host, get_settings().public_origin)


def log(event, **fields):
    # One JSON line to CloudWatch; callers pass no tokens, codes or cookies.
    sys.stdout.write(json.dumps({"gatehouse": event, **fields}, separators=(",", ":"), default=str) + "\n")


def handler(event, context):
    try:
        return _handle(event, context)
    except Exception as exc:  # noqa: BLE001 - fail closed on anything
        try:
            log("error", **describe_error(exc))
        except Exception:  # noqa: BLE001 - the page below must still go out
            log("error", kind=type(exc).__name__)
        return responses.page(None, 500, "Something went wrong", ["Please try again in a moment."])


# --- logging ---------------------------------------------------------------

_LOG_FRAMES = 5
_MAX_LOG_MESSAGE = 300
_scrubbers = None


def scrub(text):
    """`text` without anything that may be a token, code, cookie or secret.

    Exception messages quote what they failed on (a `KeyError` its key, a
    `ValueError` the bad input), so a message is treated as hostile: every
    `name=value` of a sensitive-sounding name loses its value, and every long
    run of token-like characters with a digit or mixed case (base64url,
    JWTs, codes, hex) is replaced by its length.
    """
    global _scrubbers
    if _scrubbers is None:
        # Compiled on first use, as config.py does: import time is cold-start time.
        import re

        _scrubbers = (
            re.compile(
                r"(?i)((?:code|state|token|secret|cookie|session|nonce|verifier|hint|password|assertion|authorization)"
                r"[\w-]*[\"']?\s*[=:]\s*[\"']?)(?:Basic |Bearer )?[^\s,;&'\"}]+"
            ),
            re.compile(r"[A-Za-z0-9_\-.~+/%=]{16,}"),
        )
    pairs, runs = _scrubbers
    text = pairs.sub(lambda m: m.group(1) + "[redacted]", str(text))

    def run(m):
        value = m.group(0)
        mixed = any(c.isdigit() for c in value) or (value.lower() != value and value.upper() != value)
        return f"[{len(value)} chars]" if mixed else value

    text = runs.sub(run, text)
    return text[:_MAX_LOG_MESSAGE]


def describe_error(exc):
    """What an unexpected exception's log line holds: its type, its scrubbed
    message, the step it happened in and its last frames as
    `file:line:function`. Never source lines or local values."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((os.path.basename(code.co_filename), tb.tb_lineno, code.co_name, code.co_filename))
        tb = tb.tb_next
    here = os.path.abspath(__file__)
    package = os.path.dirname(here)
    steps = [f[2] for f in frames if os.path.abspath(f[3]) == here]
    ours = [f[2] for f in frames if os.path.dirname(os.path.abspath(f[3])) == package]
    return {
        "kind": type(exc).__name__,
        "message": scrub(exc),
        # The handler's own step (`_callback`, `_start_login`, ...) and the
        # deepest edge function below it (`verify_id_token`, ...).
        "step": steps[-1] if steps else None,
        "in": ours[-1] if ours else None,
        "frames": [f"{name}:{line}:{func}" for name, line, func, _ in frames[-_LOG_FRAMES:]],
    }


def refusal_reasons(cfg, claims):
    """Why `allowed` said no, rule by rule, in words for the log (never the
    page): which claim was missing or what it held instead."""
    why = []
    if not (cfg.allow_any_user or cfg.emails or cfg.email_domains or (cfg.groups and cfg.groups_claim)):
        why.append("no access rule is set")
    if cfg.emails or cfg.email_domains:
        email, verified = claims.get("email"), claims.get("email_verified")
        if not isinstance(email, str):
            why.append("e-mail rules: claim email missing")
        elif "email_verified" not in claims:
            why.append("e-mail rules: claim email_verified missing")
        elif verified is not True:
            why.append(f"e-mail rules: email_verified is {json.dumps(verified)[:20]}, not true")
        else:
            domain = email.lower().rpartition("@")[2]
            listed = "domain listed" if domain in cfg.email_domains else "domain not listed"
            why.append(f"e-mail rules: address not listed, {listed}")
    if cfg.groups and cfg.groups_claim:
        groups = claims.get(cfg.groups_claim)
        if groups is None:
            why.append(f"group rule: claim {cfg.groups_claim} missing")
        elif not isinstance(groups, (str, list)):
            why.append(f"group rule: claim {cfg.groups_claim} is not a list")
        else:
            count = 1 if isinstance(groups, str) else len(groups)
            why.append(f"group rule: none of {count} groups in {cfg.groups_claim} is allowed")
    return why


def _handle(event, context):
    cf = event["Records"][0]["cf"]
    request = cf["request"]
    headers = request["headers"]
    host_entries = headers.get("host")
    raw_host = host_entries[0]["value"] if host_entries else ""
    # A Host value seen valid before maps to its host at the cost of one
    # lookup; any other is lowered, split and checked, and only a valid one
    # is remembered, so the table never holds a host the check refused.
    host = _known_hosts.get(raw_host) if type(raw_host) is str else None
    if host is None:
        host = raw_host.lower().partition(":")[0]
        if not is_host_name(host):
            return responses.page(None, 400, "Bad request", ["This request has no valid host name."])
        if len(_known_hosts) >= MAX_KNOWN_HOSTS:
            _known_hosts.clear()  # random valid names cannot grow it without bound
        _known_hosts[raw_host] = host

    try:
        cfg = (_store or _get_store()).get(host)
    except ConfigUnavailable:
        return responses.page(None, 503, "Temporarily unavailable", ["Please try again in a minute."])
    distribution_id = cf.get("config", {}).get("distributionId")
    if (
        cfg is None
        or host not in cfg.hosts
        or (cfg.distribution_id and distribution_id and cfg.distribution_id != distribution_id)
    ):
        return responses.page(None, 404, "Not found", ["There is no site at this address."])
    if cfg.disabled:
        return responses.page(cfg, 403, "This demo is not available", ["Please contact the people who shared it with you."])

    path = paths.normalise(request["uri"])
    if path is None:
        return responses.page(cfg, 400, "Bad request", ["This address is not valid."])
    if path.startswith(GATEHOUSE_PREFIX):
        return _gatehouse_route(cfg, request, host, path, context)
    ours, forwarded = split_cookies(headers)
    if path in cfg.public_exact or path.startswith(cfg.public_starts):  # paths.is_public_for, inlined
        return _forward(cfg, request, path, forwarded, public=True)

    now = time.time()
    if not cfg.in_access_window(now):
        return _outside_window(cfg, now, host, ours)
    token, claims = _session_token(cfg, ours, now)
    if claims is not None:
        if _admitted(cfg, token, claims):
            if opens_the_site(headers):
                visit_log("session_start", cfg, host=host, claims=claims)
            request = _forward(cfg, request, path, forwarded)
            if cfg.assertion_prefixes and (path in cfg.assertion_exact or path.startswith(cfg.assertion_prefixes)):
                from . import assertion

                value = assertion.for_request(cfg, token, claims, now)
                request["headers"][ASSERTION_HEADER] = [{"key": "X-Gatehouse-Assertion", "value": value}]
            return request
        if claims.get("via") == "share_link":
            return _link_gone(cfg, claims.get("link"), host, "unknown or revoked", [responses.expired_cookie(SESSION_COOKIE)])
        return _refused(cfg, claims, host=host)
    if not _is_navigation(request):
        return responses.json_response(cfg, 401, {"error": "sign_in_required"})
    if cfg.signin_methods != ("idp",):
        return _to_sign_in_page(cfg, request)
    return _start_login(cfg, request, host, now, ours)


def _to_sign_in_page(cfg, request):
    from urllib.parse import urlencode

    query = request.get("querystring") or ""
    return_to = paths.safe_return_path(request["uri"] + ("?" + query if query else ""))
    return responses.redirect(cfg, SIGN_IN_PATH + "?" + urlencode({"r": return_to}))


# --- cookies ---------------------------------------------------------------


def split_cookies(headers):
    """Gatehouse's cookies as (name, value) pairs, and the `Cookie` entries
    to forward to the origin without them.

    Every `Cookie` header is read; a malformed piece (no `=`) is skipped,
    never fatal. `forwarded` is None when there was no `Cookie` header.
    """
    entries = headers.get("cookie")
    if not entries:
        return [], None
    ours = []
    forwarded = []
    for entry in entries:
        value = entry.get("value") if type(entry) is dict else None
        if type(value) is not str:
            continue
        if COOKIE_MARK not in value:
            forwarded.append(entry)
            continue
        split = _cookie_splits.get(value)
        if split is None:
            split = _split_cookie_value(value)
            if len(value) <= MAX_SPLIT_VALUE:
                if len(_cookie_splits) >= MAX_COOKIE_SPLITS:
                    _cookie_splits.clear()
                _cookie_splits[value] = split
        mine, rest = split
        ours.extend(mine)
        if rest:
            forwarded.append({"key": entry.get("key") or "Cookie", "value": rest})
    return ours, forwarded


# A viewer's browser sends the same Cookie header with request after request,
# so its split is remembered by the exact header value (the answer depends on
# nothing else). Bounded in count and in the length of a value it keeps.
MAX_COOKIE_SPLITS = 512
MAX_SPLIT_VALUE = 4096
_cookie_splits = {}


def _split_cookie_value(value):
    """(our (name, value) pairs, the other pieces rejoined or "") of one `Cookie` value."""
    ours = []
    rest = []
    for piece in value.split(";"):
        piece = piece.strip()
        if piece.startswith(COOKIE_MARK):
            name, sep, val = piece.partition("=")
            if sep:
                ours.append((name.rstrip(), val.strip()))
        elif piece:
            rest.append(piece)
    return tuple(ours), "; ".join(rest)


def is_tx_id(value):
    """Is `value` a transaction id of the shape `_start_login` mints?"""
    return type(value) is str and len(value) == TX_ID_LENGTH and _TX_ID_CHARS.issuperset(value)


def _pending_logins(ours):
    """Names of the transaction cookies this edge could have set, in the
    order the browser sent them (oldest first in practice)."""
    start = len(TX_COOKIE_PREFIX)
    return [n for n, _ in ours if n.startswith(TX_COOKIE_PREFIX) and is_tx_id(n[start:])]


def _expire_pending(names, keep):
    """Expired-cookie lines for all but the last `keep` of `names`, at most
    MAX_EXPIRED_COOKIES of them (each name once)."""
    stale = list(dict.fromkeys(names[:-keep] if keep else names))
    return [responses.expired_cookie(name) for name in stale[:MAX_EXPIRED_COOKIES]]


def _session(cfg, ours, now):
    return _session_token(cfg, ours, now)[1]


def _session_token(cfg, ours, now):
    """(token, claims) of the first session cookie that verifies, else (None, None)."""
    for name, token in ours:
        if name == SESSION_COOKIE:
            claims = tokens.verify(cfg, tokens.SESSION, token, now)
            if claims is not None:
                return token, claims
    return None, None


def _admitted(cfg, token, claims):
    """allowed(cfg, claims) for a verified session, remembered per token on
    the config object: the same cookie gets the same answer under the same
    config, and a new config (new rules, keys or revocation) starts afresh.
    Expiry is not cached here; tokens.verify checks it on every request."""
    cache = cfg.derived.get("admitted")
    if cache is None:
        cache = cfg.derived["admitted"] = {}
    verdict = cache.get(token)
    if verdict is None:
        verdict = allowed(cfg, claims)
        if len(cache) >= tokens._VERIFIED_CACHE_SIZE:
            cache.clear()
        cache[token] = verdict
    return verdict


# --- decisions -------------------------------------------------------------


# Claims an e-mail proof reads besides `email` and `email_verified`. The
# session keeps them, so every later request is judged by the same proof as
# the sign-in, and a changed proof in the config applies at once.
PROOF_CLAIMS = ("hd", "tid", "xms_edov")


def proven_email(cfg, claims):
    """(address, domain) that the provider vouches for under the site's
    e-mail proof (docs/edge-config.md, "E-mail proof"), or None.

    `domain` is what domain rules compare: None for the address's own domain
    (allowed() splits it off only when a domain rule needs it: this runs on
    every request), "" when no domain is proven, or, with Google, the
    Workspace domain (`hd`), whatever the address's domain.
    """
    email = claims.get("email")
    if type(email) is not str:
        return None
    proof = cfg.email_proof
    if proof == "email_verified":
        if claims.get("email_verified") is not True:
            return None
    elif proof == "cognito":
        # Cognito's userinfo sends the string "true"; its id_token a boolean.
        verified = claims.get("email_verified")
        if verified is not True and verified != "true":
            return None
    elif proof == "google":
        if claims.get("email_verified") is not True:
            return None
        hd = claims.get("hd")
        email = email.lower()
        if type(hd) is str and hd:
            # A Workspace account: Google is authoritative for its address,
            # and its organisation is `hd`.
            return email, hd.lower()
        # Without `hd` Google vouches only for its own addresses; any other
        # was verified once, at sign-up, and may have changed hands since.
        return (email, "") if email.endswith("@gmail.com") else None
    elif proof == "entra":
        # `email` is whatever the account's mail attribute says; `xms_edov`
        # says the tenant owns its domain. Only the configured tenant counts.
        edov = claims.get("xms_edov")
        if claims.get("tid") != cfg.tenant_id or (edov is not True and edov != "1" and edov != "true"):
            return None
    else:
        return None
    return email.lower(), None


def allowed(cfg, claims):
    """Does any access rule let this viewer in?"""
    if "via" in claims:
        if claims["via"] == "share_link":
            # A share link's session: while its link is listed (not revoked).
            from .sharelinks import admits as link_admits

            return link_admits(cfg, claims)
        # An e-mail code session: admitted by the listed e-mails and domains
        # only, and only while the site still offers e-mail codes.
        if claims["via"] != "email_code" or cfg.email_code is None:
            return False
        from .emailcode import admits

        return admits(cfg, claims.get("email"))
    if not cfg.uses_idp:
        return False
    if cfg.allow_any_user:
        return True
    if cfg.emails or cfg.email_domains:
        proven = proven_email(cfg, claims)
        if proven is not None:
            email, domain = proven
            if email in cfg.emails:
                return True
            if domain is None and cfg.email_domains:
                local, at, domain = email.rpartition("@")
                if not (at and local):
                    domain = ""
            # Exact domain: `x@evilexample.com` must not pass `example.com`.
            if domain and domain in cfg.email_domains:
                return True
    if cfg.groups and cfg.groups_claim:
        groups = claims.get(cfg.groups_claim)
        if isinstance(groups, str):
            groups = [groups]
        if isinstance(groups, list):
            return any(isinstance(g, str) and g in cfg.groups for g in groups)
    return False


def _is_navigation(request):
    if request.get("method") not in ("GET", "HEAD"):
        return False
    headers = request["headers"]
    mode = headers.get("sec-fetch-mode")
    if mode:
        return mode[0].get("value") == "navigate"
    accept = headers.get("accept")
    return bool(accept) and "text/html" in accept[0].get("value", "")


def _outside_window(cfg, now, host, ours):
    # Who it was, when the browser holds a session: staff see who tried.
    claims = _session(cfg, ours, now)
    if cfg.not_before is not None and now < cfg.not_before:
        visit_log("refused", cfg, host=host, claims=claims, why=["before the access window (not_before)"])
        return responses.page(cfg, 403, "This demo is not open yet", ["Please come back later."])
    visit_log("refused", cfg, host=host, claims=claims, why=["after the access window (not_after)"])
    return responses.page(
        cfg, 403, "This demo has ended", ["Its access period is over. Please contact the people who shared it with you."]
    )


def _refused(cfg, claims, *, host, cookies=None, at="session"):
    who = claims.get("email") or claims.get("sub")
    visit_log("refused", cfg, host=host, claims=claims, at=at, why=refusal_reasons(cfg, claims))
    return responses.page(
        cfg,
        403,
        "No access",
        [f"You are signed in as {who}, but this account may not open this demo."],
        link=(cfg.sign_out_path, "Sign out and use another account"),
        cookies=[responses.expired_cookie(SESSION_COOKIE)] if cookies is None else cookies,
    )


def _forward(cfg, request, path, forwarded, *, public=False):
    request["headers"].pop(ASSERTION_HEADER, None)
    # Gatehouse's cookies never reach the origin.
    if forwarded is not None:
        if forwarded:
            request["headers"]["cookie"] = forwarded
        else:
            del request["headers"]["cookie"]
    # A public path gets exactly its own object: the SPA fallback would serve
    # the protected index.html to a viewer who never signed in.
    request["uri"] = paths.origin_uri(cfg, path, fallback=not public)
    return request


# --- sign-in ---------------------------------------------------------------


def _pkce_challenge(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return tokens._b64(digest)


def revocation(cfg, now):
    """The time of the last "sign everyone out" while sign-ins must still
    prove a newer authentication, else None."""
    revoked = cfg.revoked_at
    if revoked is None or now - revoked > FRESH_AUTH_WINDOW:
        return None
    return revoked


def _start_login(cfg, request, host, now, ours, *, return_to=None, retry=None, tried=(), clear=()):
    """Send the viewer to the provider.

    `retry` names why the callback starts this sign-in over by itself
    (`invalid_grant`, `stale_auth`), `tried` the reasons of earlier restarts
    of the same sign-in. The transaction carries them all in `a`, and the
    callback never restarts for a reason already in `a`: at most one restart
    per reason, two in all, per sign-in the viewer began.
    """
    from urllib.parse import urlencode

    tid = tokens._b64(os.urandom(12))
    verifier = tokens._b64(os.urandom(48))
    nonce = tokens._b64(os.urandom(24))
    if return_to is None:
        query = request.get("querystring") or ""
        return_to = request["uri"] + ("?" + query if query else "")
    return_to = paths.safe_return_path(return_to)
    exp = int(now) + LOGIN_TTL
    claims = {"tid": tid, "v": verifier, "n": nonce, "r": return_to, "exp": exp, "site": cfg.site_id}
    params = dict(cfg.authorize_params)
    revoked = revocation(cfg, now)
    if revoked is not None:
        # OpenID Connect Core 3.1.2.1: the provider must authenticate anew if
        # its last authentication of the viewer is older than max_age, i.e.
        # older than the revocation, and must then send auth_time.
        max_age = max(0, int(now - revoked))
        configured = params.get("max_age", "")
        if configured.isdigit():
            max_age = min(max_age, int(configured))
        params["max_age"] = str(max_age)
    if retry is not None:
        claims["a"] = ",".join([*tried, retry])
    if retry == "stale_auth":
        prompts = [p for p in params.get("prompt", "").split() if p not in ("none", "login")]
        params["prompt"] = " ".join(["login", *prompts])
    transaction = tokens.sign(cfg, tokens.TRANSACTION, claims)
    state = tokens.sign(cfg, tokens.STATE, {"tid": tid, "exp": exp, "site": cfg.site_id})
    params.update(
        response_type="code",
        client_id=cfg.client_id,
        redirect_uri=_public_origin(host) + cfg.callback_path,
        scope=cfg.scope,
        state=state,
        nonce=nonce,
        code_challenge=_pkce_challenge(verifier),
        code_challenge_method="S256",
    )
    endpoint = cfg.authorization_endpoint
    location = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
    cookies = [responses.cookie(TX_COOKIE_PREFIX + tid, transaction, LOGIN_TTL), *clear]
    # Each tab's sign-in has its own cookie; drop the oldest beyond a few so
    # a viewer who keeps reloading does not grow the Cookie header forever.
    # Only names this edge mints are expired: a name the browser made up is
    # never echoed into a Set-Cookie line.
    pending = [n for n in _pending_logins(ours) if responses.expired_cookie(n) not in clear]
    if len(pending) > MAX_PENDING_LOGINS:
        cookies.extend(_expire_pending(pending, MAX_PENDING_LOGINS))
    log("login_start", site=cfg.site_id, retry=retry, fresh_auth=revoked is not None)
    return responses.redirect(cfg, location, cookies=cookies)


def _gatehouse_route(cfg, request, host, path, context):
    if path == cfg.callback_path and cfg.uses_idp:
        return _callback(cfg, request, host, context)
    if path.startswith(SHARE_LINK_PREFIX):
        return _share_link(cfg, request, host, path)
    if path in (SIGN_IN_PATH, SIGN_IN_CODE_PATH, SIGN_IN_IDP_PATH, JWKS_PATH):
        return _sign_in_route(cfg, request, host, path)
    if path == cfg.sign_out_path:
        return _sign_out(cfg, request, host)
    if path == ME_PATH:
        claims = _session(cfg, split_cookies(request["headers"])[0], time.time())
        if claims is None or not allowed(cfg, claims):
            return responses.json_response(cfg, 401, {"signed_in": False})
        shown = ("sub", "email", "email_verified", "name", "via", cfg.groups_claim)
        me = {k: claims[k] for k in shown if k and k in claims}
        me.update(signed_in=True, expires_at=claims["exp"])
        return responses.json_response(cfg, 200, me)
    if path == SIGNED_OUT_PATH:
        return responses.page(cfg, 200, "Signed out", ["You have signed out of this demo."], link=("/", "Sign in again"))
    return responses.page(cfg, 404, "Not found", ["There is nothing at this address."])


def _share_link(cfg, request, host, path):
    """A share link: a session cookie, then a redirect that takes the token
    out of the address bar. Nothing is used up (a mail scanner's GET mints
    a session of its own, as any holder's would), and nothing of the token
    is logged beyond its public id."""
    from . import sharelinks

    if request.get("method") not in ("GET", "HEAD"):
        return responses.page(cfg, 405, "Method not allowed", ["Share links are opened, not posted to."])
    now = time.time()
    if not cfg.in_access_window(now):
        return _outside_window(cfg, now, host, ())
    link_id, expires, refusal = sharelinks.check(cfg, path, now)
    if refusal is not None:
        return _link_gone(cfg, link_id, host, refusal)
    session = sharelinks.session_claims(cfg, link_id, expires, now)
    if cfg.assertion is not None:
        from . import assertion

        session.update(assertion.session_fields(cfg, session, now))
    visit_log("signed_in", cfg, host=host, claims=session, method=sharelinks.VIA, link=link_id)
    cookies = [
        responses.cookie(SESSION_COOKIE, tokens.sign(cfg, tokens.SESSION, session), session["exp"] - int(now)),
        # An earlier sign-in's id_token must not name someone else at sign-out.
        responses.expired_cookie(ID_TOKEN_COOKIE, path=cfg.sign_out_path),
    ]
    return _no_referrer(responses.redirect(cfg, "/", cookies=cookies))


def _link_gone(cfg, link_id, host, refusal, cookies=()):
    """The small page for a link (or a link's session) that does not admit:
    malformed, unknown, revoked, tampered with or expired."""
    from . import sharelinks

    log("share_link_refused", site=cfg.site_id, link=link_id, reason=refusal)
    visit_log("refused", cfg, host=host, method=sharelinks.VIA, link=link_id, why=[f"share link {refusal}"])
    if refusal == sharelinks.MALFORMED:
        page = responses.page(cfg, 400, "This link is not valid", ["Please check that the whole link was copied."])
    else:
        # 401, as sign-in failures: a distribution's custom error pages cannot replace it.
        page = responses.page(
            cfg,
            SIGN_IN_FAILED,
            "This link no longer works",
            ["It has expired or was withdrawn. Please ask the people who shared it with you for a new one."],
            cookies=cookies,
        )
    return _no_referrer(page)


def _no_referrer(response):
    # The link's token is in this request's address: whatever the site's own
    # headers say, nothing of it goes on in a Referer.
    response["headers"]["referrer-policy"] = [{"key": "Referrer-Policy", "value": "no-referrer"}]
    return response


def _sign_in_route(cfg, request, host, path):
    method = request.get("method")
    if path == JWKS_PATH:
        if cfg.assertion is None:
            return responses.page(cfg, 404, "Not found", ["There is nothing at this address."])
        from . import assertion

        return responses.json_response(cfg, 200, assertion.public_jwks(cfg))
    now = time.time()
    ours = split_cookies(request["headers"])[0]
    if path == SIGN_IN_IDP_PATH:
        if not cfg.uses_idp:
            return responses.page(cfg, 404, "Not found", ["There is nothing at this address."])
        return_to = (_query(request) or {}).get("r", "/")
        return _start_login(cfg, request, host, now, ours, return_to=return_to)
    if cfg.email_code is None:
        if path == SIGN_IN_PATH and method == "GET":
            # A site with the provider only: its sign-in is the provider's.
            return _start_login(cfg, request, host, now, ours, return_to=(_query(request) or {}).get("r", "/"))
        return responses.page(cfg, 404, "Not found", ["There is nothing at this address."])
    from . import emailcode

    if method == "GET" or method == "HEAD":
        # Never a side effect on GET: the code page is only ever a POST's answer.
        if path == SIGN_IN_PATH:
            return emailcode.start(cfg, request, now, ours)
        return responses.redirect(cfg, SIGN_IN_PATH)
    if method != "POST":
        return responses.page(cfg, 405, "Method not allowed", ["This page takes a form."])
    if path == SIGN_IN_PATH:
        return emailcode.send(cfg, request, host, now, ours)
    if path == SIGN_IN_CODE_PATH:
        claims, return_to, refusal = emailcode.verify(cfg, request, now, ours, host=host)
        if refusal is not None:
            return refusal
        session = _session_claims(cfg, claims, now)
        session["via"] = "email_code"
        if cfg.assertion is not None:
            from . import assertion

            session.update(assertion.session_fields(cfg, session, now))
        visit_log("signed_in", cfg, host=host, claims=claims, method="email_code")
        cookies = [
            responses.cookie(SESSION_COOKIE, tokens.sign(cfg, tokens.SESSION, session), cfg.session_lifetime),
            emailcode.clear_cookie(),
        ]
        return responses.redirect(cfg, paths.safe_return_path(return_to), cookies=cookies)
    return responses.page(cfg, 404, "Not found", ["There is nothing at this address."])


def _query(request):
    """The query string as a dict; None when it is malformed or repeats a name."""
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(
            request.get("querystring") or "", keep_blank_values=True, strict_parsing=False, max_num_fields=20
        )
    except ValueError:
        return None
    result = dict(pairs)
    return result if len(result) == len(pairs) else None


def _try_again(cfg, status, title, message, *, cookies=()):
    return responses.page(cfg, status, title, [message], link=("/", "Try signing in again"), cookies=cookies)


# Callback failures answer 400 (the browser brought a malformed, expired or
# foreign answer) or 401 (the sign-in could not be completed: the provider
# failed, refused, or its token did not verify). Never 403, 404 or a 5xx:
# those are the codes a CloudFront distribution's custom error responses can
# replace (400, 403, 404, 405, 414, 416, 500-504; the console maps 404 to
# the demo's not-found page, and any of them may be mapped by hand); 401
# cannot be mapped at all, so the "try again" page always reaches the viewer.
SIGN_IN_FAILED = 401


def _callback_refused(cfg, reason, message, *, status=400, cookies=()):
    log("callback_refused", site=cfg.site_id, reason=reason)
    return _try_again(cfg, status, "Sign-in failed", message, cookies=cookies)


def _callback(cfg, request, host, context):
    from . import oidc

    if request.get("method") != "GET":
        return responses.page(cfg, 405, "Method not allowed", ["Sign-in answers arrive as GET requests."])
    params = _query(request)
    if params is None:
        return _callback_refused(cfg, "malformed query", "The sign-in answer was malformed.")
    now = time.time()
    # Nothing of the answer is used, let alone shown, before its state
    # checks out against this browser's transaction: until then anyone could
    # have made the link (RFC 6749 10.12), `?error=` text included.
    state = tokens.verify(cfg, tokens.STATE, params.get("state", ""), now)
    if state is None or not is_tx_id(state.get("tid")):
        return _callback_refused(cfg, "state invalid or expired", "This sign-in link has expired or is not valid.")
    tx_name = TX_COOKIE_PREFIX + state["tid"]
    clear = [responses.expired_cookie(tx_name)]
    ours = split_cookies(request["headers"])[0]
    transaction = None
    for name, value in ours:
        if name == tx_name:
            transaction = tokens.verify(cfg, tokens.TRANSACTION, value, now)
            if transaction is not None:
                break
    if transaction is None or transaction.get("tid") != state["tid"]:
        # The back button after signing in brings the used answer again:
        # a viewer who is signed in just goes on.
        session = _session(cfg, ours, now)
        if session is not None and allowed(cfg, session):
            log("callback_replayed", site=cfg.site_id)
            return responses.redirect(cfg, "/", cookies=clear)
        return _callback_refused(
            cfg,
            "no transaction cookie for this state",
            "This sign-in was already used or started in another browser.",
            cookies=clear,
        )
    # RFC 9207: the answer names its issuer; another provider's answer (a
    # mix-up attack) is refused before its code goes anywhere.
    iss = params.get("iss")
    if iss is not None and iss != cfg.issuer:
        message = "The sign-in answer came from another identity provider."
        return _callback_refused(cfg, "iss parameter names another issuer", message, cookies=clear)
    if iss is None and cfg.iss_parameter_required:
        message = "The sign-in answer did not name its identity provider."
        return _callback_refused(cfg, "iss parameter missing", message, cookies=clear)
    if "error" in params:
        error = oidc._error_code(params) or "an unknown error"
        detail = params.get("error_description", "")[:300]
        log("provider_error", site=cfg.site_id, error=error)
        message = f"The identity provider said: {error}" + (f" ({detail})" if detail else "")
        return _try_again(cfg, SIGN_IN_FAILED, "Sign-in was not completed", message, cookies=clear)
    # Why this sign-in was already restarted automatically, if it was.
    tried = [t for t in str(transaction.get("a") or "").split(",") if t]
    code = params.get("code")
    if not code or len(code) > 2048:
        return _callback_refused(cfg, "no code", "The identity provider sent no code.", cookies=clear)

    deadline = oidc.Deadline(context)
    redirect_uri = _public_origin(host) + cfg.callback_path
    try:
        token_response = oidc.exchange_code(cfg, code, transaction["v"], redirect_uri, deadline)
        id_token = token_response["id_token"]
        claims = oidc.verify_id_token(cfg, id_token, transaction["n"], now, deadline)
        claims = _complete_claims(cfg, claims, token_response, deadline)
        # `via` marks the edge's own e-mail code sessions (allowed()); a
        # provider's claim of that name must not pass for one.
        claims.pop("via", None)
    except oidc.ProviderError as exc:
        if exc.error == "invalid_grant" and "invalid_grant" not in tried:
            # A used or expired code (a reload while the first answer was on
            # its way, a slow consent page): start over once, to the same page.
            log("login_restarted", site=cfg.site_id, reason=scrub(exc.reason))
            return _start_login(
                cfg, request, host, now, ours,
                return_to=transaction.get("r"), retry="invalid_grant", tried=tried, clear=clear,
            )
        log("callback_failed", site=cfg.site_id, reason=scrub(exc.reason), retried=bool(tried))
        if exc.error is not None:
            message = "The identity provider did not accept this sign-in. Please try again."
        else:
            message = "The identity provider could not be reached. Please try again."
        return _try_again(cfg, SIGN_IN_FAILED, "Sign-in failed", message, cookies=clear)
    except oidc.TokenInvalid as exc:
        log("token_invalid", site=cfg.site_id, reason=scrub(exc.reason))
        message = f"The sign-in could not be verified: {exc.reason}."
        return _try_again(cfg, SIGN_IN_FAILED, "Sign-in failed", message, cookies=clear)

    revoked = revocation(cfg, now)
    if revoked is not None:
        auth_time = claims.get("auth_time")
        fresh = oidc._number(auth_time) and auth_time >= revoked
        if not fresh:
            problem = "auth_time missing" if auth_time is None else "auth_time before the revocation"
            if "stale_auth" not in tried:
                log("login_restarted", site=cfg.site_id, reason=problem)
                return _start_login(
                    cfg, request, host, now, ours,
                    return_to=transaction.get("r"), retry="stale_auth", tried=tried, clear=clear,
                )
            if auth_time is None:
                # A provider that sends no auth_time even for max_age breaks
                # OpenID Connect Core 3.1.2.1; what it did with prompt=login
                # cannot be checked, so it is trusted and logged.
                log("auth_time_missing", site=cfg.site_id, sub=str(claims.get("sub"))[:200])
            else:
                log("token_invalid", site=cfg.site_id, reason=problem, sub=str(claims.get("sub"))[:200])
                # Signing out here ends the provider's session too (where it
                # has an end-session endpoint), after which it must ask.
                return responses.page(
                    cfg,
                    SIGN_IN_FAILED,
                    "Please sign in again",
                    [
                        "Everyone was signed out of this demo, and the identity provider did not ask you to sign "
                        "in again. Sign out at the identity provider, then sign in again."
                    ],
                    link=(cfg.sign_out_path, "Sign out, then sign in again"),
                    cookies=clear,
                )

    if not allowed(cfg, claims):
        return _refused(cfg, claims, host=host, cookies=clear, at="callback")
    session = _session_claims(cfg, claims, now)
    if cfg.assertion is not None:
        from . import assertion

        session.update(assertion.session_fields(cfg, session, now))
    token = tokens.sign(cfg, tokens.SESSION, session)
    visit_log("signed_in", cfg, host=host, claims=claims, method="oidc")
    cookies = [responses.cookie(SESSION_COOKIE, token, cfg.session_lifetime), *clear]
    if _uses_id_token_hint(cfg) and len(id_token) <= MAX_ID_TOKEN_COOKIE and _is_jws_text(id_token):
        cookies.append(responses.cookie(ID_TOKEN_COOKIE, id_token, cfg.session_lifetime, path=cfg.sign_out_path))
    else:
        # An older sign-in's id_token must not name the wrong viewer.
        cookies.append(responses.expired_cookie(ID_TOKEN_COOKIE, path=cfg.sign_out_path))
    cookies.extend(_expire_pending([n for n in _pending_logins(ours) if n != tx_name], MAX_PENDING_LOGINS))
    return responses.redirect(cfg, paths.safe_return_path(transaction.get("r")), cookies=cookies)


def _complete_claims(cfg, claims, token_response, deadline):
    """Fill in from userinfo what the rules need and the id_token lacks."""
    from . import oidc

    missing = cfg.needs_email and ("email" not in claims or "email_verified" not in claims)
    missing = missing or bool(cfg.groups and cfg.groups_claim and cfg.groups_claim not in claims)
    access_token = token_response.get("access_token")
    if not missing or not cfg.userinfo_endpoint or not isinstance(access_token, str):
        return claims
    info = oidc.fetch_userinfo(cfg, access_token, deadline)
    if info.get("sub") != claims["sub"]:
        raise oidc.TokenInvalid("userinfo is for another subject")
    merged = dict(info)
    merged.update(claims)
    for key in ("email", "email_verified", cfg.groups_claim):
        if key and key not in claims and key in info:
            merged[key] = info[key]
    return merged


def _session_claims(cfg, claims, now):
    session = {"sub": claims["sub"], "site": cfg.site_id, "iat": int(now), "exp": int(now) + cfg.session_lifetime}
    email = claims.get("email")
    if isinstance(email, str) and len(email) <= 320:
        session["email"] = email
        verified = claims.get("email_verified")
        session["email_verified"] = verified if verified is True or verified == "true" else False
        # What the site's e-mail proof reads, so allowed() judges the session as it judged the sign-in.
        for key in PROOF_CLAIMS:
            value = claims.get(key)
            if (type(value) is str and len(value) <= 253) or type(value) is bool:
                session[key] = value
    name = claims.get("name")
    if isinstance(name, str):
        session["name"] = name[:MAX_NAME]
    if cfg.groups and cfg.groups_claim:
        groups = claims.get(cfg.groups_claim)
        if isinstance(groups, str):
            groups = [groups]
        if isinstance(groups, list):
            # Only the groups a rule can use: the cookie stays small.
            session[cfg.groups_claim] = sorted(g for g in groups if isinstance(g, str) and g in cfg.groups)
    return session


def _uses_id_token_hint(cfg):
    # OpenID RP-initiated logout takes id_token_hint; Cognito's /logout and
    # Auth0's /v2/logout (the other redirect parameters) do not.
    return bool(cfg.end_session_endpoint) and cfg.end_session_redirect_param == "post_logout_redirect_uri"


_JWS_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def _is_jws_text(value):
    # Goes into a cookie and a URL: three base64url segments, nothing else.
    return type(value) is str and value.count(".") == 2 and _JWS_CHARS.issuperset(value)


def _id_token_hint(cfg, headers):
    """The id_token kept at sign-in, if it is one of this provider's for this
    client. Its signature is not checked: the provider checks it, and a hint
    only saves the viewer a confirmation."""
    entries = headers.get("cookie") or ()
    prefix = ID_TOKEN_COOKIE + "="
    for entry in entries:
        value = entry.get("value") if type(entry) is dict else None
        if type(value) is not str or prefix not in value:
            continue
        for piece in value.split(";"):
            piece = piece.strip()
            if not piece.startswith(prefix):
                continue
            token = piece[len(prefix):]
            if len(token) > MAX_ID_TOKEN_COOKIE or not _is_jws_text(token):
                continue
            try:
                claims = json.loads(tokens._unb64(token.split(".")[1]))
            except ValueError:
                continue
            if not isinstance(claims, dict) or claims.get("iss") != cfg.issuer:
                continue
            aud = claims.get("aud")
            if aud == cfg.client_id or (isinstance(aud, list) and cfg.client_id in aud):
                return token
    return None


def _sign_out(cfg, request, host):
    from urllib.parse import urlencode

    headers = request["headers"]
    ours = split_cookies(headers)[0]
    cookies = [
        responses.expired_cookie(SESSION_COOKIE),
        responses.expired_cookie(ID_TOKEN_COOKIE, path=cfg.sign_out_path),
    ]
    if cfg.email_code is not None:
        cookies.append(responses.expired_cookie(EMAIL_TX_COOKIE))
    cookies.extend(_expire_pending(_pending_logins(ours), 0))
    origin = _public_origin(host)
    if cfg.end_session_endpoint:
        params = {"client_id": cfg.client_id, cfg.end_session_redirect_param: origin + SIGNED_OUT_PATH}
        hint = _id_token_hint(cfg, headers) if _uses_id_token_hint(cfg) else None
        if hint is not None:
            # With the hint a provider may end its session without asking
            # (OpenID RP-Initiated Logout 1.0, section 2).
            params["id_token_hint"] = hint
        endpoint = cfg.end_session_endpoint
        location = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
        log("signed_out", site=cfg.site_id, id_token_hint=hint is not None)
    else:
        location = origin + SIGNED_OUT_PATH
        log("signed_out", site=cfg.site_id, id_token_hint=False)
    return responses.redirect(cfg, location, cookies=cookies)
