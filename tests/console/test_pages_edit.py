"""Edit settings: one save, one revision with who and why; nothing saved when nothing changed or a field is wrong."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sites.forms import SiteEditForm
from sites.models import Activity, ProtectedSite
from tests.console.pages_support import fast_passwords, live_site, provisioning_calls, release, staff_client  # noqa: F401

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def _url(site):
    return reverse("sites:edit", args=[site.slug])


def _as_posted(site, **changes) -> dict:
    """The form as the page shows it for `site`, with `changes` typed over it."""
    form = SiteEditForm(site=site)
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        value = field.prepare_value(value)
        if isinstance(value, list):  # a multiple choice: one value each
            data[name] = value
            continue
        data[name] = "" if value is None else str(value)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _save(client, site, capture, **changes):
    with capture(execute=True):
        return client.post(_url(site), _as_posted(site, **changes))


def test_the_page_shows_the_current_settings(staff_client, live_site):
    page = staff_client.get(_url(live_site)).content.decode()
    assert '<label for="id_email_domains">Allowed email domains' in page
    assert "\nconsultancy.example</textarea>" in page
    assert "\nann@client.example</textarea>" in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_the_site_page_links_to_it(staff_client, live_site):
    page = staff_client.get(reverse("sites:site", args=[live_site.slug])).content.decode()
    assert f'href="{_url(live_site)}">Edit settings</a>' in page


def test_saving_makes_exactly_one_revision_with_who_and_why(staff_client, live_site, django_capture_on_commit_callbacks):
    before = live_site.revisions.count()
    response = _save(
        staff_client, live_site, django_capture_on_commit_callbacks,
        email_domains="consultancy.example\nPartner.example", reason="let the partner in",
    )
    assert response.status_code == 302 and response["Location"] == reverse("sites:site", args=[live_site.slug])
    assert live_site.revisions.count() == before + 1
    revision = live_site.revisions.order_by("-number").first()
    assert revision.created_by.get_username() == "alice" and revision.reason == "let the partner in"
    assert revision.document["access"]["email_domains"] == ["consultancy.example", "partner.example"]
    live_site.refresh_from_db()
    assert live_site.email_domains == ["consultancy.example", "partner.example"]
    activity = Activity.objects.get(verb="site.settings")
    assert activity.actor.get_username() == "alice" and "email_domains" in activity.detail


def test_the_message_says_what_changed_and_how_soon(staff_client, live_site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_url(live_site), _as_posted(live_site, session_hours="12"), follow=True)
    page = response.content.decode()
    assert "Saved (session lifetime)" in page and "takes effect at the edge within about a minute" in page
    assert live_site.revisions.order_by("-number").first().reason == "settings changed"


def test_a_save_without_changes_makes_no_revision(staff_client, live_site, django_capture_on_commit_callbacks):
    before = live_site.revisions.count()
    response = _save(staff_client, live_site, django_capture_on_commit_callbacks, reason="just looking")
    assert response.status_code == 302
    assert live_site.revisions.count() == before
    assert not Activity.objects.filter(verb="site.settings").exists()


def test_the_same_rules_in_another_order_and_case_are_no_change(staff_client, live_site, django_capture_on_commit_callbacks):
    before = live_site.revisions.count()
    _save(staff_client, live_site, django_capture_on_commit_callbacks, emails="ANN@client.example\n\n")
    assert live_site.revisions.count() == before


def test_an_odd_expiry_time_set_elsewhere_survives_an_unrelated_save(staff_client, live_site, django_capture_on_commit_callbacks):
    noon = (timezone.now() + timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    ProtectedSite.objects.filter(pk=live_site.pk).update(not_after=noon, session_lifetime=5400)
    live_site.refresh_from_db()
    _save(staff_client, live_site, django_capture_on_commit_callbacks, spa_mode=None)
    live_site.refresh_from_db()
    assert live_site.not_after == noon and live_site.session_lifetime == 5400 and live_site.spa_mode is False


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"email_domains": "consultancy.example\nnot a domain"}, "email_domains", "Not a domain: not a domain"),
        ({"emails": "ann@"}, "emails", "Not an email address: ann@"),
        ({"groups": "staff", "groups_claim": ""}, "groups_claim", "Name the claim that carries the groups."),
        ({"allow_any_user": None, "emails": "", "email_domains": ""}, "allow_any_user", "Nobody could get in"),
        ({"session_hours": "0"}, "session_hours", "greater than or equal to 1"),
        ({"not_after": "2001-01-01"}, "not_after", "Pick a day from today on"),
        ({"public_paths": "/_gatehouse/x"}, "public_paths", "not under /_gatehouse/"),
        ({"hosts": "demo.acme.example\nnew.acme.example"}, "acm_certificate_arn", "need a certificate"),
        ({"hosts": "https://x.example/"}, "hosts", "Not a host name"),
    ],
)
def test_a_bad_field_is_shown_and_nothing_is_saved(staff_client, live_site, django_capture_on_commit_callbacks, changes, field, message):
    before = live_site.revisions.count()
    typed = {"email_domains": "consultancy.example\nkept.example", **changes}
    response = _save(staff_client, live_site, django_capture_on_commit_callbacks, **typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page and message in page
    # What was typed comes back, not the saved value.
    if "email_domains" not in changes:
        assert "consultancy.example\nkept.example</textarea>" in page
    assert live_site.revisions.count() == before
    live_site.refresh_from_db()
    assert live_site.email_domains == ["consultancy.example"]


def test_access_must_end_after_it_starts(staff_client, live_site, django_capture_on_commit_callbacks):
    day = (timezone.now() + timedelta(days=5)).date()
    response = _save(
        staff_client, live_site, django_capture_on_commit_callbacks,
        not_before=(day + timedelta(days=1)).isoformat(), not_after=day.isoformat(),
    )
    assert response.status_code == 400 and "Access must end after it starts." in response.content.decode()


def test_new_host_names_save_and_start_a_redeploy(staff_client, live_site, alice, provisioning_calls, django_capture_on_commit_callbacks):
    response = _save(
        staff_client, live_site, django_capture_on_commit_callbacks,
        hosts="demo.acme.example\nwww.acme.example", acm_certificate_arn=CERT,
    )
    assert response.status_code == 302 and response["Location"].endswith("#deployments")
    live_site.refresh_from_db()
    assert live_site.hosts == ["demo.acme.example", "www.acme.example"]
    assert provisioning_calls == [("site_redeploy_start", {"site": live_site, "actor": alice})]


def test_a_host_name_another_site_uses_is_refused(staff_client, live_site, django_capture_on_commit_callbacks):
    ProtectedSite.objects.create(client="Other", name="Site", slug="other", hosts=["taken.example"], provider=live_site.provider)
    response = _save(staff_client, live_site, django_capture_on_commit_callbacks, hosts="taken.example", acm_certificate_arn=CERT)
    assert response.status_code == 400 and "Already used by another site: taken.example" in response.content.decode()


def test_saving_needs_the_csrf_token(alice, live_site, django_capture_on_commit_callbacks):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    before = live_site.revisions.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(live_site), _as_posted(live_site, email_domains="evil.example"))
    assert response.status_code == 403
    assert live_site.revisions.count() == before
    live_site.refresh_from_db()
    assert live_site.email_domains == ["consultancy.example"]
