"""`Authorization: Bearer gh_...`: a personal API token, nothing else (no session, so no CSRF question)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..context import token_set
from ..services.tokens import TokenRefused, token_authenticate


class TokenRefusedError(exceptions.AuthenticationFailed):
    default_code = "token_refused"


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword.lower() not in ("bearer", "token") or not raw.strip():
            raise TokenRefusedError("Send the token as 'Authorization: Bearer gh_…'.")
        try:
            token = token_authenticate(raw.strip())
        except TokenRefused as exc:
            raise TokenRefusedError(str(exc)) from exc
        # Activity rows recorded in this request name the token (cleared in the views' finalize_response).
        token_set(token.pk)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="gatehouse"'


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (gh_…), made on the API tokens page."}
