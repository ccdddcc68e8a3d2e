"""Small things the pages must get right: labels, times, errors shown, actions offered only when they can work."""

from datetime import timedelta

from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from sites.models import ConfigRevision, ProtectedSite
from tests.console.pages_support import fast_passwords, live_site, release, staff_client  # noqa: F401


def test_times_show_relative_and_absolute():
    at = timezone.now() - timedelta(minutes=3, seconds=5)
    html = Template("{% load gatehouse %}{% when at %}").render(Context({"at": at}))
    assert "3\xa0minutes ago" in html
    assert f"· {at:%d %b %Y %H:%M} UTC".replace("· 0", "· ") in html
    assert f'datetime="{at.isoformat()}"' in html


def test_conditionally_required_fields_say_when_instead_of_optional(staff_client):
    page = staff_client.get(reverse("sites:onboard")).content.decode()
    for label, when in [
        ("Client secret", "needed for Basic or form-post authentication"),
        ("Issuer URL", "needed for generic OpenID Connect"),
        ("ACM certificate ARN", "needed with custom names"),
    ]:
        assert f'{label} <span class="optional">{when}</span></label>' in page


def test_history_shows_the_error_only_where_it_still_matters(staff_client, live_site):
    first = live_site.revisions.get()
    ConfigRevision.objects.filter(pk=first.pk).update(upload_status="superseded", last_error="old timeout")
    base = {"site": live_site, "schema_version": first.schema_version, "content": first.content, "sha256": first.sha256}
    for number, status, error in [(2, "uploaded", "retried fine"), (3, "failed", "AccessDenied"), (4, "pending", "will retry")]:
        ConfigRevision.objects.create(number=number, upload_status=status, last_error=error, **base)
    page = staff_client.get(reverse("sites:history", args=[live_site.slug])).content.decode()
    assert "AccessDenied" in page and "will retry" in page
    assert "old timeout" not in page and "retried fine" not in page


def test_redeploy_and_open_the_site_wait_until_the_site_is_live(staff_client, live_site):
    ProtectedSite.objects.filter(pk=live_site.pk).update(status=ProtectedSite.Status.PROVISIONING)
    page = staff_client.get(reverse("sites:site", args=[live_site.slug])).content.decode()
    assert 'disabled aria-describedby="redeploy-reason">Redeploy</button>' in page
    assert "provisioning is still running" in page
    assert 'href="http://demo.acme.example:8080/"' not in page
    assert reverse("sites:redeploy", args=[live_site.slug]) not in page

    ProtectedSite.objects.filter(pk=live_site.pk).update(status=ProtectedSite.Status.LIVE)
    page = staff_client.get(reverse("sites:site", args=[live_site.slug])).content.decode()
    assert 'href="http://demo.acme.example:8080/"' in page
    assert reverse("sites:redeploy", args=[live_site.slug]) in page and "redeploy-reason" not in page


def test_a_failed_site_with_a_distribution_can_still_be_redeployed(staff_client, live_site):
    ProtectedSite.objects.filter(pk=live_site.pk).update(status=ProtectedSite.Status.FAILED)
    page = staff_client.get(reverse("sites:site", args=[live_site.slug])).content.decode()
    assert reverse("sites:redeploy", args=[live_site.slug]) in page
