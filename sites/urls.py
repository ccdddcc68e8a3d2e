from django.urls import path
from django.views.generic import RedirectView

app_name = "sites"

# The staff pages arrive with issue 4; until then the admin is the console.
urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="dashboard"),
]
