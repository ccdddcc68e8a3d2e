"""Share links in the console: made on the site page (the whole link shown once,
only a hash kept), listed, revoked (the config republished without it), by
role; through the API the same; their last use from the visits collector."""

import base64
import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from edge_runtime import config as edge_config
from edge_runtime import sharelinks
from sites.models import Activity, ConfigRevision, ShareLink
from sites.services.share_links import share_link_create, share_links_mark_used
from sites.services.visits import _share_link_uses, visit_from_event
from tests.console.api_support import api_as, error_of  # noqa: F401
from tests.console.pages_support import release  # noqa: F401
from tests.console.roles_support import olga, vic  # noqa: F401

pytestmark = pytest.mark.django_db

LINK_RE = re.compile(r"/_gatehouse/link/([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})")


def make(client, site, *, label="board meeting, 12 Dec", days=7):
    day = (timezone.now() + timedelta(days=days)).date().isoformat()
    return client.post(reverse("sites:share_link_add", args=[site.slug]), {"label": label, "expires_on": day})


def latest_config(site) -> dict:
    return json.loads(ConfigRevision.objects.filter(site=site).order_by("-number").first().content)


def everything_stored() -> str:
    """Every row a link could have leaked into: links, revisions, activity."""
    rows = [*ShareLink.objects.values(), *ConfigRevision.objects.values("content", "reason"), *Activity.objects.values("detail")]
    return json.dumps(rows, default=str)


def test_making_a_link_shows_it_once_and_keeps_only_its_hash(site, olga, client, config_bucket, django_capture_on_commit_callbacks):  # noqa: F811
    client.force_login(olga)
    with django_capture_on_commit_callbacks(execute=True):
        response = make(client, site)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    public_id, secret = LINK_RE.search(page).groups()
    assert "shown only this once" in page
    link = ShareLink.objects.get()
    assert (link.public_id, link.label, link.created_by) == (public_id, "board meeting, 12 Dec", olga)
    assert link.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in everything_stored()
    # Never again: the site page lists it without its secret.
    again = client.get(reverse("sites:site", args=[site.slug])).content.decode()
    assert "board meeting, 12 Dec" in again and secret not in again and LINK_RE.search(again) is None
    # Activity names it.
    assert Activity.objects.filter(verb="share_link.create", site=site, actor=olga).exists()


def test_the_published_config_lists_the_link_by_id_and_verifier_and_the_edge_accepts_it(site, olga, client, config_bucket, tasks_run_in_place, django_capture_on_commit_callbacks):  # noqa: F811
    client.force_login(olga)
    with django_capture_on_commit_callbacks(execute=True):
        page = make(client, site).content.decode()
    public_id, secret = LINK_RE.search(page).groups()
    doc = latest_config(site)
    (entry,) = doc["share_links"]
    assert entry["id"] == public_id
    assert base64.urlsafe_b64decode(entry["verifier"] + "=") == hashlib.sha256(secret.encode()).digest()
    assert secret not in json.dumps(doc)
    # What the edge would do with the link, on the config as uploaded.
    uploaded = json.loads(config_bucket.latest("demo.acme.example"))
    cfg = edge_config.parse(uploaded)
    assert sharelinks.check(cfg, f"/_gatehouse/link/{public_id}.{secret}", timezone.now().timestamp())[2] is None
    assert sharelinks.check(cfg, f"/_gatehouse/link/{public_id}.{'A' * 43}", timezone.now().timestamp())[2] is not None


def test_revoking_republishes_the_config_without_the_link(site, olga, client, config_bucket, tasks_run_in_place, django_capture_on_commit_callbacks):  # noqa: F811
    client.force_login(olga)
    with django_capture_on_commit_callbacks(execute=True):
        make(client, site)
    link = ShareLink.objects.get()
    before = ConfigRevision.objects.filter(site=site).count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sites:share_link_revoke", args=[site.slug, link.pk]))
    assert response.status_code == 302 and response["Location"].endswith("#share-links")
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == olga and link.state == "revoked"
    assert ConfigRevision.objects.filter(site=site).count() == before + 1
    assert "share_links" not in latest_config(site)
    assert "share_links" not in json.loads(config_bucket.latest("demo.acme.example"))
    assert Activity.objects.filter(verb="share_link.revoke", site=site).count() == 1
    # A second click changes nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("sites:share_link_revoke", args=[site.slug, link.pk]))
    assert ConfigRevision.objects.filter(site=site).count() == before + 1
    assert Activity.objects.filter(verb="share_link.revoke", site=site).count() == 1


