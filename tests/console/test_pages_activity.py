"""The Activity page reads as sentences: one item per action, site names, per-site build numbers.

The chains are made by the real services, deployments driven against moto's
server, so the rows are exactly what the services record.
"""

import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from sites.context import change_context
from sites.models import Activity, Build, ProtectedSite
from sites.services import site_actions
from sites.services.provisioning import build_upload_start, site_provision_start, site_redeploy_start
from sites.services.sites import site_create
from tests.console.pages_support import bob, fast_passwords, make_zip, staff_client  # noqa: F401
from tests.console.provisioning_support import aws, drive  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _stage():
    return default_storage.save("staged-builds/test/build.zip", ContentFile(make_zip()))


def _onboard(provider, actor, *, slug, name, capture):
    """What the onboarding view does, in one request (views/onboard.py: one change context, so one chain)."""
    with capture(execute=True), change_context(actor=actor, reason="site onboarded"):
        site = site_create(actor=actor, reason="site onboarded", client="Acme", name=name, slug=slug, provider=provider, allow_any_user=True)
        provisioning = site_provision_start(site=site, actor=actor)
        upload = build_upload_start(site=site, staged_name=_stage(), actor=actor)
    return site, provisioning, upload


def _items(client, **params):
    page = client.get(reverse("sites:activity"), params).content.decode()
    return page, re.findall(r'<li class="feed-item" data-verb="([^"]+)"', page)


def _text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_each_action_is_one_sentence_with_site_names_and_per_site_build_numbers(
    aws, staff_client, provider, alice, django_capture_on_commit_callbacks, sent_tasks
):
    capture = django_capture_on_commit_callbacks
    # Another site's builds come first, so the primary keys run ahead of the numbers.
    other, provisioning, upload = _onboard(provider, alice, slug="globex-pilot", name="Globex pilot", capture=capture)
    with capture(execute=True):
        drive(provisioning), drive(upload)
    site, provisioning, upload = _onboard(provider, alice, slug="acme-q3", name="Q3 prototype", capture=capture)
    with capture(execute=True):
        drive(provisioning), drive(upload)
        drive(build_upload_start(site=site, staged_name=_stage(), actor=alice))
    first = Build.objects.get(site=site, number=1)
    assert first.pk > 1  # what the page used to call it: "build 3"
    with capture(execute=True):
        site_actions.build_make_live(site=ProtectedSite.objects.get(pk=site.pk), build=first, actor=alice)
    with capture(execute=True):
        drive(site_redeploy_start(site=site, actor=alice))

    page, verbs = _items(staff_client, site="acme-q3")
    text = _text(page)
    # One item per action, newest first, however many rows each wrote.
    assert verbs == ["site.redeploy", "build.live", "build.upload", "site.create"], verbs
    assert Activity.objects.filter(site=site).count() > 2 * len(verbs)
    assert "alice redeployed Q3 prototype" in text
    assert "alice rolled Q3 prototype back to build 1" in text
    assert "alice uploaded build 2 to Q3 prototype" in text and "build 2 is live" in text
    assert "alice onboarded Q3 prototype" in text and "build 1 is live" in text and "live at " in text
    # No machine verbs, no slugs in the sentences, no build numbers counted across sites.
    second = Build.objects.get(site=site, number=2)
    for machine in ("redeploy.done", "config.revision", "site.live", "acme-q3", f"build {second.pk}"):
        assert machine not in text
    assert f'<a href="{reverse("sites:site", args=["acme-q3"])}">Q3 prototype</a>' in page
    # The filter menu names sites too.
    assert 'name="site" value="acme-q3"' in page and ">Q3 prototype</p>" in page

    # History: a deployment's own revisions are Gatehouse's, and builds carry the site's numbers.
    history = _text(staff_client.get(reverse("sites:history", args=["acme-q3"])).content.decode())
    assert "Gatehouse, for alice distribution created" in history
    assert "Gatehouse, for alice build 2 is live" in history and f"build {second.pk} is live" not in history
    assert "alice build 1 made live" in history
    fragment = _text(staff_client.get(reverse("sites:site_deployments", args=["acme-q3"])).content.decode())
    assert f"build {second.pk}" not in fragment and "build 2 is live" in fragment


def test_automatic_rows_without_a_start_are_credited_to_gatehouse(staff_client, site, alice):
    Activity.objects.all().delete()
    Activity.record(verb="redeploy.done", site=site, actor=alice)
    page, verbs = _items(staff_client)
    assert verbs == ["redeploy.done"]
    assert 'data-who="system"' in page and "Demo · finished" in _text(page)


def test_a_settings_change_and_its_revision_are_one_item(staff_client, site, alice, django_capture_on_commit_callbacks):
    Activity.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        site_actions.site_disable(site=site, actor=alice)
    page, verbs = _items(staff_client)
    assert verbs == ["site.disable"]
    assert "alice disabled Demo" in _text(page) and "config revision 2" in _text(page)


