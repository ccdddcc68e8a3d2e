from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator

from devidp.personas import CONSOLE_CLIENT_ID
from devidp.redirects import is_dev_callback, is_dev_console_callback

# Some real providers (Entra ID without optional claims, Okta's org server for
# groups, several Keycloak mappers) put these only in the userinfo response.
USERINFO_ONLY_CLAIMS = ("email", "email_verified", "groups")


def _groups(request):
    return sorted(request.user.groups.values_list("name", flat=True))


def _email_verified(request):
    profile = getattr(request.user, "devidp_profile", None)
    return bool(profile and profile.email_verified)


class DevOAuth2Validator(OAuth2Validator):
    # Like Cognito's groups claim, released with plain "openid" rather than
    # behind a scope a relying party might not think of asking for.
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "openid"}

    def get_additional_claims(self):
        # The request-agnostic form (callables) also lists the claims in discovery.
        return {
            "name": lambda request: request.user.get_full_name() or request.user.username,
            "preferred_username": lambda request: request.user.username,
            "email": lambda request: request.user.email,
            "email_verified": _email_verified,
            "groups": _groups,
        }

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        if settings.CLAIMS_IN_USERINFO_ONLY:
            for name in USERINFO_ONLY_CLAIMS:
                claims.pop(name, None)
        return claims, expiration_time

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        # DEV ONLY: see devidp.redirects. The token endpoint still requires the
        # exact redirect_uri the code was issued for (confirm_redirect_uri).
        if client_id == CONSOLE_CLIENT_ID:
            # The console's client comes back only to the console's callback.
            return is_dev_console_callback(redirect_uri) or super().validate_redirect_uri(
                client_id, redirect_uri, request, *args, **kwargs
            )
        if is_dev_callback(redirect_uri):
            return True
        return super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs)
