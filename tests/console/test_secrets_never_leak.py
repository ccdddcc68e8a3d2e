"""No client secret or session key, in any encoding, in the database in clear,
in a log line, on a console page (admin included) or in a revision."""

import base64
import logging

import pytest
from django.db import connection
from django.urls import reverse

from sites.models import SessionKey
from sites.services.keys import session_key_rotate
from sites.services.publishing import config_publish, revision_upload
from tests.console.conftest import CLIENT_SECRET
from tests.console.pages_support import bob, fast_passwords, live_site, release, staff_client  # noqa: F401


def forms_of(secret):
    """The secret as it might leak: raw, base64, base64url, hex, fragments."""
    raw = secret.encode()
    forms = {secret, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="), raw.hex()}
    try:
        decoded = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        forms |= {decoded.hex(), base64.b64encode(decoded).decode()}
    except ValueError:
        pass
    # A 16-character slice catches a secret cut or wrapped in a page.
    forms |= {secret[i : i + 16] for i in range(0, max(1, len(secret) - 15), 8)}
    return {f for f in forms if len(f) >= 12}


def secrets_of(site):
    return [CLIENT_SECRET, *(k.secret for k in SessionKey.objects.filter(site=site))]


def leaks(text, secrets):
    return sorted({form for secret in secrets for form in forms_of(secret) if form in text})


def dump_database():
    lines = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            lines.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(lines)


@pytest.fixture
def published(live_site, alice, config_bucket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        session_key_rotate(site=live_site, actor=alice)
    upload_latest(live_site, alice)
    return live_site


def upload_latest(site, actor):
    config_publish(site_id=site.pk, actor=actor, reason="leak check")
    revision = site.revisions.order_by("-number").first()
    assert revision_upload(revision_id=revision.pk).outcome == "uploaded"


def test_the_uploaded_config_does_carry_the_secrets(published, config_bucket):
    # The check below is only meaningful if the secrets exist in the one place
    # they belong: the object the edge reads.
    body = config_bucket.latest("demo.acme.example").decode()
    assert CLIENT_SECRET in body
    assert all(k.secret in body for k in SessionKey.objects.filter(site=published, retired_at=None))


def test_no_secret_is_stored_in_clear_in_any_table(published):
    assert leaks(dump_database(), secrets_of(published)) == []


def test_no_secret_reaches_a_log_line(live_site, alice, config_bucket, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        session_key_rotate(site=live_site, actor=alice)
    upload_latest(live_site, alice)
    assert caplog.records, "the publish path logged nothing: this test would prove nothing"
    assert leaks(caplog.text, secrets_of(live_site)) == []


def test_no_secret_appears_on_any_console_page(published, staff_client, alice):
    alice.is_superuser = True
    alice.save()
    site = published
    revisions = list(site.revisions.order_by("number"))
    urls = [
        reverse("sites:dashboard") if _has("sites:dashboard") else "/",
        f"/sites/{site.slug}/",
        f"/sites/{site.slug}/history/",
        f"/sites/{site.slug}/history/?from={revisions[0].number}&to={revisions[-1].number}",
        f"/sites/{site.slug}/builds/",
        f"/sites/{site.slug}/deployments/",
        "/activity/",
        "/releases/",
        reverse("admin:sites_protectedsite_change", args=[site.pk]),
        reverse("admin:sites_identityprovider_change", args=[site.provider_id]),
        reverse("admin:sites_sessionkey_changelist"),
        reverse("admin:sites_configrevision_change", args=[revisions[-1].pk]),
        reverse("admin:sites_configrevision_changelist"),
    ]
    secrets = secrets_of(site)
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert leaks(response.content.decode(), secrets) == [], url


def _has(name):
    from django.urls import NoReverseMatch

    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True
