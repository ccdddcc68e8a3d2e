"""The per-site auth config: render, canonicalise, redact, inject.

`site_config_render` is pure (it reads the site and its related rows and
writes nothing). What the console stores is the redacted form, where every
secret is `{"$secret": "sha256:<hmac>"}`; what it uploads is the redacted form
with the secrets put back, checked against the fingerprints.
"""

import base64
import hashlib
import json
from datetime import UTC

from django.conf import settings
from django.utils import timezone

from edge_runtime import config as edge_config

from . import presets
from .crypto import secret_fingerprint, secret_fingerprints
from .models import CALLBACK_PATH, SIGN_OUT_PATH, ProtectedSite, ShareLink

SECRET_MARKER = "$secret"

# Added to every page and redirect the edge itself generates.
EDGE_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}


class SecretMismatch(Exception):
    """A fingerprint in a revision no longer matches any current secret."""


def _timestamp(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _or_none(value):
    return value or None


def site_config_render(site: ProtectedSite) -> dict:
    """The config document for `site`, secrets in clear; raises edge ConfigError."""
    keys = list(site.session_keys.filter(retired_at=None).order_by("-created_at", "-pk"))
    doc = config_document(
        site, provider=site.provider, keys=[(key.kid, key.secret) for key in keys], build=site.live_build,
        hosts=site.config_hosts, share_links=active_share_links(site),
    )
    edge_config.validate(doc, schema_version=site.schema_version)
    return doc


def active_share_links(site: ProtectedSite) -> list[ShareLink]:
    """The links the edge should accept now: not revoked, not expired (one query)."""
    if not site.pk:
        return []
    return list(
        ShareLink.objects.filter(site=site, revoked_at=None, expires_at__gt=timezone.now())
        .only("public_id", "secret_sha256", "expires_at")
        .order_by("expires_at", "public_id")
    )


def share_link_entry(link: ShareLink) -> dict:
    """A link as the config lists it: its public id, the SHA-256 of its secret
    (what the console stores too; never the secret) and its expiry."""
    verifier = base64.urlsafe_b64encode(bytes.fromhex(link.secret_sha256)).rstrip(b"=").decode("ascii")
    return {"id": link.public_id, "verifier": verifier, "expires_at": _timestamp(link.expires_at)}


# What a site only has once it is saved (its first session key) or
# provisioned (its CloudFront name): a candidate's config is checked with
# these in their place, as it will be published then.
_STAND_IN_KEY = ("candidate", "A" * 43)
_STAND_IN_DISTRIBUTION_DOMAIN = "d0000000000000.cloudfront.net"
# A candidate that asks for an assertion before its save has made the key.
_STAND_IN_ASSERTION = ("candidate", "A" * 42 + "E")


def candidate_config_render(site: ProtectedSite, *, provider) -> dict:
    """The config `site` would publish with its settings as they stand on
    the instance (unsaved, or a copy with a form's values), for its schema
    version; raises edge ConfigError. Writes nothing.

    The forms run this, so a setting the edge would refuse is an error on
    the form rather than a publish that fails after the save.
    """
    keys = list(site.session_keys.filter(retired_at=None)) if site.pk else []
    hosts = site.config_hosts
    if not site.distribution_domain:
        hosts = [*hosts, _STAND_IN_DISTRIBUTION_DOMAIN]
    doc = config_document(
        site, provider=provider, keys=[(key.kid, key.secret) for key in keys] or [_STAND_IN_KEY],
        build=site.live_build if site.live_build_id else None, hosts=hosts, share_links=active_share_links(site),
    )
    edge_config.validate(doc, schema_version=site.schema_version)
    return doc


def _provider_section(provider) -> dict | None:
    if provider is None:
        return None
    method = provider.token_endpoint_auth_method
    return {
        "issuer": provider.issuer,
        "authorization_endpoint": provider.authorization_endpoint,
        "token_endpoint": provider.token_endpoint,
        "userinfo_endpoint": _or_none(provider.userinfo_endpoint),
        "end_session_endpoint": _or_none(provider.end_session_endpoint),
        "jwks_uri": _or_none(provider.jwks_uri),
        "client_id": provider.client_id,
        # A public client's stored secret is not sent anywhere.
        "client_secret": (provider.client_secret or None) if method != "none" else None,
        "token_endpoint_auth_method": method,
        "scopes": list(provider.scopes),
        "authorize_params": dict(provider.authorize_params or {}),
        "jwks": provider.jwks or {"keys": []},
        "id_token_algs": list(provider.id_token_algs),
        "tenant_id": provider.config_tenant_id,
        "email_proof": presets.email_proof(provider.preset),
    }


def config_document(
    site: ProtectedSite, *, provider, keys: list[tuple[str, str]], build, hosts: list[str], share_links=(),
) -> dict:
    """The config document for `site` with these related rows, not yet
    validated; `keys` are (kid, secret), newest first; `share_links` the
    active ShareLink rows. Reads only what it is given and the site's own fields."""
    methods = list(site.signin_methods or ["idp"])
    if "idp" not in methods:
        # The edge reads no provider for an e-mail-code-only site (and the site may have none).
        provider = None
    doc = {
        "schema_version": site.schema_version,
        "site": {
            "id": site.slug,
            "hosts": list(hosts),
            "distribution_id": site.distribution_id or None,
            "disabled": site.disabled,
            "build": {"id": build.config_id, "prefix": build.prefix} if build else None,
            "spa": site.spa_mode,
        },
        "provider": _provider_section(provider),
        "session": {
            "lifetime_seconds": site.session_lifetime,
            "current_kid": keys[0][0] if keys else None,
            "keys": dict(keys),
        },
        "access": {
            "allow_any_user": site.allow_any_user,
            "emails": sorted(e.lower() for e in site.emails),
            "email_domains": sorted(d.lower() for d in site.email_domains),
            "groups_claim": site.groups_claim or None,
            "groups": list(site.groups),
            "not_before": _timestamp(site.not_before),
            "not_after": _timestamp(site.not_after),
        },
        "paths": {
            "public": list(site.public_paths),
            "callback": CALLBACK_PATH,
            "sign_out": SIGN_OUT_PATH,
        },
        "headers": dict(EDGE_HEADERS),
    }
    # Only when they say something, so the configs of sites that never use
    # them stay byte for byte what they were.
    if methods != ["idp"]:
        doc["signin_methods"] = methods
    if "email_code" in methods:
        doc["email_code"] = {
            "sender": settings.GATEHOUSE_SES_SENDER,
            "region": settings.GATEHOUSE_SES_REGION,
            "code_lifetime_seconds": settings.GATEHOUSE_EMAIL_CODE_LIFETIME,
            "max_sends_per_transaction": settings.GATEHOUSE_EMAIL_CODE_SENDS_PER_TRANSACTION,
            "max_sends_per_address": settings.GATEHOUSE_EMAIL_CODE_SENDS_PER_ADDRESS,
        }
    if site.assertion_path_prefixes:
        doc["identity_assertion"] = {
            "path_prefixes": list(site.assertion_path_prefixes),
            "lifetime_seconds": site.assertion_lifetime,
            "kid": site.assertion_kid or _STAND_IN_ASSERTION[0],
            "signing_key": site.assertion_key or _STAND_IN_ASSERTION[1],
        }
    if provider is not None and provider.sends_authorization_response_iss:
        doc["provider"]["authorization_response_iss_parameter_supported"] = True
    if site.sessions_revoked_at:
        doc["session"]["revoked_at"] = _timestamp(site.sessions_revoked_at)
    if share_links:
        doc["share_links"] = [share_link_entry(link) for link in share_links]
    # A site on an older edge release gets the fields that release reads.
    return edge_config.for_schema(doc, site.schema_version)


def canonical_json(doc: dict) -> bytes:
    """One byte string per document, so equal configs hash equal."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _secret_slots(doc: dict):
    """(container, key) of every secret in a config document."""
    provider = doc.get("provider") or {}
    if provider.get("client_secret") is not None:
        yield provider, "client_secret"
    keys = doc.get("session", {}).get("keys", {})
    for kid in keys:
        yield keys, kid
    assertion = doc.get("identity_assertion")
    if assertion and assertion.get("signing_key") is not None:
        yield assertion, "signing_key"


def config_redact(doc: dict) -> dict:
    """A deep copy of `doc` with every secret replaced by its fingerprint."""
    redacted = json.loads(json.dumps(doc))
    for container, key in _secret_slots(redacted):
        value = container[key]
        if not (isinstance(value, dict) and SECRET_MARKER in value):
            container[key] = {SECRET_MARKER: secret_fingerprint(value)}
    return redacted


def config_inject(redacted: dict, secrets: list[str]) -> dict:
    """Put the secrets back into a redacted document, by fingerprint."""
    # Fingerprints made under an older fingerprint key still match, so an
    # upload pending across a key rotation is not failed.
    by_fingerprint = {}
    for secret in secrets:
        if secret:
            for fingerprint in reversed(secret_fingerprints(secret)):
                by_fingerprint[fingerprint] = secret

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {SECRET_MARKER}:
                fingerprint = node[SECRET_MARKER]
                if fingerprint not in by_fingerprint:
                    raise SecretMismatch(f"no current secret has fingerprint {fingerprint}")
                return by_fingerprint[fingerprint]
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(redacted)


def site_secrets(site: ProtectedSite) -> list[str]:
    """Every secret a site's config may carry right now."""
    values = [key.secret for key in site.session_keys.filter(retired_at=None)]
    if site.provider is not None and site.provider.has_client_secret:
        values.append(site.provider.client_secret)
    if site.assertion_key:
        values.append(site.assertion_key)
    return values