def test_a_viewer_sees_the_links_but_cannot_make_or_revoke_them(site, olga, vic, client):  # noqa: F811
    share_link_create(site=site, label="q3 review", expires_at=timezone.now() + timedelta(days=3), actor=olga)
    client.force_login(vic)
    page = client.get(reverse("sites:site", args=[site.slug])).content.decode()
    assert "q3 review" in page and "Share links" in page
    assert 'id="share-link-form"' not in page and "Revoke the share link" not in page
    assert make(client, site).status_code == 403
    link = ShareLink.objects.get()
    assert client.post(reverse("sites:share_link_revoke", args=[site.slug, link.pk])).status_code == 403
    assert ShareLink.objects.get().revoked_at is None and ShareLink.objects.count() == 1


def test_an_operator_sees_the_form(site, olga, client):  # noqa: F811
    client.force_login(olga)
    page = client.get(reverse("sites:site", args=[site.slug])).content.decode()
    assert 'id="share-link-form"' in page


def test_the_expiry_is_bounded_with_an_error_beside_the_field(site, olga, client, settings):  # noqa: F811
    settings.GATEHOUSE_SHARE_LINK_MAX_DAYS = 30
    client.force_login(olga)
    response = make(client, site, days=31)
    assert response.status_code == 400
    assert "A link lasts at most 30 days" in response.content.decode()
    response = make(client, site, days=-1)
    assert response.status_code == 400 and "Pick a day from today on." in response.content.decode()
    assert not ShareLink.objects.exists()


