"""Fixtures for the console page tests: personas, a recorder for provisioning, zips."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

PROVISIONING = [
    "site_provision_start",
    "site_redeploy_start",
    "build_upload_start",
    "site_teardown_start",
    "site_move_release",
    "edge_release_publish_start",
    "rollout_start",
]


@pytest.fixture
def bob(django_user_model):
    """Signed in, but not staff."""
    return django_user_model.objects.create_user("bob", "bob@client.example", "pw")


@pytest.fixture
def staff_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def provisioning_calls(monkeypatch):
    """Record what the pages ask of sites.services.provisioning instead of starting deployments."""
    from sites.services import provisioning

    calls = []
    for name in PROVISIONING:
        monkeypatch.setattr(provisioning, name, lambda _name=name, **kwargs: calls.append((_name, kwargs)))
    return calls


def make_zip(files=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in (files or {"index.html": "<h1>hi</h1>", "app.js": "1"}).items():
            archive.writestr(name, body)
    return buffer.getvalue()


@pytest.fixture
def release(db, alice):
    from sites.models import EdgeRelease

    return EdgeRelease.objects.create(
        version="2026.11.1",
        zip_sha256="ab" * 32,
        zip_size=48_000,
        function_name="gatehouse-edge",
        version_arn="arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:3",
        status=EdgeRelease.Status.PUBLISHED,
        published_at=timezone.now() - timedelta(days=1),
        created_by=alice,
    )


@pytest.fixture
def live_site(site, release):
    """Acme's demo once provisioning has given it a distribution."""
    from sites.models import ProtectedSite

    ProtectedSite.objects.filter(pk=site.pk).update(
        status=ProtectedSite.Status.LIVE,
        distribution_id="E2ABCDEF12345",
        distribution_domain="d1234abcd.cloudfront.net",
        edge_release=release,
    )
    site.refresh_from_db()
    return site


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # PBKDF2 costs ~0.3 s a user; these tests sign in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
