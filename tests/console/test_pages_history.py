"""Config history: readable diffs that never show a secret, and restores that never bring one back."""

import re

import pytest
from django.urls import reverse

from sites.context import change_context
from sites.crypto import FINGERPRINT_PREFIX
from sites.services.keys import session_keys_revoke
from tests.console.conftest import CLIENT_SECRET
from tests.console.pages_support import fast_passwords, staff_client  # noqa: F401


@pytest.fixture
def publish(django_capture_on_commit_callbacks, alice):
    """Run a change the way a view does: as alice, published on commit."""

    def run(change, reason="test change"):
        with django_capture_on_commit_callbacks(execute=True), change_context(actor=alice, reason=reason):
            change()

    return run


def _rows(html: str) -> dict[str, dict]:
    rows = {}
    for match in re.finditer(r'<tr data-change="(\w+)" data-path="([^"]+)"(?: data-secret="(\w+)")?>(.*?)</tr>', html, re.S):
        rows.setdefault(match[2], {"change": match[1], "secret": match[3], "html": match[4]})
    return rows


def test_a_diff_shows_what_changed_and_who_did_it(staff_client, site, publish):
    def change():
        site.emails = ["ann@client.example", "bo@client.example"]
        site.save()

    publish(change, reason="Bo joins the demo")
    history = staff_client.get(reverse("sites:history", args=[site.slug])).content.decode()
    assert "Bo joins the demo" in history and "alice" in history

    page = staff_client.get(reverse("sites:history", args=[site.slug]), {"from": 1, "to": 2}).content.decode()
    rows = _rows(page)
    assert rows["access.emails"]["change"] == "changed"
    assert "bo@client.example" in rows["access.emails"]["html"]
    assert rows["provider.client_secret"] == {"change": "unchanged", "secret": "unchanged", "html": rows["provider.client_secret"]["html"]}
    assert "secret <strong>unchanged</strong>" in rows["provider.client_secret"]["html"]


def test_secrets_show_only_as_changed_or_unchanged(staff_client, site, provider, publish):
    def new_secret():
        provider.client_secret = "a-brand-new-client-secret"
        provider.save()

    publish(new_secret)
    revoked = []
    publish(lambda: revoked.append(session_keys_revoke(site=site)))
    numbers = list(site.revisions.order_by("number").values_list("number", flat=True))
    assert numbers == [1, 2, 3]

    page = staff_client.get(reverse("sites:history", args=[site.slug]), {"from": 1, "to": 3}).content.decode()
    rows = _rows(page)
    assert rows["provider.client_secret"]["secret"] == "changed"
    assert "secret <strong>changed</strong>" in rows["provider.client_secret"]["html"]
    new_kid = revoked[0].kid
    assert rows[f"session.keys.{new_kid}"]["secret"] == "added"
    assert any(row["secret"] == "removed" for path, row in rows.items() if path.startswith("session.keys."))
    # Neither a secret nor its fingerprint is ever on the page.
    assert CLIENT_SECRET not in page and "a-brand-new-client-secret" not in page
    assert FINGERPRINT_PREFIX not in page
    assert revoked[0].secret not in page


def test_restore_brings_back_settings_but_never_an_old_secret(staff_client, site, provider, publish, django_capture_on_commit_callbacks):
    original = site.revisions.get(number=1).document

    def loosen():
        site.emails = []
        site.allow_any_user = True
        site.session_lifetime = 3600
        site.save()

    publish(loosen)
    publish(lambda: session_keys_revoke(site=site))

    def rotate_secret():
        provider.client_secret = "the-current-client-secret"
        provider.save()

    publish(rotate_secret)
    current = site.revisions.order_by("-number").first().document

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("sites:revision_restore", args=[site.slug, 1]), follow=True)
    assert response.status_code == 200
    assert "publish as a new revision" in response.content.decode()

    restored = site.revisions.order_by("-number").first()
    assert restored.reason == "restored revision 1"
    assert restored.created_by.get_username() == "alice"
    doc = restored.document
    assert doc["access"] == original["access"]
    assert doc["session"]["lifetime_seconds"] == original["session"]["lifetime_seconds"]
    # Keys and secrets are today's, not revision 1's.
    assert doc["session"]["keys"] == current["session"]["keys"]
    assert doc["session"]["current_kid"] == current["session"]["current_kid"]
    assert set(doc["session"]["keys"]).isdisjoint(original["session"]["keys"])
    assert doc["provider"]["client_secret"] == current["provider"]["client_secret"] != original["provider"]["client_secret"]


def test_restoring_the_settings_the_site_already_has_makes_no_revision(staff_client, site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("sites:revision_restore", args=[site.slug, 1]), follow=True)
    assert "nothing to restore" in response.content.decode()
    assert site.revisions.count() == 1


def test_an_unknown_revision_in_a_diff_is_reported(staff_client, site):
    response = staff_client.get(reverse("sites:history", args=[site.slug]), {"from": 1, "to": 99})
    assert response.status_code == 200
    assert "does not exist" in response.content.decode()


def test_restore_first_shows_what_would_change_and_changes_nothing(staff_client, site, publish):
    def loosen():
        site.emails = []
        site.allow_any_user = True
        site.session_lifetime = 3600
        site.save()

    publish(loosen)
    history = staff_client.get(reverse("sites:history", args=[site.slug])).content.decode()
    confirm_url = reverse("sites:revision_restore_confirm", args=[site.slug, 1])
    # The history offers a link to the preview, not a one-click POST.
    assert f'href="{confirm_url}" aria-label="Restore this revision: #1"' in history
    assert reverse("sites:revision_restore", args=[site.slug, 1]) + '"' not in history

    page = staff_client.get(confirm_url).content.decode()
    assert site.revisions.count() == 2  # looking is free
    changes = dict(re.findall(r'<tr data-change="changed" data-setting="(\w+)">(.*?)</tr>', page, re.S))
    assert set(changes) == {"allow_any_user", "emails", "session_lifetime"}
    assert "<del>1 hour</del>" in changes["session_lifetime"] and "<ins>8 hours</ins>" in changes["session_lifetime"]
    assert "<ins>ann@client.example</ins>" in changes["emails"]
    assert "<del>yes</del>" in changes["allow_any_user"]
    assert f'action="{reverse("sites:revision_restore", args=[site.slug, 1])}"' in page
    assert "csrfmiddlewaretoken" in page


def test_the_restore_preview_says_when_nothing_would_change(staff_client, site):
    page = staff_client.get(reverse("sites:revision_restore_confirm", args=[site.slug, 1])).content.decode()
    assert "would change nothing" in page and 'method="post"' not in page.split("<main", 1)[1]


def test_a_restore_writes_only_the_restored_settings_not_what_a_workflow_changed_meanwhile(site, alice, publish):
    """Issue 9, item 9: the restore saved the whole row it had read, so a
    build made live (or a status set) by a workflow in between was put back."""
    from sites.models import ProtectedSite
    from sites.services.revisions import revision_restore

    def loosen():
        site.session_lifetime = 3600
        site.save()

    publish(loosen)
    read_by_the_page = ProtectedSite.objects.get(pk=site.pk)
    # Meanwhile a workflow moves the row on.
    ProtectedSite.objects.filter(pk=site.pk).update(status="deleting", distribution_domain="d2.cloudfront.net")
    publish(lambda: revision_restore(site=read_by_the_page, revision=site.revisions.get(number=1), actor=alice))
    site.refresh_from_db()
    assert site.session_lifetime != 3600  # restored
    assert (site.status, site.distribution_domain) == ("deleting", "d2.cloudfront.net")
