"""Identity provider discovery and key fetching.

The console fetches URLs that staff type in, so the fetcher is strict: https
only (plain http just for local names in development), no loopback, private
or link-local addresses outside development, the address checked is the
address connected to (no DNS rebinding between the two), 512 KB at most,
5 seconds in all, and at most two redirects on the same origin.
"""

import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from edge_runtime.config import ID_TOKEN_ALGS

from ..context import change_context
from ..models import IdentityProvider
from ..outbound import PinnedHTTPConnection, PinnedHTTPSConnection, address_is_public

log = logging.getLogger(__name__)

MAX_REDIRECTS = 2
_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
# JWK members that only a private or symmetric key has: never embed those.
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class ProviderCheckError(Exception):
    """Why a provider could not be checked, in words for the form."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    end_session_endpoint: str
    jwks_uri: str
    id_token_algs: list[str]
    auth_methods: list[str]
    jwks: dict
    document: dict


def _is_local_name(host: str) -> bool:
    return host in _LOCAL_NAMES or host.endswith(".localhost")


def _check_address(ip: str, host: str) -> None:
    if settings.GATEHOUSE_PROVIDER_ALLOW_PRIVATE:
        return
    if not address_is_public(ip):
        address = ipaddress.ip_address(ip.split("%", 1)[0])
        raise ProviderCheckError(f"{host} resolves to {getattr(address, 'ipv4_mapped', None) or address}, a private or local address; refused.")


def _resolve(host: str, port: int, deadline: float) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ProviderCheckError(f"{host} does not resolve (DNS lookup failed).") from None
    if time.monotonic() > deadline:
        raise ProviderCheckError(f"{host} took too long to resolve.")
    addresses = [info[4][0] for info in infos]
    # Every address must pass: otherwise a name with one public and one
    # private address would be let through half the time.
    for ip in addresses:
        _check_address(ip, host)
    return addresses[0]


def _check_url(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise ProviderCheckError(f"{url!r} is not a URL.") from None
    if not host or parts.username or parts.password:
        raise ProviderCheckError(f"{url!r} is not a URL with a host name.")
    if parts.scheme == "https":
        pass
    elif parts.scheme == "http" and _is_local_name(host) and settings.GATEHOUSE_PROVIDER_ALLOW_PRIVATE:
        pass
    else:
        raise ProviderCheckError(f"{url} must use https.")
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, path


def fetch_json(url: str) -> dict:
    """GET a JSON object under the rules in the module docstring."""
    timeout = settings.GATEHOUSE_PROVIDER_FETCH_TIMEOUT
    limit = settings.GATEHOUSE_PROVIDER_FETCH_MAX_BYTES
    deadline = time.monotonic() + timeout
    origin = None
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = _check_url(url)
        if origin is not None and (scheme, host, port) != origin:
            raise ProviderCheckError(f"{url} redirected to another origin ({scheme}://{host}:{port}); refused.")
        origin = (scheme, host, port)
        ip = _resolve(host, port, deadline)
        remaining = max(deadline - time.monotonic(), 0.01)
        if scheme == "https":
            conn = PinnedHTTPSConnection(host, port, ip, timeout=remaining, context=ssl.create_default_context())
        else:
            conn = PinnedHTTPConnection(host, port, ip, timeout=remaining)
        try:
            conn.request("GET", path, headers={"Accept": "application/json", "User-Agent": "gatehouse-console"})
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise ProviderCheckError(f"{url} redirected without a Location.")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise ProviderCheckError(f"{url} answered HTTP {response.status}.")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ProviderCheckError(f"{url} is larger than {limit // 1024} KB; refused.")
            chunks, size = [], 0
            while True:
                if time.monotonic() > deadline:
                    raise ProviderCheckError(f"{url} took longer than {timeout:g} seconds.")
                chunk = response.read(min(65536, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise ProviderCheckError(f"{url} is larger than {limit // 1024} KB; refused.")
        except (TimeoutError, socket.timeout):
            raise ProviderCheckError(f"{url} did not answer within {timeout:g} seconds.") from None
        except ssl.SSLError as exc:
            raise ProviderCheckError(f"{url}: TLS failed ({exc.reason or exc}).") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ProviderCheckError(f"{url} is unreachable ({exc.__class__.__name__}: {exc}).") from None
        finally:
            conn.close()
        try:
            doc = json.loads(b"".join(chunks))
        except ValueError:
            raise ProviderCheckError(f"{url} did not return JSON.") from None
        if not isinstance(doc, dict):
            raise ProviderCheckError(f"{url} did not return a JSON object.")
        return doc
    raise ProviderCheckError(f"{url} redirected more than {MAX_REDIRECTS} times.")


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def public_jwks(jwks: dict, url: str) -> dict:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise ProviderCheckError(f"{url} is not a JWK Set (no \"keys\" list).")
    public = [k for k in keys if isinstance(k, dict) and not (_PRIVATE_JWK_MEMBERS & set(k))]
    if not public:
        raise ProviderCheckError(f"{url} lists no public signing keys.")
    return {"keys": public}


# Which algorithms a key of each type (and curve) verifies at the edge (edge_runtime.jws).
_KEY_ALGS = {
    ("RSA", None): {"RS256", "RS384", "RS512", "PS256"},
    ("EC", "P-256"): {"ES256"},
    ("EC", "P-384"): {"ES384"},
}
# RFC 7518 3.2, and the edge's validator: a shorter HMAC key is guessable offline.
HS256_MIN_SECRET_BYTES = 32


def _key_algs(key: dict) -> set[str]:
    if key.get("use", "sig") != "sig":
        return set()
    kty = key.get("kty")
    algs = _KEY_ALGS.get((kty, key.get("crv") if kty == "EC" else None), set())
    # A key that names its algorithm is used with that one only.
    return algs & {key["alg"]} if isinstance(key.get("alg"), str) else algs


def id_token_algs_choose(*, document: dict, jwks: dict, client_secret: str = "") -> list[str]:
    """The id_token algorithms a site accepts: what the provider says it signs
    with, that the edge verifies, and that a key in its key set (or, for
    HS256, a long enough client secret) can check. Raises ProviderCheckError
    when nothing is left, saying why."""
    advertised = document.get("id_token_signing_alg_values_supported")
    if not isinstance(advertised, list) or not advertised:
        advertised = ["RS256"]  # OpenID Connect Discovery: the default, which every provider must support
    usable = set()
    for key in jwks.get("keys", []):
        usable |= _key_algs(key)
    # HS256 makes the client secret the key. That adds little: the edge takes
    # id_tokens only from its own TLS call to the token endpoint, never from
    # the browser. Some providers (django-oauth-toolkit) list it beside RS256
    # and sign with whichever each client is set to, so leaving it out would
    # be the ES256 failure again.
    if len((client_secret or "").encode()) >= HS256_MIN_SECRET_BYTES:
        usable.add("HS256")
    algs = [a for a in advertised if a in ID_TOKEN_ALGS and a in usable]
    if not algs:
        kinds = sorted({k.get("crv") or k.get("kty") or "?" for k in jwks.get("keys", []) if isinstance(k, dict)})
        raise ProviderCheckError(
            f"No id_token algorithm fits: the provider signs with {', '.join(map(str, advertised))}; "
            f"the edge verifies {', '.join(ID_TOKEN_ALGS)}; its keys are {', '.join(kinds) or 'none'}"
            + ("" if "HS256" not in advertised else f" (HS256 needs a client secret of {HS256_MIN_SECRET_BYTES} bytes or more)")
            + "."
        )
    return algs


def provider_discover(*, issuer: str, client_secret: str = "") -> ProviderMetadata:
    """Fetch and check the discovery document and the keys it points to.

    `client_secret` decides whether HS256 can be offered (id_token_algs_choose).
    """
    url = discovery_url(issuer)
    doc = fetch_json(url)
    if doc.get("issuer") != issuer:
        raise ProviderCheckError(
            f"The discovery document names the issuer {doc.get('issuer')!r}, not {issuer!r}. "
            "The issuer must match exactly (including any trailing slash)."
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ProviderCheckError(f"The discovery document at {url} has no {key}.")
    endpoints = {}
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "end_session_endpoint"):
        value = doc.get(key) or ""
        if value:
            _check_url(value)
        endpoints[key] = value
    jwks = public_jwks(fetch_json(endpoints["jwks_uri"]), endpoints["jwks_uri"])
    algs = id_token_algs_choose(document=doc, jwks=jwks, client_secret=client_secret)
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        userinfo_endpoint=endpoints["userinfo_endpoint"],
        end_session_endpoint=endpoints["end_session_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        id_token_algs=algs,
        auth_methods=[m for m in methods if isinstance(m, str)],
        jwks=jwks,
        document=doc,
    )


def provider_apply_metadata(provider: IdentityProvider, metadata: ProviderMetadata) -> None:
    """Copy what discovery found onto an (unsaved) provider.

    A sign-out URL the preset knows (Auth0, Cognito) wins over an empty one
    from discovery.
    """
    provider.issuer = metadata.issuer
    provider.authorization_endpoint = metadata.authorization_endpoint
    provider.token_endpoint = metadata.token_endpoint
    provider.userinfo_endpoint = metadata.userinfo_endpoint
    provider.jwks_uri = metadata.jwks_uri
    if metadata.end_session_endpoint:
        provider.end_session_endpoint = metadata.end_session_endpoint
    # Always what discovery and the keys allow: a default of RS256 kept for a
    # provider that signs ES256 refused every sign-in.
    provider.id_token_algs = metadata.id_token_algs
    provider.discovery = metadata.document
    provider.jwks = metadata.jwks
    provider.keys_fetched_at = provider.last_check_at = timezone.now()
    provider.last_check_error = ""


def provider_check(provider: IdentityProvider) -> ProviderMetadata:
    """Fill preset values, then discover; raises ProviderCheckError. Saves nothing."""
    from ..presets import PresetError

    try:
        provider.apply_preset()
    except PresetError as exc:
        raise ProviderCheckError(str(exc)) from None
    # A public client sends no secret to the edge, so it cannot be an HS256 key.
    secret = provider.client_secret if provider.token_endpoint_auth_method != "none" else ""
    metadata = provider_discover(issuer=provider.issuer, client_secret=secret)
    provider_apply_metadata(provider, metadata)
    return metadata


def provider_refresh_keys(*, provider_id: int) -> bool:
    """Refetch a provider's keys; save (and so republish) only when they changed."""
    provider = IdentityProvider.objects.filter(pk=provider_id).first()
    if provider is None or not provider.jwks_uri:
        return False
    now = timezone.now()
    try:
        jwks = public_jwks(fetch_json(provider.jwks_uri), provider.jwks_uri)
    except ProviderCheckError as exc:
        # Keep the keys we have: the edge can still verify with them.
        IdentityProvider.objects.filter(pk=provider_id).update(last_check_at=now, last_check_error=str(exc))
        log.warning("provider %s: key refresh failed: %s", provider.name, exc)
        return False
    if jwks == provider.jwks:
        IdentityProvider.objects.filter(pk=provider_id).update(
            last_check_at=now, keys_fetched_at=now, last_check_error=""
        )
        algs = _algs_for_keys(provider, jwks)
        if algs is None:
            return False
        # Same keys, other algorithms: a provider saved before the algorithms
        # followed its keys (an ES256 one kept at RS256) is put right.
        provider.id_token_algs = algs
        with change_context(reason=f"provider {provider.name}: id_token algorithms follow its discovery and keys"):
            provider.save(update_fields=["id_token_algs"])
        log.info("provider %s: id_token algorithms now %s", provider.name, ", ".join(algs))
        return True
    provider.jwks = jwks
    provider.keys_fetched_at = provider.last_check_at = now
    provider.last_check_error = ""
    fields = ["jwks", "keys_fetched_at", "last_check_at", "last_check_error"]
    algs = _algs_for_keys(provider, jwks)
    if algs is not None:
        provider.id_token_algs = algs
        fields.append("id_token_algs")
    with change_context(reason=f"provider {provider.name} rotated its signing keys"):
        # Only these fields: a staff edit saved meanwhile must not be undone.
        provider.save(update_fields=fields)
    log.info("provider %s: signing keys changed (%s)", provider.name, ", ".join(sorted(_key_ids(jwks))))
    return True


