"""Sites through the API: the onboarding and settings forms' own rules (and the edge validator behind them)."""

import pytest
from django.urls import reverse

from sites.models import Activity, Deployment, ProtectedSite
from tests.console.api_support import api_as, error_of  # noqa: F401
from tests.console.pages_support import live_site, make_zip, release  # noqa: F401
from tests.console.roles_support import olga, vic  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_the_site_list_and_detail(api_as, vic, live_site):
    client = api_as(vic, scope="read")
    listed = client.get(reverse("api:sites")).json()
    assert listed["count"] == 1 and listed["results"][0]["slug"] == "acme-demo"
    assert listed["results"][0]["url"] == live_site.public_origin("demo.acme.example") + "/"
    detail = client.get(reverse("api:site", args=["acme-demo"])).json()
    assert detail["emails"] == ["ann@client.example"] and detail["provider"] == "Acme Auth0"
    missing = client.get(reverse("api:site", args=["nope"]))
    assert missing.status_code == 404 and error_of(missing)[0] == "not_found"


def test_the_site_list_filters_like_the_dashboard(api_as, vic, live_site):
    client = api_as(vic, scope="read")
    assert client.get(reverse("api:sites"), {"search": "acme"}).json()["count"] == 1
    assert client.get(reverse("api:sites"), {"search": "zzz"}).json()["count"] == 0


def test_a_site_is_onboarded_through_the_onboarding_form(api_as, olga, provider, release, sent_tasks, django_capture_on_commit_callbacks):
    client = api_as(olga, scope="all")
    body = {"client": "Beta", "name": "Launch", "provider": provider.pk, "email_domains": ["beta.example"]}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api:sites"), body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "beta-launch"
    site = ProtectedSite.objects.get(slug="beta-launch")
    assert site.edge_release == release and site.email_domains == ["beta.example"]
    assert Deployment.objects.filter(site=site, kind="provision").exists()
    # Created through a token: the activity log says which.
    row = Activity.objects.get(verb="site.create", site=site)
    assert row.who == f"olga's token '{row.token.name}'"


def test_onboarding_refuses_what_the_page_refuses_with_the_pages_words(api_as, olga, provider, release):
    client = api_as(olga, scope="all")
    response = client.post(reverse("api:sites"), {"client": "Beta", "name": "Launch", "provider": provider.pk}, format="json")
    assert response.status_code == 400
    code, message = error_of(response)
    assert code == "validation_failed"
    assert "Nobody could get in" in message
    assert "allow_any_user" in response.json()["error"]["fields"]
    wrong = client.post(
        reverse("api:sites"),
        {"client": "Beta", "name": "Launch", "provider": 99999, "allow_any_user": True},
        format="json",
    )
    assert wrong.status_code == 400 and "provider" in wrong.json()["error"]["fields"]


def test_onboarding_takes_a_first_build(api_as, olga, provider, release, sent_tasks, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = api_as(olga, scope="all")
    data = {"client": "Beta", "name": "Zipped", "provider": provider.pk, "allow_any_user": "true",
            "build": SimpleUploadedFile("site.zip", make_zip(), content_type="application/zip")}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api:sites"), data, format="multipart")
    assert response.status_code == 201, response.content
    assert Deployment.objects.filter(site__slug="beta-zipped", kind="build").exists()


def test_access_rules_are_patched_through_the_edit_form(api_as, olga, live_site, sent_tasks):
    client = api_as(olga, scope="all")
    url = reverse("api:site_access", args=[live_site.slug])
    assert client.get(url).json()["email_domains"] == ["consultancy.example"]
    response = client.patch(url, {"emails": ["Bea@Client.example"], "reason": "let Bea in"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["changed"] == ["emails"]
    live_site.refresh_from_db()
    assert live_site.emails == ["bea@client.example"]
    assert live_site.email_domains == ["consultancy.example"]  # not named: unchanged


def test_an_access_rule_the_edge_refuses_is_a_field_error(api_as, olga, live_site):
    client = api_as(olga, scope="all")
    url = reverse("api:site_access", args=[live_site.slug])
    response = client.patch(url, {"emails": ["ann@bücher.example"]}, format="json")
    assert response.status_code == 400
    assert "xn--bcher-kva.example" in response.json()["error"]["fields"]["emails"][0]
    bad_path = client.patch(url, {"public_paths": ["/assets/*"]}, format="json")
    assert "not a wildcard" in error_of(bad_path)[1]


def test_the_access_window(api_as, olga, live_site, sent_tasks):
    client = api_as(olga, scope="all")
    url = reverse("api:site_access_window", args=[live_site.slug])
    response = client.patch(url, {"not_after": "2099-01-31"}, format="json")
    assert response.status_code == 200, response.content
    live_site.refresh_from_db()
    assert live_site.not_after.isoformat().startswith("2099-01-31T23:59:59")
    past = client.patch(url, {"not_after": "2001-01-01"}, format="json")
    assert past.status_code == 400 and "Pick a day from today on" in error_of(past)[1]
    cleared = client.patch(url, {"not_after": None}, format="json")
    assert cleared.status_code == 200
    live_site.refresh_from_db()
    assert live_site.not_after is None


def test_redeploy_and_deployments(api_as, olga, live_site, sent_tasks):
    client = api_as(olga, scope="all")
    started = client.post(reverse("api:site_redeploy", args=[live_site.slug]))
    assert started.status_code == 202 and started.json()["kind"] == "redeploy"
    listed = client.get(reverse("api:deployments", args=[live_site.slug])).json()
    assert [d["id"] for d in listed] == [started.json()["id"]]
    one = client.get(reverse("api:deployment", args=[started.json()["id"]])).json()
    assert one["status"] == "queued" and one["site"] == live_site.slug


def test_edge_releases_are_read(api_as, vic, live_site, release):
    client = api_as(vic, scope="read")
    listed = client.get(reverse("api:releases")).json()
    assert listed[0]["version"] == release.version and listed[0]["site_count"] == 1
    assert client.get(reverse("api:release", args=[release.pk])).json()["version"] == release.version


def test_errors_are_json_with_a_code(api_as, olga, live_site):
    client = api_as(olga, scope="all")
    response = client.post(reverse("api:deploys", args=[live_site.slug]), "{not json", content_type="application/json")
    assert response.status_code == 400 and error_of(response)[0] == "malformed_request"
    response = client.patch(reverse("api:site_access", args=[live_site.slug]), [1, 2], format="json")
    assert response.status_code == 400 and error_of(response)[0] in ("malformed_request", "validation_failed")


def test_the_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    import json

    schema = json.loads(response.content)
    assert "/api/v1/sites/{slug}/deploys/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
