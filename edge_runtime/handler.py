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
from .config import is_host_name

SESSION_COOKIE = "__Host-gh-session"
TX_COOKIE_PREFIX = "__Host-gh-tx-"
COOKIE_MARK = "__Host-gh-"
GATEHOUSE_PREFIX = "/_gatehouse/"
ME_PATH = "/_gatehouse/me"
SIGNED_OUT_PATH = "/_gatehouse/signed-out"
LOGIN_TTL = 600
MAX_PENDING_LOGINS = 4
MAX_NAME = 200

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
    from .settings import get_settings

    local = get_settings().public_origin
    if local:
        port = local.get("port")
        scheme = local.get("scheme", "https")
        default = 443 if scheme == "https" else 80
        return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")
    return f"https://{host}"


def log(event, **fields):
    # One JSON line to CloudWatch; callers pass no tokens, codes or cookies.
    sys.stdout.write(json.dumps({"gatehouse": event, **fields}, separators=(",", ":")) + "\n")


def handler(event, context):
    try:
        return _handle(event, context)
    except Exception as exc:  # noqa: BLE001 - fail closed on anything
        log("error", kind=type(exc).__name__)
        return responses.page(None, 500, "Something went wrong", ["Please try again in a moment."])


def _handle(event, context):
    cf = event["Records"][0]["cf"]
    request = cf["request"]
    headers = request["headers"]
    host_entries = headers.get("host")
    host = host_entries[0]["value"].lower().partition(":")[0] if host_entries else ""
    if not is_host_name(host):
        return responses.page(None, 400, "Bad request", ["This request has no valid host name."])

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
    if paths.is_public(cfg.public_paths, path):
        return _forward(cfg, request, path, forwarded, public=True)

    now = time.time()
    if not cfg.in_access_window(now):
        return _outside_window(cfg, now)
    claims = _session(cfg, ours, now)
    if claims is not None:
        if allowed(cfg, claims):
            return _forward(cfg, request, path, forwarded)
        return _refused(cfg, claims)
    if not _is_navigation(request):
        return responses.json_response(cfg, 401, {"error": "sign_in_required"})
    return _start_login(cfg, request, host, now, ours)


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
        rest = []
        for piece in value.split(";"):
            piece = piece.strip()
            if piece.startswith(COOKIE_MARK):
                name, sep, val = piece.partition("=")
                if sep:
                    ours.append((name.rstrip(), val.strip()))
            elif piece:
                rest.append(piece)
        if rest:
            forwarded.append({"key": entry.get("key") or "Cookie", "value": "; ".join(rest)})
    return ours, forwarded


def _session(cfg, ours, now):
    for name, token in ours:
        if name == SESSION_COOKIE:
            claims = tokens.verify(cfg, tokens.SESSION, token, now)
            if claims is not None:
                return claims
    return None


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


def _outside_window(cfg, now):
    if cfg.not_before is not None and now < cfg.not_before:
        return responses.page(cfg, 403, "This demo is not open yet", ["Please come back later."])
    return responses.page(
        cfg, 403, "This demo has ended", ["Its access period is over. Please contact the people who shared it with you."]
    )


def _refused(cfg, claims, *, cookies=None):
    who = claims.get("email") or claims.get("sub")
    return responses.page(
        cfg,
        403,
        "No access",
        [f"You are signed in as {who}, but this account may not open this demo."],
        link=(cfg.sign_out_path, "Sign out and use another account"),
        cookies=[responses.expired_cookie(SESSION_COOKIE)] if cookies is None else cookies,
    )


def _forward(cfg, request, path, forwarded, *, public=False):
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


def _start_login(cfg, request, host, now, ours):
    from urllib.parse import urlencode

    tid = tokens._b64(os.urandom(12))
    verifier = tokens._b64(os.urandom(48))
    nonce = tokens._b64(os.urandom(24))
    query = request.get("querystring") or ""
    return_to = paths.safe_return_path(request["uri"] + ("?" + query if query else ""))
    exp = int(now) + LOGIN_TTL
    transaction = tokens.sign(
        cfg,
        tokens.TRANSACTION,
        {"tid": tid, "v": verifier, "n": nonce, "r": return_to, "exp": exp, "site": cfg.site_id},
    )
    state = tokens.sign(cfg, tokens.STATE, {"tid": tid, "exp": exp, "site": cfg.site_id})
    params = dict(cfg.authorize_params)
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
    cookies = [responses.cookie(TX_COOKIE_PREFIX + tid, transaction, LOGIN_TTL)]
    # Each tab's sign-in has its own cookie; drop the oldest beyond a few so
    # a viewer who keeps reloading does not grow the Cookie header forever.
    pending = [n for n, _ in ours if n.startswith(TX_COOKIE_PREFIX)]
    for name in pending[:-MAX_PENDING_LOGINS] if len(pending) > MAX_PENDING_LOGINS else ():
        cookies.append(responses.expired_cookie(name))
    log("login_start", site=cfg.site_id)
    return responses.redirect(cfg, location, cookies=cookies)