def _algs_for_keys(provider: IdentityProvider, jwks: dict) -> list[str] | None:
    """The algorithms `jwks` and the stored discovery document call for, when
    they differ from the provider's (an RSA key replaced by an EC one, say);
    None to keep the current ones."""
    if not provider.discovery:
        return None  # never discovered (made in the admin): nothing to go by
    secret = provider.client_secret if provider.token_endpoint_auth_method != "none" else ""
    try:
        algs = id_token_algs_choose(document=provider.discovery, jwks=jwks, client_secret=secret)
    except ProviderCheckError as exc:
        log.warning("provider %s: rotated keys fit no algorithm, keeping %s: %s", provider.name, provider.id_token_algs, exc)
        return None
    return algs if algs != provider.id_token_algs else None


def _key_ids(jwks: dict) -> set[str]:
    return {str(k.get("kid")) for k in (jwks or {}).get("keys", []) if isinstance(k, dict)}


def providers_refresh_keys() -> int:
    """Refetch the keys of every provider in use; returns how many changed."""
    ids = (
        IdentityProvider.objects.filter(~Q(jwks_uri=""), sites__isnull=False)
        .distinct()
        .values_list("pk", flat=True)
    )
    return sum(provider_refresh_keys(provider_id=pk) for pk in ids)
