"""What each identity provider preset fills in from a tenant, domain or region.

Discovery gives the rest. Two things discovery does not give: Auth0's and
Cognito's sign-out URLs (neither lists an `end_session_endpoint`), and the
tenant id that Entra ID puts in `tid`, which the edge checks.
"""

import re
from dataclasses import dataclass

from edge_runtime.config import is_host_name

AUTH0 = "auth0"
COGNITO = "cognito"
OKTA = "okta"
GOOGLE = "google"
ENTRA = "entra"
OIDC = "oidc"

CHOICES = [
    (AUTH0, "Auth0"),
    (COGNITO, "Amazon Cognito"),
    (OKTA, "Okta"),
    (GOOGLE, "Google"),
    (ENTRA, "Microsoft Entra ID"),
    (OIDC, "Generic OpenID Connect"),
]

# How each preset's tokens prove an e-mail address: the edge's
# `provider.email_proof` (edge_runtime.config.EMAIL_PROOFS; the provider
# section of docs/edge-config.md says why each one is what it is).
EMAIL_PROOF = {
    AUTH0: "email_verified",
    COGNITO: "cognito",
    OKTA: "email_verified",
    GOOGLE: "google",
    ENTRA: "entra",
    OIDC: "email_verified",
}
# For staff: what makes an address (or a domain) count, per proof.
EMAIL_PROOF_TEXT = {
    "email_verified": "the id_token (or userinfo) says email_verified: true.",
    "cognito": "Cognito says email_verified is true (its userinfo sends the string \"true\").",
    "google": (
        "email_verified is true and the account is a Workspace account (hd) or a Gmail address; "
        "domain rules match the Workspace domain (hd), never the address's domain."
    ),
    "entra": (
        "the token carries the optional claim xms_edov: true (the tenant verified the address's domain) "
        "and tid is this tenant. Add the optional claims email and xms_edov to the app registration."
    ),
}

_TOP_LEVEL = re.compile(r"[a-z]{2,63}\Z")
_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d\Z")
_USER_POOL = re.compile(r"(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)_[A-Za-z0-9]+\Z")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


class PresetError(ValueError):
    """`field` names the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class PresetValues:
    issuer: str
    end_session_endpoint: str | None = None
    tenant_id: str | None = None
    id_token_algs: tuple[str, ...] = ("RS256",)


def _domain(value: str, field: str = "domain") -> str:
    value = (value or "").strip().lower().removeprefix("https://").rstrip("/")
    # A host name as the edge reads one, with a dot and a top-level domain.
    if not (is_host_name(value) and "." in value and _TOP_LEVEL.match(value.rpartition(".")[2])):
        raise PresetError(field, "Enter the provider's domain name, such as acme.eu.auth0.com.")
    return value


def preset_values(
    preset: str, *, domain: str = "", region: str = "", user_pool_id: str = "", tenant_id: str = "", issuer: str = ""
) -> PresetValues:
    """Issuer and the non-discoverable endpoints for a preset."""
    if preset == AUTH0:
        host = _domain(domain)
        # Auth0 only publishes end_session_endpoint when RP-initiated logout is
        # switched on for the tenant; /oidc/logout works either way.
        return PresetValues(issuer=f"https://{host}/", end_session_endpoint=f"https://{host}/oidc/logout")
    if preset == COGNITO:
        pool = (user_pool_id or "").strip()
        match = _USER_POOL.match(pool)
        if not match:
            raise PresetError("user_pool_id", "Enter the user pool id, such as eu-west-1_AbCdEf123.")
        pool_region = match["region"]
        if region and region != pool_region:
            raise PresetError("region", f"The user pool id is in {pool_region}, not {region}.")
        # The hosted UI's domain (the one users sign in at) is where logout lives.
        host = _domain(domain)
        return PresetValues(
            issuer=f"https://cognito-idp.{pool_region}.amazonaws.com/{pool}",
            end_session_endpoint=f"https://{host}/logout",
        )
    if preset == OKTA:
        host = _domain(domain)
        # The org's default custom authorization server: the one Okta's own
        # app integrations use, and the one that can carry a groups claim.
        return PresetValues(issuer=f"https://{host}/oauth2/default")
    if preset == GOOGLE:
        return PresetValues(issuer="https://accounts.google.com")
    if preset == ENTRA:
        tenant = (tenant_id or "").strip().lower()
        if not _GUID.match(tenant):
            # "common" and "organizations" have a templated issuer that can
            # never equal one configured issuer, and would let any tenant in.
            raise PresetError("tenant_id", "Enter the directory (tenant) id, a GUID from the Entra admin centre.")
        return PresetValues(issuer=f"https://login.microsoftonline.com/{tenant}/v2.0", tenant_id=tenant)
    if preset == OIDC:
        if not issuer:
            raise PresetError("issuer", "Enter the provider's issuer URL.")
        return PresetValues(issuer=issuer.strip())
    raise PresetError("preset", f"Unknown preset {preset!r}.")


def email_proof(preset: str) -> str:
    return EMAIL_PROOF.get(preset, "email_verified")


def is_region(value: str) -> bool:
    return bool(_REGION.match(value or ""))
