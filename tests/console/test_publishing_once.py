"""A change publishes its site's config exactly once, wherever it comes from; a failed publish never fails the save."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from sites import tasks
from sites.models import Activity, IdentityProvider, SessionKey
from sites.services import publishing
from tests.console.aws_support import aws  # noqa: F401
from tests.console.pages_support import fast_passwords, live_site, release, staff_client  # noqa: F401
from tests.console.test_pages_edit import _as_posted
from tests.console.test_providers import KEYS, Provider

PUBLISH_TASK = "sites.tasks.config_publish_task"


@pytest.fixture
def publishes(monkeypatch):
    """Count calls of the publish service per site, letting each one run."""
    real = publishing.config_publish
    counted = Counter()

    def counting(*, site_id, **kwargs):
        counted[site_id] += 1
        return real(site_id=site_id, **kwargs)

    monkeypatch.setattr(publishing, "config_publish", counting)
    return counted


@pytest.fixture
def local_idp():
    server = Provider()
    server.discovery()
    yield server
    server.server.shutdown()


def test_creating_a_site_with_its_key_publishes_once(provider, sent_tasks, publishes, django_capture_on_commit_callbacks):
    from sites.services.sites import site_create

    with django_capture_on_commit_callbacks(execute=True):
        site = site_create(client="Acme", name="Demo", slug="acme", hosts=["a.acme.example"], provider=provider, allow_any_user=True)
    assert publishes == {site.pk: 1}
    assert site.revisions.count() == 1


def test_several_rows_saved_in_one_transaction_publish_each_site_once(site, provider, publishes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            site.spa_mode = False
            site.save()
            SessionKey.generate(site).save()
            provider.save()  # every site of the provider
            site.disabled = True
            site.save()
    assert publishes == {site.pk: 1}
    latest = site.revisions.first()
    assert latest.number == 2 and latest.document["site"]["disabled"] is True


def test_a_rolled_back_savepoint_does_not_swallow_the_publish_of_what_committed(site, publishes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            try:
                with transaction.atomic():
                    site.spa_mode = False
                    site.save()
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
            site.disabled = True
            site.save()
    assert publishes == {site.pk: 1}


def test_two_transactions_publish_twice(site, publishes, django_capture_on_commit_callbacks):
    for value in (True, False):
        with django_capture_on_commit_callbacks(execute=True):
            site.disabled = value
            site.save()
    assert publishes == {site.pk: 2}
    assert site.revisions.count() == 3


def test_a_save_on_the_edit_page_publishes_once(staff_client, live_site, publishes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("sites:edit", args=[live_site.slug]), _as_posted(live_site, spa_mode=None))
    assert response.status_code == 302
    assert publishes == {live_site.pk: 1}


def test_signing_everyone_out_in_the_admin_publishes_once(client, site, publishes, django_user_model, django_capture_on_commit_callbacks):
    boss = django_user_model.objects.create_superuser("boss", "boss@gatehouse.example", "pw")
    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:sites_protectedsite_changelist"),
            {"action": "sign_everyone_out", "_selected_action": [site.pk]},
        )
    assert publishes == {site.pk: 1}
    assert site.revisions.first().created_by == boss


def test_a_key_rotation_found_by_the_refresh_task_publishes_each_site_once(local_idp, site, provider, publishes, django_capture_on_commit_callbacks):
    IdentityProvider.objects.filter(pk=provider.pk).update(jwks_uri=f"{local_idp.origin}/jwks")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.providers_refresh_keys.apply().get() == 1
    assert publishes == {site.pk: 1}
    assert site.revisions.first().document["provider"]["jwks"] == KEYS


def test_the_dev_seed_command_publishes_each_site_of_the_provider_it_checks_once(
    aws, local_idp, site, provider, publishes, tmp_path, django_capture_on_commit_callbacks
):
    from sites.management.commands.dev_seed import DEV_PROVIDER_NAME

    IdentityProvider.objects.filter(pk=provider.pk).update(name=DEV_PROVIDER_NAME, preset="oidc", domain="", issuer=local_idp.origin)
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "dev_seed", credentials_file=str(tmp_path / "credentials"), idp_issuer=local_idp.origin, idp_client_id="acme-client"
        )
    assert publishes == {site.pk: 1}


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_publish_error_is_recorded_and_retried_and_the_save_still_succeeds(
    staff_client, live_site, sent_tasks, monkeypatch
):
    # transaction=True: the edit really commits, so the on-commit publish runs inside the request.
    real = publishing.config_publish

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(publishing, "config_publish", broken)
    before = live_site.revisions.count()
    response = staff_client.post(reverse("sites:edit", args=[live_site.slug]), _as_posted(live_site, spa_mode=None))
    assert response.status_code == 302
    live_site.refresh_from_db()
    assert live_site.spa_mode is False  # the save committed
    assert Activity.objects.filter(site=live_site, verb="config.publish_failed", detail__startswith="RuntimeError").exists()
    assert [args[0] for args in sent_tasks.of(PUBLISH_TASK)] == [live_site.pk]
    assert live_site.revisions.count() == before

    monkeypatch.setattr(publishing, "config_publish", real)
    site_id, actor_id, reason = sent_tasks.of(PUBLISH_TASK)[0]
    revision_id = tasks.config_publish_task.apply(args=(site_id, actor_id, reason)).get()
    latest = live_site.revisions.order_by("-number").first()
    assert latest.pk == revision_id and latest.document["site"]["spa"] is False
    assert latest.created_by.get_username() == "alice"


def test_the_publish_retry_task_retries_with_its_own_policy_until_it_works(site, monkeypatch):
    # Run for real, eagerly: Celery's autoretry and max_retries, no patched apply_async.
    real = publishing.config_publish
    failures = []

    def flaky(**kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise RuntimeError("not yet")
        return real(**kwargs)

    monkeypatch.setattr(publishing, "config_publish", flaky)
    type(site).objects.filter(pk=site.pk).update(disabled=True)
    result = tasks.config_publish_task.apply(args=(site.pk, None, "retried"))
    assert result.successful() and len(failures) == 2
    assert site.revisions.first().pk == result.get()


def test_the_publish_retry_task_gives_up_after_its_retries(site, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("never")

    monkeypatch.setattr(publishing, "config_publish", broken)
    result = tasks.config_publish_task.apply(args=(site.pk, None, "x"))
    assert result.failed() and result.traceback
    assert tasks.config_publish_task.max_retries == 5