def _gatehouse_route(cfg, request, host, path, context):
    if path == cfg.callback_path:
        return _callback(cfg, request, host, context)
    if path == cfg.sign_out_path:
        return _sign_out(cfg, request, host)
    if path == ME_PATH:
        claims = _session(cfg, split_cookies(request["headers"])[0], time.time())
        if claims is None or not allowed(cfg, claims):
            return responses.json_response(cfg, 401, {"signed_in": False})
        shown = ("sub", "email", "email_verified", "name", cfg.groups_claim)
        me = {k: claims[k] for k in shown if k and k in claims}
        me.update(signed_in=True, expires_at=claims["exp"])
        return responses.json_response(cfg, 200, me)
    if path == SIGNED_OUT_PATH:
        return responses.page(cfg, 200, "Signed out", ["You have signed out of this demo."], link=("/", "Sign in again"))
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


def _callback(cfg, request, host, context):
    from . import oidc

    if request.get("method") != "GET":
        return responses.page(cfg, 405, "Method not allowed", ["Sign-in answers arrive as GET requests."])
    params = _query(request)
    if params is None:
        return _try_again(cfg, 400, "Sign-in failed", "The sign-in answer was malformed.")
    now = time.time()
    state = tokens.verify(cfg, tokens.STATE, params.get("state", ""), now)
    tx_name = TX_COOKIE_PREFIX + state["tid"] if state else None
    clear = [responses.expired_cookie(tx_name)] if tx_name else []
    if "error" in params:
        error = params["error"][:100]
        detail = params.get("error_description", "")[:300]
        log("provider_error", site=cfg.site_id, error=error)
        message = f"The identity provider said: {error}" + (f" ({detail})" if detail else "")
        return _try_again(cfg, 403, "Sign-in was not completed", message, cookies=clear)
    if state is None:
        return _try_again(cfg, 400, "Sign-in expired", "This sign-in link has expired or is not valid.")
    transaction = None
    for name, value in split_cookies(request["headers"])[0]:
        if name == tx_name:
            transaction = tokens.verify(cfg, tokens.TRANSACTION, value, now)
            if transaction is not None:
                break
    if transaction is None or transaction.get("tid") != state["tid"]:
        return _try_again(
            cfg, 400, "Sign-in expired", "This sign-in was already used or started in another browser.", cookies=clear
        )
    code = params.get("code")
    if not code or len(code) > 2048:
        return _try_again(cfg, 400, "Sign-in failed", "The identity provider sent no code.", cookies=clear)

    deadline = oidc.Deadline(context)
    redirect_uri = _public_origin(host) + cfg.callback_path
    try:
        token_response = oidc.exchange_code(cfg, code, transaction["v"], redirect_uri, deadline)
        claims = oidc.verify_id_token(cfg, token_response["id_token"], transaction["n"], now, deadline)
        claims = _complete_claims(cfg, claims, token_response, deadline)
    except oidc.ProviderError as exc:
        log("callback_failed", site=cfg.site_id, reason=exc.reason)
        return _try_again(cfg, 502, "Sign-in failed", "The identity provider could not be reached. Please try again.", cookies=clear)
    except oidc.TokenInvalid as exc:
        log("token_invalid", site=cfg.site_id, reason=exc.reason)
        return _try_again(cfg, 401, "Sign-in failed", f"The sign-in could not be verified: {exc.reason}.", cookies=clear)

    if not allowed(cfg, claims):
        log("refused", site=cfg.site_id)
        return _refused(cfg, claims, cookies=clear)
    session = _session_claims(cfg, claims, now)
    token = tokens.sign(cfg, tokens.SESSION, session)
    log("signed_in", site=cfg.site_id)
    cookies = [responses.cookie(SESSION_COOKIE, token, cfg.session_lifetime), *clear]
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


def _sign_out(cfg, request, host):
    cookies = [responses.expired_cookie(SESSION_COOKIE)]
    for name, _ in split_cookies(request["headers"])[0]:
        if name.startswith(TX_COOKIE_PREFIX):
            cookies.append(responses.expired_cookie(name))
    from urllib.parse import urlencode

    origin = _public_origin(host)
    if cfg.end_session_endpoint:
        params = urlencode({"client_id": cfg.client_id, cfg.end_session_redirect_param: origin + SIGNED_OUT_PATH})
        endpoint = cfg.end_session_endpoint
        location = endpoint + ("&" if "?" in endpoint else "?") + params
    else:
        location = origin + SIGNED_OUT_PATH
    return responses.redirect(cfg, location, cookies=cookies)
