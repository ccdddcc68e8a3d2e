from django.contrib.auth.views import LogoutView
from django.urls import include, path
from oauth2_provider import urls as dot_urls

from devidp import views

# django-oauth-toolkit's own lists, minus its application-management pages
# and with the end-session view swapped for the dev one (same URL name, so
# discovery still finds it).
oidc_urlpatterns = [p for p in dot_urls.oidc_urlpatterns if p.name != "rp-initiated-logout"] + [
    path("logout/", views.DevLogoutView.as_view(), name="rp-initiated-logout"),
]
provider_urlpatterns = dot_urls.base_urlpatterns + oidc_urlpatterns + dot_urls.metadata_urlpatterns

urlpatterns = [
    path("o/", include((provider_urlpatterns, "oauth2_provider"), namespace="oauth2_provider")),
    path("login/", views.DevLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(next_page="/"), name="logout"),
    path("", views.home, name="home"),
]
