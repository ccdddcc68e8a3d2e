from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from sites.staff_auth import StaffOIDCAuthenticateView, StaffOIDCCallbackView
from sites.views.signin import SignInView

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Staff single sign-on (404 unless GATEHOUSE_STAFF_OIDC_* is configured).
    path("oidc/authenticate/", StaffOIDCAuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", StaffOIDCCallbackView.as_view(), name="oidc_authentication_callback"),
    path("admin/", admin.site.urls),
    # The REST API (sites/api/, docs/api.md): token-authenticated, JSON errors.
    path("api/", include("sites.api.urls")),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("favicon.svg"))),
    path("", include("sites.urls")),
]

# Errors Django answers before any view runs: JSON under /api/ (sites/api/errors.py), the console's pages elsewhere.
handler400 = "sites.api.errors.handler400"
handler404 = "sites.api.errors.handler404"
handler500 = "sites.api.errors.handler500"
