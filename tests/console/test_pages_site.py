"""The site page and its actions, builds, and edge releases."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from sites.models import Activity, Build, Deployment, DeploymentStep, EdgeRelease, ProtectedSite
from tests.console.conftest import CLIENT_SECRET
from tests.console.pages_support import fast_passwords, live_site, make_zip, provisioning_calls, release, staff_client  # noqa: F401


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _url(name, site, *args):
    return reverse(f"sites:{name}", args=[site.slug, *args])


def _post(client, url, data=None, *, capture):
    with capture(execute=True):
        return client.post(url, data or {})


def test_the_site_page_shows_what_to_register_and_masks_secrets(staff_client, live_site):
    # Live means serving a build (issue 8): give the site the build provisioning uploads.
    build = Build.objects.create(site=live_site, status=Build.Status.READY, prefix="builds/1")
    ProtectedSite.objects.filter(pk=live_site.pk).update(live_build=build)
    page = staff_client.get(_url("site", live_site)).content.decode()
    for host in ("demo.acme.example", "d1234abcd.cloudfront.net"):
        assert live_site.callback_url(host) in page
        assert live_site.signed_out_url(host) in page
    assert page.count('aria-label="Copy callback URL') == 2
    assert "demo.acme.example. CNAME d1234abcd.cloudfront.net." in page
    assert 'href="http://demo.acme.example:8080/"' in page
    assert 'data-status="live"' in page
    assert CLIENT_SECRET not in page and live_site.provider.client_secret_encrypted not in page
    key = live_site.current_session_key()
    assert key.kid in page and key.secret not in page


def test_deployments_update_from_a_small_endpoint(staff_client, live_site, alice):
    deployment = Deployment.objects.create(site=live_site, kind=Deployment.Kind.REDEPLOY, status="running", started_by=alice)
    DeploymentStep.objects.create(deployment=deployment, name="Invalidate cache", status="running", message="waiting")
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert f'data-live-url="{_url("site_deployments", live_site)}"' in page
    fragment = staff_client.get(_url("site_deployments", live_site)).content.decode()
    assert 'data-deployment-status="running"' in fragment and "Invalidate cache" in fragment
    assert "<html" not in fragment
    data = staff_client.get(_url("site_deployments", live_site), {"format": "json"}).json()
    assert data["deployments"][0]["status"] == "running"
    assert data["deployments"][0]["steps"][0] == {
        "name": "Invalidate cache", "status": "running", "message": "waiting", "started_at": None, "finished_at": None,
    }


def test_redeploy_starts_the_service_as_the_signed_in_person(staff_client, live_site, alice, provisioning_calls):
    response = staff_client.post(_url("redeploy", live_site))
    assert response.status_code == 302 and response["Location"].endswith("#deployments")
    assert provisioning_calls == [("site_redeploy_start", {"site": live_site, "actor": alice})]


def test_sign_everyone_out_replaces_every_key(staff_client, live_site, django_capture_on_commit_callbacks):
    old = live_site.current_session_key()
    _post(staff_client, _url("sign_everyone_out", live_site), capture=django_capture_on_commit_callbacks)
    old.refresh_from_db()
    assert old.retired_at is not None
    assert live_site.session_keys.filter(retired_at=None).count() == 1
    revision = live_site.revisions.order_by("-number").first()
    assert revision.reason == "everyone signed out" and revision.created_by.get_username() == "alice"


def test_disable_and_enable_publish_the_switch(staff_client, live_site, django_capture_on_commit_callbacks):
    _post(staff_client, _url("disable", live_site), capture=django_capture_on_commit_callbacks)
    latest = live_site.revisions.order_by("-number").first()
    assert latest.document["site"]["disabled"] is True and latest.reason == "site disabled"
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert "Enable site" in page and 'data-status="disabled"' in page
    _post(staff_client, _url("enable", live_site), capture=django_capture_on_commit_callbacks)
    assert live_site.revisions.order_by("-number").first().document["site"]["disabled"] is False


def test_extend_access_moves_the_expiry(staff_client, live_site, django_capture_on_commit_callbacks):
    # An end to extend: on a site with no end date any day shortens access (see below).
    ProtectedSite.objects.filter(pk=live_site.pk).update(not_after=timezone.now() + timedelta(days=3))
    day = (timezone.now() + timedelta(days=30)).date()
    _post(staff_client, _url("extend", live_site), {"not_after": day.isoformat()}, capture=django_capture_on_commit_callbacks)
    live_site.refresh_from_db()
    assert live_site.not_after.date() == day
    assert live_site.revisions.order_by("-number").first().document["access"]["not_after"] == f"{day.isoformat()}T23:59:59Z"
    assert Activity.objects.filter(verb="site.extend", actor__username="alice").exists()


def test_extend_access_refuses_a_day_in_the_past(staff_client, live_site):
    response = staff_client.post(_url("extend", live_site), {"not_after": date(2001, 1, 1).isoformat()})
    assert response.status_code == 400
    assert "Pick a day from today on." in response.content.decode()


def test_extend_access_on_a_site_with_no_end_date_keeps_it_and_says_so(staff_client, live_site):
    # Fails on main: the field was prefilled with a day a week out, so one click ended open access.
    page = staff_client.get(_url("site", live_site)).content.decode()
    extend = page.split('id="action-extend"', 1)[1].split("</form>", 1)[0]
    assert "Access ends now: <strong>no end date</strong>" in extend
    assert re.search(r'<input type="date" name="not_after"(?![^>]*value=)[^>]*>', extend)


def test_extend_access_shows_the_current_end_beside_the_field(staff_client, live_site):
    ProtectedSite.objects.filter(pk=live_site.pk).update(not_after=datetime(2031, 5, 20, 23, 59, 59, tzinfo=UTC))
    page = staff_client.get(_url("site", live_site)).content.decode()
    extend = page.split('id="action-extend"', 1)[1].split("</form>", 1)[0]
    assert "20 May 2031" in extend.split("Access ends now:", 1)[1].split("</p>", 1)[0]
    assert 'value="2031-05-27"' in extend


@pytest.mark.parametrize("current", [None, timedelta(days=30)])
def test_extend_access_never_silently_moves_the_end_earlier(staff_client, live_site, current, django_capture_on_commit_callbacks):
    # Fails on main: an earlier day (or any day on a site with no end) was saved as an "extension".
    end = timezone.now() + current if current else None
    ProtectedSite.objects.filter(pk=live_site.pk).update(not_after=end)
    day = (timezone.now() + timedelta(days=7)).date()
    response = staff_client.post(_url("extend", live_site), {"not_after": day.isoformat()})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'<p class="error" id="id_not_after_error">This ends access earlier than now', page)
    assert 'name="shorten"' in page
    live_site.refresh_from_db()
    assert live_site.not_after == end

    # Shortening on purpose: ticked, it goes through and says so.
    response = _post(staff_client, _url("extend", live_site), {"not_after": day.isoformat(), "shorten": "on"},
                     capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    live_site.refresh_from_db()
    assert live_site.not_after.date() == day
    assert "(shortened)" in staff_client.get(response["Location"]).content.decode()


def test_a_refused_build_upload_keeps_nothing_staged_and_says_why(staff_client, live_site, provisioning_calls):
    upload = SimpleUploadedFile("site.zip", make_zip({"readme.txt": "x"}))
    response = staff_client.post(_url("build_upload", live_site), {"build": upload})
    assert response.status_code == 400
    assert "no index.html at its top level" in response.content.decode()
    assert provisioning_calls == []


def test_a_live_site_without_a_build_says_what_a_viewer_gets(staff_client, live_site, alice):
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert '<div class="site-status" aria-label="Status"><span class="badge tone-warn" data-status="no_build">no build</span>' in page
    assert "a viewer who signs in gets an error page" in page
    Deployment.objects.create(site=live_site, kind=Deployment.Kind.BUILD, status="running", started_by=alice)
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert 'data-status="uploading">live, build uploading</span>' in page
    assert "the build is still uploading" in page and "none yet: the first build is still uploading" in page
    build = Build.objects.create(site=live_site, status=Build.Status.READY, prefix="builds/1")
    ProtectedSite.objects.filter(pk=live_site.pk).update(live_build=build)
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert 'data-status="live">live</span>' in page and "none yet" not in page.split("Live build", 1)[1].split("</dd>", 1)[0]


def test_finished_deployments_fold_to_one_line_and_a_running_one_stays_open(staff_client, live_site, alice):
    done = Deployment.objects.create(site=live_site, kind=Deployment.Kind.REDEPLOY, status="succeeded", started_by=alice,
                                     message="CloudFront is applying the settings (a few minutes)")
    DeploymentStep.objects.create(deployment=done, name="CloudFront settings", status="succeeded",
                                  message="settings re-applied with arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:3")
    running = Deployment.objects.create(site=live_site, kind=Deployment.Kind.BUILD, status="running", started_by=alice)
    fragment = staff_client.get(_url("site_deployments", live_site)).content.decode()
    blocks = dict(re.findall(r'data-deployment-id="(\d+)"[^>]*>\s*(?:\{#.*?#\}\s*)?<details\s*(open)?>', fragment, re.S))
    assert blocks == {str(running.pk): "open", str(done.pk): ""}
    assert "<summary" in fragment
    # "Succeeded" never sits beside "CloudFront is applying the settings".
    assert "CloudFront is applying the settings" not in fragment


def test_the_local_stand_in_is_not_promised_as_cloudfront_minutes(staff_client, live_site, settings):
    settings.GATEHOUSE_AWS_ENDPOINT_URL = "http://127.0.0.1:5000"
    ProtectedSite.objects.filter(pk=live_site.pk).update(status=ProtectedSite.Status.PROVISIONING)
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert "5 to 15 minutes" not in page and "the local stand-in takes a few seconds" in page
    settings.GATEHOUSE_AWS_ENDPOINT_URL = None
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert "CloudFront usually takes 5 to 15 minutes" in page


def test_dashboard_addresses_are_links_and_every_page_names_a_favicon(staff_client, live_site, client):
    page = staff_client.get(reverse("sites:dashboard")).content.decode()
    # The dashboard agrees with the site page about a live site that serves no build.
    assert 'data-status="no_build">no build</span>' in page
    assert '<a href="http://demo.acme.example:8080/" target="_blank" rel="noopener">demo.acme.example</a>' in page
    assert '<a href="http://d1234abcd.cloudfront.net:8080/" target="_blank" rel="noopener">d1234abcd.cloudfront.net</a>' in page
    assert 'rel="icon" href="/static/favicon.svg"' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"


def test_a_bad_zip_from_the_builds_tab_stays_on_the_builds_tab_with_the_error_beside_the_file(
    staff_client, live_site, provisioning_calls
):
    upload = SimpleUploadedFile("site.zip", b"not a zip at all")
    response = staff_client.post(_url("build_upload", live_site), {"build": upload, "from": "builds"})
    assert response.status_code == 400
    assert response.templates[0].name == "sites/builds.html"
    page = response.content.decode()
    assert '<a href="%s" aria-current="page">Builds</a>' % _url("builds", live_site) in page
    field = re.search(r'<div class="field has-error"[^>]*id="row-build">(.*?)</div>', page, re.S)
    assert field and 'type="file"' in field[1] and 'class="error"' in field[1]
    assert provisioning_calls == []


def test_a_build_upload_is_staged_and_started(staff_client, live_site, alice, provisioning_calls):
    upload = SimpleUploadedFile("v2.zip", make_zip())
    response = staff_client.post(_url("build_upload", live_site), {"build": upload})
    assert response.status_code == 302
    [(name, kwargs)] = provisioning_calls
    assert name == "build_upload_start" and kwargs["site"] == live_site and kwargs["actor"] == alice
    assert kwargs["staged_name"].endswith("/v2.zip")


def test_make_live_is_an_instant_rollback(staff_client, live_site, alice, django_capture_on_commit_callbacks):
    first = Build.objects.create(site=live_site, created_by=alice, status=Build.Status.READY, prefix="builds/1", file_count=3, total_bytes=2048)
    Build.objects.create(site=live_site, created_by=alice, status=Build.Status.READY, prefix="builds/2")
    page = staff_client.get(_url("builds", live_site)).content.decode()
    assert f'aria-label="Make live: build {first.number}"' in page and "2.0\xa0KB" in page
    _post(staff_client, _url("build_make_live", live_site, first.pk), capture=django_capture_on_commit_callbacks)
    live_site.refresh_from_db()
    assert live_site.live_build == first
    assert live_site.revisions.order_by("-number").first().document["site"]["build"] == {"id": first.config_id, "prefix": "builds/1"}


def test_a_build_that_is_not_uploaded_cannot_go_live(staff_client, live_site, alice):
    build = Build.objects.create(site=live_site, created_by=alice, status=Build.Status.UPLOADING)
    response = staff_client.post(_url("build_make_live", live_site, build.pk), follow=True)
    assert "only an uploaded build can go live" in response.content.decode()
    live_site.refresh_from_db()
    assert live_site.live_build is None


def test_delete_needs_the_site_id_typed(staff_client, live_site, provisioning_calls):
    response = staff_client.post(_url("delete", live_site), {"confirm": "acme"})
    assert response.status_code == 200
    assert "Type acme-demo exactly" in response.content.decode()
    assert provisioning_calls == []
    response = staff_client.post(_url("delete", live_site), {"confirm": "acme-demo"})
    assert response.status_code == 302 and response["Location"] == reverse("sites:dashboard")
    assert [name for name, _ in provisioning_calls] == ["site_teardown_start"]


def test_move_release_offers_the_other_published_releases(staff_client, live_site, release, alice, provisioning_calls):
    newer = EdgeRelease.objects.create(version="2026.11.2", zip_sha256="cd" * 32, status=EdgeRelease.Status.PUBLISHED, published_at=timezone.now())
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert "2026.11.2" in page
    staff_client.post(_url("move_release", live_site), {"edge_release": newer.pk})
    assert provisioning_calls == [("site_move_release", {"site": live_site, "release": newer, "actor": alice})]


def test_releases_show_size_hash_sites_and_the_function_limit(staff_client, live_site, release):
    page = staff_client.get(reverse("sites:releases")).content.decode()
    assert release.version in page and release.zip_sha256[:16] in page
    assert "gatehouse-edge: 1 of 500 sites" in page
    assert "Publish new release" in page


def test_roll_out_goes_to_one_site_before_all(staff_client, live_site, release, provider, alice, provisioning_calls):
    newer = EdgeRelease.objects.create(version="2026.11.2", zip_sha256="cd" * 32, status=EdgeRelease.Status.PUBLISHED, published_at=timezone.now())
    other = ProtectedSite.objects.create(client="Globex", name="Demo", slug="globex", provider=provider, allow_any_user=True, edge_release=release)
    url = reverse("sites:release_rollout", args=[newer.pk])
    response = staff_client.post(url, {"scope": "all"}, follow=True)
    assert "Roll it out to one site first" in response.content.decode()
    assert provisioning_calls == []
    staff_client.post(url, {"scope": "one", "site": live_site.slug})
    assert provisioning_calls == [("site_move_release", {"site": live_site, "release": newer, "actor": alice})]
    ProtectedSite.objects.filter(pk=live_site.pk).update(edge_release=newer)
    staff_client.post(url, {"scope": "all"})
    assert provisioning_calls[-1] == ("rollout_start", {"release": newer, "actor": alice})
    assert other.slug  # moved by the worker, in batches (test_rollout.py)


def test_roll_out_progress_is_per_site(staff_client, live_site, release, alice):
    Deployment.objects.create(site=live_site, kind=Deployment.Kind.EDGE_RELEASE, edge_release=release, status="running", started_by=alice)
    fragment = staff_client.get(reverse("sites:release_progress", args=[release.pk])).content.decode()
    assert 'data-deployment-status="running"' in fragment and live_site.slug in fragment


def test_the_dashboard_flags_expired_and_expiring_access(staff_client, live_site, provider):
    ProtectedSite.objects.create(client="Globex", name="Old", slug="globex-old", provider=provider, allow_any_user=True, not_after=timezone.now() - timedelta(days=1))
    ProtectedSite.objects.filter(pk=live_site.pk).update(not_after=timezone.now() + timedelta(days=2))
    page = staff_client.get(reverse("sites:dashboard")).content.decode()
    assert 'class="row-expired"' in page and 'class="row-expiring"' in page
    filtered = staff_client.get(reverse("sites:dashboard"), {"status": "expired"}).content.decode()
    assert "globex-old" in filtered and 'data-site="acme-demo"' not in filtered
    searched = staff_client.get(reverse("sites:dashboard"), {"q": "d1234abcd"}).content.decode()
    assert 'data-site="acme-demo"' in searched and "globex-old" not in searched


def test_empty_states_say_what_to_do_next(staff_client, db):
    assert "Onboard a client demo" in staff_client.get(reverse("sites:dashboard")).content.decode()
    assert "Publish the first release" in staff_client.get(reverse("sites:releases")).content.decode()


def test_redeploy_with_the_real_service_records_a_deployment_and_enqueues_it(staff_client, live_site, alice, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_url("redeploy", live_site))
    assert response.status_code == 302
    deployment = Deployment.objects.get(site=live_site, kind=Deployment.Kind.REDEPLOY)
    assert deployment.started_by == alice
    assert any(deployment.pk in args for args in (a for _, a, _ in sent_tasks))
    fragment = staff_client.get(_url("site_deployments", live_site)).content.decode()
    assert f'data-deployment-id="{deployment.pk}"' in fragment


def test_the_site_page_shows_the_viewer_sign_out_address_and_how_an_spa_links_to_it(staff_client, live_site):
    # Fails on main: the page listed only the addresses to register.
    page = staff_client.get(_url("site", live_site)).content.decode()
    block = page[page.index('id="viewer-sign-out"'):]
    block = block[: block.index("</div>\n    </div>") if "</div>\n    </div>" in block else 2000]
    assert live_site.sign_out_url() in block
    assert "/_gatehouse/sign-out" in block
    assert "single-page app" in block and "window.location.assign" in block
    # Next to the addresses to register, in the same card.
    register = page[page.index('id="register-h"'):page.index('id="deployments-h"')]
    assert 'id="viewer-sign-out"' in register


def test_the_site_page_shows_the_token_algorithms_and_the_email_proof(staff_client, live_site):
    page = staff_client.get(_url("site", live_site)).content.decode()
    assert '<dd id="site-algs">RS256</dd>' in page
    assert "email_verified: true" in page
