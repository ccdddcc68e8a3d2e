"""The per-site auth config: its schema, validator and parsed form.

This module is the contract between the console and the edge (see
docs/edge-config.md). The console validates with it before uploading, so a
config the edge cannot read never leaves the console.
"""

import base64
import re

SCHEMA_VERSIONS = (1, 2, 3)
CURRENT_SCHEMA_VERSION = SCHEMA_VERSIONS[-1]

# Optional fields a later schema version introduced, by where they sit
# ("site", "provider", "access", ...): {where: {field: version}}. A document
# of an older version may not carry them (an older edge release would refuse
# them), and `for_schema` drops them when the console renders for a release
# that reads only the older version. Every field not listed here is version 1.
FIELDS_SINCE = {}

ID_TOKEN_ALGS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "HS256")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
# How a provider's end-session endpoint takes the address to return to:
# OpenID RP-initiated logout, Amazon Cognito, Auth0's older /v2/logout.
LOGOUT_REDIRECT_PARAMS = ("post_logout_redirect_uri", "logout_uri", "returnTo")
# How the id_token proves an e-mail address, per provider (docs/edge-config.md,
# "E-mail proof"): OpenID's `email_verified`, Cognito's (a string in userinfo),
# Google's (`hd` for domains), Entra ID's (`xms_edov`, tenant-bound).
EMAIL_PROOFS = ("email_verified", "cognito", "google", "entra")
RESERVED_AUTHORIZE_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)
# Headers the edge must never let a config set on its own pages: they are
# either ours to control or read-only / disallowed at CloudFront.
FORBIDDEN_HEADERS = frozenset(
    {
        "set-cookie",
        "location",
        "content-length",
        "content-type",
        "cache-control",
        "content-encoding",
        "transfer-encoding",
        "host",
        "via",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "expect",
        "te",
        "trailer",
        "upgrade",
        "x-accel-buffering",
        "x-accel-charset",
        "x-accel-limit-rate",
        "x-accel-redirect",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
        "x-edge-location",
    }
)
GATEHOUSE_PREFIX = "/_gatehouse/"
MAX_HEADERS = 20
MAX_HEADER_BYTES = 4096
# Paths the handler answers itself whatever the config says (see handler.py);
# a callback or sign-out path there would shadow them or be shadowed.
RESERVED_GATEHOUSE_PATHS = frozenset(
    {
        "/_gatehouse/me",
        "/_gatehouse/signed-out",
        "/_gatehouse/sign-in",
        "/_gatehouse/sign-in/code",
        "/_gatehouse/sign-in/idp",
        "/_gatehouse/jwks.json",
    }
)
# How a viewer may sign in (schema 3): at the site's identity provider, with
# a code the edge sends by e-mail, or either, chosen on an edge page.
SIGNIN_METHODS = ("idp", "email_code")
# E-mail code limits (docs/email-code.md, "The guessing arithmetic"): the
# code's lifetime is capped so that 1,000 guesses a second for its whole life
# stay under one chance in a million against CODE_ALPHABET ** CODE_LENGTH.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
CODE_LENGTH = 8
MIN_CODE_LIFETIME = 60
MAX_CODE_LIFETIME = 900
MAX_SENDS_PER_TRANSACTION = 10
MAX_SENDS_PER_ADDRESS = 50
MIN_ASSERTION_LIFETIME = 60
MAX_ASSERTION_LIFETIME = 3600
MAX_ASSERTION_PREFIXES = 20
MIN_SESSION_LIFETIME = 300
# Share links (schema 3, docs/share-links.md): bearer links staff hand out.
# The config carries each active link's public id, the SHA-256 of its secret
# (never the secret) and its expiry. At most MAX_SHARE_LINKS per site keeps
# the document, parsed once per cache period, small.
SHARE_LINK_PREFIX = "/_gatehouse/link/"
MAX_SHARE_LINKS = 100
SHARE_LINK_ID_LENGTH = 12
SHARE_LINK_SECRET_LENGTH = 43  # 32 random bytes in base64url
MAX_SESSION_LIFETIME = 30 * 24 * 3600