def test_a_site_has_at_most_the_configured_number_of_active_links(site, olga, client, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.GATEHOUSE_SHARE_LINKS_MAX_ACTIVE = 2
    client.force_login(olga)

    def made(label):
        with django_capture_on_commit_callbacks(execute=True):
            return make(client, site, label=label)

    assert made("one").status_code == 200
    assert made("two").status_code == 200
    response = made("three")
    assert response.status_code == 400
    assert "This site has 2 active share links, the most it may have" in response.content.decode()
    assert ShareLink.objects.count() == 2
    # Revoked and expired links do not count.
    ShareLink.objects.filter(label="one").update(revoked_at=timezone.now())
    assert made("three").status_code == 200
    ShareLink.objects.filter(label="two").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert made("four").status_code == 200
    assert sorted(link["id"] for link in latest_config(site)["share_links"]) == sorted(
        ShareLink.objects.filter(label__in=["three", "four"]).values_list("public_id", flat=True)
    )


def test_a_site_on_an_older_edge_release_cannot_have_links(site, olga, client, release):  # noqa: F811
    release.schema_version = 2
    release.save()
    type(site).objects.filter(pk=site.pk).update(edge_release=release)
    client.force_login(olga)
    response = make(client, site)
    assert response.status_code == 400
    assert "cannot read share links" in response.content.decode()


def test_a_blank_label_is_refused(site, olga, client):  # noqa: F811
    client.force_login(olga)
    response = make(client, site, label="   ")
    assert response.status_code == 400 and not ShareLink.objects.exists()


# --- last use, from the visits collector ---------------------------------------------------------


def _event(line, timestamp_ms, event_id="e1"):
    return {"message": json.dumps(line), "timestamp": timestamp_ms, "stream": "s", "event_id": event_id}


def test_a_share_link_sign_in_line_moves_the_links_last_use(site, olga):  # noqa: F811
    link, _url = share_link_create(site=site, label="q3", expires_at=timezone.now() + timedelta(days=3), actor=olga)
    line = {"gatehouse": "signed_in", "visit": 1, "site": site.slug, "host": "demo.acme.example",
            "method": "share_link", "link": link.public_id, "sub": f"share-link:{link.public_id}"}
    now_ms = int(timezone.now().timestamp() * 1000)
    rows = [visit_from_event(_event(line, now_ms - 60_000, "a"), region="us-east-1", group="g", site_ids={site.slug: site.pk}),
            visit_from_event(_event(line, now_ms, "b"), region="us-east-1", group="g", site_ids={site.slug: site.pk})]
    _share_link_uses(rows)
    link.refresh_from_db()
    assert abs(link.last_used_at.timestamp() * 1000 - now_ms) < 2
    # An older line read later never moves it back.
    share_links_mark_used({(site.pk, link.public_id): timezone.now() - timedelta(days=1)})
    link.refresh_from_db()
    assert abs(link.last_used_at.timestamp() * 1000 - now_ms) < 2
    # Lines of other methods, or of another site, say nothing about links.
    other = dict(line, method="oidc")
    visit = visit_from_event(_event(other, now_ms + 5000, "c"), region="us-east-1", group="g", site_ids={site.slug: site.pk})
    assert visit.share_link_id == ""


# --- the API ------------------------------------------------------------------------------------


def test_the_api_makes_lists_and_revokes_links(site, olga, api_as, django_capture_on_commit_callbacks, config_bucket, tasks_run_in_place):  # noqa: F811
    api = api_as(olga)
    url = reverse("api:share_links", args=[site.slug])
    day = (timezone.now() + timedelta(days=5)).date().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {"label": "board meeting", "expires_on": day}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    public_id, secret = LINK_RE.search(body["url"]).groups()
    assert body["share_link"]["label"] == "board meeting" and body["share_link"]["state"] == "active"
    assert response["Cache-Control"] == "no-store"
    listed = api.get(url).json()
    assert [link["label"] for link in listed] == ["board meeting"]
    assert secret not in json.dumps(listed) and public_id not in json.dumps(listed)
    assert latest_config(site)["share_links"][0]["id"] == public_id
    link_id = listed[0]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        revoked = api.post(reverse("api:share_link_revoke", args=[site.slug, link_id]), format="json")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert "share_links" not in latest_config(site)


def test_the_api_refuses_what_the_page_refuses(site, olga, api_as, settings):  # noqa: F811
    settings.GATEHOUSE_SHARE_LINK_MAX_DAYS = 10
    api = api_as(olga)
    day = (timezone.now() + timedelta(days=20)).date().isoformat()
    response = api.post(reverse("api:share_links", args=[site.slug]), {"label": "x", "expires_on": day}, format="json")
    assert response.status_code == 400
    code, message = error_of(response)
    assert code == "validation_failed" and "at most 10 days" in message


def test_a_read_only_token_lists_but_cannot_make_links(site, olga, api_as):  # noqa: F811
    from sites.models import ApiToken

    api = api_as(olga, scope=ApiToken.Scope.READ)
    url = reverse("api:share_links", args=[site.slug])
    assert api.get(url).status_code == 200
    day = (timezone.now() + timedelta(days=5)).date().isoformat()
    response = api.post(url, {"label": "x", "expires_on": day}, format="json")
    assert response.status_code == 403 and error_of(response)[0] == "scope_forbidden"
    assert not ShareLink.objects.exists()


def test_the_who_viewed_card_names_a_link_by_its_label_and_says_why_a_link_was_refused(site, olga, client):  # noqa: F811
    from sites.models import Visit

    link, _url = share_link_create(site=site, label="q3 review", expires_at=timezone.now() + timedelta(days=3), actor=olga)
    now = timezone.now()
    Visit.objects.create(site=site, kind="signed_in", occurred_at=now, method="share_link",
                         subject=f"share-link:{link.public_id}", event_key="k1")
    Visit.objects.create(site=site, kind="refused", occurred_at=now, method="share_link",
                         reasons=["share link unknown or revoked"], event_key="k2")
    client.force_login(olga)
    page = client.get(reverse("sites:site", args=[site.slug])).content.decode()
    assert "share link “q3 review”" in page
    assert "The share link was revoked (or never existed)." in page


def test_the_activity_page_says_who_made_and_revoked_a_link(site, olga, client):  # noqa: F811
    from sites.services.share_links import share_link_revoke

    link, _url = share_link_create(site=site, label="q3 review", expires_at=timezone.now() + timedelta(days=3), actor=olga)
    share_link_revoke(link=link, actor=olga)
    client.force_login(olga)
    page = client.get(reverse("sites:activity")).content.decode()
    assert "olga made a share link to" in page and "olga revoked a share link to" in page
    assert "q3 review" in page


@pytest.mark.parametrize("setting, value, check_id", [
    ("GATEHOUSE_SHARE_LINKS_MAX_ACTIVE", 101, "gatehouse.E030"),
    ("GATEHOUSE_SHARE_LINKS_MAX_ACTIVE", 0, "gatehouse.E030"),
    ("GATEHOUSE_SHARE_LINK_MAX_DAYS", 0, "gatehouse.E031"),
])
def test_share_link_settings_out_of_range_fail_at_start_up(settings, setting, value, check_id):
    from sites.checks import gatehouse_settings_check

    assert check_id not in [e.id for e in gatehouse_settings_check(None)]
    setattr(settings, setting, value)
    assert check_id in [e.id for e in gatehouse_settings_check(None)]
