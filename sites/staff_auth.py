"""Staff single sign-on: mozilla-django-oidc, configured from GATEHOUSE_STAFF_OIDC_*.

mozilla-django-oidc reads its OIDC_* names through `get_settings`; here they
come from the console's own settings, and endpoints left unset come from
the issuer's discovery document, fetched on first use (never at start-up:
a provider that is down must not stop the password sign-in or the console).

On top of the library: the id_token's issuer, audience and expiry are
checked (the library checks only signature and nonce), PKCE is on, and a
callback that fails for any reason (a provider error, a replayed or
forged state, a refused person) goes back to the sign-in page with a
message, never a 4xx/5xx page.
"""

from __future__ import annotations

import logging
import time

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .services.staff import staff_sign_in

log = logging.getLogger(__name__)

DISCOVERY_TTL_SECONDS = 3600
_discovery: dict = {}  # {"issuer": ..., "document": ..., "at": monotonic}


def staff_oidc_enabled() -> bool:
    return settings.GATEHOUSE_STAFF_OIDC_ENABLED


def discovery_reset() -> None:
    _discovery.clear()


def _discovered(key: str) -> str | None:
    issuer = settings.GATEHOUSE_STAFF_OIDC_ISSUER
    if not issuer:
        return None
    fresh = _discovery.get("issuer") == issuer and time.monotonic() - _discovery["at"] < DISCOVERY_TTL_SECONDS
    if not fresh:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
        response.raise_for_status()
        document = response.json()
        if document.get("issuer", "").rstrip("/") != issuer:
            raise SuspiciousOperation("the discovery document names another issuer")
        _discovery.update(issuer=issuer, document=document, at=time.monotonic())
    value = _discovery["document"].get(key)
    return value if isinstance(value, str) else None


# mozilla-django-oidc setting -> (the console's setting, discovery key)
_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": (lambda: settings.GATEHOUSE_STAFF_OIDC_AUTHORIZATION_ENDPOINT, "authorization_endpoint"),
    "OIDC_OP_TOKEN_ENDPOINT": (lambda: settings.GATEHOUSE_STAFF_OIDC_TOKEN_ENDPOINT, "token_endpoint"),
    "OIDC_OP_USER_ENDPOINT": (lambda: settings.GATEHOUSE_STAFF_OIDC_USERINFO_ENDPOINT, "userinfo_endpoint"),
    "OIDC_OP_JWKS_ENDPOINT": (lambda: settings.GATEHOUSE_STAFF_OIDC_JWKS_URI, "jwks_uri"),
}
_FROM_SETTINGS = {
    "OIDC_RP_CLIENT_ID": lambda: settings.GATEHOUSE_STAFF_OIDC_CLIENT_ID,
    "OIDC_RP_CLIENT_SECRET": lambda: settings.GATEHOUSE_STAFF_OIDC_CLIENT_SECRET,
    "OIDC_RP_SIGN_ALGO": lambda: settings.GATEHOUSE_STAFF_OIDC_SIGN_ALGO,
    "OIDC_RP_SCOPES": lambda: settings.GATEHOUSE_STAFF_OIDC_SCOPES,
}
_FIXED = {
    "OIDC_USE_PKCE": True,
    "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
    "OIDC_USE_NONCE": True,
    "OIDC_TIMEOUT": 10,
    "OIDC_CREATE_USER": True,
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_STORE_ID_TOKEN": False,
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc_authentication_callback",
    "LOGIN_REDIRECT_URL_FAILURE": "login",
}


def oidc_setting(attr: str, *default):
    if attr in _ENDPOINTS:
        configured, key = _ENDPOINTS[attr]
        return configured() or _discovered(key)
    if attr in _FROM_SETTINGS:
        return _FROM_SETTINGS[attr]()
    if attr in _FIXED:
        return _FIXED[attr]
    return import_from_settings(attr, *default)


