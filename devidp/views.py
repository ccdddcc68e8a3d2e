from django.conf import settings
from django.contrib.auth.views import LoginView
from django.shortcuts import render
from oauth2_provider.views import RPInitiatedLogoutView

from devidp import personas
from devidp.redirects import is_dev_post_logout


class DevLoginView(LoginView):
    template_name = "devidp/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(personas=personas, **kwargs)


class DevLogoutView(RPInitiatedLogoutView):
    def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
        # DEV ONLY: any page of a local site may be the post-logout address, for
        # the same reason as the redirect rule in devidp.redirects. The client
        # must still be known.
        if application is not None and is_dev_post_logout(post_logout_redirect_uri):
            return
        super().validate_post_logout_redirect_uri(application, post_logout_redirect_uri)


def home(request):
    return render(request, "devidp/home.html", {"issuer": settings.ISSUER, "personas": personas})