_SITE_ID = (r"[A-Za-z0-9._-]{1,64}\Z")
_LINK_ID = (r"[A-Za-z0-9_-]{12}\Z")
_KID = (r"[A-Za-z0-9_-]{1,32}\Z")
_HOST_NAME = (r"(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*\Z")
_HEADER_NAME = (r"[a-z0-9!#$%&'*+.^_`|~-]{1,64}\Z")
_BUILD_PREFIX = (r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\Z")
_TIMESTAMP = (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_B64URL = (r"[A-Za-z0-9_-]+\Z")
_REGION = (r"[a-z]{2}(-[a-z0-9]+)+-\d{1,2}\Z")
_LOCAL_HOSTS = ("localhost", "127.0.0.1")
_compiled = {}


def _match(pattern, value):
    # Patterns compile on first use, not at import: import time is cold-start
    # time at the edge, and most of them only serve the validator.
    regex = _compiled.get(pattern)
    if regex is None:
        regex = _compiled[pattern] = re.compile(pattern)
    return regex.match(value)


class ConfigError(ValueError):
    """A config document that the edge cannot use; `errors` lists each problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


def is_host_name(value):
    return type(value) is str and len(value) <= 253 and _match(_HOST_NAME, value) is not None


def _is_local_host(host):
    return host in _LOCAL_HOSTS or host.endswith(".localhost")


def _url_problem(value):
    """Return why `value` is not an acceptable provider URL, or None."""
    if not isinstance(value, str) or len(value) > 2048:
        return "must be a URL"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return "must not contain spaces or control characters"
    if "\\" in value:
        # urlsplit reads `http://evil\\@x.localhost` as host x.localhost;
        # a browser reads it as host evil.
        return "must not contain a backslash"
    try:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "must be a URL"
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and _is_local_host(host):
        return None
    return "must be an https URL (http only for localhost)"


def b64url_secret(value):
    """Decode a base64url key; None when it is not one."""
    if not isinstance(value, str) or not _match(_B64URL, value):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None


def parse_timestamp(value):
    """`YYYY-MM-DDTHH:MM:SSZ` to epoch seconds; ValueError otherwise.

    Computed here rather than with time.strptime, whose import pulls in
    locale and datetime at cold start.
    """
    if not isinstance(value, str) or not _match(_TIMESTAMP, value):
        raise ValueError(value)
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    hour, minute, second = int(value[11:13]), int(value[14:16]), int(value[17:19])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (1 <= month <= 12 and 1 <= day <= month_days[month - 1] and hour < 24 and minute < 60 and second < 60):
        raise ValueError(value)
    # Days since 1970-01-01 in the proleptic Gregorian calendar.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second


class _Checker:
    def __init__(self, version=CURRENT_SCHEMA_VERSION):
        self.errors = []
        self.version = version

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")

    def obj(self, doc, where, required, optional=()):
        if not isinstance(doc, dict):
            self.error(where, "must be an object")
            return None
        for key in required:
            if key not in doc:
                self.error(f"{where}.{key}", "is required")
        newer = FIELDS_SINCE.get(where, {})
        for key in doc:
            if key not in required and key not in optional:
                self.error(f"{where}.{key}", "is not a known field")
            elif newer.get(key, 1) > self.version:
                self.error(f"{where}.{key}", f"needs schema version {newer[key]} or later")
        return doc

    def boolean(self, doc, key, where):
        if key in doc and not isinstance(doc[key], bool):
            self.error(f"{where}.{key}", "must be true or false")

    def string_list(self, doc, key, where, *, check=None, message="", allow_empty=True):
        value = doc.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(f"{where}.{key}", "must be a list of strings")
            return []
        if not allow_empty and not value:
            self.error(f"{where}.{key}", "must not be empty")
        if len(set(value)) != len(value):
            self.error(f"{where}.{key}", "has duplicates")
        if check:
            for item in value:
                if not check(item):
                    self.error(f"{where}.{key}", f"{item!r} {message}")
        return value

    def url(self, doc, key, where, *, nullable):
        value = doc.get(key)
        if value is None:
            if not nullable and key in doc:
                self.error(f"{where}.{key}", "is required")
            return
        problem = _url_problem(value)
        if problem:
            self.error(f"{where}.{key}", problem)


def _check_site(c, site):
    where = "site"
    if c.obj(site, where, ("id", "hosts", "distribution_id", "disabled", "build", "spa")) is None:
        return
    if not isinstance(site.get("id"), str) or not _match(_SITE_ID, site.get("id", "")):
        c.error("site.id", "must be 1-64 letters, digits, '.', '_' or '-'")
    c.string_list(
        site,
        "hosts",
        where,
        check=is_host_name,
        message="is not a lower-case host name without a port",
        allow_empty=False,
    )
    dist = site.get("distribution_id")
    if dist is not None and (not isinstance(dist, str) or not re.match(r"[A-Z0-9]{1,32}\Z", dist)):
        c.error("site.distribution_id", "must be a CloudFront distribution id or null")
    c.boolean(site, "disabled", where)
    c.boolean(site, "spa", where)
    build = site.get("build")
    if build is not None and c.obj(build, "site.build", ("id", "prefix")) is not None:
        if not isinstance(build.get("id"), str) or not build.get("id"):
            c.error("site.build.id", "must be a non-empty string")
        prefix = build.get("prefix")
        if (
            not isinstance(prefix, str)
            or not _match(_BUILD_PREFIX, prefix)
            or any(part in (".", "..") for part in prefix.split("/"))
        ):
            c.error("site.build.prefix", "must be a relative key prefix such as 'builds/b7'")


FIELDS_SINCE.setdefault("provider", {})["email_proof"] = 2


def _check_provider(c, provider):
    where = "provider"
    required = (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
        "jwks_uri",
        "client_id",
        "client_secret",
        "token_endpoint_auth_method",
        "scopes",
        "authorize_params",
        "jwks",
        "id_token_algs",
        "tenant_id",
    )
    optional = ("end_session_redirect_param", "email_proof", "authorization_response_iss_parameter_supported")
    if c.obj(provider, where, required, optional) is None:
        return
    c.boolean(provider, "authorization_response_iss_parameter_supported", where)
    proof = provider.get("email_proof", EMAIL_PROOFS[0])
    if proof not in EMAIL_PROOFS:
        c.error("provider.email_proof", f"must be one of {', '.join(EMAIL_PROOFS)}")
    elif proof == "entra" and not provider.get("tenant_id"):
        # Without a tenant to bind to, xms_edov from any tenant would count.
        c.error("provider.email_proof", "entra needs a tenant_id")
    if provider.get("end_session_redirect_param", LOGOUT_REDIRECT_PARAMS[0]) not in LOGOUT_REDIRECT_PARAMS:
        c.error(
            "provider.end_session_redirect_param", f"must be one of {', '.join(LOGOUT_REDIRECT_PARAMS)}"
        )
    if not isinstance(provider.get("issuer"), str) or _url_problem(provider.get("issuer")):
        c.error("provider.issuer", "must be an https URL (http only for localhost)")
    for key in ("authorization_endpoint", "token_endpoint"):
        c.url(provider, key, where, nullable=False)
    for key in ("userinfo_endpoint", "end_session_endpoint", "jwks_uri"):
        c.url(provider, key, where, nullable=True)
    client_id = provider.get("client_id")
    if not isinstance(client_id, str) or not client_id or len(client_id) > 512:
        c.error("provider.client_id", "must be a non-empty string")
    secret = provider.get("client_secret")
    method = provider.get("token_endpoint_auth_method")
    if method not in AUTH_METHODS:
        c.error("provider.token_endpoint_auth_method", f"must be one of {', '.join(AUTH_METHODS)}")
    if secret is not None and (not isinstance(secret, str) or not secret):
        c.error("provider.client_secret", "must be a non-empty string or null")
    if method in ("client_secret_basic", "client_secret_post") and not secret:
        c.error("provider.client_secret", f"is required for {method}")
    scopes = c.string_list(provider, "scopes", where)
    if isinstance(provider.get("scopes"), list) and "openid" not in scopes:
        c.error("provider.scopes", "must include 'openid'")
    for scope in scopes:
        if not scope or any(ord(ch) <= 0x20 or ch in '"\\' for ch in scope):
            c.error("provider.scopes", f"{scope!r} is not a valid scope")
    params = provider.get("authorize_params")
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in params.items()
    ):
        c.error("provider.authorize_params", "must be an object of strings")
    else:
        for key in params:
            if key in RESERVED_AUTHORIZE_PARAMS or not key:
                c.error("provider.authorize_params", f"{key!r} is set by the edge itself")
    jwks = provider.get("jwks")
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        c.error("provider.jwks", "must be a JWK Set ({\"keys\": [...]})")
    elif not all(isinstance(k, dict) for k in jwks["keys"]):
        c.error("provider.jwks", "every key must be an object")
    algs = c.string_list(provider, "id_token_algs", where, allow_empty=False)
    for alg in algs:
        if alg not in ID_TOKEN_ALGS:
            c.error("provider.id_token_algs", f"{alg!r} is not one of {', '.join(ID_TOKEN_ALGS)}")
    if "HS256" in algs and not secret:
        c.error("provider.id_token_algs", "HS256 needs a client_secret")
    elif "HS256" in algs and isinstance(secret, str) and len(secret.encode()) < 32:
        # RFC 7518 3.2: an HS256 key shorter than the hash is guessable offline.
        c.error("provider.id_token_algs", "HS256 needs a client_secret of at least 32 bytes")
    tenant = provider.get("tenant_id")
    if tenant is not None and (not isinstance(tenant, str) or not tenant):
        c.error("provider.tenant_id", "must be a non-empty string or null")


# RFC 9207: the provider says it sends `iss` with every authorization
# response, so a response without one is refused (a mix-up defence).
FIELDS_SINCE.setdefault("provider", {})["authorization_response_iss_parameter_supported"] = 2
# When staff last signed everyone out: the next sign-ins demand a fresh
# authentication at the provider (see handler.FRESH_AUTH_WINDOW).
FIELDS_SINCE.setdefault("session", {})["revoked_at"] = 2


def _check_session(c, session):
    where = "session"
    if c.obj(session, where, ("lifetime_seconds", "current_kid", "keys"), ("revoked_at",)) is None:
        return
    revoked = session.get("revoked_at")
    if revoked is not None:
        try:
            parse_timestamp(revoked)
        except ValueError:
            c.error("session.revoked_at", "must be a UTC time like 2026-12-31T23:59:59Z, or null")
    lifetime = session.get("lifetime_seconds")
    if (
        not isinstance(lifetime, int)
        or isinstance(lifetime, bool)
        or not MIN_SESSION_LIFETIME <= lifetime <= MAX_SESSION_LIFETIME
    ):
        c.error(
            "session.lifetime_seconds",
            f"must be a whole number from {MIN_SESSION_LIFETIME} to {MAX_SESSION_LIFETIME}",
        )
    keys = session.get("keys")
    if not isinstance(keys, dict) or not keys:
        c.error("session.keys", "must be a non-empty object of key id to key")
        return
    for kid, value in keys.items():
        if not isinstance(kid, str) or not _match(_KID, kid):
            c.error("session.keys", f"key id {kid!r} must be 1-32 of [A-Za-z0-9_-]")
        secret = b64url_secret(value)
        if secret is None or len(secret) < 32:
            c.error("session.keys", f"key {kid!r} must be base64url of at least 32 bytes")
    current = session.get("current_kid")
    if not isinstance(current, str) or current not in keys:
        c.error("session.current_kid", "must name one of session.keys")


def is_lower_case_email(value):
    local, at, domain = value.rpartition("@")
    return (
        value == value.lower()
        and bool(at and local)
        and "@" not in local
        and all(0x20 < ord(ch) != 0x7F for ch in local)
        and is_host_name(domain)
    )


def _check_access(c, access):
    where = "access"
    fields = (
        "allow_any_user",
        "emails",
        "email_domains",
        "groups_claim",
        "groups",
        "not_before",
        "not_after",
    )
    if c.obj(access, where, fields) is None:
        return
    c.boolean(access, "allow_any_user", where)
    c.string_list(
        access,
        "emails",
        where,
        check=is_lower_case_email,
        message="is not a lower-case e-mail address",
    )
    c.string_list(
        access,
        "email_domains",
        where,
        check=is_host_name,
        message="is not a lower-case domain",
    )
    claim = access.get("groups_claim")
    if claim is not None and (not isinstance(claim, str) or not claim):
        c.error("access.groups_claim", "must be a claim name or null")
    groups = c.string_list(access, "groups", where)
    if groups and not claim:
        c.error("access.groups", "needs a groups_claim")
    bounds = {}
    for key in ("not_before", "not_after"):
        value = access.get(key)
        if value is None:
            continue
        try:
            bounds[key] = parse_timestamp(value)
        except ValueError:
            c.error(f"access.{key}", "must be a UTC time like 2026-12-31T23:59:59Z, or null")
    if len(bounds) == 2 and bounds["not_before"] >= bounds["not_after"]:
        c.error("access.not_after", "must be later than not_before")


def _is_clean_path(value):
    return (
        isinstance(value, str)
        and value.startswith("/")
        and "//" not in value
        and "\\" not in value
        and "?" not in value
        and "#" not in value
        and "%" not in value
        and all(0x20 < ord(ch) < 0x7F for ch in value)
        and not any(part in (".", "..") for part in value.split("/"))
    )


def is_public_path(value):
    """A path `paths.public` may list: normalised, not `/`, outside /_gatehouse/."""
    return _is_clean_path(value) and value != "/" and not value.startswith(GATEHOUSE_PREFIX)


def _check_paths(c, paths):
    where = "paths"
    if c.obj(paths, where, ("public", "callback", "sign_out")) is None:
        return
    c.string_list(
        paths,
        "public",
        where,
        check=is_public_path,
        message="must be a normalised absolute path other than '/' and outside /_gatehouse/",
    )
    for key in ("callback", "sign_out"):
        value = paths.get(key)
        if not _is_clean_path(value) or not value.startswith(GATEHOUSE_PREFIX) or value == GATEHOUSE_PREFIX:
            c.error(f"paths.{key}", "must be a path under /_gatehouse/")
        elif value in RESERVED_GATEHOUSE_PATHS or value.startswith(SHARE_LINK_PREFIX):
            c.error(f"paths.{key}", f"{value} is answered by the edge itself")
    if paths.get("callback") == paths.get("sign_out"):
        c.error("paths.sign_out", "must differ from the callback path")


def _check_headers(c, headers):
    if not isinstance(headers, dict):
        c.error("headers", "must be an object of header name to value")
        return
    for name, value in headers.items():
        if not isinstance(name, str) or not _match(_HEADER_NAME, name):
            c.error("headers", f"{name!r} is not a lower-case header name")
        elif name in FORBIDDEN_HEADERS or name.startswith(("x-amz-", "x-amzn-", "x-edge-", "cloudfront-")):
            c.error("headers", f"{name!r} may not be set by a config")
        if not isinstance(value, str) or not value or any(
            ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value
        ):
            c.error("headers", f"the value of {name!r} must be a one-line string")
    # Every generated page carries these; with the page itself they must stay
    # well inside CloudFront's 40 KB for a generated response.
    total = sum(len(n) + len(v) for n, v in headers.items() if isinstance(n, str) and isinstance(v, str))
    if len(headers) > MAX_HEADERS or total > MAX_HEADER_BYTES:
        c.error("headers", f"at most {MAX_HEADERS} headers of {MAX_HEADER_BYTES} characters in all")


FIELDS_SINCE.setdefault("config", {}).update(signin_methods=3, email_code=3, identity_assertion=3, share_links=3)


def _whole(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_signin(c, doc):
    """Check `signin_methods` and `email_code`; return the methods (a tuple)."""
    methods = doc.get("signin_methods", ["idp"])
    if (
        not isinstance(methods, list)
        or not methods
        or len(set(map(str, methods))) != len(methods)
        or not all(m in SIGNIN_METHODS for m in methods)
    ):
        c.error("config.signin_methods", "must be [\"idp\"], [\"email_code\"] or both")
        return ()
    if "idp" not in methods and doc.get("provider") is not None:
        c.error("config.provider", "must be null when the identity provider is not a sign-in method")
    if "idp" in methods and doc.get("provider") is None:
        c.error("config.provider", "is required for the idp sign-in method")
    section = doc.get("email_code")
    if "email_code" not in methods:
        if section is not None:
            c.error("config.email_code", "is only read with the email_code sign-in method")
        return tuple(methods)
    access = doc.get("access")
    if isinstance(access, dict) and not (access.get("emails") or access.get("email_domains")):
        # It admits exactly the listed addresses and domains: nobody, without any.
        c.error("config.signin_methods", "email_code needs access.emails or access.email_domains")
    where = "email_code"
    fields = ("sender", "region", "code_lifetime_seconds", "max_sends_per_transaction", "max_sends_per_address")
    if c.obj(section, where, fields) is None:
        return tuple(methods)
    sender = section.get("sender")
    if not isinstance(sender, str) or len(sender) > 254 or not is_lower_case_email(sender):
        c.error("email_code.sender", "must be a lower-case e-mail address (a verified SES identity)")
    region = section.get("region")
    if not isinstance(region, str) or not _match(_REGION, region):
        c.error("email_code.region", "must be an AWS region such as eu-west-1")
    if not _whole(section.get("code_lifetime_seconds"), MIN_CODE_LIFETIME, MAX_CODE_LIFETIME):
        c.error("email_code.code_lifetime_seconds", f"must be a whole number from {MIN_CODE_LIFETIME} to {MAX_CODE_LIFETIME}")
    if not _whole(section.get("max_sends_per_transaction"), 1, MAX_SENDS_PER_TRANSACTION):
        c.error("email_code.max_sends_per_transaction", f"must be a whole number from 1 to {MAX_SENDS_PER_TRANSACTION}")
    if not _whole(section.get("max_sends_per_address"), 1, MAX_SENDS_PER_ADDRESS):
        c.error("email_code.max_sends_per_address", f"must be a whole number from 1 to {MAX_SENDS_PER_ADDRESS}")
    return tuple(methods)


# The P-256 group order: an ES256 private key is a scalar in [1, n-1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _check_assertion(c, section):
    where = "identity_assertion"
    if c.obj(section, where, ("path_prefixes", "lifetime_seconds", "kid", "signing_key")) is None:
        return
    prefixes = c.string_list(
        section,
        "path_prefixes",
        where,
        check=is_public_path,
        message="must be a normalised absolute path other than '/' and outside /_gatehouse/",
        allow_empty=False,
    )
    if len(prefixes) > MAX_ASSERTION_PREFIXES:
        c.error("identity_assertion.path_prefixes", f"at most {MAX_ASSERTION_PREFIXES} prefixes")
    if not _whole(section.get("lifetime_seconds"), MIN_ASSERTION_LIFETIME, MAX_ASSERTION_LIFETIME):
        c.error(
            "identity_assertion.lifetime_seconds",
            f"must be a whole number from {MIN_ASSERTION_LIFETIME} to {MAX_ASSERTION_LIFETIME}",
        )
    kid = section.get("kid")
    if not isinstance(kid, str) or not _match(_KID, kid):
        c.error("identity_assertion.kid", "must be 1-32 of [A-Za-z0-9_-]")
    key = b64url_secret(section.get("signing_key"))
    if key is None or len(key) != 32 or not 0 < int.from_bytes(key, "big") < _P256_ORDER:
        c.error("identity_assertion.signing_key", "must be a P-256 private key (base64url of 32 bytes)")


def _check_share_links(c, links):
    where = "share_links"
    if not isinstance(links, list):
        c.error(where, "must be a list")
        return
    if len(links) > MAX_SHARE_LINKS:
        c.error(where, f"at most {MAX_SHARE_LINKS} links")
    seen = set()
    for index, link in enumerate(links):
        at = f"{where}[{index}]"
        if not isinstance(link, dict):
            c.error(at, "must be an object")
            continue
        for key in link:
            if key not in ("id", "verifier", "expires_at"):
                c.error(f"{at}.{key}", "is not a known field")
        link_id = link.get("id")
        if not isinstance(link_id, str) or not _match(_LINK_ID, link_id):
            c.error(f"{at}.id", f"must be {SHARE_LINK_ID_LENGTH} of [A-Za-z0-9_-]")
        elif link_id in seen:
            c.error(f"{at}.id", "is listed twice")
        else:
            seen.add(link_id)
        verifier = b64url_secret(link.get("verifier"))
        if verifier is None or len(verifier) != 32:
            c.error(f"{at}.verifier", "must be the SHA-256 of the link's secret (base64url of 32 bytes)")
        try:
            parse_timestamp(link.get("expires_at"))
        except ValueError:
            c.error(f"{at}.expires_at", "must be a UTC time like 2026-12-31T23:59:59Z")


def validate(doc, *, schema_version=None):
    """Raise ConfigError listing every problem in `doc`.

    `schema_version` pins the version the caller renders for (the one the
    site's edge release reads); by default any version this runtime reads.
    """
    if not isinstance(doc, dict):
        raise ConfigError(["config: must be a JSON object"])
    version = doc.get("schema_version")
    accepted = SCHEMA_VERSIONS if schema_version is None else (schema_version,)
    if schema_version is not None and (isinstance(schema_version, bool) or schema_version not in SCHEMA_VERSIONS):
        raise ConfigError([f"schema_version: this runtime cannot read version {schema_version!r}"])
    if isinstance(version, bool) or version not in accepted:
        raise ConfigError(
            [f"schema_version: must be one of {', '.join(map(str, accepted))}, got {version!r}"]
        )
    c = _Checker(version)
    top = ("schema_version", "site", "provider", "session", "access", "paths", "headers")
    if c.obj(doc, "config", top, ("signin_methods", "email_code", "identity_assertion", "share_links")):
        methods = _check_signin(c, doc)
        _check_site(c, doc.get("site"))
        if "idp" in methods or doc.get("provider") is not None:
            _check_provider(c, doc.get("provider"))
        _check_session(c, doc.get("session"))
        _check_access(c, doc.get("access"))
        _check_paths(c, doc.get("paths"))
        _check_headers(c, doc.get("headers", {}))
        if doc.get("identity_assertion") is not None:
            _check_assertion(c, doc["identity_assertion"])
        if "share_links" in doc:
            _check_share_links(c, doc["share_links"])
    if c.errors:
        raise ConfigError(c.errors)


class SiteConfig:
    """A validated config in the shape the handler uses on every request.

    Everything a request needs is computed once here (sets, epochs, decoded
    keys, header lists), because a config is parsed once per cache period and
    read thousands of times.
    """

    __slots__ = (
        "doc",
        "site_id",
        "hosts",
        "distribution_id",
        "disabled",
        "build_id",
        "build_prefix",
        "spa",
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
        "end_session_redirect_param",
        "iss_parameter_required",
        "jwks_uri",
        "client_id",
        "client_secret",
        "auth_method",
        "scope",
        "authorize_params",
        "jwks",
        "id_token_algs",
        "tenant_id",
        "email_proof",
        "session_lifetime",
        "current_kid",
        "session_keys",
        "revoked_at",
        "allow_any_user",
        "emails",
        "email_domains",
        "groups_claim",
        "groups",
        "not_before",
        "not_after",
        "public_paths",
        "public_exact",
        "public_starts",
        "callback_path",
        "sign_out_path",
        "headers",
        "derived",
        "keyset",
        "signin_methods",
        "uses_idp",
        "email_code",
        "assertion",
        "assertion_prefixes",
        "assertion_exact",
        "share_links",
    )

    def __init__(self, doc):
        self.doc = doc
        site, provider = doc["site"], doc["provider"]
        session, access, paths = doc["session"], doc["access"], doc["paths"]
        self.site_id = site["id"]
        self.hosts = tuple(site["hosts"])
        self.distribution_id = site["distribution_id"]
        self.disabled = site["disabled"]
        build = site["build"]
        self.build_id = build["id"] if build else None
        self.build_prefix = "/" + build["prefix"].strip("/") if build else ""
        self.spa = site["spa"]
        self.signin_methods = tuple(doc.get("signin_methods", ("idp",)))
        self.uses_idp = "idp" in self.signin_methods
        # An e-mail-code-only site has no provider: every provider field is None.
        _provider_fields(self, provider)
        self.session_lifetime = session["lifetime_seconds"]
        self.current_kid = session["current_kid"]
        self.session_keys = {kid: b64url_secret(v) for kid, v in session["keys"].items()}
        if self.session_keys.get(self.current_kid) is None:
            # validate() refuses this; a SiteConfig built without it must not
            # sign new sessions with some other key either.
            raise ConfigError(["session.current_kid: must name one of session.keys"])
        revoked = session.get("revoked_at")
        self.revoked_at = parse_timestamp(revoked) if revoked else None
        self.allow_any_user = access["allow_any_user"]
        self.emails = frozenset(access["emails"])
        self.email_domains = frozenset(access["email_domains"])
        self.groups_claim = access["groups_claim"]
        self.groups = frozenset(access["groups"])
        self.not_before = parse_timestamp(access["not_before"]) if access["not_before"] else None
        self.not_after = parse_timestamp(access["not_after"]) if access["not_after"] else None
        self.public_paths = tuple(paths["public"])
        # What paths.is_public_for compares on every request, worked out once:
        # a prefix without a trailing slash matches itself and what is below it.
        self.public_exact = frozenset(p for p in self.public_paths if not p.endswith("/"))
        self.public_starts = tuple(p if p.endswith("/") else p + "/" for p in self.public_paths)
        self.callback_path = paths["callback"]
        self.sign_out_path = paths["sign_out"]
        self.headers = {
            name: [{"key": name.title(), "value": value}]
            for name, value in doc.get("headers", {}).items()
        }
        self.derived = {}
        self.keyset = None
        self.email_code = doc.get("email_code") if "email_code" in self.signin_methods else None
        assertion = doc.get("identity_assertion")
        self.assertion = assertion
        # Matched as paths.public is: a prefix without a trailing slash covers itself and what is below it.
        listed = assertion["path_prefixes"] if assertion else ()
        self.assertion_exact = frozenset(p for p in listed if not p.endswith("/"))
        self.assertion_prefixes = tuple(p if p.endswith("/") else p + "/" for p in listed)
        # {link id: (SHA-256 of its secret, expiry in epoch seconds)}.
        self.share_links = {
            link["id"]: (b64url_secret(link["verifier"]), parse_timestamp(link["expires_at"]))
            for link in doc.get("share_links", ())
        }

    @property
    def needs_email(self):
        return bool(self.emails or self.email_domains)

    def in_access_window(self, now):
        if self.not_before is not None and now < self.not_before:
            return False
        return not (self.not_after is not None and now > self.not_after)


def _provider_fields(cfg, provider):
    """The provider's fields on `cfg`; all None (or empty) without a provider."""
    p = provider or {}
    cfg.issuer = p.get("issuer")
    cfg.authorization_endpoint = p.get("authorization_endpoint")
    cfg.token_endpoint = p.get("token_endpoint")
    cfg.userinfo_endpoint = p.get("userinfo_endpoint")
    cfg.end_session_endpoint = p.get("end_session_endpoint")
    cfg.end_session_redirect_param = p.get("end_session_redirect_param", LOGOUT_REDIRECT_PARAMS[0])
    cfg.iss_parameter_required = p.get("authorization_response_iss_parameter_supported") is True
    cfg.jwks_uri = p.get("jwks_uri")
    cfg.client_id = p.get("client_id")
    cfg.client_secret = p.get("client_secret")
    cfg.auth_method = p.get("token_endpoint_auth_method")
    cfg.scope = " ".join(p.get("scopes", ()))
    cfg.authorize_params = dict(p.get("authorize_params", {}))
    cfg.jwks = p.get("jwks", {"keys": []})
    cfg.id_token_algs = frozenset(p.get("id_token_algs", ()))
    cfg.tenant_id = p.get("tenant_id")
    cfg.email_proof = p.get("email_proof", EMAIL_PROOFS[0])


def for_schema(doc, version):
    """A copy of `doc` for an edge release that reads `version`: the
    `schema_version` set, and every field a later version introduced dropped.
    """
    if version not in SCHEMA_VERSIONS:
        raise ConfigError([f"schema_version: this runtime cannot read version {version!r}"])

    def strip(node, where):
        if not isinstance(node, dict):
            return node
        newer = FIELDS_SINCE.get(where, {})
        return {
            key: strip(value, key if where == "config" else f"{where}.{key}")
            for key, value in node.items()
            if newer.get(key, 1) <= version
        }

    result = strip(doc, "config")
    result["schema_version"] = version
    return result


def parse(doc):
    """Validate `doc` and return its SiteConfig; raise ConfigError."""
    validate(doc)
    return SiteConfig(doc)