def axes_ignores_sso(request, credentials=None) -> bool:
    """django-axes counts password attempts only: an SSO callback carries no username."""
    return not (credentials or {}).get("username")


class StaffOIDCBackend(OIDCAuthenticationBackend):
    """Answers only the console's own SSO callback; every setting read when needed."""

    def __init__(self, *args, **kwargs):
        # The library reads (and discovers) everything here, on every
        # authenticate() of every sign-in: read lazily instead (properties below).
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    get_settings = staticmethod(oidc_setting)
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_CLIENT_ID = property(lambda self: oidc_setting("OIDC_RP_CLIENT_ID"))
    OIDC_RP_CLIENT_SECRET = property(lambda self: oidc_setting("OIDC_RP_CLIENT_SECRET"))
    OIDC_RP_SIGN_ALGO = property(lambda self: oidc_setting("OIDC_RP_SIGN_ALGO"))
    OIDC_RP_IDP_SIGN_KEY = None
    # Django's: an account switched off since it signed in is signed out (the library's skips that).
    get_user = ModelBackend.get_user

    def authenticate(self, request, **kwargs):
        if not staff_oidc_enabled() or request is None or "username" in kwargs or "password" in kwargs:
            return None
        if request.path != reverse("oidc_authentication_callback"):
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the id_token (a signed userinfo answer has no nonce to check)
            _id_token_checks(payload)
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            # OpenID Connect Core 5.3.2: a userinfo answer for someone else is refused.
            raise SuspiciousOperation("the userinfo subject is not the id_token's")
        # Some providers release e-mail and groups only in userinfo, some only in the id_token.
        claims = {**payload, **userinfo}
        result = staff_sign_in(issuer=payload.get("iss", ""), claims=claims)
        if result.user is None:
            self.request.staff_sso_refusal = result.refusal
        return result.user


def _id_token_checks(payload: dict) -> None:
    issuer = settings.GATEHOUSE_STAFF_OIDC_ISSUER
    if issuer and str(payload.get("iss", "")).rstrip("/") != issuer:
        raise SuspiciousOperation("id_token from another issuer")
    client_id = settings.GATEHOUSE_STAFF_OIDC_CLIENT_ID
    audience = payload.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if client_id not in audiences:
        raise SuspiciousOperation("id_token for another client")
    if len(audiences) > 1 and payload.get("azp") != client_id:
        raise SuspiciousOperation("id_token authorised for another party")
    if not isinstance(payload.get("exp"), (int, float)):
        raise SuspiciousOperation("id_token without an expiry")


class StaffOIDCAuthenticateView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate/?next=...: off to the provider (404 when SSO is off)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Not the library's __init__: it would discover endpoints for a 404.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not staff_oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (requests.RequestException, ValueError, SuspiciousOperation) as exc:
            log.warning("staff sign-in: the provider's discovery failed: %s", type(exc).__name__)
            messages.error(request, f"{settings.GATEHOUSE_STAFF_OIDC_NAME} did not answer; try again, or sign in with a password.")
            return HttpResponseRedirect(reverse("login"))
        self.OIDC_RP_CLIENT_ID = oidc_setting("OIDC_RP_CLIENT_ID")
        return super().get(request)


class StaffOIDCCallbackView(OIDCAuthenticationCallbackView):
    """GET /oidc/callback/: any failure is a message on the sign-in page."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request):
        if not staff_oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.RequestException, jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            # The exception's text may quote the provider's answer: only its type is logged.
            log.warning("staff sign-in: callback refused: %s", type(exc).__name__)
            return self.login_failure()

    def login_failure(self):
        refusal = getattr(self.request, "staff_sso_refusal", "")
        if self.request.GET.get("error"):
            refusal = refusal or "The sign-in was cancelled or refused there."
        messages.error(
            self.request,
            f"Signing in with {settings.GATEHOUSE_STAFF_OIDC_NAME} did not work. {refusal or 'Please try again.'}",
        )
        return HttpResponseRedirect(reverse("login"))
