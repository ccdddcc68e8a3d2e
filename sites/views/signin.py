"""The sign-in page: single sign-on when configured, the password form for bootstrap."""

from django.conf import settings
from django.contrib.auth import views as auth_views


class SignInView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = settings.GATEHOUSE_STAFF_OIDC_ENABLED
        context["sso_name"] = settings.GATEHOUSE_STAFF_OIDC_NAME
        return context
