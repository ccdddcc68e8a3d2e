"""Every API error is JSON, {"error": {"code", "message"}}, with a stable code: from a view, and from Django before any view runs."""

import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from tests.console.api_support import api_as, client_with, make_token  # noqa: F401
from tests.console.pages_support import live_site, release  # noqa: F401
from tests.console.roles_support import olga, vic  # noqa: F401

pytestmark = pytest.mark.django_db


def error(response, status: int, code: str) -> str:
    """The message, once the answer is that status, as JSON, with that code."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"].strip()
    return body["error"]["message"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing-here/", "/api/v1/sites/not a slug/", "/api/v1/deployments/-1/", "/api/v1/releases/x/", "/api/"],
)
def test_an_address_the_api_does_not_have_is_a_json_404(api_as, vic, path):
    message = error(api_as(vic, scope="read").get(path), 404, "not_found")
    assert "/api/schema/" in message


def test_a_page_outside_the_api_is_still_the_consoles_own_404(client, vic):
    client.force_login(vic)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_no_such_site_is_a_json_404(api_as, vic, live_site):
    error(api_as(vic, scope="read").get(reverse("api:site", args=["nope"])), 404, "not_found")


def test_a_method_an_address_does_not_take_is_405_with_allow(api_as, vic, live_site):
    response = api_as(vic, scope="read").delete(reverse("api:sites"))
    error(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_options_is_405_as_the_schema_says(api_as, vic, live_site):
    error(api_as(vic, scope="read").options(reverse("api:site", args=[live_site.slug])), 405, "method_not_allowed")


def test_a_body_of_another_type_is_415(api_as, olga, live_site):
    response = api_as(olga).post(reverse("api:deploys", args=[live_site.slug]), "files=1", content_type="text/plain")
    assert "text/plain" in error(response, 415, "unsupported_media_type")


def test_a_zip_upload_sent_as_json_is_415(api_as, olga, live_site):
    response = api_as(olga).post(reverse("api:builds", args=[live_site.slug]), {"build": "x"}, format="json")
    error(response, 415, "unsupported_media_type")


def test_json_that_does_not_parse_is_400_malformed_request(api_as, olga, live_site):
    response = api_as(olga).post(
        reverse("api:deploys", args=[live_site.slug]), '{"files": [', content_type="application/json"
    )
    assert "JSON" in error(response, 400, "malformed_request")


def test_json_that_is_not_an_object_is_400_malformed_request(api_as, olga, live_site):
    response = api_as(olga).patch(reverse("api:site_access", args=[live_site.slug]), "[1, 2]", content_type="application/json")
    error(response, 400, "malformed_request")


def test_a_client_that_will_not_take_json_is_406(api_as, vic, live_site):
    error(api_as(vic, scope="read").get(reverse("api:sites"), HTTP_ACCEPT="text/html"), 406, "not_acceptable")


def test_a_query_parameter_out_of_range_is_400_naming_it(api_as, vic, live_site):
    client = api_as(vic, scope="read")
    for query in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"offset": "-1"}):
        response = client.get(reverse("api:sites"), query)
        name = next(iter(query))
        assert name in error(response, 400, "validation_failed")
        assert name in response.json()["error"]["fields"]
    assert client.get(reverse("api:sites"), {"limit": "1", "offset": "0"}).status_code == 200


def test_an_invalid_item_in_a_list_says_which_item(api_as, olga, live_site):
    response = api_as(olga).patch(
        reverse("api:site_access", args=[live_site.slug]), {"emails": ["a@b.example", "bad\x00"]}, format="json"
    )
    error(response, 400, "validation_failed")
    assert response.json()["error"]["fields"]["emails"] == ["item 2: Null characters are not allowed."]


def test_a_body_too_large_to_read_is_413(api_as, olga, live_site, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_as(olga).post(reverse("api:sites"), {"client": "x" * 2000, "name": "n"}, format="multipart")
    assert "manifest deploy" in error(response, 413, "request_too_large")


def test_too_many_requests_with_one_token_is_429_with_retry_after(olga, live_site, settings):
    settings.GATEHOUSE_API_RATE = "3/min"
    cache.clear()
    _token, secret = make_token(olga, scope="read")
    client = client_with(secret)
    assert [client.get(reverse("api:sites")).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(reverse("api:sites"))
    error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # Another token has its own count.
    _other, other_secret = make_token(olga, scope="read", name="other")
    assert client_with(other_secret).get(reverse("api:sites")).status_code == 200


def test_an_unexpected_failure_is_a_json_500_that_tells_nothing_of_the_cause(api_as, vic, live_site, monkeypatch):
    from sites import selectors

    def broken(**kwargs):
        raise RuntimeError("secret internals: db password hunter2")

    monkeypatch.setattr(selectors, "site_list", broken)
    _token, secret = make_token(vic, scope="read")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.get(reverse("api:sites"))
    message = error(response, 500, "server_error")
    assert "hunter2" not in response.content.decode() and "RuntimeError" not in message


def test_every_error_code_the_api_gives_is_in_the_docs():
    """docs/api.md's table of codes holds every code the API's sources name (scripts branch on them)."""
    root = Path(__file__).resolve().parents[2]
    sources = [*root.joinpath("sites/api").glob("*.py"), root / "sites/services/provisioning/manifest_deploy.py"]
    named = set()
    for source in sources:
        named |= set(re.findall(r'\bcode\s*=\s*"([a-z_]+)"', source.read_text()))
        named |= set(re.findall(r'default_code\s*=\s*"([a-z_]+)"', source.read_text()))
    named |= {"not_found", "method_not_allowed", "unsupported_media_type", "not_acceptable", "throttled", "not_authenticated"}
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", root.joinpath("docs/api.md").read_text(), re.MULTILINE))
    assert named - documented == set()