def test_a_site_page_build_number_counts_within_the_site(staff_client, site, provider, alice):
    other = ProtectedSite.objects.create(client="Globex", name="Pilot", slug="globex", provider=provider, allow_any_user=True)
    Build.objects.create(site=other, status=Build.Status.READY)
    Build.objects.create(site=other, status=Build.Status.READY)
    mine = Build.objects.create(site=site, status=Build.Status.READY, created_by=alice)
    # The primary key counts across sites (3 or more: PostgreSQL's sequences
    # do not restart between tests); the number counts within the site.
    assert mine.number == 1 and mine.pk >= 3
    page = staff_client.get(reverse("sites:builds", args=[site.slug])).content.decode()
    assert "<strong>Build 1</strong>" in page and f"Build {mine.pk}<" not in page


def test_a_revision_a_running_deployment_publishes_joins_that_deployment_not_the_last_click(
    staff_client, site, alice, bob
):
    from datetime import timedelta

    from django.utils import timezone

    Activity.objects.all().delete()
    t0 = timezone.now() - timedelta(minutes=5)

    def row(verb, actor, seconds, detail="", *, chain):
        Activity.objects.create(
            verb=verb, site=site, site_slug=site.slug, actor=actor, detail=detail, at=t0 + timedelta(seconds=seconds), chain_id=chain
        )

    row("site.redeploy", alice, 0, chain="redeploy")
    row("site.disable", bob, 20, "site disabled", chain="disable")
    row("config.revision", bob, 20.2, "revision 4: site disabled", chain="disable")
    row("config.revision", alice, 90, "revision 5: redeployed", chain="redeploy")
    row("redeploy.done", alice, 91, chain="redeploy")
    page, verbs = _items(staff_client)
    assert verbs == ["site.disable", "site.redeploy"]
    items = re.findall(r'<li class="feed-item".*?</li>', page, re.S)
    assert "bob disabled Demo" in _text(items[0]) and "config revision 4" in _text(items[0])
    assert "alice redeployed Demo" in _text(items[1])
    assert "config revision 5" in _text(items[1]) and "finished" in _text(items[1])


def test_a_deployment_that_finishes_hours_after_its_start_is_still_one_item(
    aws, staff_client, site, alice, django_capture_on_commit_callbacks, sent_tasks
):
    from datetime import timedelta

    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=True):
        drive(site_provision_start(site=site, actor=alice))
    Activity.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        deployment = site_redeploy_start(site=site, actor=alice)
    # CloudFront (or a sweep's resume) took hours: the start is far from its end in the log.
    Activity.objects.filter(verb="site.redeploy").update(at=timezone.now() - timedelta(hours=9))
    with django_capture_on_commit_callbacks(execute=True):
        drive(deployment)
    page, verbs = _items(staff_client)
    assert verbs == ["site.redeploy"]
    assert "alice redeployed Demo" in _text(page) and "finished" in _text(page)
    assert "Demo · finished" not in _text(page)
    assert set(Activity.objects.values_list("chain_id", flat=True)) == {deployment.chain_id}


def test_two_actions_by_one_person_seconds_apart_are_two_items(staff_client, site, alice, django_capture_on_commit_callbacks):
    Activity.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        site_actions.site_disable(site=site, actor=alice)
    with django_capture_on_commit_callbacks(execute=True):
        site_actions.site_enable(site=ProtectedSite.objects.get(pk=site.pk), actor=alice)
    page, verbs = _items(staff_client)
    assert verbs == ["site.enable", "site.disable"]
    items = re.findall(r'<li class="feed-item".*?</li>', page, re.S)
    assert "config revision 3" in _text(items[0]) and "config revision 2" in _text(items[1])


def test_a_revision_an_upload_publishes_joins_that_upload_not_a_redeploy_someone_started_since(
    aws, staff_client, site, alice, bob, django_capture_on_commit_callbacks, sent_tasks
):
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        drive(site_provision_start(site=site, actor=alice))
    Activity.objects.all().delete()
    with capture(execute=True):
        upload = build_upload_start(site=site, staged_name=_stage(), actor=alice)
    with capture(execute=True):
        redeploy = site_redeploy_start(site=ProtectedSite.objects.get(pk=site.pk), actor=bob)
    with capture(execute=True):
        drive(upload)
    with capture(execute=True):
        drive(redeploy)
    revision = site.revisions.order_by("-number").first()
    assert revision.reason == f"build {upload.build_id} is live"
    page, verbs = _items(staff_client)
    assert verbs == ["site.redeploy", "build.upload"]
    items = re.findall(r'<li class="feed-item".*?</li>', page, re.S)
    assert "bob redeployed Demo" in _text(items[0]) and f"config revision {revision.number}" not in _text(items[0])
    assert "alice uploaded build 1 to Demo" in _text(items[1])
    assert f"config revision {revision.number}" in _text(items[1]) and "build 1 is live" in _text(items[1])


def test_the_site_filter_is_typed_not_a_menu_of_every_slug(staff_client, site, provider):
    """Fails on main: every slug in the log was an <option> (484 KB at 10,000 sites)."""
    for i in range(30):
        other = ProtectedSite.objects.create(client="Globex", name=f"Demo {i}", slug=f"globex-{i}", provider=provider, allow_any_user=True)
        Activity.record(verb="site.create", site=other)
    page = staff_client.get(reverse("sites:activity")).content.decode()
    assert '<input id="site" name="site"' in page
    assert 'value="globex-7"' not in page
    filtered = staff_client.get(reverse("sites:activity"), {"site": "Globex-7"}).content.decode()
    assert 'data-site="globex-7"' in filtered and 'data-site="globex-8"' not in filtered
